"""How long people wait for the command line: start-up measured against ``python -c pass``.

Run: ``.venv/bin/python bench/cli_start.py [--runs 7]`` from the repository root.

Each command runs as its own process, exactly as typed (the ``b12`` console script of this
environment, with this checkout's ``src`` first on the path):

* ``python -c pass`` (the floor: the interpreter alone);
* ``b12 --help``;
* ``b12 plan examples/pernicious-anaemia-uk.json --json``;
* ``b12 kb check`` (parses and validates the knowledge base every time, and checks the
  vignette coverage: its verdict is reused when the knowledge files, vignette files and code
  are those of an earlier full run);
* for information: the same plan through the library without the CLI module (load the
  knowledge base, ``plan_request``, JSON out), and ``b12 plan`` and ``b12 kb check`` with
  ``B12_NO_CACHE=1`` (parse, validate and run every vignette: what a first run, or CI, pays).

The caches live in a temporary folder of this run (``B12_CACHE_DIR``), so other checkouts
sharing the user cache folder do not disturb it.  Every command runs once untimed first (so
the caches and the operating system's file cache are warm, as for anyone who has run b12
before), then ``--runs`` times in round-robin order, so a burst of load from elsewhere on the
machine hits every command alike.
Printed: the median and minimum wall time of each, the ratio of each median to the median of
``python -c pass`` measured in the same run, the median CPU time of each process (user +
system: steadier than wall time when the machine is shared), and the issue #16 targets
(``--help`` ≤ 15×, ``plan`` ≤ 25×, ``kb check`` ≤ 0.5 s, all on wall time).  Also printed,
for the plan command, which heavy modules its process imported.  Timings never change the
exit code (0).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = "examples/pernicious-anaemia-uk.json"
HEAVY = ("sqlalchemy", "alembic", "fastapi", "numpy", "bm25s", "argon2", "uvicorn", "httpx")


def _b12() -> list[str]:
    script = Path(sys.executable).with_name("b12")
    if script.exists():
        return [sys.executable, str(script)]
    return [sys.executable, "-m", "b12.entrypoints.cli"]


CACHE = tempfile.mkdtemp(prefix="b12-cli-start-")
NO_CACHE = {"B12_NO_CACHE": "1"}


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    path = os.environ.get("PYTHONPATH")
    src = str(ROOT / "src")
    env = {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{path}" if path else src}
    env["B12_CACHE_DIR"] = CACHE
    env.pop("B12_NO_CACHE", None)
    return {**env, **(extra or {})}


LIBRARY_PLAN = (
    "import datetime, json, sys\n"
    "from b12.adapters.knowledge_files import load_knowledge_base\n"
    "from b12.core.requests import plan_request\n"
    f"doc = json.load(open({EXAMPLE!r}))\n"
    "_, plan = plan_request(doc, load_knowledge_base(), default_as_of=datetime.date.today())\n"
    "sys.stdout.write(plan.model_dump_json())\n"
)

#: name → (argv, extra environment)
COMMANDS: dict[str, tuple[list[str], dict[str, str]]] = {
    "python -c pass": ([sys.executable, "-c", "pass"], {}),
    "b12 --help": ([*_b12(), "--help"], {}),
    "b12 plan … --json": ([*_b12(), "plan", EXAMPLE, "--json"], {}),
    "b12 kb check": ([*_b12(), "kb", "check"], {}),
    "library plan, no CLI": ([sys.executable, "-c", LIBRARY_PLAN], {}),
    "plan, no cache": ([*_b12(), "plan", EXAMPLE, "--json"], NO_CACHE),
    "kb check, no cache": ([*_b12(), "kb", "check"], NO_CACHE),
}
TARGET_RATIO = {"b12 --help": 15.0, "b12 plan … --json": 25.0}
TARGET_SECONDS = {"b12 kb check": 0.5}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(command: list[str], extra: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process)."""
    env = _env(extra)
    cpu = _children_cpu()
    started = time.perf_counter()
    subprocess.run(
        command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    return time.perf_counter() - started, _children_cpu() - cpu


def _heavy_imports_of_plan() -> list[str]:
    probe = (
        "import runpy, sys, json\n"
        f"sys.argv = ['b12', 'plan', {EXAMPLE!r}, '--json']\n"
        "import contextlib, io\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        "        runpy.run_module('b12.entrypoints.cli', run_name='__main__')\n"
        "    except SystemExit:\n"
        "        pass\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=_env(), capture_output=True, text=True
    )
    return out.stdout.strip().splitlines()[-1:] or ["(probe failed)"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs of each command (7)")
    args = parser.parse_args(argv)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"b12 command start-up: Python {sys.version.split()[0]}, {platform.system()}, "
        f"{os.cpu_count()} CPUs, load average {load:.1f}; {args.runs} runs each, round-robin"
    )
    for command, extra in COMMANDS.values():
        _run(command, extra)  # warm: the caches, the file cache
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    cpus: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(args.runs):
        for name, (command, extra) in COMMANDS.items():
            wall, cpu = _run(command, extra)
            times[name].append(wall)
            cpus[name].append(cpu)
    floor = statistics.median(times["python -c pass"])
    print(
        f"{'command':<22}{'median':>10}{'min':>10}{'× python -c pass':>19}"
        f"{'CPU':>9}  target (wall median)"
    )
    for name, values in times.items():
        median = statistics.median(values)
        ratio = median / floor
        cpu = statistics.median(cpus[name])
        print(
            f"{name:<22}{median * 1000:>8.0f}ms{min(values) * 1000:>8.0f}ms{ratio:>18.1f}×"
            f"{cpu * 1000:>7.0f}ms  {_verdict(name, median, ratio)}"
        )
    print(f"heavy modules imported by `b12 plan … --json`: {_heavy_imports_of_plan()[0]}")
    shutil.rmtree(CACHE, ignore_errors=True)
    return 0


def _verdict(name: str, median: float, ratio: float) -> str:
    if name in TARGET_RATIO:
        limit = TARGET_RATIO[name]
        return f"≤ {limit:.0f}×: {'MET' if ratio <= limit else 'NOT MET'}"
    if name in TARGET_SECONDS:
        limit = TARGET_SECONDS[name]
        return f"≤ {limit:.1f} s: {'MET' if median <= limit else 'NOT MET'}"
    return ""


if __name__ == "__main__":
    sys.exit(main())
