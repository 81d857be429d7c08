"""Forms for a course that began before the doses on record (issue 13): enrolment, order check
and follow-up pages take an optional "course already under way" group."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from b12.adapters.sql.registry import DoseInput, Registry
from tests.web.conftest import NOW, TODAY, SignedIn, counts

Client = Callable[[str], SignedIn]
PATIENT_TABLES = ("patients", "pictures", "courses", "doses", "events")
ESTABLISHED: dict[str, Any] = {
    "id": "P-200",
    "age": "72",
    "sex": "male",
    "deficiency": "confirmed",
    "cause": "pernicious_anaemia",
    "guideline": "uk",
    "course.stage": "maintenance",
    "course.since": "2025-06-01",
    "course.every_months": "3",
}


def _next_due(page: str) -> str:
    found = re.search(r'<dd id="next-due">([^<]*)</dd>', page)
    assert found, "no next-due on the page"
    return found.group(1)


@pytest.mark.parametrize("url", ["/patients/new", "/check", "/next"])
def test_each_form_offers_the_course_group_with_plain_labels(client: Client, url: str) -> None:
    page = client("clinician").get(url)
    assert page.status_code == 200
    assert "Course already under way" in page.text
    for label in ("On maintenance", "Loading course completed", "Neurological course completed"):
        assert label in page.text
    assert '<label for="f-course-since">' in page.text
    assert '<label for="f-course-every_months">' in page.text


def test_an_established_patient_is_enrolled_on_maintenance(
    client: Client, registry: Registry
) -> None:
    clinician = client("clinician")

    response = clinician.form("/patients/new", ESTABLISHED)

    assert response.status_code == 303, response.text
    page = clinician.get("/patients/P-200").text
    assert "<dt>Phase</dt><dd>maintenance</dd>" in page  # not loading from scratch
    assert "overdue" not in _next_due(page).lower()
    # The maintenance dose given today: the next is due three months on, not in two days.
    registry.record_dose(
        "P-200",
        DoseInput(date=TODAY, drug="hydroxocobalamin", dose="1mg", route="im"),
        actor="setup",
        now=NOW,
    )
    due = _next_due(clinician.get("/patients/P-200").text)
    assert due.startswith("2026-06-02"), due
    assert "overdue" not in due.lower()
    record = registry.show_patient("P-200")
    assert record["course"]["declaration"]["stage"] == "maintenance"
    assert record["course"]["declaration"]["every_months"] == 3


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"course.since": "2026-04-01"}, "course.since", "cannot be after"),
        ({"course.since": ""}, "course.since", "Enter the date the course reached this stage"),
        ({"course.stage": "halfway"}, "course.stage", "Choose the stage"),
        ({"course.stage": ""}, "course.stage", "Choose the stage"),
        ({"course.every_months": "0"}, "course.every_months", "whole months"),
        ({"course.every_months": "2.5"}, "course.every_months", "whole months"),
    ],
)
def test_a_bad_declaration_is_shown_inline_and_nothing_is_written(
    client: Client, registry: Registry, change: dict[str, str], field: str, message: str
) -> None:
    clinician = client("clinician")
    before = counts(registry, *PATIENT_TABLES)

    response = clinician.form("/patients/new", {**ESTABLISHED, **change})

    assert response.status_code == 422
    anchor = field.replace(".", "-")
    inline = re.search(
        rf'<span class="error" id="err-{anchor}"><span class="sr">Error: </span>([^<]*)</span>',
        response.text,
    )
    assert inline
    assert message in inline.group(1)
    assert f'aria-describedby="err-{anchor}"' in response.text
    assert f'href="#f-{anchor}"' in response.text  # the error summary links to the field
    assert counts(registry, *PATIENT_TABLES) == before


ORDER = {
    "age": "72",
    "cause": "pernicious_anaemia",
    "deficiency": "confirmed",
    "guideline": "uk",
    "order.drug": "hydroxocobalamin",
    "order.dose.value": "1",
    "order.dose.unit": "mg",
    "order.route": "im",
    "order.start": "2026-03-23",
    "as_of": "2026-03-23",
    "history.0.date": "2026-03-02",
    "history.0.drug": "hydroxocobalamin",
    "history.0.dose.value": "1",
    "history.0.dose.unit": "mg",
    "history.0.route": "im",
    "history.0.site": "deltoid",
}


def test_a_dose_three_weeks_into_declared_maintenance_is_early(client: Client) -> None:
    http = client("clinician")
    declared = {
        "course.stage": "maintenance",
        "course.since": "2025-06-01",
        "course.every_months": "3",
    }

    page = http.form("/check", {**ORDER, **declared}, follow_redirects=True)

    assert page.status_code == 200, page.text
    codes = set(re.findall(r'data-code="([A-Z_]+)"', page.text))
    assert any("EARLY" in code for code in codes), codes
    assert not any("LATE" in code or "LOADING" in code for code in codes), codes


def test_the_order_check_rejects_a_declaration_after_its_as_of(client: Client) -> None:
    page = client("clinician").form(
        "/check",
        {**ORDER, "course.stage": "maintenance", "course.since": "2026-04-01"},
        follow_redirects=True,
    )
    assert page.status_code == 422
    assert 'id="err-course-since"' in page.text


def test_the_follow_up_page_reads_the_declared_course(client: Client) -> None:
    page = client("nurse").form(
        "/next",
        {
            "age": "72",
            "cause": "pernicious_anaemia",
            "deficiency": "confirmed",
            "guideline": "uk",
            "history.0.date": "2026-03-02",
            "history.0.drug": "hydroxocobalamin",
            "history.0.dose.value": "1",
            "history.0.route": "im",
            "as_of": "2026-03-23",
            "course.stage": "maintenance",
            "course.since": "2025-06-01",
            "course.every_months": "3",
        },
        follow_redirects=True,
    )
    assert page.status_code == 200, page.text
    # three months after the last dose (shown as "Tue 2 Jun 2026", machine-readable in <time>)
    assert '<dd id="next-due"><time datetime="2026-06-02">' in page.text
