"""Every page and page state passes axe-core's WCAG 2.2 A/AA rules, at desktop and phone width.

Page states include forms with every error showing, results, the patient record after a dose,
the recall list, the knowledge-base pages and the answer page: the states a clinician, a nurse
or a reviewer meets.  Other journeys call :func:`assert_accessible` on their own states too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect

from tests.browser.axe_check import assert_accessible
from tests.browser.conftest import TIMEOUT_MS, Shot, SignIn, Site
from tests.browser.test_journeys import enrol, fill_neuro_picture, make_neuro_plan, record_dose

pytestmark = pytest.mark.browser

WIDTHS: dict[str, ViewportSize] = {
    "desktop": {"width": 1280, "height": 900},
    "phone": {"width": 390, "height": 844},
}


@pytest.fixture(params=sorted(WIDTHS))
def sized(browser: Browser, request: pytest.FixtureRequest) -> Iterator[tuple[str, Page]]:
    """A fresh page at desktop and at phone width."""
    width = str(request.param)
    ctx: BrowserContext = browser.new_context(viewport=WIDTHS[width])
    ctx.set_default_timeout(TIMEOUT_MS)
    try:
        yield width, ctx.new_page()
    finally:
        ctx.close()


def test_sign_in_pages(sized: tuple[str, Page], site: Site) -> None:
    width, page = sized
    page.goto(f"{site.url}/login")
    assert_accessible(page, f"sign-in ({width})")
    page.get_by_label("Username").fill("nobody")
    page.get_by_label("Password").fill("wrong password entirely")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert_accessible(page, f"sign-in refused ({width})")


def test_clinician_pages(sized: tuple[str, Page], sign_in: SignIn, site: Site) -> None:
    width, page = sized
    sign_in(page, site, "clinician")
    page.goto(f"{site.url}/")
    assert_accessible(page, f"home ({width})")

    page.goto(f"{site.url}/plan")
    assert_accessible(page, f"plan form ({width})")
    fill_neuro_picture(page, serum_b12="abc")
    page.get_by_role("button", name="Make plan").click()
    expect(page.get_by_role("alert").first).to_be_visible()
    assert_accessible(page, f"plan form with errors ({width})")

    make_neuro_plan(page, site)
    assert_accessible(page, f"plan result ({width})")

    page.goto(f"{site.url}/check")
    assert_accessible(page, f"order-check form ({width})")
    page.goto(f"{site.url}/next")
    assert_accessible(page, f"follow-up form ({width})")

    page.goto(f"{site.url}/ask?q=how+often+are+maintenance+injections+given")
    assert_accessible(page, f"answer ({width})")


def test_nurse_patient_pages(sized: tuple[str, Page], sign_in: SignIn, site: Site) -> None:
    width, page = sized
    patient_id = f"BT-A11Y-{width.upper()}"
    sign_in(page, site, "clinician")
    page.goto(f"{site.url}/patients/new")
    assert_accessible(page, f"enrol form ({width})")
    enrol(page, site, patient_id)
    assert_accessible(page, f"patient record, no dose yet ({width})")
    record_dose(page, lambda *a, **k: None, "a11y")  # type: ignore[arg-type]
    assert_accessible(page, f"patient record after a dose ({width})")

    page.goto(f"{site.url}/patients")
    assert_accessible(page, f"patient list ({width})")
    page.goto(f"{site.url}/recall")
    assert_accessible(page, f"recall list ({width})")
    page.goto(f"{site.url}/recall?status=not-a-status")
    assert_accessible(page, f"recall list, bad filter ({width})")


def test_reviewer_pages(sized: tuple[str, Page], sign_in: SignIn, site: Site) -> None:
    width, page = sized
    sign_in(page, site, "reviewer")
    page.goto(f"{site.url}/kb")
    assert_accessible(page, f"knowledge base ({width})")
    first = page.locator("main a[href^='/kb/B12-']").first
    href = first.get_attribute("href")
    assert href
    assert re.match(r"^/kb/B12-", href)
    page.goto(f"{site.url}{href}")
    assert_accessible(page, f"knowledge-base item ({width})")


def test_review_confirmation_and_search(
    sized: tuple[str, Page], sign_in: SignIn, review_site: Site
) -> None:
    width, page = sized
    sign_in(page, review_site, "reviewer")
    page.goto(f"{review_site.url}/kb?q=coeliac&evidence=vibes")
    expect(page.get_by_role("alert")).to_contain_text("not one of the choices")
    assert_accessible(page, f"knowledge-base search with a bad filter ({width})")
    page.goto(f"{review_site.url}/kb/B12-DX-040/confirm?to_status=retired")
    assert_accessible(page, f"refused confirmation ({width})")


def test_the_menu_folds_at_phone_width_and_opens_on_demand(
    browser: Browser, sign_in: SignIn, site: Site, shot: Shot
) -> None:
    wide = browser.new_context(viewport=WIDTHS["desktop"])
    phone = browser.new_context(viewport=WIDTHS["phone"])
    try:
        page = wide.new_page()
        sign_in(page, site, "nurse")
        page.goto(f"{site.url}/patients")
        nav = page.get_by_role("navigation", name="Main")
        expect(nav.get_by_role("link", name="Recall list")).to_be_visible()
        expect(page.get_by_text("Menu", exact=True)).to_be_hidden()

        small = phone.new_page()
        sign_in(small, site, "nurse")
        small.goto(f"{site.url}/patients")
        link = small.get_by_role("navigation", name="Main").get_by_role("link", name="Recall list")
        expect(link).to_be_hidden()  # folded: the page starts with its content
        shot(small, "1-phone-folded")
        small.get_by_text("Menu", exact=True).click()
        expect(link).to_be_visible()
        shot(small, "2-phone-open")
        assert_accessible(small, "phone menu open")
        link.click()
        expect(small.get_by_role("heading", name="Recall list")).to_be_visible()
    finally:
        wide.close()
        phone.close()
