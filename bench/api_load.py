"""Load benchmark of the running web app: 32 concurrent API clients on loopback (issue #5).

Run: ``.venv/bin/python bench/api_load.py [--patients 2000] [--seconds 20] [--clients 1,8,32]
[--workers 1] [--database-url URL]``

One run starts the real ``b12 serve`` on a free loopback port (``tests/live_server.py``) on a
new SQLite file in a temporary folder, or on ``--database-url`` (e.g. a PostgreSQL database
``postgresql+psycopg://…``; patients and the user are added with names unique to the run),
with ``--workers`` uvicorn worker processes.  It creates a clinician and an API token with the
real CLI, then seeds the registry through the API: ``--patients`` enrolments
(``POST /api/patients``, realistic UK and US pictures, course starts spread over the last six months
and the next two months) and the doses they had (``POST /api/patients/{id}/doses``, each on the
due date the previous answer gave): most patients adherent, some lapsed after a few doses, some
never dosed, so the recall list holds overdue, due and upcoming courses in loading and
maintenance.

Then, for each endpoint in turn, ``--clients`` concurrent clients (asyncio tasks, each one
keep-alive HTTP/1.1 connection of ``bench/keepalive_client.py``: a lean client, so the load
generator takes little of the CPU the server needs; httpx took about 1 ms a request) send
requests back to back for ``--seconds`` seconds, after a short warm-up that is not counted:

* ``POST /api/plan`` with a realistic clinical picture (a few, in rotation);
* ``GET /api/recall?within=28&limit=100`` (the practice's recall list: the 100 most urgent
  courses due within 28 days or overdue, and the total).

Each endpoint is driven once per client count in ``--clients`` (default 1, 8 and 32).
Printed for each: requests, errors (non-2xx answers and transport errors), requests/second,
the p50 / p90 / p99 latency in milliseconds as the client saw it, the p50 / p99 time inside
the app (from the server's log lines), the server's CPU per request
(user + system time of ``b12 serve`` and its workers from ``/proc``, divided by the requests:
the load generator is not counted), the cores the server kept busy (its CPU seconds per
second of the run), how busy the load generator itself was (one Python process: near 100 % of
a core means the client, not the server, was the limit) and the machine's 1-minute load
average (other jobs on the machine take CPU the server could have had); then the issue #16
target (``POST /api/plan`` p99 ≤ 150 ms at 32 clients, CPU per
request ≤ 5 ms).  Nothing is asserted about timings; the exit code is 1 only if the server
could not be started or seeded.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import random
import secrets
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.live_server import LiveServer, add_user, create_token  # noqa: E402

import keepalive_client  # noqa: E402
from server_cpu import AppLog, ProcessTreeCpu, percentile  # noqa: E402

RECALL_PARAMS = {"within": "28", "limit": "100"}
TARGET_CPU_MS = 5.0
TARGET_P99_AT_32_MS = 150.0
WARMUP_SECONDS = 2.0
#: Load generator processes the clients are shared out over (``--generators``).
GENERATORS = 4
SEED_CLIENTS = 32

# Realistic pictures (the shapes clinicians send): enrolment templates ...
ENROL_TEMPLATES: tuple[dict[str, Any], ...] = (
    {
        "age": 68,
        "sex": "female",
        "cause": "pernicious_anaemia",
        "deficiency": "confirmed",
        "guideline": "uk",
        "labs": {
            "serum_b12_ng_l": 110,
            "haemoglobin_g_l": 96,
            "mcv_fl": 112,
            "ifab_positive": True,
        },
    },
    {
        "age": 58,
        "sex": "male",
        "cause": "pernicious_anaemia",
        "deficiency": "confirmed",
        "neuro_symptoms": ["ataxia", "paraesthesia"],
    },
    {
        "age": 64,
        "sex": "female",
        "guideline": "us",
        "cause": "pernicious_anaemia",
        "labs": {
            "serum_b12_ng_l": 110,
            "haemoglobin_g_l": 94,
            "mcv_fl": 114,
            "ifab_positive": True,
        },
    },
    {"age": 66, "sex": "male", "deficiency": "at_risk", "conditions": ["total_gastrectomy"]},
    {
        "age": 77,
        "sex": "female",
        "cause": "autoimmune_gastritis",
        "deficiency": "confirmed",
        "medications": ["ppi", "metformin"],
        "conditions": ["ckd"],
        "labs": {"serum_b12_ng_l": 150, "egfr": 48},
    },
)
# ... and what a clinician asks POST /api/plan for.
PLAN_PICTURES: tuple[dict[str, Any], ...] = (
    {
        "age": 71,
        "sex": "female",
        "cause": "pernicious_anaemia",
        "deficiency": "confirmed",
        "neuro_symptoms": ["paraesthesia", "memory_loss"],
        "conditions": ["ckd"],
        "medications": ["metformin", "ppi"],
        "labs": {
            "serum_b12_ng_l": 95,
            "haemoglobin_g_l": 88,
            "mcv_fl": 116,
            "folate_ug_l": 5,
            "egfr": 52,
            "ifab_positive": True,
        },
        "preferences": {"route": "im", "adherence_concern": False},
        "guideline": "uk",
    },
    {
        "age": 45,
        "sex": "male",
        "cause": "malabsorption",
        "conditions": ["ileal_resection"],
        "ileal_resection_cm": 60,
        "labs": {"active_b12_pmol_l": 30, "mma_nmol_l": 620},
        "guideline": "us",
    },
    {
        "age": 29,
        "sex": "female",
        "diet": "vegan",
        "cause": "dietary",
        "labs": {"serum_b12_ng_l": 140, "haemoglobin_g_l": 121, "mcv_fl": 99},
        "guideline": "uk",
    },
)
# At most this many doses are recorded for one patient while seeding.
MAX_DOSES = 40


@dataclass(frozen=True)
class Endpoint:
    """One request, sent over and over."""

    label: str
    method: str
    path: str
    params: dict[str, str] | None = None
    bodies: tuple[dict[str, Any], ...] = ()


@dataclass
class Result:
    """What the clients saw for one endpoint."""

    label: str
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    client_cpu: float = 0.0
    server_cpu_s: float = float("nan")
    load_1m: float = float("nan")  # the machine's 1-minute load average at the end of the run
    app_ms: list[float] = field(default_factory=list)  # time inside the app (server log)
    connections: int = 0

    @property
    def requests(self) -> int:
        return len(self.latencies_ms)

    @property
    def cpu_ms_per_request(self) -> float:
        return self.server_cpu_s * 1000 / self.requests if self.requests else float("nan")

    @property
    def server_cores(self) -> float:
        """Cores the server kept busy on average (its CPU seconds per second of the run)."""
        return self.server_cpu_s / self.seconds if self.seconds else float("nan")

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


@dataclass
class Seeded:
    """What seeding put into the registry."""

    patients: int = 0
    doses: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0


# --- seeding -----------------------------------------------------------------------------------


# A patient to enrol: id, clinical picture, how many doses to record at most.
Spec = tuple[str, dict[str, Any], int]


def patient_specs(rng: random.Random, count: int, today: date, prefix: str) -> list[Spec]:
    """``count`` enrolments: (id, picture, doses to record at most).

    Courses start within the last six months or the next two months.  Of those already started,
    most patients had every dose on its due date (adherent), some stopped after a few doses
    (lapsed) and some never came (no dose recorded).
    """
    specs = []
    for i in range(count):
        picture = dict(rng.choice(ENROL_TEMPLATES))
        start = today + timedelta(days=rng.randint(-180, 60))
        picture["start"] = start.isoformat()
        roll = rng.random()
        doses = MAX_DOSES if roll < 0.6 else rng.randint(1, 8) if roll < 0.8 else 0
        specs.append((f"{prefix}{i:06d}", picture, doses if start <= today else 0))
    return specs


async def _run_pool(specs: list[Spec], job: Callable[[Spec], Awaitable[None]], n: int) -> None:
    """Run ``job`` on every spec, ``n`` at a time."""
    queue = iter(specs)

    async def worker() -> None:
        for spec in queue:
            await job(spec)

    await asyncio.gather(*(worker() for _ in range(n)))


async def seed(base_url: str, token: str, args: argparse.Namespace, prefix: str) -> Seeded:
    """Enrol the patients and record the doses they had, each on its due date, via the API."""
    done = Seeded()
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(
        base_url=base_url,
        headers=headers,
        timeout=60,
        limits=httpx.Limits(max_connections=SEED_CLIENTS),
    ) as client:
        today = date.fromisoformat((await client.get("/api/recall")).json()["as_of"])
        specs = patient_specs(random.Random(args.seed), args.patients, today, prefix)

        async def enrol(spec: Spec) -> None:
            patient_id, picture, most = spec
            answer = await client.post("/api/patients", json={"id": patient_id, "picture": picture})
            if answer.status_code != 201:
                done.refused[f"enrol {answer.status_code}"] += 1
                return
            done.patients += 1
            drug = "cyanocobalamin" if picture.get("guideline") == "us" else "hydroxocobalamin"
            day = date.fromisoformat(picture["start"])
            for _ in range(most):
                given = await client.post(
                    f"/api/patients/{patient_id}/doses",
                    json={"date": day.isoformat(), "drug": drug, "dose": "1mg", "route": "im"},
                )
                if given.status_code not in (200, 201):
                    done.refused[f"dose {given.status_code}"] += 1
                    return
                done.doses += 1
                due = (given.json().get("follow_up") or {}).get("next_due")
                if not due or due["continuous"] or date.fromisoformat(due["date"]) > today:
                    return
                day = date.fromisoformat(due["date"])

        started = time.perf_counter()
        await _run_pool(specs, enrol, SEED_CLIENTS)
        done.seconds = time.perf_counter() - started
    return done


# --- load --------------------------------------------------------------------------------------


def drive(
    base_url: str,
    token: str,
    endpoint: Endpoint,
    clients: int,
    seconds: float,
    cpu: ProcessTreeCpu | None = None,
    app_log: AppLog | None = None,
    generators: int = 1,
) -> Result:
    """``clients`` clients send ``endpoint`` back to back for ``seconds`` (after a warm-up).

    Each client is one keep-alive connection of :mod:`keepalive_client` (a lean asyncio HTTP/1.1
    client: latency from writing the request to reading the whole answer, on the client).
    """
    headers = {"Authorization": f"Bearer {token}"}
    if endpoint.bodies:
        headers["Content-Type"] = "application/json"
    bodies = itertools.cycle([json.dumps(b).encode() for b in endpoint.bodies] or [b""])
    path = endpoint.path + (f"?{urlencode(endpoint.params)}" if endpoint.params else "")
    split = urlsplit(base_url)
    assert split.hostname is not None
    assert split.port is not None

    def make() -> tuple[str, str, dict[str, str], bytes]:
        return endpoint.method, path, headers, next(bodies)

    makers = [make] * max(1, min(generators, clients))
    keepalive_client.run_processes(
        split.hostname, split.port, clients, WARMUP_SECONDS, makers, measure=False
    )
    server_before = cpu.seconds() if cpu else float("nan")
    if app_log:
        app_log.mark()
    outcome = keepalive_client.run_processes(split.hostname, split.port, clients, seconds, makers)
    result = Result(endpoint.label, outcome.seconds, outcome.latencies_ms, outcome.errors)
    result.statuses.update(outcome.statuses)
    result.client_cpu = outcome.client_cpu
    result.connections = outcome.connections
    if app_log:
        result.app_ms = app_log.durations(endpoint.method, endpoint.path)
    if cpu:
        result.server_cpu_s = cpu.seconds() - server_before
    result.load_1m = os.getloadavg()[0]
    return result


# --- report ------------------------------------------------------------------------------------


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def print_table(results: list[Result]) -> None:
    width = max(len(r.label) for r in results)
    print(
        f"{'endpoint':<{width}}  {'requests':>9}  {'errors':>6}  {'req/s':>8}  "
        f"{'p50 ms':>7}  {'p90 ms':>7}  {'p99 ms':>7}  {'app p50':>7}  {'app p99':>7}  "
        f"{'server CPU ms/req':>17}  {'server cores':>12}  {'client CPU':>10}  {'load 1m':>7}"
    )
    for r in results:
        print(
            f"{r.label:<{width}}  {r.requests:>9,}  {r.errors:>6,}  {r.per_second:>8,.0f}  "
            f"{r.percentile(0.50):>7.1f}  {r.percentile(0.90):>7.1f}  "
            f"{r.percentile(0.99):>7.1f}  {percentile(r.app_ms, 0.5):>7.1f}  "
            f"{percentile(r.app_ms, 0.99):>7.1f}  {r.cpu_ms_per_request:>17.2f}  "
            f"{r.server_cores:>12.2f}  {r.client_cpu:>9.0%}  {r.load_1m:>7.1f}"
        )
    opened = ", ".join(f"{r.connections}" for r in results)
    print(
        f"  TCP connections opened per run (keep-alive: one per client): {opened}; app p50/p99:"
        " time inside the app from the server's log (excludes waiting to be read and sending)"
    )
    for r in results:
        if r.errors:
            print(f"  {r.label}: answers {dict(r.statuses)}")
    if any(r.client_cpu > 0.85 for r in results):
        print(
            "  note: the load generator used most of a core; above that the client, not the"
            " server, limits requests/second"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--patients", type=int, default=2000, help="patients to enrol (2000)")
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds per endpoint (20)")
    parser.add_argument(
        "--clients", default="1,8,32", help="concurrent clients, one run per count (1,8,32)"
    )
    parser.add_argument("--workers", type=int, default=1, help="b12 serve --workers (1)")
    parser.add_argument(
        "--generators",
        type=int,
        default=GENERATORS,
        help=f"load generator processes ({GENERATORS})",
    )
    parser.add_argument("--database-url", help="database to use (default: a new SQLite file)")
    parser.add_argument("--seed", type=int, default=12, help="random seed (12)")
    args = parser.parse_args(argv)

    run = f"{os.getpid()}-{secrets.token_hex(2)}"
    with tempfile.TemporaryDirectory(prefix="b12-load-") as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'load.sqlite3'}"
        server = LiveServer(url, workers=args.workers)
        try:
            server.start(log_path=Path(tmp) / "serve.log", timeout=60)
        except RuntimeError as exc:
            print(f"could not start b12 serve: {exc}")
            return 1
        try:
            return _bench(server, url, args, run)
        finally:
            server.stop()


def _bench(server: LiveServer, url: str, args: argparse.Namespace, run: str) -> int:
    username = f"load.{run}"
    add_user(url, username, "clinician", secrets.token_urlsafe(18))
    token = create_token(url, username)
    print(
        f"b12 API load benchmark: Python {sys.version.split()[0]}, {platform.system()}, "
        f"{os.cpu_count()} CPUs"
    )
    print(
        f"server: b12 serve on {server.url}, {args.workers} worker process(es), "
        f"database {_safe_url(url)}"
    )
    seeded = asyncio.run(seed(server.url, token, args, prefix=f"LOAD-{run}-"))
    print(
        f"seeded through the API: {seeded.patients:,} patients and {seeded.doses:,}"
        f" doses in {seeded.seconds:.1f} s ({seeded.patients / seeded.seconds:,.0f} enrolments/s"
        f" with {SEED_CLIENTS} clients)"
    )
    if seeded.refused:
        print(f"  refused while seeding: {dict(seeded.refused)}")
    if seeded.patients == 0:
        return 1
    endpoints = [Endpoint("POST /api/plan", "POST", "/api/plan", bodies=PLAN_PICTURES)]
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as c:
        probe = c.get("/api/recall", params=RECALL_PARAMS)
    if probe.status_code == 200:
        recall = probe.json()
        print(
            f"recall list within 28 days: {recall['total']:,} courses "
            f"({Counter(i['status'] for i in recall['items'])} in the first page)"
        )
        endpoints.append(
            Endpoint("GET /api/recall?within=28&limit=100", "GET", "/api/recall", RECALL_PARAMS)
        )
    else:
        print(f"GET /api/recall answered {probe.status_code}: the recall list is not measured")
    counts = [int(c) for c in str(args.clients).split(",") if c.strip()]
    print(
        f"load: {', '.join(map(str, counts))} concurrent clients (one keep-alive connection each), "
        f"{args.seconds:g} s per endpoint and count after a {WARMUP_SECONDS:g} s warm-up"
    )
    print()
    assert server.process is not None
    cpu = ProcessTreeCpu(server.process.pid)
    assert server.log_path is not None
    app_log = AppLog(server.log_path)
    results = []
    for e in endpoints:
        for clients in counts:
            result = drive(
                server.url, token, e, clients, args.seconds, cpu, app_log, args.generators
            )
            result.label += f" x{clients}"
            results.append(result)
    print_table(results)
    _verdict(results)
    return 0


def _verdict(results: list[Result]) -> None:
    plan = [r for r in results if r.label.startswith("POST /api/plan")]
    worst_cpu = max((r.cpu_ms_per_request for r in plan), default=float("nan"))
    print(
        f"target: POST /api/plan server CPU per request <= {TARGET_CPU_MS:.0f} ms: "
        f"{'MET' if worst_cpu <= TARGET_CPU_MS else 'NOT MET'} (worst {worst_cpu:.2f} ms)"
    )
    at_32 = [r for r in plan if r.label.endswith(" x32")]
    if at_32:
        p99 = at_32[0].percentile(0.99)
        ok = p99 <= TARGET_P99_AT_32_MS and at_32[0].errors == 0
        print(
            f"target: POST /api/plan p99 <= {TARGET_P99_AT_32_MS:.0f} ms at 32 clients, no "
            f"errors: {'MET' if ok else 'NOT MET'} (p99 {p99:.1f} ms)"
        )


if __name__ == "__main__":
    sys.exit(main())
