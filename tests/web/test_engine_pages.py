"""Plan, order-check and follow-up pages: forms, inline errors, the plan page and downloads."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date

import pytest
from icalendar import Calendar

from tests.web.conftest import SignedIn, counts

NEURO_FORM = {
    "age": "68",
    "cause": "autoimmune_gastritis",
    "neuro_symptoms": ["paraesthesia", "ataxia"],
    "labs.serum_b12_ng_l": "110",
    "guideline": "uk",
    "as_of": "2026-03-02",
}


def schedule_dates(html: str) -> list[date]:
    """The dates of the schedule table's dose rows."""
    rows = re.findall(r'<tr class="kind-dose"><td><time datetime="(\d{4}-\d\d-\d\d)">', html)
    return [date.fromisoformat(d) for d in rows]


def hidden_picture(html: str) -> str:
    found = re.search(r'name="picture" value="([^"]+)"', html)
    assert found
    return found.group(1).replace("&#34;", '"').replace("&quot;", '"')


def test_the_plan_form_lists_the_vocabulary_with_labels(client: Callable[[str], SignedIn]) -> None:
    page = client("clinician").get("/plan")
    assert page.status_code == 200
    for field in ("f-age", "f-labs-serum_b12_ng_l", "f-cause", "f-guideline", "f-as_of"):
        assert f'<label for="{field}"' in page.text
    assert 'value="paraesthesia"' in page.text
    assert "Serum total B12" in page.text
    assert "ng/L" in page.text
    assert 'name="csrf_token"' in page.text
    # Only reviewers are offered draft content.
    assert "allow_draft" not in page.text
    assert "allow_draft" in client("reviewer").get("/plan").text


def test_a_neuro_plan_shows_alternate_days_and_the_urgent_alert(
    client: Callable[[str], SignedIn],
) -> None:
    page = client("clinician").form("/plan", NEURO_FORM, follow_redirects=True)
    assert page.status_code == 200
    assert 'data-code="NEURO_URGENT_ADVICE"' in page.text
    dates = schedule_dates(page.text)
    assert dates[0] == date(2026, 3, 2)
    # Open-ended loading is one repeating row up to the first review (issue 16), saying so.
    shown = " ".join(re.sub(r"<[^>]+>", " ", page.text).split())
    assert "every 2 days from Mon 2 Mar 2026 to Sat 14 Mar 2026 (7 doses)" in shown
    assert '<span class="repeat" data-count="7" data-until="2026-03-14">' in page.text
    assert "<svg" in page.text
    assert 'role="img"' in page.text
    assert 'id="ref-1"' in page.text
    assert "review-banner" not in page.text
    level = 'id="review-level">Engineering-reviewed; not clinically signed off</strong>'
    assert level in page.text


def test_alerts_are_ordered_by_severity(client: Callable[[str], SignedIn]) -> None:
    page = client("clinician").form("/plan", NEURO_FORM, follow_redirects=True)
    severities = re.findall(r'class="alert sev-(stop|warning|info)"', page.text)
    order = {"stop": 0, "warning": 1, "info": 2}
    assert severities == sorted(severities, key=order.__getitem__)


def test_patient_language_switch_uses_the_plain_language_text(
    client: Callable[[str], SignedIn],
) -> None:
    http = client("clinician")
    clinician = http.form("/plan", NEURO_FORM, follow_redirects=True)
    picture = hidden_picture(clinician.text)
    patient = http.form("/plan", {"picture": picture, "audience": "patient"}, follow_redirects=True)
    assert patient.status_code == 200
    assert "Your treatment plan" in patient.text
    assert "NEURO_URGENT_ADVICE" not in patient.text
    assert "Show clinician view" in patient.text
    # The same dates in both views.
    assert re.findall(r"\d{4}-\d\d-\d\d", patient.text)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("labs.serum_b12_ng_l", "abc", "Enter serum total B12 as a number, in ng/L"),
        ("labs.serum_b12_ng_l", "-5", "Enter serum total B12 between 0 and"),
        ("age", "sixty", "Enter an age between 0 and 120"),
        ("age", "", "Enter the patient&#39;s age in years"),
        ("as_of", "2026-02-30", "Enter today&#39;s date as a real date, for example 02/03/2026"),
    ],
)
def test_a_bad_field_is_shown_inline_and_nothing_is_computed(
    client: Callable[[str], SignedIn], field: str, value: str, message: str
) -> None:
    page = client("clinician").form("/plan", {**NEURO_FORM, field: value}, follow_redirects=True)
    assert page.status_code == 422
    marker = "f-" + field.replace(".", "-")
    assert re.search(rf'id="{marker}"[^>]*\n?[^>]*aria-invalid="true"', page.text), page.text[:500]
    assert message in page.text
    assert "Treatment plan" not in page.text
    # What the clinician typed is kept.
    if value:
        assert f'value="{value}"' in page.text


def test_an_unknown_vocabulary_value_is_a_field_error(client: Callable[[str], SignedIn]) -> None:
    page = client("clinician").form(
        "/plan", {**NEURO_FORM, "conditions": ["appendicitis"]}, follow_redirects=True
    )
    assert page.status_code == 422
    assert "Choose the conditions and surgery from the list" in page.text
    assert 'href="#f-conditions"' in page.text


def test_downloads_ics_pdf_and_json(client: Callable[[str], SignedIn]) -> None:
    http = client("clinician")
    page = http.form("/plan", NEURO_FORM, follow_redirects=True)
    picture = hidden_picture(page.text)
    ics = http.form("/plan/export/ics", {"picture": picture})
    assert ics.status_code == 200
    assert ics.headers["content-type"].startswith("text/calendar")
    assert "attachment" in ics.headers["content-disposition"]
    events = list(Calendar.from_ical(ics.content).walk("VEVENT"))
    first = min(e.decoded("DTSTART") for e in events)
    assert first == schedule_dates(page.text)[0]
    pdf = http.form("/plan/export/pdf", {"picture": picture})
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    as_json = http.form("/plan/export/json", {"picture": picture})
    assert json.loads(as_json.content)["pathway"]["id"] == "uk-im-neuro"
    assert http.form("/plan/export/doc", {"picture": picture}).status_code == 404
    # The same picture gives byte-identical downloads.
    assert http.form("/plan/export/ics", {"picture": picture}).content == ics.content
    # Open-ended loading is one recurring event; "one event per dose" lists each dose.
    assert any("RRULE" in e for e in events)
    assert 'id="download-ics-each"' in page.text
    each = http.form("/plan/export/ics-each", {"picture": picture})
    assert each.status_code == 200
    assert "b12-plan-each-dose.ics" in each.headers["content-disposition"]
    listed = list(Calendar.from_ical(each.content).walk("VEVENT"))
    assert not any("RRULE" in e for e in listed)
    assert len(listed) > len(events)


def test_a_tampered_hidden_picture_is_an_input_error(client: Callable[[str], SignedIn]) -> None:
    response = client("clinician").form("/plan/export/ics", {"picture": "{not json"})
    assert response.status_code == 422


def test_plan_pages_write_nothing_to_the_registry(
    client: Callable[[str], SignedIn], registry: object
) -> None:
    before = counts(registry, "patients", "courses", "doses")  # type: ignore[arg-type]
    client("clinician").form("/plan", NEURO_FORM, follow_redirects=True)
    client("clinician").form(
        "/plan", {**NEURO_FORM, "labs.serum_b12_ng_l": "x"}, follow_redirects=True
    )
    assert counts(registry, "patients", "courses", "doses") == before  # type: ignore[arg-type]


def test_order_check_page_warns_about_a_gluteal_site(client: Callable[[str], SignedIn]) -> None:
    http = client("clinician")
    assert http.get("/check").status_code == 200
    page = http.form(
        "/check",
        {
            "age": "68",
            "cause": "autoimmune_gastritis",
            "deficiency": "confirmed",
            "order.drug": "hydroxocobalamin",
            "order.dose.value": "1",
            "order.dose.unit": "mg",
            "order.route": "im",
            "order.site": "dorsogluteal",
            "order.start": "2026-03-02",
            "as_of": "2026-03-02",
        },
        follow_redirects=True,
    )
    assert page.status_code == 200, page.text
    assert 'data-code="GLUTEAL_SITE"' in page.text
    assert "verdict-" in page.text
    assert "review level <strong" in page.text
    assert "Engineering-reviewed; not clinically signed off" in page.text


def test_order_check_history_lines_are_validated(client: Callable[[str], SignedIn]) -> None:
    page = client("clinician").form(
        "/check",
        {
            "age": "68",
            "order.drug": "hydroxocobalamin",
            "order.dose.value": "1",
            "order.route": "im",
            "history.0.date": "2026-03-01",
            "history.0.drug": "hydroxocobalamin",
        },
        follow_redirects=True,
    )
    assert page.status_code == 422
    assert "Dose 1: enter the dose given, for example 1" in page.text
    assert "Dose 1: choose the route the dose was given by" in page.text


def test_follow_up_page_gives_the_next_due_window(client: Callable[[str], SignedIn]) -> None:
    http = client("nurse")
    assert http.get("/next").status_code == 200
    history = {
        f"history.{n}.{key}": value
        for n, day in enumerate((2, 4, 6, 9, 11, 13))
        for key, value in (
            ("date", f"{day:02d}/03/2026"),  # UK day/month/year, as typed
            ("drug", "hydroxocobalamin"),
            ("dose.value", "1"),
            ("dose.unit", "mg"),
            ("route", "im"),
        )
    }
    page = http.form(
        "/next",
        {
            "age": "68",
            "cause": "autoimmune_gastritis",
            "deficiency": "confirmed",
            **history,
            "as_of": "2026-04-01",
        },
        follow_redirects=True,
    )
    assert page.status_code == 200, page.text
    assert 'id="next-due"' in page.text
    assert "2026-05-13" in page.text  # two months after the last loading dose


def test_follow_up_bad_event_line(client: Callable[[str], SignedIn]) -> None:
    page = client("clinician").form(
        "/next", {"age": "68", "events.0.kind": "stable"}, follow_redirects=True
    )
    assert page.status_code == 422
    assert "Event 1: enter the date of the event" in page.text


def test_the_error_summary_names_fields_as_the_form_does(
    client: Callable[[str], SignedIn],
) -> None:
    page = client("clinician").form(
        "/plan", {**NEURO_FORM, "labs.serum_b12_ng_l": "abc"}, follow_redirects=True
    )
    summary = page.text[page.text.index('id="problems"') :]
    link = '<a href="#f-labs-serum_b12_ng_l">Enter serum total B12 as a number, in ng/L</a>'
    assert link in summary
