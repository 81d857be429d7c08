"""The replay cache's group commit: requests waiting at the same time share one transaction.

Whatever the batching, the rule stays: each ``(issuer, jti)`` is accepted exactly once, by
any path (event loop or thread) and any process; a database failure reaches every request of
the batch and leaves nothing stuck.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event

from b12.adapters.sql.cds_store import CdsStore
from b12.adapters.sql.registry import Registry, make_engine
from b12.adapters.sql.transactions import RegistryUnavailable
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


def _count_transactions(engine: Engine) -> list[int]:
    begun = [0]

    def on_begin(_conn: Any) -> None:
        begun[0] += 1

    event.listen(engine, "begin", on_begin)
    return begun


async def _all(store: CdsStore, ids: list[str]) -> list[bool | BaseException]:
    calls = [store.remember_jti_async(ISSUER, jti, UNTIL, NOW) for jti in ids]
    return list(await asyncio.gather(*calls, return_exceptions=True))


def test_requests_waiting_together_share_one_transaction(url: str) -> None:
    engine = make_engine(url)
    try:
        store = CdsStore(engine)
        store.purge_expired(NOW)  # so the first batch does not purge
        begun = _count_transactions(engine)
        answers = asyncio.run(_all(store, [f"j{n}" for n in range(20)]))
        assert answers == [True] * 20
        assert begun[0] == 1
        # every id is in the database: another process refuses each of them
        other = CdsStore(engine)
        assert [other.remember_jti(ISSUER, f"j{n}", UNTIL, NOW) for n in range(20)] == [False] * 20
    finally:
        engine.dispose()


def test_the_same_id_twice_in_one_batch_is_accepted_once(url: str) -> None:
    engine = make_engine(url)
    try:
        answers = asyncio.run(_all(CdsStore(engine), ["twin", "other", "twin", "twin"]))
        assert sorted(map(str, answers)) == ["False", "False", "True", "True"]
        assert answers[1] is True
    finally:
        engine.dispose()


def test_an_id_seen_by_another_process_is_refused_in_a_batch(url: str) -> None:
    first, second = make_engine(url), make_engine(url)
    try:
        assert CdsStore(first).remember_jti(ISSUER, "taken", UNTIL, NOW) is True
        answers = asyncio.run(_all(CdsStore(second), ["fresh", "taken"]))
        assert answers == [True, False]
    finally:
        first.dispose()
        second.dispose()


def test_threads_and_the_event_loop_let_exactly_one_through(url: str) -> None:
    engine = make_engine(url)
    try:
        store = CdsStore(engine)
        barrier = threading.Barrier(9)

        def in_thread(_n: int) -> bool:
            barrier.wait()
            return store.remember_jti(ISSUER, "race", UNTIL, NOW)

        def on_a_loop() -> list[bool | BaseException]:
            barrier.wait()
            return asyncio.run(_all(store, ["race"] * 4))

        with ThreadPoolExecutor(9) as pool:
            threads = [pool.submit(in_thread, n) for n in range(8)]
            looped = pool.submit(on_a_loop)
            results: list[Any] = [t.result() for t in threads] + looped.result()
        assert results.count(True) == 1
        assert results.count(False) == 11
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_database_failure_reaches_every_request_and_nothing_is_stuck(
    url: str, tmp_path: Any
) -> None:
    broken = make_engine(f"sqlite:///{tmp_path / 'no-schema.sqlite3'}")  # no cds_jti table
    try:
        store = CdsStore(broken)
        answers = asyncio.run(_all(store, ["a", "b", "c"]))
        assert all(isinstance(a, RegistryUnavailable) for a in answers), answers
        with pytest.raises(RegistryUnavailable):
            store.remember_jti(ISSUER, "d", UNTIL, NOW)
        store.engine = make_engine(url)  # the database is back: the same store works again
        assert asyncio.run(_all(store, ["a", "e"])) == [True, True]
        assert store.remember_jti(ISSUER, "d", UNTIL, NOW) is True
        store.engine.dispose()
    finally:
        broken.dispose()
