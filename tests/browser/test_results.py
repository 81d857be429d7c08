"""Result pages that stay with their inputs (issue 15), in Chromium.

A GP makes a plan and sees what was entered and what to do now at the top; edits the details
(every input kept); shares the result's URL with a colleague signed in elsewhere; goes Back and
Forward without a "Confirm form resubmission".  An order check restates what was checked, and
"Check another order" keeps the patient while clearing the order.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, Response, expect

from tests.browser.conftest import Shot, SignIn, Site
from tests.browser.test_journeys import enrol, fill_neuro_picture, other_user

pytestmark = pytest.mark.browser

RESULT = re.compile(r"/(plan|check|next)/r/[A-Za-z0-9_-]{32}$")


def make_plan(page: Page) -> None:
    page.get_by_role("button", name="Make plan").click()
    expect(page.get_by_role("heading", name="Treatment plan", exact=True, level=1)).to_be_visible()


def _get(response: Response | None) -> Response:
    assert response is not None
    return response


def test_gp_makes_a_plan_edits_details_shares_the_link_and_goes_back(
    sign_in: SignIn, page: Page, browser: Browser, site: Site, shot: Shot
) -> None:
    sign_in(page, site, "clinician")
    page.goto(f"{site.url}/plan")
    fill_neuro_picture(page)
    make_plan(page)

    # The result has its own URL, reached by a GET after the form's POST.
    first_url = page.url
    assert RESULT.search(first_url), first_url
    summary = page.locator("#summary")
    expect(summary).to_contain_text("68")
    expect(summary).to_contain_text("autoimmune gastritis")
    expect(summary).to_contain_text("B12 110 ng/L")
    expect(summary).to_contain_text("paraesthesia")
    expect(summary).to_contain_text("UK")
    do_now = page.get_by_role("region", name="Do now")
    expect(do_now).to_contain_text("First dose:")
    expect(do_now).to_contain_text("Potassium check:")
    expect(do_now).to_contain_text("Review:")
    expect(do_now.locator('[data-alert="NEURO_URGENT_ADVICE"]')).to_contain_text("Urgent:")
    assert "POTASSIUM_48H" not in page.locator("main").inner_text()
    assert not re.search(r"\d{4}-\d\d-\d\d", page.locator("main").inner_text())
    expect(page.locator("footer")).to_contain_text("not a prescriber")
    shot(page, "1-plan-top")

    # Edit details: the form again with every input kept; change the B12 and make it again.
    page.get_by_role("link", name="Edit details").click()
    expect(page.get_by_role("heading", name="New treatment plan")).to_be_visible()
    expect(page.get_by_label(re.compile(r"^Age\b"))).to_have_value("68")
    expect(page.get_by_label("Serum total B12")).to_have_value("110")
    expect(page.get_by_label("Paraesthesia")).to_be_checked()
    shot(page, "2-edit-details")
    page.get_by_label("Serum total B12").fill("95")
    make_plan(page)
    second_url = page.url
    assert RESULT.search(second_url)
    assert second_url != first_url
    expect(page.locator("#summary")).to_contain_text("B12 95 ng/L")

    # Back and Forward are GETs of pages that exist: no form is sent again.
    back = _get(page.go_back())
    assert back.request.method == "GET"
    expect(page.get_by_role("heading", name="New treatment plan")).to_be_visible()
    back = _get(page.go_back())
    assert back.request.method == "GET"
    assert page.url == first_url
    expect(page.locator("#summary")).to_contain_text("B12 110 ng/L")
    forward = _get(page.go_forward())
    assert forward.request.method == "GET"
    expect(page.get_by_role("heading", name="New treatment plan")).to_be_visible()
    _get(page.go_back())
    reloaded = _get(page.reload())
    assert reloaded.request.method == "GET"
    assert reloaded.status == 200

    # The link, opened by another user signed in elsewhere, shows the same result.
    shared = page.locator("#share-url").input_value()
    assert shared == first_url
    colleague = other_user(browser)
    try:
        nurse_page = colleague.new_page()
        sign_in(nurse_page, site, "nurse")
        nurse_page.goto(shared)
        expect(nurse_page.locator("#summary")).to_have_text(page.locator("#summary").inner_text())
        expect(nurse_page.get_by_role("region", name="Do now")).to_contain_text("First dose:")
        shot(nurse_page, "3-shared-with-nurse")
    finally:
        colleague.close()


def test_a_shared_link_asks_a_stranger_to_sign_in(
    sign_in: SignIn, page: Page, browser: Browser, site: Site
) -> None:
    sign_in(page, site, "clinician")
    page.goto(f"{site.url}/plan")
    fill_neuro_picture(page)
    make_plan(page)
    stranger = other_user(browser)
    try:
        anonymous = stranger.new_page()
        anonymous.goto(page.url)
        expect(anonymous.get_by_role("heading", name="Sign in to b12")).to_be_visible()
        assert "110" not in anonymous.locator("body").inner_text()
    finally:
        stranger.close()


def test_order_check_restates_the_order_and_check_another_keeps_the_patient(
    sign_in: SignIn, page: Page, site: Site, shot: Shot
) -> None:
    sign_in(page, site, "clinician")
    page.goto(f"{site.url}/check")
    order = page.get_by_role("group", name="Proposed order")
    order.get_by_label("Product", exact=True).select_option("hydroxocobalamin")
    order.get_by_label("Dose", exact=True).fill("1")
    order.get_by_label("Site", exact=True).select_option("deltoid")
    today = page.get_by_label("Today's date").input_value()
    dose1 = page.get_by_role("group", name="Dose 1")
    dose1.get_by_label("Date given").fill(today)
    dose1.get_by_label("Product").select_option("hydroxocobalamin")
    dose1.get_by_label("Dose").fill("1")
    dose1.get_by_label("Route").select_option("im")
    dose1.get_by_label("Site").select_option("deltoid")
    fill_neuro_picture(page)
    page.get_by_role("button", name="Check order").click()

    expect(page.get_by_role("heading", name=re.compile("^Order check:"), level=1)).to_be_visible()
    assert RESULT.search(page.url), page.url
    checked = page.get_by_role("region", name="What was checked")
    for text in ("Hydroxocobalamin", "1 mg", "intramuscular (IM)", "deltoid (upper arm)"):
        expect(checked).to_contain_text(text)
    expect(checked.get_by_role("table")).to_contain_text("Hydroxocobalamin")
    expect(page.locator("#summary")).to_contain_text("1 dose on record")
    shot(page, "1-check-result")

    page.get_by_role("link", name="Check another order").click()
    expect(page.get_by_role("heading", name="Check a proposed order")).to_be_visible()
    dose1 = page.get_by_role("group", name="Dose 1")  # the history stays
    expect(dose1.get_by_label("Date given")).to_have_value(today)
    expect(dose1.get_by_label("Product")).to_have_value("hydroxocobalamin")
    expect(dose1.get_by_label("Site")).to_have_value("deltoid")
    expect(page.get_by_label(re.compile(r"^Age\b"))).to_have_value("68")
    order = page.get_by_role("group", name="Proposed order")  # the order is cleared
    expect(order.get_by_label("Dose", exact=True)).to_have_value("")
    expect(order.get_by_label("Site", exact=True)).to_have_value("")
    shot(page, "2-check-another")


def test_follow_up_and_order_check_open_pre_filled_from_the_patient_record(
    sign_in: SignIn, page: Page, site: Site, shot: Shot
) -> None:
    patient_id = "BT-RESULTS-1"
    sign_in(page, site, "clinician")
    enrol(page, site, patient_id)

    page.goto(f"{site.url}/next?patient={patient_id}")
    expect(page.locator("#prefilled")).to_contain_text(patient_id)
    expect(page.get_by_label(re.compile(r"^Age\b"))).to_have_value("68")
    expect(page.get_by_label("Paraesthesia")).to_be_checked()
    page.get_by_role("button", name="Assess").click()
    expect(page.get_by_role("heading", name="Follow-up", level=1)).to_be_visible()
    assert RESULT.search(page.url), page.url
    expect(page.get_by_role("region", name="Do now")).to_contain_text("Next dose due:")
    expect(page.locator("#summary")).to_contain_text("no doses on record")
    expect(page.get_by_role("link", name="Patient record")).to_have_attribute(
        "href", f"/patients/{patient_id}"
    )
    shot(page, "1-follow-up")

    page.goto(f"{site.url}/check?patient={patient_id}")
    order = page.get_by_role("group", name="Proposed order")
    order.get_by_label("Product", exact=True).select_option("hydroxocobalamin")
    order.get_by_label("Dose", exact=True).fill("1")
    page.get_by_role("button", name="Check order").click()
    expect(page.get_by_role("heading", name=re.compile("^Order check:"), level=1)).to_be_visible()
    do_now = page.get_by_role("region", name="Do now")
    expect(do_now).to_contain_text("Timing: First dose of the course")
    page.get_by_role("link", name="Check another order").click()
    expect(page.locator("#prefilled")).to_contain_text(patient_id)  # still this patient
    expect(
        page.get_by_role("group", name="Proposed order").get_by_label("Dose", exact=True)
    ).to_have_value("")
    shot(page, "2-check-another-same-patient")


def test_phone_width_result_top_fits_and_do_now_is_on_the_first_screen(
    sign_in: SignIn, browser: Browser, site: Site, shot: Shot
) -> None:
    phone = other_user(browser, width=390, height=844)
    try:
        page = phone.new_page()
        sign_in(page, site, "clinician")
        page.goto(f"{site.url}/plan")
        fill_neuro_picture(page)
        make_plan(page)
        width: int = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 391, "the result page scrolls sideways"
        box = page.get_by_role("region", name="Do now").bounding_box()
        assert box is not None
        assert box["y"] < 844, "Do now is below the first screen"
        shot(page, "1-phone")
    finally:
        phone.close()


def test_back_from_a_result_to_a_corrected_form_does_not_resubmit(
    sign_in: SignIn, page: Page, site: Site
) -> None:
    """A form answered with problems (HTTP 422, nothing saved) is made a GET history entry."""
    sign_in(page, site, "clinician")
    page.goto(f"{site.url}/plan")
    fill_neuro_picture(page)
    page.get_by_label("Serum total B12").fill("abc")
    page.get_by_role("button", name="Make plan").click()
    expect(page.locator("#problems")).to_be_visible()
    page.get_by_label("Serum total B12").fill("110")
    make_plan(page)
    back = _get(page.go_back())  # raises net::ERR_CACHE_MISS on a POST entry
    assert back.request.method == "GET"
    expect(page.get_by_role("heading", name="New treatment plan")).to_be_visible()
