"""The header middleware (plain ASGI) and the bearer-token fast path of the JSON API.

* a header the route sets wins over the middleware's default, and no header is sent twice;
  HSTS only when the app runs behind TLS (secure cookies);
* an exception after the answer has started is logged with its type and route only;
* a bearer token answered from the in-process cache is dropped at once when it is revoked or
  its user disabled in this process; a malformed ``Authorization`` header is still a 401.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI, Response
from fastapi.responses import StreamingResponse
from fastapi.testclient import TestClient

from b12.entrypoints.web.app import SECURITY_HEADERS, create_app
from b12.entrypoints.web.services import Services, WebConfig
from tests.web.conftest import UK_PA, Clock

PLAN = {**UK_PA, "as_of": "2026-03-02"}


def _own_headers() -> Response:
    return Response("ok", headers={"Cache-Control": "max-age=60", "X-Frame-Options": "SAMEORIGIN"})


def test_a_header_set_by_the_route_wins_and_none_is_sent_twice(app: FastAPI) -> None:
    app.add_api_route("/own-headers", _own_headers, methods=["GET"])
    with TestClient(app) as http:
        response = http.get("/own-headers")
    assert response.headers["cache-control"] == "max-age=60"
    assert response.headers["x-frame-options"] == "SAMEORIGIN"
    assert response.headers["x-content-type-options"] == "nosniff"
    names = [name.lower() for name, _ in response.headers.multi_items()]
    assert len(names) == len(set(names)), names
    assert "strict-transport-security" not in names


def test_hsts_only_behind_tls(web_db_url: str, clock: Clock, app: FastAPI) -> None:
    secure = create_app(WebConfig(database_url=web_db_url, clock=clock, secure_cookies=True))
    try:
        with TestClient(secure) as http:
            for path in ("/health", "/static/app.css"):
                response = http.get(path)
                assert response.headers["strict-transport-security"] == "max-age=31536000"
                for name, value in SECURITY_HEADERS.items():
                    assert response.headers[name] == value
    finally:
        secure.state.services.registry.engine.dispose()


def _broken_stream() -> StreamingResponse:
    def rows() -> Iterator[bytes]:
        yield b"first row\n"
        raise RuntimeError("patient P-123 secret value 42")

    return StreamingResponse(rows(), media_type="text/plain")


def test_an_error_after_the_answer_started_is_logged_without_data(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    app.add_api_route("/api/broken-stream", _broken_stream, methods=["GET"])
    with caplog.at_level(logging.INFO), TestClient(app, raise_server_exceptions=False) as http:
        response = http.get("/api/broken-stream")
    assert response.status_code == 200  # already sent; the body is cut short
    assert "secret" not in response.text
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("RuntimeError" in m and "/api/broken-stream" in m for m in errors), errors
    for record in caplog.records:
        assert "P-123" not in record.getMessage()
        assert record.exc_info is None or record.exc_info == (None, None, None)


def _plan(http: TestClient, headers: dict[str, str]) -> int:
    return http.post("/api/plan", json=PLAN, headers=headers).status_code


def test_a_cached_token_revoked_in_this_process_is_refused_at_once(
    app: FastAPI, services: Services, bearer: Callable[[str], dict[str, str]], clock: Clock
) -> None:
    headers = bearer("clinician")
    token = headers["Authorization"].split(" ", 1)[1]
    with TestClient(app) as http:
        assert _plan(http, headers) == 200
        assert services.accounts.cached_user_for_token(token) is not None  # now from memory
        assert _plan(http, headers) == 200
        assert services.accounts.revoke_token(token, now=clock()) is True
        assert _plan(http, headers) == 401


def test_a_cached_token_of_a_user_disabled_in_this_process_is_refused_at_once(
    app: FastAPI, services: Services, bearer: Callable[[str], dict[str, str]]
) -> None:
    headers = bearer("nurse")
    token = headers["Authorization"].split(" ", 1)[1]
    with TestClient(app) as http:
        assert _plan(http, headers) == 200
        user = services.accounts.cached_user_for_token(token)
        assert user is not None
        assert services.accounts.set_disabled(user.username, True) is True
        assert _plan(http, headers) == 401


@pytest.mark.parametrize(
    "header", ["Bearer", "Bearer    ", "Basic abc", "bearer b12_not-a-token", "Token x"]
)
def test_malformed_or_unknown_credentials_are_401(anonymous: TestClient, header: str) -> None:
    response = anonymous.post("/api/plan", json=PLAN, headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert response.headers["www-authenticate"].startswith("Bearer")
