"""The patient's-printout settings: ``B12_PRACTICE_*`` and ``B12_CLINIC_DAYS``."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from b12.entrypoints import cli, settings


def test_clinic_days_are_read_as_weekday_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("B12_CLINIC_DAYS", " Mon, tuesday ,WED")
    assert settings.clinic_days() == ("mon", "tue", "wed")
    monkeypatch.setenv("B12_CLINIC_DAYS", "")
    assert settings.clinic_days() is None


def test_practice_details_are_optional(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("B12_PRACTICE_NAME", raising=False)
    monkeypatch.setenv("B12_PRACTICE_PHONE", " 020 7946 0000 ")
    assert settings.practice_name() is None
    assert settings.practice_phone() == "020 7946 0000"


def test_serve_refuses_an_unknown_clinic_day(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("B12_DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite3'}")
    monkeypatch.setenv("B12_CLINIC_DAYS", "mon,monkey")
    refused = CliRunner().invoke(cli.app, ["serve", "--port", "1"])
    assert refused.exit_code == 2
    assert "B12_CLINIC_DAYS" in refused.output
    assert "Traceback" not in refused.output
