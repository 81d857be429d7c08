"""The shared CDS Hooks example requests (Inferno CRD test kit; not valid FHIR on purpose).

Both carry a ``fhirServer`` (``https://example/r4``) and a bearer but no prefetch, and their
draft orders are a NutritionOrder and an amoxicillin MedicationRequest (``doseAndRate`` an
object, Bundle without ``type``).  b12 has nothing to check in them, so it answers
``{"cards": []}`` without asking for data.  With a B12 product put in, the data is asked for;
the server is unreachable, so the order is checked on its own and a card says which data was
missing and why (never 412 for an order that can be read, never 500).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from b12.adapters.cds.prefetch import httpx_fetch
from b12.entrypoints.web import cds_hooks
from tests.cds.hooks_support import Hooks, example

SIGN_EXAMPLE = "crd-test-kit-order_sign_hook_request.json"
SELECT_EXAMPLE = "crd-test-kit-order_select_hook_request.json"
SERVICES = {SIGN_EXAMPLE: "b12-order-sign", SELECT_EXAMPLE: "b12-order-select"}


@pytest.fixture
def hooks(app: FastAPI, http: TestClient, cds_headers: Callable[..., dict[str, str]]) -> Hooks:
    return Hooks.make(app, http, cds_headers)


@pytest.fixture
def unreachable(app: FastAPI) -> list[httpx.Request]:
    """The real httpx fetch, on a transport where every host is unreachable (no network)."""
    seen: list[httpx.Request] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        raise httpx.ConnectError("unreachable", request=request)

    cds_hooks.configure(app, fetch=httpx_fetch(httpx.MockTransport(refuse)))
    return seen


def with_b12(body: dict[str, Any]) -> dict[str, Any]:
    """The example with its MedicationRequest turned into hydroxocobalamin 1 mg IM."""
    changed = copy.deepcopy(body)
    for entry in changed["context"]["draftOrders"]["entry"]:
        res = entry["resource"]
        if res["resourceType"] == "MedicationRequest":
            res["medicationCodeableConcept"] = {"text": "Hydroxocobalamin 1mg/1ml injection"}
            dosage = res["dosageInstruction"][0]
            dosage["doseAndRate"] = {"doseQuantity": {"value": 1, "unit": "mg"}}
            dosage["route"] = {"text": "intramuscular"}
    return changed


@pytest.mark.parametrize("name", [SIGN_EXAMPLE, SELECT_EXAMPLE])
def test_the_examples_are_answered_with_no_cards(hooks: Hooks, name: str) -> None:
    assert hooks.cards(SERVICES[name], example(name)) == []
    assert hooks.fhir.calls == []  # nothing to check: no data asked for


@pytest.mark.parametrize("name", [SIGN_EXAMPLE, SELECT_EXAMPLE])
def test_with_a_b12_order_the_unreachable_server_gives_order_level_cards(
    hooks: Hooks, unreachable: list[httpx.Request], name: str
) -> None:
    body = with_b12(example(name))
    for entry in body["context"]["draftOrders"]["entry"]:
        if entry["resource"]["resourceType"] == "MedicationRequest":
            dosage = entry["resource"]["dosageInstruction"][0]
            dosage["route"] = {"text": "intravenous"}
            dosage["timing"] = {"repeat": {"frequency": 1, "period": 3, "periodUnit": "mo"}}
    response = hooks.call(SERVICES[name], body)
    assert response.status_code == 200, response.text
    cards = response.json()["cards"]
    topics = {c["source"]["topic"]["code"]: c for c in cards}
    assert topics["IV_ROUTE"]["indicator"] == "critical"  # needs the order alone
    partial = topics["partly-checked"]
    assert "no usable Patient" in partial["detail"]
    assert "ConnectError" in partial["detail"]  # why: the fhirServer did not answer
    assert "SAMPLE_TOKEN" not in response.text
    # the bearer went to the example's own fhirServer only
    assert unreachable
    assert {r.url.host for r in unreachable} == {"example"}
    assert {r.headers["authorization"] for r in unreachable} == {"Bearer SAMPLE_TOKEN"}


def test_the_examples_validation_gaps_do_not_matter(hooks: Hooks) -> None:
    body = example(SIGN_EXAMPLE)
    assert "type" not in body["context"]["draftOrders"]  # not valid FHIR
    nutrition_only = copy.deepcopy(body)
    entries = nutrition_only["context"]["draftOrders"]["entry"]
    nutrition_only["context"]["draftOrders"]["entry"] = entries[:1]
    assert hooks.cards("b12-order-sign", nutrition_only) == []
    broken = copy.deepcopy(body)
    broken["context"]["draftOrders"]["entry"] = [{"resource": "junk"}, 3, {}, None]
    assert hooks.cards("b12-order-sign", broken) == []


def test_the_example_with_prefetch_gives_cards(hooks: Hooks) -> None:
    from tests.cds.hooks_support import full_prefetch, pernicious_anaemia

    body = with_b12(example(SIGN_EXAMPLE))
    for entry in body["context"]["draftOrders"]["entry"]:
        if entry["resource"]["resourceType"] == "MedicationRequest":
            dosage = entry["resource"]["dosageInstruction"][0]
            dosage["route"] = {"text": "intravenous"}
            dosage["timing"] = {"repeat": {"frequency": 1, "period": 3, "periodUnit": "mo"}}
    body["prefetch"] = full_prefetch(conditions=(pernicious_anaemia(),))
    cards = hooks.cards("b12-order-sign", body)
    assert "IV_ROUTE" in {c["source"]["topic"]["code"] for c in cards}


def test_an_unknown_schedule_is_reported_as_not_checked(hooks: Hooks) -> None:
    from tests.cds.hooks_support import full_prefetch

    body = with_b12(example(SIGN_EXAMPLE))  # "5 mL bid": twice a day is no B12 schedule
    body["prefetch"] = full_prefetch()
    (card,) = hooks.cards("b12-order-sign", body)
    assert card["indicator"] == "warning"
    assert card["source"]["topic"]["code"] == "order-not-checked"
    assert "schedule" in card["detail"]
