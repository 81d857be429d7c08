"""A practice's first day in Chromium: an admin checks the register file, imports it, and the
review and the recall outreach show the patients; a nurse marks a recall row."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Shot, SignIn, Site, launch_site
from tests.registry.register_csv import make_register

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def register_site(tmp_path_factory: pytest.TempPathFactory, chromium: Path) -> Iterator[Site]:
    """Its own live server: an admin (the import) and a nurse (the outreach)."""
    server, site = launch_site(tmp_path_factory.mktemp("register"), "register", ("admin", "nurse"))
    try:
        yield site
    finally:
        server.stop()


def test_first_day_check_import_review_and_mark(
    sign_in: SignIn, page: Page, register_site: Site, shot: Shot, tmp_path: Path
) -> None:
    today = date.today()  # noqa: DTZ011 - the live server writes as of the real local today
    register = make_register(24, today, bad_every=10).write(tmp_path / "register.csv")
    sign_in(page, register_site, "admin")
    page.goto(f"{register_site.url}/register")
    expect(page.get_by_role("heading", name="Bring a register in")).to_be_visible()

    page.get_by_label("Register file (CSV)").set_input_files(str(register))
    page.get_by_role("button", name="Check the file").click()
    expect(page.locator("#import-summary")).to_contain_text("2 refused")
    expect(page.locator("#import-summary")).to_contain_text("nothing written")
    lines = page.locator("#import-rows tr.refused td:first-child").all_inner_texts()
    assert set(lines) == {"12", "22"}
    shot(page, "1-dry-run")

    page.get_by_label("Register file (CSV)").set_input_files(str(register))
    page.get_by_label("Dry run (report only, write nothing)").uncheck()
    page.get_by_role("button", name="Check the file").click()
    expect(page.locator("#import-summary")).to_contain_text("22 written")
    expect(page.locator("#review-rows tbody tr").first).to_be_visible()
    shot(page, "2-imported", show=page.locator("#review"))

    nurse = page.context.browser.new_page() if page.context.browser else page
    sign_in(nurse, register_site, "nurse")
    nurse.goto(f"{register_site.url}/register")
    expect(nurse.get_by_role("heading", name="Bring a register in")).to_have_count(0)
    row = nurse.locator("#outreach-rows tbody tr").first
    patient = row.get_attribute("data-patient")
    row.get_by_label("Mark").select_option("invited")
    row.get_by_label("Note").fill("text sent")
    row.get_by_role("button", name="Mark").click()
    marked = nurse.locator(f'#outreach-rows tr[data-patient="{patient}"]')
    expect(marked).to_contain_text(f"invited by {register_site.users['nurse']}")
    shot(nurse, "3-marked", show=marked)
    nurse.close()
