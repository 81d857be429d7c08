"""The registry JSON API, on SQLite and on PostgreSQL."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from b12.adapters.sql.registry import DoseInput, Registry
from tests.web.conftest import (
    BACKENDS,
    NOW,
    UK_PA,
    US_PA,
    SignedIn,
    at,
    audit_rows,
    counts,
    enrol,
)

Bearer = Callable[[str], dict[str, str]]
Client = Callable[[str], SignedIn]
PATIENT_TABLES = ("patients", "pictures", "courses", "doses", "events")
FEB_28 = date(2026, 2, 28)
DOSE: dict[str, Any] = {
    "date": "2026-03-02",
    "drug": "hydroxocobalamin",
    "dose": "1mg",
    "route": "im",
    "site": "deltoid",
    "batch": "AB123",
}


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Every test here runs on SQLite and on PostgreSQL."""
    value: str = request.param
    return value


@pytest.fixture
def api(app: FastAPI) -> TestClient:
    """A client with no session (tests pass bearer headers)."""
    return TestClient(app, follow_redirects=False)


def _fields(response: Any) -> list[str]:
    return [f["field"] for f in response.json()["error"]["fields"]]


def _dosed_on_feb_28(registry: Registry) -> None:
    enrol(registry, "P-001", day=FEB_28)
    registry.record_dose(
        "P-001",
        DoseInput(date=FEB_28, drug="hydroxocobalamin", dose="1mg", route="im"),
        actor="setup",
        now=at(FEB_28),
    )


# -- patients ----------------------------------------------------------------------------------


def test_enrol_returns_201_with_the_plan_summary(
    api: TestClient, bearer: Bearer, registry: Registry
) -> None:
    body = {"id": "P-100", "name": "Ann", "date_of_birth": "1957-04-01", "picture": UK_PA}

    response = api.post("/api/patients", json=body, headers=bearer("clinician"))

    assert response.status_code == 201, response.text
    assert response.headers["location"] == "/api/patients/P-100"
    summary = response.json()
    assert summary["id"] == "P-100"
    assert summary["pathway"]["id"] == "uk-im-no-neuro"
    assert summary["regimen"]["id"] == "UK-HYDROXO-STANDARD"
    assert summary["start"] == "2026-03-02"
    assert summary["content_version"].startswith("sha256:")
    assert (summary["review_status"], summary["review_level"]) == (
        "approved",
        "engineering_reviewed",
    )
    assert summary["review_label"] == "Engineering-reviewed; not clinically signed off"
    assert registry.show_patient("P-100")["patient"]["display_name"] == "Ann"
    (enrolled,) = audit_rows(registry, "enrol")
    assert enrolled["actor"] == "clinician.test"


def test_patients_list_and_record_are_returned_and_audited(
    api: TestClient, bearer: Bearer, registry: Registry
) -> None:
    _dosed_on_feb_28(registry)
    headers = bearer("nurse")

    listed = api.get("/api/patients", headers=headers)
    shown = api.get("/api/patients/P-001", headers=headers)

    assert listed.status_code == shown.status_code == 200
    assert [p["id"] for p in listed.json()["items"]] == ["P-001"]
    record = shown.json()
    assert record["patient"]["id"] == "P-001"
    assert record["course"]["pathway"] == "uk-im-no-neuro"
    assert len(record["doses"]) == len(record["dose_history"]) == 1
    assert record["follow_up"]["next_due"]["date"] == "2026-03-02"
    views = audit_rows(registry, "view")
    assert [(v["actor"], v["table_name"], v["record_id"]) for v in views] == [
        ("nurse.test", "patients", "list"),
        ("nurse.test", "patient", "P-001"),
    ]
    assert views[1]["at"] == NOW


def test_the_patient_list_has_one_row_per_patient(
    api: TestClient, bearer: Bearer, registry: Registry
) -> None:
    enrol(registry, "P-001")
    registry.update_picture("P-001", {**UK_PA, "neuro_symptoms": ["ataxia"]}, actor="x", now=NOW)

    items = api.get("/api/patients", headers=bearer("nurse")).json()["items"]

    assert [(p["id"], p["pathway"], p["status"]) for p in items] == [
        ("P-001", "uk-im-neuro", "active")
    ]


def test_an_unknown_patient_is_404_in_the_canonical_shape(api: TestClient, bearer: Bearer) -> None:
    response = api.get("/api/patients/nobody", headers=bearer("nurse"))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        (
            {"id": "P-100", "picture": {**UK_PA, "labs": {"serum_b12_ng_l": "lots"}}},
            ["picture.labs.serum_b12_ng_l"],
        ),
        ({"id": "has space", "picture": UK_PA}, ["id"]),
        ({"picture": UK_PA}, ["id"]),
        ({"id": "P-100"}, ["picture"]),
        ({"id": "P-100", "picture": UK_PA, "nickname": "x"}, ["nickname"]),
        ({"id": "P-100", "picture": UK_PA, "date_of_birth": "2030-01-01"}, ["date_of_birth"]),
        ({"id": "P-100", "picture": UK_PA, "name": "n" * 201}, ["name"]),
        ({"id": "P-100", "picture": UK_PA, "name": "a\x00b"}, ["name"]),
        ({"id": 7, "picture": {**UK_PA, "age": -1}}, ["id", "picture.age"]),
        ([], ["body"]),
    ],
)
def test_bad_enrolment_is_422_naming_the_field_and_writes_nothing(
    api: TestClient, bearer: Bearer, registry: Registry, body: Any, fields: list[str]
) -> None:
    headers = bearer("clinician")
    before = counts(registry)

    response = api.post("/api/patients", json=body, headers=headers)

    assert response.status_code == 422, response.text
    assert _fields(response) == fields
    assert counts(registry) == before


def test_bad_json_is_422(api: TestClient, bearer: Bearer) -> None:
    response = api.post(
        "/api/patients",
        content=b"{not json",
        headers={**bearer("clinician"), "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert _fields(response) == ["body"]


def test_enrolling_twice_is_422_on_the_id(
    api: TestClient, bearer: Bearer, registry: Registry
) -> None:
    enrol(registry, "P-100")
    response = api.post(
        "/api/patients", json={"id": "P-100", "picture": UK_PA}, headers=bearer("clinician")
    )
    assert response.status_code == 422
    assert _fields(response) == ["id"]
    assert counts(registry, "patients")["patients"] == 1


def test_roles_and_credentials(api: TestClient, bearer: Bearer, registry: Registry) -> None:
    body = {"id": "P-100", "picture": UK_PA}

    nobody = api.post("/api/patients", json=body)
    unknown = api.post("/api/patients", json=body, headers={"Authorization": "Bearer b12_nope"})
    nurse = api.post("/api/patients", json=body, headers=bearer("nurse"))
    reading = api.get("/api/patients")

    assert nobody.status_code == unknown.status_code == reading.status_code == 401
    assert nobody.headers["www-authenticate"].startswith("Bearer")
    assert nobody.json()["error"]["code"] == "unauthorized"
    assert nurse.status_code == 403
    assert nurse.json()["error"]["code"] == "forbidden"
    assert counts(registry, "patients")["patients"] == 0


def test_a_browser_session_must_send_the_csrf_header_to_write(
    client: Client, registry: Registry
) -> None:
    clinician = client("clinician")
    body = {"id": "P-100", "picture": UK_PA}

    forged = clinician.post("/api/patients", json=body)
    assert forged.status_code == 403
    assert forged.json()["error"]["code"] == "csrf"
    assert counts(registry, "patients")["patients"] == 0

    assert clinician.get("/api/patients").status_code == 200  # reads need no token
    assert clinician.post_json("/api/patients", body).status_code == 201


# -- doses and events --------------------------------------------------------------------------


def test_recording_a_dose_returns_the_check_and_moves_the_next_due_date(
    api: TestClient, bearer: Bearer, registry: Registry
) -> None:
    _dosed_on_feb_28(registry)

    response = api.post("/api/patients/P-001/doses", json=DOSE, headers=bearer("nurse"))

    assert response.status_code == 201, response.text
    result = response.json()
    assert result["duplicate"] is False
    assert result["check"]["verdict"] == "ok"
    assert result["follow_up"]["next_due"]["date"] == "2026-03-04"
    last = registry.dose_history("P-001")[-1]
    assert (last["id"], last["batch"], last["given_by"]) == (
        result["dose_id"],
        "AB123",
        "nurse.test",
    )


def test_the_dose_may_be_a_value_and_unit(
    api: TestClient, bearer: Bearer, registry: Registry
) -> None:
    _dosed_on_feb_28(registry)
    body = {**DOSE, "dose": {"value": 1000, "unit": "mcg"}}

    response = api.post("/api/patients/P-001/doses", json=body, headers=bearer("nurse"))

    assert response.status_code == 201, response.text
    last = registry.dose_history("P-001")[-1]
    assert (last["dose_value"], last["dose_unit"]) == (1000, "mcg")


def test_an_early_dose_is_recorded_with_its_warning(
    api: TestClient, bearer: Bearer, registry: Registry
) -> None:
    _dosed_on_feb_28(registry)

    response = api.post(
        "/api/patients/P-001/doses", json={**DOSE, "date": "2026-03-01"}, headers=bearer("nurse")
    )

    assert response.status_code == 201
    check = response.json()["check"]
    assert check["verdict"] == "warn"
    assert "INTERVAL_EARLY" in {a["code"] for a in check["alerts"]}


def test_the_same_idempotency_key_records_one_dose(
    api: TestClient, bearer: Bearer, registry: Registry
) -> None:
    _dosed_on_feb_28(registry)
    headers = bearer("nurse")
    body = {**DOSE, "idempotency_key": "visit-42"}

    first = api.post("/api/patients/P-001/doses", json=body, headers=headers)
    again = api.post("/api/patients/P-001/doses", json=body, headers=headers)

    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    assert again.json()["dose_id"] == first.json()["dose_id"]
    assert counts(registry, "doses")["doses"] == 2


def test_a_stop_without_a_reason_is_409_with_the_check(
    api: TestClient, bearer: Bearer, registry: Registry
) -> None:
    _dosed_on_feb_28(registry)
    headers = bearer("nurse")
    iv = {**DOSE, "route": "iv", "site": None}

    refused = api.post("/api/patients/P-001/doses", json=iv, headers=headers)

    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "refused"
    assert refused.json()["check"]["verdict"] == "stop"
    assert "IV_ROUTE" in {a["code"] for a in refused.json()["check"]["alerts"]}
    assert counts(registry, "doses")["doses"] == 1

    overridden = api.post(
        "/api/patients/P-001/doses",
        json={**iv, "override_reason": "specialist advice"},
        headers=headers,
    )
    assert overridden.status_code == 201
    assert registry.dose_history("P-001")[-1]["override_reason"] == "specialist advice"


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        ({"dose": "lots"}, ["dose"]),
        ({"dose": {"value": 1, "unit": "bucket"}}, ["dose"]),
        ({"dose": {"value": True, "unit": "mg"}}, ["dose"]),
        ({"dose": {"value": -1, "unit": "mg"}}, ["dose"]),
        ({"date": "2026-03-03"}, ["date"]),
        ({"date": 20260302}, ["date"]),
        ({"route": "nose"}, ["route"]),
        ({"site": "ear"}, ["site"]),
        ({"drug": ""}, ["drug"]),
        ({"drug": "d" * 201}, ["drug"]),
        ({"batch": "b" * 101}, ["batch"]),
        ({"idempotency_key": "k" * 201}, ["idempotency_key"]),
        ({"idempotency_key": "k\x00"}, ["idempotency_key"]),
        ({"giver": "me"}, ["giver"]),
    ],
)
def test_bad_dose_input_is_422_naming_the_field_and_writes_nothing(
    api: TestClient,
    bearer: Bearer,
    registry: Registry,
    change: dict[str, Any],
    fields: list[str],
) -> None:
    _dosed_on_feb_28(registry)
    headers = bearer("nurse")
    before = counts(registry)

    response = api.post("/api/patients/P-001/doses", json={**DOSE, **change}, headers=headers)

    assert response.status_code == 422, response.text
    assert _fields(response) == fields
    assert counts(registry) == before


def test_a_dose_for_an_unknown_patient_is_404(api: TestClient, bearer: Bearer) -> None:
    response = api.post("/api/patients/nobody/doses", json=DOSE, headers=bearer("nurse"))
    assert response.status_code == 404


def test_recording_an_event_returns_the_follow_up(
    api: TestClient, bearer: Bearer, registry: Registry
) -> None:
    enrol(registry, "P-001")
    headers = bearer("nurse")

    response = api.post(
        "/api/patients/P-001/events", json={"date": "2026-03-02", "kind": "stable"}, headers=headers
    )
    bad = api.post(
        "/api/patients/P-001/events", json={"date": "2026-03-02", "kind": "odd"}, headers=headers
    )

    assert response.status_code == 201
    assert response.json()["pathway"]["id"] == "uk-im-no-neuro"
    assert bad.status_code == 422
    assert _fields(bad) == ["kind"]
    assert counts(registry, "events")["events"] == 1


# -- recall ------------------------------------------------------------------------------------


def _practice(registry: Registry) -> None:
    enrol(registry, "due-today")
    enrol(registry, "overdue-10", day=date(2026, 2, 20))
    enrol(registry, "upcoming-8", start="2026-03-10")
    enrol(registry, "us-overdue", US_PA, day=date(2026, 2, 25))


def test_recall_json_has_the_total_and_the_most_urgent_first(
    api: TestClient, bearer: Bearer, registry: Registry
) -> None:
    _practice(registry)
    headers = bearer("nurse")

    everyone = api.get("/api/recall", headers=headers)
    page = api.get("/api/recall?within=14&limit=1&offset=1", headers=headers)
    overdue_uk = api.get("/api/recall?status=overdue&guideline=uk", headers=headers)

    assert everyone.status_code == 200
    result = everyone.json()
    assert result["total"] == 4
    assert result["as_of"] == "2026-03-02"
    assert [r["patient_id"] for r in result["items"]] == [
        "overdue-10",
        "us-overdue",
        "due-today",
        "upcoming-8",
    ]
    assert result["items"][0]["overdue_days"] == 10
    assert result["items"][0]["status"] == "overdue"
    assert (page.json()["total"], [r["patient_id"] for r in page.json()["items"]]) == (
        4,
        ["us-overdue"],
    )
    assert [r["patient_id"] for r in overdue_uk.json()["items"]] == ["overdue-10"]
    assert overdue_uk.json()["total"] == 1
    assert len(audit_rows(registry, "view")) == 3


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("within=-1", "within"),
        ("within=soon", "within"),
        ("limit=0", "limit"),
        ("offset=-3", "offset"),
        ("status=late", "status"),
        ("guideline=fr", "guideline"),
    ],
)
def test_bad_recall_parameters_are_422(
    api: TestClient, bearer: Bearer, query: str, field: str
) -> None:
    response = api.get(f"/api/recall?{query}", headers=bearer("nurse"))
    assert response.status_code == 422
    assert _fields(response) == [field]


def test_recall_csv_parses_and_is_audited(
    api: TestClient, bearer: Bearer, registry: Registry
) -> None:
    _practice(registry)

    response = api.get("/api/recall.csv?within=14", headers=bearer("nurse"))

    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith("attachment;")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["patient_id"] for r in rows] == [
        "overdue-10",
        "us-overdue",
        "due-today",
        "upcoming-8",
    ]
    assert set(rows[0]) == {
        "patient_id",
        "display_name",
        "pathway",
        "regimen",
        "phase",
        "next_due",
        "earliest",
        "latest",
        "overdue_days",
        "status",
    }
    (view,) = audit_rows(registry, "view")
    assert (view["table_name"], view["record_id"], view["detail"]["rows"]) == ("recall", "csv", 4)


def test_the_openapi_document_declares_the_registry_bodies(api: TestClient) -> None:
    document = api.get("/api/openapi.json").json()
    paths = document["paths"]

    for path in ("/api/patients", "/api/patients/{patient_id}/doses"):
        schema = paths[path]["post"]["requestBody"]["content"]["application/json"]["schema"]
        assert schema["type"] == "object"
    enrol_body = paths["/api/patients"]["post"]["requestBody"]["content"]["application/json"]
    assert enrol_body["schema"]["properties"]["picture"] == {
        "$ref": "#/components/schemas/ClinicalPicture"
    }
    assert {"/api/recall", "/api/recall.csv", "/api/patients/{patient_id}/events"} <= set(paths)
    assert "409" in paths["/api/patients/{patient_id}/doses"]["post"]["responses"]
    assert not any(p.startswith(("/patients", "/recall")) for p in paths)  # pages stay out
