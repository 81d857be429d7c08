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


def test_ics_each_dose_lists_every_dose_of_a_repeating_run(
    runner: CliRunner, tmp_path: Path, plans: dict[str, Plan]
) -> None:
    from b12.core.schedule import expand_schedule

    compact, each = tmp_path / "compact.ics", tmp_path / "each.ics"
    picture = _picture(tmp_path, "neuro_uk")
    for path, extra in ((compact, []), (each, ["--ics-each-dose"])):
        result = runner.invoke(cli.app, ["plan", picture, "--ics", str(path), *extra])
        assert result.exit_code == 0, result.output
    plan = plans["neuro_uk"]
    assert any(e.repeat is not None for e in plan.schedule)
    rows = list(Calendar.from_ical(compact.read_bytes()).walk("VEVENT"))
    assert len(rows) == len(plan.schedule)
    assert any("RRULE" in e for e in rows)  # a repeating run is one recurring event
    listed = list(Calendar.from_ical(each.read_bytes()).walk("VEVENT"))
    assert not any("RRULE" in e for e in listed)
    assert [e.decoded("DTSTART") for e in listed] == [
        e.date for e in expand_schedule(plan.schedule)
    ]
