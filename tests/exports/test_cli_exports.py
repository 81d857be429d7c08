"""``b12 plan --ics PATH --pdf PATH``: files written for a dated plan; exit 2 otherwise."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from icalendar import Calendar
from pypdf import PdfReader
from typer.testing import CliRunner

import b12.entrypoints.cli as cli
from b12.adapters.knowledge_files import load_knowledge_base
from b12.core.knowledge import KnowledgeBase
from b12.core.plan_models import Plan
from tests.exports.conftest import PICTURES


@pytest.fixture
def runner(kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    def cached(path: Path | None = None) -> KnowledgeBase:
        return kb if path is None else load_knowledge_base(path)

    monkeypatch.setattr(cli, "load_knowledge_base", cached)
    return CliRunner()


def _picture(tmp_path: Path, name: str) -> str:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(PICTURES[name]), encoding="utf-8")
    return str(path)


def test_plan_writes_ics_and_pdf(runner: CliRunner, tmp_path: Path, plans: dict[str, Plan]) -> None:
    ics, pdf = tmp_path / "plan.ics", tmp_path / "plan.pdf"
    result = runner.invoke(
        cli.app,
        [
            "plan",
            _picture(tmp_path, "pa_uk"),
            "--json",
            "--ics",
            str(ics),
            "--pdf",
            str(pdf),
            "--label",
            "Patient 7",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["status"] == "plan"
    plan = plans["pa_uk"]
    events = Calendar.from_ical(ics.read_bytes()).walk("VEVENT")
    assert [e.decoded("DTSTART") for e in events] == [e.date for e in plan.schedule]
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.read_bytes())).pages)
    assert "Patient 7" in text
    assert f"wrote {ics}" in result.stderr
    assert f"wrote {pdf}" in result.stderr
    # The same command again writes the same bytes.
    first = (ics.read_bytes(), pdf.read_bytes())
    again = runner.invoke(
        cli.app,
        [
            "plan",
            _picture(tmp_path, "pa_uk"),
            "--ics",
            str(ics),
            "--pdf",
            str(pdf),
            "--label",
            "Patient 7",
        ],
    )
    assert again.exit_code == 0, again.output
    assert (ics.read_bytes(), pdf.read_bytes()) == first


def test_no_schedule_is_bad_usage(runner: CliRunner, tmp_path: Path) -> None:
    ics = tmp_path / "plan.ics"
    result = runner.invoke(cli.app, ["plan", _picture(tmp_path, "no_labs"), "--ics", str(ics)])
    assert result.exit_code == 2
    assert "needs_more_data" in result.stderr
    assert "no dated schedule" in result.stderr
    assert not ics.exists()


def test_unwritable_path_is_bad_usage(runner: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "missing" / "plan.pdf"
    result = runner.invoke(cli.app, ["plan", _picture(tmp_path, "pa_uk"), "--pdf", str(target)])
    assert result.exit_code == 2
    assert "cannot write" in result.stderr
