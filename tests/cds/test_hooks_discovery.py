"""CDS Hooks discovery (``GET /cds-services``), service ids and authentication on every route."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from b12.adapters.cds.cards import empty_paths
from b12.adapters.fhir.codes import load_code_table
from tests.cds.hooks_support import SERVICE_IDS, Hooks, order_sign, patient_view

HOOKS = {
    "b12-patient-view": "patient-view",
    "b12-order-select": "order-select",
    "b12-order-sign": "order-sign",
}


@pytest.fixture
def hooks(app: FastAPI, http: TestClient, cds_headers: Callable[..., dict[str, str]]) -> Hooks:
    return Hooks.make(app, http, cds_headers)


def test_discovery_lists_the_three_services(hooks: Hooks) -> None:
    response = hooks.discovery()
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    document = response.json()
    assert empty_paths(document) == []
    services = document["services"]
    assert {s["id"]: s["hook"] for s in services} == HOOKS
    for service in services:
        assert service["title"]
        assert service["description"]
        assert service["usageRequirements"]
        assert service["version"] == "2.0"
        assert service["hookVersion"] == "1.0"
        assert re.fullmatch(r"[A-Za-z0-9-]+", service["id"])


def test_prefetch_templates_stay_in_the_recommended_subset(hooks: Hooks) -> None:
    table = load_code_table()
    for service in hooks.discovery().json()["services"]:
        prefetch = service["prefetch"]
        assert {"patient", "b12", "conditions", "medicationRequests"} <= set(prefetch)
        for template in prefetch.values():
            assert "{{context.patientId}}" in template
            tokens = re.findall(r"\{\{([^}]*)\}\}", template)
            assert set(tokens) == {"context.patientId"}  # no draftOrders/selections tokens
            assert "sort:desc" not in template  # the spec example's typo
            kind = template.split("?")[0].split("/")[0]
            assert kind in {
                "Patient",
                "Observation",
                "Condition",
                "MedicationRequest",
                "MedicationStatement",
                "Procedure",
            }
            for code in re.findall(r"http://loinc\.org\|([0-9-]+)", template):
                assert table.emittable("http://loinc.org", code), code  # never query U codes
        assert prefetch["b12"].endswith("&_sort=-date&_count=5")


def test_every_route_needs_a_token(hooks: Hooks) -> None:
    assert hooks.http.get("/cds-services").status_code == 401
    for sid in SERVICE_IDS:
        assert hooks.http.post(f"/cds-services/{sid}", json={}).status_code == 401
        assert hooks.http.post(f"/cds-services/{sid}/feedback", json={}).status_code == 401


def test_a_token_for_another_endpoint_is_refused(hooks: Hooks) -> None:
    wrong = hooks.headers("/cds-services/b12-order-sign")
    assert hooks.http.get("/cds-services", headers=wrong).status_code == 401
    response = hooks.http.post("/cds-services/b12-patient-view", json=patient_view(), headers=wrong)
    assert response.status_code == 401


def test_unknown_service_is_404(hooks: Hooks) -> None:
    for path in ("/cds-services/nope", "/cds-services/nope/feedback"):
        response = hooks.http.post(path, json=order_sign(), headers=hooks.headers(path))
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


def test_discovery_answers_get_only(hooks: Hooks) -> None:
    response = hooks.http.post("/cds-services", headers=hooks.headers("/cds-services"))
    assert response.status_code == 405
