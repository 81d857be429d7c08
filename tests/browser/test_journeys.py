"""User journeys in a real browser: what a clinician, nurse or reviewer sees and does.

Locators are accessible ones (label, role, name) wherever the page offers them, so these tests
also prove the labels and names exist.  Each journey saves screenshots of its key states.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from icalendar import Calendar
from playwright.sync_api import Browser, BrowserContext, Page, expect

from b12.core.knowledge import KnowledgeBase
from tests.browser.conftest import PASSWORD, TIMEOUT_MS, Shot, SignIn, Site

pytestmark = pytest.mark.browser

NEURO_CAUSE = "Autoimmune gastritis (pernicious anaemia)"
NITROUS_RULE = "B12-SAFE-027"  # draft citing the NG239 consultation (a superseded source)
COELIAC_RULE = "B12-DX-050"  # draft that a reviewer can approve
PHONE = {"width": 390, "height": 844}


# -- helpers ----------------------------------------------------------------------------------


def open_section(page: Page, summary: str) -> None:
    """Open the form's disclosure whose summary starts with ``summary`` (issue 15: optional
    groups of the forms sit behind <details>); an open one is left open."""
    toggle = page.locator("summary", has_text=re.compile("^" + re.escape(summary))).first
    if not toggle.evaluate("s => s.parentElement.open"):
        toggle.click()


def fill_neuro_picture(page: Page, *, serum_b12: str = "110") -> None:
    """The picture of journey 2: 68, autoimmune gastritis, paraesthesia, serum B12 110."""
    page.get_by_label(re.compile(r"^Age\b")).fill("68")
    page.get_by_label("Cause", exact=True).select_option(label=NEURO_CAUSE)
    open_section(page, "Neurological symptoms")
    page.get_by_label("Paraesthesia").check()
    page.get_by_label("Serum total B12").fill(serum_b12)


def make_neuro_plan(page: Page, site: Site) -> None:
    """Fill the new-plan form with the neurological picture and submit it."""
    page.goto(f"{site.url}/plan")
    fill_neuro_picture(page)
    page.get_by_role("button", name="Make plan").click()
    expect(page.get_by_role("heading", name="Treatment plan", exact=True, level=1)).to_be_visible()


def schedule_dates(page: Page, kind: str | None = None) -> list[date]:
    """Dates in the plan's schedule table (of one kind of entry, or all)."""
    table = page.get_by_role("table", name="Dated doses, reviews and tests")
    expect(table).to_be_visible()
    rows = table.locator("tbody tr" + (f".kind-{kind}" if kind else ""))
    # Dates read "Mon 7 Dec 2026"; the ISO date is the <time> element's datetime.
    cells = rows.locator("td:first-child time")
    return [
        date.fromisoformat(cells.nth(i).get_attribute("datetime") or "")
        for i in range(cells.count())
    ]


def body_text(page: Page) -> str:
    return page.locator("body").inner_text()


def other_user(browser: Browser, *, width: int = 1280, height: int = 900) -> BrowserContext:
    """Another user's independent context (close it when done)."""
    ctx = browser.new_context(viewport={"width": width, "height": height})
    ctx.set_default_timeout(TIMEOUT_MS)
    return ctx


# -- 1. sign in -------------------------------------------------------------------------------


def test_log_in(page: Page, site: Site, shot: Shot) -> None:
    page.goto(f"{site.url}/login")
    expect(page.get_by_role("heading", name="Sign in to b12")).to_be_visible()
    shot(page, "1-form")

    page.get_by_label("Username").fill(site.users["clinician"])
    page.get_by_label("Password").fill("not the password at all")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("wrong password")
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    shot(page, "2-wrong-password")

    page.get_by_label("Username").fill(site.users["clinician"])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{site.url}/plan")
    expect(page.get_by_role("heading", name="New treatment plan")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    expect(page.get_by_text(f"{site.users['clinician']} (clinician)")).to_be_visible()
    shot(page, "3-signed-in")


# -- 2. a plan for neurological symptoms ------------------------------------------------------


def test_neuro_plan_alternate_days_and_urgent_advice(
    sign_in: SignIn, page: Page, site: Site, shot: Shot
) -> None:
    sign_in(page, site, "clinician")
    page.goto(f"{site.url}/plan")
    fill_neuro_picture(page)
    shot(page, "1-form")
    page.get_by_role("button", name="Make plan").click()

    expect(page.get_by_role("heading", name="Treatment plan", exact=True, level=1)).to_be_visible()
    doses = schedule_dates(page, "dose")
    assert doses
    # Open-ended alternate-day loading is one repeating row up to the first review (issue 16).
    run = (
        page.get_by_role("table", name="Dated doses, reviews and tests")
        .locator("tbody tr.kind-dose")
        .first.locator(".repeat")
    )
    expect(run).to_contain_text("every 2 days from")
    assert int(run.get_attribute("data-count") or "0") >= 3
    urgent = page.locator('[data-code="NEURO_URGENT_ADVICE"]')
    expect(urgent).to_be_visible()
    expect(page.get_by_role("heading", name="Alerts")).to_be_visible()
    shot(page, "2-plan", show=urgent)
    shot(page, "3-schedule", show=page.get_by_role("heading", name=re.compile("^Schedule")))


# -- 3. patient language ----------------------------------------------------------------------


def test_patient_language_switch(sign_in: SignIn, page: Page, site: Site, shot: Shot) -> None:
    sign_in(page, site, "clinician")
    make_neuro_plan(page, site)
    expect(page.locator("[data-code]").first).to_be_visible()

    page.get_by_role("link", name="Show patient language").click()
    expect(page.get_by_role("heading", name="Your treatment plan", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="What we recommend")).to_be_visible()
    headline = page.locator(".headline")
    expect(headline).to_be_visible()
    assert headline.inner_text().strip()
    expect(page.locator("[data-code]")).to_have_count(0)
    assert "NEURO_URGENT_ADVICE" not in body_text(page)
    expect(page.get_by_role("table", name="Your appointment dates")).to_be_visible()
    shot(page, "1-patient", show=headline)

    page.get_by_role("link", name="Show clinician view").click()
    expect(page.get_by_role("heading", name="Treatment plan", exact=True, level=1)).to_be_visible()
    expect(page.locator('[data-code="NEURO_URGENT_ADVICE"]')).to_be_visible()
    expect(page.get_by_role("heading", name="What we recommend")).to_have_count(0)
    shot(page, "2-clinician", show=page.locator('[data-code="NEURO_URGENT_ADVICE"]'))


# -- 4. downloads -----------------------------------------------------------------------------


def test_download_calendar_and_pdf(sign_in: SignIn, page: Page, site: Site, shot: Shot) -> None:
    sign_in(page, site, "clinician")
    make_neuro_plan(page, site)
    first_on_page = schedule_dates(page)[0]

    ics_button = page.get_by_role("button", name="Calendar (.ics)")
    expect(ics_button).to_have_id("download-ics")
    shot(page, "1-downloads", show=ics_button)
    with page.expect_download() as info:
        ics_button.click()
    ics = info.value
    assert ics.suggested_filename.endswith(".ics")
    events = Calendar.from_ical(Path(ics.path()).read_bytes()).walk("VEVENT")
    assert events
    first_event = events[0].decoded("dtstart")
    assert first_event == first_on_page

    pdf_button = page.get_by_role("button", name="Clinician's copy (PDF)")
    expect(pdf_button).to_have_id("download-pdf")
    with page.expect_download() as info:
        pdf_button.click()
    pdf = info.value
    assert pdf.suggested_filename.endswith(".pdf")
    assert Path(pdf.path()).read_bytes().startswith(b"%PDF")
    # Downloads leave the page where it was.
    expect(page.get_by_role("heading", name="Treatment plan", exact=True, level=1)).to_be_visible()
    shot(page, "2-after-downloads", show=pdf_button)


# -- 5. enrol, record a dose, see the next due date move ---------------------------------------


def enrol(page: Page, site: Site, patient_id: str, *, start: date | None = None) -> None:
    """Enrol ``patient_id`` with the neurological picture (treatment starting ``start``)."""
    page.goto(f"{site.url}/patients/new")
    expect(page.get_by_role("heading", name="Enrol a patient")).to_be_visible()
    page.get_by_label("Patient id").fill(patient_id)
    page.get_by_label("Display name").fill(f"Browser test {patient_id}")
    # 68 on the form's date, as the picture's age says (a contradicting date of birth is refused)
    page.get_by_label("Date of birth").fill(f"{form_today(page).year - 68}-01-01")
    fill_neuro_picture(page)
    if start is not None:
        open_section(page, "Guideline set and dates")
        page.get_by_label("Treatment start").fill(start.isoformat())
    page.get_by_role("button", name="Enrol").click()
    expect(page.get_by_role("heading", name=f"Patient {patient_id}", level=1)).to_be_visible()


def form_today(page: Page) -> date:
    """The clinic's date as the enrolment form pre-fills it ("Today's date")."""
    return date.fromisoformat(page.get_by_label("Today's date").input_value())


def next_due(page: Page) -> date:
    """The next due date on a patient page."""
    text = page.locator("#next-due").inner_text()
    found = re.match(r"\d{4}-\d{2}-\d{2}", text)
    assert found, f"no next due date on the patient page: {text!r}"
    return date.fromisoformat(found.group())


def record_dose(page: Page, shot: Shot, step: str, *, given: date | None = None) -> None:
    """Record the pre-filled dose (on ``given``), confirming a questionable one."""
    form = page.locator("#dose-form")
    if given is not None:
        form.get_by_label("Date given").fill(given.isoformat())
    expect(form.get_by_label("Product")).to_have_value("hydroxocobalamin")
    expect(form.get_by_label("Dose", exact=True)).not_to_have_value("")
    form.get_by_role("button", name="Record dose").click()
    recorded = page.locator("#recorded")
    save_anyway = page.get_by_role("button", name="Save anyway")
    expect(recorded.or_(save_anyway)).to_be_visible()
    if save_anyway.is_visible():
        # The order check warned (first dose, off the due date): it shows why, unsaved.
        expect(page.get_by_role("heading", name=re.compile("Order check"))).to_contain_text(
            "not saved yet"
        )
        shot(page, f"{step}-order-check", show=page.locator("#dose-check"))
        save_anyway.click()
    expect(recorded).to_contain_text("recorded")


def test_enrol_record_dose_next_due_moves(
    sign_in: SignIn, page: Page, browser: Browser, site: Site, shot: Shot
) -> None:
    patient_id = "BT-ENROL-1"
    sign_in(page, site, "clinician")
    page.goto(f"{site.url}/patients/new")
    today = form_today(page)
    enrol(page, site, patient_id)
    first_due = next_due(page)
    assert first_due == today
    expect(page.locator("#dose-history")).to_have_count(0)
    shot(page, "1-enrolled")

    # A nurse records the first dose on the patient page.
    nurse = other_user(browser)
    try:
        nurse_page = nurse.new_page()
        sign_in(nurse_page, site, "nurse")
        nurse_page.goto(f"{site.url}/patients/{patient_id}")
        expect(nurse_page.locator("#next-due")).to_contain_text(first_due.isoformat())
        record_dose(nurse_page, shot, "2")
        after = next_due(nurse_page)
        assert after == first_due + timedelta(days=2)  # alternate days while neuro symptoms
        expect(nurse_page.locator("#dose-history tbody tr")).to_have_count(1)
        expect(nurse_page.locator("#dose-history")).to_contain_text(today.isoformat())
        shot(nurse_page, "3-recorded")
    finally:
        nurse.close()

    page.goto(f"{site.url}/patients")
    row = (
        page.get_by_role("table", name="Enrolled patients")
        .get_by_role("row")
        .filter(has_text=patient_id)
    )
    expect(row).to_contain_text(f"{after:%a} {after.day} {after:%b %Y}")  # dates in words


# -- 6. the recall list shows an overdue patient -----------------------------------------------


def test_recall_list_shows_overdue_patient(
    sign_in: SignIn, page: Page, site: Site, shot: Shot
) -> None:
    patient_id = "BT-OVERDUE-1"
    sign_in(page, site, "clinician")
    page.goto(f"{site.url}/patients/new")
    today = form_today(page)
    start = today - timedelta(days=150)
    enrol(page, site, patient_id, start=start)
    record_dose(page, shot, "1", given=start)
    due = next_due(page)
    assert due < today
    expect(page.locator("#overdue")).to_contain_text(f"{(today - due).days} days overdue")
    shot(page, "2-patient-overdue")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Recall list").click()
    expect(page.get_by_role("heading", name="Recall list")).to_be_visible()
    table = page.get_by_role("table", name="Patients due or overdue, most urgent first")
    row = table.get_by_role("row").filter(has_text=patient_id)
    expect(row).to_have_count(1)
    expect(row).to_have_class(re.compile(r"\boverdue\b"))
    expect(row.locator('[data-label="Overdue"]')).to_have_text(f"{(today - due).days} days overdue")
    expect(row).to_contain_text(f"{due:%a} {due.day} {due:%b %Y}")  # the due window, in words
    # Most urgent first: nobody is above a patient this overdue.
    expect(table.locator("tbody tr").first).to_have_attribute("data-patient", patient_id)
    shot(page, "3-recall")


# -- 7. bad lab values ------------------------------------------------------------------------


def test_bad_lab_value_on_plan_form(sign_in: SignIn, page: Page, site: Site, shot: Shot) -> None:
    sign_in(page, site, "clinician")
    page.goto(f"{site.url}/plan")
    fill_neuro_picture(page, serum_b12="abc")
    page.get_by_role("button", name="Make plan").click()

    field = page.get_by_label("Serum total B12")
    expect(field).to_have_attribute("aria-invalid", "true")
    error = page.locator("#err-labs-serum_b12_ng_l")
    expect(error).to_contain_text("Enter serum total B12 as a number, in ng/L")
    expect(field).to_have_attribute("aria-describedby", "err-labs-serum_b12_ng_l")
    expect(page.get_by_role("alert")).to_contain_text("serum total B12")
    expect(field).to_have_value("abc")  # what the clinician typed is kept
    expect(page.get_by_role("heading", name="Treatment plan", exact=True, level=1)).to_have_count(0)
    shot(page, "1-summary")
    shot(page, "2-inline-error", show=error)

    field.fill("-5")
    page.get_by_role("button", name="Make plan").click()
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#err-labs-serum_b12_ng_l")).to_be_visible()
    expect(page.get_by_role("heading", name="Treatment plan", exact=True, level=1)).to_have_count(0)
    shot(page, "3-negative", show=field)


def test_bad_lab_value_on_enrol_form_saves_nothing(
    sign_in: SignIn, page: Page, site: Site, shot: Shot
) -> None:
    patient_id = "BT-BAD-LAB-1"
    sign_in(page, site, "clinician")
    page.goto(f"{site.url}/patients/new")
    page.get_by_label("Patient id").fill(patient_id)
    fill_neuro_picture(page, serum_b12="-5")
    page.get_by_role("button", name="Enrol").click()

    field = page.get_by_label("Serum total B12")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_attribute("aria-describedby", "err-labs-serum_b12_ng_l")
    expect(page.locator("#err-labs-serum_b12_ng_l")).to_be_visible()
    expect(page.get_by_role("heading", name="Enrol a patient")).to_be_visible()
    expect(page.get_by_label("Patient id")).to_have_value(patient_id)
    shot(page, "1-inline-error", show=field)

    page.goto(f"{site.url}/patients")
    expect(page.get_by_role("heading", name="Patients", level=1)).to_be_visible()
    assert patient_id not in body_text(page)
    shot(page, "2-not-listed")


# -- 8. review workflow (its own server: approving changes every later plan) --------------------


def make_nitrous_plan(page: Page, site: Site, *, allow_draft: bool) -> None:
    """The picture of vignette V-035 (nitrous oxide with neurological symptoms)."""
    page.goto(f"{site.url}/plan")
    page.get_by_label(re.compile(r"^Age\b")).fill("21")
    page.get_by_label("Sex").select_option("male")
    page.get_by_label("Cause", exact=True).select_option(label="Nitrous oxide exposure")
    open_section(page, "Current medicines")
    page.get_by_role("checkbox", name="Nitrous oxide", exact=True).check()
    open_section(page, "Neurological symptoms")
    page.get_by_label("Paraesthesia").check()
    page.get_by_label("Ataxia").check()
    page.get_by_label("Serum total B12").fill("150")
    open_section(page, "More results")
    page.get_by_label("Total homocysteine").fill("48")
    submit_plan(page, allow_draft=allow_draft)


def make_no_cause_plan(page: Page, site: Site, *, allow_draft: bool) -> None:
    """The picture of vignette V-180 (confirmed deficiency, no cause found)."""
    page.goto(f"{site.url}/plan")
    page.get_by_label(re.compile(r"^Age\b")).fill("45")
    page.get_by_label("Sex").select_option("female")
    page.get_by_label("Diet", exact=True).select_option("omnivore")
    page.get_by_label("Cause", exact=True).select_option(label="Cause not yet known")
    page.get_by_label("Serum total B12").fill("120")
    page.get_by_label("Haemoglobin").fill("118")
    submit_plan(page, allow_draft=allow_draft)


def submit_plan(page: Page, *, allow_draft: bool) -> None:
    draft = page.get_by_label("Include content pending review")
    if allow_draft:
        draft.check()
    expect(draft).to_be_checked(checked=allow_draft)
    page.get_by_role("button", name="Make plan").click()
    expect(page.get_by_role("heading", name="Treatment plan", exact=True, level=1)).to_be_visible()


def switch_user(sign_in: SignIn, page: Page, site: Site, role: str) -> None:
    """Sign in as another user in the same page (the author and the approver differ)."""
    page.context.clear_cookies()
    sign_in(page, site, role)


def move(page: Page, shot: Shot, step: str, button_id: str, name: str, to_status: str) -> None:
    """Press the review button ``name`` (which must have ``button_id``) on a /kb item page."""
    button = page.get_by_role("button", name=name, exact=True)
    expect(button).to_have_id(button_id)
    button.click()
    if name.endswith("…"):  # a move that changes plans: see what it would change, then confirm
        expect(page.locator("#impact-summary")).to_be_visible()
        shot(page, f"{step}-confirm-{to_status}", show=page.locator("#h-impact"))
        page.get_by_role("button", name=re.compile("^Confirm")).click()  # unticked: refused
        expect(page.locator("#impact-summary")).to_be_visible()
        page.get_by_label(re.compile("I have read")).check()
        page.get_by_role("button", name=re.compile("^Confirm")).click()
    expect(page.locator("#item-status")).to_have_text(to_status)
    shot(page, f"{step}-{to_status}")


def test_reviewer_approves_draft_and_banner_goes(
    sign_in: SignIn, page: Page, review_site: Site, shot: Shot, kb: KnowledgeBase
) -> None:
    site = review_site
    rule = kb.recommendations[COELIAC_RULE]
    coeliac = page.locator('[data-code="COELIAC_TESTING"]')
    banner = page.locator("#review-banner")
    sign_in(page, site, "reviewer")

    make_no_cause_plan(page, site, allow_draft=True)
    expect(banner).to_be_visible()
    expect(coeliac).to_contain_text(rule.clinician_text)
    shot(page, "1-draft-plan")
    make_no_cause_plan(page, site, allow_draft=False)
    expect(banner).to_have_count(0)
    expect(coeliac).to_have_count(0)

    switch_user(sign_in, page, site, "clinician")  # the author submits ...
    page.goto(f"{site.url}/kb/{COELIAC_RULE}")
    expect(page.locator("#item-status")).to_have_text("draft")
    move(page, shot, "2", "move-submitted", "Submit", "submitted")
    switch_user(sign_in, page, site, "reviewer")  # ... and a second person approves
    page.goto(f"{site.url}/kb/{COELIAC_RULE}")
    move(page, shot, "3", "move-in-review", "Start review", "in-review")
    move(page, shot, "4", "move-approved", "Approve…", "approved")
    expect(page.get_by_role("table")).to_contain_text("in-review → approved")
    expect(page.locator("#item-level")).to_have_text(
        "Engineering-reviewed; not clinically signed off"
    )

    make_no_cause_plan(page, site, allow_draft=False)
    expect(banner).to_have_count(0)
    expect(coeliac).to_contain_text(rule.clinician_text)
    shot(page, "5-approved-plan", show=coeliac)
    # Nothing is pending any more, so even asking for drafts gives no banner.
    make_no_cause_plan(page, site, allow_draft=True)
    expect(banner).to_have_count(0)
    expect(coeliac).to_contain_text(rule.clinician_text)


def test_reviewer_cannot_approve_draft_citing_superseded_source(
    sign_in: SignIn, page: Page, review_site: Site, shot: Shot, kb: KnowledgeBase
) -> None:
    site = review_site
    rule = kb.recommendations[NITROUS_RULE]
    nitrous = page.locator('[data-code="NITROUS_OXIDE"]')
    banner = page.locator("#review-banner")
    sign_in(page, site, "reviewer")

    make_nitrous_plan(page, site, allow_draft=True)
    expect(banner).to_be_visible()
    expect(nitrous).to_contain_text(rule.clinician_text)
    shot(page, "1-draft-plan")

    switch_user(sign_in, page, site, "clinician")
    page.goto(f"{site.url}/kb/{NITROUS_RULE}")
    expect(page.locator("#item-status")).to_have_text("draft")
    move(page, shot, "2", "move-submitted", "Submit", "submitted")
    switch_user(sign_in, page, site, "reviewer")
    page.goto(f"{site.url}/kb/{NITROUS_RULE}")
    move(page, shot, "3", "move-in-review", "Start review", "in-review")
    page.get_by_role("button", name="Approve…", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("superseded source")
    expect(page.locator("#item-status")).to_have_text("in-review")
    shot(page, "4-approval-refused")

    make_nitrous_plan(page, site, allow_draft=False)
    expect(banner).to_have_count(0)
    expect(nitrous).to_be_visible()
    expect(nitrous).not_to_contain_text(rule.clinician_text)
    shot(page, "5-plan-without-draft", show=nitrous)


# -- 9. keyboard and phone width --------------------------------------------------------------


def test_keyboard_sign_in(page: Page, site: Site, shot: Shot) -> None:
    page.goto(f"{site.url}/login")
    username = page.get_by_label("Username")
    password = page.get_by_label("Password")
    button = page.get_by_role("button", name="Sign in")
    expect(username).to_be_focused()  # autofocus
    # From the top of the page: skip link, home link, then the username field.
    page.get_by_role("link", name="Skip to content").focus()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="b12", exact=True)).to_be_focused()
    page.keyboard.press("Tab")
    expect(username).to_be_focused()
    page.keyboard.type(site.users["nurse"])
    page.keyboard.press("Tab")
    expect(password).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Tab")
    expect(button).to_be_focused()
    shot(page, "1-button-focused")
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    expect(page.get_by_text(f"{site.users['nurse']} (nurse)")).to_be_visible()
    shot(page, "2-signed-in")


def scroll_width(page: Page) -> int:
    width: int = page.evaluate("document.documentElement.scrollWidth")
    return width


def test_phone_width_plan_has_no_sideways_scroll(
    sign_in: SignIn, browser: Browser, site: Site, shot: Shot
) -> None:
    phone = other_user(browser, **PHONE)
    try:
        page = phone.new_page()
        sign_in(page, site, "clinician")
        make_neuro_plan(page, site)
        assert scroll_width(page) <= PHONE["width"] + 1, "the plan page scrolls sideways"
        expect(page.locator('[data-code="NEURO_URGENT_ADVICE"]')).to_be_visible()
        shot(page, "1-plan")
        page.get_by_role("link", name="Show patient language").click()
        expect(page.get_by_role("heading", name="What we recommend")).to_be_visible()
        assert scroll_width(page) <= PHONE["width"] + 1, "the patient view scrolls sideways"
        shot(page, "2-patient-view")
    finally:
        phone.close()


def test_phone_width_plan_form_has_no_sideways_scroll(
    sign_in: SignIn, browser: Browser, site: Site, shot: Shot
) -> None:
    phone = other_user(browser, **PHONE)
    try:
        page = phone.new_page()
        sign_in(page, site, "clinician")
        page.goto(f"{site.url}/plan")
        shot(page, "1-form")
        assert scroll_width(page) <= PHONE["width"] + 1, "the plan form scrolls sideways"
    finally:
        phone.close()


# -- 5b. "Save anyway" saves what is on screen (issue 12, item 3) ------------------------------


def test_save_anyway_saves_the_values_on_screen_after_an_edit(
    sign_in: SignIn, page: Page, site: Site, shot: Shot
) -> None:
    patient_id = "BT-EDIT-SAVE-1"
    sign_in(page, site, "clinician")
    page.goto(f"{site.url}/patients/new")
    start = form_today(page) - timedelta(days=6)
    enrol(page, site, patient_id, start=start)
    record_dose(page, shot, "1", given=start)
    history = page.locator("#dose-history tbody tr")
    expect(history).to_have_count(1)

    # A dose one day after the first: the check warns (early) and the form stays editable.
    form = page.locator("#dose-form")
    form.get_by_label("Date given").fill((start + timedelta(days=1)).isoformat())
    form.get_by_role("button", name="Record dose").click()
    expect(page.locator("#dose-check")).to_contain_text("not saved yet")
    shot(page, "2-warned", show=page.locator("#dose-check"))

    # The user changes the date to one that still needs a look, then presses "Save anyway":
    # nothing is saved on the stale check; the new date is checked instead.
    form.get_by_label("Date given").fill(start.isoformat())
    page.get_by_role("button", name="Save anyway").click()
    expect(page.locator("#rechecked")).to_be_visible()
    expect(form.get_by_label("Date given")).to_have_value(start.isoformat())
    expect(history).to_have_count(1)
    shot(page, "3-checked-again", show=page.locator("#dose-check"))

    # Then to the due date (on time): "Save anyway" saves exactly what is on screen.
    due = start + timedelta(days=2)
    form.get_by_label("Date given").fill(due.isoformat())
    page.get_by_role("button", name="Save anyway").click()
    expect(page.locator("#recorded")).to_contain_text("recorded")
    expect(history).to_have_count(2)
    table = page.locator("#dose-history")
    expect(table).to_contain_text(due.isoformat())
    expect(table).not_to_contain_text((start + timedelta(days=1)).isoformat())
    shot(page, "4-saved", show=page.locator("#dose-history"))


# -- enrol an established patient (a course already under way) ---------------------------------


def test_enrol_a_patient_already_on_maintenance(
    sign_in: SignIn, page: Page, site: Site, shot: Shot
) -> None:
    patient_id = "BT-ESTABLISHED-1"
    sign_in(page, site, "clinician")
    page.goto(f"{site.url}/patients/new")
    today = form_today(page)
    page.get_by_label("Patient id").fill(patient_id)
    page.get_by_label(re.compile(r"^Age\b")).fill("72")
    page.get_by_label("Cause", exact=True).select_option(label=NEURO_CAUSE)
    page.get_by_label("Serum total B12").fill("110")
    open_section(page, "Course already under way")
    page.get_by_label("Stage reached").select_option(label="On maintenance")
    # A date after today's is refused inline, and nothing is saved.
    page.get_by_label("Since").fill((today + timedelta(days=1)).isoformat())
    page.get_by_role("button", name="Enrol").click()
    since = page.get_by_label("Since")
    expect(since).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("alert")).to_contain_text(
        "The date the course reached this stage cannot be after today's date"
    )
    shot(page, "1-since-in-the-future")

    page.get_by_label("Since").fill((today - timedelta(days=400)).isoformat())
    page.get_by_label(re.compile(r"^Maintenance every")).fill("3")
    page.get_by_role("button", name="Enrol").click()
    expect(page.get_by_role("heading", name=f"Patient {patient_id}", level=1)).to_be_visible()
    expect(page.locator("#next-due")).to_contain_text(re.compile(r"\d{4}-\d\d-\d\d"))
    expect(page.locator("#next-due")).not_to_contain_text("overdue")
    expect(page.locator("dt:text-is('Phase') + dd")).to_have_text("maintenance")
    shot(page, "2-enrolled-on-maintenance")
