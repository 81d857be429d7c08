"""Fuzzing every CDS endpoint with a valid token: never a 500, never a crash, no leaked secret.

Random JSON bodies, then bodies that keep the CDS Hooks envelope but put random values in the
context, the draft orders and the prefetch.  Every 200 answer must conform.  Separately, the
access token and the JWT must never reach the log, whatever happens.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.cds.hooks_support import (
    ACCESS_TOKEN,
    SERVICE_IDS,
    Hooks,
    b12_result,
    conformance_problems,
    full_prefetch,
    med_request,
    order_select,
    order_sign,
    patient,
    patient_view,
    pernicious_anaemia,
    with_server,
)

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
OK_STATUSES = {200, 404, 412, 413, 422}

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=25,
)
fhir_like = st.fixed_dictionaries(
    {
        "resourceType": st.sampled_from(
            [
                "MedicationRequest",
                "Patient",
                "Observation",
                "Bundle",
                "OperationOutcome",
                "Condition",
            ]
        )
    },
    optional={
        "id": st.text(max_size=6),
        "status": json_values,
        "medicationCodeableConcept": json_values,
        "dosageInstruction": json_values,
        "entry": json_values,
        "birthDate": st.text(max_size=12),
        "code": json_values,
        "valueQuantity": json_values,
    },
)


@pytest.fixture
def hooks(app: FastAPI, http: TestClient, cds_headers: Callable[..., dict[str, str]]) -> Hooks:
    return Hooks.make(app, http, cds_headers)


def check(response: Any) -> None:
    assert response.status_code in OK_STATUSES, response.text
    if response.status_code == 200 and "cards" in response.json():
        assert conformance_problems(response.json()) == []


@FUZZ
@given(service=st.sampled_from(SERVICE_IDS), document=json_values)
def test_random_json_bodies(hooks: Hooks, service: str, document: Any) -> None:
    check(hooks.call(service, document))
    check(hooks.feedback(service, document))


@FUZZ
@given(
    service=st.sampled_from(SERVICE_IDS),
    context=st.dictionaries(
        st.sampled_from(["userId", "patientId", "draftOrders", "selections", "encounterId"]),
        json_values | fhir_like,
    ),
    prefetch=st.dictionaries(
        st.sampled_from(["patient", "b12", "labs", "conditions", "medicationRequests", "x"]),
        json_values | fhir_like,
    ),
    server=st.sampled_from([None, "https://fhir.example.test/r4", "http://127.0.0.1:1", 5]),
)
def test_envelopes_with_random_content(
    hooks: Hooks, service: str, context: dict[str, Any], prefetch: dict[str, Any], server: Any
) -> None:
    hooks.fhir.failing = True
    hook = service.removeprefix("b12-")
    body: dict[str, Any] = {
        "hook": hook,
        "hookInstance": "fuzz",
        "context": context,
        "prefetch": prefetch,
    }
    if server is not None:
        body["fhirServer"] = server
    check(hooks.call(service, body))


@FUZZ
@given(
    orders=st.lists(fhir_like | st.builds(lambda: med_request("hydroxocobalamin")), max_size=4),
    junk=json_values,
)
def test_draft_orders_with_random_resources(hooks: Hooks, orders: list[Any], junk: Any) -> None:
    prefetch = full_prefetch(conditions=(pernicious_anaemia(),))
    body = order_sign(prefetch=prefetch)
    body["context"]["draftOrders"]["entry"] = [{"resource": o} for o in orders] + [junk]
    check(hooks.call("b12-order-sign", body))
    select = copy.deepcopy(body)
    select["hook"] = "order-select"
    select["context"]["selections"] = ["MedicationRequest/mr-1"]
    check(hooks.call("b12-order-select", select))


@FUZZ
@given(
    mutation=st.sampled_from(["dose", "route", "site", "timing", "medication"]),
    value=json_values,
)
def test_one_mangled_field_of_a_b12_order(hooks: Hooks, mutation: str, value: Any) -> None:
    order = med_request("hydroxocobalamin")
    dosage = order["dosageInstruction"][0]
    if mutation == "dose":
        dosage["doseAndRate"] = value
    elif mutation == "medication":
        order["medicationCodeableConcept"] = value
    else:
        dosage[mutation] = value
    body = order_sign(order, prefetch=full_prefetch(conditions=(pernicious_anaemia(),)))
    check(hooks.call("b12-order-sign", body))


def test_tokens_never_reach_the_log(
    hooks: Hooks, caplog: pytest.LogCaptureFixture, sign: Callable[..., str]
) -> None:
    hooks.fhir.resources = [patient(), b12_result(110), pernicious_anaemia()]
    jwts: list[str] = []

    def call(service: str, body: Any) -> Any:
        path = f"/cds-services/{service}"
        token = sign(path=path)
        jwts.append(token)
        return hooks.http.post(path, json=body, headers={"Authorization": f"Bearer {token}"})

    with caplog.at_level(logging.DEBUG):
        order = med_request("hydroxocobalamin", site="dorsogluteal")
        assert call("b12-order-sign", with_server(order_sign(order))).status_code == 200
        assert call("b12-patient-view", with_server(patient_view())).status_code == 200
        hooks.fhir.failing = True
        assert call("b12-order-sign", with_server(order_sign(order))).status_code == 200
        assert (
            call(
                "b12-order-select",
                with_server(order_select(order, selections=["MedicationRequest/mr-1"])),
            ).status_code
            == 200
        )
        assert call("b12-patient-view", with_server(patient_view())).status_code == 412
        bad = with_server(order_sign(order))
        del bad["fhirServer"]
        assert call("b12-order-sign", bad).status_code == 422
        replayed = hooks.http.post(
            "/cds-services/b12-order-sign",
            json=order_sign(order),
            headers={"Authorization": f"Bearer {jwts[0]}"},
        )
        assert replayed.status_code == 401
    logged = "\n".join(
        [r.getMessage() for r in caplog.records] + [repr(r.args) for r in caplog.records]
    )
    assert caplog.records  # the app does log requests
    assert ACCESS_TOKEN not in logged
    for token in jwts:
        assert token not in logged
        assert token.split(".")[2] not in logged
