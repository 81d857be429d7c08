"""The JSON API: the contract's documents in, the contract's documents out.

Bodies are read and validated by the core (the same code as the CLI), so a bad field is named
exactly as the contract names it.  Authentication: ``Authorization: Bearer <token>`` or the
browser session cookie plus ``X-CSRF-Token`` for writes.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from b12.adapters.documents import MAX_DOCUMENT_BYTES, parse_json
from b12.core.plan import PlanOptions
from b12.core.requests import (
    follow_up_request,
    order_check_request,
    parse_horizon,
    plan_request,
)
from b12.entrypoints.web.auth import ApiPrincipal, Principal, header_csrf, require, services
from b12.entrypoints.web.errors import HttpProblem
from b12.entrypoints.web.openapi import body, responses

router = APIRouter(prefix="/api", tags=["engine"])

MAX_BODY_BYTES = MAX_DOCUMENT_BYTES


async def read_body(request: Request, max_bytes: int = MAX_BODY_BYTES) -> bytes:
    """The request body, refused with 413 as soon as it is over ``max_bytes`` (a declared
    ``Content-Length`` over the limit is refused before anything is read)."""
    too_large = HttpProblem(413, "too_large", f"the body is over {max_bytes} bytes")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


async def json_body(request: Request, max_bytes: int = MAX_BODY_BYTES) -> Any:
    """The request's JSON document (the reader every entry point uses: size, depth and number
    limits); anything else is a 422 naming ``body``, over ``max_bytes`` a 413."""
    raw = await read_body(request, max_bytes)
    return parse_json(raw, field="body", limit=max_bytes)


def json_response(document: str) -> Response:
    """A pre-serialised JSON document."""
    return Response(document, media_type="application/json")


def engine_access(request: Request, principal: Principal) -> None:
    """Engine endpoints compute and store nothing, but a browser session still sends its token."""
    require(principal, "plan")
    if principal.via == "session":
        header_csrf(request, principal)


@router.post(
    "/plan",
    summary="Treatment plan for a clinical picture",
    openapi_extra=body("ClinicalPicture"),
    responses=responses("Plan"),
)
async def api_plan(
    request: Request,
    principal: ApiPrincipal,
    horizon: str | None = None,
    allow_draft: bool = False,
) -> Response:
    """ClinicalPicture → Plan.  ``allow_draft`` (reviewers only) also uses unapproved content."""
    engine_access(request, principal)
    if allow_draft:
        require(principal, "review")
    svc = services(request)
    document = await json_body(request)
    options = PlanOptions(
        horizon_months=parse_horizon(horizon) if horizon is not None else None,
        allow_draft=allow_draft,
    )
    _, result = plan_request(document, svc.kb(), default_as_of=svc.today(), options=options)
    return json_response(result.model_dump_json())


@router.post(
    "/check",
    summary="Check a proposed order",
    openapi_extra=body("OrderCheck"),
    responses=responses("OrderCheckResult"),
)
async def api_check(request: Request, principal: ApiPrincipal) -> Response:
    """OrderCheck → OrderCheckResult (verdict ok / warn / stop with cited alerts)."""
    engine_access(request, principal)
    svc = services(request)
    document = await json_body(request)
    result = order_check_request(document, svc.kb(), default_as_of=svc.today())
    return json_response(result.model_dump_json())


@router.post(
    "/next",
    summary="When the next dose is due, and advice",
    openapi_extra=body("FollowUp"),
    responses=responses("FollowUpResult"),
)
async def api_next(request: Request, principal: ApiPrincipal) -> Response:
    """FollowUp → FollowUpResult (phase, next due window, overdue days, advice)."""
    engine_access(request, principal)
    svc = services(request)
    document = await json_body(request)
    result = follow_up_request(document, svc.kb(), default_as_of=svc.today())
    return json_response(result.model_dump_json())
