"""Hostile documents on the command line: every command that reads JSON or YAML answers exit 2
with one ``error: input: …`` line, never a traceback, and never reads more than the limit.

The classes: nesting deeper than any picture (deep enough to overflow a recursive parser, and
shallower but still absurd), integers longer than Python converts, documents over 1 MB (also an
endless file, ``/dev/zero``), YAML alias bombs and recursive aliases, YAML with huge integers.
A Hypothesis fuzz mixes them into otherwise valid pictures.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

import b12.entrypoints.cli as cli
from b12.adapters.knowledge_files import load_knowledge_base
from b12.core.errors import InputError
from b12.core.knowledge import KnowledgeBase
from tests.conftest import make_picture

MAX_DOCUMENT_BYTES = 1_000_000  # the API's body limit, also the CLI's


@pytest.fixture
def runner(kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A runner whose CLI reuses the session's bundled knowledge base."""

    def cached(path: Path | None = None) -> KnowledgeBase:
        return kb if path is None else load_knowledge_base(path)

    monkeypatch.setattr(cli, "load_knowledge_base", cached)
    return CliRunner()


def _refused(result: Result) -> str:
    """Exit 2, one ``error:`` line on stderr, nothing on stdout, no traceback; the line."""
    assert result.exit_code == 2, (result.exit_code, result.output[-500:], result.exception)
    assert result.stdout == ""
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), repr(result.exception)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: "), lines[0]
    assert len(lines[0]) < 400, "an error must not echo the input back"
    return lines[0]


def nested_json(depth: int) -> str:
    """A picture whose ``labs`` value is a list nested ``depth`` deep."""
    return '{"age": 60, "labs": ' + "[" * depth + "]" * depth + "}"


HUGE = "9" * 5000
YAML_BOMB = "\n".join(
    ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    + [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]" for i in range(8)]
    + ["age: 60"]
)
HOSTILE_JSON = {
    "nested-3000": nested_json(3000),
    "nested-200": nested_json(200),
    "huge-integer": '{"age": ' + HUGE + "}",
    "huge-lab": '{"age": 60, "labs": {"serum_b12_ng_l": ' + HUGE + "}}",
    "nested-objects": '{"age": 60, "x": ' + '{"a": ' * 1500 + "1" + "}" * 1500 + "}",
}
HOSTILE_YAML = {
    "yaml-nested": "age: 60\nlabs: " + "[" * 3000 + "]" * 3000 + "\n",
    "yaml-nested-block": "age: 60\n" + "".join("  " * i + "k:\n" for i in range(150)),
    "yaml-huge-integer": f"age: {HUGE}\n",
    "yaml-alias-bomb": YAML_BOMB,
    "yaml-recursive-alias": "age: 60\nlabs: &l [*l]\n",
}


def _file(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


COMMANDS = [["plan"], ["check"], ["next"], ["plan", "--json"]]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
@pytest.mark.parametrize("case", sorted(HOSTILE_JSON))
def test_hostile_json_files_exit_2(
    runner: CliRunner, tmp_path: Path, command: list[str], case: str
) -> None:
    path = _file(tmp_path, "doc.json", HOSTILE_JSON[case])
    line = _refused(runner.invoke(cli.app, [*command, path]))
    assert line.startswith(("error: input: ", "error: labs", "error: age", "error: x")), line


@pytest.mark.parametrize("case", sorted(HOSTILE_JSON))
def test_hostile_json_on_stdin_exits_2(runner: CliRunner, case: str) -> None:
    _refused(runner.invoke(cli.app, ["plan", "-"], input=HOSTILE_JSON[case]))


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
@pytest.mark.parametrize("case", sorted(HOSTILE_YAML))
def test_hostile_yaml_files_exit_2(
    runner: CliRunner, tmp_path: Path, command: list[str], case: str
) -> None:
    path = _file(tmp_path, "doc.yaml", HOSTILE_YAML[case])
    line = _refused(runner.invoke(cli.app, [*command, path]))
    assert line.startswith("error: input: "), line


def test_an_alias_bomb_stops_at_the_value_limit() -> None:
    from b12.adapters.documents import MAX_VALUES, parse_yaml

    with pytest.raises(InputError, match=f"more than {MAX_VALUES} values"):
        parse_yaml(YAML_BOMB)


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_document_over_one_megabyte_is_refused(
    runner: CliRunner, tmp_path: Path, command: list[str]
) -> None:
    doc = make_picture()
    doc["padding"] = " " * MAX_DOCUMENT_BYTES
    path = _file(tmp_path, "big.json", json.dumps(doc))
    assert _refused(runner.invoke(cli.app, [*command, path])) == (
        f"error: input: larger than {MAX_DOCUMENT_BYTES} bytes"
    )


def test_stdin_over_one_megabyte_is_refused(runner: CliRunner) -> None:
    line = _refused(runner.invoke(cli.app, ["plan", "-"], input="[" + " " * MAX_DOCUMENT_BYTES))
    assert line == f"error: input: larger than {MAX_DOCUMENT_BYTES} bytes"


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_an_endless_file_reads_only_up_to_the_limit(runner: CliRunner) -> None:
    """``b12 plan /dev/zero`` used to read until memory ran out."""
    line = _refused(runner.invoke(cli.app, ["plan", "/dev/zero"]))
    assert line == f"error: input: larger than {MAX_DOCUMENT_BYTES} bytes"


def test_a_bad_vignette_folder_exits_2(runner: CliRunner, tmp_path: Path) -> None:
    folder = tmp_path / "cases"
    folder.mkdir()
    (folder / "bomb.yaml").write_text(YAML_BOMB, encoding="utf-8")
    result = runner.invoke(cli.app, ["kb", "check", "--vignettes", str(folder)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "bomb.yaml" in result.stderr


def test_the_duplicate_key_message_is_short(runner: CliRunner) -> None:
    key = "k" * 100_000
    line = _refused(runner.invoke(cli.app, ["plan", "-"], input=f'{{"{key}": 1, "{key}": 2}}'))
    assert line.endswith("duplicate key")


# -- the fuzz -------------------------------------------------------------------------------

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
HOSTILE_VALUES = st.sampled_from(
    [
        "[" * 2000 + "]" * 2000,
        "[" * 70 + "]" * 70,
        "{" + '"a":{' * 80 + "}" * 81,
        HUGE,
        "-" + HUGE,
        "1e999999",
        '"' + "x" * 2000 + '"',
        '"2026-W10-1"',
        '"20260302"',
    ]
)
FIELDS = st.sampled_from(["age", "as_of", "start", "labs", "conditions", "sex", "order", "history"])


@FUZZ
@given(field=FIELDS, value=HOSTILE_VALUES, where=st.sampled_from(["plan", "check", "next"]))
def test_fuzz_hostile_values_never_crash(
    kb: KnowledgeBase, field: str, value: str, where: str
) -> None:
    """Any hostile value in any field: exit 0 or 2, never a traceback."""
    base: dict[str, Any] = make_picture()
    if where != "plan":
        base = {"picture": base, "as_of": "2026-03-02"}
    text = json.dumps(base)[:-1] + f', "{field}": {value}' + "}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cli, "load_knowledge_base", lambda path=None: kb)
        result = CliRunner().invoke(cli.app, [where, "-"], input=text)
    assert result.exit_code in (0, 2), (result.exit_code, result.output[-300:])
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), repr(result.exception)


def test_plain_refuses_cycles_and_depth() -> None:
    from b12.adapters.documents import parse_json, plain

    cycle: list[Any] = []
    cycle.append(cycle)
    with pytest.raises(InputError, match="nested more than"):
        plain(cycle)
    with pytest.raises(InputError, match="a number in it is too long"):
        parse_json('{"a": ' + HUGE + "}")
