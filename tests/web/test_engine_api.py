"""The engine endpoints: contract JSON in and out, authentication, CSRF, canonical errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from b12.adapters.knowledge_files import load_knowledge_base
from b12.core.requests import follow_up_request, order_check_request, plan_request
from tests.web.conftest import TODAY, SignedIn

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
Bearer = Callable[[str], dict[str, str]]


def example(name: str) -> Any:
    return json.loads((EXAMPLES / name).read_text())


def assert_canonical(body: Any) -> None:
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    for field in body["error"]["fields"]:
        assert set(field) == {"field", "message"}


def test_plan_matches_the_library(anonymous: TestClient, bearer: Bearer) -> None:
    doc = example("pernicious-anaemia-uk.json")
    response = anonymous.post("/api/plan", json=doc, headers=bearer("clinician"))
    assert response.status_code == 200
    _, expected = plan_request(doc, load_knowledge_base())
    assert response.content == expected.model_dump_json().encode()


def test_check_and_next_match_the_library(anonymous: TestClient, bearer: Bearer) -> None:
    kb = load_knowledge_base()
    for path, name, compute in (
        ("/api/check", "order-check-uk.json", order_check_request),
        ("/api/next", "follow-up-uk.json", follow_up_request),
    ):
        doc = example(name)
        response = anonymous.post(path, json=doc, headers=bearer("nurse"))
        assert response.status_code == 200, response.text
        assert response.content == compute(doc, kb).model_dump_json().encode()


def test_as_of_defaults_to_the_server_date(anonymous: TestClient, bearer: Bearer) -> None:
    doc = {k: v for k, v in example("pernicious-anaemia-uk.json").items() if k != "as_of"}
    body = anonymous.post("/api/plan", json=doc, headers=bearer("clinician")).json()
    assert body["as_of"] == TODAY.isoformat()


def test_horizon_and_same_input_same_bytes(anonymous: TestClient, bearer: Bearer) -> None:
    doc = example("pernicious-anaemia-uk.json")
    headers = bearer("clinician")
    one = anonymous.post("/api/plan?horizon=3m", json=doc, headers=headers)
    two = anonymous.post("/api/plan?horizon=3m", json=doc, headers=headers)
    assert one.content == two.content
    assert (
        one.json()["horizon_end"]
        < anonymous.post("/api/plan", json=doc, headers=headers).json()["horizon_end"]
    )
    bad = anonymous.post("/api/plan?horizon=99y", json=doc, headers=headers)
    assert bad.status_code == 422
    assert bad.json()["error"]["fields"][0]["field"] == "horizon"


@pytest.mark.parametrize("path", ["/api/plan", "/api/check", "/api/next"])
def test_no_credentials_is_401_in_the_canonical_shape(anonymous: TestClient, path: str) -> None:
    response = anonymous.post(path, json={"age": 50})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert_canonical(response.json())


@pytest.mark.parametrize(
    "header",
    [b"Bearer b12_notatoken", b"Bearer ", b"Basic dXNlcjpwYXNz", "Bearer \xe9".encode("latin-1")],
)
def test_bad_credentials_are_401(anonymous: TestClient, header: bytes) -> None:
    response = anonymous.post("/api/plan", json={"age": 50}, headers={b"Authorization": header})
    assert response.status_code == 401
    assert_canonical(response.json())


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"age": -1}, "age"),
        ({"age": 60, "labs": {"serum_b12_ng_l": "low"}}, "labs.serum_b12_ng_l"),
        ({"age": 60, "conditions": ["unicorn"]}, "conditions"),
        ({"age": 60, "guideline": "fr"}, "guideline"),
        ({"age": 60, "favourite_colour": "blue"}, "favourite_colour"),
        ([1, 2], "input"),
    ],
)
def test_bad_input_is_422_naming_the_field(
    anonymous: TestClient, bearer: Bearer, body: Any, field: str
) -> None:
    response = anonymous.post("/api/plan", json=body, headers=bearer("clinician"))
    assert response.status_code == 422
    payload = response.json()
    assert_canonical(payload)
    assert payload["error"]["code"] == "invalid_input"
    assert any(f["field"].startswith(field) for f in payload["error"]["fields"]), payload


@pytest.mark.parametrize("raw", [b"{", b"\xff\xfe", b'{"age": 50, "age": 51}', b"[" * 100_000, b""])
def test_unreadable_bodies_are_422(anonymous: TestClient, bearer: Bearer, raw: bytes) -> None:
    response = anonymous.post(
        "/api/plan",
        content=raw,
        headers={**bearer("clinician"), "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert_canonical(response.json())


def test_an_oversized_body_is_413(anonymous: TestClient, bearer: Bearer) -> None:
    raw = b'{"age": 50, "pad": "' + b"x" * 1_100_000 + b'"}'
    response = anonymous.post(
        "/api/plan",
        content=raw,
        headers={**bearer("clinician"), "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert_canonical(response.json())


def test_a_session_needs_the_csrf_header(client: Callable[[str], SignedIn]) -> None:
    http = client("clinician")
    doc = example("pernicious-anaemia-uk.json")
    assert http.post("/api/plan", json=doc).status_code == 403
    assert http.post("/api/plan", json=doc, headers={"X-CSRF-Token": "wrong"}).status_code == 403
    assert http.post_json("/api/plan", doc).status_code == 200


def test_drafts_only_for_reviewers(anonymous: TestClient, bearer: Bearer) -> None:
    doc = {"age": 45, "cause": "unknown", "labs": {"serum_b12_ng_l": 120}, "as_of": "2026-06-01"}
    denied = anonymous.post("/api/plan?allow_draft=true", json=doc, headers=bearer("clinician"))
    assert denied.status_code == 403
    assert_canonical(denied.json())
    allowed = anonymous.post("/api/plan?allow_draft=true", json=doc, headers=bearer("reviewer"))
    assert allowed.status_code == 200
    assert allowed.json()["review_status"] == "pending_review"
    assert "COELIAC_TESTING" in {a["code"] for a in allowed.json()["alerts"]}
    plain = anonymous.post("/api/plan", json=doc, headers=bearer("reviewer")).json()
    assert plain["review_status"] == "approved"


def test_openapi_documents_the_contract(anonymous: TestClient) -> None:
    doc = anonymous.get("/api/openapi.json").json()
    schemas = doc["components"]["schemas"]
    for name in ("ClinicalPicture", "Plan", "OrderCheck", "FollowUpResult", "Error"):
        assert name in schemas
    body = doc["paths"]["/api/plan"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/ClinicalPicture"}
    assert "#/$defs/" not in json.dumps(doc)
    assert "422" in doc["paths"]["/api/plan"]["post"]["responses"]


def test_unknown_routes_and_methods_are_canonical(anonymous: TestClient) -> None:
    missing = anonymous.get("/api/nothing-here")
    assert missing.status_code == 404
    assert_canonical(missing.json())
    wrong = anonymous.get("/api/plan")
    assert wrong.status_code == 405
    assert_canonical(wrong.json())
