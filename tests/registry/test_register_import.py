"""Bringing a practice's register in (issue 13): a 2,000-row file on SQLite and PostgreSQL.

The file is generated (seeded) by ``register_csv.make_register`` with bad rows of each class at
known lines.  A dry run writes nothing and reports exactly those rows as refused, naming the
column; the real run writes every other row whole (patient, picture, course, doses, register
entry, audit), each course's stored window equals the follow-up's answer, and the same file
imported again changes nothing.
"""

from __future__ import annotations

import os
import subprocess
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from b12.adapters.register_content import load_register_content
from b12.adapters.sql.register import RegisterStore
from b12.adapters.sql.registry import Registry
from b12.adapters.sql.tables import doses, patients, register_entries
from b12.core.knowledge import KnowledgeBase
from b12.core.register_import import RowReport, read_rows
from b12.entrypoints.register_cli import read_register_csv
from tests.live_server import b12_command
from tests.registry.conftest import ACTOR, stored_window, table_counts
from tests.registry.register_csv import Register, make_register

TODAY = date(2026, 3, 2)
NOW = datetime(2026, 3, 2, 9, 30)  # noqa: DTZ001 - naive local wall-clock time, as stored
COLUMN_OF_BAD = {
    "unknown_product": "product",
    "future_last_dose": "last_dose_date",
    "bad_nhs_number": "nhs_number",
    "duplicate_id": "patient_id",
    "missing_date": "last_dose_date",
}


@pytest.fixture(scope="module")
def register_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Register, Path]:
    reg = make_register(2000, TODAY)
    return reg, reg.write(tmp_path_factory.mktemp("register") / "register.csv")


def _reports(path: Path, kb: KnowledgeBase) -> list[RowReport]:
    return read_rows(read_register_csv(path), kb, TODAY)


def _import(registry: Registry, path: Path, *, dry_run: bool) -> list[RowReport]:
    store = RegisterStore(registry, load_register_content(registry.kb))
    return store.import_rows(
        _reports(path, registry.kb), actor=ACTOR, now=NOW, dry_run=dry_run, batch_size=250
    )


def test_the_file_has_every_class_of_bad_row(register_file: tuple[Register, Path]) -> None:
    reg, _ = register_file
    assert set(reg.bad.values()) == set(COLUMN_OF_BAD)
    assert len(reg.rows) == 2000


def test_dry_run_reports_each_bad_row_and_writes_nothing(
    registry: Registry, register_file: tuple[Register, Path]
) -> None:
    reg, path = register_file
    before = table_counts(registry)
    reports = _import(registry, path, dry_run=True)
    assert table_counts(registry) == before
    refused = {r.line: r for r in reports if r.status == "refused"}
    assert set(refused) == set(reg.bad)
    for line, kind in reg.bad.items():
        columns = {p.column for p in refused[line].problems if p.refuses}
        assert COLUMN_OF_BAD[kind] in columns, (line, kind, refused[line].problems)
        assert refused[line].outcome == "not written"
    others = [r for r in reports if r.status != "refused"]
    assert all(r.outcome == "would be imported" for r in others)
    assert any(r.status == "needs_attention" for r in others)
    assert any(r.status == "accepted" for r in others)


def _whole(registry: Registry, reg: Register) -> dict[str, Any]:
    """Each patient in the registry has every part of its row; returns the counts."""
    with registry.engine.connect() as conn:
        ids = set(conn.execute(select(patients.c.id)).scalars())
        entries = set(conn.execute(select(register_entries.c.patient_id)).scalars())
        dose_counts: dict[str, int] = {
            r[0]: r[1]
            for r in conn.execute(
                select(doses.c.patient_id, func.count()).group_by(doses.c.patient_id)
            )
        }
    counts = table_counts(registry)
    assert ids == entries
    assert counts["pictures"] == counts["courses"] == len(ids)
    for pid in ids:
        assert dose_counts[pid] == reg.dose_count(pid), pid
    return {"patients": len(ids), "ids": ids}


def test_import_writes_whole_rows_and_reimport_is_a_no_op(
    registry: Registry, register_file: tuple[Register, Path]
) -> None:
    reg, path = register_file
    reports = _import(registry, path, dry_run=False)
    written = [r for r in reports if r.outcome == "imported"]
    assert len(written) == 2000 - len(reg.bad)
    assert {r.patient_id for r in written} == _whole(registry, reg)["ids"]
    counts = table_counts(registry)
    assert counts["audit"] == len(written)

    again = _import(registry, path, dry_run=False)
    assert table_counts(registry) == counts
    assert {r.outcome for r in again if r.status != "refused"} == {"unchanged"}
    refused = [r.status == "refused" for r in reports]
    assert [r.status == "refused" for r in again] == refused


def test_recall_is_right_from_day_one(
    registry: Registry, register_file: tuple[Register, Path]
) -> None:
    """The stored window of every imported course is the follow-up's answer on import day."""
    _, path = register_file
    reports = _import(registry, path, dry_run=False)
    ids = sorted(r.patient_id for r in reports if r.outcome == "imported" and r.patient_id)
    for pid in ids[::40]:
        follow = registry.follow_up(pid, TODAY)
        due = follow.next_due
        expected = (due.date, due.earliest, due.latest) if due and not due.continuous else None
        assert stored_window(registry, pid) == (expected or (None, None, None)), pid
    total = registry.recall_count(TODAY, 3660)
    assert total > 0


def test_a_changed_row_for_an_imported_patient_is_refused_and_changes_nothing(
    registry: Registry, tmp_path: Path
) -> None:
    reg = make_register(30, TODAY, bad_every=1000)
    first = reg.write(tmp_path / "first.csv")
    _import(registry, first, dry_run=False)
    before = table_counts(registry)
    reg.rows[3]["contact"] = "07700 900999"
    reports = _import(registry, reg.write(tmp_path / "second.csv"), dry_run=False)
    changed = next(r for r in reports if r.patient_id == reg.rows[3]["patient_id"])
    assert changed.status == "refused"
    assert changed.problems[-1].column == "patient_id"
    assert table_counts(registry) == before


def test_an_nhs_number_already_held_by_another_patient_is_refused(
    registry: Registry, tmp_path: Path
) -> None:
    reg = make_register(5, TODAY, bad_every=1000)
    reg.rows[0]["nhs_number"], reg.rows[0]["mrn"] = "9434765919", ""
    _import(registry, reg.write(tmp_path / "a.csv"), dry_run=False)
    before = table_counts(registry)
    other = make_register(1, TODAY, seed=99, bad_every=1000)
    other.rows[0].update(patient_id="someone-else", nhs_number="943 476 5919", mrn="")
    (report,) = _import(registry, other.write(tmp_path / "b.csv"), dry_run=False)
    assert report.status == "refused"
    assert report.problems[-1].column == "nhs_number"
    assert table_counts(registry) == before


def test_killing_the_import_part_way_leaves_only_whole_rows(
    registry: Registry, db_url: str, tmp_path: Path
) -> None:
    """``b12 registry import`` killed (SIGKILL) after its first batch committed; then resumed."""
    today = date.today()  # noqa: DTZ011 - the subprocess writes as of the real local today
    reg = make_register(3000, today, seed=21, bad_every=10_000)
    path = reg.write(tmp_path / "big.csv")
    env = {**os.environ, "B12_DATABASE_URL": db_url}
    proc = subprocess.Popen(
        b12_command("registry", "import", str(path)),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 300
        while _patient_count(registry) == 0:
            assert proc.poll() is None, "the import ended before its first batch was seen"
            assert time.monotonic() < deadline, "no batch committed within 5 minutes"
            time.sleep(0.02)
        proc.kill()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    part = _whole(registry, reg)["patients"]
    assert 0 < part < len(reg.rows), "killed after the last batch: nothing to test"

    store = RegisterStore(registry, load_register_content(registry.kb))
    rows = read_rows(read_register_csv(path), registry.kb, today)
    now = datetime.combine(today, NOW.time())
    reports = store.import_rows(rows, actor=ACTOR, now=now, dry_run=False)
    assert sum(r.outcome == "unchanged" for r in reports) == part
    assert _whole(registry, reg)["patients"] == len(reg.rows)


def _patient_count(registry: Registry) -> int:
    with registry.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(patients)).scalar_one())


def test_the_template_gives_declared_and_inferred_maintenance(registry: Registry) -> None:
    """examples/register-template.csv: two declared courses and one read from dose spacing."""
    path = Path(__file__).resolve().parents[2] / "examples" / "register-template.csv"
    day = date(2026, 12, 6)
    store = RegisterStore(registry, load_register_content(registry.kb))
    rows = read_rows(read_register_csv(path), registry.kb, day)
    now = datetime.combine(day, NOW.time())
    reports = store.import_rows(rows, actor=ACTOR, now=now, dry_run=False)
    assert [r.status for r in reports] == ["accepted"] * 3
    read = {r.patient_id: (r.course or {}).get("phase_read") for r in reports}
    assert read == {"pt-0001": "declared", "pt-0002": "declared", "pt-0003": "inferred"}
    assert {(r.course or {}).get("phase") for r in reports} == {"maintenance"}
    assert registry.recall_count(day, 0, status="overdue") == 0
