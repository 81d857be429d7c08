"""CDS Hooks 2.0 services: discovery, ``patient-view``, ``order-select``, ``order-sign``, feedback.

* ``GET /cds-services`` lists the three services with their prefetch templates.
* ``POST /cds-services/{id}`` answers ``{"cards": [...]}`` from whatever FHIR data it could
  have (a card says what was missing and why); 412 only when nothing useful can be said
  without the missing data (``patient-view`` with no Patient); 422 (canonical error body) when
  the request is unusable; 404 for an unknown service.
* ``POST /cds-services/{id}/feedback`` stores the feedback items and answers
  ``{"received": N}``.

Every route requires the CDS Client's signed JWT (:func:`b12.entrypoints.web.cds_auth.cds_caller`).
The route is thin: it validates the request, reads the registry for ``patient-view`` (writing
one ``view`` audit row whenever registry data is returned), gathers what FHIR data it can
(:mod:`b12.adapters.cds.prefetch`) and asks :func:`b12.adapters.cds.hooks.hook_cards` for the
cards; :class:`~b12.adapters.cds.hooks.Unanswerable` becomes 412.  Nothing here logs the
request body, the access token or the JWT.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse

from b12.adapters.cds import cards as cardlib
from b12.adapters.cds.hooks import (
    HookCall,
    Unanswerable,
    hook_cards,
    needs_fhir,
    registry_cards,
)
from b12.adapters.cds.prefetch import (
    Fetch,
    Gathered,
    gather_available,
    httpx_fetch,
    prefetch_templates,
)
from b12.adapters.fhir.codes import CodeTable, load_code_table
from b12.core.errors import FieldProblem, InputError, NotFound
from b12.core.knowledge import KnowledgeBase
from b12.core.plan_models import Plan
from b12.core.requests import plan_request
from b12.entrypoints.web.api import json_body
from b12.entrypoints.web.auth import services
from b12.entrypoints.web.cds_auth import CdsCaller, CdsCallerDep
from b12.entrypoints.web.errors import HttpProblem, error_response

router = APIRouter(tags=["cds-hooks"])

#: The CDS Hooks version implemented.  Discovery also emits it as ``version`` (a 3.0 field,
#: RECOMMENDED there; a 2.0 client ignores unknown fields), so clients can tell.
SPEC_VERSION = "2.0"
HOOK_VERSION = "1.0"
MAX_ID_LENGTH = 200
#: Guideline plans kept for recent pictures (see :meth:`CdsRuntime.plan`).
PLAN_CACHE_SIZE = 256


@dataclass(frozen=True)
class CdsService:
    """One service of the discovery document."""

    id: str
    hook: str
    title: str
    description: str
    usage: str
    context_fields: tuple[str, ...]

    def discovery(self, templates: Mapping[str, str]) -> dict[str, Any]:
        """The service as the discovery endpoint lists it."""
        return {
            "hook": self.hook,
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "prefetch": dict(templates),
            "usageRequirements": self.usage,
            "version": SPEC_VERSION,
            "hookVersion": HOOK_VERSION,
        }


_USAGE = (
    "Send a JWT signed by a trusted issuer. Prefetch the templates listed, or send fhirServer "
    "(https) with fhirAuthorization so b12 can query them. Data that cannot be had is named on "
    "a card; patient-view without the Patient answers 412."
)
SERVICES: dict[str, CdsService] = {
    s.id: s
    for s in (
        CdsService(
            id="b12-patient-view",
            hook="patient-view",
            title="b12: vitamin B12 treatment status",
            description=(
                "The patient's vitamin B12 status: the next dose due or overdue for patients in "
                "the b12 registry, otherwise what the record supports (pathway, missing results, "
                "monitoring), with the guideline references."
            ),
            usage=_USAGE,
            context_fields=("userId", "patientId"),
        ),
        CdsService(
            id="b12-order-select",
            hook="order-select",
            title="b12: B12 and folic acid order check (selection)",
            description=(
                "Checks the selected vitamin B12 and folic acid MedicationRequests against the "
                "guideline (route, injection site, dose, folic acid without B12), with cited "
                "cards and the guideline regimen as a suggestion."
            ),
            usage=_USAGE,
            context_fields=("userId", "patientId", "selections", "draftOrders"),
        ),
        CdsService(
            id="b12-order-sign",
            hook="order-sign",
            title="b12: B12 and folic acid order check (signing)",
            description=(
                "Checks every vitamin B12 and folic acid MedicationRequest being signed against "
                "the guideline (route, injection site, dose, folic acid without B12), with cited "
                "cards and the guideline regimen as a suggestion."
            ),
            usage=_USAGE,
            context_fields=("userId", "patientId", "draftOrders"),
        ),
    )
}


@dataclass
class CdsRuntime:
    """What the CDS routes share: the code table, the templates and how to query FHIR."""

    table: CodeTable
    templates: dict[str, str]
    fetch: Fetch | None
    allow_http_loopback: bool = False
    _discovery: dict[str, Any] = field(default_factory=dict)
    _plans: OrderedDict[str, Plan | None] = field(default_factory=OrderedDict)

    def plan(self, picture: Mapping[str, Any], kb: KnowledgeBase, today: date) -> Plan | None:
        """The guideline plan for a picture (None if unusable), cached: an EHR sends the same
        patient's data for order-select and then order-sign, and for every order in a session."""
        key = json.dumps([kb.content_version, today.isoformat(), picture], sort_keys=True)
        with _plans_lock:
            if key in self._plans:
                self._plans.move_to_end(key)
                return self._plans[key]
        try:
            found: Plan | None = plan_request(dict(picture), kb, default_as_of=today)[1]
        except InputError:
            found = None
        with _plans_lock:
            self._plans[key] = found
            while len(self._plans) > PLAN_CACHE_SIZE:
                self._plans.popitem(last=False)
        return found

    def discovery(self) -> dict[str, Any]:
        """The discovery document (built once)."""
        if not self._discovery:
            self._discovery = {"services": [s.discovery(self.templates) for s in SERVICES.values()]}
        return self._discovery


_lock = threading.Lock()
_plans_lock = threading.Lock()


def configure(
    app: FastAPI,
    *,
    fetch: Fetch | None = None,
    allow_http_loopback: bool = False,
    table: CodeTable | None = None,
) -> CdsRuntime:
    """Set up (or replace) the CDS runtime of ``app``; tests inject ``fetch`` here."""
    # httpx logs every request URL at INFO; a fallback URL holds the patient's id.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    rt = CdsRuntime(
        table=table or load_code_table(),
        templates=prefetch_templates(),
        fetch=fetch if fetch is not None else httpx_fetch(),
        allow_http_loopback=allow_http_loopback,
    )
    app.state.cds_runtime = rt
    return rt


def runtime(request: Request) -> CdsRuntime:
    """The app's CDS runtime, created on first use."""
    found = getattr(request.app.state, "cds_runtime", None)
    if isinstance(found, CdsRuntime):
        return found
    with _lock:
        found = getattr(request.app.state, "cds_runtime", None)
        return found if isinstance(found, CdsRuntime) else configure(request.app)


def _service(service_id: str) -> CdsService:
    found = SERVICES.get(service_id)
    if found is None:
        raise HttpProblem(404, "not_found", "no such CDS service")
    return found


def _json(document: Mapping[str, Any], status: int = 200) -> Response:
    return JSONResponse(dict(document), status_code=status)


# -- request validation ------------------------------------------------------------------------


def _text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip()) and len(value) <= MAX_ID_LENGTH


def validate_request(body: Any, service: CdsService) -> dict[str, Any]:
    """The request body if usable for ``service``; else InputError naming every problem.

    Lenient: unknown members are ignored; only what the service relies on is checked.
    """
    if not isinstance(body, dict):
        raise InputError([FieldProblem("body", "expected a JSON object")])
    problems: list[FieldProblem] = []
    hook = body.get("hook")
    if hook != service.hook:
        problems.append(FieldProblem("hook", f"expected {service.hook!r} for this service"))
    if not _text(body.get("hookInstance")):
        problems.append(FieldProblem("hookInstance", "required: a unique id for this call"))
    context = body.get("context")
    if not isinstance(context, dict):
        problems.append(FieldProblem("context", "required: an object"))
    else:
        problems += _context_problems(context, service)
    problems += _authorization_problems(body)
    server = body.get("fhirServer")
    if server is not None and not (isinstance(server, str) and server.strip()):
        problems.append(FieldProblem("fhirServer", "expected a URL"))
    prefetch = body.get("prefetch")
    if prefetch is not None and not isinstance(prefetch, dict):
        problems.append(FieldProblem("prefetch", "expected an object"))
    if problems:
        raise InputError(problems)
    return body


def _context_problems(context: Mapping[str, Any], service: CdsService) -> list[FieldProblem]:
    problems = []
    for name in service.context_fields:
        value = context.get(name)
        if name in ("userId", "patientId") and not _text(value):
            problems.append(FieldProblem(f"context.{name}", "required: a string"))
        elif name == "draftOrders" and not isinstance(value, dict):
            problems.append(FieldProblem("context.draftOrders", "required: a FHIR Bundle"))
        elif name == "selections" and not (
            isinstance(value, list) and value and all(_text(v) for v in value)
        ):
            problems.append(
                FieldProblem("context.selections", "required: an array of 'Type/id' strings")
            )
    return problems


def _authorization_problems(body: Mapping[str, Any]) -> list[FieldProblem]:
    """``fhirAuthorization`` needs an ``access_token`` and a ``fhirServer`` (cds-r-1)."""
    auth = body.get("fhirAuthorization")
    if auth is None:
        return []
    problems = []
    if not isinstance(auth, dict):
        problems.append(FieldProblem("fhirAuthorization", "expected an object"))
    elif not isinstance(auth.get("access_token"), str) or not auth["access_token"]:
        problems.append(FieldProblem("fhirAuthorization.access_token", "required"))
    server = body.get("fhirServer")
    if not isinstance(server, str) or not server:
        problems.append(
            FieldProblem("fhirServer", "required when fhirAuthorization is given (cds-r-1)")
        )
    return problems


# -- routes ---------------------------------------------------------------------------------------


@router.get("/cds-services", summary="CDS Hooks discovery")
async def discovery(request: Request, caller: CdsCallerDep) -> Response:
    """The CDS services b12 offers, with their prefetch templates."""
    return _json(runtime(request).discovery())


@router.post("/cds-services/{service_id}", summary="Call a CDS service")
async def call_service(request: Request, service_id: str, caller: CdsCallerDep) -> Response:
    """A hook call: cards for the patient or the draft orders."""
    service = _service(service_id)
    body = validate_request(await json_body(request), service)
    call = HookCall.from_request(body)
    rt = runtime(request)
    svc = services(request)
    kb = svc.kb()
    today = svc.today()
    if service.hook == "patient-view":
        found = _from_registry(request, call, service, caller, kb, today)
        if found is not None:
            return _json(cardlib.response(found))
    if needs_fhir(call, kb, rt.table, today):
        got = await gather_available(
            body, rt.templates, rt.fetch, allow_http_loopback=rt.allow_http_loopback
        )
    else:
        got = Gathered({})
    answer = hook_cards(call, got, kb, rt.table, today, rt.plan)
    if isinstance(answer, Unanswerable):
        return _precondition_failed(answer.missing)
    return _json(cardlib.response(answer))


def _from_registry(
    request: Request,
    call: HookCall,
    service: CdsService,
    caller: CdsCaller,
    kb: KnowledgeBase,
    today: date,
) -> list[dict[str, Any]] | None:
    """``patient-view`` cards from the registry (audited), or None if the patient is not in it."""
    svc = services(request)
    registry = svc.registry_for(kb)
    try:
        result = registry.follow_up(call.patient_id, today)
    except (NotFound, InputError):
        return None
    cards = registry_cards(call, result, kb)
    context = request_context(call)
    registry.record_view(
        "cds",
        call.patient_id,
        actor=f"cds:{caller.issuer}",
        now=svc.now(),
        detail={"service": service.id, **context, "cards": len(cards)},
    )
    return cards


def request_context(call: HookCall) -> dict[str, str]:
    """What the audit row keeps of a hook call: the hook, ``hookInstance`` and the EHR user."""
    return {"hook": call.hook, "hookInstance": call.hook_instance, "user": call.user_id}


@router.post("/cds-services/{service_id}/feedback", summary="Feedback on cards")
async def feedback(request: Request, service_id: str, caller: CdsCallerDep) -> Response:
    """Store what the user did with the cards (accepted / overridden)."""
    _service(service_id)
    body = await json_body(request)
    if not isinstance(body, dict) or "feedback" not in body:
        raise InputError([FieldProblem("feedback", "required: an array of feedback items")])
    svc = services(request)
    count = svc.cds_store.record_feedback(service_id, body["feedback"], caller.issuer, svc.now())
    return _json({"received": count})


def _precondition_failed(missing: Mapping[str, str]) -> Response:
    return error_response(
        412,
        "precondition_failed",
        "the FHIR data this service needs was not prefetched and could not be fetched",
        [FieldProblem(f"prefetch.{key}", why) for key, why in sorted(missing.items())],
    )
