"""FHIR R4 out: plan → CarePlan Bundle (MedicationRequest, ServiceRequest, DetectedIssue).

Every plan of every plan vignette (both guideline sets, every pathway and regimen of the
knowledge base) is exported, validated with the ``fhir.resources`` R4B models and checked
against the regimen it came from (FHIRPath on the Timing), and walked for codes the code
table does not allow to be emitted.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fhirpathpy import evaluate

from b12.adapters.fhir.codes import CodeTable, load_code_table
from b12.adapters.fhir.outbound import (
    EXT_CONTENT_VERSION,
    EXT_RECOMMENDATION,
    SEVERITY,
    medication_request,
    plan_bundle,
    to_bytes,
)
from b12.core.knowledge import KnowledgeBase
from b12.core.plan_models import Plan
from b12.core.requests import plan_request
from tests.conftest import make_picture
from tests.fhir.outbound_support import (
    empty_elements,
    not_emittable,
    resources,
    validate,
    vignette_plans,
)

PATIENT = "Patient/p1"


@pytest.fixture(scope="module")
def table() -> CodeTable:
    return load_code_table()


@pytest.fixture(scope="module")
def bundles(kb: KnowledgeBase, table: CodeTable) -> list[tuple[str, Plan, dict[str, Any]]]:
    return [
        (vid, plan, plan_bundle(plan, kb, table, patient_ref=PATIENT))
        for vid, plan in vignette_plans(kb)
    ]


def _path(resource: dict[str, Any], expression: str) -> list[Any]:
    found: list[Any] = evaluate(resource, expression)
    return found


def test_the_vignettes_reach_every_pathway_and_regimen_of_both_sets(kb: KnowledgeBase) -> None:
    plans = [p for _, p in vignette_plans(kb)]
    assert {p.guideline for p in plans} == {"uk", "us"}
    assert {p.pathway.id for p in plans} == set(kb.pathways)
    assert {p.regimen.id for p in plans if p.regimen} == set(kb.regimens)


def test_every_bundle_and_resource_validates_as_r4(
    bundles: list[tuple[str, Plan, dict[str, Any]]],
) -> None:
    for vid, _, bundle in bundles:
        try:
            validate(bundle)
        except Exception as exc:  # pragma: no cover - the message names the vignette
            raise AssertionError(f"{vid}: {exc}") from exc


def test_no_code_outside_the_emittable_table_appears_anywhere(
    kb: KnowledgeBase, table: CodeTable, bundles: list[tuple[str, Plan, dict[str, Any]]]
) -> None:
    """Unverified codes (and codes the table does not know) never leave b12."""
    for vid, plan, bundle in bundles:
        assert not_emittable(bundle, table) == [], vid
        for status in ("draft", "active"):
            med = medication_request(plan, kb, table, patient_ref=PATIENT, status=status)
            assert not_emittable(med, table) == [], vid


def test_the_walker_catches_an_unverified_code(table: CodeTable) -> None:
    unverified = [e for e in table.entries if e.status == "unverified"]
    assert unverified, "the table has unverified candidates: the check must see them"
    e = unverified[0]
    doc = {"a": [{"b": {"coding": [{"system": table.system_uri(e.system), "code": e.code}]}}]}
    assert not_emittable(doc, table) == [
        f".a[0].b.coding[0]: {table.system_uri(e.system)}|{e.code}"
    ]


def test_no_empty_or_null_elements(bundles: list[tuple[str, Plan, dict[str, Any]]]) -> None:
    for vid, _, bundle in bundles:
        assert empty_elements(bundle) == [], vid


def test_one_medication_request_per_regimen_with_text_on_every_dosage(
    kb: KnowledgeBase, bundles: list[tuple[str, Plan, dict[str, Any]]]
) -> None:
    for vid, plan, bundle in bundles:
        meds = resources(bundle, "MedicationRequest")
        if plan.regimen is None:
            assert meds == [], vid
            continue
        assert len(meds) == 1, vid
        med = meds[0]
        dosages = med["dosageInstruction"]
        assert [d["sequence"] for d in dosages] == list(range(1, len(plan.regimen.phases) + 1))
        source = kb.regimens[plan.regimen.id]
        for dosage, phase in zip(dosages, source.phases, strict=True):
            assert dosage["text"] == phase.text, vid
            assert dosage["patientInstruction"] == phase.patient_text, vid
            assert dosage["asNeededBoolean"] is False
        assert med["medicationCodeableConcept"]["text"]
        assert med["subject"] == {"reference": PATIENT}


def test_timing_of_each_dosage_matches_the_regimen(
    kb: KnowledgeBase, bundles: list[tuple[str, Plan, dict[str, Any]]]
) -> None:
    for vid, plan, bundle in bundles:
        if plan.regimen is None:
            continue
        (med,) = resources(bundle, "MedicationRequest")
        for seq, (phase, out) in enumerate(
            zip(kb.regimens[plan.regimen.id].phases, plan.regimen.phases, strict=True), start=1
        ):
            repeat = f"MedicationRequest.dosageInstruction.where(sequence={seq}).timing.repeat"

            def at(field: str, repeat: str = repeat, med: dict[str, Any] = med) -> list[Any]:
                return _path(med, f"{repeat}.{field}")

            where = f"{vid} phase {seq}"
            if phase.every_days is not None or phase.every_months is not None:
                span = phase.every_days or phase.every_months
                assert span is not None
                assert at("frequency") == [1], where
                assert at("period") == [span.min], where
                assert at("periodMax") == ([span.max] if span.max != span.min else []), where
                assert at("periodUnit") == ["d" if phase.every_days else "mo"], where
            else:
                assert at("frequency") == [phase.times_per_week], where
                assert at("period") == [1], where
                assert at("periodUnit") == ["wk"], where
                assert at("dayOfWeek") == list(out.weekdays or ()), where
            assert at("count") == ([phase.count] if phase.count else []), where
            firsts = [e.date for e in plan.schedule if e.kind == "dose" and e.phase == phase.name]
            start = at("boundsPeriod.start")
            assert start == ([firsts[0].isoformat()] if firsts else []), where
            if phase.is_open_ended:
                assert at("boundsPeriod.end") == [], where
                assert at("boundsDuration") == [], where
            if phase.for_days is not None and not firsts:
                assert at("boundsDuration.value") == [phase.for_days], where
            dose = f"MedicationRequest.dosageInstruction.where(sequence={seq}).doseAndRate"
            if phase.dose.max is None:
                assert _path(med, f"{dose}.doseQuantity.value") == [phase.dose.value], where
                assert _path(med, f"{dose}.doseQuantity.unit") == [phase.dose.unit], where
            else:
                assert _path(med, f"{dose}.doseRange.low.value") == [phase.dose.value], where
                assert _path(med, f"{dose}.doseRange.high.value") == [phase.dose.max], where


def test_the_reference_example_maintenance_period_range(
    kb: KnowledgeBase, table: CodeTable
) -> None:
    """interop.md §3.2: 'then 1 mg every 2–3 months' → period 2, periodMax 3, unit mo."""
    _, plan = plan_request(
        make_picture(cause="pernicious_anaemia", guideline="uk"), kb, default_as_of=None
    )
    assert plan.regimen is not None
    assert plan.regimen.id == "UK-HYDROXO-STANDARD"
    med = medication_request(plan, kb, table, patient_ref=PATIENT)
    assert med is not None
    seq2 = "MedicationRequest.dosageInstruction.where(sequence=2).timing.repeat"
    assert _path(med, f"{seq2}.periodMax") == [3]
    assert _path(med, f"{seq2}.period") == [2]
    assert _path(med, f"{seq2}.periodUnit") == ["mo"]
    seq1 = "MedicationRequest.dosageInstruction.where(sequence=1).timing.repeat"
    assert _path(med, f"{seq1}.frequency") == [3]
    assert _path(med, f"{seq1}.dayOfWeek") == ["mon", "wed", "fri"]
    assert _path(med, f"{seq1}.boundsPeriod.start") == ["2026-03-02"]
    assert med["status"] == "draft"
    assert med["intent"] == "order"
    route = med["dosageInstruction"][0]["route"]
    assert route["text"]
    coding = table.coding("route:im")
    assert route.get("coding") == ([coding] if coding else None)


def test_medication_request_id_and_status_are_the_callers_when_given(
    kb: KnowledgeBase, table: CodeTable
) -> None:
    _, plan = plan_request(make_picture(cause="pernicious_anaemia"), kb)
    med = medication_request(
        plan, kb, table, patient_ref=PATIENT, request_id="order-7", status="active"
    )
    assert med is not None
    assert med["id"] == "order-7"
    assert med["status"] == "active"
    validate(med)


def test_provenance_extensions_carry_content_version_and_recommendations(
    bundles: list[tuple[str, Plan, dict[str, Any]]],
) -> None:
    for vid, plan, bundle in bundles:
        for entry in bundle["entry"]:
            resource = entry["resource"]
            if resource["resourceType"] == "OperationOutcome":
                continue
            ext = resource["extension"]
            assert {"url": EXT_CONTENT_VERSION, "valueString": plan.content_version} in ext, vid
            recs = [e["valueString"] for e in ext if e["url"] == EXT_RECOMMENDATION]
            assert recs, vid
            assert set(recs) <= {r.id for r in plan.recommendations}, vid


def test_care_plan_references_its_activities_and_the_pathway(
    bundles: list[tuple[str, Plan, dict[str, Any]]],
) -> None:
    for vid, plan, bundle in bundles:
        (care,) = resources(bundle, "CarePlan")
        assert bundle["entry"][0]["resource"] is care
        assert care["intent"] == "plan"
        assert care["subject"] == {"reference": PATIENT}
        assert care["instantiatesCanonical"] == [
            f"https://b12.example/fhir/PlanDefinition/{plan.pathway.id}"
        ]
        expected_status = (
            "active" if plan.status == "plan" and plan.review_status == "approved" else "draft"
        )
        assert care["status"] == expected_status, vid
        levels = [e["valueCode"] for e in care["extension"] if e["url"].endswith("/review-level")]
        assert levels == [plan.review_level], vid
        urls = {e["fullUrl"]: e["resource"] for e in bundle["entry"]}
        targets = [urls[a["reference"]["reference"]] for a in care.get("activity", ())]
        kinds = sorted({t["resourceType"] for t in targets})
        want = {"ServiceRequest"} if plan.monitoring else set()
        if plan.regimen is not None:
            want.add("MedicationRequest")
        assert set(kinds) == want, vid
        notes = [n["text"] for n in care["note"]]
        assert [c.text for c in plan.pathway.why] == notes[: len(plan.pathway.why)]
        assert notes[-1] == plan.disclaimer
        assert len({e["fullUrl"] for e in bundle["entry"]}) == len(bundle["entry"]), vid
        assert len({e["resource"]["id"] for e in bundle["entry"]}) == len(bundle["entry"]), vid


def test_service_requests_for_every_monitoring_test_and_regimen_review(
    kb: KnowledgeBase, table: CodeTable, bundles: list[tuple[str, Plan, dict[str, Any]]]
) -> None:
    for vid, plan, bundle in bundles:
        services = resources(bundle, "ServiceRequest")
        got = {
            (
                s.get("occurrenceDateTime"),
                s["code"]["text"],
                s.get("asNeededCodeableConcept", {}).get("text"),
            )
            for s in services
        }
        for item in plan.monitoring:
            for test in item.tests:
                key = (
                    item.date.isoformat() if item.date else None,
                    kb.vocabulary.tests[test].label,
                    item.after,
                )
                assert key in got, (vid, key)
        for s in services:
            coding = s["code"].get("coding")
            if coding:
                assert coding[0] in [
                    table.coding(c) for c in table.concepts() if c.startswith("test:")
                ]
        reviews = [e for e in plan.schedule if e.kind == "review" and e.phase is not None]
        for e in reviews:
            assert (e.date.isoformat(), e.text, None) in got, vid


def test_detected_issue_for_every_alert(
    kb: KnowledgeBase, bundles: list[tuple[str, Plan, dict[str, Any]]]
) -> None:
    seen_severities = set()
    for vid, plan, bundle in bundles:
        issues = resources(bundle, "DetectedIssue")
        assert len(issues) == len(plan.alerts), vid
        for alert, issue in zip(plan.alerts, issues, strict=True):
            assert issue["severity"] == SEVERITY[alert.severity]
            seen_severities.add(issue["severity"])
            assert issue["code"]["text"] == f"{alert.code}: {alert.title}"
            assert issue["detail"] == alert.message
            refs = [r for r in plan.references if r.n in alert.refs]
            shown = [d["display"] for d in issue["evidence"][0]["detail"]]
            assert shown == [f"[{r.n}] {r.citation}, {r.locator}" for r in refs], vid
            if plan.regimen is not None:
                assert issue["implicated"][0]["reference"].startswith("urn:uuid:")
    assert seen_severities == {"high", "moderate", "low"}


def test_same_plan_same_bytes_and_different_patients_different_ids(
    kb: KnowledgeBase, table: CodeTable
) -> None:
    _, first = plan_request(make_picture(cause="pernicious_anaemia"), kb)
    _, again = plan_request(make_picture(cause="pernicious_anaemia"), kb)
    a = to_bytes(plan_bundle(first, kb, table, patient_ref=PATIENT))
    b = to_bytes(plan_bundle(again, kb, table, patient_ref=PATIENT))
    assert a == b
    other = plan_bundle(first, kb, table, patient_ref="Patient/p2")
    ids_a = {e["resource"]["id"] for e in json.loads(a)["entry"]}
    ids_b = {e["resource"]["id"] for e in other["entry"]}
    assert ids_a.isdisjoint(ids_b)


def test_a_plan_without_regimen_has_no_medication_request(
    kb: KnowledgeBase, table: CodeTable
) -> None:
    picture = make_picture(deficiency=None, labs={})
    picture.pop("deficiency")
    _, plan = plan_request(picture, kb)
    assert plan.status == "needs_more_data"
    assert medication_request(plan, kb, table, patient_ref=PATIENT) is None
    bundle = plan_bundle(plan, kb, table, patient_ref=PATIENT)
    validate(bundle)
    (care,) = resources(bundle, "CarePlan")
    assert care["status"] == "draft"
    notes = [n["text"] for n in care["note"]]
    assert all(f"{m.field}: {m.why}" in notes for m in plan.missing)
