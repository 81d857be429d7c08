"""Web fixtures: the app on a fresh database with a fixed clock, users, signed-in clients, tokens.

* ``app`` — ``create_app`` on a temp SQLite file (or PostgreSQL, see ``backend``) with the clock
  ``clock`` (2 March 2026, 09:00; ``clock.now`` may be changed, but sessions last 12 hours).
  The knowledge files are read once per test session; passwords use cheap argon2 parameters.
* ``backend`` — ``"sqlite"``.  A test module runs on both databases by overriding it::

      @pytest.fixture(params=BACKENDS)
      def backend(request): return request.param

  PostgreSQL follows ``tests/registry/conftest.py``: ``B12_TEST_POSTGRES_URL`` names a
  throw-away database, else ``b12_web_<pid>`` is made on the local server; unreachable → skip
  (fail with ``B12_REQUIRE_POSTGRES=1``).
* ``client(role)`` — a :class:`SignedIn` test client for a user of that role, signed in through
  ``/login`` like a browser; ``.csrf_token`` is the session's token, ``.form(url, data)`` posts
  a form with it.  Redirects are not followed, so tests see the 303s.
* ``anonymous`` — a client with no session.  ``bearer(role)`` — ``Authorization`` headers with a
  new API token for that role's user.
* ``registry`` — the app's own registry (to seed data with any ``now``, and to count rows).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from b12.adapters.knowledge_files import default_knowledge_dir, read_raw
from b12.adapters.sql.registry import Registry
from b12.adapters.sql.tables import audit, metadata
from b12.core.kb_build import RawContent
from b12.entrypoints.web import services as services_module
from b12.entrypoints.web.app import create_app
from b12.entrypoints.web.auth import SESSION_COOKIE
from b12.entrypoints.web.services import Services, WebConfig
from tests.registry.conftest import (
    reset_postgres,
    throwaway_postgres,
)

NOW = datetime(2026, 3, 2, 9, 0)  # noqa: DTZ001 - the app's clock is naive local time
TODAY = NOW.date()
PASSWORD = "Tea-kettle Orbit 42"
ROLES = ("clinician", "nurse", "reviewer", "safety_officer", "admin")
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]
# ~1 ms instead of ~100 ms a hash.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
LOGIN_CSRF = re.compile(r'name="login_csrf" value="([^"]+)"')

# A UK patient with pernicious anaemia: hydroxocobalamin 1 mg IM, loading doses every 2 days.
UK_PA: dict[str, Any] = {
    "age": 68,
    "sex": "female",
    "cause": "pernicious_anaemia",
    "deficiency": "confirmed",
    "labs": {
        "serum_b12_ng_l": 110,
        "haemoglobin_g_l": 96,
        "mcv_fl": 112,
        "ifab_positive": True,
        "potassium_mmol_l": 4.2,
    },
    "guideline": "uk",
}
US_PA: dict[str, Any] = {**UK_PA, "guideline": "us"}


class Clock:
    """A settable clock for the app (``clock.now = ...``)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        """Move the clock on by ``timedelta(**delta)``."""
        self.now += timedelta(**delta)


class SignedIn(TestClient):
    """A test client with a signed-in session."""

    username: str
    role: str
    csrf_token: str

    def form(self, url: str, data: dict[str, Any], **kwargs: Any) -> httpx2.Response:
        """POST a form carrying the session's CSRF token."""
        return self.post(url, data={"csrf_token": self.csrf_token, **data}, **kwargs)

    def post_json(self, url: str, body: Any, **kwargs: Any) -> httpx2.Response:
        """POST JSON with the session's CSRF token in ``X-CSRF-Token``."""
        headers = {"X-CSRF-Token": self.csrf_token, **kwargs.pop("headers", {})}
        return self.post(url, json=body, headers=headers, **kwargs)


# -- the app -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def knowledge_raw() -> RawContent:
    """The bundled knowledge files, read once (reading them takes over a second)."""
    return read_raw(default_knowledge_dir())


@pytest.fixture(scope="session")
def web_postgres_url() -> Iterator[str]:
    """A throw-away PostgreSQL database for this session (skip or fail if unreachable)."""
    yield from throwaway_postgres("b12_web")


@pytest.fixture
def backend() -> str:
    """The database the app runs on; override with ``params=BACKENDS`` to test both."""
    return "sqlite"


@pytest.fixture
def web_db_url(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> str:
    """An empty database (no schema yet) on ``backend``."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'web.sqlite3'}"
    url: str = request.getfixturevalue("web_postgres_url")
    reset_postgres(url)
    return url


@pytest.fixture
def clock() -> Clock:
    """The app's clock, 2 March 2026 09:00 unless a test moves it."""
    return Clock(NOW)


@pytest.fixture
def app(
    web_db_url: str, clock: Clock, knowledge_raw: RawContent, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FastAPI]:
    """The web app on a fresh, migrated database."""
    monkeypatch.setattr(services_module, "read_raw", lambda _directory: knowledge_raw)
    application = create_app(WebConfig(database_url=web_db_url, clock=clock))
    svc: Services = application.state.services
    svc.accounts.hasher = FAST_HASHER
    try:
        yield application
    finally:
        svc.registry.engine.dispose()


@pytest.fixture
def services(app: FastAPI) -> Services:
    """The app's shared services."""
    found: Services = app.state.services
    return found


@pytest.fixture
def registry(services: Services) -> Registry:
    """The app's registry (bundled knowledge base)."""
    return services.registry


# -- users, sessions and tokens ----------------------------------------------------------------


def username_for(role: str) -> str:
    """The test user of ``role``."""
    return f"{role}.test"


def ensure_user(services: Services, role: str, clock: Clock) -> str:
    """Create the test user of ``role`` unless it exists; return the username."""
    username = username_for(role)
    if services.accounts.get_user(username) is None:
        services.accounts.add_user(username, PASSWORD, role, now=clock())
    return username


def sign_in(app: FastAPI, services: Services, clock: Clock, role: str) -> SignedIn:
    """A client signed in through the login page as the test user of ``role``."""
    username = ensure_user(services, role, clock)
    http = SignedIn(app, follow_redirects=False)
    page = http.get("/login")
    found = LOGIN_CSRF.search(page.text)
    assert found, "no login_csrf field on /login"
    response = http.post(
        "/login",
        data={
            "username": username,
            "password": PASSWORD,
            "login_csrf": found.group(1),
            "next": "/",
        },
    )
    assert response.status_code == 303, response.text
    session = services.accounts.session(http.cookies[SESSION_COOKIE], now=clock())
    assert session is not None
    http.username, http.role, http.csrf_token = username, role, session.csrf_token
    return http


@pytest.fixture
def client(app: FastAPI, services: Services, clock: Clock) -> Iterator[Callable[[str], SignedIn]]:
    """``client(role)``: a signed-in client for that role (one per role per test)."""
    made: dict[str, SignedIn] = {}

    def get(role: str) -> SignedIn:
        if role not in made:
            made[role] = sign_in(app, services, clock, role)
        return made[role]

    try:
        yield get
    finally:
        for http in made.values():
            http.close()


@pytest.fixture
def anonymous(app: FastAPI) -> Iterator[TestClient]:
    """A client that has not signed in."""
    with TestClient(app, follow_redirects=False) as http:
        yield http


@pytest.fixture
def bearer(services: Services, clock: Clock) -> Callable[[str], dict[str, str]]:
    """``bearer(role)``: ``Authorization`` headers with a new API token for that role."""

    def make(role: str) -> dict[str, str]:
        username = ensure_user(services, role, clock)
        token = services.accounts.create_token(username, label="tests", now=clock())
        return {"Authorization": f"Bearer {token}"}

    return make


# -- registry helpers --------------------------------------------------------------------------


def at(day: date, hour: int = 9) -> datetime:
    """A wall-clock time on ``day``."""
    return datetime.combine(day, time(hour, 0))


def enrol(
    registry: Registry,
    patient_id: str,
    template: dict[str, Any] = UK_PA,
    day: date = TODAY,
    *,
    name: str | None = None,
    **extra: Any,
) -> None:
    """Enrol directly in the registry as of ``day`` (to set up a test)."""
    picture = {**template, "as_of": day.isoformat(), **extra}
    registry.add_patient(patient_id, picture, name=name, actor="setup", now=at(day))


def counts(registry: Registry, *tables: str) -> dict[str, int]:
    """Row counts of the named registry tables (all tables when none are named)."""
    names = tables or tuple(metadata.tables)
    with registry.engine.connect() as conn:
        return {
            name: int(
                conn.execute(select(func.count()).select_from(metadata.tables[name])).scalar_one()
            )
            for name in names
        }


def audit_rows(registry: Registry, action: str | None = None) -> list[dict[str, Any]]:
    """The audit log, oldest first (optionally one action only)."""
    query = select(audit).order_by(audit.c.id)
    if action is not None:
        query = query.where(audit.c.action == action)
    with registry.engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]
