"""Every FHIR resource b12 emits is valid against HL7's official R4 JSON Schema, and ``$apply``
takes a realistic patient bundle (issue 12, item 14).

``tests/fhir/outbound_support.validate`` runs the schema for every resource the other FHIR
tests check (vignette plans, exports, the API); this module adds the negative control, the
definitions and ``$apply`` outputs, the CDS Hooks suggestion resources, and the size limit.
"""

# The web fixtures are imported by name (F401) and then requested as arguments (F811).
# ruff: noqa: F401, F811

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from b12.adapters.cds.hooks import HookCall, hook_cards
from b12.adapters.cds.prefetch import gather_available, prefetch_templates
from b12.adapters.fhir.codes import CodeTable, load_code_table
from b12.adapters.fhir.definitions import (
    PROTOCOL_ID,
    apply_plan_definition,
    knowledge_base_resources,
)
from b12.core.errors import InputError
from b12.core.knowledge import KnowledgeBase
from b12.core.requests import plan_request
from b12.entrypoints.web.fhir_api import MAX_APPLY_BYTES
from tests.cds.hooks_support import full_prefetch, med_request, order_sign, pernicious_anaemia
from tests.fhir.r4_schema import schema_problems
from tests.web.conftest import (
    anonymous,
    app,
    backend,
    bearer,
    clock,
    knowledge_raw,
    services,
    web_db_url,
)

AS_OF = date(2026, 3, 2)
FIXTURES = Path(__file__).parent / "fixtures"
SYNTHEA = Path(__file__).parents[1] / "fixtures" / "fhir-samples" / "synthea-bulk-10-patients"
#: The Synthea patient with the longest record (~1.4 MB of Conditions and MedicationRequests).
BIG_PATIENT = "79a66c97-6131-3213-f3c9-4606946ab056"
FHIR_JSON = "application/fhir+json"
Bearer = Callable[[str], dict[str, str]]


@pytest.fixture(scope="module")
def table() -> CodeTable:
    return load_code_table()


def test_the_schema_rejects_what_consumers_reject(kb: KnowledgeBase, table: CodeTable) -> None:
    """Negative control: the vendored schema enforces Expression.language and unknown keys."""
    (definition, *_) = [
        r for r in knowledge_base_resources(kb, table) if r["resourceType"] == "PlanDefinition"
    ]
    old = copy.deepcopy(definition)
    old["action"][0]["condition"] = [
        {
            "kind": "applicability",
            "expression": {"language": "text/x-b12-condition", "expression": "{}"},
        }
    ]
    assert any("text/x-b12-condition" in p for p in schema_problems(old))
    stray = {**definition, "colour": "blue"}
    assert schema_problems(stray)
    assert schema_problems({"resourceType": "Nonsense"})


def test_every_definition_is_valid_r4(kb: KnowledgeBase, table: CodeTable) -> None:
    found = knowledge_base_resources(kb, table)
    assert {r["resourceType"] for r in found} == {"PlanDefinition", "ActivityDefinition"}
    assert [p for r in found for p in schema_problems(r)] == []


@pytest.mark.parametrize("fixture", sorted(p.name for p in FIXTURES.glob("*.json")))
@pytest.mark.parametrize("plan_definition", [PROTOCOL_ID, "uk-im-no-neuro"])
def test_every_apply_result_is_valid_r4(
    kb: KnowledgeBase, table: CodeTable, fixture: str, plan_definition: str
) -> None:
    data = json.loads((FIXTURES / fixture).read_text("utf-8"))
    bundle = apply_plan_definition(plan_definition, data, kb, table, as_of=AS_OF)
    assert schema_problems(bundle) == []


def _planner(picture: Any, kb: KnowledgeBase, today: date) -> Any:
    try:
        return plan_request(dict(picture), kb, default_as_of=today)[1]
    except InputError:
        return None


def test_cds_suggestion_resources_are_valid_r4(kb: KnowledgeBase, table: CodeTable) -> None:
    order = med_request("hydroxocobalamin", dose=1, period=1, period_unit="d")
    body = order_sign(order, prefetch=full_prefetch(conditions=(pernicious_anaemia(),)))
    data = asyncio.run(gather_available(body, prefetch_templates(), None))
    cards = hook_cards(HookCall.from_request(body), data, kb, table, AS_OF, _planner)
    assert isinstance(cards, list)
    suggested = [
        action["resource"]
        for card in cards
        for s in card.get("suggestions") or []
        for action in s["actions"]
    ]
    assert suggested, "the order differs from the regimen: a suggestion is expected"
    assert [p for r in suggested for p in schema_problems(r)] == []


def synthea_bundle(patient_id: str = BIG_PATIENT) -> dict[str, Any]:
    """One Synthea patient's whole record as a collection Bundle (as an EHR would send it)."""
    entries = []
    for kind in ("Patient", "Condition", "MedicationRequest"):
        for line in (SYNTHEA / f"{kind}.000.ndjson").read_text("utf-8").splitlines():
            res = json.loads(line)
            subject = res.get("subject", {}).get("reference", "")
            if res.get("id") == patient_id or subject.endswith(patient_id):
                entries.append({"fullUrl": f"urn:uuid:{res['id']}", "resource": res})
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def test_apply_takes_a_realistic_patient_bundle(anonymous: TestClient, bearer: Bearer) -> None:
    body = json.dumps(synthea_bundle(), indent=1).encode()
    assert len(body) > 1_400_000  # over the API's 1 MB: refused with 413 before
    response = anonymous.post(
        f"/fhir/PlanDefinition/{PROTOCOL_ID}/$apply",
        content=body,
        headers={**bearer("clinician"), "Content-Type": FHIR_JSON},
    )
    assert response.status_code == 200, response.text[:500]
    assert schema_problems(response.json()) == []


def test_apply_is_still_bounded(anonymous: TestClient, bearer: Bearer) -> None:
    headers = {**bearer("clinician"), "Content-Type": FHIR_JSON}
    too_big = b'{"resourceType": "Bundle", "pad": "' + b"x" * MAX_APPLY_BYTES + b'"}'
    response = anonymous.post(
        f"/fhir/PlanDefinition/{PROTOCOL_ID}/$apply", content=too_big, headers=headers
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"


def test_other_api_routes_keep_the_one_megabyte_limit(
    anonymous: TestClient, bearer: Bearer
) -> None:
    body = json.dumps({"pad": "x" * 1_100_000}).encode()
    response = anonymous.post(
        "/api/plan",
        content=body,
        headers={**bearer("clinician"), "Content-Type": "application/json"},
    )
    assert response.status_code == 413


def test_a_chunked_body_without_content_length_is_cut_off_at_the_limit(
    anonymous: TestClient, bearer: Bearer
) -> None:
    def chunks() -> Any:  # sent with Transfer-Encoding: chunked, no Content-Length
        yield b'{"resourceType": "Bundle", "pad": "'
        for _ in range(MAX_APPLY_BYTES // 1_000_000 + 5):
            yield b"x" * 1_000_000

    response = anonymous.post(
        f"/fhir/PlanDefinition/{PROTOCOL_ID}/$apply",
        content=chunks(),
        headers={**bearer("clinician"), "Content-Type": FHIR_JSON},
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
