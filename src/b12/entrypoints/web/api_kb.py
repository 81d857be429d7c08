"""Knowledge-base API: list recommendations with their review state, and move them."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from b12.adapters.sql.content_review import ReviewItem
from b12.core.errors import FieldProblem, InputError, Refused
from b12.core.governance import STAGES
from b12.entrypoints.web.api import json_body
from b12.entrypoints.web.auth import ApiPrincipal, header_csrf, require, services
from b12.entrypoints.web.errors import HttpProblem
from b12.entrypoints.web.openapi import responses

router = APIRouter(prefix="/api/kb", tags=["knowledge base"])

TRANSITION_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["to_status"],
                    "additionalProperties": False,
                    "properties": {
                        "to_status": {"type": "string", "enum": list(STAGES)},
                        "comment": {"type": "string", "maxLength": 4000},
                    },
                }
            }
        },
    }
}


def _item_json(item: ReviewItem) -> dict[str, Any]:
    doc = asdict(item)
    doc["history"] = [{**h, "at": h["at"].isoformat(timespec="seconds")} for h in doc["history"]]
    return doc


@router.get(
    "/recommendations", summary="Recommendations and their review state", responses=responses(None)
)
def list_recommendations(
    request: Request, principal: ApiPrincipal, status: str | None = None
) -> Response:
    """Every recommendation with its effective status and review level (optionally one stage)."""
    require(principal, "kb")
    if status is not None and status not in STAGES:
        raise InputError([FieldProblem("status", f"expected one of {', '.join(STAGES)}")])
    svc = services(request)
    kb = svc.kb()
    items = svc.reviews.items(status=status)
    return JSONResponse(
        {"content_version": kb.content_version, "items": [_item_json(i) for i in items]}
    )


@router.get("/recommendations/{item_id}", summary="One recommendation", responses=responses(None))
def get_recommendation(request: Request, item_id: str, principal: ApiPrincipal) -> Response:
    """One recommendation's review state and history."""
    require(principal, "kb")
    return JSONResponse(_item_json(services(request).reviews.item(item_id)))


@router.post(
    "/recommendations/{item_id}/transition",
    summary="Move a recommendation to a new review status",
    openapi_extra=TRANSITION_BODY,
    responses=responses(None),
)
async def transition(request: Request, item_id: str, principal: ApiPrincipal) -> Response:
    """submit / start review / approve / send back / sign off / withdraw sign-off / retire.

    ``to_status`` is a review stage (``signed-off``: clinical sign-off of approved content, by
    a safety officer).  Role rules and the two-person rule are in docs/knowledge-authoring.md.
    """
    require(principal, "kb")
    if principal.via == "session":
        header_csrf(request, principal)
    doc = await json_body(request)
    if not isinstance(doc, dict):
        raise InputError([FieldProblem("body", "expected a JSON object")])
    unknown = sorted(set(doc) - {"to_status", "comment"})
    if unknown:
        raise InputError([FieldProblem(k, "unknown field") for k in unknown])
    to_status, comment = doc.get("to_status"), doc.get("comment")
    if not isinstance(to_status, str):
        raise InputError([FieldProblem("to_status", "required: a status name")])
    if comment is not None and not isinstance(comment, str):
        raise InputError([FieldProblem("comment", "expected text")])
    svc = services(request)
    try:
        item = svc.reviews.transition(
            item_id,
            to_status,
            actor=principal.user.username,
            role=principal.user.role,
            comment=comment,
            now=svc.now(),
        )
    except Refused as err:  # the role may not make this move
        raise HttpProblem(403, "forbidden", str(err)) from None
    if item.stage != to_status:  # pragma: no cover - transition raises instead
        raise HttpProblem(409, "conflict", "the item did not move")
    return JSONResponse(_item_json(item))
