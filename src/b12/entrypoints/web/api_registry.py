"""The registry over JSON: patients, doses, events and the recall list.

Writes need ``enrol`` (patients) or ``record`` (doses, events); reads need ``registry``.  A
browser session must send ``X-CSRF-Token`` on writes; bearer tokens need not.  Every read of
patient data writes a ``view`` row to the audit log (the writes audit themselves).  A dose the
order check stops is refused with HTTP 409 unless it carries an ``override_reason``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from b12.adapters.sql.registry import MAX_WITHIN_DAYS, Registry
from b12.core.course_models import OrderCheckResult
from b12.core.errors import FieldProblem, InputError, Refused
from b12.core.plan_models import Plan
from b12.core.requests import plan_request
from b12.entrypoints.web.api import json_body
from b12.entrypoints.web.auth import ApiPrincipal, Principal, header_csrf, require, services
from b12.entrypoints.web.openapi import ref, responses
from b12.entrypoints.web.registry_common import (
    MAX_BATCH,
    MAX_DRUG,
    MAX_KEY,
    MAX_NAME,
    MAX_REASON,
    ROUTES,
    SITES,
    current_courses,
    day_value,
    dose_input,
    order_field,
    patient_fields,
    recall_csv_response,
    recall_status,
)

router = APIRouter(prefix="/api", tags=["registry"])

MAX_PAGE = 1000

# -- OpenAPI: request bodies and responses ------------------------------------------------------

_DATE = {"type": "string", "format": "date", "description": "YYYY-MM-DD, not in the future"}
_OBJECT = {"type": "object"}

PATIENT_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["id", "picture"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"},
        "name": {"type": ["string", "null"], "maxLength": MAX_NAME},
        "date_of_birth": {"anyOf": [_DATE, {"type": "null"}]},
        "picture": ref("ClinicalPicture"),
        "course": {"anyOf": [ref("CourseDeclaration"), {"type": "null"}]},
    },
}
DOSE_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["date", "drug", "dose", "route"],
    "additionalProperties": False,
    "properties": {
        "date": _DATE,
        "drug": {"type": "string", "minLength": 1, "maxLength": MAX_DRUG},
        "dose": {
            "anyOf": [
                {"type": "string", "description": "e.g. 1mg or 1000mcg", "maxLength": 40},
                {
                    "type": "object",
                    "required": ["value", "unit"],
                    "additionalProperties": False,
                    "properties": {
                        "value": {"type": "number", "exclusiveMinimum": 0},
                        "unit": {"type": "string", "enum": ["mg", "mcg", "ug"]},
                    },
                },
            ]
        },
        "route": {"type": "string", "enum": list(ROUTES)},
        "site": {"anyOf": [{"type": "string", "enum": list(SITES)}, {"type": "null"}]},
        "batch": {"type": ["string", "null"], "maxLength": MAX_BATCH},
        "override_reason": {"type": ["string", "null"], "maxLength": MAX_REASON},
        "idempotency_key": {"type": ["string", "null"], "maxLength": MAX_KEY},
    },
}
EVENT_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["date", "kind"],
    "additionalProperties": False,
    "properties": {
        "date": _DATE,
        "kind": {"type": "string", "description": "an event of the vocabulary"},
    },
}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def _json(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": schema or _OBJECT}},
    }


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ref("Error")}}}


NOT_FOUND: dict[int | str, dict[str, Any]] = {404: _error("No such patient")}
REFUSED: dict[int | str, dict[str, Any]] = {
    409: {
        "description": "The order check says stop and no override reason was given",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {"error": _OBJECT, "check": ref("OrderCheckResult")},
                }
            }
        },
    }
}
DOSE_RESULT = {
    "type": "object",
    "properties": {
        "dose_id": {"type": "integer"},
        "duplicate": {"type": "boolean"},
        "check": {"anyOf": [ref("OrderCheckResult"), {"type": "null"}]},
        "follow_up": {"anyOf": [ref("FollowUpResult"), {"type": "null"}]},
    },
}


# -- helpers ------------------------------------------------------------------------------------


def _access(request: Request, principal: Principal, permission: str, *, write: bool) -> None:
    require(principal, permission)
    if write and principal.via == "session":
        header_csrf(request, principal)


def _registry(request: Request) -> Registry:
    svc = services(request)
    return svc.registry_for(svc.kb())


def _object(document: Any, allowed: tuple[str, ...]) -> Mapping[str, Any]:
    if not isinstance(document, dict):
        raise InputError([FieldProblem("body", "expected a JSON object")])
    unknown = sorted(set(document) - set(allowed))
    if unknown:
        raise InputError([FieldProblem(k, "unknown field") for k in unknown])
    return document


def _view(request: Request, principal: Principal, what: str, record: str, **detail: Any) -> None:
    svc = services(request)
    svc.registry.record_view(
        what, record, actor=principal.user.username, now=svc.now(), detail=detail
    )


def _picture_problems(problems: tuple[FieldProblem, ...]) -> list[FieldProblem]:
    return [
        FieldProblem(f"picture.{p.field}" if p.field else "picture", p.message) for p in problems
    ]


def plan_summary(patient_id: str, plan: Plan) -> dict[str, Any]:
    """What enrolment decided: the pathway, regimen and status of the new course."""
    regimen = plan.regimen
    return {
        "id": patient_id,
        "status": plan.status,
        "guideline": plan.guideline,
        "pathway": {"id": plan.pathway.id, "title": plan.pathway.title},
        "regimen": (
            {"id": regimen.id, "title": regimen.title, "drug": regimen.drug, "route": regimen.route}
            if regimen
            else None
        ),
        "start": plan.start.isoformat(),
        "content_version": plan.content_version,
        "review_status": plan.review_status,
        "review_level": plan.review_level,
        "review_label": plan.review_label,
        "alerts": [{"code": a.code, "severity": a.severity, "title": a.title} for a in plan.alerts],
    }


# -- patients -----------------------------------------------------------------------------------


@router.get(
    "/patients",
    summary="Enrolled patients",
    responses=responses(None, {200: _json("Each patient with pathway and next due date")}),
)
def api_patients(request: Request, principal: ApiPrincipal) -> Response:
    """Every patient: id, display name, guideline, pathway, course status, next due date."""
    _access(request, principal, "registry", write=False)
    rows = current_courses(services(request).registry.list_patients())
    _view(request, principal, "patients", "list", endpoint="api", rows=len(rows))
    return JSONResponse({"items": rows, "total": len(rows)})


@router.post(
    "/patients",
    summary="Enrol a patient",
    status_code=201,
    openapi_extra=_body(PATIENT_BODY),
    responses=responses(None, {201: _json("Enrolled: the new course's plan summary")}),
)
async def api_enrol(request: Request, principal: ApiPrincipal) -> Response:
    """``{"id", "name"?, "date_of_birth"?, "picture", "course"?}`` → 201 with the plan summary.

    ``course`` declares a course that began before the doses on record (CourseDeclaration)."""
    _access(request, principal, "enrol", write=True)
    svc = services(request)
    registry = _registry(request)
    body = _object(await json_body(request), ("id", "name", "date_of_birth", "picture", "course"))
    patient_id, name, born, problems = patient_fields(body, today=svc.today())
    picture = body.get("picture")
    if not isinstance(picture, dict):
        problems.append(FieldProblem("picture", "required: a ClinicalPicture object"))
    if problems or patient_id is None or not isinstance(picture, dict):
        if isinstance(picture, dict):
            try:
                plan_request(picture, registry.kb, default_as_of=svc.today())
            except InputError as err:
                problems += _picture_problems(err.problems)
        raise InputError(problems)
    try:
        plan = registry.add_patient(
            patient_id,
            picture,
            name=name,
            actor=principal.user.username,
            now=svc.now(),
            date_of_birth=born,
            course=body.get("course"),
        )
    except InputError as err:
        own = ("id", "name", "date_of_birth")
        mine = [p for p in err.problems if p.field in own or p.field.startswith("course")]
        raise InputError(
            mine + _picture_problems(tuple(p for p in err.problems if p not in mine))
        ) from None
    location = f"/api/patients/{patient_id}"
    return JSONResponse(
        plan_summary(patient_id, plan), status_code=201, headers={"Location": location}
    )


@router.get(
    "/patients/{patient_id}",
    summary="One patient: record, dose history and follow-up",
    responses=responses(
        None, {200: _json("The registry record with the follow-up as of today"), **NOT_FOUND}
    ),
)
def api_patient(request: Request, patient_id: str, principal: ApiPrincipal) -> Response:
    """The patient, course, picture, doses in force, every dose row, events and follow-up."""
    _access(request, principal, "registry", write=False)
    svc = services(request)
    registry = _registry(request)
    record = registry.show_patient(patient_id)
    history = registry.dose_history(patient_id)
    follow = registry.follow_up(patient_id, svc.today())
    _view(request, principal, "patient", patient_id, endpoint="api")
    return JSONResponse(
        {**record, "dose_history": history, "follow_up": follow.model_dump(mode="json")}
    )


@router.post(
    "/patients/{patient_id}/doses",
    summary="Record a dose given",
    status_code=201,
    openapi_extra=_body(DOSE_BODY),
    responses=responses(
        None,
        {
            200: _json("Already recorded under this idempotency key; nothing changed", DOSE_RESULT),
            # 409 is also the answer when the idempotency key recorded a different dose
            # (error code "conflict", with "recorded" and "submitted" doses).
            201: _json("Recorded, with the order check and the new follow-up", DOSE_RESULT),
            **NOT_FOUND,
            **REFUSED,
        },
    ),
)
async def api_dose(request: Request, patient_id: str, principal: ApiPrincipal) -> Response:
    """Order-check and record a dose; a stop needs ``override_reason`` (else 409)."""
    _access(request, principal, "record", write=True)
    svc = services(request)
    registry = _registry(request)
    fields = tuple(DOSE_BODY["properties"])
    body = _object(await json_body(request), fields)
    given, problems = dose_input(body, today=svc.today(), given_by=principal.user.username)
    if given is None:
        raise InputError(problems)
    try:
        outcome = registry.record_dose(
            patient_id, given, actor=principal.user.username, now=svc.now()
        )
    except InputError as err:
        raise InputError(
            [FieldProblem(order_field(p.field), p.message) for p in err.problems]
        ) from None
    except Refused as err:
        detail = err.detail
        check = detail.model_dump(mode="json") if isinstance(detail, OrderCheckResult) else None
        raise Refused(str(err), check) from None
    document = {
        "dose_id": outcome.dose_id,
        "duplicate": outcome.duplicate,
        "check": outcome.check.model_dump(mode="json") if outcome.check else None,
        "follow_up": outcome.follow_up.model_dump(mode="json") if outcome.follow_up else None,
    }
    return JSONResponse(document, status_code=200 if outcome.duplicate else 201)


@router.post(
    "/patients/{patient_id}/events",
    summary="Record a clinical event",
    status_code=201,
    openapi_extra=_body(EVENT_BODY),
    responses=responses(
        None, {201: _json("Recorded; the follow-up after it", ref("FollowUpResult")), **NOT_FOUND}
    ),
)
async def api_event(request: Request, patient_id: str, principal: ApiPrincipal) -> Response:
    """``{"date", "kind"}`` → 201 with the follow-up worked out again."""
    _access(request, principal, "record", write=True)
    svc = services(request)
    body = _object(await json_body(request), ("date", "kind"))
    problems: list[FieldProblem] = []
    day = day_value(body.get("date"), "date", problems, today=svc.today())
    kind = body.get("kind")
    if not isinstance(kind, str) or not kind:
        problems.append(FieldProblem("kind", "required: an event of the vocabulary"))
    if problems or day is None or not isinstance(kind, str):
        raise InputError(problems)
    follow = _registry(request).record_event(
        patient_id, day, kind, actor=principal.user.username, now=svc.now()
    )
    return Response(follow.model_dump_json(), status_code=201, media_type="application/json")


# -- recall -------------------------------------------------------------------------------------

RecallStatus = Literal["all", "overdue", "due", "upcoming"]
Guideline = Literal["uk", "us"]


@router.get(
    "/recall",
    summary="Recall list: due within N days or overdue, most urgent first",
    responses=responses(None, {200: _json("One page of the list and the total")}),
)
def api_recall(
    request: Request,
    principal: ApiPrincipal,
    within: int = Query(14, ge=0, le=MAX_WITHIN_DAYS),
    limit: int = Query(100, ge=1, le=MAX_PAGE),
    offset: int = Query(0, ge=0, le=2**31 - 1),
    status: RecallStatus = "all",
    guideline: Guideline | None = None,
) -> Response:
    """``{"as_of", "within", "status", "guideline", "total", "limit", "offset", "items"}``."""
    _access(request, principal, "registry", write=False)
    svc = services(request)
    today = svc.today()
    filters = {"status": recall_status(status), "guideline": guideline}
    rows = svc.registry.recall(today, within, limit=limit, offset=offset, **filters)
    total = svc.registry.recall_count(today, within, **filters)
    items = [r.as_dict() for r in rows]
    query = {"within": within, "status": status, "guideline": guideline}
    _view(request, principal, "recall", "list", endpoint="api", **query, rows=len(items))
    return JSONResponse(
        {
            "as_of": today.isoformat(),
            **query,
            "total": total,
            "limit": limit,
            "offset": offset,
            "items": items,
        }
    )


@router.get(
    "/recall.csv",
    summary="The whole recall list as CSV",
    responses=responses(
        None,
        {
            200: {
                "description": "CSV with a header row",
                "content": {"text/csv": {"schema": {"type": "string"}}},
            }
        },
    ),
)
def api_recall_csv(
    request: Request,
    principal: ApiPrincipal,
    within: int = Query(14, ge=0, le=MAX_WITHIN_DAYS),
    status: RecallStatus = "all",
    guideline: Guideline | None = None,
) -> Response:
    """Every row of the recall list with these filters (no paging)."""
    _access(request, principal, "registry", write=False)
    svc = services(request)
    today = svc.today()
    export = svc.registry.open_recall_export(
        today, within, status=recall_status(status), guideline=guideline
    )
    query = {"within": within, "status": status, "guideline": guideline}
    try:  # one audit row per export, written before any row leaves
        _view(request, principal, "recall", "csv", endpoint="api", **query, rows=export.total)
    except BaseException:
        export.close()
        raise
    return recall_csv_response(export, f"b12-recall-{today.isoformat()}.csv")
