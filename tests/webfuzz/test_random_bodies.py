"""Hypothesis throws arbitrary bodies at ``/api/plan``, ``/api/check`` and ``/api/next``.

Three kinds of body: random JSON documents, the contract's own examples with a few random
mutations (a value replaced, a key dropped or added, at any depth: these get past the first
check and reach the deep validation), and random bytes.  The only answers allowed are 200 with
the contract's result, 422 in the canonical error shape (413 for an oversized body); never 500.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from b12.core.course_models import FollowUpResult, OrderCheckResult
from b12.core.plan_models import Plan
from b12.entrypoints.web.api import MAX_BODY_BYTES
from tests.webfuzz.conftest import FuzzApp, problems_with_error_body

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ENDPOINTS: dict[str, tuple[str, type[BaseModel]]] = {
    "/api/plan": ("pernicious-anaemia-uk.json", Plan),
    "/api/check": ("order-check-uk.json", OrderCheckResult),
    "/api/next": ("follow-up-uk.json", FollowUpResult),
}
FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Words the validators know, so random documents sometimes get past the first check.
WORDS = (
    "uk",
    "us",
    "im",
    "oral",
    "mg",
    "mcg",
    "µg",
    "1mg",
    "1000mcg",
    "hydroxocobalamin",
    "cyanocobalamin",
    "confirmed",
    "suspected",
    "pernicious_anaemia",
    "female",
    "dorsogluteal",
    "symptoms_returned_before_due",
    "2026-03-02",
    "2026-02-29",
    "1899-12-31",
    "12m",
    "",
)
KEYS = (
    "age",
    "sex",
    "as_of",
    "start",
    "picture",
    "order",
    "history",
    "events",
    "labs",
    "dose",
    "value",
    "unit",
    "drug",
    "route",
    "date",
    "kind",
    "guideline",
    "conditions",
    "medications",
    "neuro_symptoms",
    "preferences",
)

# Any code point, lone surrogates included (``json.dumps`` writes them as ``\udXXX`` escapes,
# which the server's parser accepts and hands on).
any_text = st.text(st.characters(codec=None, categories=None), max_size=12)
scalars = (
    st.none()
    | st.booleans()
    # Integers stay far below Python's 4300-digit parsing limit: test_huge_integer_literal
    # covers that separately.
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from(WORDS)
    | any_text
)
keys = st.sampled_from(KEYS) | any_text
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=5),
    max_leaves=25,
)

Path_ = tuple[str | int, ...]


def example(endpoint: str) -> dict[str, Any]:
    """The contract example for ``endpoint``."""
    doc: dict[str, Any] = json.loads((EXAMPLES / ENDPOINTS[endpoint][0]).read_text("utf-8"))
    return doc


def _paths(node: Any, prefix: Path_ = ()) -> Iterator[Path_]:
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


def _parent(doc: Any, path: Path_) -> Any:
    for step in path[:-1]:
        doc = doc[step]
    return doc


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any]) -> Any:
    """``base`` after one to three random edits anywhere in it."""
    doc: Any = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        inner = list(_paths(doc))[1:]  # the whole document is test_random_json's job
        if not inner:
            break
        path = draw(st.sampled_from(inner))
        action = draw(st.sampled_from(("replace", "delete", "add")))
        parent = _parent(doc, path)
        if action == "replace":
            parent[path[-1]] = draw(json_values)
        elif action == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(keys)] = draw(json_values)
        else:
            parent.append(draw(json_values))
    return doc


def encode(doc: Any) -> bytes:
    """JSON text as a client would send it (NaN and Infinity included, which Python reads)."""
    return json.dumps(doc, allow_nan=True).encode("ascii")


@pytest.fixture(scope="module")
def client(fuzz_app: FuzzApp) -> TestClient:
    """An in-process client with the token; a 500 comes back as a response, not an exception."""
    return TestClient(fuzz_app.app, raise_server_exceptions=False, headers=fuzz_app.auth)


def post(client: TestClient, endpoint: str, body: bytes) -> None:
    """POST ``body``; assert 200 with the contract result or a canonical 422."""
    response = client.post(endpoint, content=body, headers={"Content-Type": "application/json"})
    sent = body[:400].decode("utf-8", "replace")
    assert response.status_code in (200, 422), (
        f"POST {endpoint} answered {response.status_code} {response.text[:300]} to {sent}"
    )
    assert response.headers["content-type"].startswith("application/json")
    if response.status_code == 200:
        ENDPOINTS[endpoint][1].model_validate_json(response.content)
    else:
        document = response.json()
        problems = problems_with_error_body(document)
        assert not problems, f"POST {endpoint} 422 body {problems}: {document} (sent {sent})"
        assert document["error"]["code"] == "invalid_input"
        assert document["error"]["fields"], f"a 422 names no field (sent {sent})"


def test_the_examples_are_accepted(client: TestClient) -> None:
    for endpoint in ENDPOINTS:
        response = client.post(endpoint, content=encode(example(endpoint)))
        assert response.status_code == 200, response.text


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
@FUZZ
@given(data=st.data())
def test_random_json(client: TestClient, endpoint: str, data: st.DataObject) -> None:
    post(client, endpoint, encode(data.draw(json_values, label="document")))


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
@FUZZ
@given(data=st.data())
def test_mutated_examples(client: TestClient, endpoint: str, data: st.DataObject) -> None:
    post(client, endpoint, encode(data.draw(mutated(example(endpoint)), label="document")))


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
@FUZZ
@given(body=st.binary(max_size=300) | any_text.map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_random_bytes(client: TestClient, endpoint: str, body: bytes) -> None:
    post(client, endpoint, body)


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_oversized_body_is_413(client: TestClient, endpoint: str) -> None:
    response = client.post(endpoint, content=b" " * (MAX_BODY_BYTES + 1))
    assert response.status_code == 413
    assert not problems_with_error_body(response.json())
    assert response.json()["error"]["code"] == "too_large"


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_deeply_nested_json_is_422(client: TestClient, endpoint: str) -> None:
    post(client, endpoint, b"[" * 200_000)


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_huge_integer_literal(client: TestClient, endpoint: str) -> None:
    post(client, endpoint, b'{"age": ' + b"9" * 5000 + b"}")


@pytest.mark.parametrize(
    "endpoint",
    [
        "/api/patients",
        "/api/patients/nobody/doses",
        "/api/patients/nobody/events",
        "/api/kb/recommendations/B12-DX-050/transition",
    ],
)
def test_lone_surrogate_key(client: TestClient, endpoint: str) -> None:
    response = client.post(endpoint, content=b'{"\\ud800": 1}')
    assert response.status_code == 422, response.text
    assert not problems_with_error_body(response.json())
