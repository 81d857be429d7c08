"""The README's example output is the real output: each excerpt block is checked against the
command it names, run in-process at a fixed width, so the README cannot drift from the code.

An excerpt is written in the README as::

    <!-- excerpt: b12 plan examples/pernicious-anaemia-uk.json -->
    ```text
    ...lines copied from the real output...
    ```

Every line of the block must be a line of the command's output, in the same order (lines may be
left out, never changed).  ``< FILE`` at the end of the command feeds FILE on standard input, and
``exit=N`` (before ``-->``) states the expected exit code (default 0).  On failure the real
output is printed, ready to copy.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from b12.entrypoints import cli

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
WIDTH = "100"
BLOCK = re.compile(
    r"<!-- excerpt: (?P<cmd>.+?)(?: exit=(?P<exit>\d+))? -->\n```[a-z]*\n(?P<body>.*?)```", re.S
)


def _excerpts() -> list[tuple[str, int, list[str]]]:
    found = [
        (m["cmd"].strip(), int(m["exit"] or 0), m["body"].splitlines())
        for m in BLOCK.finditer(README.read_text(encoding="utf-8"))
    ]
    assert found, "the README has no <!-- excerpt: ... --> blocks"
    return found


def _run(command: str, monkeypatch: pytest.MonkeyPatch) -> tuple[int, list[str]]:
    words = shlex.split(command)
    assert words[0] == "b12", command
    stdin = None
    if "<" in words:
        at = words.index("<")
        stdin = (ROOT / words[at + 1]).read_text(encoding="utf-8")
        words = words[:at]
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(cli.app, words[1:], input=stdin, env={"COLUMNS": WIDTH})
    return result.exit_code, [line.rstrip() for line in result.output.splitlines()]


@pytest.mark.parametrize(("command", "exit_code", "lines"), _excerpts(), ids=lambda v: str(v)[:60])
def test_readme_excerpt_is_real_output(
    command: str, exit_code: int, lines: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, output = _run(command, monkeypatch)
    real = "\n".join(output)
    assert code == exit_code, f"{command} exited {code}\n{real}"
    at = 0
    for line in (raw.rstrip() for raw in lines):
        if not line:
            continue
        try:
            at = output.index(line, at) + 1
        except ValueError:
            pytest.fail(
                f"README line not in the output of `{command}` (in order):\n{line}\n\n{real}"
            )
