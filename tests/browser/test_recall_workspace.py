"""The recall list in a real browser (issue 15): filters (a wrong value kept and explained),
bulk outreach marks, the CSV with the page's filters, and cards at phone width."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Shot, SignIn, Site
from tests.browser.test_journeys import PHONE, enrol, form_today, other_user

pytestmark = pytest.mark.browser

PATIENTS = ("BT-RECALL-1", "BT-RECALL-2")
OVERFLOW_JS = "document.scrollingElement.scrollWidth <= window.innerWidth"


def _enrol_overdue(page: Page, site: Site) -> None:
    """Two patients whose first dose was due weeks ago and was never given."""
    page.goto(f"{site.url}/patients/new")
    today = form_today(page)
    for n, patient_id in enumerate(PATIENTS):
        page.goto(f"{site.url}/recall?status=overdue&within=0")
        if page.locator(f'tr[data-patient="{patient_id}"]').count():
            continue  # enrolled by an earlier test of this module
        enrol(page, site, patient_id, start=today - timedelta(days=30 + 10 * n))


def _ids(page: Page) -> list[str]:
    ids: list[str] = page.locator("#recall tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.patient)"
    )
    return ids


def test_recall_filters_bulk_mark_and_csv(
    sign_in: SignIn, page: Page, site: Site, shot: Shot
) -> None:
    sign_in(page, site, "clinician")
    _enrol_overdue(page, site)
    page.goto(f"{site.url}/recall")
    filters = page.locator("#recall-filters")

    # A wrong filter value stays in the form, explained next to it; no list is guessed.
    filters.get_by_label(re.compile("Due within")).fill("two weeks")
    filters.get_by_role("button", name="Show").click()
    expect(page.locator("#err-within")).to_contain_text("whole number of days")
    expect(filters.get_by_label(re.compile("Due within"))).to_have_value("two weeks")
    expect(page.locator("#recall tbody tr")).to_have_count(0)
    shot(page, "1-invalid-filter-kept", show=filters)

    filters.get_by_label(re.compile("Due within")).fill("0")
    filters.get_by_label("Status").select_option("overdue")
    filters.get_by_role("button", name="Show").click()
    expect(page.locator("#err-within")).to_have_count(0)
    assert "status=overdue" in page.url
    shown = _ids(page)
    assert set(PATIENTS) <= set(shown)
    row = page.locator(f'tr[data-patient="{PATIENTS[1]}"]')
    expect(row.locator('[data-label="Overdue"]')).to_contain_text("days overdue")
    expect(row.locator('[data-label="Outreach"]')).to_have_text("not yet")
    expect(row.locator('[data-label="Last dose"]')).to_have_text("none recorded")
    expect(row.locator('[data-label="Date of birth"]')).to_contain_text("Jan")

    # Tick the two patients and mark them invited: one audited mark each, filters kept.
    for patient_id in PATIENTS:
        page.locator(f'tr[data-patient="{patient_id}"] input[name="patient"]').check()
    mark = page.locator("#bulk-mark")
    mark.get_by_label("Mark as").select_option("invited")
    mark.get_by_label(re.compile("Note")).fill("letter posted")
    shot(page, "2-ticked", show=mark)
    mark.get_by_role("button", name="Mark selected").click()
    expect(page.locator("#marked")).to_contain_text("2 patients marked")
    assert "status=overdue" in page.url
    assert "within=0" in page.url
    for patient_id in PATIENTS:
        outreach = page.locator(f'tr[data-patient="{patient_id}"] [data-label="Outreach"]')
        expect(outreach).to_contain_text("invited")
        expect(outreach).to_contain_text(site.users["clinician"])
    shot(page, "3-marked", show=page.locator("#recall"))

    # The CSV holds exactly the filtered list (every page of it).
    with page.expect_download() as info:
        page.locator("#csv-link").click()
    text = Path(info.value.path()).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["patient_id"] for r in rows] == _ids(page)
    assert {r["status"] for r in rows} == {"overdue"}


def test_recall_list_becomes_cards_at_phone_width(
    sign_in: SignIn, browser: Browser, site: Site, shot: Shot
) -> None:
    phone = other_user(browser, **PHONE)
    try:
        page = phone.new_page()
        sign_in(page, site, "clinician")
        _enrol_overdue(page, site)
        page.goto(f"{site.url}/recall?status=overdue&within=0")
        fits: bool = page.evaluate(OVERFLOW_JS)
        assert fits, "the recall list scrolls sideways at 390 px"
        row = page.locator(f'tr[data-patient="{PATIENTS[0]}"]')
        overdue = row.locator('[data-label="Overdue"]')
        overdue.scroll_into_view_if_needed()
        expect(overdue).to_be_visible()
        box = overdue.bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= PHONE["width"]  # the overdue column stays in view
        card = row.bounding_box()
        assert card is not None
        assert card["x"] + card["width"] <= PHONE["width"]
        shot(page, "1-recall-cards-phone", show=row)
    finally:
        phone.close()
