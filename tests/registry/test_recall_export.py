"""The streamed recall export: the same rows as the list, one snapshot, a cursor on the index.

Rows are written straight into the tables (the registry's own writes would take minutes for a
few thousand courses); the export is compared with ``Registry.recall``, which the other recall
tests pin to the engine.  Its CSV (on PostgreSQL formatted from text cells the database makes,
``RecallExport.text_chunks``) is compared byte for byte with the reference writer
(``recall_csv`` of the ``RecallRow`` list) on hostile names and values.  On PostgreSQL the plans
of both server-side cursors are checked with ``EXPLAIN DECLARE``: they walk
``ix_courses_urgency`` in order (no sort, no sequential scan of courses; the text cursor with an
index-only scan once the table is vacuumed), which is what keeps the first rows quick and memory
flat at any size.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, insert

from b12.adapters.sql import recall_export as recall_export_module
from b12.adapters.sql.registry import Registry, recall_csv, recall_csv_chunks
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


def _explain_declare(registry: Registry, statement: str, params: Any) -> str:
    with registry.engine.connect() as conn:
        return "\n".join(
            conn.exec_driver_sql("EXPLAIN DECLARE c NO SCROLL CURSOR FOR " + statement, params)
            .scalars()
            .all()
        )


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_the_export_cursors_walk_the_urgency_index_on_postgresql(registry: Registry) -> None:
    _fill(registry, 5000)
    with registry.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE courses")  # what autovacuum does after a bulk load
    seen: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cur: Any, statement: str, params: Any, *_rest: Any) -> None:
        seen.append((statement, params))

    event.listen(registry.engine, "before_cursor_execute", capture)
    try:
        with registry.open_recall_export(AS_OF, 14) as export:
            next(iter(export))
    finally:
        event.remove(registry.engine, "before_cursor_execute", capture)
    statement, params = next((s, p) for s, p in seen if "JOIN" in s)
    rows_plan = _explain_declare(registry, statement, params)

    with registry.open_recall_export(AS_OF, 14, status="overdue") as export:
        query = export.text_query
    assert query is not None
    compiled = query.compile(
        dialect=registry.engine.dialect, compile_kwargs={"render_postcompile": True}
    )
    text_plan = _explain_declare(registry, str(compiled), compiled.params)

    for plan in (rows_plan, text_plan):
        assert "ix_courses_urgency on courses" in plan, plan
        assert "Sort" not in plan, plan
        assert "Seq Scan on courses" not in plan, plan
    assert "Index Only Scan using ix_courses_urgency on courses" in text_plan, text_plan


# -- the CSV: the database's text cells give the reference writer's bytes -------------------

HOSTILE_NAMES = [
    None,
    "",
    "Ann O'Neil",
    "Smith, John",
    'Robert "Bobby" Tables',
    "two\nlines",
    "carriage\rreturn",
    "crlf\r\nend",
    '=HYPERLINK("http://evil.example","click")',
    "+cmd|' /C calc'!A0",
    "-1+1",
    "@SUM(A1:A9)",
    "\tTabbed",
    "\rCR first",
    "Zoë Ødegård-Ñúñez",
    "李小龍, 北京",
    'Emoji 🙂 "quoted", and, commas',
    " leading and trailing ",
]


def _fill_hostile(registry: Registry) -> None:
    """Courses whose every text cell (and a few dates) is something a CSV writer must handle."""
    rng = random.Random(16)
    people, shots, plans = [], [], []
    ids = [f"P{i:03d}" for i in range(60)] + ["-1", "=1", "@a", "+b", "a.b-c_d"]
    extreme = [date(999, 12, 31), date(1, 1, 1)]
    for n, pid in enumerate(ids, start=1):
        due = AS_OF + timedelta(days=(7 * n) % 75 - 60)  # -60 to +14: all in the list
        if n <= len(extreme):
            due = extreme[n - 1]
        latest = due + timedelta(days=rng.choice((0, 7, 31)))
        people.append(
            {
                "id": pid,
                "display_name": HOSTILE_NAMES[n % len(HOSTILE_NAMES)],
                "guideline": "uk",
                "created_at": CREATED,
            }
        )
        shots.append(
            {"id": n, "patient_id": pid, "version": 1, "document": {}, "created_at": CREATED}
        )
        plans.append(
            {
                "id": n,
                "patient_id": pid,
                "picture_id": n,
                "guideline": "uk" if n % 4 else "us",
                "pathway": ("uk-im-no-neuro", "=pathway,odd", "-x")[n % 3],
                "regimen": (None, "UK-HYDROXO-STANDARD", '"quoted"', "@r")[n % 4],
                "start": date(2025, 1, 1),
                "content_version": "sha256:test",
                "status": "active",
                "phase": (None, "maintenance", "loading\nphase", "\tx", "")[n % 5],
                "next_due": due,
                "due_earliest": due,
                "due_latest": latest,
                "continuous": 0,
                "created_at": CREATED,
            }
        )
    with registry.engine.begin() as conn:
        conn.execute(insert(patients), people)
        conn.execute(insert(pictures), shots)
        conn.execute(insert(courses), plans)


@pytest.mark.parametrize("status", [None, "overdue", "due", "upcoming"])
@pytest.mark.parametrize("guideline", [None, "us"])
def test_the_exported_csv_is_the_reference_csv_byte_for_byte(
    registry: Registry,
    monkeypatch: pytest.MonkeyPatch,
    status: str | None,
    guideline: str | None,
) -> None:
    monkeypatch.setattr(recall_export_module, "TEXT_BATCH", 4)  # hostile rows in many batches
    _fill_hostile(registry)
    reference = recall_csv(registry.recall(AS_OF, 14, status=status, guideline=guideline))
    export = registry.open_recall_export(AS_OF, 14, status=status, guideline=guideline)
    # PostgreSQL formats the cells in the query; SQLite keeps the reference path.
    assert export.has_text == (registry.engine.dialect.name == "postgresql")
    chunks = list(recall_csv_chunks(export))
    assert "".join(chunks) == reference
    assert reference.count("\r\n") > export.total > 0
    assert registry.engine.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_the_hostile_cells_are_defused_and_quoted(registry: Registry) -> None:
    _fill_hostile(registry)
    with registry.open_recall_export(AS_OF, 14) as export:
        text = "".join(recall_csv_chunks(export))
    assert text.startswith("patient_id,display_name,pathway,regimen,phase,next_due,")
    for expected in (
        '"\'=HYPERLINK(""http://evil.example"",""click"")"',
        ",'+cmd|' /C calc'!A0,",
        "\n'-1,",
        "\n'=1,",
        '"Robert ""Bobby"" Tables"',
        '"two\nlines"',
        ",0999-12-31,",  # dates keep four-digit years
        ",0001-01-01,",
        '"\'\rCR first"',
        ",'\tTabbed,",
        ",'@r,",
    ):
        assert expected in text


@pytest.mark.parametrize("read", ["rows", "csv"])
def test_either_reading_sees_the_snapshot_of_the_count(registry: Registry, read: str) -> None:
    _fill(registry, 50)
    export = registry.open_recall_export(AS_OF, 14)
    before = export.total
    with registry.engine.begin() as conn:  # a write after the export began
        conn.execute(courses.delete())
    if read == "rows":
        assert len(list(export)) == before > 0
    else:
        assert "".join(recall_csv_chunks(export)).count("\r\n") == before + 1
    assert registry.recall(AS_OF, 14) == []


def test_a_csv_download_abandoned_after_the_header_gives_its_connection_back(
    registry: Registry,
) -> None:
    _fill(registry, 40)
    export = registry.open_recall_export(AS_OF, 14)
    chunks: Any = recall_csv_chunks(export)
    assert next(chunks).startswith("patient_id,")
    chunks.close()  # the client went away
    export.close()
    assert registry.engine.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_an_export_is_read_once(registry: Registry) -> None:
    _fill(registry, 5)
    with registry.open_recall_export(AS_OF, 14) as export:
        assert len(list(export)) == export.total
        with pytest.raises(RuntimeError, match="read once"):
            list(export)


def test_a_csv_download_abandoned_mid_stream_gives_its_connection_back(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recall_export_module, "TEXT_BATCH", 3)  # the next fetch is under way
    _fill(registry, 40)
    export = registry.open_recall_export(AS_OF, 14)
    chunks: Any = recall_csv_chunks(export)
    next(chunks)  # the header
    assert next(chunks).count("\r\n") == (3 if export.has_text else export.total)
    chunks.close()
    assert registry.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    assert registry.recall_count(AS_OF, 14) == export.total  # the pool's connection still works
