"""CDS Hooks ``patient-view``: the patient's B12 status card."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from b12.adapters.sql.tables import audit
from tests.cds.conftest import ISSUER, NOW
from tests.cds.hooks_support import (
    ATC,
    PATIENT_ID,
    Hooks,
    full_prefetch,
    patient,
    patient_view,
    pernicious_anaemia,
    searchset,
    with_server,
)

VIEW = "b12-patient-view"
ENROLMENT = {
    "age": 67,
    "sex": "female",
    "cause": "pernicious_anaemia",
    "deficiency": "confirmed",
    "labs": {"serum_b12_ng_l": 110, "haemoglobin_g_l": 118},
}


@pytest.fixture
def hooks(app: FastAPI, http: TestClient, cds_headers: Callable[..., dict[str, str]]) -> Hooks:
    return Hooks.make(app, http, cds_headers)


def enrol(app: FastAPI, days_ago: int = 0) -> None:
    registry = app.state.services.registry
    now = NOW - timedelta(days=days_ago)
    registry.add_patient(PATIENT_ID, dict(ENROLMENT), name=None, actor="test", now=now)


def status_card(cards: list[dict[str, Any]]) -> dict[str, Any]:
    return next(c for c in cards if c["source"]["topic"]["code"] == "b12-status")


def test_enrolled_patient_shows_the_next_dose_due(hooks: Hooks, app: FastAPI) -> None:
    enrol(app)
    cards = hooks.cards(VIEW, patient_view())  # the registry holds the data: no prefetch needed
    status = status_card(cards)
    assert status["summary"].startswith("Next B12 dose due 2026-03-02: ")
    assert "Hydroxocobalamin" in status["summary"]
    assert status["indicator"] == "info"
    assert "References:" in status["detail"]
    assert hooks.fhir.calls == []


def test_enrolled_patient_overdue_is_a_warning(hooks: Hooks, app: FastAPI) -> None:
    enrol(app, days_ago=60)
    status = status_card(hooks.cards(VIEW, patient_view()))
    assert status["summary"].startswith("B12 dose overdue by 60 d")
    assert status["indicator"] == "warning"
    assert "overdue" in status["detail"]  # the knowledge base's follow-up advice


def test_not_enrolled_status_comes_from_the_record(hooks: Hooks) -> None:
    cards = hooks.cards(VIEW, patient_view(full_prefetch(conditions=(pernicious_anaemia(),))))
    status = status_card(cards)
    assert status["summary"] == "B12: Intramuscular hydroxocobalamin, no neurological involvement"
    assert "Serum total B12: 110 ng/L (2026-02-20)" in status["detail"]
    assert "Monitoring" in status["detail"]
    assert status["indicator"] == "info"
    # the plan's warnings are cards of their own, each cited
    assert any(c["source"]["topic"]["code"] == "POTASSIUM_48H" for c in cards)


def test_missing_results_are_shown(hooks: Hooks) -> None:
    cards = hooks.cards(VIEW, patient_view(full_prefetch(b12=None, meds=(metformin(),))))
    status = status_card(cards)
    assert "Needed:" in status["detail"]
    assert status["indicator"] == "warning"


def test_patient_on_b12_treatment_in_the_record(hooks: Hooks) -> None:
    statement = {
        "resourceType": "MedicationStatement",
        "id": "ms-1",
        "status": "active",
        "medicationCodeableConcept": {"coding": [{"system": ATC, "code": "B03BA03"}]},
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
    }
    prefetch = full_prefetch(b12=None)
    prefetch["medicationStatements"] = searchset(statement)
    cards = hooks.cards(VIEW, patient_view(prefetch))
    assert status_card(cards)["summary"].startswith("B12: ")


def test_nothing_about_b12_means_no_cards(hooks: Hooks) -> None:
    assert hooks.cards(VIEW, patient_view(full_prefetch(b12=None))) == []


def test_not_enrolled_without_data_is_412(hooks: Hooks) -> None:
    response = hooks.call(VIEW, patient_view())
    assert response.status_code == 412
    assert response.json()["error"]["code"] == "precondition_failed"


def test_not_enrolled_data_fetched_from_the_server(hooks: Hooks) -> None:
    hooks.fhir.resources = [patient(), pernicious_anaemia()]
    cards = hooks.cards(VIEW, with_server(patient_view()))
    assert status_card(cards)["summary"].startswith("B12: ")
    assert len(hooks.fhir.calls) == 7  # one query per prefetch template


def test_a_patient_without_a_usable_record_gets_no_card(hooks: Hooks) -> None:
    prefetch = full_prefetch(conditions=(pernicious_anaemia(),))
    prefetch["patient"] = None  # the client found no Patient
    assert hooks.cards(VIEW, patient_view(prefetch)) == []


def metformin() -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": "mr-met",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {
            "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "860975"}]
        },
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
    }


# -- audit: every read of registry data through CDS writes one row (issue 12, item 11) ---------


def cds_views(app: FastAPI) -> list[dict[str, Any]]:
    registry = app.state.services.registry
    query = select(audit).where(audit.c.action == "view", audit.c.table_name == "cds")
    with registry.engine.connect() as conn:
        return [dict(r) for r in conn.execute(query.order_by(audit.c.id)).mappings()]


def test_each_patient_view_of_registry_data_writes_one_audit_row(
    hooks: Hooks, app: FastAPI
) -> None:
    enrol(app, days_ago=60)
    first, second = patient_view(), patient_view()
    hooks.cards(VIEW, first)
    hooks.cards(VIEW, second)
    rows = cds_views(app)
    assert len(rows) == 2  # one per call, not per card
    assert {r["record_id"] for r in rows} == {PATIENT_ID}
    assert {r["actor"] for r in rows} == {f"cds:{ISSUER}"}
    assert [r["detail"]["hookInstance"] for r in rows] == [
        first["hookInstance"],
        second["hookInstance"],
    ]
    assert rows[0]["detail"]["service"] == VIEW
    assert rows[0]["detail"]["user"] == "Practitioner/doc-1"
    assert rows[0]["detail"]["cards"] >= 1


def test_a_patient_not_in_the_registry_reads_no_registry_data_and_writes_no_row(
    hooks: Hooks, app: FastAPI
) -> None:
    hooks.cards(VIEW, patient_view(full_prefetch(conditions=(pernicious_anaemia(),))))
    assert cds_views(app) == []


def test_registry_data_is_not_returned_when_the_audit_row_cannot_be_written(
    hooks: Hooks, app: FastAPI
) -> None:
    enrol(app, days_ago=60)
    registry = app.state.services.registry
    with registry.engine.begin() as conn:  # the audit log refuses writes
        conn.exec_driver_sql("DROP TABLE audit")
    response = hooks.call(VIEW, patient_view())
    assert response.status_code >= 500
    assert "overdue" not in response.text
