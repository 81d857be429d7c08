"""The forms' problems (issue 15): every one at once, in clinical words from one data file, next
to its field and in a GOV.UK-style summary; UK dates; implausible dates refused; the browser's
limits (min/max/required) are the server's."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest

from b12.adapters.knowledge_files import load_knowledge_base
from b12.adapters.sql.registry import Registry
from b12.core.errors import FieldProblem
from b12.entrypoints.web import form_text
from tests.web.conftest import TODAY, SignedIn, counts
from tests.web.html_forms import controls

Client = Callable[[str], SignedIn]
FORMS = ("/plan", "/check", "/next", "/patients/new")
PATIENT_TABLES = ("patients", "pictures", "courses", "doses", "events")

PICTURE = {"age": "68", "cause": "autoimmune_gastritis", "deficiency": "confirmed"}
ORDER = {
    "order.drug": "hydroxocobalamin",
    "order.dose.value": "1",
    "order.dose.unit": "mg",
    "order.route": "im",
}
GOOD = {
    "/plan": PICTURE,
    "/check": {**PICTURE, **ORDER},
    "/next": PICTURE,
    "/patients/new": {**PICTURE, "id": "P-WORDS"},
}

#: Words a clinician must never read on a form: validator messages, contract paths, codes.
FORBIDDEN = (
    "Field required",
    "field required",
    "picture.",
    "override_reason",
    "Traceback",
    "Input should be",
    "Value error",
    "expected a",
    "expected 'DATE",
    "as_of",
    "every_days",
    "_ng_l",
    "history[",
    "events[",
    "history.",
    "events.",
    "unknown field",
    "YYYY-MM-DD",
    "got '",
    "(got",
    "None",
)


def visible_text(page: str) -> str:
    """The text a user reads: no tags, attributes, scripts or inert row templates."""
    page = re.sub(r"<template\b.*?</template>", " ", page, flags=re.S)
    page = re.sub(r"<script\b.*?</script>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def summary_items(page: str) -> list[tuple[str, str]]:
    """(link target, text) of each entry of the error summary."""
    start = page.index('id="problems"')
    block = page[start : page.index("</div>", start)]
    return [
        (href, html.unescape(text))
        for href, text in re.findall(r'<li><a href="#([^"]+)">([^<]*)</a></li>', block)
    ]


def inline(page: str, field: str) -> str:
    anchor = field.replace(".", "-")
    found = re.search(
        rf'<span class="error" id="err-{re.escape(anchor)}"><span class="sr">Error: </span>([^<]*)',
        page,
    )
    assert found, f"no inline error for {field}"
    return html.unescape(found.group(1))


# -- UK dates -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-23", date(2026, 3, 23)),
        ("23/03/2026", date(2026, 3, 23)),
        ("3/4/2026", date(2026, 4, 3)),  # day first: 3 April, never 4 March
        ("03.04.2026", date(2026, 4, 3)),
        ("03-04-2026", date(2026, 4, 3)),
        (" 23/03/2026 ", date(2026, 3, 23)),
        ("03/15/2026", None),  # month first (US) is not read
        ("31/02/2026", None),
        ("23/03/26", None),  # two-digit years are not guessed
        ("2026-03", None),
        ("23 March 2026", None),
        ("", None),
        ("01/01/1899", None),
    ],
)
def test_dates_are_read_day_first_or_iso(text: str, expected: date | None) -> None:
    assert form_text.parse_date(text) == expected


def test_a_uk_date_and_an_iso_date_give_the_same_follow_up(client: Client) -> None:
    http = client("nurse")

    def assess(day: str) -> str:
        rows = {
            "history.0.date": day,
            "history.0.drug": "hydroxocobalamin",
            "history.0.dose.value": "1",
            "history.0.route": "im",
        }
        page = http.form("/next", {**PICTURE, **rows, "as_of": "02/03/2026"}, follow_redirects=True)
        assert page.status_code == 200, visible_text(page.text)[:400]
        found = re.search(r'<dd id="next-due">(.*?)</dd>', page.text, re.S)
        assert found
        return found.group(1)

    assert assess("23/02/2026") == assess("2026-02-23")


def test_a_month_first_date_is_refused_with_an_example(client: Client) -> None:
    page = client("clinician").form(
        "/plan", {**PICTURE, "start": "03/15/2026"}, follow_redirects=True
    )
    assert page.status_code == 422
    assert inline(page.text, "start") == (
        "Enter the treatment start date as a real date, for example 02/03/2026"
    )


# -- implausible dates ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("form", "field", "value", "message"),
    [
        ("/plan", "start", "2099-01-01", "The treatment start must be on or before"),
        ("/plan", "as_of", "1900-01-01", "Today's date must be on or after"),
        ("/plan", "as_of", "01/01/1900", "Today's date must be on or after"),
        ("/plan", "surgery_date", "2027-01-01", "The date of the operation"),
        ("/check", "order.start", "2099-06-01", "The date of this dose must be on or before"),
        ("/next", "course.since", "1850-01-01", "as a real date"),
        ("/patients/new", "as_of", "2099-12-31", "Today's date must be on or before"),
    ],
)
def test_an_implausible_date_is_refused_and_nothing_is_written(
    client: Client, registry: Registry, form: str, field: str, value: str, message: str
) -> None:
    before = counts(registry, *PATIENT_TABLES)
    data = {**GOOD[form], field: value}
    if field.startswith("course."):
        data["course.stage"] = "maintenance"
    page = client("clinician").form(form, data)
    assert page.status_code == 422
    assert message in inline(page.text, field)
    assert counts(registry, *PATIENT_TABLES) == before


def test_the_plausible_window_is_data_and_names_its_limits(client: Client) -> None:
    earliest, latest = form_text.date_window("start", TODAY) or (None, None)
    assert earliest is not None
    assert latest is not None
    http = client("clinician")
    assert (
        http.form(
            "/plan", {**PICTURE, "start": latest.isoformat()}, follow_redirects=True
        ).status_code
        == 200
    )
    late = http.form(
        "/plan",
        {**PICTURE, "start": (latest + timedelta(days=1)).isoformat()},
        follow_redirects=True,
    )
    assert form_text.long_date(latest) in inline(late.text, "start")


# -- every problem at once, in clinical words -----------------------------------------------------


def test_the_plan_form_reports_every_problem_at_once(client: Client) -> None:
    page = client("clinician").form(
        "/plan",
        {
            "age": "",
            "labs.serum_b12_ng_l": "99999",
            "labs.haemoglobin_g_l": "abc",
            "start": "2099-01-01",
            "as_of": "31/02/2026",
            "pregnant": "1",
            "sex": "male",
        },
        follow_redirects=True,
    )
    assert page.status_code == 422
    items = summary_items(page.text)
    targets = [href for href, _text in items]
    assert targets == [
        "f-age",
        "f-pregnant",
        "f-labs-serum_b12_ng_l",
        "f-labs-haemoglobin_g_l",
        "f-start",
        "f-as_of",
    ]
    assert inline(page.text, "age") == "Enter the patient's age in years"
    assert inline(page.text, "labs.serum_b12_ng_l").startswith("Enter serum total B12 between 0")
    assert inline(page.text, "labs.haemoglobin_g_l") == "Enter haemoglobin as a number, in g/L"
    assert "There are 6 problems" in page.text
    for href, _text in items:  # each summary link has a control (or group) to land on
        assert f'id="{href}"' in page.text


def test_an_age_outside_the_vocabulary_range_names_the_range(client: Client) -> None:
    page = client("clinician").form("/plan", {**PICTURE, "age": "130"}, follow_redirects=True)
    assert inline(page.text, "age") == "Enter an age between 0 and 120"


def test_the_order_check_reports_order_rows_course_and_picture_together(client: Client) -> None:
    page = client("clinician").form(
        "/check",
        {
            "order.drug": "hydroxocobalamin",
            "order.dose.value": "0",
            "order.every_days": "400",
            "history.0.date": "2026-02-20",
            "history.0.drug": "hydroxocobalamin",
            "history.0.dose.value": "1",
            "history.1.date": "30/02/2026",
            "history.1.route": "im",
            "events.0.kind": "stable",
            "course.since": "2025-01-01",
            "age": "-3",
        },
        follow_redirects=True,
    )
    assert page.status_code == 422
    texts = [text for _href, text in summary_items(page.text)]
    assert texts == [
        "Enter a dose greater than 0",
        "Choose the route",
        "Enter the interval as a whole number of days, from 1 to 366",
        "Dose 1: choose the route the dose was given by",
        "Dose 2: enter the date the dose was given as a real date, for example 02/03/2026",
        "Dose 2: choose the product given",
        "Dose 2: enter the dose given, for example 1",
        "Event 1: enter the date of the event",
        "Choose the stage the course has reached",
        "Enter an age between 0 and 120",
    ]


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize(
    "data",
    [
        pytest.param({}, id="empty"),
        pytest.param(
            {
                "age": "-1",
                "sex": "robot",
                "cause": "<script>",
                "conditions": ["appendicitis"],
                "causes": ["x"],
                "labs.serum_b12_ng_l": "NaN",
                "labs.egfr": "1e400",
                "labs.ifab_positive": "maybe",
                "preferences.route": "teleport",
                "guideline": "mars",
                "start": "2026-13-45",
                "as_of": "1900-01-01",
                "surgery_date": "tomorrow",
                "ileal_resection_cm": "-4",
                "order.drug": "",
                "order.dose.value": "abc",
                "order.dose.unit": "kg",
                "order.route": "ear",
                "order.site": "elbow",
                "order.every_days": "0.5",
                "order.start": "99/99/9999",
                "history.0.date": "12/31/2026",
                "history.0.drug": "snake oil",
                "history.0.dose.value": "-1",
                "history.0.dose.unit": "gallons",
                "history.0.route": "ear",
                "history.0.site": "nose",
                "history.7.date": "2026-01-01",
                "events.0.date": "2099-01-01",
                "events.0.kind": "abducted",
                "course.stage": "halfway",
                "course.since": "1900-01-01",
                "course.every_months": "99",
                "id": "not an id!",
                "name": "x\x00y",
                "date_of_birth": "2999-01-01",
                "rows.history": "99999",
                "rows.events": "-5",
            },
            id="hostile",
        ),
        pytest.param(
            {
                "age": "200",
                "labs.serum_b12_ng_l": "-5",
                "labs.potassium_mmol_l": "99",
                "start": "2099-01-01",
                "as_of": "1900-01-01",
                "order.dose.value": "0",
                "history.0.date": "2099-01-01",
                "events.0.date": "1800-01-01",
                "course.stage": "maintenance",
                "course.since": "2099-01-01",
            },
            id="implausible",
        ),
    ],
)
def test_no_form_ever_shows_a_field_path_or_a_validator_message(
    client: Client, registry: Registry, form: str, data: dict[str, Any]
) -> None:
    before = counts(registry, *PATIENT_TABLES)
    page = client("clinician").form(form, data)
    assert page.status_code == 422, visible_text(page.text)[:300]
    text = visible_text(page.text)
    for words in FORBIDDEN:
        assert words not in text, f"{form} shows {words!r}: {text[:2000]}"
    assert summary_items(page.text), "no error summary"
    for href, message in summary_items(page.text):
        assert message[:1].isupper(), message
        assert f'id="{href}"' in page.text, f"the summary links to #{href}, which is not there"
    assert counts(registry, *PATIENT_TABLES) == before


def test_every_control_of_every_form_is_worded_in_the_data_file(client: Client) -> None:
    """One place for the words: each named control has an entry (labs use the vocabulary)."""
    text = form_text.form_text()
    plumbing = {"csrf_token", "add", "rows.history", "rows.events", "allow_draft"}
    for url in FORMS:
        page = client("reviewer" if url == "/plan" else "clinician").get(url).text
        names = {c.name for c in controls(page) if "__N__" not in c.name} - plumbing
        for name in names:
            key = form_text.window_key(name)
            worded = key in text.fields or (
                name.startswith("labs.") and name != "labs.ifab_positive"
            )
            assert worded, f"{url}: no wording for {name!r} in form_text.yaml"


# -- the browser's limits are the server's --------------------------------------------------------


def _attributes(page: str, element_id: str) -> dict[str, str]:
    found = re.search(rf'<(?:input|select)\b[^>]*\bid="{re.escape(element_id)}"[^>]*>', page)
    assert found, element_id
    tag = found.group(0)
    attrs = dict(re.findall(r'([a-z-]+)="([^"]*)"', tag))
    attrs.update((bare, "") for bare in re.findall(r"\s([a-z]+)(?=[\s>])", tag))
    return attrs


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ("/plan", "age"),
        ("/check", "order.every_days"),
        ("/next", "course.every_months"),
    ],
)
def test_number_limits_in_the_browser_are_the_servers(
    client: Client, form: str, field: str
) -> None:
    http = client("clinician")
    attrs = _attributes(http.get(form).text, "f-" + field.replace(".", "-"))
    low, high = int(attrs["min"]), int(attrs["max"])
    extra = (
        {"course.stage": "maintenance", "course.since": "2025-01-01"} if "course" in field else {}
    )

    def problem(value: int) -> bool:
        page = http.form(form, {**GOOD[form], **extra, field: str(value)})
        return f'id="err-{field.replace(".", "-")}"' in page.text

    assert not problem(low)
    assert not problem(high)
    assert problem(low - 1)
    assert problem(high + 1)


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ("/plan", "start"),
        ("/plan", "as_of"),
        ("/plan", "surgery_date"),
        ("/check", "order.start"),
        ("/next", "history.0.date"),
        ("/next", "events.0.date"),
    ],
)
def test_date_limits_in_the_browser_are_the_servers(client: Client, form: str, field: str) -> None:
    http = client("clinician")
    page = http.get(form).text
    if field.startswith("events."):
        assert 'id="f-events-0-date"' in page
    attrs = _attributes(page, "f-" + field.replace(".", "-"))
    low, high = date.fromisoformat(attrs["min"]), date.fromisoformat(attrs["max"])
    rows: dict[str, str] = {}
    if field.startswith("history."):
        rows = {
            "history.0.drug": "hydroxocobalamin",
            "history.0.dose.value": "1",
            "history.0.route": "im",
        }
    if field.startswith("events."):
        rows = {"events.0.kind": "stable"}
    # as_of is the latest a recorded date may take: keep it at the window's end for rows.
    as_of = {"as_of": high.isoformat()} if field.startswith(("history.", "events.")) else {}

    def problem(day: date) -> bool:
        data = {**GOOD[form], **rows, **as_of, field: day.isoformat()}
        return f'id="err-{field.replace(".", "-")}"' in http.form(form, data).text

    assert not problem(low)
    assert not problem(high)
    assert problem(low - timedelta(days=1))
    assert problem(high + timedelta(days=1))


@pytest.mark.parametrize(("form", "field"), [("/plan", "age"), ("/check", "order.dose.value")])
def test_a_required_input_is_required_by_the_server(client: Client, form: str, field: str) -> None:
    http = client("clinician")
    assert "required" in _attributes(http.get(form).text, "f-" + field.replace(".", "-"))
    page = http.form(form, {**GOOD[form], field: ""})
    assert page.status_code == 422
    assert f'id="err-{field.replace(".", "-")}"' in page.text


@pytest.mark.parametrize("url", ["/plan", "/plan/export/ics"])
def test_a_tampered_hidden_picture_is_worded_too(client: Client, url: str) -> None:
    page = client("clinician").form(url, {"picture": "{not json"}, follow_redirects=True)
    assert page.status_code == 422
    text = visible_text(page.text)
    assert "The patient's details could not be read; start the form again" in text
    assert "picture" not in text


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("Field required", "required"),
        ("required", "required"),
        ("expected a whole number of years (got 'x')", "whole"),
        ("Input should be a valid number, unable to parse string as a number", "number"),
        ("Input should be greater than 0 (got 0)", "range"),
        ("implausible value 999 ng/L (expected 0–5000)", "range"),
        ("Input should be 'female', 'male', 'other' or 'unknown' (got 'robot')", "choice"),
        ("unknown event 'x'; known: stable, symptoms_returned_before_due", "choice"),
        ("expected a date as YYYY-MM-DD (got '1/2')", "date"),
        ("must be between 1900-01-01 and 2199-12-31", "date"),
        ("after as_of (2026-03-02)", "after_as_of"),
        ("2027-01-01 is in the future (today is 2026-03-02)", "after_as_of"),
        ("implausibly far before as_of", "too_early"),
        ("conflicts with sex 'male'", "conflict"),
        ("patient 'P-1' is already enrolled", "exists"),
        ("give every_days or frequency, not both", "invalid"),
    ],
)
def test_the_core_s_messages_are_read_as_kinds(message: str, kind: str) -> None:
    assert form_text.kind_of(message) == kind


def test_every_sentence_of_the_wording_file_can_be_said() -> None:
    """Each field's sentences, for each kind, fill in without a stray placeholder."""
    kb = load_knowledge_base()
    text = form_text.form_text()
    fields = [f.replace("*", "1") for f in text.fields] + [f"labs.{n}" for n in kb.vocabulary.labs]
    for field in fields:
        for kind in form_text.KINDS:
            shown = form_text.word(FieldProblem(field, kind), kb, TODAY)
            assert shown.message, (field, kind)
            assert "{" not in shown.message, (field, kind, shown.message)
            assert shown.message[:1].isupper(), (field, kind, shown.message)
            assert shown.summary[:1].isupper(), (field, kind, shown.summary)
