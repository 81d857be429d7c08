"""Sign-in, sessions, CSRF, headers, throttling and logs that carry no patient data."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from b12.entrypoints.web.app import CSP
from b12.entrypoints.web.auth import SESSION_COOKIE
from b12.entrypoints.web.services import Services
from tests.web.conftest import LOGIN_CSRF, PASSWORD, Clock, SignedIn, ensure_user

Bearer = Callable[[str], dict[str, str]]


def login(http: TestClient, username: str, password: str, next_path: str = "/") -> object:
    page = http.get("/login")
    token = LOGIN_CSRF.search(page.text)
    assert token
    return http.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "login_csrf": token.group(1),
            "next": next_path,
        },
    )


@pytest.mark.parametrize("path", ["/login", "/api/openapi.json", "/static/app.css", "/health"])
def test_security_headers_on_every_response(anonymous: TestClient, path: str) -> None:
    response = anonymous.get(path)
    assert response.status_code == 200
    assert response.headers["content-security-policy"] == CSP
    assert "frame-ancestors 'none'" in CSP
    assert "script-src 'self'" in CSP
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


def test_pages_are_not_cached_but_static_files_may_be(anonymous: TestClient) -> None:
    assert anonymous.get("/login").headers["cache-control"] == "no-store"
    assert "no-store" not in anonymous.get("/static/app.css").headers.get("cache-control", "")


def test_pages_redirect_to_login_when_signed_out(anonymous: TestClient) -> None:
    for path in ("/", "/plan", "/check", "/next", "/kb", "/patients", "/recall"):
        response = anonymous.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next=")


def test_sign_in_sets_a_hardened_session_cookie(
    app: FastAPI, services: Services, clock: Clock
) -> None:
    username = ensure_user(services, "clinician", clock)
    with TestClient(app, follow_redirects=False) as http:
        response = login(http, username, PASSWORD, "/plan")
        assert response.status_code == 303  # type: ignore[attr-defined]
        assert response.headers["location"] == "/plan"  # type: ignore[attr-defined]
        cookie = response.headers["set-cookie"]  # type: ignore[attr-defined]
        assert f"{SESSION_COOKIE}=" in cookie
        assert "HttpOnly" in cookie
        assert "SameSite=lax" in cookie
        assert "Path=/" in cookie
        assert http.get("/plan").status_code == 200


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil", ""])
def test_no_open_redirect_after_sign_in(
    app: FastAPI, services: Services, clock: Clock, target: str
) -> None:
    username = ensure_user(services, "nurse", clock)
    with TestClient(app, follow_redirects=False) as http:
        response = login(http, username, PASSWORD, target)
        assert response.headers["location"] == "/"  # type: ignore[attr-defined]


def test_wrong_password_then_lockout_with_retry_after(
    app: FastAPI, services: Services, clock: Clock
) -> None:
    username = ensure_user(services, "clinician", clock)
    with TestClient(app, follow_redirects=False) as http:
        for _ in range(5):
            response = login(http, username, "wrong password entirely")
            assert response.status_code == 401  # type: ignore[attr-defined]
            assert "wrong password" in response.text  # type: ignore[attr-defined]
        locked = login(http, username, PASSWORD)
        assert locked.status_code == 429  # type: ignore[attr-defined]
        assert int(locked.headers["retry-after"]) > 0  # type: ignore[attr-defined]
        clock.advance(minutes=16)
        assert login(http, username, PASSWORD).status_code == 303  # type: ignore[attr-defined]


def test_login_needs_its_double_submit_token(
    app: FastAPI, services: Services, clock: Clock
) -> None:
    username = ensure_user(services, "clinician", clock)
    with TestClient(app, follow_redirects=False) as http:
        response = http.post(
            "/login", data={"username": username, "password": PASSWORD, "login_csrf": "x"}
        )
        assert response.status_code == 403
        assert SESSION_COOKIE not in response.headers.get("set-cookie", "")


def test_forms_without_the_csrf_token_are_refused(client: Callable[[str], SignedIn]) -> None:
    http = client("clinician")
    for token in (None, "forged", "\u00e9\u00e9"):
        data = {"age": "60"} if token is None else {"age": "60", "csrf_token": token}
        response = http.post("/plan", data=data)
        assert response.status_code == 403
        assert "expired" in response.text


def test_logout_ends_the_session(client: Callable[[str], SignedIn]) -> None:
    http = client("clinician")
    assert http.post("/logout").status_code == 403  # no CSRF token: another site cannot do it
    cookie = http.cookies[SESSION_COOKIE]
    assert http.form("/logout", {}).status_code == 303
    http.cookies.set(SESSION_COOKIE, cookie)
    assert http.get("/plan").status_code == 303  # the old cookie no longer works


def test_sessions_expire(client: Callable[[str], SignedIn], clock: Clock) -> None:
    http = client("nurse")
    assert http.get("/next").status_code == 200
    clock.advance(hours=13)
    assert http.get("/next").status_code == 303


def test_roles_limit_what_a_user_may_do(client: Callable[[str], SignedIn]) -> None:
    nurse = client("nurse")
    moved = nurse.form("/kb/B12-DX-050/transition", {"to_status": "submitted"})
    assert moved.status_code == 403
    assert "draft" in nurse.get("/kb/B12-DX-050").text


def test_logs_carry_route_templates_not_patient_data(
    client: Callable[[str], SignedIn],
    anonymous: TestClient,
    bearer: Bearer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="b12.web")
    http = client("clinician")
    http.form(
        "/plan",
        {"age": "77", "labs.serum_b12_ng_l": "123.45", "cause": "dietary"},
        follow_redirects=True,
    )
    anonymous.get("/api/patients/PATIENT-SECRET-42", headers=bearer("clinician"))
    anonymous.post(
        "/api/plan?horizon=7m",
        json={"age": 77, "labs": {"serum_b12_ng_l": "sec"}},
        headers=bearer("clinician"),
    )
    text = caplog.text
    assert "POST /plan 303" in text
    for secret in ("123.45", "PATIENT-SECRET-42", "dietary", "horizon", "b12_"):
        assert secret not in text
    assert re.search(r"GET /api/patients/\{[a-z_]+\} 404", text)
