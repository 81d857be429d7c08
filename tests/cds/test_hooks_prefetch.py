"""Prefetch: token filling, reading prefetched values, and the FHIR-server fallback.

The fallback is exercised with the real httpx fetch on an ``httpx.MockTransport`` (a fake FHIR
server in process: no network), so the headers, pagination, deadline and origin rules are the
ones production uses.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from b12.adapters.cds.prefetch import (
    Gathered,
    Missing,
    fhir_access,
    fill,
    gather,
    httpx_fetch,
    prefetch_templates,
    read_value,
)
from tests.cds.hooks_support import (
    ACCESS_TOKEN,
    FHIR_SERVER,
    PATIENT_ID,
    b12_result,
    full_prefetch,
    patient,
    searchset,
    with_server,
)

TEMPLATES = prefetch_templates()
CONTEXT = {"userId": "Practitioner/doc-1", "patientId": PATIENT_ID}


def body(prefetch: dict[str, Any] | None = None, server: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"hook": "patient-view", "hookInstance": "x", "context": dict(CONTEXT)}
    if prefetch is not None:
        out["prefetch"] = prefetch
    return with_server(out) if server else out


def run(coro: Any) -> Any:
    return asyncio.run(coro)


class Server:
    """A fake FHIR server behind httpx.MockTransport."""

    def __init__(self, pages: int = 1, delay: float = 0.0, status: int = 200) -> None:
        self.requests: list[httpx.Request] = []
        self.pages = pages
        self.delay = delay
        self.status = status

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.status != 200:
            return httpx.Response(self.status, json={"resourceType": "OperationOutcome"})
        path = request.url.path
        if path.endswith(f"/Patient/{PATIENT_ID}"):
            return httpx.Response(200, json=patient())
        page = int(request.url.params.get("page", "1"))
        next_url = None
        if page < self.pages:
            next_url = f"{FHIR_SERVER}/Observation?page={page + 1}"
        if path.endswith("/Observation"):
            doc = searchset(b12_result(100 + page, oid=f"o{page}"), next_url=next_url)
            return httpx.Response(200, content=json.dumps(doc).encode())
        return httpx.Response(200, json=searchset())

    def fetch(self) -> Any:
        return httpx_fetch(httpx.MockTransport(self.handle))


def test_fill_percent_encodes_context_values() -> None:
    assert (
        fill("Patient/{{context.patientId}}", {"patientId": "a/b&c=d"}) == "Patient/a%2Fb%26c%3Dd"
    )
    assert fill("X?p={{ context.patientId }}", {"patientId": 12}) == "X?p=12"
    assert fill("Patient/{{context.patientId}}", {}) is None
    assert fill("Patient/{{context.patientId}}", {"patientId": {"x": 1}}) is None
    assert fill("Patient/{{context.patientId}}", {"patientId": True}) is None
    assert fill("Practitioner/{{userPractitionerId}}", CONTEXT) == "Practitioner/doc-1"
    assert fill("Patient/{{userPatientId}}", CONTEXT) is None


@pytest.mark.parametrize(
    ("value", "count", "error"),
    [
        (None, 0, False),
        (patient(), 1, False),
        (searchset(patient(), b12_result(90)), 2, False),
        ({"resourceType": "Bundle"}, 0, False),
        ({"resourceType": "Bundle", "entry": "x"}, 0, True),
        ({"resourceType": "OperationOutcome", "issue": []}, 0, True),
        ("Patient/1", 0, True),
        (7, 0, True),
        ({"id": "no type"}, 0, True),
        ([patient(), "junk"], 1, False),
    ],
)
def test_read_value(value: Any, count: int, error: bool) -> None:
    read = read_value(value)
    assert len(read.resources) == count
    assert (read.error is not None) is error


def test_outcome_entries_in_a_bundle_are_skipped() -> None:
    bundle = searchset(patient())
    bundle["entry"].append(
        {"resource": {"resourceType": "OperationOutcome"}, "search": {"mode": "outcome"}}
    )
    assert [r["resourceType"] for r in read_value(bundle).resources] == ["Patient"]


def test_everything_prefetched_needs_no_fetch() -> None:
    server = Server()
    got = run(gather(body(full_prefetch(), server=True), TEMPLATES, server.fetch()))
    assert isinstance(got, Gathered)
    assert got.fetched == ()
    assert server.requests == []
    assert [r["resourceType"] for r in got.resources] == ["Patient", "Observation"]


def test_prefetched_next_links_are_noted_not_followed_without_a_server() -> None:
    prefetch = full_prefetch()
    prefetch["b12"] = searchset(b12_result(90), next_url=f"{FHIR_SERVER}/Observation?page=2")
    got = run(gather(body(prefetch), TEMPLATES, None))
    assert isinstance(got, Gathered)
    assert got.notes == ("prefetch b12: further pages not read",)


def test_missing_keys_are_fetched_with_the_bearer_and_pages_followed() -> None:
    server = Server(pages=3)
    got = run(gather(body(server=True), TEMPLATES, server.fetch()))
    assert isinstance(got, Gathered)
    assert set(got.fetched) == set(TEMPLATES)
    assert {r.headers["authorization"] for r in server.requests} == {f"Bearer {ACCESS_TOKEN}"}
    assert all(str(r.url).startswith(FHIR_SERVER + "/") for r in server.requests)
    b12 = got.by_key["b12"]
    assert [o["id"] for o in b12] == ["o1", "o2", "o3"]


def test_next_links_to_another_origin_are_not_followed() -> None:
    seen: list[str] = []

    async def fetch(url: str, token: str | None) -> Any:
        seen.append(url)
        if "Observation" in url:
            return searchset(b12_result(90), next_url="https://evil.test/steal")
        return searchset()

    prefetch = full_prefetch()
    del prefetch["b12"]
    got = run(gather(body(prefetch, server=True), TEMPLATES, fetch))
    assert isinstance(got, Gathered)
    assert any("Observation" in url for url in seen)
    assert not any("evil" in url for url in seen)


def test_a_slow_server_hits_the_deadline() -> None:
    server = Server(delay=1.0)
    got = run(gather(body(server=True), TEMPLATES, server.fetch(), deadline=0.2))
    assert isinstance(got, Missing)
    assert "no answer within 0.2 s" in got.reasons["patient"]


@pytest.mark.parametrize("status", [401, 404, 500])
def test_server_errors_are_missing_data(status: int) -> None:
    server = Server(status=status)
    got = run(gather(body(server=True), TEMPLATES, server.fetch()))
    assert isinstance(got, Missing)
    assert f"HTTP {status}" in got.reasons["patient"]
    assert ACCESS_TOKEN not in json.dumps(dict(got.reasons))


def test_plain_http_servers_are_not_queried_unless_loopback_is_allowed() -> None:
    plain = body(server=True) | {"fhirServer": "http://127.0.0.1:9/r4"}
    assert fhir_access(plain) is None
    assert fhir_access(plain, allow_http_loopback=True) is not None
    assert (
        fhir_access(plain | {"fhirServer": "http://fhir.example.test"}, allow_http_loopback=True)
        is None
    )
    for bad in ("https://user:pw@x.test", "https://x.test/?q=1", "ftp://x.test", "", 3):
        assert fhir_access(body(server=True) | {"fhirServer": bad}) is None
    access = fhir_access(body(server=True))
    assert access is not None
    assert ACCESS_TOKEN not in repr(access)


def test_a_loopback_server_over_http_when_allowed() -> None:
    loop_body = body(server=True) | {"fhirServer": "http://127.0.0.1:8999/r4"}

    async def handle(request: httpx.Request) -> httpx.Response:
        assert request.url.host == "127.0.0.1"
        return httpx.Response(200, json=searchset())

    fetch = httpx_fetch(httpx.MockTransport(handle))
    assert isinstance(run(gather(loop_body, TEMPLATES, fetch)), Missing)  # https only
    got = run(gather(loop_body, TEMPLATES, fetch, allow_http_loopback=True))
    assert isinstance(got, Gathered)


def test_without_a_server_omitted_keys_are_missing() -> None:
    prefetch = full_prefetch()
    del prefetch["labs"]
    got = run(gather(body(prefetch), TEMPLATES, None))
    assert isinstance(got, Missing)
    assert got.keys == ("labs",)
    assert "not provided" in got.reasons["labs"]
