"""Validation against HL7's official FHIR R4 JSON Schema (``tests/fixtures/fhir-r4-schema``).

Schema-based consumers enforce what the schema says, including the enumerations that R4 binds
only "extensible" (e.g. ``Expression.language``), so everything b12 emits must pass it.
Each resource is checked against its own definition (``#/definitions/<resourceType>``), which
gives precise messages; a Bundle's entries are also checked one by one.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft6Validator
from jsonschema.exceptions import best_match

SCHEMA = Path(__file__).resolve().parents[1] / "fixtures" / "fhir-r4-schema" / "fhir.schema.json"


@cache
def _definitions() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(SCHEMA.read_text("utf-8"))
    return dict(document["definitions"])


@cache
def _validator(resource_type: str) -> Draft6Validator | None:
    definitions = _definitions()
    if resource_type not in definitions or resource_type == "ResourceList":
        return None
    schema = {"$ref": f"#/definitions/{resource_type}", "definitions": definitions}
    return Draft6Validator(schema)


def schema_problems(resource: Any, where: str = "") -> list[str]:
    """Every way ``resource`` breaks the R4 schema (empty: valid), entries of Bundles too."""
    if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
        return [f"{where or '$'}: not a FHIR resource"]
    kind = resource["resourceType"]
    here = where or kind
    validator = _validator(kind)
    if validator is None:
        return [f"{here}: {kind!r} is not an R4 resource type"]
    problems = []
    errors = list(validator.iter_errors(resource))
    if errors:
        best = best_match(errors)
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in best.absolute_path)
        problems.append(f"{here}{path}: {best.message[:300]} ({len(errors)} error(s))")
    for i, entry in enumerate(resource.get("entry", []) if kind == "Bundle" else []):
        if isinstance(entry, dict) and "resource" in entry:
            problems += schema_problems(entry["resource"], f"{here}.entry[{i}].resource")
    for i, contained in enumerate(resource.get("contained", [])):
        problems += schema_problems(contained, f"{here}.contained[{i}]")
    return problems


def assert_r4_valid(resource: Any) -> None:
    """Fail with every problem when ``resource`` is not valid against the R4 schema."""
    problems = schema_problems(resource)
    assert problems == [], "\n".join(problems)
