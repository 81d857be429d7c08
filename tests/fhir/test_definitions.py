"""The knowledge base as PlanDefinition / ActivityDefinition, and ``PlanDefinition/$apply``."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from fhirpathpy import evaluate

from b12.adapters.fhir.codes import CodeTable, load_code_table
from b12.adapters.fhir.definitions import (
    EXT_CONDITION,
    PROTOCOL_ID,
    apply_plan_definition,
    condition_of,
    condition_raw,
    find_resource,
    knowledge_base_resources,
    plan_definition,
)
from b12.adapters.fhir.outbound import to_bytes
from b12.core import criteria
from b12.core.errors import InputError, NotFound
from b12.core.knowledge import DecisionAction, KnowledgeBase
from tests.fhir.outbound_support import empty_elements, not_emittable, resources, validate

BASE = "https://b12.example/fhir"
AS_OF = date(2026, 3, 2)


@pytest.fixture(scope="module")
def table() -> CodeTable:
    return load_code_table()


@pytest.fixture(scope="module")
def definitions(kb: KnowledgeBase, table: CodeTable) -> list[dict[str, Any]]:
    return knowledge_base_resources(kb, table)


def _of(definitions: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in definitions if r["resourceType"] == kind}


def patient_bundle(*, b12_pg_ml: float = 110, neuro: bool = False) -> dict[str, Any]:
    """A UK-style patient: pernicious anaemia (SNOMED), a low B12 (LOINC 2132-9, pg/mL)."""
    entries: list[dict[str, Any]] = [
        {"resourceType": "Patient", "id": "pa1", "gender": "female", "birthDate": "1958-01-01"},
        {
            "resourceType": "Condition",
            "id": "c1",
            "subject": {"reference": "Patient/pa1"},
            "code": {
                "coding": [
                    {
                        "system": "http://snomed.info/sct",
                        "code": "84027009",
                        "display": "Pernicious anemia",
                    }
                ],
                "text": "Pernicious anaemia",
            },
        },
        {
            "resourceType": "Observation",
            "id": "o1",
            "status": "final",
            "subject": {"reference": "Patient/pa1"},
            "effectiveDateTime": "2026-02-20",
            "code": {"coding": [{"system": "http://loinc.org", "code": "2132-9"}]},
            "valueQuantity": {
                "value": b12_pg_ml,
                "unit": "pg/mL",
                "system": "http://unitsofmeasure.org",
                "code": "pg/mL",
            },
        },
        {"resourceType": "Encounter", "id": "e1", "status": "finished"},
    ]
    if neuro:
        entries.append(
            {
                "resourceType": "Condition",
                "id": "c2",
                "subject": {"reference": "Patient/pa1"},
                "code": {"text": "Paraesthesia"},
            }
        )
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in entries],
    }


def test_every_definition_validates_as_r4(definitions: list[dict[str, Any]]) -> None:
    for resource in definitions:
        validate(resource)


def test_one_plan_definition_per_pathway_and_one_activity_definition_per_regimen(
    kb: KnowledgeBase, definitions: list[dict[str, Any]]
) -> None:
    plans = _of(definitions, "PlanDefinition")
    activities = _of(definitions, "ActivityDefinition")
    assert set(plans) == {*kb.pathways, PROTOCOL_ID}
    assert set(activities) == set(kb.regimens)
    for rid, resource in {**plans, **activities}.items():
        kind = resource["resourceType"]
        assert resource["url"] == f"{BASE}/{kind}/{rid}"
    for pathway, rec in kb.pathways.items():
        pd = plans[pathway]
        assert pd["identifier"] == [{"system": f"{BASE}/recommendation", "value": rec.id}]
        assert pd["status"] == {"approved": "active", "retired": "retired"}.get(rec.status, "draft")
        (action,) = pd["action"]
        act = rec.action
        assert isinstance(act, DecisionAction)
        assert action["title"] == act.pathway_title
        assert action["description"] == rec.clinician_text
        if act.regimen:
            assert action["definitionCanonical"] == f"{BASE}/ActivityDefinition/{act.regimen}"
        else:
            assert "definitionCanonical" not in action
        cited = [(d["label"], d["display"]) for d in action["documentation"]]
        assert cited == [(c.source, c.locator) for c in rec.citations]
        assert all(d["type"] == "citation" and d["citation"] for d in action["documentation"])


def test_the_protocol_lists_every_pathway_in_the_engine_order(
    kb: KnowledgeBase, definitions: list[dict[str, Any]]
) -> None:
    protocol = _of(definitions, "PlanDefinition")[PROTOCOL_ID]
    (root,) = protocol["action"]
    assert root["selectionBehavior"] == "exactly-one"
    order = [a["definitionCanonical"].rsplit("/", 1)[1] for a in root["action"]]
    assert order == [r.action.pathway for r in kb.decisions if isinstance(r.action, DecisionAction)]


def test_status_follows_the_recommendation_status(kb: KnowledgeBase) -> None:
    rec = next(iter(kb.pathways.values()))
    for status, want in [
        ("approved", "active"),
        ("draft", "draft"),
        ("submitted", "draft"),
        ("in-review", "draft"),
        ("retired", "retired"),
    ]:
        changed = rec.model_copy(update={"status": status})
        assert plan_definition(changed, kb)["status"] == want


def test_conditions_round_trip_and_are_self_contained(
    kb: KnowledgeBase, definitions: list[dict[str, Any]]
) -> None:
    conditions = [r.when for r in kb.recommendations.values() if r.when is not None]
    conditions.extend(kb.vocabulary.definitions.values())
    for cond in conditions:
        assert criteria.parse_condition(condition_raw(cond)) == cond
    for pathway, rec in kb.pathways.items():
        action = _of(definitions, "PlanDefinition")[pathway]["action"][0]
        if rec.when is None:
            assert "condition" not in action
            continue
        (condition,) = action["condition"]
        assert condition["kind"] == "applicability"
        assert "expression" not in condition  # b12's language is neither CQL nor FHIRPath
        (ext,) = condition["modifierExtension"]
        assert ext["url"] == EXT_CONDITION
        parts = {e["url"]: e["valueString"] for e in ext["extension"]}
        assert parts["description"]
        document = condition_of(condition)
        assert document is not None
        assert document == json.loads(parts["expression"])
        assert criteria.parse_condition(document["when"]) == rec.when
        named = {n.name for n in criteria.walk(rec.when) if isinstance(n, criteria.Ref)}
        assert named <= set(document.get("definitions", {}))
        for name, raw in document.get("definitions", {}).items():
            assert criteria.parse_condition(raw) == kb.vocabulary.definitions[name]
        for pid, value in document.get("parameters", {}).items():
            assert value == {"value": kb.param(pid), "unit": kb.parameters[pid].unit}


def test_activity_definition_dosage_matches_the_regimen(
    kb: KnowledgeBase, definitions: list[dict[str, Any]]
) -> None:
    for rid, ad in _of(definitions, "ActivityDefinition").items():
        regimen = kb.regimens[rid]
        assert ad["kind"] == "MedicationRequest"
        assert ad["productCodeableConcept"]["text"] == kb.vocabulary.products[regimen.drug].label
        assert [d["sequence"] for d in ad["dosage"]] == list(range(1, len(regimen.phases) + 1))
        for seq, phase in enumerate(regimen.phases, start=1):
            repeat = f"ActivityDefinition.dosage.where(sequence={seq}).timing.repeat"
            dosage = ad["dosage"][seq - 1]
            assert dosage["text"] == phase.text
            assert "boundsPeriod" not in dosage["timing"]["repeat"]
            span = phase.every_days or phase.every_months
            if span is not None:
                assert evaluate(ad, f"{repeat}.period") == [span.min]
                want_max = [span.max] if span.max != span.min else []
                assert evaluate(ad, f"{repeat}.periodMax") == want_max
            else:
                assert evaluate(ad, f"{repeat}.frequency") == [phase.times_per_week]
            if phase.for_days is not None:
                assert evaluate(ad, f"{repeat}.boundsDuration.value") == [phase.for_days]
            assert evaluate(ad, f"{repeat}.count") == ([phase.count] if phase.count else [])


def test_no_unverified_code_and_no_empty_element_in_any_definition(
    table: CodeTable, definitions: list[dict[str, Any]]
) -> None:
    for resource in definitions:
        assert not_emittable(resource, table) == [], resource["id"]
        assert empty_elements(resource) == [], resource["id"]


def test_definitions_are_deterministic(kb: KnowledgeBase, table: CodeTable) -> None:
    first = [to_bytes(r) for r in knowledge_base_resources(kb, table)]
    again = [to_bytes(r) for r in knowledge_base_resources(kb, table)]
    assert first == again


def test_find_resource_raises_not_found(definitions: list[dict[str, Any]]) -> None:
    assert find_resource(definitions, "PlanDefinition", PROTOCOL_ID)["id"] == PROTOCOL_ID
    with pytest.raises(NotFound):
        find_resource(definitions, "ActivityDefinition", PROTOCOL_ID)


# -- $apply -----------------------------------------------------------------------------------


def test_apply_returns_the_care_plan_bundle_for_a_fhir_patient(
    kb: KnowledgeBase, table: CodeTable
) -> None:
    bundle = apply_plan_definition("uk-im-no-neuro", patient_bundle(), kb, table, as_of=AS_OF)
    validate(bundle)
    assert not_emittable(bundle, table) == []
    (care,) = resources(bundle, "CarePlan")
    assert care["subject"] == {"reference": "Patient/pa1"}
    assert care["instantiatesCanonical"] == [f"{BASE}/PlanDefinition/uk-im-no-neuro"]
    assert not any("Requested PlanDefinition" in n["text"] for n in care["note"])
    supporting = {s["reference"] for s in care["supportingInfo"]}
    assert {"Condition/c1", "Observation/o1"} <= supporting
    (med,) = resources(bundle, "MedicationRequest")
    assert med["instantiatesCanonical"] == [f"{BASE}/ActivityDefinition/UK-HYDROXO-STANDARD"]
    assert med["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"]["start"] == "2026-03-02"
    (outcome,) = resources(bundle, "OperationOutcome")
    assert any("Encounter" in i["diagnostics"] for i in outcome["issue"])
    again = apply_plan_definition("uk-im-no-neuro", patient_bundle(), kb, table, as_of=AS_OF)
    assert to_bytes(again) == to_bytes(bundle)


def test_apply_when_the_engine_chooses_another_pathway_says_so(
    kb: KnowledgeBase, table: CodeTable
) -> None:
    bundle = apply_plan_definition("uk-oral-dietary", patient_bundle(), kb, table, as_of=AS_OF)
    (care,) = resources(bundle, "CarePlan")
    assert care["instantiatesCanonical"] == [f"{BASE}/PlanDefinition/uk-im-no-neuro"]
    assert any(
        "'uk-oral-dietary'" in n["text"] and "'uk-im-no-neuro'" in n["text"] for n in care["note"]
    )


def test_apply_on_the_protocol_and_a_us_pathway_uses_its_guideline_set(
    kb: KnowledgeBase, table: CodeTable
) -> None:
    protocol = apply_plan_definition(PROTOCOL_ID, patient_bundle(), kb, table, as_of=AS_OF)
    (care,) = resources(protocol, "CarePlan")
    assert care["instantiatesCanonical"] == [f"{BASE}/PlanDefinition/uk-im-no-neuro"]
    us = apply_plan_definition("us-cyano-im", patient_bundle(), kb, table, as_of=AS_OF)
    (care,) = resources(us, "CarePlan")
    assert care["instantiatesCanonical"][0].rsplit("/", 1)[1].startswith("us-")
    explicit = apply_plan_definition(
        "us-cyano-im", patient_bundle(), kb, table, as_of=AS_OF, guideline="uk"
    )
    (care,) = resources(explicit, "CarePlan")
    assert care["instantiatesCanonical"] == [f"{BASE}/PlanDefinition/uk-im-no-neuro"]


def test_apply_errors(kb: KnowledgeBase, table: CodeTable) -> None:
    with pytest.raises(NotFound):
        apply_plan_definition("no-such-pathway", patient_bundle(), kb, table, as_of=AS_OF)
    no_patient = {"resourceType": "Bundle", "type": "collection", "entry": []}
    with pytest.raises(InputError):
        apply_plan_definition("uk-im-no-neuro", no_patient, kb, table, as_of=AS_OF)
    with pytest.raises(InputError):
        apply_plan_definition(
            "uk-im-no-neuro", patient_bundle(), kb, table, as_of=AS_OF, subject="Patient/other"
        )
