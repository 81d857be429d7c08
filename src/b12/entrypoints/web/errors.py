"""One canonical error body for every JSON endpoint: ``{"error": {code, message, fields}}``.

Bad input is HTTP 422 naming each field; 401 without credentials; 403 for a role that may not
do it; 404 unknown record; 409 a clinical stop without an override; 429 too many logins; 503
database unavailable; 500 never leaks a traceback or patient data.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi.responses import JSONResponse

from b12.core.errors import FieldProblem, InputError


class ErrorJSONResponse(JSONResponse):
    """Error bodies are written with ASCII escapes: a field name echoed from the input may hold
    a lone surrogate, which cannot be encoded as UTF-8 (and must never turn a 422 into a 500)."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def error_body(
    code: str, message: str, fields: list[FieldProblem] | tuple[FieldProblem, ...] = ()
) -> dict[str, Any]:
    """The canonical error document."""
    return {
        "error": {
            "code": code,
            "message": message,
            "fields": [{"field": f.field, "message": f.message} for f in fields],
        }
    }


def error_response(
    status: int,
    code: str,
    message: str,
    fields: list[FieldProblem] | tuple[FieldProblem, ...] = (),
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """A JSON error response in the canonical shape."""
    return ErrorJSONResponse(error_body(code, message, fields), status_code=status, headers=headers)


def input_error_response(err: InputError) -> JSONResponse:
    """HTTP 422 for bad input, one entry per field."""
    return ErrorJSONResponse(err.to_json(), status_code=422)


class HttpProblem(Exception):
    """Raised by handlers and dependencies; rendered as JSON (API) or a page (browser)."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


class LoginRequired(Exception):
    """A browser page needs a signed-in user: redirect to the login page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path
