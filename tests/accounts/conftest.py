"""Accounts fixtures: a migrated, empty database on SQLite (a temp file) and on PostgreSQL.

PostgreSQL follows ``tests/registry/conftest.py``: ``B12_TEST_POSTGRES_URL`` names a throw-away
database; without it a database ``b12_accounts_<pid>`` is created on the local server (or
``B12_TEST_POSTGRES_ADMIN_URL``) and dropped at the end.  Unreachable: skip, or fail when
``B12_REQUIRE_POSTGRES=1``.  Password hashing uses cheap argon2 parameters except where a test
is about the real parameters; every write uses a fixed ``now``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine

from b12.adapters.sql.accounts import Accounts
from b12.adapters.sql.registry import Registry
from b12.core.knowledge import KnowledgeBase
from tests.registry.conftest import (
    reset_postgres,
    throwaway_postgres,
)

NOW = datetime(2026, 3, 2, 9, 30)  # noqa: DTZ001 - naive local wall-clock time, like the registry
GOOD_PASSWORD = "Tea-kettle Orbit 42"
# ~1 ms instead of ~100 ms per hash; a test about the real parameters uses Accounts' default.
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(scope="session")
def accounts_postgres_url() -> Iterator[str]:
    """A throw-away PostgreSQL database for this session (skip or fail if unreachable)."""
    yield from throwaway_postgres("b12_accounts")


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def accounts_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database (no schema yet) on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'accounts.sqlite3'}"
    url: str = request.getfixturevalue("accounts_postgres_url")
    reset_postgres(url)
    return url


@pytest.fixture
def engine(accounts_url: str, kb: KnowledgeBase) -> Iterator[Engine]:
    """The migrated database's engine (``make_engine`` via the registry, as the app does)."""
    registry = Registry(accounts_url, kb)
    registry.upgrade()
    try:
        yield registry.engine
    finally:
        registry.engine.dispose()


@pytest.fixture
def accounts(engine: Engine) -> Accounts:
    """Accounts with cheap argon2 parameters."""
    return Accounts(engine, hasher=FAST)
