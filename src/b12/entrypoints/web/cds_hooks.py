"""CDS Hooks 2.0 services: discovery, ``patient-view``, ``order-select``, ``order-sign``, feedback.

* ``GET /cds-services`` lists the three services with their prefetch templates.
* ``POST /cds-services/{id}`` answers ``{"cards": [...]}``; 412 when the FHIR data the service
  needs was neither prefetched nor obtainable from ``fhirServer``; 422 (canonical error body)
  when the request is unusable; 404 for an unknown service.
* ``POST /cds-services/{id}/feedback`` stores the feedback items and answers
  ``{"received": N}``.

Every route requires the CDS Client's signed JWT (:func:`b12.entrypoints.web.cds_auth.cds_caller`).
Cards come from :mod:`b12.adapters.cds.cards`; the FHIR data from
:mod:`b12.adapters.cds.prefetch` and :mod:`b12.adapters.fhir.inbound`.  Nothing here logs the
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
from b12.adapters.cds.prefetch import Fetch, Gathered, gather, httpx_fetch, prefetch_templates
from b12.adapters.fhir.codes import CodeTable, load_code_table
from b12.adapters.fhir.inbound import (
    medication_product,
    order_from_medication_request,
    picture_from_fhir,
)
from b12.adapters.fhir.outbound import medication_request
from b12.core.course_input import resolve_product
from b12.core.errors import FieldProblem, InputError, NotFound
from b12.core.follow_up import route_family
from b12.core.knowledge import KnowledgeBase
from b12.core.plan_models import PhaseOut, Plan
from b12.core.requests import order_check_request, plan_request
from b12.entrypoints.web.api import json_body
from b12.entrypoints.web.auth import services
from b12.entrypoints.web.cds_auth import CdsCallerDep
from b12.entrypoints.web.errors import HttpProblem, error_response

router = APIRouter(tags=["cds-hooks"])

#: The CDS Hooks version implemented.  Discovery also emits it as ``version`` (a 3.0 field,
#: RECOMMENDED there; a 2.0 client ignores unknown fields), so clients can tell.
SPEC_VERSION = "2.0"
HOOK_VERSION = "1.0"
MAX_ID_LENGTH = 200
MAX_ORDERS = 100
#: Guideline plans kept for recent pictures (see :meth:`CdsRuntime.plan`).
PLAN_CACHE_SIZE = 256
#: Fixed words of the cards (not clinical statements: those come from the knowledge base).
LABELS = {
    "status": "B12",
    "next_due": "Next B12 dose due",
    "overdue": "B12 dose overdue by",
    "continuous": "daily treatment",
    "missing": "Needed:",
    "monitoring": "Monitoring (from the start of treatment)",
    "after_start": "day {days}",
    "unchecked": "Order not checked by b12",
}
CHECKED_KINDS = ("b12", "folate")


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
    "(https) with fhirAuthorization so b12 can query them; otherwise the call answers 412."
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
    rt = runtime(request)
    svc = services(request)
    kb = svc.kb()
    today = svc.today()
    if service.hook == "patient-view":
        return await _patient_view(request, body, rt, kb, today)
    return await _orders(body, service, rt, kb, today)


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


async def _gather(body: Mapping[str, Any], rt: CdsRuntime) -> Gathered | Response:
    got = await gather(body, rt.templates, rt.fetch, allow_http_loopback=rt.allow_http_loopback)
    return got if isinstance(got, Gathered) else _precondition_failed(got.reasons)


# -- patient-view ---------------------------------------------------------------------------------


async def _patient_view(
    request: Request, body: Mapping[str, Any], rt: CdsRuntime, kb: KnowledgeBase, today: date
) -> Response:
    context = body["context"]
    hook_instance = str(body["hookInstance"])
    registry = services(request).registry_for(kb)
    try:
        result = registry.follow_up(str(context["patientId"]), today)
    except (NotFound, InputError):
        result = None
    if result is not None:
        status = cardlib.follow_up_card(result, kb, hook_instance=hook_instance, labels=LABELS)
        alerts = cardlib.alert_cards(
            result.alerts,
            result.references,
            kb,
            hook_instance=hook_instance,
            key="status",
            banner=result.review_banner,
            disclaimer=result.disclaimer,
        )
        return _json(cardlib.response([status, *alerts]))
    got = await _gather(body, rt)
    if isinstance(got, Response):
        return got
    try:
        fhir = picture_from_fhir(list(got.resources), rt.table, as_of=today)
    except InputError:  # no usable Patient (e.g. no birthDate): nothing can be said
        return _json(cardlib.response([]))
    if not _relevant(fhir.picture):
        return _json(cardlib.response([]))
    plan = rt.plan(fhir.picture, kb, today)
    if plan is None:
        return _json(cardlib.response([]))
    observed = _observed(fhir.picture, fhir.observed, kb)
    status = cardlib.plan_card(
        plan, kb, hook_instance=hook_instance, observed=observed, labels=LABELS
    )
    alerts = cardlib.alert_cards(
        plan.alerts,
        plan.references,
        kb,
        hook_instance=hook_instance,
        key="status",
        banner=plan.review_banner,
        disclaimer=plan.disclaimer,
    )
    return _json(cardlib.response([status, *alerts]))


def _relevant(picture: Mapping[str, Any]) -> bool:
    """Whether the record holds anything about B12 (else patient-view stays silent)."""
    labs = picture.get("labs")
    b12_labs = isinstance(labs, dict) and any(
        labs.get(k) is not None for k in ("serum_b12_ng_l", "active_b12_pmol_l", "mma_nmol_l")
    )
    return bool(
        b12_labs
        or picture.get("medications")
        or picture.get("conditions")
        or picture.get("deficiency")
        or picture.get("cause")
        or picture.get("neuro_symptoms")
    )


def _observed(
    picture: Mapping[str, Any], observed: Mapping[str, date], kb: KnowledgeBase
) -> list[str]:
    labs = picture.get("labs")
    out = []
    for name, when in sorted(observed.items()):
        term = kb.vocabulary.labs.get(name)
        value = labs.get(name) if isinstance(labs, dict) else None
        if term is not None and value is not None and not isinstance(value, bool):
            out.append(f"{term.label}: {value:g} {term.unit} ({when.isoformat()})")
    return out


# -- order-select / order-sign --------------------------------------------------------------------


@dataclass
class _Draft:
    """One draft MedicationRequest and what b12 made of it."""

    ref: str
    resource: dict[str, Any]
    kind: str | None
    order: dict[str, Any] | None
    reason: str | None


def draft_medication_requests(draft_orders: Any) -> list[dict[str, Any]]:
    """The MedicationRequests of ``draftOrders`` (a Bundle; ``type`` not required)."""
    entries = draft_orders.get("entry") if isinstance(draft_orders, dict) else None
    if not isinstance(entries, list):
        return []
    out = []
    for entry in entries[:MAX_ORDERS]:
        res = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(res, dict) and res.get("resourceType") == "MedicationRequest":
            out.append(res)
    return out


def _draft_medications(draft_orders: Any) -> dict[str, Any]:
    """Medication resources in ``draftOrders``, by ``Medication/id`` and by ``fullUrl``."""
    entries = draft_orders.get("entry") if isinstance(draft_orders, dict) else None
    found: dict[str, Any] = {}
    for entry in entries if isinstance(entries, list) else []:
        res = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(res, dict) and res.get("resourceType") == "Medication":
            if isinstance(res.get("id"), str):
                found[f"Medication/{res['id']}"] = res
            if isinstance(entry.get("fullUrl"), str):
                found[entry["fullUrl"]] = res
    return found


def _drafts(body: Mapping[str, Any], rt: CdsRuntime, kb: KnowledgeBase) -> list[_Draft]:
    """Every draft MedicationRequest, with its product kind (``b12``/``folate``) and order."""
    draft_orders = body["context"].get("draftOrders")
    medications = _draft_medications(draft_orders)
    out = []
    for i, res in enumerate(draft_medication_requests(draft_orders)):
        rid = res.get("id")
        ref = f"MedicationRequest/{rid}" if isinstance(rid, str) and rid else f"#draft{i}"
        drug, _text = medication_product(res, rt.table, medications)
        kind: str | None = resolve_product(drug, kb).kind if drug else None
        order, reason = order_from_medication_request(res, rt.table, medications)
        if kind is None and order is not None:
            kind = resolve_product(str(order.get("drug", "")), kb).kind
        out.append(_Draft(ref, res, kind if kind in CHECKED_KINDS else None, order, reason))
    return out


async def _orders(
    body: Mapping[str, Any], service: CdsService, rt: CdsRuntime, kb: KnowledgeBase, today: date
) -> Response:
    context = body["context"]
    hook_instance = str(body["hookInstance"])
    drafts = _drafts(body, rt, kb)
    targets = [d for d in drafts if d.kind is not None]
    if service.hook == "order-select":
        chosen = {str(s) for s in context.get("selections", [])}
        targets = [d for d in targets if d.ref in chosen]
    if not targets:
        return _json(cardlib.response([]))
    got = await _gather(body, rt)
    if isinstance(got, Response):
        return got
    unusable: str | None = None
    try:
        picture: dict[str, Any] = picture_from_fhir(
            list(got.resources), rt.table, as_of=today
        ).picture
    except InputError as err:  # no usable Patient: every order is reported as not checked
        picture = {}
        unusable = "; ".join(p.render() for p in err.problems)
    patient_ref = f"Patient/{context['patientId']}"
    cards: list[dict[str, Any]] = []
    plan_cache: list[Plan | None] = []
    for draft in targets:
        label = _product_label(draft, kb)
        if draft.order is None:
            if service.hook == "order-sign":
                cards.append(
                    cardlib.unchecked_card(
                        kb,
                        hook_instance=hook_instance,
                        order_ref=draft.ref,
                        product_label=label,
                        title=LABELS["unchecked"],
                        reasons=draft.reason or "the order could not be read",
                    )
                )
            continue
        if unusable is not None:
            cards.append(
                cardlib.unchecked_card(
                    kb,
                    hook_instance=hook_instance,
                    order_ref=draft.ref,
                    product_label=label,
                    title=LABELS["unchecked"],
                    reasons=unusable,
                )
            )
            continue
        others = [d.order for d in drafts if d is not draft and d.order is not None]
        document = {"picture": picture, "order": draft.order, "other_orders": others}
        try:
            result = order_check_request(document, kb, default_as_of=today)
        except InputError as err:
            cards.append(
                cardlib.unchecked_card(
                    kb,
                    hook_instance=hook_instance,
                    order_ref=draft.ref,
                    product_label=label,
                    title=LABELS["unchecked"],
                    reasons="; ".join(p.render() for p in err.problems),
                )
            )
            continue
        suggestions = _suggestions(
            draft, picture, kb, rt, today, hook_instance, patient_ref, plan_cache
        )
        found = cardlib.order_cards(
            result,
            kb,
            hook_instance=hook_instance,
            order_ref=draft.ref,
            product_label=label,
            suggestions=suggestions,
        )
        if not found and suggestions and plan_cache and plan_cache[0] is not None:
            extra = cardlib.regimen_card(
                plan_cache[0],
                kb,
                hook_instance=hook_instance,
                order_ref=draft.ref,
                product_label=label,
                suggestions=suggestions,
            )
            found = [extra] if extra is not None else []
        cards.extend(found)
    return _json(cardlib.response(cards))


def _product_label(draft: _Draft, kb: KnowledgeBase) -> str:
    if draft.order is not None:
        product = resolve_product(str(draft.order.get("drug", "")), kb)
        term = kb.vocabulary.products.get(product.name)
        if term is not None:
            return term.label
    return "B12" if draft.kind == "b12" else "folic acid"


def _plan_for(
    picture: Mapping[str, Any],
    kb: KnowledgeBase,
    today: date,
    rt: CdsRuntime,
    cache: list[Plan | None],
) -> Plan | None:
    if not cache:
        cache.append(rt.plan(picture, kb, today))
    return cache[0]


def _suggestions(
    draft: _Draft,
    picture: Mapping[str, Any],
    kb: KnowledgeBase,
    rt: CdsRuntime,
    today: date,
    hook_instance: str,
    patient_ref: str,
    cache: list[Plan | None],
) -> list[dict[str, Any]]:
    """The guideline regimen as an ``update`` of the draft, when the order matches no phase."""
    if draft.kind != "b12" or draft.order is None:
        return []
    plan = _plan_for(picture, kb, today, rt, cache)
    if plan is None or plan.regimen is None or plan.status != "plan":
        return []
    if matches_regimen(draft.order, plan, kb):
        return []
    rid = draft.resource.get("id")
    status = draft.resource.get("status")
    resource = medication_request(
        plan,
        kb,
        rt.table,
        patient_ref=patient_ref,
        request_id=rid if isinstance(rid, str) and rid else None,
        status=status if isinstance(status, str) and status else "draft",
    )
    if resource is None:
        return []
    for name in ("subject", "encounter", "requester", "identifier", "authoredOn"):
        if draft.resource.get(name):
            resource[name] = draft.resource[name]
    return [
        cardlib.suggestion(
            hook_instance,
            draft.ref,
            label=f"Use the guideline regimen: {plan.regimen.title}",
            description=f"Replace {draft.ref} with {plan.regimen.title}",
            resource=resource,
        )
    ]


def _interval(order: Mapping[str, Any], kb: KnowledgeBase) -> float | None:
    every = order.get("every_days")
    if isinstance(every, int | float) and not isinstance(every, bool):
        return float(every)
    freq = order.get("frequency")
    term = kb.vocabulary.frequencies.get(freq) if isinstance(freq, str) else None
    return term.interval_days if term is not None else None


def _phase_matches(phase: PhaseOut, micrograms: float, interval: float | None) -> bool:
    top = phase.dose.max if phase.dose.max is not None else phase.dose.value
    top_ug = top * (1000 if phase.dose.unit == "mg" else 1)
    if not phase.dose.micrograms - 0.5 <= micrograms <= top_ug + 0.5:
        return False
    if interval is None:
        return True
    if phase.every_days is not None:
        return phase.every_days.min - 0.5 <= interval <= phase.every_days.max + 0.5
    if phase.every_months is not None:
        return phase.every_months.min * 28 <= interval <= phase.every_months.max * 31
    if phase.times_per_week is not None:
        return abs(interval - 7 / phase.times_per_week) <= 1.0
    return True


def matches_regimen(order: Mapping[str, Any], plan: Plan, kb: KnowledgeBase) -> bool:
    """True when the order is the plan's drug, by its route, at the dose and interval of a phase."""
    regimen = plan.regimen
    if regimen is None:
        return True
    product = resolve_product(str(order.get("drug", "")), kb)
    route = order.get("route")
    if product.name != regimen.drug or not isinstance(route, str):
        return False
    if route != regimen.route and not (
        route_family(route) == route_family(regimen.route) == "injection"
        and "iv" not in (route, regimen.route)
    ):
        return False
    dose = order.get("dose")
    if not isinstance(dose, dict) or not isinstance(dose.get("value"), int | float):
        return False
    micrograms = float(dose["value"]) * (1000 if str(dose.get("unit")).lower() == "mg" else 1)
    interval = _interval(order, kb)
    return any(_phase_matches(p, micrograms, interval) for p in regimen.phases)
