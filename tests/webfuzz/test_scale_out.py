"""Scale out, not up: two real ``b12 serve`` processes on ONE PostgreSQL database.

Both start at the same moment on an empty database (the migration's advisory lock lets one
migrate and the other wait).  Then everything that a load balancer may send to either process
is shown to work across them: a session started on A is good on B (sessions are rows), a
patient enrolled through A is read through B, a dose recorded through B is seen through A, a
knowledge-base review moved on one is seen on the other, a logout on B ends the session on A,
and failed logins split between A and B still reach the limit (the counters are rows).  The
servers' logs never contain the patient's identifier or name.

PostgreSQL: ``B12_TEST_POSTGRES_URL`` names a throw-away database; without it one is created on
``B12_TEST_POSTGRES_ADMIN_URL`` (default: the local server) and dropped afterwards.  Skipped when
the server cannot be reached, unless ``B12_REQUIRE_POSTGRES=1``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.live_server import LiveServer, add_user, create_token
from tests.registry.conftest import (
    throwaway_postgres,
)

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

PASSWORD = "correct horse battery staple 42"
PATIENT_ID = "SCALE-7731"
PATIENT_NAME = "Zebedee Scaleout"
PICTURE: dict[str, Any] = {
    "age": 68,
    "sex": "female",
    "cause": "pernicious_anaemia",
    "deficiency": "confirmed",
    "guideline": "uk",
    "labs": {"serum_b12_ng_l": 110, "haemoglobin_g_l": 96, "mcv_fl": 112},
}
HIDDEN = r'name="{name}" value="([^"]+)"'


@pytest.fixture(scope="module")
def shared_db() -> Iterator[str]:
    """An empty PostgreSQL database (no schema yet) for both processes."""
    yield from throwaway_postgres("b12_scaleout")


@pytest.fixture(scope="module")
def servers(
    shared_db: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, LiveServer]]:
    """Processes A and B, started together on the empty database."""
    logs = tmp_path_factory.mktemp("scale-out")
    pair = (LiveServer(shared_db), LiveServer(shared_db))
    try:
        with ThreadPoolExecutor(2) as pool:
            started = [
                pool.submit(server.start, logs / f"{label}.log")
                for label, server in zip("AB", pair, strict=True)
            ]
            for future in started:
                future.result()
        yield pair
    finally:
        for server in pair:
            server.stop()


@pytest.fixture(scope="module")
def tokens(shared_db: str, servers: tuple[LiveServer, LiveServer]) -> dict[str, str]:
    """A clinician and a reviewer made with the real CLI, and an API token for each."""
    out = {}
    for username, role in (("cara.clinician", "clinician"), ("rex.reviewer", "reviewer")):
        add_user(shared_db, username, role, PASSWORD)
        out[role] = create_token(shared_db, username)
    return out


def _hidden(page: str, name: str) -> str:
    found = re.search(HIDDEN.format(name=name), page)
    assert found, f"no hidden {name} field"
    return found.group(1)


def _login(server: LiveServer, username: str, password: str) -> httpx.Response:
    """One sign-in attempt through ``server``'s login form (its own login CSRF cookie)."""
    with httpx.Client(base_url=server.url, follow_redirects=False, timeout=30) as client:
        form = client.get("/login")
        assert form.status_code == 200
        response = client.post(
            "/login",
            data={
                "login_csrf": _hidden(form.text, "login_csrf"),
                "next": "/plan",
                "username": username,
                "password": password,
            },
        )
        response.read()
        return response


def _bearer(server: LiveServer, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def _session(server: LiveServer, cookie: str) -> httpx.Client:
    return httpx.Client(
        base_url=server.url, cookies={"b12_session": cookie}, follow_redirects=False, timeout=30
    )


def test_a_session_started_on_a_works_on_b_until_logged_out_on_b(
    servers: tuple[LiveServer, LiveServer], tokens: dict[str, str]
) -> None:
    a, b = servers
    signed_in = _login(a, "cara.clinician", PASSWORD)
    assert signed_in.status_code == 303, signed_in.text
    cookie = signed_in.cookies["b12_session"]
    with _session(b, cookie) as on_b, _session(a, cookie) as on_a:
        page = on_b.get("/plan")
        assert page.status_code == 200, "B does not know A's session"
        csrf = _hidden(page.text, "csrf_token")
        # A cookie-authenticated JSON write through A with the CSRF token B's page gave.
        planned = on_a.post("/api/plan", json=PICTURE, headers={"X-CSRF-Token": csrf})
        assert planned.status_code == 200, planned.text
        assert planned.json()["pathway"]["id"]
        without_csrf = on_b.post("/api/plan", json=PICTURE)
        assert without_csrf.status_code == 403
        # Logging out through B ends the session everywhere.
        assert on_b.post("/logout", data={"csrf_token": csrf}).status_code == 303
        again = on_a.get("/plan")
        assert again.status_code == 303
        assert again.headers["location"].startswith("/login")


def test_a_patient_enrolled_through_a_is_read_and_dosed_through_b(
    servers: tuple[LiveServer, LiveServer], tokens: dict[str, str]
) -> None:
    a, b = servers
    with _bearer(a, tokens["clinician"]) as on_a, _bearer(b, tokens["clinician"]) as on_b:
        enrolled = on_a.post(
            "/api/patients", json={"id": PATIENT_ID, "name": PATIENT_NAME, "picture": PICTURE}
        )
        assert enrolled.status_code == 201, enrolled.text
        read = on_b.get(f"/api/patients/{PATIENT_ID}")
        assert read.status_code == 200, read.text
        record = read.json()
        assert PATIENT_ID in read.text
        assert PATIENT_NAME in read.text
        assert record["dose_history"] == []
        listed = on_b.get("/api/patients").json()
        assert PATIENT_ID in {row.get("id", row.get("patient_id")) for row in listed["items"]}

        before = on_a.get(f"/api/patients/{PATIENT_ID}").json()["follow_up"]
        first_due = record["follow_up"]
        assert before == first_due
        today = _today(on_a)
        dosed = on_b.post(
            f"/api/patients/{PATIENT_ID}/doses",
            json={"date": today, "drug": "hydroxocobalamin", "dose": "1mg", "route": "im"},
        )
        assert dosed.status_code == 201, dosed.text
        after = on_a.get(f"/api/patients/{PATIENT_ID}").json()
        assert len(after["dose_history"]) == 1
        assert after["follow_up"] != first_due, "A does not see the dose recorded through B"


def _today(client: httpx.Client) -> str:
    """The server's calendar date, from the recall list."""
    as_of: str = client.get("/api/recall", params={"within": 0, "limit": 1}).json()["as_of"]
    return as_of


def test_a_review_moved_on_one_process_is_seen_on_the_other(
    servers: tuple[LiveServer, LiveServer], tokens: dict[str, str]
) -> None:
    a, b = servers
    with (
        _bearer(a, tokens["clinician"]) as clinician_a,
        _bearer(b, tokens["reviewer"]) as reviewer_b,
        _bearer(a, tokens["reviewer"]) as reviewer_a,
        _bearer(b, tokens["clinician"]) as clinician_b,
    ):
        drafts = clinician_b.get("/api/kb/recommendations", params={"status": "draft"}).json()
        assert drafts["items"], "the bundled knowledge base has no draft to move"
        item = drafts["items"][0]["id"]
        path = f"/api/kb/recommendations/{item}"

        def move(client: httpx.Client, to_status: str) -> None:
            moved = client.post(f"{path}/transition", json={"to_status": to_status})
            assert moved.status_code == 200, moved.text

        move(clinician_a, "submitted")
        assert reviewer_b.get(path).json()["status"] == "submitted"
        move(reviewer_b, "in-review")
        assert clinician_a.get(path).json()["status"] == "in-review"
        move(reviewer_a, "approved")
        seen = clinician_b.get(path).json()
        assert seen["status"] == "approved"
        assert seen["history"][-1]["actor"] == "rex.reviewer"
        still_draft = clinician_b.get("/api/kb/recommendations", params={"status": "draft"})
        assert item not in {i["id"] for i in still_draft.json()["items"]}


def test_failed_logins_split_between_the_processes_share_one_limit(
    servers: tuple[LiveServer, LiveServer], tokens: dict[str, str]
) -> None:
    """Five failures (three on A, two on B) and the sixth attempt, on either, is 429."""
    a, b = servers
    for server in (a, b, a, b, a):
        assert _login(server, "cara.clinician", "wrong password").status_code == 401
    for server in (b, a):
        blocked = _login(server, "cara.clinician", PASSWORD)
        assert blocked.status_code == 429, blocked.text
        assert int(blocked.headers["retry-after"]) > 0
        assert "too many attempts" in blocked.text.lower()


def test_the_logs_hold_no_patient_identifier(
    servers: tuple[LiveServer, LiveServer], tokens: dict[str, str]
) -> None:
    for server in servers:
        assert server.log_path is not None
        log = Path(server.log_path).read_text(encoding="utf-8", errors="replace")
        assert "GET /health 200" in log, "the access log lines are missing"
        assert PATIENT_ID not in log
        assert PATIENT_NAME not in log
