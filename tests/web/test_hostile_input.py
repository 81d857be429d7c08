"""Hostile input on the web, on SQLite and PostgreSQL: never a 500 from input, and an error of
any kind (500 included) carries the security headers, the type the client asked for, and a log
line with the exception type and the route only.

Also the registry API's answers to a reused idempotency key (409 with both doses), a refused
dose (audited), ids with NUL characters (404), and dates of birth (422 naming the field).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from b12.adapters.sql.registry import Registry
from b12.entrypoints.web.app import SECURITY_HEADERS
from tests.web.conftest import BACKENDS, UK_PA, SignedIn, audit_rows, counts, enrol

HUGE = "9" * 5000
HIDDEN_PICTURES = {
    "nested-3000": '{"age": 60, "labs": ' + "[" * 3000 + "]" * 3000 + "}",
    "nested-100": '{"age": 60, "labs": ' + "[" * 100 + "]" * 100 + "}",
    "huge-integer": '{"age": ' + HUGE + "}",
    "huge-lab": '{"age": 60, "labs": {"mcv_fl": ' + HUGE + "}}",
    "megabyte": '{"age": 60, "x": "' + "x" * 1_100_000 + '"}',
}


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Every test here runs on SQLite and on PostgreSQL."""
    value: str = request.param
    return value


def _secure(response: Any) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, name


@pytest.mark.parametrize("case", sorted(HIDDEN_PICTURES))
@pytest.mark.parametrize(
    "url", ["/plan", "/plan/export/pdf", "/plan/export/ics", "/plan/export/json"]
)
def test_a_tampered_hidden_picture_is_bad_input_not_a_500(
    client: Callable[[str], SignedIn], url: str, case: str
) -> None:
    http = client("clinician")
    response = http.form(url, {"picture": HIDDEN_PICTURES[case]})
    _secure(response)
    assert response.headers["content-type"].startswith("text/html")
    if case == "megabyte":  # the form parser's own part-size limit answers first
        assert response.status_code == 400, response.text[:300]
        return
    assert response.status_code == 422, response.text[:300]
    assert "The patient&#39;s details could not be read" in response.text


@pytest.mark.parametrize("horizon", ["9" * 5000, "1" * 40 + "m", "٣m"])
def test_a_huge_horizon_is_bad_input(
    app: FastAPI, bearer: Callable[[str], dict[str, str]], horizon: str
) -> None:
    with TestClient(app) as http:
        response = http.post(
            f"/api/plan?horizon={horizon}", json={**UK_PA, "as_of": "2026-03-02"},
            headers=bearer("clinician"),
        )  # fmt: skip
    assert response.status_code == 422, response.text[:300]
    assert response.json()["error"]["fields"][0]["field"] == "horizon"
    assert len(response.text) < 1000
    _secure(response)


@pytest.mark.parametrize(
    "body",
    [
        '{"age": 60, "labs": ' + "[" * 3000 + "]" * 3000 + "}",
        '{"age": 60, "labs": ' + "[" * 100 + "]" * 100 + "}",
        '{"age": ' + HUGE + "}",
    ],
    ids=["nested-3000", "nested-100", "huge-integer"],
)
@pytest.mark.parametrize("url", ["/api/plan", "/api/check", "/api/next", "/api/patients"])
def test_api_bodies_nested_or_with_huge_numbers_are_422(
    app: FastAPI, bearer: Callable[[str], dict[str, str]], url: str, body: str
) -> None:
    headers = {**bearer("admin"), "Content-Type": "application/json"}
    with TestClient(app) as http:
        response = http.post(url, content=body, headers=headers)
    assert response.status_code == 422, response.text[:300]
    assert response.json()["error"]["fields"][0]["field"] == "body"
    assert len(response.text) < 1000


# -- 500 -------------------------------------------------------------------------------------


def _boom() -> None:
    raise RuntimeError("patient P-123 secret value 42")


@pytest.mark.parametrize(
    ("path", "accept", "kind"),
    [
        ("/boom", "text/html", "text/html"),
        ("/boom", "application/json", "application/json"),
        ("/api/boom", "*/*", "application/json"),
    ],
)
def test_a_500_has_the_security_headers_the_asked_type_and_a_log_line_without_data(
    app: FastAPI, caplog: pytest.LogCaptureFixture, path: str, accept: str, kind: str
) -> None:
    app.add_api_route(path, _boom, methods=["GET"])
    with caplog.at_level(logging.DEBUG), TestClient(app, raise_server_exceptions=False) as http:
        response = http.get(path, headers={"Accept": accept})
    assert response.status_code == 500
    assert response.headers["content-type"].startswith(kind)
    _secure(response)
    assert response.headers["cache-control"] == "no-store"
    assert "secret" not in response.text
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors, "the 500 was not logged"
    for record in caplog.records:
        text = record.getMessage()
        assert "secret" not in text
        assert "P-123" not in text
        assert record.exc_info is None or record.exc_info == (None, None, None)
    assert any("RuntimeError" in r.getMessage() and path in r.getMessage() for r in errors)


# -- the registry API ------------------------------------------------------------------------

DOSE = {"date": "2026-03-02", "drug": "hydroxocobalamin", "dose": "1mg", "route": "im"}


def test_a_reused_idempotency_key_with_another_dose_is_409_with_both(
    app: FastAPI, registry: Registry, bearer: Callable[[str], dict[str, str]]
) -> None:
    enrol(registry, "P-001")
    headers = bearer("nurse")
    with TestClient(app) as http:
        url = "/api/patients/P-001/doses"
        first = http.post(url, json={**DOSE, "idempotency_key": "v1"}, headers=headers)
        assert first.status_code == 201, first.text
        same = http.post(url, json={**DOSE, "idempotency_key": "v1"}, headers=headers)
        before = counts(registry)
        other = http.post(
            url, json={**DOSE, "dose": "2mg", "idempotency_key": "v1"}, headers=headers
        )
    assert same.status_code == 200
    assert same.json()["duplicate"] is True
    assert other.status_code == 409, other.text
    body = other.json()
    assert body["error"]["code"] == "conflict"
    assert body["recorded"]["dose"] == "1mg"
    assert body["recorded"]["dose_id"] == first.json()["dose_id"]
    assert body["submitted"]["dose"] == "2mg"
    assert counts(registry) == before


def test_a_refused_dose_is_audited(
    app: FastAPI, registry: Registry, bearer: Callable[[str], dict[str, str]]
) -> None:
    enrol(registry, "P-001")
    with TestClient(app) as http:
        response = http.post(
            "/api/patients/P-001/doses", json={**DOSE, "dose": "1000mg"}, headers=bearer("nurse")
        )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "refused"
    (row,) = audit_rows(registry, "refuse_dose")
    assert row["record_id"] == "P-001"


@pytest.mark.parametrize("patient_id", ["P%00001", "P-0%0001", "P" * 5000])
def test_an_id_with_a_nul_is_404_not_503(
    app: FastAPI, registry: Registry, bearer: Callable[[str], dict[str, str]], patient_id: str
) -> None:
    enrol(registry, "P-001")
    headers = bearer("nurse")
    with TestClient(app) as http:
        shown = http.get(f"/api/patients/{patient_id}", headers=headers)
        dosed = http.post(f"/api/patients/{patient_id}/doses", json=DOSE, headers=headers)
        event = http.post(
            f"/api/patients/{patient_id}/events",
            json={"date": "2026-03-02", "kind": "stable"},
            headers=headers,
        )
    for response in (shown, dosed, event):
        assert response.status_code == 404, response.text[:300]
        assert len(response.text) < 1000


@pytest.mark.parametrize(
    ("born", "message"),
    [
        ("2000-01-01", "the picture's age is 68"),
        ("1899-12-31", "between 1900-01-01"),
        ("1957-W23-1", "YYYY-MM-DD"),
        ("19570302", "YYYY-MM-DD"),
    ],
)
def test_an_impossible_date_of_birth_is_422_naming_it(
    app: FastAPI,
    registry: Registry,
    bearer: Callable[[str], dict[str, str]],
    born: str,
    message: str,
) -> None:
    body = {"id": "P-009", "date_of_birth": born, "picture": {**UK_PA, "as_of": "2026-03-02"}}
    with TestClient(app) as http:
        response = http.post("/api/patients", json=body, headers=bearer("clinician"))
    assert response.status_code == 422, response.text
    (field,) = response.json()["error"]["fields"]
    assert field["field"] == "date_of_birth"
    assert message in field["message"]
    assert counts(registry, "patients") == {"patients": 0}


def test_a_date_of_birth_matching_the_age_is_accepted(
    app: FastAPI, bearer: Callable[[str], dict[str, str]]
) -> None:
    body = {
        "id": "P-009",
        "date_of_birth": "1958-03-02",
        "picture": {**UK_PA, "as_of": "2026-03-02"},
    }
    with TestClient(app) as http:
        response = http.post("/api/patients", json=body, headers=bearer("clinician"))
    assert response.status_code == 201, response.text


def test_week_dates_are_refused_in_every_date_field(
    app: FastAPI, bearer: Callable[[str], dict[str, str]]
) -> None:
    with TestClient(app) as http:
        response = http.post(
            "/api/plan", content=json.dumps({**UK_PA, "as_of": "2026-W10-1"}),
            headers={**bearer("clinician"), "Content-Type": "application/json"},
        )  # fmt: skip
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["field"] == "as_of"


def test_the_event_page_refuses_a_week_date(
    client: Callable[[str], SignedIn], registry: Registry
) -> None:
    enrol(registry, "P-001")
    nurse = client("nurse")
    response = nurse.form(
        "/patients/P-001/events", {"event.date": "2026-W10-1", "event.kind": "stable"}
    )
    assert response.status_code == 422
    assert "YYYY-MM-DD" in response.text
    assert counts(registry, "events") == {"events": 0}


def test_fhir_apply_refuses_a_week_date_as_of(
    app: FastAPI, bearer: Callable[[str], dict[str, str]]
) -> None:
    with TestClient(app) as http:
        response = http.post(
            "/fhir/PlanDefinition/uk-im-no-neuro/$apply?as_of=2026-W10-1",
            json={"resourceType": "Bundle", "type": "collection", "entry": []},
            headers=bearer("clinician"),
        )
    assert response.status_code == 422, response.text[:300]
    assert response.json()["error"]["fields"][0]["field"] == "as_of"
