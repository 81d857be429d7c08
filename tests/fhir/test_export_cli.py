"""``b12 export fhir`` and ``b12 plan --fhir-out``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import b12.entrypoints.cli as cli
import b12.entrypoints.export_cli as export_cli
from b12.adapters.fhir.codes import load_code_table
from b12.adapters.knowledge_files import load_knowledge_base
from b12.core.knowledge import KnowledgeBase
from tests.conftest import make_picture
from tests.fhir.outbound_support import not_emittable, resources, validate
from tests.fhir.test_definitions import patient_bundle


@pytest.fixture
def runner(kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A runner whose commands reuse the session's bundled knowledge base."""

    def cached(path: Path | None = None) -> KnowledgeBase:
        return kb if path is None else load_knowledge_base(path)

    monkeypatch.setattr(cli, "load_knowledge_base", cached)
    monkeypatch.setattr(export_cli, "load_knowledge_base", cached)
    return CliRunner()


def test_export_fhir_writes_one_file_per_definition_and_a_bundle(
    runner: CliRunner, kb: KnowledgeBase, tmp_path: Path
) -> None:
    out = tmp_path / "fhir"
    result = runner.invoke(cli.app, ["export", "fhir", "--out", str(out)])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.iterdir())
    expected = sorted(
        [f"PlanDefinition-{p}.json" for p in [*kb.pathways, "b12-treatment"]]
        + [f"ActivityDefinition-{r}.json" for r in kb.regimens]
        + ["bundle.json"]
    )
    assert names == expected
    table = load_code_table()
    for path in out.iterdir():
        resource = json.loads(path.read_text(encoding="utf-8"))
        validate(resource)
        assert not_emittable(resource, table) == [], path.name
    bundle = json.loads((out / "bundle.json").read_text(encoding="utf-8"))
    assert bundle["type"] == "collection"
    assert len(bundle["entry"]) == len(names) - 1


def test_export_fhir_is_byte_for_byte_deterministic(runner: CliRunner, tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    assert runner.invoke(cli.app, ["export", "fhir", "--out", str(first)]).exit_code == 0
    assert runner.invoke(cli.app, ["export", "fhir", "--out", str(second)]).exit_code == 0
    for path in first.iterdir():
        assert (second / path.name).read_bytes() == path.read_bytes(), path.name


def test_export_fhir_cannot_write_is_exit_2(runner: CliRunner, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    result = runner.invoke(cli.app, ["export", "fhir", "--out", str(blocker / "sub")])
    assert result.exit_code == 2
    assert "cannot write" in result.stderr


def test_plan_fhir_out_writes_the_care_plan_bundle(runner: CliRunner, tmp_path: Path) -> None:
    picture = tmp_path / "picture.json"
    picture.write_text(json.dumps(make_picture(cause="pernicious_anaemia")), encoding="utf-8")
    out = tmp_path / "plan-bundle.json"
    result = runner.invoke(cli.app, ["plan", str(picture), "--fhir-out", str(out)])
    assert result.exit_code == 0, result.output
    bundle = json.loads(out.read_text(encoding="utf-8"))
    validate(bundle)
    (care,) = resources(bundle, "CarePlan")
    assert care["subject"] == {"reference": export_cli.UNKNOWN_PATIENT}
    again = tmp_path / "again.json"
    runner.invoke(cli.app, ["plan", str(picture), "--fhir-out", str(again)])
    assert again.read_bytes() == out.read_bytes()


def test_plan_from_fhir_to_fhir_keeps_the_patient(runner: CliRunner, tmp_path: Path) -> None:
    source = tmp_path / "patient.json"
    source.write_text(json.dumps(patient_bundle()), encoding="utf-8")
    out = tmp_path / "plan-bundle.json"
    result = runner.invoke(
        cli.app,
        ["plan", "--fhir", str(source), "--as-of", "2026-03-02", "--fhir-out", str(out)],
    )
    assert result.exit_code == 0, result.output
    (care,) = resources(json.loads(out.read_text(encoding="utf-8")), "CarePlan")
    assert care["subject"] == {"reference": "Patient/pa1"}
