"""Import cost: the core and the plan path never pull in the database, web or retrieval stacks.

Each check runs in a fresh interpreter (a subprocess) and inspects ``sys.modules`` afterwards,
so an eager import anywhere on the path (however indirect) fails the test.  This asserts what
is imported, not how long it takes (speed lives in ``bench/cli_start.py``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("sqlalchemy", "alembic", "fastapi", "starlette", "numpy", "bm25s", "Stemmer", "httpx")
SRC = Path(__file__).resolve().parents[2] / "src"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "pernicious-anaemia-uk.json"


def _heavy_after(code: str) -> list[str]:
    probe = (
        f"{code}\nimport json, sys\nprint(json.dumps(sorted(set({HEAVY!r}) & set(sys.modules))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        check=True,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"},
    )
    loaded: list[str] = json.loads(out.stdout.strip().splitlines()[-1])
    return loaded


@pytest.mark.parametrize(
    "code",
    [
        "import b12.core",
        "import b12",
        "import b12.core.plan, b12.core.schemas, b12.core.answer, b12.core.governance",
        "import b12.core.patient_view, b12.core.follow_up, b12.core.order_check",
    ],
)
def test_core_imports_nothing_heavy(code: str) -> None:
    assert _heavy_after(code) == []


def test_the_plan_path_loads_the_knowledge_base_and_plans_without_heavy_imports() -> None:
    code = (
        "import json, datetime\n"
        "from b12.adapters.knowledge_files import load_knowledge_base\n"
        "from b12.core.requests import plan_request\n"
        "kb = load_knowledge_base()\n"
        f"doc = json.loads(open({str(EXAMPLE)!r}).read())\n"
        "plan_request(doc, kb, default_as_of=datetime.date(2026, 3, 2))"
    )
    assert _heavy_after(code) == []


def _modules_after_command(args: list[str], cache: Path, names: tuple[str, ...]) -> list[str]:
    """Which of ``names`` a ``b12 ARGS`` process imported (run in-process in a fresh interpreter,
    ``cache`` as the cache folder)."""
    probe = (
        "import contextlib, io, json, sys\n"
        f"sys.argv = ['b12', *{args!r}]\n"
        "from b12.entrypoints.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        "        main()\n"
        "    except SystemExit as exit:\n"
        "        assert not exit.code, exit.code\n"
        f"print(json.dumps(sorted(m for m in {names!r} if m in sys.modules)))\n"
    )
    env = {"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin", "B12_CACHE_DIR": str(cache)}
    out = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True, env=env
    )
    loaded: list[str] = json.loads(out.stdout.strip().splitlines()[-1])
    return loaded


#: What a command that does not need them must not import (issue 16: start-up).
MODELS = ("pydantic", "b12.core.knowledge", "b12.core.plan", "b12.adapters.knowledge_files")
PARSING = ("ruamel.yaml", "b12.core.kb_build", "b12.core.kb_sections", "b12.core.kb_links")
OTHER_COMMANDS = (
    "rich",
    "b12.entrypoints.registry_cli",
    "b12.entrypoints.register_cli",
    "b12.entrypoints.accounts_cli",
    "b12.entrypoints.serve_cli",
    "b12.entrypoints.ask_cli",
    "b12.entrypoints.export_cli",
    "b12.entrypoints.cds_cli",
    "b12.core.course_input",
    "b12.core.follow_up",
    "b12.core.order_check",
)


def test_help_imports_no_models_and_no_knowledge_base(tmp_path: Path) -> None:
    assert _modules_after_command(["--help"], tmp_path, (*HEAVY, *MODELS, *PARSING, "rich")) == []


def test_a_warm_plan_imports_neither_the_parser_nor_other_commands(tmp_path: Path) -> None:
    args = ["plan", str(EXAMPLE), "--json"]
    cold = _modules_after_command(args, tmp_path, PARSING)
    assert cold == sorted(PARSING)  # the first run parses and validates, and stores the result
    assert _modules_after_command(args, tmp_path, (*HEAVY, *PARSING, *OTHER_COMMANDS)) == []


def test_a_lazily_loaded_command_still_runs(tmp_path: Path) -> None:
    """``b12 export fhir`` lives in another module, loaded when asked for."""
    out = tmp_path / "fhir"
    loaded = _modules_after_command(
        ["export", "fhir", "--out", str(out)], tmp_path, ("b12.entrypoints.export_cli",)
    )
    assert loaded == ["b12.entrypoints.export_cli"]
    assert (out / "bundle.json").is_file()


def test_the_outreach_help_names_the_statuses_the_core_accepts() -> None:
    from b12.core.register_import import OUTREACH_STATUSES
    from b12.entrypoints.register_cli import OUTREACH_HELP

    assert OUTREACH_HELP == OUTREACH_STATUSES


def test_the_probe_does_see_a_heavy_import() -> None:
    """Guard against a probe that can never fail."""
    assert {"bm25s", "numpy"} <= set(_heavy_after("import b12.core\nimport bm25s"))


def test_the_lazy_command_table_names_every_command_of_the_other_modules() -> None:
    """``b12 NAME`` imports only NAME's module, found in ``cli.LAZY_COMMANDS``: the table must
    map exactly the commands each ``*_cli`` module registers to that module (one missing
    from it would vanish from ``b12``)."""
    import importlib

    import typer

    import b12.entrypoints.cli as cli

    registered: dict[str, str] = {}
    for path in sorted((SRC / "b12" / "entrypoints").glob("*_cli.py")):
        module = importlib.import_module(f"b12.entrypoints.{path.stem}")
        holder = typer.Typer()
        if path.stem == "ask_cli":
            module.register(holder, cli.load_knowledge_base)
        else:
            module.register(holder)
        for name in typer.main.get_group(holder).commands:
            registered[name] = path.stem
    assert registered == cli.LAZY_COMMANDS
    group = typer.main.get_command(cli.app)
    assert isinstance(group, cli.LazyGroup)
    everything = group.list_commands(typer.Context(group))
    assert set(everything) == set(group.commands) | set(cli.LAZY_COMMANDS)
    assert everything[: len(cli.HELP_ORDER)] == list(cli.HELP_ORDER)
