"""CDS Hooks 2.0 invariants ported from the specification (interop.md §1, §2).

Requests: ``cds-r-1`` (fhirAuthorization needs fhirServer), ``cds-r-2`` (a warning only: the
call still succeeds), the required members of each hook.  Responses: the card rules
(:func:`tests.cds.hooks_support.conformance_problems`, including ``cds-resp-1..7`` and the
Inferno CRD card checks) over many scenarios, and no ``null`` or empty value anywhere but the
top-level ``cards: []``.  Feedback: ``cds-fb-1..3`` and storage.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from b12.adapters.cds.cards import MAX_SUMMARY, empty_paths, prune, summary
from b12.entrypoints.web.services import Services
from tests.cds.hooks_support import (
    Hooks,
    card_problems,
    conformance_problems,
    example,
    full_prefetch,
    med_request,
    order_select,
    order_sign,
    patient_view,
    pernicious_anaemia,
    with_server,
)

SIGN = "b12-order-sign"
SELECT = "b12-order-select"
VIEW = "b12-patient-view"


@pytest.fixture
def hooks(app: FastAPI, http: TestClient, cds_headers: Callable[..., dict[str, str]]) -> Hooks:
    return Hooks.make(app, http, cds_headers)


def deficient() -> dict[str, Any]:
    return full_prefetch(b12=110, conditions=(pernicious_anaemia(),))


def fields(response: Any) -> set[str]:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert error["message"]
    return {f["field"] for f in error["fields"]}


# -- requests ----------------------------------------------------------------------------------


def test_cds_r_1_fhir_authorization_requires_fhir_server(hooks: Hooks) -> None:
    body = with_server(order_sign(med_request("hydroxocobalamin"), prefetch=deficient()))
    del body["fhirServer"]
    assert "fhirServer" in fields(hooks.call(SIGN, body))


def test_cds_r_2_patient_scopes_without_patient_still_answer(hooks: Hooks) -> None:
    body = with_server(order_sign(med_request("hydroxocobalamin"), prefetch=deficient()))
    del body["fhirAuthorization"]["patient"]  # SHOULD be present: a warning, not an error
    assert hooks.call(SIGN, body).status_code == 200


@pytest.mark.parametrize(
    ("service", "change", "field"),
    [
        (SIGN, lambda b: b.update(hook="order-select"), "hook"),
        (SIGN, lambda b: b.pop("hook"), "hook"),
        (SIGN, lambda b: b.pop("hookInstance"), "hookInstance"),
        (SIGN, lambda b: b.update(hookInstance=""), "hookInstance"),
        (SIGN, lambda b: b.pop("context"), "context"),
        (SIGN, lambda b: b.update(context=[]), "context"),
        (SIGN, lambda b: b["context"].pop("patientId"), "context.patientId"),
        (SIGN, lambda b: b["context"].pop("userId"), "context.userId"),
        (SIGN, lambda b: b["context"].pop("draftOrders"), "context.draftOrders"),
        (SIGN, lambda b: b["context"].update(draftOrders=[]), "context.draftOrders"),
        (SIGN, lambda b: b.update(prefetch=[]), "prefetch"),
        (SIGN, lambda b: b.update(fhirAuthorization="token"), "fhirAuthorization"),
        (
            SIGN,
            lambda b: b.update(fhirAuthorization={}, fhirServer="https://x.test"),
            "fhirAuthorization.access_token",
        ),
        (SELECT, lambda b: b["context"].pop("selections"), "context.selections"),
        (SELECT, lambda b: b["context"].update(selections=[]), "context.selections"),
        (SELECT, lambda b: b["context"].update(selections=[7]), "context.selections"),
        (VIEW, lambda b: b.update(hook="order-sign"), "hook"),
        (VIEW, lambda b: b["context"].update(patientId=None), "context.patientId"),
    ],
)
def test_unusable_requests_are_422_naming_the_field(
    hooks: Hooks, service: str, change: Callable[[dict[str, Any]], Any], field: str
) -> None:
    bodies = {
        SIGN: order_sign(med_request("hydroxocobalamin"), prefetch=deficient()),
        SELECT: order_select(
            med_request("hydroxocobalamin"), selections=["MedicationRequest/mr-1"]
        ),
        VIEW: patient_view(deficient()),
    }
    body = copy.deepcopy(bodies[service])
    change(body)
    assert field in fields(hooks.call(service, body))


@pytest.mark.parametrize("raw", [b"", b"not json", b"[1, 2]", b'"text"', b"null", b'{"a":1,"a":2}'])
def test_bodies_that_are_not_json_objects_are_422(hooks: Hooks, raw: bytes) -> None:
    for service in (SIGN, VIEW):
        assert hooks.call(service, raw).status_code == 422


def test_unknown_members_and_extensions_are_ignored(hooks: Hooks) -> None:
    body = order_sign(med_request("hydroxocobalamin", site="dorsogluteal"), prefetch=deficient())
    body["extension"] = {"com.example.flag": True}
    body["context"]["encounterId"] = "enc-1"
    body["somethingNew"] = {"in": "3.0"}
    assert hooks.cards(SIGN, body)


# -- responses ---------------------------------------------------------------------------------


def scenarios() -> list[tuple[str, dict[str, Any]]]:
    b12 = med_request("hydroxocobalamin", mid="b", frequency=3, period=1, period_unit="wk")
    folate = med_request(
        "folic_acid", mid="f", dose=5, unit="mg", route="oral", period=1, period_unit="d"
    )
    return [
        (
            SIGN,
            order_sign(med_request("hydroxocobalamin", site="dorsogluteal"), prefetch=deficient()),
        ),
        (
            SIGN,
            order_sign(med_request("hydroxocobalamin", route="intravenous"), prefetch=deficient()),
        ),
        (SIGN, order_sign(folate, prefetch=deficient())),
        (SIGN, order_sign(folate, b12, prefetch=deficient())),
        (
            SIGN,
            order_sign(
                med_request(
                    "cyanocobalamin", route="oral", dose=50, unit="ug", period=1, period_unit="d"
                ),
                prefetch=deficient(),
            ),
        ),
        (
            SIGN,
            order_sign(
                med_request("methylcobalamin tablets", coded=False, route="oral"),
                prefetch=deficient(),
            ),
        ),
        (SIGN, order_sign(med_request("hydroxocobalamin", dose=None), prefetch=deficient())),
        (SIGN, order_sign(med_request("amoxicillin", coded=False))),
        (
            SELECT,
            order_select(b12, folate, selections=["MedicationRequest/f"], prefetch=deficient()),
        ),
        (VIEW, patient_view(deficient())),
        (VIEW, patient_view(full_prefetch(b12=None))),
        (VIEW, patient_view(full_prefetch(b12=900))),
        (SIGN, example("crd-test-kit-order_sign_hook_request.json")),
        (SELECT, example("crd-test-kit-order_select_hook_request.json")),
    ]


def test_every_response_conforms(hooks: Hooks) -> None:
    seen_suggestions = seen_cards = 0
    for service, body in scenarios():
        response = hooks.call(service, body)
        assert response.status_code == 200, (service, response.text)
        document = response.json()
        assert conformance_problems(document) == [], (service, document)
        assert set(document) == {"cards"}
        seen_cards += len(document["cards"])
        seen_suggestions += sum("suggestions" in c for c in document["cards"])
    assert seen_cards >= 10
    assert seen_suggestions >= 1


def test_an_empty_answer_is_exactly_cards_empty(hooks: Hooks) -> None:
    response = hooks.call(SIGN, order_sign(med_request("amoxicillin", coded=False)))
    assert response.json() == {"cards": []}


def test_the_inferno_valid_cards_pass_the_checker() -> None:
    cards = example("crd-test-kit-valid_cards.json")
    for i, card in enumerate(cards):
        assert card_problems(f"cards[{i}]", card) == [], card


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        (lambda c: c.update(summary="x" * 140), "140"),
        (lambda c: c.update(indicator="hard-stop"), "indicator"),
        (lambda c: c["source"].pop("label"), "source.label"),
        (lambda c: c["source"].update(topic={"code": "x"}), "topic"),
        (lambda c: c.update(suggestions=[{"label": "a"}]), "cds-resp-6"),
        (
            lambda c: c.update(
                suggestions=[
                    {"label": "a", "isRecommended": True},
                    {"label": "b", "isRecommended": True},
                ],
                selectionBehavior="at-most-one",
            ),
            "cds-resp-1",
        ),
        (lambda c: c.update(overrideReasons=[{"system": "s", "code": "c"}]), "cds-resp-4"),
        (
            lambda c: c.update(
                links=[
                    {"label": "l", "url": "https://x.test", "type": "absolute", "appContext": "{}"}
                ]
            ),
            "cds-resp-3",
        ),
        (
            lambda c: c.update(
                suggestions=[{"label": "a", "actions": [{"type": "update"}]}],
                selectionBehavior="any",
            ),
            "cds-resp-5",
        ),
        (
            lambda c: c.update(
                suggestions=[
                    {
                        "label": "a",
                        "actions": [
                            {
                                "type": "update",
                                "description": "d",
                                "resource": {"resourceType": "X"},
                            }
                        ],
                    }
                ],
                selectionBehavior="any",
            ),
            "id",
        ),
    ],
)
def test_the_checker_catches_broken_cards(
    change: Callable[[dict[str, Any]], Any], rule: str
) -> None:
    card: dict[str, Any] = copy.deepcopy(example("crd-test-kit-valid_cards.json")[0])
    change(card)
    problems = card_problems("card", card)
    assert any(rule in p for p in problems), problems


def test_empty_values_anywhere_are_found() -> None:
    assert empty_paths({"cards": []}) == []
    assert empty_paths({"cards": [{"a": None, "b": "", "c": [], "d": {}, "e": " "}]}) == [
        "$.cards[0].a",
        "$.cards[0].b",
        "$.cards[0].c",
        "$.cards[0].d",
        "$.cards[0].e",
    ]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_prune_leaves_no_empty_value(value: Any) -> None:
    pruned = prune(value)
    if isinstance(pruned, dict | list):
        assert empty_paths(pruned, allow=("$",)) == []
    assert prune(pruned) == pruned


@given(st.text(min_size=0, max_size=400))
def test_summaries_are_short_and_cut_at_words(text: str) -> None:
    line = summary(text)
    assert len(line) <= MAX_SUMMARY < 140
    words = " ".join(text.split())
    if len(words) <= MAX_SUMMARY:
        assert line == words
    else:
        assert line.endswith("…")
        assert words.startswith(line[:-1].rstrip())


def test_summary_cuts_at_a_word_boundary() -> None:
    text = "Folic acid without B12 " + "word " * 40
    line = summary(text)
    assert line.endswith("word…")
    assert len(line) < 140


# -- feedback ----------------------------------------------------------------------------------


def _a_card_with_suggestion(hooks: Hooks) -> dict[str, Any]:
    body = order_sign(med_request("hydroxocobalamin", route="intravenous"), prefetch=deficient())
    return next(c for c in hooks.cards(SIGN, body) if "suggestions" in c)


def test_feedback_accepted_and_overridden_are_stored(hooks: Hooks, services: Services) -> None:
    card = _a_card_with_suggestion(hooks)
    reason = card["overrideReasons"][0]
    body = {
        "feedback": [
            {
                "card": card["uuid"],
                "outcome": "accepted",
                "acceptedSuggestions": [{"id": card["suggestions"][0]["uuid"]}],
                "outcomeTimestamp": "2026-03-02T09:05:00Z",
            },
            {
                "card": card["uuid"],
                "outcome": "overridden",
                "overrideReason": {"reason": reason, "userComment": "seen in clinic"},
                "outcomeTimestamp": "2026-03-02T09:06:00Z",
            },
            {
                "card": card["uuid"],
                "outcome": "overridden",
                "outcomeTimestamp": "2026-03-02T09:07:00+01:00",
            },
        ]
    }
    response = hooks.feedback(SIGN, body)
    assert response.status_code == 200, response.text
    assert response.json() == {"received": 3}
    stored = services.cds_store.feedback(SIGN)
    assert [s["outcome"] for s in stored] == ["overridden", "overridden", "accepted"]
    assert stored[1]["overrideReason"]["reason"]["code"] == reason["code"]
    assert stored[2]["acceptedSuggestions"] == [{"id": card["suggestions"][0]["uuid"]}]


@pytest.mark.parametrize(
    ("item", "rule_field"),
    [
        ({"outcome": "ignored"}, "feedback.0.outcome"),  # cds-fb-1
        ({"outcome": "accepted"}, "feedback.0.acceptedSuggestions"),  # cds-fb-2
        ({"outcome": "overridden", "overrideReason": {}}, "feedback.0.overrideReason"),  # fb-3
        ({"outcome": "overridden", "outcomeTimestamp": "yesterday"}, "feedback.0.outcomeTimestamp"),
        ({"outcome": "overridden", "card": ""}, "feedback.0.card"),
    ],
)
def test_feedback_invariants(hooks: Hooks, item: dict[str, Any], rule_field: str) -> None:
    base = {"card": "c-1", "outcomeTimestamp": "2026-03-02T09:05:00Z"}
    response = hooks.feedback(SIGN, {"feedback": [{**base, **item}]})
    assert rule_field in fields(response)


@pytest.mark.parametrize("body", [{}, {"feedback": []}, {"feedback": {}}, [], {"other": 1}])
def test_unusable_feedback_bodies_are_422(hooks: Hooks, body: Any) -> None:
    assert hooks.feedback(SIGN, body).status_code == 422
