"""``GET /api/ask``: the answer engine over HTTP (the Answer contract as JSON).

Read-only, so a GET with no CSRF token is fine for a browser session too; the role needs the
``plan`` permission.  Bad parameters are a 422 with the canonical error body, naming ``q``,
``audience`` or ``guideline``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from b12.core.answer import answer
from b12.core.answer.models import Answer
from b12.core.errors import FieldProblem, InputError
from b12.entrypoints.web.api import json_response
from b12.entrypoints.web.auth import ApiPrincipal, require, services
from b12.entrypoints.web.openapi import responses

router = APIRouter(prefix="/api", tags=["answers"])

#: The core names the question ``question``; the query parameter is ``q``.
PARAMETER_NAMES = {"question": "q"}


def ask(request: Request, q: str, audience: str, guideline: str) -> Answer:
    """Answer with the effective knowledge base; input problems name the query parameters."""
    try:
        return answer(q, services(request).kb(), audience=audience, guideline=guideline)
    except InputError as err:
        raise InputError(
            [FieldProblem(PARAMETER_NAMES.get(p.field, p.field), p.message) for p in err.problems]
        ) from None


@router.get(
    "/ask",
    summary="Answer a question from the reviewed knowledge base, cited",
    responses=responses("Answer"),
)
def api_ask(
    request: Request,
    principal: ApiPrincipal,
    q: str = "",
    audience: str = "clinician",
    guideline: str = "uk",
) -> Response:
    """Question → Answer (``status`` is ``no_answer`` when the knowledge base does not cover it)."""
    require(principal, "plan")
    return json_response(ask(request, q, audience, guideline).model_dump_json())
