"""Enrolment through the API with a declared course (a course that began before the record)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from b12.adapters.sql.registry import Registry
from tests.web.conftest import BACKENDS, UK_PA, counts

Bearer = Callable[[str], dict[str, str]]
PATIENT_TABLES = ("patients", "pictures", "courses", "doses", "events", "audit")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


@pytest.fixture
def api(app: FastAPI) -> TestClient:
    return TestClient(app, follow_redirects=False)


def test_enrol_with_a_declared_course_stores_it_and_reads_the_course_from_it(
    api: TestClient, bearer: Bearer, registry: Registry
) -> None:
    course = {"stage": "maintenance", "since": "2019-04-01", "every_months": 3}
    body = {"id": "P-300", "picture": UK_PA, "course": course}

    response = api.post("/api/patients", json=body, headers=bearer("clinician"))

    assert response.status_code == 201, response.text
    shown = registry.show_patient("P-300")
    assert shown["course"]["declaration"] == course
    record = api.get("/api/patients/P-300", headers=bearer("nurse")).json()
    assert record["follow_up"]["phase"] == "maintenance"
    assert record["follow_up"]["course"]["basis"] == "declared"


@pytest.mark.parametrize(
    ("course", "field"),
    [
        ({"stage": "on_maintenance", "since": "2019-04-01"}, "course.stage"),
        ({"stage": "maintenance", "since": "2099-01-01"}, "course.since"),
        ({"stage": "maintenance", "since": "01/04/2019"}, "course.since"),
        ({"stage": "maintenance", "since": "2019-04-01", "every_months": 0}, "course.every_months"),
        ({"stage": "maintenance"}, "course.since"),
        ({"stage": "maintenance", "since": "2019-04-01", "interval": 3}, "course.interval"),
        ("maintenance", "course"),
    ],
)
def test_a_bad_declared_course_is_a_field_error_and_writes_nothing(
    api: TestClient, bearer: Bearer, registry: Registry, course: Any, field: str
) -> None:
    before = counts(registry, *PATIENT_TABLES)
    body = {"id": "P-301", "picture": UK_PA, "course": course}

    response = api.post("/api/patients", json=body, headers=bearer("clinician"))

    assert response.status_code == 422, response.text
    assert field in [f["field"] for f in response.json()["error"]["fields"]]
    assert counts(registry, *PATIENT_TABLES) == before
