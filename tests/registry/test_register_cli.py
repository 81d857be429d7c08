"""``b12 registry import|review|outreach|messages`` on a temporary SQLite file.

The CLI stamps writes with the wall clock; the register file is generated as of the real
today so that its dates are in the past whatever day the tests run.
"""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

import b12.entrypoints.cli as cli
from b12.adapters.sql.registry import Registry
from b12.adapters.sql.tables import audit, patients
from b12.core.knowledge import KnowledgeBase
from tests.registry.register_csv import make_register
from tests.registry.test_registry_cli import USER, b12

TODAY = date.today()  # noqa: DTZ011 - the CLI writes as of the real local today


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kb: KnowledgeBase) -> Path:
    """A fresh registry file named by B12_DATABASE_URL; the CLI reuses the session's KB."""
    path = tmp_path / "practice" / "registry.sqlite3"
    monkeypatch.setenv("B12_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("B12_USER", USER)
    monkeypatch.setattr(cli, "load_knowledge_base", lambda folder=None: kb)
    return path


def _count(db: Path, kb: KnowledgeBase) -> int:
    registry = Registry(f"sqlite:///{db}", kb)
    with registry.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(patients)).scalar_one())


def test_dry_run_then_import_then_again(db: Path, kb: KnowledgeBase, tmp_path: Path) -> None:
    reg = make_register(60, TODAY, bad_every=20)
    path = str(reg.write(tmp_path / "register.csv"))
    report = tmp_path / "report.csv"

    dry = json.loads(b12("registry", "import", path, "--dry-run", "--json", code=2).output)
    assert dry["dry_run"] is True
    assert dry["summary"]["refused"] == len(reg.bad) == 2
    assert {r["line"] for r in dry["rows"] if r["status"] == "refused"} == set(reg.bad)
    assert not db.exists() or _count(db, kb) == 0

    out = b12("registry", "import", path, "--report", str(report), code=2).output
    assert "58 accepted" not in out  # some rows need attention: the summary says so
    assert "refused" in out
    assert _count(db, kb) == 58
    with report.open(encoding="utf-8") as fh:
        lines = list(csv.DictReader(fh))
    assert {int(r["line"]) for r in lines if r["status"] == "refused"} == set(reg.bad)
    assert all(bool(r["column"]) == bool(r["reason"]) for r in lines)
    assert {r["patient_id"] for r in lines if r["outcome"] == "imported"} == {
        r["patient_id"] for r in reg.rows
    } - {reg.rows[line - 2]["patient_id"] for line in reg.bad if reg.bad[line] != "duplicate_id"}
    assert all(r["phase"] for r in lines if r["outcome"] == "imported")

    again = json.loads(b12("registry", "import", path, "--json", code=2).output)
    assert again["summary"]["written"] == 0
    assert again["summary"]["unchanged"] == 58
    assert _count(db, kb) == 58


def test_a_clean_file_exits_0(db: Path, tmp_path: Path) -> None:
    reg = make_register(10, TODAY, bad_every=1000)
    out = b12("registry", "import", str(reg.write(tmp_path / "r.csv"))).output
    assert "wrote 10" in out


def test_bad_files_are_one_line_errors(db: Path, tmp_path: Path) -> None:
    missing = b12("registry", "import", str(tmp_path / "nope.csv"), code=2)
    assert "error: file: cannot read" in missing.output
    header = tmp_path / "header.csv"
    header.write_text("patient_id,dob\nx,1950-01-01\n", encoding="utf-8")
    out = b12("registry", "import", str(header), code=2).output
    assert "error: header: missing column 'date_of_birth'" in out
    assert "error: header: unknown column 'dob'" in out
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00bad")
    assert "error: file:" in b12("registry", "import", str(binary), code=2).output


def test_review_outreach_and_messages(db: Path, kb: KnowledgeBase, tmp_path: Path) -> None:
    reg = make_register(40, TODAY, bad_every=1000)
    reg.rows[0]["name"] = '=HYPERLINK("http://x")'
    reg.rows[0]["last_dose_date"], reg.rows[0]["earlier_doses"] = "2020-01-06", ""
    b12("registry", "import", str(reg.write(tmp_path / "r.csv")))
    review = json.loads(b12("registry", "review", "--json").output)
    assert review["review_status"] in ("approved", "pending_review")
    assert review["rows"]
    assert all(r["references"] and r["reason"] for r in review["rows"])
    b12("registry", "review", "--csv", str(tmp_path / "review.csv"))
    assert (tmp_path / "review.csv").read_text(encoding="utf-8").startswith("patient_id,")
    b12("registry", "review", "--criterion", "REG-REVIEW-000", code=2)

    listed = json.loads(b12("registry", "outreach", "list", "--within", "3660", "--json").output)
    first = listed["rows"][0]["patient_id"]
    marked = json.loads(
        b12("registry", "outreach", "mark", first, "--status", "invited", "--json").output
    )
    assert marked["by"] == "nurse.cli"
    bad = b12("registry", "outreach", "mark", first, "--status", "phoned", code=2).output
    assert "error: status: unknown status 'phoned'" in bad
    b12("registry", "outreach", "mark", "nobody", "--status", "booked", code=4)
    again = json.loads(b12("registry", "outreach", "list", "--within", "3660", "--json").output)
    assert again["rows"][0]["outreach"]["status"] == "invited"

    out = tmp_path / "messages.csv"
    b12("registry", "messages", "--csv", str(out), "--within", "3660")
    with out.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows
    for r in rows:
        assert r["contact"]
        assert r["due_date"][:4] in r["message"]
    first = next(r for r in rows if r["patient_id"] == reg.rows[0]["patient_id"])
    assert first["name"].startswith("'=")  # defused for spreadsheets
    registry = Registry(f"sqlite:///{db}", kb)
    with registry.engine.connect() as conn:
        views = [r.table_name for r in conn.execute(select(audit).where(audit.c.action == "view"))]
    assert views == ["register_review", "register_review", "outreach", "outreach", "messages"]
