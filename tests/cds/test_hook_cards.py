"""The hook decision without HTTP: :func:`b12.adapters.cds.hooks.hook_cards` on a request body
and the FHIR data gathered from its prefetch (issue 12, items 10, 12 and 13).

* Markdown injection: nothing the request supplies turns into a link, an image, HTML or an
  autolink in any card (hostile examples and a Hypothesis property, rendered with markdown-it).
* An unreadable B12 order in the same ``draftOrders`` still counts as B12 cover for the folic
  acid order beside it, and gets its own warning that it was not checked.
* Partial prefetch: what can be said from what was given, and a card naming what was missing.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from markdown_it.token import Token

from b12.adapters.cds.cards import response, untrusted
from b12.adapters.cds.hooks import HookCall, Unanswerable, hook_cards
from b12.adapters.cds.prefetch import Gathered, gather_available, prefetch_templates
from b12.adapters.fhir.codes import CodeTable, load_code_table
from b12.core.errors import InputError
from b12.core.knowledge import KnowledgeBase
from b12.core.plan_models import Plan
from b12.core.requests import plan_request
from tests.cds.hooks_support import (
    b12_result,
    full_prefetch,
    med_request,
    order_select,
    order_sign,
    patient,
    patient_view,
    pernicious_anaemia,
    searchset,
)

TODAY = date(2026, 3, 2)
TEMPLATES = prefetch_templates()
MARKDOWN = MarkdownIt("commonmark")
#: Token types that would make request text active: a link, an image or raw HTML.
ACTIVE = {"link_open", "image", "html_inline", "html_block"}


@pytest.fixture(scope="module")
def table() -> CodeTable:
    return load_code_table()


def planner(picture: Mapping[str, Any], kb: KnowledgeBase, today: date) -> Plan | None:
    try:
        return plan_request(dict(picture), kb, default_as_of=today)[1]
    except InputError:
        return None


def gathered(body: Mapping[str, Any]) -> Gathered:
    """What the route would gather: the prefetch only (no fhirServer)."""
    return asyncio.run(gather_available(body, TEMPLATES, None))


def answer(
    body: Mapping[str, Any], kb: KnowledgeBase, table: CodeTable
) -> list[dict[str, Any]] | Unanswerable:
    """The cards as the response carries them (pruned, most urgent first)."""
    found = hook_cards(HookCall.from_request(body), gathered(body), kb, table, TODAY, planner)
    return found if isinstance(found, Unanswerable) else response(found)["cards"]


def cards_of(body: Mapping[str, Any], kb: KnowledgeBase, table: CodeTable) -> list[dict[str, Any]]:
    found = answer(body, kb, table)
    assert not isinstance(found, Unanswerable), found
    return found


def topics(cards: Iterable[Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for c in cards:
        out.setdefault(c["source"]["topic"]["code"], []).append(dict(c))
    return out


def deficient() -> dict[str, Any]:
    return full_prefetch(b12=110, conditions=(pernicious_anaemia(),))


def folic_acid(mid: str = "fa-1") -> dict[str, Any]:
    return med_request("folic_acid", mid=mid, dose=5, route="oral", period=1, period_unit="d")


# -- item 12: an unreadable B12 order is still B12 cover ---------------------------------------


def _b12(**changes: Any) -> dict[str, Any]:
    return med_request("hydroxocobalamin", mid="b12-1", **changes)


def _no_dose_quantity() -> dict[str, Any]:
    res = _b12()
    del res["dosageInstruction"][0]["doseAndRate"]
    return res


def _dose_range() -> dict[str, Any]:
    res = _b12()
    res["dosageInstruction"][0]["doseAndRate"] = [
        {"doseRange": {"low": {"value": 1, "unit": "mg"}, "high": {"value": 2, "unit": "mg"}}}
    ]
    return res


def _contained_medication_no_dose() -> dict[str, Any]:
    """The product only in a contained Medication, and no dose."""
    res = _b12(dose=None)
    concept = res.pop("medicationCodeableConcept")
    res["contained"] = [{"resourceType": "Medication", "id": "med", "code": concept}]
    res["medicationReference"] = {"reference": "#med"}
    return res


def _twice_daily() -> dict[str, Any]:
    return _b12(frequency=2, period=1, period_unit="d")  # read, but no B12 schedule


UNREADABLE_B12 = {
    "dose missing": lambda: _b12(dose=None),
    "no doseAndRate": _no_dose_quantity,
    "dose 0": lambda: _b12(dose=0),
    "dose negative": lambda: _b12(dose=-1),
    "1 g": lambda: _b12(dose=1, unit="g"),
    "unit tablets": lambda: _b12(dose=1, unit="tablets"),
    "period 0": lambda: _b12(period=0),
    "dose range": _dose_range,
    "route unknown": lambda: _b12(route="nose"),
    "unknown schedule": _twice_daily,
    "contained medication, no dose": _contained_medication_no_dose,
    "text only, dose 0": lambda: med_request("Hydroxocobalamin 1mg/1ml", coded=False, dose=0),
}


def test_folic_acid_alone_is_still_critical(kb: KnowledgeBase, table: CodeTable) -> None:
    """The rule the next tests must not trip is live: without any B12 order it fires."""
    found = topics(cards_of(order_sign(folic_acid(), prefetch=deficient()), kb, table))
    assert [c["indicator"] for c in found["FOLATE_ALONE"]] == ["critical"]


@pytest.mark.parametrize("make", UNREADABLE_B12.values(), ids=list(UNREADABLE_B12))
def test_an_unreadable_b12_order_is_cover_and_says_it_was_not_checked(
    kb: KnowledgeBase, table: CodeTable, make: Any
) -> None:
    body = order_sign(make(), folic_acid(), prefetch=deficient())
    cards = cards_of(body, kb, table)
    found = topics(cards)
    assert "FOLATE_ALONE" not in found
    assert all(c["indicator"] != "critical" for c in cards)
    (unchecked,) = found["order-not-checked"]
    assert unchecked["indicator"] == "warning"
    assert unchecked["summary"] == "Order not checked by b12 (Hydroxocobalamin)"
    assert unchecked["overrideReasons"]


@pytest.mark.parametrize("make", UNREADABLE_B12.values(), ids=list(UNREADABLE_B12))
def test_an_unreadable_b12_order_is_cover_when_only_folic_acid_is_selected(
    kb: KnowledgeBase, table: CodeTable, make: Any
) -> None:
    body = order_select(
        make(), folic_acid(), selections=["MedicationRequest/fa-1"], prefetch=deficient()
    )
    assert "FOLATE_ALONE" not in topics(cards_of(body, kb, table))


def test_an_unreadable_folic_acid_order_gives_no_b12_cover(
    kb: KnowledgeBase, table: CodeTable
) -> None:
    broken = med_request("folic_acid", mid="fa-2", dose=None, route="oral")
    body = order_sign(folic_acid(), broken, prefetch=deficient())
    found = topics(cards_of(body, kb, table))
    assert [c["indicator"] for c in found["FOLATE_ALONE"]] == ["critical"]
    assert [c["indicator"] for c in found["order-not-checked"]] == ["warning"]


# -- item 13: partial prefetch -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("order", "code", "indicator"),
    [
        (med_request("hydroxocobalamin", route="intravenous"), "IV_ROUTE", "critical"),
        (med_request("hydroxocobalamin", site="dorsogluteal"), "GLUTEAL_SITE", "warning"),
        (med_request("hydroxocobalamin", dose=100, unit="mg"), "DOSE_UNIT_IMPLAUSIBLE", "critical"),
        (med_request("cyanocobalamin", route="sc"), "ROUTE_NOT_LABELLED", "warning"),
    ],
    ids=["iv", "gluteal", "dose-unit", "sc-route"],
)
@pytest.mark.parametrize(
    "prefetch",
    [
        None,
        {},
        {"patient": None},
        {"patient": {"resourceType": "OperationOutcome", "issue": []}},
        {"patient": patient(birth="not-a-date")},
        {"b12": searchset(b12_result(110))},
    ],
    ids=["none", "empty", "patient-null", "patient-error", "no-birth-date", "labs-only"],
)
def test_order_level_checks_need_only_the_draft_order(
    kb: KnowledgeBase,
    table: CodeTable,
    order: dict[str, Any],
    code: str,
    indicator: str,
    prefetch: dict[str, Any] | None,
) -> None:
    found = topics(cards_of(order_sign(order, prefetch=prefetch), kb, table))
    assert [c["indicator"] for c in found[code]] == [indicator]
    (partial,) = found["partly-checked"]
    assert "no usable Patient" in partial["detail"]
    assert "age, sex and pregnancy" in partial["detail"]


def test_without_the_patient_no_rule_that_needs_the_patient_fires(
    kb: KnowledgeBase, table: CodeTable
) -> None:
    """Folic acid without B12 depends on the B12 status: it is not judged on a guess."""
    found = topics(cards_of(order_sign(folic_acid()), kb, table))
    assert set(found) == {"partly-checked"}


def test_with_the_patient_the_missing_keys_are_named_and_the_rest_is_used(
    kb: KnowledgeBase, table: CodeTable
) -> None:
    prefetch = deficient()
    for key in ("medicationRequests", "procedures"):
        del prefetch[key]
    found = topics(cards_of(order_sign(folic_acid(), prefetch=prefetch), kb, table))
    assert [c["indicator"] for c in found["FOLATE_ALONE"]] == ["critical"]  # B12 status known
    (partial,) = found["partly-checked"]
    assert "no usable Patient" not in partial["detail"]
    assert "current prescriptions" in partial["detail"]
    assert "procedures" in partial["detail"]
    assert "prefetch procedures: not provided" in partial["detail"]
    assert "conditions" not in partial["detail"].split("Not available")[1]


def test_nothing_missing_means_no_partial_card(kb: KnowledgeBase, table: CodeTable) -> None:
    order = med_request("hydroxocobalamin", site="dorsogluteal")
    assert "partly-checked" not in topics(
        cards_of(order_sign(order, prefetch=deficient()), kb, table)
    )


def test_an_order_hook_without_b12_orders_asks_nothing_and_says_nothing(
    kb: KnowledgeBase, table: CodeTable
) -> None:
    other = med_request("amoxicillin 500 mg capsules", coded=False, route="oral")
    assert cards_of(order_sign(other), kb, table) == []


def test_patient_view_without_the_patient_is_unanswerable(
    kb: KnowledgeBase, table: CodeTable
) -> None:
    prefetch = deficient()
    del prefetch["patient"]
    found = answer(patient_view(prefetch), kb, table)
    assert isinstance(found, Unanswerable)
    assert set(found.missing) == {"patient"}


def test_patient_view_with_some_keys_missing_answers_and_names_them(
    kb: KnowledgeBase, table: CodeTable
) -> None:
    prefetch = deficient()
    del prefetch["labs"]
    found = topics(cards_of(patient_view(prefetch), kb, table))
    assert "b12-status" in found
    (partial,) = found["partly-checked"]
    assert "other results" in partial["detail"]


def test_patient_view_with_nothing_relevant_and_data_missing_is_unanswerable(
    kb: KnowledgeBase, table: CodeTable
) -> None:
    prefetch = {"patient": patient()}
    found = answer(patient_view(prefetch), kb, table)
    assert isinstance(found, Unanswerable)
    assert "b12" in found.missing


# -- item 10: Markdown injection ---------------------------------------------------------------


def _text_fields(card: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(name, text) of every human-readable string of a card."""
    out = [("summary", card["summary"]), ("detail", card.get("detail", ""))]
    out.append(("source.label", card["source"]["label"]))
    out.append(("topic.display", card["source"]["topic"].get("display", "")))
    for s in card.get("suggestions", []):
        out.append(("suggestion.label", s["label"]))
        out += [("action.description", a["description"]) for a in s["actions"]]
    out += [("overrideReason", r["display"]) for r in card.get("overrideReasons", [])]
    return out


def _walk(tokens: Iterable[Token]) -> Iterable[Token]:
    for t in tokens:
        yield t
        yield from _walk(t.children or [])


def active_markdown(cards: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every link, image, raw HTML or bare URL outside code in any card's text."""
    found = []
    for card in cards:
        for name, text in _text_fields(card):
            for t in _walk(MARKDOWN.parse(text)):
                if t.type in ACTIVE:
                    found.append(f"{name}: {t.type} in {text[:120]!r}")
                elif t.type == "text" and ("://" in t.content or "www." in t.content):
                    found.append(f"{name}: bare URL {t.content[:120]!r}")
                elif t.type == "autolink":  # pragma: no cover - commonmark names it link_open
                    found.append(f"{name}: autolink")
    return found


HOSTILE = [
    "tablets ![t](https://evil.example/t.png)",
    "[click me](javascript:alert(1))",
    "<img src=x onerror=alert(1)>",
    "<https://evil.example/>",
    "www.evil.example",
    "`` ![t](https://evil.example/t.png) ``",
    "x\n\n# Heading\n\n[a](https://evil.example)",
    "</code>![t](https://evil.example/t.png)",
    "\\`![t](https://evil.example/t.png)",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
]


def injected_bodies(payload: str) -> list[dict[str, Any]]:
    """Order and patient-view requests with ``payload`` in every field the request supplies."""
    unit = med_request("hydroxocobalamin", mid="u1", unit=payload)
    route = med_request("hydroxocobalamin", mid="r1", route=payload)
    site = med_request("hydroxocobalamin", mid="s1", site=payload)
    text = med_request(f"hydroxocobalamin {payload}", mid="t1", coded=False)
    period = med_request("hydroxocobalamin", mid="p1", period_unit=payload)
    bad_id = med_request("hydroxocobalamin", mid=payload, route="intravenous")
    orders = [unit, route, site, text, period, bad_id, folic_acid()]
    person = patient(birth=payload)
    person["gender"] = payload
    result = b12_result(110)
    result["valueQuantity"]["unit"] = payload
    result["valueQuantity"]["code"] = payload
    cond = pernicious_anaemia()
    cond["code"]["text"] = payload
    with_data = deficient()
    with_data["b12"] = searchset(result)
    hostile = copy.deepcopy(with_data)
    hostile["patient"] = person
    hostile["conditions"] = searchset(cond)
    bodies = [
        order_sign(*orders, prefetch=with_data),
        order_sign(*orders, prefetch=hostile),
        order_sign(*orders),
        order_select(*orders, selections=[f"MedicationRequest/{o['id']}" for o in orders]),
        patient_view(with_data),
        patient_view(hostile),
    ]
    for body in bodies:
        body["hookInstance"] = payload or "x"
        body["context"]["userId"] = payload
        body["context"]["patientId"] = payload
    return bodies


def all_cards(payload: str, kb: KnowledgeBase, table: CodeTable) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for body in injected_bodies(payload):
        found = answer(body, kb, table)
        if not isinstance(found, Unanswerable):
            out.extend(found)
    return out


@pytest.mark.parametrize("payload", HOSTILE)
def test_request_text_never_becomes_markdown(
    kb: KnowledgeBase, table: CodeTable, payload: str
) -> None:
    cards = all_cards(payload, kb, table)
    assert any(c["source"]["topic"]["code"] == "order-not-checked" for c in cards)
    assert active_markdown(cards) == []
    # The request text is still shown (as code), so the clinician can see what was sent.
    unchecked = [c["detail"] for c in cards if c["source"]["topic"]["code"] == "order-not-checked"]
    assert any("`" in d for d in unchecked)


def test_the_issue_example_is_shown_as_code_not_as_an_image(
    kb: KnowledgeBase, table: CodeTable
) -> None:
    order = med_request("hydroxocobalamin", unit="tablets ![t](https://evil.example/t.png)")
    (card,) = cards_of(order_sign(order, prefetch=deficient()), kb, table)
    rendered = MARKDOWN.render(card["detail"])
    assert "<img" not in rendered
    assert "<code>" in rendered
    assert "evil.example" in rendered  # shown literally, inside the code span


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(payload=st.text(min_size=1, max_size=80))
def test_no_request_string_produces_markdown_in_any_card(
    kb: KnowledgeBase, table: CodeTable, payload: str
) -> None:
    assert active_markdown(all_cards(payload, kb, table)) == []


@given(text=st.text(max_size=200))
def test_untrusted_is_always_one_inert_code_span(text: str) -> None:
    rendered = MARKDOWN.parseInline(untrusted(text))
    children = [t for t in _walk(rendered) if t.type not in ("inline",)]
    assert [t.type for t in children] == ["code_inline"]
