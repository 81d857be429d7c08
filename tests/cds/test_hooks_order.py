"""CDS Hooks ``order-sign`` / ``order-select``: the order check on draft MedicationRequests.

Real app, JWTs signed by the test keys (``tests/cds/conftest.py``), FHIR data prefetched or
served by the injected fake FHIR server.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from fhir.resources.R4B.medicationrequest import MedicationRequest

from b12.adapters.cds.cards import ALERT_SYSTEM, OVERRIDE_SYSTEM
from b12.adapters.cds.hooks import matches_regimen
from b12.adapters.fhir.codes import load_code_table
from b12.core.plan_models import Plan
from tests.cds.hooks_support import (
    ACCESS_TOKEN,
    FHIR_SERVER,
    PATIENT_ID,
    Hooks,
    b12_result,
    full_prefetch,
    med_request,
    order_select,
    order_sign,
    patient,
    pernicious_anaemia,
    with_server,
)

SIGN = "b12-order-sign"
SELECT = "b12-order-select"


@pytest.fixture
def hooks(app: FastAPI, http: TestClient, cds_headers: Callable[..., dict[str, str]]) -> Hooks:
    return Hooks.make(app, http, cds_headers)


def codes(cards: list[dict[str, Any]]) -> dict[str, str]:
    """Alert code → indicator."""
    return {c["source"]["topic"]["code"]: c["indicator"] for c in cards}


def deficient() -> dict[str, Any]:
    return full_prefetch(b12=110, conditions=(pernicious_anaemia(),))


def test_dorsogluteal_hydroxocobalamin_gets_a_gluteal_site_warning(hooks: Hooks) -> None:
    order = med_request("hydroxocobalamin", site="dorsogluteal", period=3, period_unit="mo")
    cards = hooks.cards(SIGN, order_sign(order, prefetch=deficient()))
    assert codes(cards)["GLUTEAL_SITE"] == "warning"
    card = next(c for c in cards if c["source"]["topic"]["code"] == "GLUTEAL_SITE")
    assert card["source"]["topic"]["system"] == ALERT_SYSTEM
    assert card["source"]["topic"]["display"] == "Dorsogluteal injection site"
    assert "sciatic" in card["detail"]  # the knowledge base's clinician text
    assert "References:" in card["detail"]
    assert all(r["system"] == OVERRIDE_SYSTEM and r["display"] for r in card["overrideReasons"])
    assert "Hydroxocobalamin" in card["summary"]


def test_folic_acid_alone_with_b12_deficiency_is_flagged(hooks: Hooks) -> None:
    folate = med_request("folic_acid", dose=5, unit="mg", route="oral", period=1, period_unit="d")
    cards = hooks.cards(SIGN, order_sign(folate, prefetch=deficient()))
    assert codes(cards)["FOLATE_ALONE"] in ("critical", "warning")
    assert codes(cards)["FOLATE_ALONE"] == "critical"  # B12-SAFE-053: a stop


def test_folic_acid_with_unknown_b12_and_nothing_pointing_to_deficiency_is_not_flagged(
    hooks: Hooks,
) -> None:
    """Issue 11 §3: routine folic acid (for example antenatal) with an unknown B12 is standard
    care; FOLATE_ALONE is for folate deficiency or macrocytosis without B12 cover (B12-SAFE-054,
    and vignettes V-255/V-256)."""
    folate = med_request("folic_acid", dose=5, unit="mg", route="oral", period=1, period_unit="d")
    cards = hooks.cards(SIGN, order_sign(folate, prefetch=full_prefetch(b12=None)))
    assert "FOLATE_ALONE" not in codes(cards)


def test_folic_acid_ordered_with_b12_is_not_alone(hooks: Hooks) -> None:
    folate = med_request(
        "folic_acid", mid="mr-f", dose=5, unit="mg", route="oral", period=1, period_unit="d"
    )
    b12 = med_request("hydroxocobalamin", mid="mr-b", frequency=3, period=1, period_unit="wk")
    cards = hooks.cards(SIGN, order_sign(folate, b12, prefetch=deficient()))
    assert "FOLATE_ALONE" not in codes(cards)


def test_intravenous_order_is_a_stop_with_the_guideline_regimen_suggested(hooks: Hooks) -> None:
    order = med_request("hydroxocobalamin", mid="draft-77", route="intravenous")
    cards = hooks.cards(SIGN, order_sign(order, prefetch=deficient()))
    assert codes(cards)["IV_ROUTE"] == "critical"
    with_suggestions = [c for c in cards if "suggestions" in c]
    assert len(with_suggestions) == 1
    card = with_suggestions[0]
    assert card["selectionBehavior"] == "at-most-one"
    (suggestion,) = card["suggestions"]
    assert suggestion["isRecommended"] is True
    assert suggestion["label"].startswith("Use the guideline regimen: ")
    assert suggestion["uuid"]
    (action,) = suggestion["actions"]
    assert action["type"] == "update"
    resource = action["resource"]
    assert resource["resourceType"] == "MedicationRequest"
    assert resource["id"] == "draft-77"
    assert resource["status"] == "draft"
    assert resource["subject"] == {"reference": f"Patient/{PATIENT_ID}"}
    MedicationRequest.model_validate(resource)  # valid FHIR (R4B is wire-compatible with R4)
    assert all(d.get("text") for d in resource["dosageInstruction"])


def test_suggested_resource_emits_no_unverified_code(hooks: Hooks) -> None:
    order = med_request("hydroxocobalamin", route="intravenous")
    cards = hooks.cards(SIGN, order_sign(order, prefetch=deficient()))
    resource = next(c for c in cards if "suggestions" in c)["suggestions"][0]["actions"][0][
        "resource"
    ]
    table = load_code_table()
    codings: list[dict[str, Any]] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if "system" in value and "code" in value:
                codings.append(value)
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(resource)
    external = [c for c in codings if "b12.example" not in c["system"]]
    assert external, "the suggestion should carry coded drug and route"
    assert all(table.emittable(c["system"], c["code"]) for c in external), external


def test_an_order_matching_the_regimen_gets_no_suggestion(hooks: Hooks) -> None:
    loading = med_request("hydroxocobalamin", frequency=3, period=1, period_unit="wk")
    cards = hooks.cards(SIGN, order_sign(loading, prefetch=deficient()))
    assert all("suggestions" not in c for c in cards)


def test_a_deviating_order_without_alerts_gets_an_info_card_with_the_regimen(
    hooks: Hooks,
) -> None:
    odd = med_request("hydroxocobalamin", dose=0.5, frequency=1, period=1, period_unit="wk")
    cards = hooks.cards(SIGN, order_sign(odd, prefetch=deficient()))
    assert any("suggestions" in c for c in cards)


def test_order_select_answers_for_the_selected_orders_only(hooks: Hooks) -> None:
    gluteal = med_request("hydroxocobalamin", mid="a", site="dorsogluteal")
    iv = med_request("hydroxocobalamin", mid="b", route="intravenous")
    body = order_select(gluteal, iv, selections=["MedicationRequest/b"], prefetch=deficient())
    found = codes(hooks.cards(SELECT, body))
    assert "IV_ROUTE" in found
    assert "GLUTEAL_SITE" not in found
    sign = codes(hooks.cards(SIGN, order_sign(gluteal, iv, prefetch=deficient())))
    assert {"IV_ROUTE", "GLUTEAL_SITE"} <= set(sign)


def test_orders_without_b12_or_folate_need_no_data(hooks: Hooks) -> None:
    other = med_request("amoxicillin 500 mg capsules", coded=False, route="oral")
    assert hooks.cards(SIGN, order_sign(other)) == []  # no prefetch, no server: still 200
    assert hooks.fhir.calls == []


def test_missing_data_without_a_server_checks_the_order_alone_and_says_why(hooks: Hooks) -> None:
    order = med_request("hydroxocobalamin", route="intravenous")
    response = hooks.call(SIGN, order_sign(order))
    assert response.status_code == 200, response.text
    cards = response.json()["cards"]
    assert codes(cards)["IV_ROUTE"] == "critical"
    partial = next(c for c in cards if c["source"]["topic"]["code"] == "partly-checked")
    assert partial["indicator"] == "info"
    assert "no usable Patient" in partial["detail"]
    assert "not provided" in partial["detail"]
    assert "no usable fhirServer" in partial["detail"]


def test_missing_prefetch_is_fetched_from_the_fhir_server_with_the_bearer(hooks: Hooks) -> None:
    hooks.fhir.resources = [patient(), b12_result(110), pernicious_anaemia()]
    order = med_request("hydroxocobalamin", site="dorsogluteal")
    cards = hooks.cards(SIGN, with_server(order_sign(order)))
    assert "GLUTEAL_SITE" in codes(cards)
    assert hooks.fhir.calls
    assert all(url.startswith(FHIR_SERVER + "/") for url, _ in hooks.fhir.calls)
    assert all(token == ACCESS_TOKEN for _, token in hooks.fhir.calls)
    assert any(url == f"{FHIR_SERVER}/Patient/{PATIENT_ID}" for url, _ in hooks.fhir.calls)


def test_only_the_keys_not_prefetched_are_fetched(hooks: Hooks) -> None:
    hooks.fhir.resources = [pernicious_anaemia()]
    prefetch = deficient()
    del prefetch["conditions"]
    order = med_request("hydroxocobalamin", site="dorsogluteal")
    hooks.cards(SIGN, with_server(order_sign(order, prefetch=prefetch)))
    assert [url.split("?")[0] for url, _ in hooks.fhir.calls] == [f"{FHIR_SERVER}/Condition"]


def test_an_unreachable_fhir_server_still_checks_the_order(hooks: Hooks) -> None:
    hooks.fhir.failing = True
    order = med_request("hydroxocobalamin", site="dorsogluteal")
    response = hooks.call(SIGN, with_server(order_sign(order)))
    assert response.status_code == 200
    assert ACCESS_TOKEN not in response.text
    found = codes(response.json()["cards"])
    assert found["GLUTEAL_SITE"] == "warning"
    assert found["partly-checked"] == "info"


def test_an_operation_outcome_in_prefetch_is_named_on_the_partial_card(hooks: Hooks) -> None:
    prefetch = deficient()
    prefetch["conditions"] = {"resourceType": "OperationOutcome", "issue": []}
    response = hooks.call(SIGN, order_sign(med_request("hydroxocobalamin"), prefetch=prefetch))
    assert response.status_code == 200
    cards = response.json()["cards"]
    partial = next(c for c in cards if c["source"]["topic"]["code"] == "partly-checked")
    assert "conditions" in partial["detail"]
    assert "OperationOutcome" in partial["detail"]
    assert "no usable Patient" not in partial["detail"]  # the patient was given: full check


def test_an_order_sign_that_cannot_be_checked_says_so(hooks: Hooks) -> None:
    no_dose = med_request("hydroxocobalamin", dose=None)
    cards = hooks.cards(SIGN, order_sign(no_dose, prefetch=deficient()))
    assert [c["indicator"] for c in cards] == ["warning"]
    assert "dose" in cards[0]["detail"]
    select = order_select(no_dose, selections=["MedicationRequest/mr-1"], prefetch=deficient())
    assert hooks.cards(SELECT, select) == []  # details may be missing while selecting


def test_card_uuids_are_stable_for_one_hook_instance(hooks: Hooks) -> None:
    body = order_sign(med_request("hydroxocobalamin", route="intravenous"), prefetch=deficient())
    first = hooks.cards(SIGN, body)
    again = hooks.cards(SIGN, body)
    assert [c["uuid"] for c in first] == [c["uuid"] for c in again]
    other = hooks.cards(SIGN, {**body, "hookInstance": "another-instance"})
    assert {c["uuid"] for c in first}.isdisjoint(c["uuid"] for c in other)


def test_summaries_stay_under_140_characters(hooks: Hooks) -> None:
    long_name = "hydroxocobalamin " + "x" * 150
    order = med_request(long_name, coded=False, site="dorsogluteal")
    cards = hooks.cards(SIGN, order_sign(order, prefetch=deficient()))
    assert cards
    assert all(len(c["summary"]) < 140 for c in cards)


# -- the regimen comparison -------------------------------------------------------------------


@pytest.fixture
def uk_im_plan(app: FastAPI) -> Plan:
    from b12.core.requests import plan_request

    kb = app.state.services.kb()
    picture = {
        "age": 67,
        "cause": "autoimmune_gastritis",
        "deficiency": "confirmed",
        "as_of": "2026-03-02",
    }
    return plan_request(picture, kb)[1]


@pytest.mark.parametrize(
    ("order", "matches"),
    [
        (
            {
                "drug": "hydroxocobalamin",
                "dose": {"value": 1, "unit": "mg"},
                "route": "im",
                "frequency": "three_times_weekly",
            },
            True,
        ),
        (
            {
                "drug": "hydroxocobalamin",
                "dose": {"value": 1000, "unit": "mcg"},
                "route": "im",
                "every_days": 90,
            },
            True,
        ),
        (
            {
                "drug": "hydroxocobalamin",
                "dose": {"value": 1, "unit": "mg"},
                "route": "iv",
                "every_days": 90,
            },
            False,
        ),
        (
            {
                "drug": "hydroxocobalamin",
                "dose": {"value": 5, "unit": "mg"},
                "route": "im",
                "every_days": 90,
            },
            False,
        ),
        (
            {
                "drug": "cyanocobalamin",
                "dose": {"value": 1, "unit": "mg"},
                "route": "im",
                "every_days": 90,
            },
            False,
        ),
        (
            {
                "drug": "hydroxocobalamin",
                "dose": {"value": 1, "unit": "mg"},
                "route": "im",
                "every_days": 365,
            },
            False,
        ),
    ],
)
def test_matches_regimen(
    app: FastAPI, uk_im_plan: Plan, order: dict[str, Any], matches: bool
) -> None:
    assert uk_im_plan.regimen is not None
    assert matches_regimen(order, uk_im_plan, app.state.services.kb()) is matches
