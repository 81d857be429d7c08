"""JSON Schemas of the public contract, generated from the models (``b12 schema NAME``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from b12.core.answer.models import Answer
from b12.core.course_input import CourseIn, FollowUpShape, OrderCheckShape
from b12.core.course_models import FollowUpResult, OrderCheckResult
from b12.core.picture import ClinicalPicture
from b12.core.plan_models import Plan

CONTRACT: dict[str, type[BaseModel]] = {
    "ClinicalPicture": ClinicalPicture,
    "Plan": Plan,
    "OrderCheck": OrderCheckShape,
    "OrderCheckResult": OrderCheckResult,
    "FollowUp": FollowUpShape,
    "FollowUpResult": FollowUpResult,
    "CourseDeclaration": CourseIn,
    "Answer": Answer,
}
INPUTS = frozenset({"ClinicalPicture", "OrderCheck", "FollowUp", "CourseDeclaration"})

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "fields"],
            "additionalProperties": False,
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["field", "message"],
                        "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                    },
                },
            },
        }
    },
}


def schema_names() -> list[str]:
    """Every name ``b12 schema`` knows."""
    return sorted([*CONTRACT, "Error"])


def json_schema(name: str) -> dict[str, Any]:
    """The JSON Schema for ``name``; raises ``KeyError`` for an unknown name."""
    if name == "Error":
        return ERROR_SCHEMA
    model = CONTRACT[name]
    mode: Literal["validation", "serialization"] = (
        "validation" if name in INPUTS else "serialization"
    )
    schema = model.model_json_schema(mode=mode)
    if "picture" in schema.get("properties", {}):
        picture = ClinicalPicture.model_json_schema(mode="validation")
        defs = {**schema.get("$defs", {}), **picture.pop("$defs", {}), "ClinicalPicture": picture}
        schema["$defs"] = defs
        schema["properties"]["picture"] = {"$ref": "#/$defs/ClinicalPicture"}
    return schema
