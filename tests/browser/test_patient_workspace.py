"""The patient's printout and the patient page's chart, in a real browser (issue 15)."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect
from pypdf import PdfReader

from tests.browser.conftest import PRACTICE_ENV, Shot, SignIn, Site
from tests.browser.test_journeys import (
    PHONE,
    enrol,
    form_today,
    make_neuro_plan,
    other_user,
    record_dose,
    scroll_width,
)

pytestmark = pytest.mark.browser


def _pdf_text(path: Path) -> str:
    reader = PdfReader(io.BytesIO(path.read_bytes()))
    return re.sub(r"\s+", " ", " ".join(p.extract_text() for p in reader.pages))


TOO_WIDE_JS = """
[...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
  .slice(0, 10)
  .map(e => e.tagName + '#' + e.id + ' ' + Math.round(e.getBoundingClientRect().right))
"""


def _too_wide(page: Page) -> list[str]:
    """The first elements that reach past the viewport (to say what overflows)."""
    found: list[str] = page.evaluate(TOO_WIDE_JS)
    return found


def test_patient_printout_from_the_plan_page(
    sign_in: SignIn, page: Page, site: Site, shot: Shot
) -> None:
    sign_in(page, site, "clinician")
    make_neuro_plan(page, site)
    form = page.locator("#patient-printout-form")
    form.get_by_label("Name").fill("Ann Example")
    form.get_by_label("Date of birth (dd/mm/yyyy)").fill("02/04/1958")
    form.get_by_label("NHS number").fill("943 476 5919")
    button = page.get_by_role("button", name="Patient's printout (PDF)")
    shot(page, "1-printout-form", show=button)
    with page.expect_download() as info:
        button.click()
    text = _pdf_text(Path(info.value.path()))
    assert "Name: Ann Example" in text
    assert "Date of birth: Wed 2 Apr 1958" in text
    assert "NHS number: 943 476 5919" in text
    assert PRACTICE_ENV["B12_PRACTICE_PHONE"] in text
    assert PRACTICE_ENV["B12_PRACTICE_NAME"] in text
    assert "Date What Dose Notes Given" in text
    assert "If you miss an injection" in text
    assert "Call us if" in text
    assert not re.search(r"\[\d+(, \d+)*\]", text)
    assert "sha256" not in text
    # Every date printed is a weekday (Monday to Friday by default).
    printed = re.findall(r"\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{1,2} \w{3} 20\d\d\b", text)
    table = text.split("Your dates", 1)[1].split("If you miss", 1)[0]
    days = re.findall(r"(?<!moved \()\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{1,2} \w{3} 20\d\d", table)
    assert printed
    assert days
    assert not {"Sat", "Sun"} & set(days)


def test_phone_width_patient_page_with_chart(
    sign_in: SignIn, browser: Browser, site: Site, shot: Shot
) -> None:
    patient_id = "BT-CHART-1"
    phone = other_user(browser, **PHONE)
    try:
        page = phone.new_page()
        sign_in(page, site, "clinician")
        page.goto(f"{site.url}/patients/new")
        today = form_today(page)
        start = today - timedelta(days=6)
        enrol(page, site, patient_id, start=start)
        record_dose(page, shot, "1", given=start)
        record_dose(page, shot, "2", given=start + timedelta(days=2))
        chart = page.get_by_role("img", name="Treatment and results over time")
        expect(chart).to_be_visible()
        expect(page.locator("#chart svg .chart-doses circle")).to_have_count(2)
        assert scroll_width(page) <= PHONE["width"] + 1, f"sideways scroll: {_too_wide(page)}"
        box = chart.bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= PHONE["width"]
        shot(page, "3-chart", show=page.locator("#chart"))
        page.get_by_text("The chart as a table").click()
        table = page.locator("#chart-table table")
        expect(table).to_contain_text("Dose given")
        expect(table).to_contain_text("110 ng/L")
        assert scroll_width(page) <= PHONE["width"] + 1, "the chart's table scrolls sideways"
        shot(page, "4-chart-table", show=table)
        expect(page.get_by_role("link", name="Patient's printout (PDF)")).to_be_visible()
    finally:
        phone.close()


# -- the nurse's record: record, correct, void (issue 15) --------------------------------------

OVERFLOW_JS = "document.scrollingElement.scrollWidth <= window.innerWidth"


def _no_overflow(page: Page) -> None:
    fits: bool = page.evaluate(OVERFLOW_JS)
    assert fits, f"the page scrolls sideways: {_too_wide(page)}"


def _history_row(page: Page, number: str) -> Locator:
    """The dose history row whose number (No.) is ``number``."""
    rows = page.locator("#dose-history tbody tr")
    return rows.filter(has=page.locator(f'th[scope="row"]:text-is("{number}")'))


def _open_amend(page: Page, number: str) -> None:
    _history_row(page, number).get_by_role("link", name=re.compile("Correct or void")).click()
    expect(page.get_by_role("heading", name=f"Correct or void dose {number}")).to_be_visible()


def test_nurse_records_corrects_and_voids_doses(
    sign_in: SignIn, page: Page, browser: Browser, site: Site, shot: Shot
) -> None:
    patient_id = "BT-NURSE-1"
    sign_in(page, site, "clinician")
    page.goto(f"{site.url}/patients/new")
    today = form_today(page)
    start = today - timedelta(days=4)
    enrol(page, site, patient_id, start=start)

    nurse = other_user(browser)
    try:
        p = nurse.new_page()
        sign_in(p, site, "nurse")
        p.goto(f"{site.url}/patients/{patient_id}")
        # The record is the hub: schedule progress, next due, and the jobs from here.
        expect(p.locator("#progress")).to_contain_text(re.compile(r"Loading.*: 0 doses given"))
        expect(p.locator("#run-check")).to_have_attribute("href", f"/check?patient={patient_id}")
        expect(p.locator("#run-follow-up")).to_have_attribute("href", f"/next?patient={patient_id}")
        expect(p.locator("#printout-patient")).to_be_visible()
        expect(p.locator("#calendar")).to_be_visible()
        shot(p, "1-record-hub", show=p.locator("#schedule"))

        record_dose(p, shot, "2", given=start)
        expect(p.locator("#recorded")).to_contain_text("Dose 1 recorded.")
        record_dose(p, shot, "3", given=start + timedelta(days=2))
        expect(p.locator("#recorded")).to_contain_text("Dose 2 recorded.")
        expect(p.locator("#progress")).to_contain_text(re.compile(r"Loading.*: 2 doses given"))
        shot(p, "4-two-doses", show=p.locator("#doses"))

        # Correct dose 2's batch: the reason is required, and asked for next to its field.
        _open_amend(p, "2")
        form = p.locator("#correct-form")
        form.get_by_label("Batch").fill("BX-204")
        form.get_by_role("button", name="Save correction").click()
        expect(p.locator("#err-fix-reason")).to_contain_text("Give the reason")
        expect(p.locator("#correct-form").get_by_label("Batch")).to_have_value("BX-204")
        shot(p, "5-correction-needs-reason", show=p.locator("#correct-form"))
        p.locator("#correct-form").get_by_label(re.compile("Reason for the correction")).fill(
            "batch number misread from the vial"
        )
        p.locator("#correct-form").get_by_role("button", name="Save correction").click()
        expect(p.locator("#amended")).to_contain_text("Dose corrected")
        struck = p.locator("#dose-history tr.superseded")
        expect(struck).to_have_count(1)
        expect(struck).to_contain_text("corrected by")
        expect(struck).to_contain_text(site.users["nurse"])
        expect(struck).to_contain_text("batch number misread from the vial")
        expect(struck.locator("s").first).to_have_text((start + timedelta(days=2)).isoformat())
        expect(_history_row(p, "2")).to_contain_text("BX-204")
        shot(p, "6-corrected", show=p.locator("#doses"))

        # Void dose 1 (recorded on the wrong patient): reason required, then struck through.
        _open_amend(p, "1")
        p.get_by_role("button", name="Void dose 1").click()
        expect(p.locator("#err-void-reason")).to_be_visible()
        p.get_by_label(re.compile("Reason for voiding")).fill("recorded on the wrong patient")
        shot(p, "7-void-reason", show=p.locator("#void-form"))
        p.get_by_role("button", name="Void dose 1").click()
        expect(p.locator("#amended")).to_contain_text("Dose voided")
        voided = p.locator("#dose-history tr.voided")
        expect(voided).to_have_count(1)
        expect(voided).to_contain_text("voided by")
        expect(voided).to_contain_text("recorded on the wrong patient")
        # What is left counts from 1 again; the schedule counts one dose.
        expect(p.locator("#dose-history tbody tr")).to_have_count(3)
        expect(_history_row(p, "1")).to_contain_text("BX-204")
        expect(p.locator("#progress")).to_contain_text(re.compile(r"Loading.*: 1 dose given"))
        shot(p, "8-voided", show=p.locator("#doses"))
    finally:
        nurse.close()


def test_clinician_edits_the_clinical_details_with_a_reason(
    sign_in: SignIn, page: Page, site: Site, shot: Shot
) -> None:
    patient_id = "BT-DETAILS-1"
    sign_in(page, site, "clinician")
    enrol(page, site, patient_id)
    page.get_by_role("link", name="Edit clinical details").click()
    expect(page.get_by_role("heading", name=re.compile("Edit clinical details"))).to_be_visible()
    expect(page.get_by_label("Serum total B12")).to_have_value("110")
    page.get_by_label("Serum total B12").fill("95")
    page.get_by_role("button", name="Save new details").click()
    expect(page.locator("#err-change_reason")).to_be_visible()
    expect(page.get_by_label("Serum total B12")).to_have_value("95")  # kept
    page.get_by_label(re.compile("Reason for the change")).fill("repeat B12 from the lab")
    shot(page, "1-details-reason", show=page.locator("#details-form button"))
    page.get_by_role("button", name="Save new details").click()
    expect(page.locator("#amended")).to_contain_text("Clinical details saved as a new version")
    expect(page.locator("#chart-table")).to_be_attached()


def test_phone_width_record_with_corrections_does_not_overflow(
    sign_in: SignIn, browser: Browser, site: Site, shot: Shot
) -> None:
    patient_id = "BT-PHONE-REC-1"
    phone = other_user(browser, **PHONE)
    try:
        p = phone.new_page()
        sign_in(p, site, "clinician")
        p.goto(f"{site.url}/patients/new")
        today = form_today(p)
        start = today - timedelta(days=4)
        enrol(p, site, patient_id, start=start)
        record_dose(p, shot, "1", given=start)
        record_dose(p, shot, "2", given=start + timedelta(days=2))
        _open_amend(p, "2")
        p.get_by_label(re.compile("Reason for voiding")).fill("entered twice")
        _no_overflow(p)
        shot(p, "3-amend-phone")
        p.get_by_role("button", name="Void dose 2").click()
        expect(p.locator("#amended")).to_be_visible()
        _no_overflow(p)
        shot(p, "4-schedule-phone", show=p.locator("#schedule"))
        expect(p.locator("#dose-history tr.voided")).to_be_visible()
        box = p.locator("#dose-history tr.voided").bounding_box()
        assert box is not None
        assert box["x"] + box["width"] <= PHONE["width"]  # a card, not a wide row
        shot(p, "5-history-cards-phone", show=p.locator("#dose-history"))
        shot(p, "6-chart-phone", show=p.locator("#chart"))
        p.get_by_role("link", name="Edit clinical details").click()
        expect(p.get_by_role("heading", name=re.compile("Edit clinical details"))).to_be_visible()
        _no_overflow(p)
        shot(p, "7-details-phone")
    finally:
        phone.close()
