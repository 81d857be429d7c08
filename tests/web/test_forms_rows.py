"""Doses given and events as structured rows (issue 15), the plan form's causes and operation
date, the order check's events, and optional groups behind disclosures."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

import pytest

from b12.adapters.knowledge_files import load_knowledge_base
from b12.entrypoints.web import forms
from tests.web.conftest import SignedIn
from tests.web.html_forms import controls

Client = Callable[[str], SignedIn]
PICTURE = {"age": "68", "cause": "autoimmune_gastritis", "deficiency": "confirmed"}
ORDER = {
    "order.drug": "hydroxocobalamin",
    "order.dose.value": "1",
    "order.dose.unit": "mg",
    "order.route": "im",
}


def dose(n: int, day: str, **more: str) -> dict[str, str]:
    row = {"date": day, "drug": "hydroxocobalamin", "dose.value": "1", "route": "im", **more}
    return {f"history.{n}.{k}": v for k, v in row.items()}


def row_legends(page: str, word: str) -> list[str]:
    without_templates = re.sub(r"<template\b.*?</template>", "", page, flags=re.S)
    return re.findall(rf"<legend>({word} [0-9]+)</legend>", without_templates)


def options(page: str, element_id: str) -> list[tuple[str, str]]:
    found = re.search(rf'<select id="{re.escape(element_id)}".*?</select>', page, flags=re.S)
    assert found, element_id
    return [
        (value, html.unescape(text.strip()))
        for value, text in re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', found[0])
    ]


def next_due(page: str) -> str:
    found = re.search(r'<dd id="next-due">(.*?)</dd>', page, re.S)
    assert found, "no next-due on the page"
    return found.group(1)


# -- rows -----------------------------------------------------------------------------------------


def test_the_follow_up_form_draws_empty_dose_rows_with_labelled_lists(client: Client) -> None:
    page = client("nurse").get("/next").text
    assert row_legends(page, "Dose") == ["Dose 1", "Dose 2", "Dose 3"]
    for label in ("Date given", "Product", "Dose", "Unit", "Route", "Site"):
        assert re.search(rf'<label for="f-history-0-[a-z.-]+">{label}</label>', page), label
    assert 'id="f-history-0-date" name="history.0.date" type="date"' in page
    kb = load_knowledge_base()
    products = options(page, "f-history-0-drug")
    assert products[1:] == [(k, t.label) for k, t in kb.vocabulary.products.items()]
    routes = dict(options(page, "f-history-0-route"))
    assert routes["im"] == "Intramuscular (IM)"
    kinds = options(page, "f-events-0-kind")
    assert (
        "symptoms_returned_before_due",
        kb.vocabulary.events["symptoms_returned_before_due"].label,
    ) in kinds


def test_add_another_dose_works_without_javascript_and_computes_nothing(client: Client) -> None:
    http = client("nurse")
    typed = {**PICTURE, **dose(0, "2026-02-20"), "rows.history": "3"}
    page = http.form("/next", {**typed, "add": "history"}, follow_redirects=True)
    assert page.status_code == 200
    assert row_legends(page.text, "Dose") == ["Dose 1", "Dose 2", "Dose 3", "Dose 4"]
    assert 'id="next-due"' not in page.text  # nothing was assessed
    assert 'name="history.0.date" type="date" value="2026-02-20"' in page.text
    assert 'name="rows.history" value="4"' in page.text
    again = http.form(
        "/next", {**typed, "rows.history": "4", "add": "history"}, follow_redirects=True
    )
    assert row_legends(again.text, "Dose")[-1] == "Dose 5"


def test_add_another_event_opens_the_events_group(client: Client) -> None:
    page = client("nurse").form(
        "/next", {**PICTURE, "rows.events": "1", "add": "events"}, follow_redirects=True
    )
    assert row_legends(page.text, "Event") == ["Event 1", "Event 2"]
    assert re.search(r'<details class="group events" open>', page.text)


def test_the_default_button_of_a_form_with_rows_submits_it(client: Client) -> None:
    """Enter in a field presses the first submit button: it must assess, not add a row."""
    for url in ("/next", "/check"):
        page = client("nurse").get(url).text
        buttons = [c for c in controls(page) if c.kind == "submit" and c.owner == "?"]
        assert buttons, url
        assert buttons[0].name != "add", url


def test_empty_rows_are_skipped_and_problems_land_on_the_row_shown(client: Client) -> None:
    """Rows 0 and 2 left empty: the doses in rows 1 and 3 come back as Dose 1 and Dose 2, and the
    core's problem with the second dose is shown on the second row drawn."""
    page = client("nurse").form(
        "/next",
        {**PICTURE, **dose(1, "2026-02-20"), **dose(3, "2026-02-25"), "as_of": "2026-02-22"},
        follow_redirects=True,
    )
    assert page.status_code == 422
    assert 'name="history.0.date" type="date" value="2026-02-20"' in page.text
    assert 'name="history.1.date" type="date" value="2026-02-25"' in page.text
    assert 'id="err-history-1-date"' in page.text
    assert 'id="err-history-0-date"' not in page.text
    assert "Dose 2: the date the dose was given cannot be after today&#39;s date" in page.text


def test_structured_rows_give_the_same_assessment_as_the_contract(client: Client) -> None:
    days = ("2026-03-02", "2026-03-04", "2026-03-06", "2026-03-09", "2026-03-11", "2026-03-13")
    rows: dict[str, Any] = {}
    for n, day in enumerate(days):
        rows.update(dose(n, day, **{"dose.unit": "mg", "site": "deltoid"}))
    page = client("nurse").form(
        "/next", {**PICTURE, **rows, "as_of": "2026-04-01"}, follow_redirects=True
    )
    assert page.status_code == 200, page.text[:400]
    assert "2026-05-13" in next_due(page.text)


# -- the plan form's new inputs -------------------------------------------------------------------


def alert_codes(page: str) -> set[str]:
    return set(re.findall(r'data-code="([A-Z0-9_]+)"', page))


def test_the_operation_date_reaches_the_bariatric_monitoring(client: Client) -> None:
    http = client("clinician")
    base = {"age": "50", "conditions": ["rygb"], "labs.serum_b12_ng_l": "150"}
    without = http.form("/plan", base, follow_redirects=True)
    with_date = http.form("/plan", {**base, "surgery_date": "01/09/2025"}, follow_redirects=True)
    assert without.status_code == with_date.status_code == 200
    assert "SURGERY_DATE_NEEDED" in alert_codes(without.text)
    assert "SURGERY_DATE_NEEDED" not in alert_codes(with_date.text)


def test_other_causes_are_read(client: Client) -> None:
    http = client("clinician")
    base = {"age": "50", "cause": "medication", "medications": ["metformin"]}
    one = http.form("/plan", {**base, "labs.serum_b12_ng_l": "150"}, follow_redirects=True)
    both = http.form(
        "/plan",
        {**base, "labs.serum_b12_ng_l": "150", "causes": ["autoimmune_gastritis"]},
        follow_redirects=True,
    )
    assert "GASTRIC_CANCER_RISK" not in alert_codes(one.text)
    assert "GASTRIC_CANCER_RISK" in alert_codes(both.text)


def test_an_operation_after_today_is_refused(client: Client) -> None:
    page = client("clinician").form(
        "/plan",
        {**PICTURE, "surgery_date": "2026-03-01", "as_of": "2026-02-01"},
        follow_redirects=True,
    )
    assert page.status_code == 422
    assert "The date of the operation cannot be after today&#39;s date" in page.text


# -- the order check's events ---------------------------------------------------------------------


def test_the_order_check_reads_events(client: Client) -> None:
    http = client("clinician")
    base = {**PICTURE, **ORDER, "as_of": "2026-03-02", "order.start": "2026-03-02"}
    good = http.form(
        "/check",
        {**base, "events.0.date": "2026-02-01", "events.0.kind": "stable"},
        follow_redirects=True,
    )
    assert good.status_code == 200, good.text[:300]
    late = http.form(
        "/check",
        {**base, "events.0.date": "2026-03-20", "events.0.kind": "stable"},
        follow_redirects=True,
    )
    assert late.status_code == 422
    assert "Event 1: the date of the event cannot be after today&#39;s date" in late.text


# -- disclosures ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "summary"),
    [
        ({"conditions": ["rygb"]}, "Conditions, surgery and allergies"),
        ({"medications": ["metformin"]}, "Current medicines"),
        ({"neuro_symptoms": ["ataxia"]}, "Neurological symptoms"),
        ({"labs.egfr": "abc"}, "More results"),
        ({"start": "2099-01-01"}, "Guideline set and dates"),
    ],
)
def test_a_disclosure_holding_a_value_or_a_problem_comes_back_open(
    client: Client, data: dict[str, Any], summary: str
) -> None:
    page = client("clinician").form(
        "/plan", {**data, "age": ""}, follow_redirects=True
    )  # one problem: age
    assert page.status_code == 422
    found = re.search(rf"<details[^>]*>\s*<summary>{re.escape(summary)}", page.text)
    assert found, summary
    assert " open" in found.group(0), f"{summary} should be open"


def test_a_fresh_plan_form_keeps_optional_groups_closed(client: Client) -> None:
    page = client("clinician").get("/plan").text
    main = page.split('<main id="main"', 1)[1]  # the menu in the header is not a form group
    details = re.findall(r"<details[^>]*>", main)
    assert len(details) >= 6
    assert not any(" open" in d for d in details)


@pytest.mark.parametrize("url", ["/check", "/next"])
def test_a_late_dose_and_a_missing_dose_are_reported_together(client: Client, url: str) -> None:
    """The core stops at the document's shape (a dose without its amount) before it compares
    dates with as_of; the form reports both at once."""
    page = client("nurse").form(
        url,
        {
            **PICTURE,
            **ORDER,
            "as_of": "2026-03-02",
            "history.0.date": "2026-03-05",
            "history.0.drug": "hydroxocobalamin",
            "history.0.route": "im",
        },
        follow_redirects=True,
    )
    assert page.status_code == 422
    assert "Dose 1: enter the dose given, for example 1" in page.text
    assert "Dose 1: the date the dose was given cannot be after today&#39;s date" in page.text


@pytest.mark.parametrize("url", ["/check", "/next"])
def test_add_buttons_come_back_to_their_own_form_and_group(client: Client, url: str) -> None:
    page = client("nurse").get(url).text
    for group in ("history", "events"):
        assert f'value="{group}" formaction="{url}#{group}"' in page
        assert f'id="{group}"' in page


def test_contract_rows_fill_the_form_and_read_back_the_same() -> None:
    """``rows_values`` (to pre-fill a form from a record) and the form reader agree."""
    history = [
        {
            "date": "2026-02-01",
            "drug": "hydroxocobalamin",
            "dose": {"value": 1, "unit": "mg"},
            "route": "im",
            "site": "deltoid",
        },
        {
            "date": "2026-02-03",
            "drug": "cyanocobalamin",
            "dose": {"value": 1000, "unit": "mcg"},
            "route": "oral",
        },
    ]
    events = [{"date": "2026-02-10", "kind": "stable"}]
    form = {**forms.rows_values(history, "history"), **forms.rows_values(events, "events")}
    assert forms.history_from_form(form) == (history, [])
    assert forms.events_from_form(form) == (events, [])


@pytest.mark.parametrize("group", ["history", "events"])
def test_doses_or_events_sent_as_free_text_are_refused_not_dropped(
    client: Client, group: str
) -> None:
    page = client("nurse").form(
        "/next", {**PICTURE, group: "2026-03-02 hydroxocobalamin 1mg im"}, follow_redirects=True
    )
    assert page.status_code == 422
    assert 'id="next-due"' not in page.text
    assert "Check the doses given" in page.text or "Check the events" in page.text


def test_the_order_check_draws_one_empty_dose_row(client: Client) -> None:
    page = client("nurse").get("/check").text
    assert row_legends(page, "Dose") == ["Dose 1"]
