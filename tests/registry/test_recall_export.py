"""The streamed recall export: the same rows as the list, one snapshot, a cursor on the index.

Rows are written straight into the tables (the registry's own writes would take minutes for a
few thousand courses); the export is compared with ``Registry.recall``, which the other recall
tests pin to the engine.  On PostgreSQL the plan of the server-side cursor is checked with
``EXPLAIN DECLARE``: it walks ``ix_courses_urgency`` in order (no sort, no sequential scan of
courses), which is what keeps the first rows quick and memory flat at any size.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, insert

from b12.adapters.sql import recall_export as recall_export_module
from b12.adapters.sql.registry import Registry
from b12.adapters.sql.tables import courses, patients, pictures

AS_OF = date(2026, 9, 1)
CREATED = datetime(2026, 1, 1, 9, 0)  # noqa: DTZ001 - the registry's naive local clock


def _fill(registry: Registry, n: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    people, shots, plans = [], [], []
    for i in range(1, n + 1):
        pid = f"P{i:06d}"
        due = AS_OF + timedelta(days=rng.randint(-200, 200))
        window = rng.choice((0, 7, 31))
        people.append(
            {"id": pid, "display_name": f"Name {i}", "guideline": "uk", "created_at": CREATED}
        )
        shots.append(
            {"id": i, "patient_id": pid, "version": 1, "document": {}, "created_at": CREATED}
        )
        plans.append(
            {
                "id": i,
                "patient_id": pid,
                "picture_id": i,
                "guideline": "uk",
                "pathway": "uk-im-no-neuro",
                "regimen": "UK-HYDROXO-STANDARD",
                "start": AS_OF - timedelta(days=300),
                "content_version": "sha256:test",
                "status": "active" if rng.random() < 0.97 else "ended",
                "phase": "maintenance",
                "next_due": due,
                "due_earliest": due,
                "due_latest": due + timedelta(days=window),
                "continuous": 0,
                "created_at": CREATED,
            }
        )
    with registry.engine.begin() as conn:
        conn.execute(insert(patients), people)
        conn.execute(insert(pictures), shots)
        conn.execute(insert(courses), plans)
        if registry.engine.dialect.name == "postgresql":
            conn.exec_driver_sql("ANALYZE")


def test_the_export_is_the_whole_list_in_order_with_its_count(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recall_export_module, "BATCH", 7)  # many fetches for a few rows
    _fill(registry, 300)
    for status in (None, "overdue", "due", "upcoming"):
        expected = registry.recall(AS_OF, 14, status=status)
        with registry.open_recall_export(AS_OF, 14, status=status) as export:
            assert export.total == len(expected) == registry.recall_count(AS_OF, 14, status=status)
            assert list(export) == expected
    assert registry.engine.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_the_export_reads_one_snapshot(registry: Registry) -> None:
    _fill(registry, 50)
    export = registry.open_recall_export(AS_OF, 14)
    before = export.total
    with registry.engine.begin() as conn:  # a write after the export began
        conn.execute(courses.delete())
    rows = list(export)
    assert len(rows) == before > 0
    assert registry.recall(AS_OF, 14) == []


def test_an_export_abandoned_half_way_gives_its_connection_back(registry: Registry) -> None:
    _fill(registry, 40)
    export = registry.open_recall_export(AS_OF, 14)
    rows: Any = iter(export)  # a generator
    next(rows)
    rows.close()  # what happens when the download's client goes away
    export.close()
    assert registry.engine.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_the_export_streams_with_a_server_side_cursor(registry: Registry) -> None:
    _fill(registry, 30)
    streamed: list[bool] = []

    def spy(conn: Any, _cur: Any, statement: str, *_rest: Any) -> None:
        if "JOIN" in statement:
            streamed.append(bool(conn.get_execution_options().get("stream_results")))

    event.listen(registry.engine, "before_cursor_execute", spy)
    try:
        with registry.open_recall_export(AS_OF, 14) as export:
            list(export)
    finally:
        event.remove(registry.engine, "before_cursor_execute", spy)
    assert streamed == [True]


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_the_export_cursor_walks_the_urgency_index_on_postgresql(registry: Registry) -> None:
    _fill(registry, 5000)
    seen: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cur: Any, statement: str, params: Any, *_rest: Any) -> None:
        seen.append((statement, params))

    event.listen(registry.engine, "before_cursor_execute", capture)
    try:
        registry.open_recall_export(AS_OF, 14).close()
    finally:
        event.remove(registry.engine, "before_cursor_execute", capture)
    statement, params = next((s, p) for s, p in seen if "JOIN" in s)
    with registry.engine.connect() as conn:
        plan = "\n".join(
            conn.exec_driver_sql("EXPLAIN DECLARE c NO SCROLL CURSOR FOR " + statement, params)
            .scalars()
            .all()
        )
    assert "ix_courses_urgency on courses" in plan, plan
    assert "Sort" not in plan, plan
    assert "Seq Scan on courses" not in plan, plan
