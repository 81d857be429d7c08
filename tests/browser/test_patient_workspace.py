"""The patient's printout and the patient page's chart, in a real browser (issue 15)."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
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
