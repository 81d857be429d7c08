"""Browser fixtures: Debian's Chromium driven by Playwright against the real ``b12 serve``.

One browser for the session and a fresh context (cookies, storage) per test.  The shared live
server runs on a temporary SQLite file with one user per role, created through the real CLI.
Playwright never downloads a browser: ``/usr/bin/chromium`` is used (``scripts/chromium``
installs it).  Without it the tests skip, or fail when ``B12_REQUIRE_BROWSER=1``.

Screenshots of each journey's key states go to ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Cookie,
    Locator,
    Page,
    expect,
    sync_playwright,
)

from tests.live_server import ROOT, LiveServer, add_user

CHROMIUM = Path("/usr/bin/chromium")
REQUIRE_BROWSER_ENV = "B12_REQUIRE_BROWSER"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PASSWORD = "correct horse battery staple 1"
ROLES = ("clinician", "nurse", "reviewer")
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
TIMEOUT_MS = 10_000
#: The practice printed on the patient's printout.
PRACTICE_ENV = {"B12_PRACTICE_NAME": "Riverside Surgery", "B12_PRACTICE_PHONE": "020 7946 0000"}


@dataclass(frozen=True)
class Site:
    """A running ``b12 serve`` and the users it knows (username by role)."""

    url: str
    db_url: str
    users: dict[str, str]


def launch_site(tmp: Path, name: str, roles: tuple[str, ...] = ROLES) -> tuple[LiveServer, Site]:
    """Start ``b12 serve`` on a fresh SQLite file in ``tmp`` and add one user per role."""
    db_url = f"sqlite:///{tmp / (name + '.sqlite')}"
    # No log file: LiveServer.start leaves the parent's handle open (a ResourceWarning).
    server = LiveServer(db_url, extra_env=PRACTICE_ENV).start()
    users = {role: f"{name}-{role}" for role in roles}
    try:
        with ThreadPoolExecutor(len(users)) as pool:
            jobs = [
                pool.submit(add_user, db_url, user, role, PASSWORD) for role, user in users.items()
            ]
            for job in jobs:
                job.result()
    except BaseException:
        server.stop()
        raise
    return server, Site(server.url, db_url, users)


class Sites:
    """Live servers started in the background at the start of the session.

    ``shared`` serves most journeys; ``review`` is the review journey's own server (approving
    content changes every later plan).  Starting both at once overlaps their slow start-up
    (migrations, the knowledge base, one CLI process per user) with the first tests.
    """

    def __init__(self, tmp: Path) -> None:
        self._pool = ThreadPoolExecutor(2)
        self._futures: dict[str, Future[tuple[LiveServer, Site]]] = {
            "shared": self._pool.submit(launch_site, tmp, "shared"),
            "review": self._pool.submit(launch_site, tmp, "review", ("clinician", "reviewer")),
        }

    def get(self, name: str) -> Site:
        """The named site, waiting for it to answer."""
        return self._futures[name].result()[1]

    def stop(self) -> None:
        """Stop every server that started."""
        self._pool.shutdown(wait=True)
        for future in self._futures.values():
            if future.exception() is None:
                future.result()[0].stop()


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium (skips, or fails under B12_REQUIRE_BROWSER=1, when it is absent)."""
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is not installed (run scripts/chromium)"
        if os.environ.get(REQUIRE_BROWSER_ENV) == "1":
            pytest.fail(f"{REQUIRE_BROWSER_ENV}=1 but {reason}")
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture(scope="package", autouse=True)
def sites(tmp_path_factory: pytest.TempPathFactory, chromium: Path) -> Iterator[Sites]:
    """Both live servers, started first (autouse) so they boot while Chromium launches."""
    started = Sites(tmp_path_factory.mktemp("sites"))
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="package")
def browser(chromium: Path) -> Iterator[Browser]:
    """One Chromium for the browser tests (package scope: Playwright's event loop must be gone
    before later tests use asyncio); Playwright never downloads a browser."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="package")
def site(sites: Sites) -> Site:
    """The shared live server: one user per role."""
    return sites.get("shared")


@pytest.fixture(scope="package")
def review_site(sites: Sites) -> Site:
    """The review journey's own live server (a clinician who submits, a reviewer who approves)."""
    return sites.get("review")


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh browser context (no cookies) per test; downloads allowed."""
    ctx = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    """A new page in the test's own context."""
    return context.new_page()


class Shot(Protocol):
    """Save a screenshot of a journey step."""

    def __call__(self, page: Page, step: str, *, show: Locator | None = None) -> Path: ...


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Shot:
    """``shot(page, step, show=locator)`` saves ``<test-name>-<step>.png``.

    The screenshot is of the viewport (plan pages are many screens long and a full-page
    capture costs over a second), scrolled to ``show`` when it is given.
    """
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    test_name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    for stale in SCREENSHOTS.glob(f"{test_name}-*.png"):
        stale.unlink()

    def take(page: Page, step: str, *, show: Locator | None = None) -> Path:
        if show is not None:
            show.scroll_into_view_if_needed()
        path = SCREENSHOTS / f"{test_name}-{step}.png"
        page.screenshot(path=str(path))
        return path

    return take


def log_in(page: Page, site: Site, role: str) -> None:
    """Sign in through the login form as the site's user for ``role``."""
    page.goto(f"{site.url}/login")
    page.get_by_label("Username").fill(site.users[role])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


SignIn = Callable[[Page, Site, str], None]


@pytest.fixture(scope="package")
def sign_in() -> SignIn:
    """``sign_in(page, site, role)``: the form once per user, then that session's cookie.

    Every test still gets a fresh context; only the session cookie is reused, which saves a
    password check (about a second) per test.  No test signs out of a shared session.
    """
    cookies: dict[tuple[str, str], list[Cookie]] = {}

    def enter(page: Page, site: Site, role: str) -> None:
        key = (site.url, role)
        if key in cookies:
            saved = cookies[key]
            page.context.add_cookies(
                [{"name": c["name"], "value": c["value"], "url": site.url} for c in saved]
            )
            return
        log_in(page, site, role)
        cookies[key] = page.context.cookies(site.url)

    return enter
