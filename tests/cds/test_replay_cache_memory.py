"""The replay cache's fast path: per-process memory in front of the database's unique insert.

The database stays the authority across processes; the memory only spares a round trip when a
token is replayed to the process that accepted it; the relaxed commit is limited to the
replay-cache insert (every other registry write keeps SQLite's ``synchronous`` setting).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import delete, text
from sqlalchemy.pool import QueuePool

from b12.adapters.sql import cds_store as cds_store_module
from b12.adapters.sql.cds_store import CdsStore
from b12.adapters.sql.registry import Registry, make_engine
from b12.adapters.sql.tables import cds_jti
from b12.core.knowledge import KnowledgeBase
from tests.cds.conftest import BACKENDS

NOW = datetime(2026, 3, 2, 9, 0)  # noqa: DTZ001 - the registry's naive local clock
UNTIL = NOW + timedelta(minutes=5)
ISSUER = "https://ehr.example.test"


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def url(web_db_url: str, kb: KnowledgeBase) -> str:
    registry = Registry(web_db_url, kb)
    registry.upgrade()
    registry.engine.dispose()
    return web_db_url


def test_a_replay_to_another_process_is_refused_by_the_database(url: str) -> None:
    first, second = make_engine(url), make_engine(url)
    try:
        a, b = CdsStore(first), CdsStore(second)
        assert a.remember_jti(ISSUER, "shared", UNTIL, NOW) is True
        assert b.remember_jti(ISSUER, "shared", UNTIL, NOW) is False
        assert a.remember_jti(ISSUER, "shared", UNTIL, NOW) is False
    finally:
        first.dispose()
        second.dispose()


def test_a_replay_to_the_same_process_is_refused_from_memory(url: str) -> None:
    engine = make_engine(url)
    try:
        store = CdsStore(engine)
        assert store.remember_jti(ISSUER, "mine", UNTIL, NOW) is True
        with engine.begin() as conn:  # the row is gone: only the memory can refuse now
            conn.execute(delete(cds_jti))
        assert store.remember_jti(ISSUER, "mine", UNTIL, NOW) is False
        assert CdsStore(engine).remember_jti(ISSUER, "mine", UNTIL, NOW) is True
    finally:
        engine.dispose()


def test_the_memory_forgets_an_id_once_it_has_expired(url: str) -> None:
    engine = make_engine(url)
    try:
        store = CdsStore(engine)
        assert store.remember_jti(ISSUER, "short", UNTIL, NOW) is True
        later = UNTIL + timedelta(seconds=1)
        with engine.begin() as conn:
            conn.execute(delete(cds_jti))
        assert store.remember_jti(ISSUER, "short", later + timedelta(minutes=5), later) is True
    finally:
        engine.dispose()


def test_the_memory_is_bounded(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cds_store_module, "SEEN_IN_PROCESS", 3)
    engine = make_engine(url)
    try:
        store = CdsStore(engine)
        for n in range(10):
            assert store.remember_jti(ISSUER, f"j{n}", UNTIL, NOW) is True
        assert len(store._seen) == 3
        assert store.remember_jti(ISSUER, "j0", UNTIL, NOW) is False  # the database remembers
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite"])
def test_only_the_replay_insert_is_relaxed_on_sqlite(url: str) -> None:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            before = conn.exec_driver_sql("PRAGMA synchronous").scalar_one()
        assert CdsStore(engine).remember_jti(ISSUER, "durable?", UNTIL, NOW) is True
        with engine.connect() as conn:  # the pool hands back the connection the insert used
            after = conn.exec_driver_sql("PRAGMA synchronous").scalar_one()
        assert after == before
        assert isinstance(engine.pool, QueuePool)
        assert engine.pool.checkedin() == 1
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["postgresql"])
def test_the_relaxed_commit_does_not_leak_into_other_transactions_on_postgresql(
    url: str,
) -> None:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            before = conn.execute(text("SHOW synchronous_commit")).scalar_one()
        assert CdsStore(engine).remember_jti(ISSUER, "local", UNTIL, NOW) is True
        with engine.connect() as conn:
            assert conn.execute(text("SHOW synchronous_commit")).scalar_one() == before == "on"
        assert isinstance(engine.pool, QueuePool)
        assert engine.pool.checkedin() == 1
    finally:
        engine.dispose()
