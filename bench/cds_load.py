"""Load benchmark of the CDS Hooks ``order-sign`` service: 32 concurrent EHR clients (issue #6).

Run: ``.venv/bin/python bench/cds_load.py [--seconds 20] [--clients 1,8,32] [--workers 1]
[--database-url URL]``

One run makes a P-384 signing key and its JWK Set in a temporary folder, writes the trusted
issuers file (``B12_CDS_TRUSTED_ISSUERS``) and starts the real ``b12 serve`` on a free loopback
port (``tests/live_server.py``) on a new SQLite file.  Each request is
``POST /cds-services/b12-order-sign`` (``--database-url`` for PostgreSQL) with a realistic
body: ``draftOrders`` holding
hydroxocobalamin 1 mg IM three times a week into the dorsogluteal site, folic acid 5 mg daily
and an unrelated antibiotic, and the full prefetch (Patient, serum B12 and blood count results,
pernicious anaemia and type 2 diabetes, metformin).  Each answer holds a few cited cards
(GLUTEAL_SITE, POTASSIUM_48H …), so the whole path runs: JWT check and replay cache, FHIR
reading, two order checks, the guideline plan and the cards.

Every request carries a fresh JWT (its own ``jti``, ``aud`` = the service URL).  Signing costs
the client about 0.7 ms, so the tokens are signed before the clock starts: a warm-up of a few
seconds (signing on the fly, not counted) measures the rate, then enough tokens for the timed
run are signed, then for each count in ``--clients`` (default 1, 8 and 32) that many clients
send back to back for ``--seconds``: asyncio tasks, each one keep-alive HTTP/1.1 connection of
``bench/keepalive_client.py`` (a lean client: httpx cost the generator about 1 ms of CPU a
request, on the cores the server needs).
Printed per count: requests, errors (non-2xx or transport errors), requests/second, p50 / p90 /
p99 latency in ms as the client saw it (from writing the request to reading the whole answer),
the p50 / p99 time the requests spent inside the app (from the server's log lines: what is
left of the client's latency is waiting to be read, and sending), the server's CPU per request
(user + system time of ``b12 serve`` and its worker processes, from ``/proc``, divided by the
requests answered: the load generator is not counted), the cores the server kept busy (its
CPU seconds per second: well under the cores it may use with a high load average means the
machine was lent to other jobs; with a low load average, that the server waited on
something), how busy the load generator was, the machine's 1-minute load average, and whether
the issue #16 targets were met (CPU per request ≤ 5 ms; p99 at 32 clients ≤ 150 ms on
PostgreSQL, ≤ 200 ms on SQLite; the longer-term goal is p99 ≤ 50 ms).  The exit code is 1
only if the server could not be started or answered the first request wrongly; timings never
change it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import sys
import tempfile
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.live_server import LiveServer  # noqa: E402

import keepalive_client  # noqa: E402
from server_cpu import AppLog, ProcessTreeCpu, percentile  # noqa: E402

PATH = "/cds-services/b12-order-sign"
ISSUER = "https://ehr.load-test.example"
KID = "load-p384-1"
GOAL_P99_MS = 50.0
TARGET_CPU_MS = 5.0
TARGET_P99_AT_32_MS = {"postgresql": 150.0, "sqlite": 200.0}
WARMUP_SECONDS = 3.0
#: Load generator processes the clients are shared out over (``--generators``).
GENERATORS = 4
TOKEN_LIFETIME = 900
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
PATIENT = "load-patient-1"


# --- the request -------------------------------------------------------------------------------


def _observation(oid: str, code: str, value: float, unit: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "subject": {"reference": f"Patient/{PATIENT}"},
        "effectiveDateTime": "2026-02-20",
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
    }


def _searchset(*resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [{"resource": r, "search": {"mode": "match"}} for r in resources],
    }


def _condition(cid: str, system: str, code: str, text: str) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": cid,
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": "active",
                }
            ]
        },
        "code": {"coding": [{"system": system, "code": code}], "text": text},
        "subject": {"reference": f"Patient/{PATIENT}"},
    }


def _order(
    mid: str, medication: dict[str, Any], dosage: dict[str, Any], text: str
) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": mid,
        "status": "draft",
        "intent": "order",
        "medicationCodeableConcept": medication,
        "subject": {"reference": f"Patient/{PATIENT}"},
        "encounter": {"reference": "Encounter/load-enc-1"},
        "requester": {"reference": "Practitioner/load-doc-1"},
        "authoredOn": "2026-03-02",
        "dosageInstruction": [{"text": text, **dosage}],
    }


def order_sign_body() -> dict[str, Any]:
    """A realistic order-sign request (hookInstance filled per request)."""
    b12 = _order(
        "draft-b12",
        {
            "coding": [{"system": "http://www.whocc.no/atc", "code": "B03BA03"}],
            "text": "Hydroxocobalamin 1mg/1ml solution for injection ampoules",
        },
        {
            "timing": {"repeat": {"frequency": 3, "period": 1, "periodUnit": "wk"}},
            "route": {"coding": [{"system": SNOMED, "code": "78421000"}]},
            "site": {"text": "dorsogluteal"},
            "doseAndRate": [
                {"doseQuantity": {"value": 1, "unit": "mg", "system": UCUM, "code": "mg"}}
            ],
        },
        "1 mg IM three times a week for 2 weeks",
    )
    folate = _order(
        "draft-folate",
        {"text": "Folic acid 5mg tablets"},
        {
            "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
            "route": {"coding": [{"system": SNOMED, "code": "26643006"}]},
            "doseAndRate": [
                {"doseQuantity": {"value": 5, "unit": "mg", "system": UCUM, "code": "mg"}}
            ],
        },
        "5 mg once daily",
    )
    other = _order(
        "draft-abx",
        {"text": "Amoxicillin 500mg capsules"},
        {
            "timing": {"repeat": {"frequency": 3, "period": 1, "periodUnit": "d"}},
            "route": {"coding": [{"system": SNOMED, "code": "26643006"}]},
            "doseAndRate": [{"doseQuantity": {"value": 500, "unit": "mg"}}],
        },
        "500 mg three times a day for 5 days",
    )
    metformin = {
        "resourceType": "MedicationRequest",
        "id": "active-met",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {
            "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "860975"}]
        },
        "subject": {"reference": f"Patient/{PATIENT}"},
    }
    return {
        "hook": "order-sign",
        "hookInstance": "",
        "context": {
            "userId": "Practitioner/load-doc-1",
            "patientId": PATIENT,
            "encounterId": "load-enc-1",
            "draftOrders": {
                "resourceType": "Bundle",
                "entry": [{"resource": b12}, {"resource": folate}, {"resource": other}],
            },
        },
        "prefetch": {
            "patient": {
                "resourceType": "Patient",
                "id": PATIENT,
                "gender": "female",
                "birthDate": "1957-06-14",
            },
            "b12": _searchset(_observation("obs-b12", "2132-9", 118, "pg/mL")),
            "labs": _searchset(
                _observation("obs-hb", "718-7", 104, "g/L"),
                _observation("obs-mcv", "787-2", 109, "fL"),
            ),
            "conditions": _searchset(
                _condition("cond-pa", SNOMED, "84027009", "Pernicious anaemia"),
                _condition("cond-dm", SNOMED, "44054006", "Type 2 diabetes"),
            ),
            "medicationRequests": _searchset(metformin),
            "medicationStatements": None,
            "procedures": None,
        },
    }


# --- tokens ------------------------------------------------------------------------------------


@dataclass
class Signer:
    """The load-test EHR: a P-384 key, its JWK Set, and fresh tokens for one audience."""

    audience: str
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP384R1())
    )

    def jwks(self) -> dict[str, Any]:
        public = ECAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return {"keys": [{**public, "kid": KID, "use": "sig", "alg": "ES384"}]}

    def token(self) -> str:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": self.audience,
            "iat": now,
            "exp": now + TOKEN_LIFETIME,
            "jti": secrets.token_urlsafe(18),
        }
        return jwt.encode(claims, self.key, algorithm="ES384", headers={"kid": KID, "typ": "JWT"})


def write_trust(folder: Path, signer: Signer) -> Path:
    """The JWK Set file and the trusted-issuers file naming it; returns the latter."""
    (folder / "ehr-jwks.json").write_text(json.dumps(signer.jwks()), "utf-8")
    path = folder / "trusted-issuers.json"
    path.write_text(json.dumps({ISSUER: "ehr-jwks.json"}), "utf-8")
    return path


# --- driving -----------------------------------------------------------------------------------


@dataclass
class Result:
    """One timed run."""

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
    ran_out: bool = False

    @property
    def requests(self) -> int:
        return len(self.latencies_ms)

    @property
    def server_cores(self) -> float:
        """Cores the server kept busy on average (its CPU seconds per second of the run)."""
        return self.server_cpu_s / self.seconds if self.seconds else float("nan")

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms_per_request(self) -> float:
        return self.server_cpu_s * 1000 / self.requests if self.requests else float("nan")

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def drive(
    base_url: str,
    body: dict[str, Any],
    tokens: deque[str] | Signer,
    clients: int,
    seconds: float,
    label: str,
    generators: int = 1,
) -> Result:
    """``clients`` clients post ``body`` back to back for ``seconds``; each with a new token.

    Each client is one keep-alive connection of :mod:`keepalive_client` (a lean asyncio HTTP/1.1
    client: latency from writing the request to reading the whole answer, on the client); the
    clients are shared out over ``generators`` processes, each with its share of the tokens.
    """
    template = json.dumps(body)
    split = urlsplit(base_url)

    def maker(pool: deque[str] | Signer) -> keepalive_client.RequestMaker:
        def make() -> tuple[str, str, dict[str, str], bytes] | None:
            token = pool.token() if isinstance(pool, Signer) else pool.popleft() if pool else None
            if token is None:
                return None
            content = template.replace(
                '"hookInstance": ""', f'"hookInstance": "{secrets.token_hex(16)}"', 1
            )
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            return "POST", PATH, headers, content.encode()

        return make

    n = max(1, min(generators, clients))
    if isinstance(tokens, Signer):
        makers = [maker(tokens) for _ in range(n)]
    else:
        shares = [deque(list(tokens)[i::n]) for i in range(n)]
        makers = [maker(share) for share in shares]
    assert split.hostname is not None
    assert split.port is not None
    outcome = keepalive_client.run_processes(split.hostname, split.port, clients, seconds, makers)
    result = Result(label, outcome.seconds, outcome.latencies_ms, outcome.errors)
    result.statuses.update(outcome.statuses)
    result.client_cpu = outcome.client_cpu
    result.ran_out = outcome.ran_out
    result.connections = outcome.connections
    return result


def print_table(results: list[Result]) -> None:
    width = max(len(r.label) for r in results)
    print(
        f"{'run':<{width}}  {'requests':>9}  {'errors':>6}  {'req/s':>8}  "
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
        if r.ran_out:
            print(f"  {r.label}: the pre-signed tokens ran out before the time was up")


def check_first(base_url: str, body: dict[str, Any], signer: Signer) -> str | None:
    """The first answer must be 200 with cards; returns a problem or None."""
    content = json.dumps({**body, "hookInstance": secrets.token_hex(16)})
    headers = {"Authorization": f"Bearer {signer.token()}", "Content-Type": "application/json"}
    response = httpx.post(base_url + PATH, content=content, headers=headers, timeout=30)
    if response.status_code != 200:
        return f"HTTP {response.status_code}: {response.text[:300]}"
    cards = response.json().get("cards", [])
    codes = sorted(c["source"]["topic"]["code"] for c in cards)
    print(f"first answer: {len(cards)} cards {codes}")
    return None if cards else "no cards"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="timed seconds (20)")
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
    parser.add_argument(
        "--database-url", help="database to use, e.g. postgresql+psycopg://… (default: SQLite)"
    )
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="b12-cds-load-") as tmp:
        folder = Path(tmp)
        url = args.database_url or f"sqlite:///{folder / 'load.sqlite3'}"
        server = LiveServer(url, workers=args.workers)
        signer = Signer(audience=server.url + PATH)
        server.extra_env = {"B12_CDS_TRUSTED_ISSUERS": str(write_trust(folder, signer))}
        try:
            server.start(log_path=folder / "serve.log", timeout=60)
        except RuntimeError as exc:
            print(f"could not start b12 serve: {exc}")
            return 1
        try:
            return _bench(server, signer, args, url)
        finally:
            server.stop()


def _bench(server: LiveServer, signer: Signer, args: argparse.Namespace, url: str) -> int:
    database = url.split(":", 1)[0].split("+", 1)[0]
    print(
        f"b12 CDS Hooks load benchmark: Python {sys.version.split()[0]}, {platform.system()}, "
        f"{os.cpu_count()} CPUs; server b12 serve on {server.url}, {args.workers} worker(s), "
        f"{database}"
    )
    body = order_sign_body()
    problem = check_first(server.url, body, signer)
    if problem is not None:
        print(f"the service did not answer as expected: {problem}")
        return 1
    warm = drive(server.url, body, signer, 8, WARMUP_SECONDS, "warm-up", args.generators)
    # tokens are signed before each timed run, so signing (~0.7 ms each) is not timed
    needed = int(warm.per_second * args.seconds * 6) + 1000
    print(
        f"warm-up: {warm.per_second:,.0f} req/s signing on the fly; {needed:,} tokens are "
        f"pre-signed before each timed run (each request gets its own jti)"
    )
    assert server.process is not None
    cpu = ProcessTreeCpu(server.process.pid)
    assert server.log_path is not None
    app_log = AppLog(server.log_path)
    results = []
    for clients in [int(c) for c in str(args.clients).split(",") if c.strip()]:
        pool = deque(signer.token() for _ in range(needed))
        before = cpu.seconds()
        app_log.mark()
        label = f"{PATH} x{clients}"
        result = drive(server.url, body, pool, clients, args.seconds, label, args.generators)
        result.server_cpu_s = cpu.seconds() - before
        result.load_1m = os.getloadavg()[0]
        result.app_ms = app_log.durations("POST", "/cds-services/{service_id}")
        results.append(result)
    print_table(results)
    _verdict(results, database)
    return 0


def _verdict(results: list[Result], database: str) -> None:
    worst_cpu = max(r.cpu_ms_per_request for r in results)
    print(
        f"target: server CPU per request <= {TARGET_CPU_MS:.0f} ms: "
        f"{'MET' if worst_cpu <= TARGET_CPU_MS else 'NOT MET'} (worst {worst_cpu:.2f} ms)"
    )
    at_32 = [r for r in results if r.label.endswith(" x32")]
    limit = TARGET_P99_AT_32_MS.get(database)
    if at_32 and limit is not None:
        p99 = at_32[0].percentile(0.99)
        ok = p99 <= limit and at_32[0].errors == 0
        print(
            f"target: p99 <= {limit:.0f} ms at 32 clients on {database}, no errors: "
            f"{'MET' if ok else 'NOT MET'} (p99 {p99:.1f} ms; goal {GOAL_P99_MS:.0f} ms)"
        )


if __name__ == "__main__":
    sys.exit(main())
