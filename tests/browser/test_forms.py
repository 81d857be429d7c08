"""The forms in Chromium (issue 15): keyboard reach of "Make plan", every problem at once with a
summary that links to its fields, dose and event rows with and without JavaScript.

Screenshots go to ``test-artifacts/screenshots/``; ``docs/screenshots/forms-*.png`` are copies.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import TIMEOUT_MS, Shot, SignIn, Site
from tests.browser.test_journeys import NEURO_CAUSE, open_section

#: Tab presses a keyboard user may need from the top of the page to "Make plan" (issue 15).
MAX_TABS = 30


def focused(page: Page) -> str:
    """The focused element's tag, id and text (for following the Tab order)."""
    text: str = page.evaluate(
        "() => { const e = document.activeElement;"
        " return e.tagName + '#' + (e.id || '') + ' ' + (e.textContent || '').trim() }"
    )
    return text


def tabs_to(page: Page, button: str, limit: int = 150) -> int:
    """Press Tab until the button named ``button`` has the focus; the number of presses."""
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if focused(page).startswith("BUTTON#") and focused(page).endswith(button):
            return presses
    raise AssertionError(f"{button!r} not reached in {limit} Tab presses")


def form_today(page: Page) -> date:
    return date.fromisoformat(page.get_by_label("Today's date").input_value())


def test_make_plan_is_reached_in_few_tab_presses(
    sign_in: SignIn, page: Page, site: Site, shot: Shot
) -> None:
    sign_in(page, site, "clinician")
    page.goto(f"{site.url}/plan")
    page.keyboard.press("Tab")
    assert focused(page).endswith("Skip to content")
    page.keyboard.press("Enter")  # the skip link: past the menu, to the form
    presses = 1 + tabs_to(page, "Make plan")
    assert presses <= MAX_TABS, f"{presses} Tab presses to Make plan"
    shot(page, "1-make-plan-focused")
    # Without the skip link too (the menu's links and "Sign out" come first).
    page.goto(f"{site.url}/plan")
    assert tabs_to(page, "Make plan") <= MAX_TABS + 12


def test_every_problem_at_once_with_a_summary_that_links_to_the_fields(
    sign_in: SignIn, page: Page, site: Site, shot: Shot
) -> None:
    sign_in(page, site, "clinician")
    page.goto(f"{site.url}/plan")
    page.get_by_label("Serum total B12").fill("abc")
    open_section(page, "Guideline set and dates")
    page.get_by_label("Treatment start").fill("2099-01-01")
    page.get_by_role("button", name="Make plan").click()

    summary = page.locator("#problems")
    expect(summary).to_be_focused()  # read out first by a screen reader
    expect(summary.get_by_role("heading")).to_have_text("There are 3 problems")
    links = summary.get_by_role("link")
    expect(links).to_have_text(
        [
            "Enter the patient's age in years",
            "Enter serum total B12 as a number, in ng/L",
            re.compile(r"^The treatment start must be on or before \d{1,2} \w+ \d{4}$"),
        ]
    )
    body = page.locator("main").inner_text()
    for words in ("Field required", "picture.", "expected a", "labs.", "as_of"):
        assert words not in body
    shot(page, "1-summary")

    links.nth(2).click()  # lands on the field, inside its (opened) disclosure
    start = page.get_by_label("Treatment start")
    expect(start).to_be_focused()
    expect(start).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#err-start")).to_be_visible()
    expect(page.get_by_label("Serum total B12")).to_have_value("abc")

    page.get_by_label(re.compile(r"^Age\b")).fill("68")
    page.get_by_label("Cause", exact=True).select_option(label=NEURO_CAUSE)
    page.get_by_label("Serum total B12").fill("110")
    start.fill("")
    page.get_by_role("button", name="Make plan").click()
    expect(page.get_by_role("heading", name="Treatment plan", exact=True, level=1)).to_be_visible()


def fill_dose(page: Page, n: int, day: date) -> None:
    row = page.locator("fieldset.row-entry", has=page.get_by_text(f"Dose {n + 1}", exact=True))
    row.get_by_label("Date given").fill(day.isoformat())
    row.get_by_label("Product").select_option(label="Hydroxocobalamin")
    row.get_by_label("Dose", exact=True).fill("1")
    row.get_by_label("Route").select_option(label="Intramuscular (IM)")
    row.get_by_label("Site").select_option(label="Deltoid")


def test_dose_rows_with_javascript_add_a_row_in_place(
    sign_in: SignIn, page: Page, site: Site, shot: Shot
) -> None:
    sign_in(page, site, "nurse")
    page.goto(f"{site.url}/next")
    today = form_today(page)
    page.get_by_label(re.compile(r"^Age\b")).fill("68")
    page.get_by_label("Cause", exact=True).select_option(label=NEURO_CAUSE)
    page.get_by_label("Serum total B12").fill("110")
    loading = [today - timedelta(days=d) for d in (12, 10, 8, 5)]
    for n, day in enumerate(loading[:3]):
        fill_dose(page, n, day)
    url = page.url
    page.get_by_role("button", name="Add another dose").click()
    rows = page.locator("#rows-history > fieldset")
    expect(rows).to_have_count(4)
    assert page.url == url  # no round trip
    new_row = rows.nth(3)
    expect(new_row.get_by_label("Date given")).to_be_focused()
    expect(new_row.get_by_label("Product")).to_have_value("hydroxocobalamin")  # as the last one
    expect(new_row.get_by_label("Route")).to_have_value("im")
    new_row.get_by_label("Date given").fill(loading[3].isoformat())
    expect(page.get_by_label("Date given").first).to_have_value(loading[0].isoformat())
    shot(page, "1-rows", show=page.locator("#history"))

    open_section(page, "Events (optional)")
    event = page.locator("#rows-events > fieldset").first
    event.get_by_label("Date").fill((today - timedelta(days=1)).isoformat())
    event.get_by_label("What happened").select_option(label="Stable")
    page.get_by_label("Dose", exact=True).first.press("Enter")  # Enter assesses
    expect(page.locator("#next-due")).to_be_visible()
    shot(page, "2-assessed")


def test_dose_rows_without_javascript(browser: Browser, sign_in: SignIn, site: Site) -> None:
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        sign_in(page, site, "nurse")
        page.goto(f"{site.url}/next")
        today = form_today(page)
        page.get_by_label(re.compile(r"^Age\b")).fill("68")
        page.get_by_label("Cause", exact=True).select_option(label=NEURO_CAUSE)
        page.get_by_label("Serum total B12").fill("110")
        fill_dose(page, 0, today - timedelta(days=2))
        page.get_by_role("button", name="Add another dose").click()  # a round trip
        rows = page.locator("#rows-history > fieldset")
        expect(rows).to_have_count(4)
        expect(rows.first.get_by_label("Date given")).to_have_value(
            (today - timedelta(days=2)).isoformat()
        )
        expect(page.locator("#next-due")).to_have_count(0)  # nothing was assessed
        fill_dose(page, 3, today)
        page.get_by_role("button", name="Assess").click()
        expect(page.locator("#next-due")).to_be_visible()
    finally:
        context.close()


def test_a_row_problem_is_shown_on_its_row(
    sign_in: SignIn, page: Page, site: Site, shot: Shot
) -> None:
    sign_in(page, site, "nurse")
    page.goto(f"{site.url}/check")
    today = form_today(page)
    page.get_by_label("Dose", exact=True).first.fill("1")
    page.get_by_role("button", name="Add another dose").click()  # the order check draws one
    row = page.locator("#rows-history > fieldset").nth(1)
    row.get_by_label("Date given").fill((today + timedelta(days=3)).isoformat())
    row.get_by_label("Product").select_option(label="Hydroxocobalamin")
    page.get_by_role("button", name="Check order").click()

    summary = page.locator("#problems")
    expect(summary).to_contain_text("Dose 1: enter the dose given")
    expect(summary).to_contain_text("Dose 1: the date the dose was given cannot be after today's")
    expect(summary).to_contain_text("Enter the patient's age in years")
    first = page.locator("#rows-history > fieldset").first  # the empty row above was dropped
    expect(first.get_by_label("Date given")).to_have_attribute("aria-invalid", "true")
    shot(page, "1-row-problems", show=summary)
