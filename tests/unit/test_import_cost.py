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


def test_the_probe_does_see_a_heavy_import() -> None:
    """Guard against a probe that can never fail."""
    assert {"bm25s", "numpy"} <= set(_heavy_after("import b12.core\nimport bm25s"))
