"""Several processes write for the same patient at once: no lost and no duplicated records.

Each worker is a fresh interpreter (``spawn``, started once for the module) with its own engine;
all of them wait at a barrier and then write at the same moment, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from b12.adapters.knowledge_files import load_knowledge_base
from b12.adapters.sql.registry import Registry
from b12.adapters.sql.tables import audit, doses, pictures
from b12.core.errors import InputError
from b12.core.knowledge import KnowledgeBase
from b12.core.requests import follow_up_request
from tests.registry.conftest import (
    ACTOR,
    UK_PA,
    at,
    course_row,
    hydroxo,
    picture,
    stored_window,
    table_counts,
)

WORKERS = 5
START = date(2026, 3, 2)
# The UK loading days (Mon/Wed/Fri), recorded together on the Friday after.
LOADING = [START + timedelta(days=n) for n in (0, 2, 4, 7, 9)]
NOW = at(date(2026, 3, 13))
TIMEOUT = 60.0

Outcome = tuple[str, Any, bool]
Task = tuple[str, int, bool]

# Set in each pool worker by _init: the shared barrier and the knowledge base (loaded once).
_barrier: Any = None
_kb: KnowledgeBase | None = None


def _init(barrier: Any) -> None:
    global _barrier, _kb
    _barrier = barrier
    _kb = load_knowledge_base()


def _ready(url: str) -> Registry:
    """A connected registry in this worker, then wait until every worker is ready."""
    assert _kb is not None
    registry = Registry(url, _kb)
    with registry.engine.connect():
        pass  # connect before the barrier so the writes really start together
    _barrier.wait(TIMEOUT)
    return registry


def _record_dose(task: Task) -> Outcome:
    """Worker: record one loading dose; distinct keys and days, or one shared key and day."""
    url, index, distinct = task
    registry = _ready(url)
    day = LOADING[index] if distinct else LOADING[0]
    key = f"visit-{index}" if distinct else "visit-shared"
    try:
        outcome = registry.record_dose(
            "P-001", hydroxo(day, key=key), actor=f"{ACTOR}-{index}", now=NOW
        )
        return ("ok", outcome.dose_id, outcome.duplicate)
    except Exception as exc:
        return ("error", f"{type(exc).__name__}: {exc}", False)
    finally:
        registry.engine.dispose()


def _enrol(task: Task) -> Outcome:
    """Worker: enrol the same patient id as every other worker."""
    url, index, _ = task
    registry = _ready(url)
    try:
        registry.add_patient(
            "P-race", picture(UK_PA, START), name=str(index), actor=ACTOR, now=at(START)
        )
        return ("ok", index, False)
    except InputError as err:
        return ("input_error", [p.field for p in err.problems], False)
    except Exception as exc:
        return ("error", f"{type(exc).__name__}: {exc}", False)
    finally:
        registry.engine.dispose()


@pytest.fixture(scope="module")
def workers() -> Iterator[tuple[Any, Any]]:
    """WORKERS spawned interpreters sharing one barrier (started once for the module)."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(WORKERS)
    pool = ctx.Pool(WORKERS, initializer=_init, initargs=(barrier,))
    try:
        yield pool, barrier
    finally:
        pool.terminate()
        pool.join()


def _race(
    workers: tuple[Any, Any], url: str, target: Callable[[Task], Outcome], distinct: bool = False
) -> list[Outcome]:
    """Run ``target`` once in each worker, all released together; their outcomes.

    Each task blocks at the barrier until all WORKERS tasks have arrived, so no worker can take
    two of them: every write comes from a different process.
    """
    pool, barrier = workers
    tasks = [(url, i, distinct) for i in range(WORKERS)]
    try:
        results: list[Outcome] = pool.map_async(target, tasks, chunksize=1).get(TIMEOUT * 2)
    finally:
        if barrier.broken:  # pragma: no cover - only after a worker failed before the barrier
            barrier.reset()
    return results


def _dose_rows(registry: Registry) -> list[dict[str, Any]]:
    with registry.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(doses).order_by(doses.c.id)).mappings()]


def _actions(registry: Registry) -> list[str]:
    with registry.engine.connect() as conn:
        return list(conn.execute(select(audit.c.action).order_by(audit.c.id)).scalars())


@pytest.fixture
def enrolled(registry: Registry) -> Registry:
    registry.add_patient("P-001", picture(UK_PA, START), name=None, actor=ACTOR, now=at(START))
    return registry


def test_the_same_idempotency_key_at_once_records_one_dose(
    enrolled: Registry, workers: tuple[Any, Any]
) -> None:
    results = _race(workers, enrolled.url, _record_dose, distinct=False)

    assert [r for r in results if r[0] != "ok"] == []
    rows = _dose_rows(enrolled)
    assert len(rows) == 1
    assert {r[1] for r in results} == {rows[0]["id"]}
    assert sorted(r[2] for r in results) == [False] + [True] * (WORKERS - 1)
    assert _actions(enrolled) == ["enrol", "record_dose"]


def test_distinct_doses_at_once_are_all_recorded_once(
    enrolled: Registry, kb: KnowledgeBase, workers: tuple[Any, Any]
) -> None:
    results = _race(workers, enrolled.url, _record_dose, distinct=True)

    assert [r for r in results if r[0] != "ok"] == []
    assert not any(r[2] for r in results)
    rows = _dose_rows(enrolled)
    assert sorted(r["date"] for r in rows) == LOADING
    assert sorted(r["id"] for r in rows) == sorted(r[1] for r in results)
    assert sorted(r["idempotency_key"] for r in rows) == [f"visit-{i}" for i in range(WORKERS)]
    assert _actions(enrolled) == ["enrol"] + ["record_dose"] * WORKERS
    # The last writer saw every dose: the stored window is the engine's answer for all five.
    course = course_row(enrolled, "P-001")
    with enrolled.engine.connect() as conn:
        document = conn.execute(
            select(pictures.c.document).where(pictures.c.id == course["picture_id"])
        ).scalar_one()
    expected = follow_up_request(
        {
            "picture": document,
            "history": [
                {
                    "date": day.isoformat(),
                    "drug": "hydroxocobalamin",
                    "dose": {"value": 1, "unit": "mg"},
                    "route": "im",
                }
                for day in LOADING
            ],
            "as_of": NOW.date().isoformat(),
        },
        kb,
    ).next_due
    assert expected is not None
    assert stored_window(enrolled, "P-001") == (expected.date, expected.earliest, expected.latest)
    assert course["phase"] == "loading"


def test_a_key_committed_by_a_concurrent_writer_is_reported_as_a_duplicate(
    enrolled: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race in one process: the key check misses a dose committed just after it."""
    first = enrolled.record_dose("P-001", hydroxo(START, key="visit-1"), actor=ACTOR, now=NOW)
    before = table_counts(enrolled)
    original = Registry._by_key
    looked_up: list[str | None] = []

    def too_early(
        self: Registry, conn: Any, patient_id: str, given: Any, amount: Any
    ) -> int | None:
        looked_up.append(given.key)
        if len(looked_up) == 1:
            return None
        return original(self, conn, patient_id, given, amount)

    monkeypatch.setattr(Registry, "_by_key", too_early)

    again = enrolled.record_dose("P-001", hydroxo(START, key="visit-1"), actor=ACTOR, now=NOW)

    assert looked_up == ["visit-1", "visit-1"]  # missed, then found after the unique violation
    assert (again.dose_id, again.duplicate) == (first.dose_id, True)
    assert table_counts(enrolled) == before


def test_the_same_new_patient_enrolled_at_once_is_enrolled_once(
    registry: Registry, workers: tuple[Any, Any], request: pytest.FixtureRequest
) -> None:
    results = _race(workers, registry.url, _enrol)

    assert table_counts(registry) | {
        "patients": 1,
        "pictures": 1,
        "courses": 1,
        "doses": 0,
        "events": 0,
        "audit": 1,
    } == table_counts(registry)
    assert sorted(r[0] for r in results) == ["input_error"] * (WORKERS - 1) + ["ok"]
    assert all(r[1] == ["id"] for r in results if r[0] == "input_error")
