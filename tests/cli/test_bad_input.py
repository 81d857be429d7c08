"""Bad input on the command line: exit code 2, one ``error: field: message`` line per problem.

Nothing may reach standard output and no traceback may be printed (PRODUCT.md §6, §8).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

import b12.entrypoints.cli as cli
from b12.adapters.knowledge_files import load_knowledge_base
from b12.core.errors import InputError
from b12.core.knowledge import KnowledgeBase
from b12.core.requests import plan_request
from tests.conftest import make_picture


@pytest.fixture
def runner(kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A runner whose CLI reuses the session's bundled knowledge base."""

    def cached(path: Path | None = None) -> KnowledgeBase:
        return kb if path is None else load_knowledge_base(path)

    monkeypatch.setattr(cli, "load_knowledge_base", cached)
    return CliRunner()


def _errors(result: Result) -> list[str]:
    """Check the shape of a bad-input result; return the stderr lines."""
    assert result.exit_code == 2, result.output
    assert result.stdout == "", "bad input must not print a partial result"
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), repr(result.exception)
    lines = result.stderr.splitlines()
    assert lines, "no error message"
    for line in lines:
        assert line.startswith("error: "), line
    return lines


def _plan_doc(runner: CliRunner, tmp_path: Path, doc: Any, *options: str) -> Result:
    path = tmp_path / "picture.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return runner.invoke(cli.app, ["plan", str(path), *options])


def _plan_text(runner: CliRunner, text: str, *options: str) -> Result:
    return runner.invoke(cli.app, ["plan", "-", *options], input=text)


BAD_FIELDS: list[tuple[str, dict[str, Any], str]] = [
    ("age-not-a-number", {"age": "abc"}, "age"),
    ("age-a-list", {"age": [60]}, "age"),
    ("negative-lab", {"labs": {"serum_b12_ng_l": -5}}, "labs.serum_b12_ng_l"),
    ("age-300", {"age": 300}, "age"),
    ("negative-age", {"age": -1}, "age"),
    ("haemoglobin-900", {"labs": {"haemoglobin_g_l": 900}}, "labs.haemoglobin_g_l"),
    ("lab-a-string", {"labs": {"egfr": "normal"}}, "labs.egfr"),
    ("unknown-lab", {"labs": {"vitamin_d": 40}}, "labs.vitamin_d"),
    ("impossible-as-of", {"as_of": "2025-02-30"}, "as_of"),
    ("impossible-start", {"start": "2025-02-30"}, "start"),
    ("not-leap-year", {"start": "2025-02-29"}, "start"),
    ("short-date", {"as_of": "2026-3-2"}, "as_of"),
    ("unknown-sex", {"sex": "robot"}, "sex"),
    ("unknown-guideline", {"guideline": "fr"}, "guideline"),
    ("unknown-deficiency", {"deficiency": "maybe"}, "deficiency"),
    ("unknown-cause", {"cause": "bad_luck"}, "cause"),
    ("unknown-condition", {"conditions": ["rygb", "gout"]}, "conditions[1]"),
    ("unknown-medication", {"medications": ["aspirin"]}, "medications[0]"),
    ("unknown-symptom", {"neuro_symptoms": ["itching"]}, "neuro_symptoms[0]"),
    ("unknown-route", {"preferences": {"route": "iv"}}, "preferences.route"),
    ("unknown-top-level-field", {"weight_kg": 70}, "weight_kg"),
    ("pregnant-male", {"sex": "male", "pregnant": True}, "pregnant"),
]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [(o, f) for _, o, f in BAD_FIELDS],
    ids=[name for name, _, _ in BAD_FIELDS],
)
def test_bad_field_gives_one_line_naming_it(
    runner: CliRunner, tmp_path: Path, overrides: dict[str, Any], field: str
) -> None:
    result = _plan_doc(runner, tmp_path, make_picture(**overrides), "--json")
    lines = _errors(result)
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"error: {field}: "), lines[0]


def test_each_problem_gets_its_own_line(runner: CliRunner, tmp_path: Path) -> None:
    doc = make_picture(age="abc", sex="robot", labs={"haemoglobin_g_l": -1})
    lines = _errors(_plan_doc(runner, tmp_path, doc))
    assert len(lines) == 3, lines
    assert {line.split(":")[1].strip() for line in lines} == {
        "age",
        "sex",
        "labs.haemoglobin_g_l",
    }


def test_vocabulary_problems_are_all_reported(runner: CliRunner, tmp_path: Path) -> None:
    doc = make_picture(conditions=["gout"], medications=["aspirin"], age=300)
    lines = _errors(_plan_doc(runner, tmp_path, doc))
    fields = sorted(line.split(":")[1].strip() for line in lines)
    assert fields == ["age", "conditions[0]", "medications[0]"]


def test_missing_age_is_named(runner: CliRunner, tmp_path: Path) -> None:
    doc = make_picture()
    del doc["age"]
    (line,) = _errors(_plan_doc(runner, tmp_path, doc))
    assert line.startswith("error: age: ")


def test_invalid_json(runner: CliRunner) -> None:
    (line,) = _errors(_plan_text(runner, '{"age": 60,'))
    assert line.startswith("error: input: invalid JSON at line 1")


def test_empty_input(runner: CliRunner) -> None:
    (line,) = _errors(_plan_text(runner, ""))
    assert line.startswith("error: input: invalid JSON")


def test_duplicate_json_keys(runner: CliRunner) -> None:
    (line,) = _errors(_plan_text(runner, '{"age": 60, "age": 61, "as_of": "2026-03-02"}'))
    assert line == "error: age: duplicate key"


def test_non_object_json(runner: CliRunner) -> None:
    (line,) = _errors(_plan_text(runner, "[1, 2, 3]"))
    assert "expected a JSON object" in line


def test_missing_file(runner: CliRunner, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.json"
    (line,) = _errors(runner.invoke(cli.app, ["plan", str(missing)]))
    assert line.startswith("error: input: cannot read ")
    assert "nowhere.json" in line


@pytest.mark.parametrize("horizon", ["0m", "61m", "abc", "6w", "-3", ""])
def test_bad_horizon(runner: CliRunner, tmp_path: Path, horizon: str) -> None:
    result = _plan_doc(runner, tmp_path, make_picture(), "--horizon", horizon)
    (line,) = _errors(result)
    assert line.startswith("error: horizon: ")


@pytest.mark.parametrize("as_of", ["2025-02-30", "yesterday", "02/03/2026"])
def test_bad_as_of_option(runner: CliRunner, tmp_path: Path, as_of: str) -> None:
    (line,) = _errors(_plan_doc(runner, tmp_path, make_picture(), "--as-of", as_of))
    assert line.startswith("error: as_of: ")


def test_bad_guideline_option(runner: CliRunner, tmp_path: Path) -> None:
    (line,) = _errors(_plan_doc(runner, tmp_path, make_picture(), "--guideline", "fr"))
    assert line.startswith("error: guideline: ")


# --- the canonical error body ------------------------------------------------------------------


def _input_error(doc: Any, kb: KnowledgeBase) -> InputError:
    with pytest.raises(InputError) as info:
        plan_request(doc, kb)
    return info.value


def test_error_json_for_one_bad_field(kb: KnowledgeBase) -> None:
    err = _input_error(make_picture(age=300), kb)
    body = err.to_json()
    assert body == {
        "error": {
            "code": "invalid_input",
            "message": err.problems[0].render(),
            "fields": [{"field": "age", "message": err.problems[0].message}],
        }
    }
    assert json.loads(json.dumps(body)) == body
    assert "300" in err.problems[0].message


def test_error_json_lists_every_field(kb: KnowledgeBase) -> None:
    err = _input_error(make_picture(sex="robot", start="2025-02-30", conditions=["gout"]), kb)
    body = err.to_json()
    error = body["error"]
    assert isinstance(error, dict)
    assert error["code"] == "invalid_input"
    assert set(error) == {"code", "message", "fields"}
    fields = error["fields"]
    assert {"sex", "start"} <= {f["field"] for f in fields}
    assert all(set(f) == {"field", "message"} and f["message"] for f in fields)
    assert error["message"] == f"{fields[0]['field']}: {fields[0]['message']}"


def test_error_json_for_a_non_object(kb: KnowledgeBase) -> None:
    body = _input_error([1, 2], kb).to_json()
    error = body["error"]
    assert isinstance(error, dict)
    assert error["code"] == "invalid_input"
    assert len(error["fields"]) == 1


# --- values the validator accepts but the engine cannot use (engine bugs found by properties) ---


@pytest.mark.parametrize("field", ["as_of", "start"])
def test_date_near_the_end_of_the_calendar_is_an_input_error(
    runner: CliRunner, tmp_path: Path, field: str
) -> None:
    # A valid ISO date whose 12-month horizon passes 9999-12-31 must not crash the engine.
    result = _plan_doc(runner, tmp_path, make_picture(**{field: "9999-12-31"}))
    (line,) = _errors(result)
    assert line.startswith(f"error: {field}: ")


def test_huge_integer_age_is_an_input_error(runner: CliRunner) -> None:
    # JSON allows arbitrarily long integers; 10**400 cannot be formatted as a float.
    text = '{"age": 1' + "0" * 400 + ', "as_of": "2026-03-02"}'
    (line,) = _errors(_plan_text(runner, text))
    assert line.startswith("error: age: ")
