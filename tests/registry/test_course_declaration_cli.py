"""``b12 registry patient add --course FILE``: enrolment with a declared course, on SQLite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

import b12.entrypoints.cli as cli
from b12.adapters.knowledge_files import load_knowledge_base
from b12.adapters.sql.registry import Registry
from b12.core.knowledge import KnowledgeBase
from tests.registry.conftest import UK_PA, table_counts


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kb: KnowledgeBase) -> Path:
    path = tmp_path / "registry.sqlite3"
    monkeypatch.setenv("B12_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("B12_USER", "nurse.cli")

    def cached(folder: Path | None = None) -> KnowledgeBase:
        return kb if folder is None else load_knowledge_base(folder)

    monkeypatch.setattr(cli, "load_knowledge_base", cached)
    return path


def b12(*args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(cli.app, list(args))
    assert "Traceback" not in result.output
    assert result.exit_code == code, (result.exit_code, result.output)
    return result


def _file(tmp_path: Path, name: str, doc: object) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return str(path)


def test_patient_add_with_a_declared_course(db: Path, tmp_path: Path, kb: KnowledgeBase) -> None:
    b12("db", "upgrade")
    course = {"stage": "neuro_course_completed", "since": "2024-11-01", "every_months": 2}
    picture = _file(tmp_path, "picture.json", {**UK_PA, "as_of": "2025-06-02"})
    b12("patient", "add", "--id", "P-1", "--picture", picture,
        "--course", _file(tmp_path, "course.json", course))  # fmt: skip
    registry = Registry(f"sqlite:///{db}", kb)
    shown = registry.show_patient("P-1")
    assert shown["course"]["declaration"] == course
    assert shown["course"]["regimen"] == "UK-HYDROXO-NEURO"
    assert shown["course"]["phase"] == "maintenance"


def test_a_bad_declared_course_names_the_field_and_enrols_no_one(
    db: Path, tmp_path: Path, kb: KnowledgeBase
) -> None:
    b12("db", "upgrade")
    registry = Registry(f"sqlite:///{db}", kb)
    before = table_counts(registry)
    picture = _file(tmp_path, "picture.json", UK_PA)
    course = _file(tmp_path, "course.json", {"stage": "maintenance", "since": "2099-01-01"})
    result = b12("patient", "add", "--id", "P-2", "--picture", picture,
                 "--course", course, code=2)  # fmt: skip
    assert "course.since" in result.output
    assert table_counts(registry) == before
