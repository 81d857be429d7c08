"""FHIR R4 out: a :class:`~b12.core.plan_models.Plan` as R4 resources (plain JSON dicts).

* :func:`medication_request` — the plan's regimen as ONE MedicationRequest whose
  ``dosageInstruction`` holds one Dosage per phase (``sequence`` 1, 2, …: sequential phases),
  each with ``text`` (the phase's clinician text), ``patientInstruction``, ``timing.repeat``,
  ``route``, ``doseAndRate`` and ``asNeededBoolean: false``.
* :func:`plan_bundle` — a ``collection`` Bundle: a CarePlan, the MedicationRequest, one
  ServiceRequest per test or review, one DetectedIssue per alert.

Pure and deterministic: no clock, no randomness.  Resource ids are ``b12-`` plus a digest of
the resource's own content (so the same plan always gives the same bytes, and two different
resources never share an id); ``fullUrl`` is a ``urn:uuid:`` made from the same digest.

Codes: a ``coding`` is added only when the code table (:mod:`b12.adapters.fhir.codes`) has an
emittable (verified or corroborated) code for the concept; otherwise the CodeableConcept has
``text`` only.  Units are UCUM (``mg``, ``ug``, ``d``, ``wk``, ``mo``).

Provenance travels in extensions (all under :data:`SD`):
``content-version`` (valueString, the knowledge base's content version),
``recommendation`` (valueString, repeated: the recommendation ids behind the resource) and
``review-status`` (valueCode ``approved`` | ``pending_review``, CarePlan only) and
``review-level`` (valueCode ``unreviewed`` | ``engineering_reviewed`` |
``clinically_signed_off``, CarePlan only: how far the content behind the plan was reviewed).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any

from b12.adapters.fhir.codes import CodeTable
from b12.core.knowledge import Dose, KnowledgeBase, Phase, Span
from b12.core.plan_models import (
    AlertOut,
    DoseOut,
    MonitoringOut,
    PhaseOut,
    Plan,
    ReferenceOut,
    ScheduleEntry,
    SpanOut,
)
from b12.core.schedule import expand_schedule

#: Base of every canonical URL b12 mints.
BASE = "https://b12.example/fhir"
#: Base of b12's extension URLs.
SD = f"{BASE}/StructureDefinition"
EXT_CONTENT_VERSION = f"{SD}/content-version"
EXT_RECOMMENDATION = f"{SD}/recommendation"
EXT_REVIEW_STATUS = f"{SD}/review-status"
EXT_REVIEW_LEVEL = f"{SD}/review-level"
UCUM = "http://unitsofmeasure.org"
UCUM_DOSE = {"mg": "mg", "mcg": "ug"}
SEVERITY = {"stop": "high", "warning": "moderate", "info": "low"}

Json = dict[str, Any]


# -- small helpers ----------------------------------------------------------------------------


def canonical_json(obj: Any) -> str:
    """Sorted keys, no spaces, UTF-8 text: the form digests are taken of."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def to_bytes(resource: Json) -> bytes:
    """The file form of a resource: sorted keys, two-space indent, trailing newline."""
    text = json.dumps(resource, sort_keys=True, indent=2, ensure_ascii=False)
    return (text + "\n").encode("utf-8")


def _digest(obj: Any) -> bytes:
    return hashlib.sha256(canonical_json(obj).encode("utf-8")).digest()


def content_id(resource: Json) -> str:
    """``b12-`` + 24 hex digits of the digest of the resource (without ``id``)."""
    body = {k: v for k, v in resource.items() if k != "id"}
    return "b12-" + _digest(body).hex()[:24]


def full_url(resource: Json) -> str:
    """A ``urn:uuid:`` for a Bundle entry, derived from the resource type and id."""
    raw = _digest([resource["resourceType"], resource["id"]])[:16]
    return f"urn:uuid:{uuid.UUID(bytes=raw, version=5)}"


def with_id(resource: Json, given: str | None = None) -> Json:
    """The resource with ``id`` first: ``given`` or one derived from the content."""
    return {"resourceType": resource["resourceType"], "id": given or content_id(resource)} | {
        k: v for k, v in resource.items() if k not in ("resourceType", "id")
    }


def _prune(value: Any) -> Any:
    if isinstance(value, dict):
        out = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, "", [], {})}
    if isinstance(value, list):
        items = [_prune(v) for v in value]
        return [v for v in items if v not in (None, "", [], {})]
    return value


def clean(element: Json) -> Json:
    """The element without ``None``, empty strings, lists or objects at any depth (FHIR
    forbids empty elements)."""
    out: Json = _prune(element)
    return out


def number(value: float) -> int | float:
    """Whole numbers as ints (``1`` not ``1.0``)."""
    return int(value) if float(value).is_integer() else value


def concept(table: CodeTable, key: str, text: str) -> Json:
    """A CodeableConcept: ``text`` always, ``coding`` only when the table has an emittable code."""
    coding = table.coding(key)
    return {"coding": [coding], "text": text} if coding else {"text": text}


def provenance(content_version: str, recs: Iterable[str]) -> list[Json]:
    """The ``content-version`` and ``recommendation`` extensions."""
    out: list[Json] = [{"url": EXT_CONTENT_VERSION, "valueString": content_version}]
    out.extend({"url": EXT_RECOMMENDATION, "valueString": r} for r in dict.fromkeys(recs))
    return out


def citation_text(ref: ReferenceOut) -> str:
    """``[n] citation, locator`` for a numbered reference."""
    return f"[{ref.n}] {ref.citation}, {ref.locator}"


def product_text(kb: KnowledgeBase, drug: str) -> str:
    """The product's label from the vocabulary (the drug id when it has none)."""
    term = kb.vocabulary.products.get(drug)
    return term.label if term else drug


def route_concept(table: CodeTable, route: str) -> Json:
    """The route: the table's coding and display when emittable, else the route's short name."""
    coding = table.coding(f"route:{route}")
    if coding:
        return {"coding": [coding], "text": str(coding.get("display") or route.upper())}
    return {"text": route.replace("_", " ").upper()}


# -- Dosage -----------------------------------------------------------------------------------


def quantity(value: float, unit: str, code: str, table: CodeTable) -> Json:
    """A Quantity; the UCUM ``system``/``code`` only when the table lets that unit be emitted
    (otherwise ``value`` and the human-readable ``unit`` alone)."""
    out: Json = {"value": number(value), "unit": unit}
    if table.emittable(UCUM, code):
        out.update(system=UCUM, code=code)
    return out


def dose_and_rate(dose: Dose | DoseOut, table: CodeTable) -> Json:
    """``doseQuantity`` (or ``doseRange`` for a dose given as a range), UCUM mg / ug."""
    code = UCUM_DOSE[dose.unit]
    if dose.max is not None and dose.max != dose.value:
        return {
            "doseRange": {
                "low": quantity(dose.value, dose.unit, code, table),
                "high": quantity(dose.max, dose.unit, code, table),
            }
        }
    return {"doseQuantity": quantity(dose.value, dose.unit, code, table)}


def _period(span: Span | SpanOut, unit: str) -> Json:
    out: Json = {"frequency": 1, "period": span.min, "periodUnit": unit}
    if span.max != span.min:
        out["periodMax"] = span.max
    return out


def timing_repeat(
    phase: Phase | PhaseOut,
    weekdays: Sequence[str] | None,
    dated: tuple[date, date | None] | None,
    table: CodeTable,
) -> Json:
    """``Timing.repeat`` for one phase.

    every_days → frequency 1, period N (periodMax for a range), unit d; times_per_week →
    frequency N per 1 wk with ``dayOfWeek``; every_months → period (periodMax) mo; ``count``
    as given; ``for_days`` → ``boundsDuration`` (undated) or ``boundsPeriod`` (dated); an
    open-ended phase has no end.  ``dated`` is (first dose, last dose when the phase ends
    within the schedule).
    """
    if phase.every_days is not None:
        repeat = _period(phase.every_days, "d")
    elif phase.every_months is not None:
        repeat = _period(phase.every_months, "mo")
    else:
        assert phase.times_per_week is not None
        repeat = {"frequency": phase.times_per_week, "period": 1, "periodUnit": "wk"}
        if weekdays:
            repeat["dayOfWeek"] = list(weekdays)
    if phase.count is not None:
        repeat["count"] = phase.count
    if dated is not None:
        first, last = dated
        bounds = {"start": first.isoformat()}
        if phase.for_days is not None:
            bounds["end"] = (first + timedelta(days=phase.for_days - 1)).isoformat()
        elif last is not None:
            bounds["end"] = last.isoformat()
        repeat["boundsPeriod"] = bounds
    elif phase.for_days is not None:
        repeat["boundsDuration"] = quantity(phase.for_days, "days", "d", table)
    return repeat


def dosage(
    sequence: int,
    phase: Phase | PhaseOut,
    table: CodeTable,
    *,
    route: Json,
    patient_text: str | None,
    weekdays: Sequence[str] | None,
    dated: tuple[date, date | None] | None = None,
) -> Json:
    """One Dosage: ``text`` always (the phase's text), Timing, route, dose."""
    return clean(
        {
            "sequence": sequence,
            "text": phase.text,
            "patientInstruction": patient_text,
            "timing": {"repeat": timing_repeat(phase, weekdays, dated, table)},
            "asNeededBoolean": False,
            "route": route,
            "doseAndRate": [dose_and_rate(phase.dose, table)],
        }
    )


# -- MedicationRequest ------------------------------------------------------------------------


def activity_definition_url(regimen_id: str) -> str:
    """The canonical URL of a regimen's ActivityDefinition."""
    return f"{BASE}/ActivityDefinition/{regimen_id}"


def plan_definition_url(pathway_id: str) -> str:
    """The canonical URL of a pathway's PlanDefinition."""
    return f"{BASE}/PlanDefinition/{pathway_id}"


def _phase_dates(plan: Plan) -> dict[str, tuple[date, date | None]]:
    """Per phase: the first dated dose, and the last one when the phase ends in the schedule."""
    assert plan.regimen is not None
    doses: dict[str, list[date]] = {}
    for entry in expand_schedule(plan.schedule):
        if entry.kind == "dose" and entry.phase is not None:
            doses.setdefault(entry.phase, []).append(entry.date)
    names = [p.name for p in plan.regimen.phases]
    out: dict[str, tuple[date, date | None]] = {}
    for index, phase in enumerate(plan.regimen.phases):
        dates = doses.get(phase.name)
        if not dates:
            continue
        later_dated = any(doses.get(n) for n in names[index + 1 :])
        ended = phase.count is not None and len(dates) >= phase.count
        ended = ended or (phase.for_days is not None and later_dated)
        ended = ended or (later_dated and phase.until is None)
        out[phase.name] = (dates[0], dates[-1] if ended else None)
    return out


def medication_request(
    plan: Plan,
    kb: KnowledgeBase,
    table: CodeTable,
    *,
    patient_ref: str,
    request_id: str | None = None,
    status: str = "draft",
) -> Json | None:
    """The plan's regimen as one MedicationRequest (``None`` when the plan has no regimen).

    Each phase is one Dosage (``sequence`` = phase number); a phase with dated doses in the
    plan's schedule gets ``boundsPeriod.start`` (its first dose) and ``end`` (its last dose
    when the phase ends within the schedule).
    """
    regimen = plan.regimen
    if regimen is None:
        return None
    source = kb.regimens.get(regimen.id)
    patient_texts = {p.name: p.patient_text for p in source.phases} if source is not None else {}
    route = route_concept(table, regimen.route)
    dated = _phase_dates(plan)
    dosages = [
        dosage(
            i,
            phase,
            table,
            route=route,
            patient_text=patient_texts.get(phase.name),
            weekdays=phase.weekdays,
            dated=dated.get(phase.name),
        )
        for i, phase in enumerate(regimen.phases, start=1)
    ]
    resource = clean(
        {
            "resourceType": "MedicationRequest",
            "extension": provenance(plan.content_version, regimen.recs),
            "status": status,
            "intent": "order",
            "medicationCodeableConcept": concept(
                table, f"drug:{regimen.drug}", product_text(kb, regimen.drug)
            ),
            "subject": {"reference": patient_ref},
            "authoredOn": plan.as_of.isoformat(),
            "instantiatesCanonical": [activity_definition_url(regimen.id)],
            "note": [{"text": regimen.title}],
            "dosageInstruction": dosages,
        }
    )
    return with_id(resource, request_id)


# -- ServiceRequest ---------------------------------------------------------------------------


def _test_request(
    plan: Plan,
    kb: KnowledgeBase,
    table: CodeTable,
    item: MonitoringOut,
    test: str,
    patient_ref: str,
) -> Json:
    term = kb.vocabulary.tests.get(test)
    label = term.label if term else test
    resource = {
        "resourceType": "ServiceRequest",
        "extension": provenance(plan.content_version, item.recs),
        "status": "draft",
        "intent": "plan",
        "code": concept(table, f"test:{test}", label),
        "subject": {"reference": patient_ref},
        "occurrenceDateTime": item.date.isoformat() if item.date else None,
        "asNeededCodeableConcept": {"text": item.after} if item.after else None,
        "authoredOn": plan.as_of.isoformat(),
        "note": [{"text": item.why}],
    }
    return with_id(clean(resource))


def _review_request(plan: Plan, entry: ScheduleEntry, patient_ref: str) -> Json:
    resource = {
        "resourceType": "ServiceRequest",
        "extension": provenance(plan.content_version, entry.recs),
        "status": "draft",
        "intent": "plan",
        "code": {"text": entry.text},
        "subject": {"reference": patient_ref},
        "occurrenceDateTime": entry.date.isoformat(),
        "authoredOn": plan.as_of.isoformat(),
    }
    return with_id(clean(resource))


def service_requests(
    plan: Plan, kb: KnowledgeBase, table: CodeTable, *, patient_ref: str
) -> list[Json]:
    """One ServiceRequest per monitoring test (dated: ``occurrenceDateTime``; conditional:
    ``asNeededCodeableConcept``) and per dated review of the regimen (e.g. the neurological
    reviews of an open-ended loading phase).  Monitoring tests in the schedule are the same
    items as the dated monitoring, so they are taken from ``plan.monitoring`` only."""
    out: list[Json] = []
    for item in plan.monitoring:
        out.extend(_test_request(plan, kb, table, item, t, patient_ref) for t in item.tests)
    out.extend(
        _review_request(plan, e, patient_ref)
        for e in expand_schedule(plan.schedule)
        if e.kind == "review"
        and not any(m.date == e.date and m.recs == e.recs for m in plan.monitoring)
    )
    return list({r["id"]: r for r in out}.values())


# -- DetectedIssue ----------------------------------------------------------------------------


def detected_issue(
    plan: Plan,
    kb: KnowledgeBase,
    alert: AlertOut,
    *,
    patient_ref: str,
    implicated: str | None = None,
) -> Json:
    """An alert as a DetectedIssue: severity from stop / warning / info, ``code.text`` = code
    and title, ``detail`` = message, ``reference`` = the first cited source's URL, and each
    cited reference as ``evidence.detail`` (display text)."""
    refs = [r for r in plan.references if r.n in alert.refs]
    urls = [kb.sources[r.source_id].url for r in refs if r.source_id in kb.sources]
    resource = {
        "resourceType": "DetectedIssue",
        "extension": provenance(plan.content_version, alert.recs),
        "status": "preliminary",
        "code": {"text": f"{alert.code}: {alert.title}"},
        "severity": SEVERITY[alert.severity],
        "patient": {"reference": patient_ref},
        "identifiedDateTime": plan.as_of.isoformat(),
        "implicated": [{"reference": implicated}] if implicated else None,
        "evidence": [{"detail": [{"display": citation_text(r)} for r in refs]}] if refs else None,
        "detail": alert.message,
        "reference": next((u for u in urls if u), None),
    }
    return with_id(clean(resource))


# -- CarePlan and Bundle ----------------------------------------------------------------------


def _care_plan_notes(plan: Plan, extra: Sequence[str]) -> list[Json]:
    notes = [{"text": c.text} for c in plan.pathway.why]
    notes.extend(
        {"text": f"{d.topic}: " + " / ".join(p.says for p in d.positions)}
        for d in plan.disagreements
    )
    notes.extend({"text": f"{m.field}: {m.why}"} for m in plan.missing)
    if plan.schedule_note:
        notes.append({"text": plan.schedule_note})
    if plan.review_banner:
        notes.append({"text": plan.review_banner})
    notes.extend({"text": t} for t in extra)
    notes.append({"text": plan.disclaimer})
    return notes


def care_plan_status(plan: Plan) -> str:
    """``active`` for an approved plan with a regimen-or-monitoring decision, else ``draft``."""
    return "active" if plan.status == "plan" and plan.review_status == "approved" else "draft"


def entry(resource: Json) -> Json:
    """A Bundle entry with its ``urn:uuid:`` fullUrl."""
    return {"fullUrl": full_url(resource), "resource": resource}


def plan_bundle(
    plan: Plan,
    kb: KnowledgeBase,
    table: CodeTable,
    *,
    patient_ref: str,
    notes: Sequence[str] = (),
    supporting_info: Sequence[str] = (),
    extra_resources: Sequence[Json] = (),
) -> Json:
    """The plan as a ``collection`` Bundle: CarePlan first, then the MedicationRequest, the
    ServiceRequests and the DetectedIssues (then ``extra_resources``, e.g. an
    OperationOutcome).  ``notes`` are appended to the CarePlan's notes; ``supporting_info``
    are references (``Observation/…``) the plan was computed from."""
    med = medication_request(plan, kb, table, patient_ref=patient_ref)
    services = service_requests(plan, kb, table, patient_ref=patient_ref)
    med_url = full_url(med) if med else None
    issues = [
        detected_issue(plan, kb, a, patient_ref=patient_ref, implicated=med_url)
        for a in plan.alerts
    ]
    activities = ([med] if med else []) + services
    recs = [r.id for r in plan.recommendations]
    care_plan = {
        "resourceType": "CarePlan",
        "extension": [
            *provenance(plan.content_version, recs),
            {"url": EXT_REVIEW_STATUS, "valueCode": plan.review_status},
            {"url": EXT_REVIEW_LEVEL, "valueCode": plan.review_level},
        ],
        "instantiatesCanonical": [plan_definition_url(plan.pathway.id)],
        "status": care_plan_status(plan),
        "intent": "plan",
        "title": plan.pathway.title,
        "description": plan.pathway.why[0].text if plan.pathway.why else None,
        "subject": {"reference": patient_ref},
        "period": {"start": plan.start.isoformat()},
        "created": plan.as_of.isoformat(),
        "supportingInfo": [{"reference": r} for r in supporting_info],
        "activity": [{"reference": {"reference": full_url(r)}} for r in activities],
        "note": _care_plan_notes(plan, notes),
    }
    care = with_id(clean(care_plan))
    resources = [care, *activities, *issues, *extra_resources]
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [entry(r) for r in resources],
    }
    return with_id(bundle)
