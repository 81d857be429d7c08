"""The contract's JSON Schemas placed into the OpenAPI document.

``b12 schema NAME`` schemas keep their sub-schemas in ``$defs``; OpenAPI resolves references
from the document root, so the definitions are hoisted to ``components.schemas`` and every
``#/$defs/X`` becomes ``#/components/schemas/X``.
"""

from __future__ import annotations

import copy
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from b12.core.schemas import json_schema

COMPONENTS = "#/components/schemas/"


def _rewrite(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: (COMPONENTS + v.removeprefix("#/$defs/"))
            if k == "$ref" and isinstance(v, str) and v.startswith("#/$defs/")
            else _rewrite(v)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_rewrite(v) for v in node]
    return node


def contract_components(name: str) -> dict[str, Any]:
    """``name`` and its sub-schemas, as OpenAPI components."""
    schema = copy.deepcopy(json_schema(name))
    defs = schema.pop("$defs", {})
    out = {key: _rewrite(value) for key, value in defs.items()}
    out[name] = _rewrite(schema)
    return out


def ref(name: str) -> dict[str, str]:
    """A reference to a contract schema."""
    return {"$ref": COMPONENTS + name}


def body(name: str) -> dict[str, Any]:
    """``openapi_extra`` declaring a required JSON body of contract type ``name``."""
    return {
        "requestBody": {"required": True, "content": {"application/json": {"schema": ref(name)}}}
    }


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ref("Error")}}}


ERRORS: dict[int | str, dict[str, Any]] = {
    401: _error("Not signed in, or an unknown token"),
    403: _error("The role may not do this, or a missing CSRF token"),
    422: _error("Bad input: one entry per field"),
}


def responses(
    name: str | None, extra: dict[int | str, dict[str, Any]] | None = None
) -> dict[int | str, dict[str, Any]]:
    """Responses for an endpoint returning contract type ``name``."""
    out: dict[int | str, dict[str, Any]] = dict(ERRORS)
    if name is not None:
        out[200] = {
            "description": "OK",
            "content": {"application/json": {"schema": ref(name)}},
        }
    out.update(extra or {})
    return out


CONTRACT_NAMES = (
    "ClinicalPicture",
    "Plan",
    "OrderCheck",
    "OrderCheckResult",
    "FollowUp",
    "FollowUpResult",
    "Answer",
    "Error",
)


def install(app: FastAPI) -> None:
    """Generate the OpenAPI document once, with the contract schemas as components."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = get_openapi(
            title=app.title, version=app.version, summary=app.summary, routes=app.routes
        )
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        for name in CONTRACT_NAMES:
            schemas.update(contract_components(name))
        document["components"]["securitySchemes"] = {
            "bearer": {"type": "http", "scheme": "bearer"},
            "session": {"type": "apiKey", "in": "cookie", "name": "b12_session"},
        }
        document["security"] = [{"bearer": []}, {"session": []}]
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]
