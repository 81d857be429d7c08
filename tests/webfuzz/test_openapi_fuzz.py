"""Schemathesis against the app's own OpenAPI document (every operation, in-process).

With a token: no 500 for any generated input (valid or not), every response matches the
schema documented for its status, and every error body is the canonical
``{"error": {"code", "message", "fields"}}``; this covers every operation in the document,
``/fhir`` and ``/cds-services`` included.  Without credentials (or with garbage ones): every
``/api`` operation answers 401 in the canonical shape.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis import Case, CheckContext, Config, Response
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.webfuzz.conftest import FuzzApp, problems_with_error_body

OPENAPI = "/api/openapi.json"
SEED = 20260302
MAX_EXAMPLES = 25
ANONYMOUS_EXAMPLES = 10


def bounded(max_examples: int) -> settings:
    """Hypothesis settings: a fixed number of examples, no deadline, reproducible."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


def _config(*, max_examples: int, coverage: bool, security_parameters: bool) -> Config:
    """Positive and negative data, fixed seed, bounded; no stateful phase (links are not used)."""
    return Config.from_dict(
        {
            "seed": SEED,
            "generation": {
                "mode": "all",
                "max-examples": max_examples,
                "deterministic": True,
                "with-security-parameters": security_parameters,
            },
            "phases": {
                "examples": {"enabled": True},
                "coverage": {"enabled": coverage},
                "fuzzing": {"enabled": True},
                "stateful": {"enabled": False},
            },
        }
    )


@schemathesis.check
def canonical_error_body(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """Every 4xx/5xx answer is JSON in the canonical error shape."""
    if response.status_code < 400:
        return None
    assert response.headers.get("content-type", [""])[0].startswith("application/json"), (
        f"{response.status_code} answered with {response.headers.get('content-type')}"
    )
    problems = problems_with_error_body(response.json())
    assert not problems, f"{response.status_code} error body: {'; '.join(problems)}"
    return True


@schemathesis.check
def unauthorized(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """Without valid credentials the answer is 401 (and says how to authenticate).

    A method the operation does not have is 405 (the coverage phase sends those too).
    """
    if case.method.upper() != case.operation.method.upper():
        assert response.status_code == 405, f"{case.method} answered {response.status_code}"
        return True
    status = response.status_code
    assert status == 401, f"expected 401 without credentials, got {status}"
    assert response.headers.get("www-authenticate"), "401 without WWW-Authenticate"
    return True


@pytest.fixture(scope="module")
def authed_schema(fuzz_app: FuzzApp) -> schemathesis.BaseSchema:
    """Every operation; the token is sent with each case (no generated credentials)."""
    config = _config(max_examples=MAX_EXAMPLES, coverage=True, security_parameters=False)
    return schemathesis.openapi.from_asgi(OPENAPI, fuzz_app.app, config=config)


@pytest.fixture(scope="module")
def anonymous_schema(fuzz_app: FuzzApp) -> schemathesis.BaseSchema:
    """Every operation; no token, but generated garbage credentials (header and cookie)."""
    config = _config(max_examples=ANONYMOUS_EXAMPLES, coverage=False, security_parameters=True)
    return schemathesis.openapi.from_asgi(OPENAPI, fuzz_app.app, config=config)


authed = schemathesis.pytest.from_fixture("authed_schema")
# CDS Hooks and FHIR have their own authentication rules (tested with them); /api is ours.
anonymous = schemathesis.pytest.from_fixture("anonymous_schema").include(path_regex="^/api/")


@authed.parametrize()
@bounded(MAX_EXAMPLES)
def test_no_server_error_and_documented_shapes(case: Case[Any], fuzz_app: FuzzApp) -> None:
    case.call_and_validate(
        headers=fuzz_app.auth,
        checks=[not_a_server_error, response_schema_conformance, canonical_error_body],
    )


@anonymous.parametrize()
@bounded(ANONYMOUS_EXAMPLES)
def test_without_credentials_every_operation_is_401(case: Case[Any]) -> None:
    case.call_and_validate(checks=[unauthorized, canonical_error_body])


def _api_routes(app: FastAPI) -> set[tuple[str, str]]:
    return {
        (method, route.path)
        for route in app.routes
        if isinstance(route, APIRoute) and route.path.startswith("/api/")
        for method in route.methods or ()
    }


def _documented(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
        if method.upper() in HTTP_METHODS
    }


HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


@pytest.fixture(scope="module")
def client(fuzz_app: FuzzApp) -> TestClient:
    """An in-process client without credentials."""
    return TestClient(fuzz_app.app, raise_server_exceptions=False)


def test_every_api_route_is_in_the_openapi_document(fuzz_app: FuzzApp, client: TestClient) -> None:
    """So the fuzzing above reaches every JSON endpoint, including ones added later."""
    document = client.get(OPENAPI).json()
    assert _api_routes(fuzz_app.app) <= _documented(document)
    assert len(_documented(document)) >= 3


def test_every_operation_without_any_credentials_is_401(client: TestClient) -> None:
    """No header, no cookie, a plausible body: 401 before anything is read or written."""
    document = client.get(OPENAPI).json()
    api = sorted((m, p) for m, p in _documented(document) if p.startswith("/api/"))
    assert len(api) >= 3
    for method, path in api:
        url = re.sub(r"\{[^}]+\}", "x", path)
        response = client.request(method, url, content=b"{}")
        assert response.status_code == 401, (method, path, response.status_code)
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert not problems_with_error_body(response.json()), (method, path, response.text)
        assert response.json()["error"]["code"] == "unauthorized"
