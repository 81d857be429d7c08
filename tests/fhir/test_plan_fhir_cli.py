"""``b12 plan --fhir``: plan straight from FHIR; ignored resources on stderr; patient choice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import b12.entrypoints.cli as cli
from b12.adapters.knowledge_files import load_knowledge_base
from b12.core.knowledge import KnowledgeBase

FIXTURES = Path(__file__).parent / "fixtures"
SYNTHEA = (
    Path(__file__).resolve().parents[1] / "fixtures" / "fhir-samples" / "synthea-bulk-10-patients"
)


@pytest.fixture
def runner(kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    def cached(path: Path | None = None) -> KnowledgeBase:
        return kb if path is None else load_knowledge_base(path)

    monkeypatch.setattr(cli, "load_knowledge_base", cached)
    return CliRunner()


def test_plan_from_a_bundle(runner: CliRunner) -> None:
    result = runner.invoke(
        cli.app,
        [
            "plan",
            "--fhir",
            str(FIXTURES / "pernicious_anaemia.json"),
            "--as-of",
            "2026-03-02",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert plan["status"] == "plan"
    assert plan["as_of"] == "2026-03-02"
    assert result.stderr == ""


def test_guideline_option_applies(runner: CliRunner) -> None:
    result = runner.invoke(
        cli.app,
        [
            "plan",
            "--fhir",
            str(FIXTURES / "vegan.json"),
            "--as-of",
            "2026-03-02",
            "--guideline",
            "us",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["guideline"] == "us"


def test_ignored_resources_go_to_stderr_one_line_each(runner: CliRunner) -> None:
    result = runner.invoke(
        cli.app,
        ["plan", "--fhir", str(FIXTURES / "broken.json"), "--as-of", "2026-03-02", "--json"],
    )
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    ignored = [line for line in lines if line.startswith("ignored: ")]
    assert len(ignored) == 13
    assert "ignored: Observation/bad-unit: serum_b12_ng_l: unit 'mg/dL' is not known" in (
        result.stderr
    )
    assert json.loads(result.stdout)["status"] == "plan"


def test_findings_are_noted(runner: CliRunner) -> None:
    result = runner.invoke(
        cli.app,
        ["plan", "--fhir", str(FIXTURES / "ckd4_hyperkalaemia.json"), "--as-of", "2026-03-02"],
    )
    assert result.exit_code == 0, result.output
    assert "note: also recorded (not used by the plan): ckd_stage:4" in result.stderr


def test_ndjson_file_and_folder(runner: CliRunner, tmp_path: Path) -> None:
    bundle = json.loads((FIXTURES / "vegan.json").read_text(encoding="utf-8"))
    lines = "".join(json.dumps(e["resource"]) + "\n" for e in bundle["entry"])
    (tmp_path / "all.ndjson").write_text(lines, encoding="utf-8")
    for target in (tmp_path / "all.ndjson", tmp_path):
        result = runner.invoke(
            cli.app, ["plan", "--fhir", str(target), "--as-of", "2026-03-02", "--json"]
        )
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["status"] == "plan"


@pytest.mark.skipif(not SYNTHEA.exists(), reason="Synthea sample not available")
def test_several_patients_need_patient_option(runner: CliRunner) -> None:
    result = runner.invoke(cli.app, ["plan", "--fhir", str(SYNTHEA), "--as-of", "1994-06-01"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "13 patients" in result.stderr
    assert "79a66c97-6131-3213-f3c9-4606946ab056" in result.stderr
    chosen = runner.invoke(
        cli.app,
        [
            "plan",
            "--fhir",
            str(SYNTHEA),
            "--as-of",
            "1994-06-01",
            "--json",
            "--patient",
            "79a66c97-6131-3213-f3c9-4606946ab056",
        ],
    )
    assert chosen.exit_code == 0, chosen.output
    plan = json.loads(chosen.stdout)
    assert plan["status"] == "needs_more_data"  # no B12 result in the sample
    codes = {a["code"] for a in plan["alerts"]}
    assert "METFORMIN_B12" in codes
    assert "ignored: MedicationRequest ×709: not about the chosen patient" in chosen.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["plan", "--fhir", "/nonexistent/x.json"], "no such file"),
        (["plan"], "give a FILE"),
        (["plan", "-", "--fhir", "x.json"], "give a FILE"),
        (["plan", "--fhir", "{fixtures}/vegan.json", "--patient", "nobody"], "no Patient"),
    ],
)
def test_bad_fhir_usage_exits_2(runner: CliRunner, args: list[str], message: str) -> None:
    args = [a.replace("{fixtures}", str(FIXTURES)) for a in args]
    result = runner.invoke(cli.app, args)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert message in result.stderr
    assert "Traceback" not in result.output
