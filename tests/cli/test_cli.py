"""The ``b12`` command line: plan (report and JSON), schema, kb check/list, console script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import b12.entrypoints.cli as cli
from b12.adapters.knowledge_files import load_knowledge_base
from b12.core.errors import FieldProblem, InputError
from b12.core.knowledge import KnowledgeBase
from b12.core.plan_models import Plan
from b12.core.requests import plan_request
from tests.conftest import make_picture

AS_OF = "2026-03-02"


@pytest.fixture
def runner(kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A runner whose CLI reuses the session's bundled knowledge base (loading is tested apart)."""

    def cached(path: Path | None = None) -> KnowledgeBase:
        return kb if path is None else load_knowledge_base(path)

    monkeypatch.setattr(cli, "load_knowledge_base", cached)
    return CliRunner()


def _write(tmp_path: Path, doc: Any, name: str = "picture.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return str(path)


def _flat(text: str) -> str:
    """Collapse whitespace: Rich wraps long lines at the terminal width."""
    return " ".join(text.split())


def test_plan_json_parses_as_the_plan_contract_and_matches_the_library(
    runner: CliRunner, tmp_path: Path, kb: KnowledgeBase
) -> None:
    doc = make_picture(cause="pernicious_anaemia", labs={"serum_b12_ng_l": 110})
    result = runner.invoke(cli.app, ["plan", _write(tmp_path, doc), "--json"])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    plan = Plan.model_validate_json(result.stdout)
    assert plan.status == "plan"
    assert plan.pathway.id == "uk-im-no-neuro"
    assert str(plan.as_of) == AS_OF
    _, expected = plan_request(doc, kb)
    assert json.loads(result.stdout) == json.loads(expected.model_dump_json())


def test_plan_json_keys_are_those_the_published_schema_names(
    runner: CliRunner, tmp_path: Path
) -> None:
    schema = json.loads(runner.invoke(cli.app, ["schema", "Plan"]).stdout)
    result = runner.invoke(cli.app, ["plan", _write(tmp_path, make_picture()), "--json"])
    out = json.loads(result.stdout)
    assert set(schema["required"]) <= set(out)
    assert set(out) <= set(schema["properties"])
    for name in ("status", "guideline", "content_version", "as_of", "pathway", "regimen"):
        assert name in out
    for name in ("schedule", "monitoring", "alerts", "disagreements", "missing", "references"):
        assert isinstance(out[name], list)
    assert out["review_status"] in ("approved", "pending_review")
    assert out["disclaimer"]


def test_readable_report_shows_pathway_schedule_references_and_disclaimer(
    runner: CliRunner, tmp_path: Path, kb: KnowledgeBase
) -> None:
    result = runner.invoke(cli.app, ["plan", _write(tmp_path, make_picture())])
    assert result.exit_code == 0, result.output
    text = _flat(result.stdout)
    assert "Pathway:" in text
    assert "uk-im-no-neuro" in text
    assert "Schedule" in text
    assert "2026-03-02" in text
    assert "References" in text
    assert "1." in text
    assert _flat(kb.vocabulary.disclaimer) in text
    assert "{" not in result.stdout.splitlines()[0]


def test_plan_reads_standard_input_with_a_dash(runner: CliRunner) -> None:
    result = runner.invoke(cli.app, ["plan", "-", "--json"], input=json.dumps(make_picture()))
    assert result.exit_code == 0, result.output
    assert Plan.model_validate_json(result.stdout).pathway.id == "uk-im-no-neuro"


def test_guideline_option_overrides_the_input(runner: CliRunner, tmp_path: Path) -> None:
    path = _write(tmp_path, make_picture(guideline="uk"))
    result = runner.invoke(cli.app, ["plan", path, "--json", "--guideline", "us"])
    assert result.exit_code == 0, result.output
    plan = Plan.model_validate_json(result.stdout)
    assert plan.guideline == "us"
    assert plan.pathway.id == "us-cyano-im"
    assert plan.regimen is not None
    assert plan.regimen.drug == "cyanocobalamin"


def test_horizon_option_limits_the_schedule(runner: CliRunner, tmp_path: Path) -> None:
    path = _write(tmp_path, make_picture())
    short = runner.invoke(cli.app, ["plan", path, "--json", "--horizon", "3m"])
    default = runner.invoke(cli.app, ["plan", path, "--json"])
    assert short.exit_code == 0, short.output
    three = Plan.model_validate_json(short.stdout)
    twelve = Plan.model_validate_json(default.stdout)
    assert str(three.horizon_end) == "2026-06-02"
    assert str(twelve.horizon_end) == "2027-03-02"
    assert all(str(e.date) <= "2026-06-02" for e in three.schedule)
    assert len(three.schedule) < len(twelve.schedule)
    assert three.schedule_continues


def test_as_of_option_sets_today(runner: CliRunner, tmp_path: Path) -> None:
    doc = make_picture()
    del doc["as_of"]
    result = runner.invoke(cli.app, ["plan", _write(tmp_path, doc), "--json", "--as-of", AS_OF])
    assert result.exit_code == 0, result.output
    plan = Plan.model_validate_json(result.stdout)
    assert str(plan.as_of) == AS_OF
    assert str(plan.start) == AS_OF


@pytest.mark.parametrize("name", ["ClinicalPicture", "Plan", "Error"])
def test_schema_prints_a_json_schema(runner: CliRunner, name: str) -> None:
    result = runner.invoke(cli.app, ["schema", name])
    assert result.exit_code == 0, result.output
    schema = json.loads(result.stdout)
    assert schema["title"] == name
    assert schema["type"] == "object"
    assert schema["properties"]


def test_clinical_picture_schema_lists_the_contract_fields(runner: CliRunner) -> None:
    schema = json.loads(runner.invoke(cli.app, ["schema", "ClinicalPicture"]).stdout)
    assert schema["required"] == ["age"]
    for name in ("sex", "deficiency", "cause", "conditions", "labs", "guideline", "as_of"):
        assert name in schema["properties"]
    assert schema.get("additionalProperties") is False


def test_error_schema_describes_the_canonical_error_body(runner: CliRunner) -> None:
    schema = json.loads(runner.invoke(cli.app, ["schema", "Error"]).stdout)
    body = InputError([FieldProblem("age", "required")]).to_json()
    assert set(body) == set(schema["properties"]) == set(schema["required"])
    error = body["error"]
    assert isinstance(error, dict)
    assert set(error) == set(schema["properties"]["error"]["required"])


def test_unknown_schema_exits_2(runner: CliRunner) -> None:
    result = runner.invoke(cli.app, ["schema", "Nonsense"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("error: name: unknown schema 'Nonsense'")
    assert "Traceback" not in result.output


def test_kb_check_passes_on_the_bundled_knowledge_base(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Run outside the repository so the vignette coverage check (owned by the vignette suite)
    # does not apply: this test is about the knowledge base itself loading and validating.
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli.app, ["kb", "check"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("knowledge base OK:")
    assert "content version sha256:" in result.stdout
    approved = sum(
        1 for r in load_knowledge_base().recommendations.values() if r.status == "approved"
    )
    assert f"'engineering': {approved}, 'clinical': 0}}" in result.stdout


def test_kb_list_shows_every_recommendation(kb: KnowledgeBase) -> None:
    result = CliRunner().invoke(cli.app, ["kb", "list"])
    assert result.exit_code == 0, result.output
    for rec_id in kb.recommendations:
        assert rec_id in result.stdout
    assert "approved" in result.stdout
    assert "engineering" in result.stdout  # the review level of the bundled content


def test_console_script_runs_as_a_subprocess(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "b12"
    assert script.exists(), f"console script not installed at {script}"
    path = _write(tmp_path, make_picture())
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    done = subprocess.run(
        [str(script), "plan", path, "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert Plan.model_validate_json(done.stdout).pathway.id == "uk-im-no-neuro"
    bad = subprocess.run(
        [str(script), "plan", "-"],
        input="[1, 2]",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert bad.stderr.startswith("error: ")
    assert "Traceback" not in bad.stderr
