"""FHIR R4 endpoints: the knowledge base as PlanDefinition / ActivityDefinition, and ``$apply``.

* ``GET /fhir/PlanDefinition`` — a ``searchset`` Bundle of every PlanDefinition (optional
  ``url`` and ``status`` filters).
* ``GET /fhir/PlanDefinition/{id}``, ``GET /fhir/ActivityDefinition/{id}`` — one resource.
* ``POST /fhir/PlanDefinition/{id}/$apply`` — body: a ``Parameters`` resource (``data``: the
  patient's Bundle or resources; optional ``subject`` (valueString / valueReference) and
  ``guideline`` (valueCode ``uk`` | ``us``)) or simply a Bundle; ``as_of`` query parameter
  (default today) → the CarePlan Bundle.

Answers are ``application/fhir+json``.  Authentication and permission as the engine API
(``plan``; a browser session also sends ``X-CSRF-Token`` for the POST).  Errors keep the
canonical body: 422 for unusable input, 404 for an unknown id.
"""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

from fastapi import APIRouter, Request, Response

from b12.adapters.fhir.codes import CodeTable, load_code_table
from b12.adapters.fhir.definitions import (
    PROTOCOL_ID,
    apply_plan_definition,
    find_resource,
    knowledge_base_resources,
)
from b12.adapters.fhir.outbound import Json, to_bytes
from b12.core.dates import parse_iso_date
from b12.core.errors import FieldProblem, InputError, NotFound, quoted
from b12.core.knowledge import KnowledgeBase
from b12.entrypoints.web.api import engine_access, json_body
from b12.entrypoints.web.auth import ApiPrincipal, require, services
from b12.entrypoints.web.openapi import ERRORS, ref

router = APIRouter(prefix="/fhir", tags=["fhir"])

FHIR_JSON = "application/fhir+json"
_lock = threading.Lock()
#: Per content version: the code table and the definitions (a few versions at most).
MAX_CACHED = 8
#: Largest ``$apply`` body: a patient's whole record as a Bundle (a Synthea patient with years
#: of history is 1–5 MB), still bounded.  Every other route keeps the API's 1 MB.
MAX_APPLY_BYTES = 20_000_000
_tables: dict[str, CodeTable] = {}
_definitions: dict[str, list[Json]] = {}


def _resource_schema(resource_type: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["resourceType"],
        "properties": {"resourceType": {"const": resource_type}},
    }


def _ok(resource_type: str, extra: dict[int | str, Any] | None = None) -> dict[int | str, Any]:
    out: dict[int | str, Any] = dict(ERRORS)
    out[200] = {
        "description": f"A FHIR R4 {resource_type}",
        "content": {FHIR_JSON: {"schema": _resource_schema(resource_type)}},
    }
    out.update(extra or {})
    return out


NOT_FOUND: dict[int | str, Any] = {
    404: {
        "description": "No resource with that id",
        "content": {"application/json": {"schema": ref("Error")}},
    }
}
APPLY_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            media: {
                "schema": {
                    "type": "object",
                    "required": ["resourceType"],
                    "properties": {"resourceType": {"enum": ["Parameters", "Bundle"]}},
                }
            }
            for media in (FHIR_JSON, "application/json")
        },
    }
}


def code_table(kb: KnowledgeBase) -> CodeTable:
    """The packaged code table with ``kb``'s vocabulary, built once per content version."""
    with _lock:
        table = _tables.get(kb.content_version)
    if table is None:
        table = load_code_table(kb=kb)
        with _lock:
            if len(_tables) > MAX_CACHED:
                _tables.clear()
            _tables[kb.content_version] = table
    return table


def definitions(kb: KnowledgeBase) -> list[Json]:
    """The knowledge base's definitions, computed once per content version."""
    table = code_table(kb)
    key = f"{kb.content_version}|{table.version}"
    with _lock:
        found = _definitions.get(key)
    if found is None:
        found = knowledge_base_resources(kb, table)
        with _lock:
            if len(_definitions) > MAX_CACHED:
                _definitions.clear()
            _definitions[key] = found
    return found


def fhir_response(resource: Json) -> Response:
    """A resource as ``application/fhir+json`` (sorted keys: the same resource, same bytes)."""
    return Response(to_bytes(resource), media_type=FHIR_JSON)


@router.get(
    "/PlanDefinition",
    summary="Every PlanDefinition (pathways and the protocol)",
    responses=_ok("Bundle"),
)
async def list_plan_definitions(
    request: Request, principal: ApiPrincipal, url: str | None = None, status: str | None = None
) -> Response:
    """A searchset Bundle of the PlanDefinitions, optionally filtered by ``url`` / ``status``."""
    require(principal, "plan")
    found = [
        r
        for r in definitions(services(request).kb())
        if r["resourceType"] == "PlanDefinition"
        and (url is None or r["url"] == url)
        and (status is None or r["status"] == status)
    ]
    base = str(request.base_url).rstrip("/") + "/fhir/PlanDefinition"
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(found),
        "entry": [
            {"fullUrl": f"{base}/{r['id']}", "resource": r, "search": {"mode": "match"}}
            for r in found
        ],
    }
    if not found:
        del bundle["entry"]
    return fhir_response(bundle)


@router.get(
    "/PlanDefinition/{resource_id}",
    summary="One PlanDefinition",
    responses=_ok("PlanDefinition", NOT_FOUND),
)
async def read_plan_definition(
    request: Request, principal: ApiPrincipal, resource_id: str
) -> Response:
    """A pathway's PlanDefinition (or the protocol, ``b12-treatment``)."""
    require(principal, "plan")
    kb = services(request).kb()
    return fhir_response(find_resource(definitions(kb), "PlanDefinition", resource_id))


@router.get(
    "/ActivityDefinition/{resource_id}",
    summary="One ActivityDefinition (a regimen)",
    responses=_ok("ActivityDefinition", NOT_FOUND),
)
async def read_activity_definition(
    request: Request, principal: ApiPrincipal, resource_id: str
) -> Response:
    """A regimen's ActivityDefinition."""
    require(principal, "plan")
    kb = services(request).kb()
    return fhir_response(find_resource(definitions(kb), "ActivityDefinition", resource_id))


def _parse_as_of(raw: str | None, default: date) -> date:
    if raw is None:
        return default
    try:
        return parse_iso_date(raw)
    except ValueError as exc:
        raise InputError([FieldProblem("as_of", f"{exc}, got {quoted(raw)}")]) from None


def _param_value(param: dict[str, Any], field: str) -> str:
    for key in ("valueString", "valueCode", "valueUri", "valueId"):
        value = param.get(key)
        if isinstance(value, str) and value:
            return value
    ref = param.get("valueReference")
    if isinstance(ref, dict) and isinstance(ref.get("reference"), str) and ref["reference"]:
        return str(ref["reference"])
    raise InputError([FieldProblem(field, "expected a string, code or reference value")])


def apply_input(document: Any) -> tuple[Json | list[Json], str | None, str | None]:
    """(patient data, subject, guideline) from a Parameters resource or a bare Bundle."""
    if not isinstance(document, dict):
        raise InputError([FieldProblem("body", "expected a FHIR Parameters or Bundle resource")])
    kind = document.get("resourceType")
    if kind == "Bundle":
        return document, None, None
    if kind != "Parameters":
        raise InputError(
            [FieldProblem("resourceType", "expected Parameters (with a data Bundle) or Bundle")]
        )
    params = document.get("parameter")
    if not isinstance(params, list):
        raise InputError([FieldProblem("parameter", "expected a list of parameters")])
    data: list[Json] = []
    subject = guideline = None
    for i, param in enumerate(params):
        if not isinstance(param, dict):
            raise InputError([FieldProblem(f"parameter[{i}]", "expected an object")])
        name = param.get("name")
        if name == "data":
            resource = param.get("resource")
            if not isinstance(resource, dict):
                raise InputError(
                    [FieldProblem(f"parameter[{i}].resource", "expected a FHIR resource")]
                )
            data.append(resource)
        elif name == "subject":
            subject = _param_value(param, f"parameter[{i}]")
        elif name == "guideline":
            guideline = _param_value(param, f"parameter[{i}]")
    if not data:
        raise InputError([FieldProblem("parameter", "a data parameter (a Bundle) is required")])
    return (data[0] if len(data) == 1 else data), subject, guideline


@router.post(
    "/PlanDefinition/{resource_id}/$apply",
    summary="Apply a PlanDefinition to a patient's FHIR data: the CarePlan Bundle",
    openapi_extra=APPLY_BODY,
    responses=_ok("Bundle", NOT_FOUND),
)
async def apply(
    request: Request, principal: ApiPrincipal, resource_id: str, as_of: str | None = None
) -> Response:
    """Parameters (``data``, ``subject``, ``guideline``) or a Bundle → CarePlan Bundle.  The
    engine decides the pathway; a different one from ``resource_id`` is noted on the CarePlan."""
    engine_access(request, principal)
    svc = services(request)
    kb = svc.kb()
    if resource_id not in kb.pathways and resource_id != PROTOCOL_ID:
        raise NotFound(f"no PlanDefinition with id {resource_id!r}")
    day = _parse_as_of(as_of, svc.today())
    document = await json_body(request, MAX_APPLY_BYTES)
    data, subject, guideline = apply_input(document)
    bundle = apply_plan_definition(
        resource_id, data, kb, code_table(kb), as_of=day, subject=subject, guideline=guideline
    )
    return fhir_response(bundle)
