"""Hypothesis puts hostile values (deep nesting, huge integers, oversized text) anywhere in valid
documents, for the engine and the registry endpoints, and in the hidden picture of the plan
pages.  Allowed answers: 2xx, 404, 409, 413, 422 (canonical error body); never a 500.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.webfuzz.conftest import FuzzApp, problems_with_error_body
from tests.webfuzz.test_random_bodies import EXAMPLES, _parent, _paths

FUZZ = settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
HOSTILE_VALUES = (
    "[" * 3000 + "]" * 3000,
    "[" * 65 + "]" * 65,
    '{"a":' * 70 + "1" + "}" * 70,
    "9" * 5000,
    "-" + "9" * 4301,
    "1" * 4000,
    "1e400",
    '"' + "x" * 300_000 + '"',
    '"2026-W10-1"',
    '"20260302"',
    '"\\u0000"',
)
#: Drawn by index, so a failing example prints a number, not 300,000 characters.
HOSTILE = st.sampled_from(range(len(HOSTILE_VALUES)))
DOSE = {"date": "2026-03-02", "drug": "hydroxocobalamin", "dose": "1mg", "route": "im"}
BODIES: dict[str, dict[str, Any]] = {
    "/api/plan": json.loads((EXAMPLES / "pernicious-anaemia-uk.json").read_text("utf-8")),
    "/api/check": json.loads((EXAMPLES / "order-check-uk.json").read_text("utf-8")),
    "/api/next": json.loads((EXAMPLES / "follow-up-uk.json").read_text("utf-8")),
    "/api/patients/FZ-1/doses": {**DOSE, "idempotency_key": "k"},
    "/api/patients/FZ-1/events": {"date": "2026-03-02", "kind": "stable"},
    "/api/patients": {
        "id": "FZ-2",
        "name": "Fuzz",
        "date_of_birth": "1960-01-01",
        "picture": {"age": 66, "as_of": "2026-03-02"},
    },
}


@pytest.fixture(scope="module")
def client(fuzz_app: FuzzApp) -> TestClient:
    """A client with the admin token; FZ-1 enrolled."""
    http = TestClient(fuzz_app.app, raise_server_exceptions=False, headers=fuzz_app.auth)
    picture = {"age": 66, "as_of": "2026-03-02", "cause": "pernicious_anaemia"}
    response = http.post("/api/patients", json={"id": "FZ-1", "picture": picture})
    assert response.status_code == 201, response.text
    return http


def _with_hostile(doc: dict[str, Any], path: tuple[str | int, ...], raw: str) -> str:
    """``doc`` as JSON text with the value at ``path`` replaced by the raw JSON ``raw``."""
    marker = "\u2603HOSTILE\u2603"
    copy = json.loads(json.dumps(doc))
    if path:
        _parent(copy, path)[path[-1]] = marker
        return json.dumps(copy).replace(json.dumps(marker), raw)
    return raw


@pytest.mark.parametrize("endpoint", list(BODIES))
@FUZZ
@given(data=st.data())
def test_hostile_values_anywhere_are_never_a_500(
    client: TestClient, endpoint: str, data: st.DataObject
) -> None:
    base = BODIES[endpoint]
    path = data.draw(st.sampled_from(list(_paths(base))), label="path")
    raw = HOSTILE_VALUES[data.draw(HOSTILE, label="value")]
    body = _with_hostile(base, path, raw).encode("utf-8")
    response = client.post(endpoint, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code in (200, 201, 404, 409, 413, 422), (
        f"{endpoint} answered {response.status_code} {response.text[:300]} ({path}, {raw[:40]})"
    )
    if response.status_code >= 400:
        assert not problems_with_error_body(response.json()) or response.status_code == 409
        size = len(response.content)
        assert size < 20_000, f"{endpoint}: a {size}-byte error echoes the input ({path})"


@pytest.mark.parametrize("endpoint", ["/api/plan", "/api/patients"])
def test_an_oversized_body_is_413(client: TestClient, endpoint: str) -> None:
    body = b'{"age": 60, "x": "' + b"x" * 1_000_001 + b'"}'
    response = client.post(endpoint, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
