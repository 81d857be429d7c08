"""The Ask page (``GET /ask``) and ``GET /api/ask``: roles, the Answer JSON, 422s, OpenAPI."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from b12.core.answer import answer
from b12.core.answer.models import Answer
from b12.core.knowledge import KnowledgeBase
from tests.web import conftest as web
from tests.web.conftest import SignedIn

# The web fixtures (the app on a fresh database, signed-in clients, API tokens), used by name.
anonymous = web.anonymous
app = web.app
backend = web.backend
bearer = web.bearer
client = web.client
clock = web.clock
knowledge_raw = web.knowledge_raw
services = web.services
web_db_url = web.web_db_url

QUESTION = "hydroxo regimen for confirmed b12 deficiency with peripheral neuropathy"


def test_api_ask_returns_the_answer_contract(
    anonymous: TestClient, bearer: Callable[[str], dict[str, str]], kb: KnowledgeBase
) -> None:
    response = anonymous.get("/api/ask", params={"q": QUESTION}, headers=bearer("clinician"))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    doc = response.json()
    ans = Answer.model_validate(doc)
    assert ans.status == "answered"
    assert ans.headline is not None
    assert ans.headline.pathway == "uk-im-neuro"
    assert response.text == answer(QUESTION, kb).model_dump_json()
    again = anonymous.get("/api/ask", params={"q": QUESTION}, headers=bearer("clinician"))
    assert again.text == response.text


def test_api_ask_audience_guideline_and_no_answer(
    anonymous: TestClient, bearer: Callable[[str], dict[str, str]], kb: KnowledgeBase
) -> None:
    headers = bearer("nurse")
    patient = anonymous.get(
        "/api/ask",
        params={"q": QUESTION, "audience": "patient", "guideline": "us"},
        headers=headers,
    ).json()
    assert (patient["audience"], patient["guideline"]) == ("patient", "us")
    assert patient["framing"] == kb.answering.patient_framing
    off = anonymous.get("/api/ask", params={"q": "vitamin D loading dose"}, headers=headers)
    assert off.status_code == 200
    assert off.json()["status"] == "no_answer"
    assert off.json()["message"] == kb.answering.no_answer_text
    assert off.json()["nearest_topics"]


def test_api_ask_bad_parameters_are_canonical_422s(
    anonymous: TestClient, bearer: Callable[[str], dict[str, str]]
) -> None:
    headers = bearer("clinician")
    cases = [
        ({}, "q"),
        ({"q": ""}, "q"),
        ({"q": "x" * 1001}, "q"),
        ({"q": "b12", "audience": "nurse"}, "audience"),
        ({"q": "b12", "guideline": "fr"}, "guideline"),
    ]
    for params, field in cases:
        response = anonymous.get("/api/ask", params=params, headers=headers)
        assert response.status_code == 422, params
        body = response.json()
        assert body["error"]["code"] == "invalid_input"
        assert body["error"]["fields"][0]["field"] == field


def test_api_ask_needs_a_principal_with_the_plan_permission(anonymous: TestClient) -> None:
    response = anonymous.get("/api/ask", params={"q": QUESTION})
    assert response.status_code == 401
    assert response.json()["error"]["code"]


def test_openapi_documents_the_answer_response(
    anonymous: TestClient, bearer: Callable[[str], dict[str, str]]
) -> None:
    spec = anonymous.get("/api/openapi.json").json()
    op = spec["paths"]["/api/ask"]["get"]
    schema = op["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/Answer"}
    assert "Answer" in spec["components"]["schemas"]
    assert {p["name"] for p in op["parameters"]} >= {"q", "audience", "guideline"}


def test_ask_page_form_and_rendered_answer(
    client: Callable[[str], SignedIn], kb: KnowledgeBase
) -> None:
    http = client("clinician")
    empty = http.get("/ask")
    assert empty.status_code == 200
    assert 'name="q"' in empty.text
    assert 'name="audience"' in empty.text
    assert 'href="/ask"' in empty.text  # in the navigation
    page = http.get("/ask", params={"q": QUESTION})
    assert page.status_code == 200
    text = html.unescape(page.text)
    ans = answer(QUESTION, kb)
    assert ans.headline is not None
    assert ans.headline.text in text
    for section in ans.sections:
        assert section.title in text
        for item in section.items:
            assert item.text in text
    for ref in ans.references:
        assert f'id="ref-{ref.n}"' in page.text
    for question in ans.related_questions:
        assert question in text
    assert ans.disclaimer in text
    assert "style=" not in page.text
    # No inline script (the Content-Security-Policy allows only the app's own files).
    assert all(
        tag.startswith('<script src="/static/') for tag in re.findall(r"<script[^>]*>", page.text)
    )


def test_ask_page_patient_view_and_no_answer(
    client: Callable[[str], SignedIn], kb: KnowledgeBase
) -> None:
    http = client("nurse")
    page = http.get("/ask", params={"q": QUESTION, "audience": "patient"})
    text = html.unescape(page.text)
    assert kb.answering.patient_framing in text
    assert text.index(kb.answering.patient_framing) < text.index('id="headline"')
    off = html.unescape(http.get("/ask", params={"q": "vitamin D loading dose"}).text)
    assert kb.answering.no_answer_text in off
    assert kb.answering.nearest_topics_title in off


def test_ask_page_bad_input_is_a_422_form(client: Callable[[str], SignedIn]) -> None:
    page = client("clinician").get("/ask", params={"q": "x" * 1001})
    assert page.status_code == 422
    assert 'role="alert"' in page.text
    assert 'aria-invalid="true"' in page.text


def test_ask_page_needs_sign_in(anonymous: TestClient) -> None:
    response = anonymous.get("/ask", params={"q": QUESTION})
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


def test_answer_json_is_served_unchanged(
    anonymous: TestClient, bearer: Callable[[str], dict[str, str]]
) -> None:
    response = anonymous.get(
        "/api/ask", params={"q": "folic acid before b12?"}, headers=bearer("clinician")
    )
    assert json.loads(response.text)["references"][0]["n"] == 1
