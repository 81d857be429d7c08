"""CDS Hooks prefetch: the templates each service asks for, and getting the data for a call.

The client MAY satisfy any prefetch template (CDS Hooks 2.0 "Providing FHIR Resources"):

* a key it satisfied holds a resource or a ``searchset`` Bundle (possibly with a ``next`` link);
* a key with no data holds ``null``;
* a key whose query failed holds an ``OperationOutcome``;
* a key it did not satisfy is **omitted**.

:func:`gather_available` takes what was prefetched and, for omitted or failed keys, queries the
client's ``fhirServer`` itself (bearer ``fhirAuthorization.access_token``, a short total
deadline, HTTPS only).  What still cannot be had is listed in :attr:`Gathered.missing` with a
reason for each key: the caller answers what it can from the rest (an EHR may fulfil some
templates and not others).  :func:`gather` is the strict form: :class:`Missing` unless every
key was had.  The access token is never logged, never put in an error message and never sent to any
other origin than ``fhirServer`` (``next`` links to other hosts are not followed).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import httpx

#: What a fetch returns: the parsed JSON document.  It raises :class:`FetchFailed` otherwise.
Fetch = Callable[[str, "str | None"], Awaitable[Any]]

TOKEN = re.compile(r"\{\{\s*([A-Za-z][A-Za-z0-9_.]*)\s*\}\}")
LOINC = "http://loinc.org"
#: Total time allowed for every fallback query of one hook call (seconds).
DEADLINE_SECONDS = 2.0
#: Pages of one search followed at most (``next`` links), fallback only.
MAX_PAGES = 5
#: Largest FHIR response read (bytes).
MAX_RESPONSE_BYTES = 5_000_000
#: ``{{userPractitionerId}}`` and friends: the id part of ``context.userId`` of that type.
USER_TOKENS = {
    "userPractitionerId": "Practitioner",
    "userPractitionerRoleId": "PractitionerRole",
    "userPatientId": "Patient",
    "userRelatedPersonId": "RelatedPerson",
}
#: The laboratory results asked for besides serum B12 (LOINC, see interop §4.2).
SERUM_B12_LOINC = "2132-9"
OTHER_LAB_LOINC: tuple[str, ...] = (
    "13964-2",  # methylmalonic acid
    "13965-9",  # homocysteine
    "718-7",  # haemoglobin
    "787-2",  # MCV
    "2823-3",  # potassium
    "2284-8",  # serum folate
    "33914-3",  # eGFR (MDRD)
    "98979-8",  # eGFR (CKD-EPI 2021)
    "62238-1",  # eGFR (CKD-EPI 2009)
)


def prefetch_templates(other_lab_codes: Sequence[str] = OTHER_LAB_LOINC) -> dict[str, str]:
    """The prefetch templates every b12 service declares (key → FHIR query template).

    Only ``{{context.patientId}}`` is used; every query stays within the spec's recommended
    subset (instance read, type search with reference, token and ``_sort``/``_count``).
    """
    patient = "patient={{context.patientId}}"
    labs = ",".join(f"{LOINC}|{code}" for code in other_lab_codes)
    return {
        "patient": "Patient/{{context.patientId}}",
        "b12": f"Observation?{patient}&code={LOINC}|{SERUM_B12_LOINC}&_sort=-date&_count=5",
        "labs": f"Observation?{patient}&code={labs}&_sort=-date&_count=100",
        "conditions": f"Condition?{patient}&clinical-status=active",
        "medicationRequests": f"MedicationRequest?{patient}&status=active",
        "medicationStatements": f"MedicationStatement?{patient}&status=active",
        "procedures": f"Procedure?{patient}",
    }


class FetchFailed(Exception):
    """A fallback query did not give a usable FHIR document (the message never holds a token)."""


@dataclass(frozen=True)
class Gathered:
    """The FHIR resources for a hook call, by prefetch key, plus what was fetched and noted."""

    by_key: Mapping[str, tuple[dict[str, Any], ...]]
    fetched: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    #: Keys whose data could not be had, each with a reason (no secrets in it).
    missing: Mapping[str, str] = field(default_factory=dict)

    @property
    def resources(self) -> tuple[dict[str, Any], ...]:
        """Every resource once (same type and id from two keys counts once), in key order."""
        seen: set[tuple[str, str]] = set()
        out: list[dict[str, Any]] = []
        for items in self.by_key.values():
            for res in items:
                rid = res.get("id")
                key = (str(res.get("resourceType")), rid) if isinstance(rid, str) else None
                if key is not None:
                    if key in seen:
                        continue
                    seen.add(key)
                out.append(res)
        return tuple(out)


@dataclass(frozen=True)
class Missing:
    """Prefetch keys whose data could not be had, each with a reason (no secrets in it)."""

    reasons: Mapping[str, str]

    @property
    def keys(self) -> tuple[str, ...]:
        """The missing keys, sorted."""
        return tuple(sorted(self.reasons))


@dataclass(frozen=True)
class FhirAccess:
    """Where and how the service may query the client's FHIR server.  ``repr`` hides the token."""

    server: str
    token: str | None = field(default=None, repr=False)


def fill(template: str, context: Mapping[str, Any]) -> str | None:
    """Replace the prefetch tokens of ``template`` from ``context``; None if one is unknown.

    Only root-level primitive context fields are tokens.  Values are percent-encoded, so a
    context value can never add a path segment or a query parameter.
    """
    unresolved = False

    def value(match: re.Match[str]) -> str:
        nonlocal unresolved
        name = match.group(1)
        raw: Any = None
        if name.startswith("context."):
            raw = context.get(name.removeprefix("context."))
        elif name in USER_TOKENS:
            kind, _, ident = str(context.get("userId", "")).partition("/")
            raw = ident if kind == USER_TOKENS[name] and ident else None
        if isinstance(raw, bool) or not isinstance(raw, str | int | float) or raw == "":
            unresolved = True
            return ""
        return quote(str(raw), safe="")

    filled = TOKEN.sub(value, template)
    return None if unresolved else filled


def fhir_access(body: Mapping[str, Any], *, allow_http_loopback: bool = False) -> FhirAccess | None:
    """The usable ``fhirServer`` (+ bearer) of a request, or None when it cannot be queried.

    HTTPS only; plain ``http://127.0.0.1`` / ``localhost`` only when ``allow_http_loopback``
    (tests and local demos).  URLs with user info, a query or a fragment are refused.
    """
    server = body.get("fhirServer")
    if not isinstance(server, str) or not server:
        return None
    parts = urlsplit(server)
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme != "https" and not (
        allow_http_loopback and parts.scheme == "http" and loopback
    ):
        return None
    if not parts.hostname or parts.username or parts.password or parts.query or parts.fragment:
        return None
    auth = body.get("fhirAuthorization")
    token = auth.get("access_token") if isinstance(auth, Mapping) else None
    return FhirAccess(server.rstrip("/"), token if isinstance(token, str) and token else None)


def _same_origin(url: str, base: str) -> bool:
    a, b = urlsplit(url), urlsplit(base)
    return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)


@dataclass
class _Read:
    """One key's value made into resources; ``error`` when unusable; ``next`` page if any."""

    resources: list[dict[str, Any]]
    error: str | None = None
    next_url: str | None = None


def _is_resource(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("resourceType"), str)


def read_value(value: Any) -> _Read:
    """A prefetch or fetched value → resources (``null`` is no data; OperationOutcome an error)."""
    if value is None:
        return _Read([])
    if isinstance(value, list):  # not in the spec, but harmless: a bare array of resources
        return _Read([v for v in value if _is_resource(v)])
    if not _is_resource(value):
        return _Read([], error="not a FHIR resource")
    kind = value["resourceType"]
    if kind == "OperationOutcome":
        return _Read([], error="the client reported an error (OperationOutcome)")
    return _read_bundle(value) if kind == "Bundle" else _Read([value])


def _read_bundle(bundle: dict[str, Any]) -> _Read:
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        return _Read([], error="Bundle.entry is not a list")
    out: list[dict[str, Any]] = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        search = entry.get("search")
        if isinstance(search, dict) and search.get("mode") == "outcome":
            continue
        res = entry.get("resource")
        if (
            isinstance(res, dict)
            and _is_resource(res)
            and res["resourceType"] != "OperationOutcome"
        ):
            out.append(res)
    links = bundle.get("link")
    nexts = [
        link.get("url")
        for link in (links if isinstance(links, list) else [])
        if isinstance(link, dict) and link.get("relation") == "next"
    ]
    next_url = nexts[-1] if nexts and isinstance(nexts[-1], str) and nexts[-1] else None
    return _Read(out, next_url=next_url)


async def _fetch_key(url: str, access: FhirAccess, fetch: Fetch) -> list[dict[str, Any]]:
    """Query one URL on the FHIR server, following ``next`` pages on the same origin."""
    resources: list[dict[str, Any]] = []
    pages = 0
    next_url: str | None = url
    while next_url is not None and pages < MAX_PAGES:
        read = read_value(await fetch(next_url, access.token))
        if read.error is not None:
            raise FetchFailed(read.error)
        resources.extend(read.resources)
        pages += 1
        nxt = urljoin(access.server + "/", read.next_url) if read.next_url else None
        next_url = nxt if nxt is not None and _same_origin(nxt, access.server) else None
    return resources


async def gather(
    body: Mapping[str, Any],
    templates: Mapping[str, str],
    fetch: Fetch | None,
    *,
    allow_http_loopback: bool = False,
    deadline: float = DEADLINE_SECONDS,
    only: Iterable[str] | None = None,
) -> Gathered | Missing:
    """The resources for every template key (or only those in ``only``), else what is missing."""
    got = await gather_available(
        body,
        templates,
        fetch,
        allow_http_loopback=allow_http_loopback,
        deadline=deadline,
        only=only,
    )
    return Missing(got.missing) if got.missing else got


async def gather_available(
    body: Mapping[str, Any],
    templates: Mapping[str, str],
    fetch: Fetch | None,
    *,
    allow_http_loopback: bool = False,
    deadline: float = DEADLINE_SECONDS,
    only: Iterable[str] | None = None,
) -> Gathered:
    """The resources of every template key (or only those in ``only``) that could be had, and
    in ``missing`` the keys that could not, each with its reason.

    ``fetch`` is None when the service must not query the FHIR server (then omitted keys are
    missing).  Every fallback query of the call shares one ``deadline``.
    """
    keys = list(templates) if only is None else [k for k in templates if k in set(only)]
    raw_prefetch = body.get("prefetch")
    prefetch: Mapping[str, Any] = raw_prefetch if isinstance(raw_prefetch, Mapping) else {}
    raw_context = body.get("context")
    context: Mapping[str, Any] = raw_context if isinstance(raw_context, Mapping) else {}
    access = fhir_access(body, allow_http_loopback=allow_http_loopback)

    by_key, notes, reasons = _from_prefetch(keys, prefetch)
    to_fetch: dict[str, str] = {}
    for key in reasons:
        url = fill(templates[key], context)
        if url is None:
            reasons[key] += "; the template's context values are missing"
        elif access is not None and fetch is not None:
            to_fetch[key] = f"{access.server}/{url}"
    if to_fetch and access is not None and fetch is not None:
        done = await _fetch_all(to_fetch, access, fetch, deadline)
        for key, got in done.items():
            if isinstance(got, str):
                reasons[key] += f"; fhirServer: {got}"
            else:
                by_key[key] = tuple(got)
                del reasons[key]
    elif reasons and access is None:
        for key in reasons:
            reasons[key] += "; no usable fhirServer to query"
    ordered = {k: by_key[k] for k in keys if k in by_key}
    fetched = tuple(k for k in keys if k in to_fetch and k in by_key)
    return Gathered(
        ordered, fetched=fetched, notes=tuple(notes), missing=dict(sorted(reasons.items()))
    )


def _from_prefetch(
    keys: Iterable[str], prefetch: Mapping[str, Any]
) -> tuple[dict[str, tuple[dict[str, Any], ...]], list[str], dict[str, str]]:
    """What the client prefetched: resources by key, notes, and why other keys are missing."""
    by_key: dict[str, tuple[dict[str, Any], ...]] = {}
    notes: list[str] = []
    reasons: dict[str, str] = {}
    for key in keys:
        if key not in prefetch:
            reasons[key] = f"prefetch {key}: not provided"
            continue
        read = read_value(prefetch[key])
        if read.error is not None:
            reasons[key] = f"prefetch {key}: {read.error}"
            continue
        by_key[key] = tuple(read.resources)
        if read.next_url is not None:
            notes.append(f"prefetch {key}: further pages not read")
    return by_key, notes, reasons


async def _fetch_all(
    urls: Mapping[str, str], access: FhirAccess, fetch: Fetch, deadline: float
) -> dict[str, list[dict[str, Any]] | str]:
    """Every key's fallback query at once; a failure (or the deadline) is a reason string."""

    async def one(url: str) -> list[dict[str, Any]] | str:
        try:
            return await _fetch_key(url, access, fetch)
        except FetchFailed as exc:
            return str(exc)

    tasks = {key: asyncio.ensure_future(one(url)) for key, url in urls.items()}
    _, pending = await asyncio.wait(tasks.values(), timeout=deadline)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)
    out: dict[str, list[dict[str, Any]] | str] = {}
    for key, task in tasks.items():
        if task in pending or task.cancelled():
            out[key] = f"no answer within {deadline:g} s"
        elif task.exception() is not None:
            out[key] = f"query failed ({type(task.exception()).__name__})"
        else:
            out[key] = task.result()
    return out


def httpx_fetch(
    transport: httpx.AsyncBaseTransport | None = None, timeout: float = DEADLINE_SECONDS
) -> Fetch:
    """A :data:`Fetch` over httpx: GET with ``Accept: application/fhir+json`` and the bearer.

    Redirects are not followed (they could carry the token elsewhere).  Tests pass an
    ``httpx.MockTransport`` (or point ``fhirServer`` at a loopback server).
    """

    async def fetch(url: str, token: str | None) -> Any:
        headers = {"Accept": "application/fhir+json, application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            async with httpx.AsyncClient(
                transport=transport, timeout=timeout, follow_redirects=False
            ) as client:
                response = await client.get(url, headers=headers)
        except httpx.HTTPError as exc:
            raise FetchFailed(f"no answer ({type(exc).__name__})") from None
        if response.status_code != 200:
            raise FetchFailed(f"HTTP {response.status_code}")
        if len(response.content) > MAX_RESPONSE_BYTES:
            raise FetchFailed("response too large")
        try:
            return response.json()
        except ValueError:
            raise FetchFailed("response is not JSON") from None

    return fetch
