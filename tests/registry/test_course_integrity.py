"""Picture updates racing doses for the same patients: the course invariants hold afterwards.

Threads (each with its own engine, so each its own connections) wait at a barrier, then update
pictures and record doses for two patients at the same moment, on SQLite and on real
PostgreSQL (where the race used to leave several active courses, stale stored windows,
duplicate recall rows and an ``IntegrityError`` on ``uq_pictures_patient_version``).  Then:

* every patient has exactly one active course (and the database refuses a second one);
* the stored next-due window of that course is what the engine's follow-up says;
* the recall list has one row per active course, no patient twice;
* picture versions run 1..n without gaps or repeats;
* every thread ended in a result or a clear refusal, never another exception.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from b12.adapters.sql.registry import Registry
from b12.adapters.sql.tables import courses, pictures
from b12.core.errors import InputError, Refused
from b12.core.knowledge import KnowledgeBase
from tests.registry.conftest import ACTOR, UK_NEURO, UK_PA, at, hydroxo, picture

START = date(2026, 3, 2)
NOW = at(date(2026, 3, 20))
PATIENTS = ("P-001", "P-002")
UPDATES = 6  # per patient
DOSES = 6  # per patient
TIMEOUT = 120.0


def _update(url: str, kb: KnowledgeBase, patient_id: str, n: int) -> Any:
    registry = Registry(url, kb)
    try:
        template = UK_NEURO if n % 2 else UK_PA
        return registry.update_picture(patient_id, picture(template, START), actor=ACTOR, now=NOW)
    finally:
        registry.engine.dispose()


def _dose(url: str, kb: KnowledgeBase, patient_id: str, n: int) -> Any:
    registry = Registry(url, kb)
    try:
        given = hydroxo(START + timedelta(days=2 * n), key=f"{patient_id}-visit-{n}")
        return registry.record_dose(patient_id, given, actor=ACTOR, now=NOW)
    finally:
        registry.engine.dispose()


def _race(url: str, kb: KnowledgeBase) -> list[tuple[str, BaseException | None]]:
    jobs = [
        (fn, patient_id, n)
        for patient_id in PATIENTS
        for fn, count in ((_update, UPDATES), (_dose, DOSES))
        for n in range(count)
    ]
    barrier = threading.Barrier(len(jobs))
    outcomes: list[tuple[str, BaseException | None]] = []
    lock = threading.Lock()

    def run(fn: Any, patient_id: str, n: int) -> None:
        barrier.wait(timeout=TIMEOUT)
        try:
            fn(url, kb, patient_id, n)
            result: BaseException | None = None
        except BaseException as exc:  # every outcome is recorded and checked
            result = exc
        with lock:
            outcomes.append((fn.__name__, result))

    threads = [threading.Thread(target=run, args=job) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert not any(t.is_alive() for t in threads), "a writer hung"
    return outcomes


def test_racing_updates_and_doses_keep_one_consistent_course(
    registry: Registry, kb: KnowledgeBase
) -> None:
    for patient_id in PATIENTS:
        registry.add_patient(
            patient_id, picture(UK_PA, START), name=None, actor=ACTOR, now=at(START)
        )

    outcomes = _race(registry.url, kb)

    unexpected = [
        (name, f"{type(exc).__name__}: {str(exc)[:200]}")
        for name, exc in outcomes
        if exc is not None and not isinstance(exc, Refused | InputError)
    ]
    assert unexpected == []
    assert len(outcomes) == len(PATIENTS) * (UPDATES + DOSES)
    updates_done = Counter(name for name, exc in outcomes if name == "_update" and exc is None)
    assert updates_done["_update"] == len(PATIENTS) * UPDATES  # an update is never refused
    with registry.engine.connect() as conn:
        active = Counter(
            conn.execute(select(courses.c.patient_id).where(courses.c.status == "active"))
            .scalars()
            .all()
        )
        versions = {
            p: sorted(
                conn.execute(select(pictures.c.version).where(pictures.c.patient_id == p))
                .scalars()
                .all()
            )
            for p in PATIENTS
        }
    assert active == dict.fromkeys(PATIENTS, 1)
    assert versions == {p: list(range(1, UPDATES + 2)) for p in PATIENTS}
    for patient_id in PATIENTS:
        stored = _stored_window(registry, patient_id)
        due = registry.follow_up(patient_id, NOW.date()).next_due
        assert due is not None
        assert stored == (due.date, due.earliest, due.latest), patient_id
    recall = registry.recall(NOW.date(), 3660)
    assert sorted(r.patient_id for r in recall) == sorted(PATIENTS)


def _stored_window(registry: Registry, patient_id: str) -> tuple[Any, ...]:
    with registry.engine.connect() as conn:
        row = conn.execute(
            select(courses.c.next_due, courses.c.due_earliest, courses.c.due_latest).where(
                courses.c.patient_id == patient_id, courses.c.status == "active"
            )
        ).one()
    return tuple(row)


def test_the_database_refuses_a_second_active_course(registry: Registry) -> None:
    """The partial unique index: even a write that skips the registry cannot make two."""
    registry.add_patient("P-001", picture(UK_PA, START), name=None, actor=ACTOR, now=at(START))
    with registry.engine.connect() as conn:
        current = dict(
            conn.execute(select(courses).where(courses.c.patient_id == "P-001")).mappings().one()
        )
    second = {k: v for k, v in current.items() if k != "id"}
    with pytest.raises(IntegrityError), registry.engine.begin() as conn:
        conn.execute(insert(courses).values(**second))
    with registry.engine.begin() as conn:  # a superseded copy is allowed
        conn.execute(insert(courses).values(**{**second, "status": "superseded"}))
        count = conn.execute(select(func.count()).select_from(courses)).scalar_one()
    assert count == 2
