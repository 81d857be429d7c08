"""FHIR in: a current B12 injection MedicationStatement/MedicationRequest with a repeating
dosage gives a declared maintenance course (``FhirPicture.course``) that the follow-up reads."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

import b12
from b12.adapters.fhir.codes import CodeTable, load_code_table
from b12.adapters.fhir.inbound import picture_from_fhir
from b12.core.knowledge import KnowledgeBase
from b12.core.requests import follow_up_request

AS_OF = date(2026, 5, 20)
PATIENT = {"resourceType": "Patient", "id": "p1", "birthDate": "1950-02-01", "gender": "female"}
IM = {"coding": [{"system": "http://snomed.info/sct", "code": "78421000"}], "text": "IM"}
ORAL = {"coding": [{"system": "http://snomed.info/sct", "code": "26643006"}], "text": "Oral"}


@pytest.fixture(scope="module")
def table() -> CodeTable:
    return load_code_table()


def _every(period: float, unit: str, route: dict[str, Any] = IM, **bounds: str) -> dict[str, Any]:
    repeat: dict[str, Any] = {"frequency": 1, "period": period, "periodUnit": unit}
    if bounds:
        repeat["boundsPeriod"] = bounds
    return {
        "timing": {"repeat": repeat},
        "route": route,
        "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "mg"}}],
    }


def _statement(status: str, dosage: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return {
        "resourceType": "MedicationStatement",
        "status": status,
        "medicationCodeableConcept": {"text": "Hydroxocobalamin 1mg/1ml injection"},
        "dosage": [dosage],
        **kw,
    }


def _request(dosage: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {"text": "Cyanocobalamin 1000 mcg/mL injection"},
        "dosageInstruction": [dosage],
        **kw,
    }


def test_a_three_monthly_statement_is_maintenance_since_its_start(
    table: CodeTable, kb: KnowledgeBase
) -> None:
    period = {"start": "2019-04-01"}
    res = [PATIENT, _statement("active", _every(3, "mo"), effectivePeriod=period)]
    result = picture_from_fhir(res, table, as_of=AS_OF)
    assert result.course == {"stage": "maintenance", "since": "2019-04-01", "every_months": 3}
    picture = {**result.picture, "cause": "pernicious_anaemia", "deficiency": "confirmed"}
    history = [
        {"date": "2026-03-10", "drug": "hydroxocobalamin", "dose": {"value": 1, "unit": "mg"},
         "route": "im"}
    ]  # fmt: skip
    follow = follow_up_request(
        {"picture": picture, "history": history, "course": result.course}, kb
    )
    assert follow.phase == "maintenance"
    assert follow.course is not None
    assert follow.course.basis == "declared"
    assert follow.next_due is not None
    assert follow.next_due.date == date(2026, 6, 10)


@pytest.mark.parametrize(
    ("dosage", "months"),
    [
        (_every(12, "wk", start="2024-01-10"), 3),
        (_every(1, "mo", start="2024-01-10"), 1),
        (_every(2, "mo", start="2024-01-10"), 2),
        (_every(30, "d", start="2024-01-10"), 1),
    ],
)
def test_a_request_repeating_every_few_weeks_or_months_gives_the_interval(
    table: CodeTable, dosage: dict[str, Any], months: int
) -> None:
    result = picture_from_fhir([PATIENT, _request(dosage)], table, as_of=AS_OF)
    assert result.course == {"stage": "maintenance", "since": "2024-01-10", "every_months": months}


@pytest.mark.parametrize(
    "resource",
    [
        _statement("completed", _every(3, "mo"), effectivePeriod={"start": "2019-04-01"}),
        _statement("active", _every(2, "d"), effectivePeriod={"start": "2026-05-01"}),
        _statement("active", _every(1, "mo", ORAL), effectivePeriod={"start": "2025-01-01"}),
        _statement("active", _every(3, "mo"), effectivePeriod={"start": "2026-06-01"}),
        _statement("active", _every(3, "mo")),
        {
            **_request(_every(3, "mo", start="2024-01-10")),
            "medicationCodeableConcept": {"text": "Folic acid 5mg"},
        },
    ],
    ids=["completed", "alternate-days", "oral-monthly", "future-start", "no-start", "folic-acid"],
)
def test_no_course_is_declared_from_what_is_not_a_current_maintenance_course(
    table: CodeTable, kb: KnowledgeBase, resource: dict[str, Any]
) -> None:
    result = picture_from_fhir([PATIENT, resource], table, as_of=AS_OF)
    assert result.course is None
    b12.parse_picture(result.picture, kb)


def test_the_most_recent_course_is_used_and_the_clinician_is_told(table: CodeTable) -> None:
    res = [
        PATIENT,
        _statement("active", _every(3, "mo"), effectivePeriod={"start": "2019-04-01"}),
        _request(_every(2, "mo", start="2025-09-01")),
    ]
    result = picture_from_fhir(res, table, as_of=AS_OF)
    assert result.course == {"stage": "maintenance", "since": "2025-09-01", "every_months": 2}
    assert any("several B12 maintenance intervals" in n for n in result.notes)
