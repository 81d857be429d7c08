"""FHIR-out test helpers: R4B validation, code and empty-element walkers, vignette plans."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fhir.resources.R4B import get_fhir_model_class

from b12.adapters.fhir.codes import CodeTable
from b12.adapters.vignettes import load_vignettes, run_vignette
from b12.core.knowledge import KnowledgeBase
from b12.core.plan_models import Plan
from tests.fhir.r4_schema import assert_r4_valid

CASES = Path(__file__).parents[1] / "vignettes" / "cases"


def validate(resource: dict[str, Any]) -> None:
    """Validate one resource (and, for a Bundle, every entry) with HL7's official R4 JSON
    Schema and with the R4B model."""
    assert_r4_valid(resource)
    _validate_model(resource)


def _validate_model(resource: dict[str, Any]) -> None:
    model = get_fhir_model_class(resource["resourceType"])
    model.model_validate(resource)
    for entry in resource.get("entry", ()):
        _validate_model(entry["resource"])


def codings(node: Any, path: str = "") -> Iterator[tuple[str, str, str]]:
    """Every (path, system, code) pair anywhere in a JSON document."""
    if isinstance(node, dict):
        if "system" in node and "code" in node:
            yield path, str(node["system"]), str(node["code"])
        for key, value in node.items():
            yield from codings(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from codings(value, f"{path}[{i}]")


def not_emittable(node: Any, table: CodeTable) -> list[str]:
    """Every system|code in ``node`` that the table does not allow to be emitted (unverified
    codes, and codes the table does not know at all)."""
    return [
        f"{path}: {system}|{code}"
        for path, system, code in codings(node)
        if not table.emittable(system, code)
    ]


def empty_elements(node: Any, path: str = "") -> list[str]:
    """Paths of ``null``, ``""``, ``[]`` or ``{}`` values (FHIR forbids them)."""
    out: list[str] = []
    if isinstance(node, dict):
        items: Any = node.items()
    elif isinstance(node, list):
        items = enumerate(node)
    else:
        return out
    for key, value in items:
        here = f"{path}.{key}"
        if value is None or value == "" or value == [] or value == {}:
            out.append(here)
        else:
            out.extend(empty_elements(value, here))
    return out


_PLANS: dict[int, tuple[tuple[str, Plan], ...]] = {}


def vignette_plans(kb: KnowledgeBase) -> tuple[tuple[str, Plan], ...]:
    """(vignette id, plan) for every plan vignette (both guideline sets); computed once."""
    if id(kb) not in _PLANS:
        out = []
        for v in load_vignettes(CASES):
            if v.kind == "plan":
                result = run_vignette(v, kb)
                assert isinstance(result, Plan)
                out.append((v.id, result))
        _PLANS[id(kb)] = tuple(out)
    return _PLANS[id(kb)]


def resources(bundle: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    """The bundle's resources of one type, in order."""
    return [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type
    ]
