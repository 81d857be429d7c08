"""Registry fixtures: a fresh registry on SQLite (a temp file) and on PostgreSQL (a real server).

PostgreSQL: ``B12_TEST_POSTGRES_URL`` names a throw-away database (``.ci/run`` creates one);
without it a database ``b12_test_<pid>`` is created on ``B12_TEST_POSTGRES_ADMIN_URL`` (default
the local server, user postgres, trust auth) and dropped at the end of the session.  Each test
gets an empty ``public`` schema.  When the server cannot be reached the PostgreSQL tests skip,
or fail when ``B12_REQUIRE_POSTGRES=1`` (CI).

Every write uses a fixed ``now``: the tests never read the clock.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, NoReturn

import pytest
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from b12.adapters.sql.registry import DoseInput, Registry
from b12.adapters.sql.tables import courses, metadata
from b12.core.knowledge import KnowledgeBase

POSTGRES_URL_ENV = "B12_TEST_POSTGRES_URL"
POSTGRES_ADMIN_ENV = "B12_TEST_POSTGRES_ADMIN_URL"
REQUIRE_POSTGRES_ENV = "B12_REQUIRE_POSTGRES"
DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"

ACTOR = "nurse.jones"
NOW = datetime(2026, 3, 2, 9, 30)  # noqa: DTZ001 - the registry stores naive local wall-clock times
TABLES = tuple(metadata.tables)

# Clinical pictures used across the registry tests (the "as_of" is the enrolment day).
UK_PA: dict[str, Any] = {
    "age": 68,
    "sex": "female",
    "cause": "pernicious_anaemia",
    "deficiency": "confirmed",
    "labs": {"serum_b12_ng_l": 110, "haemoglobin_g_l": 96, "mcv_fl": 112, "ifab_positive": True},
    "guideline": "uk",
}
UK_NEURO: dict[str, Any] = {
    "age": 58,
    "sex": "male",
    "cause": "pernicious_anaemia",
    "deficiency": "confirmed",
    "neuro_symptoms": ["ataxia", "paraesthesia"],
}
US_LABEL: dict[str, Any] = {
    "age": 64,
    "sex": "female",
    "guideline": "us",
    "cause": "pernicious_anaemia",
    "labs": {"serum_b12_ng_l": 110, "haemoglobin_g_l": 94, "mcv_fl": 114, "ifab_positive": True},
}
UK_BARIATRIC: dict[str, Any] = {
    "age": 41,
    "sex": "female",
    "conditions": ["sleeve_gastrectomy"],
    "labs": {"serum_b12_ng_l": 410},
}
UK_ORAL_DIETARY: dict[str, Any] = {
    "age": 26,
    "sex": "male",
    "diet": "vegan",
    "cause": "dietary",
    "labs": {"serum_b12_ng_l": 140, "haemoglobin_g_l": 138, "mcv_fl": 99},
}
UK_GASTRECTOMY: dict[str, Any] = {
    "age": 66,
    "sex": "male",
    "deficiency": "at_risk",
    "conditions": ["total_gastrectomy"],
}
NOT_DEFICIENT: dict[str, Any] = {"age": 60, "sex": "female", "deficiency": "not_deficient"}


def picture(template: dict[str, Any], as_of: date, **extra: Any) -> dict[str, Any]:
    """A copy of ``template`` for enrolment on ``as_of``."""
    return {**template, "as_of": as_of.isoformat(), **extra}


def at(day: date, hour: int = 9) -> datetime:
    """A fixed wall-clock time on ``day`` (the ``now`` of a write)."""
    return datetime.combine(day, time(hour, 30))


def hydroxo(day: date, **extra: Any) -> DoseInput:
    """Hydroxocobalamin 1 mg IM on ``day`` (the UK regimen's dose)."""
    return DoseInput(date=day, drug="hydroxocobalamin", dose="1mg", route="im", **extra)


def table_counts(registry: Registry) -> dict[str, int]:
    """Row count of every registry table."""
    with registry.engine.connect() as conn:
        return {
            name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
            for name, table in metadata.tables.items()
        }


def course_row(registry: Registry, patient_id: str) -> dict[str, Any]:
    """The patient's (latest) course row as stored."""
    with registry.engine.connect() as conn:
        row = (
            conn.execute(
                select(courses)
                .where(courses.c.patient_id == patient_id)
                .order_by(courses.c.id.desc())
                .limit(1)
            )
            .mappings()
            .one()
        )
    return dict(row)


def stored_window(registry: Registry, patient_id: str) -> tuple[date | None, ...]:
    """``(next_due, due_earliest, due_latest)`` as stored on the course row."""
    row = course_row(registry, patient_id)
    return row["next_due"], row["due_earliest"], row["due_latest"]


# -- PostgreSQL --------------------------------------------------------------------------------


def _postgres_required() -> bool:
    return os.environ.get(REQUIRE_POSTGRES_ENV, "") not in ("", "0")


def _unreachable(where: str, exc: BaseException) -> NoReturn:
    reason = f"PostgreSQL at {where} cannot be reached: {type(exc).__name__}: {exc}".strip()
    if _postgres_required():
        pytest.fail(f"{reason} ({REQUIRE_POSTGRES_ENV}=1, so this is a failure)", pytrace=False)
    pytest.skip(f"{reason}; start it or set {POSTGRES_URL_ENV}")


def _engine(url: str, **kwargs: Any) -> Engine:
    return create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 5}, **kwargs)


def reset_postgres(url: str) -> None:
    """Give the throw-away database an empty ``public`` schema."""
    engine = _engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


def throwaway_postgres(prefix: str) -> Iterator[str]:
    """Yield the URL of a throw-away PostgreSQL database (skip or fail if unreachable).

    ``B12_TEST_POSTGRES_URL`` names one to use (reset first); otherwise ``<prefix>_<pid>`` is
    created on the local server and dropped afterwards.  Session fixtures ``yield from`` this.
    """
    given = os.environ.get(POSTGRES_URL_ENV)
    if given:
        try:
            reset_postgres(given)
        except (ImportError, SQLAlchemyError) as exc:
            _unreachable(given.rsplit("@", 1)[-1], exc)
        yield given
        return
    admin_url = os.environ.get(POSTGRES_ADMIN_ENV, DEFAULT_ADMIN_URL)
    name = f"{prefix}_{os.getpid()}"
    try:
        admin = _engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except (ImportError, SQLAlchemyError) as exc:
        _unreachable(admin_url.rsplit("@", 1)[-1], exc)
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of a throw-away PostgreSQL database for this session (skip or fail if unreachable)."""
    yield from throwaway_postgres("b12_test")


# -- the registry under test -------------------------------------------------------------------


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database (no schema yet) on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.sqlite3'}"
    url: str = request.getfixturevalue("postgres_url")
    reset_postgres(url)
    return url


@pytest.fixture
def registry(db_url: str, kb: KnowledgeBase) -> Iterator[Registry]:
    """A migrated, empty registry on each backend."""
    reg = Registry(db_url, kb)
    reg.upgrade()
    try:
        yield reg
    finally:
        reg.engine.dispose()
