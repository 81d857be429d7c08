"""The register JSON API (issue 13): import for an admin, review, outreach, messages."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from b12.adapters.sql.registry import Registry
from tests.registry.register_csv import make_register
from tests.web.conftest import TODAY, SignedIn, audit_rows, counts, enrol

Bearer = Callable[[str], dict[str, str]]
Client = Callable[[str], SignedIn]
CSV = {"Content-Type": "text/csv"}


@pytest.fixture
def api(app: FastAPI) -> TestClient:
    return TestClient(app, follow_redirects=False)


@pytest.fixture(scope="module")
def register_text(tmp_path_factory: pytest.TempPathFactory) -> str:
    reg = make_register(40, TODAY, bad_every=10)
    path: Path = reg.write(tmp_path_factory.mktemp("api") / "r.csv")
    return path.read_text(encoding="utf-8")


def _import(api: TestClient, headers: dict[str, str], text: str, dry_run: str) -> dict:  # type: ignore[type-arg]
    response = api.post(
        f"/api/register/import?dry_run={dry_run}", content=text, headers={**headers, **CSV}
    )
    assert response.status_code == 200, response.text
    body: dict = response.json()  # type: ignore[type-arg]
    return body


def test_an_admin_imports_after_a_dry_run(
    api: TestClient, bearer: Bearer, registry: Registry, register_text: str
) -> None:
    admin = bearer("admin")
    before = counts(registry, "patients", "doses")
    dry = _import(api, admin, register_text, "true")
    assert dry["summary"]["refused"] == 3
    assert counts(registry, "patients", "doses") == before
    done = _import(api, admin, register_text, "false")
    assert done["summary"]["written"] == 37
    assert counts(registry, "patients")["patients"] == 37
    again = _import(api, admin, register_text, "false")
    assert again["summary"]["unchanged"] == 37
    assert counts(registry, "patients")["patients"] == 37
    assert {r["status"] for r in done["rows"] if r["line"] in (12, 22, 32)} == {"refused"}


@pytest.mark.parametrize("role", ["clinician", "nurse", "reviewer"])
def test_only_an_admin_may_import(
    api: TestClient, bearer: Bearer, registry: Registry, register_text: str, role: str
) -> None:
    response = api.post(
        "/api/register/import", content=register_text, headers={**bearer(role), **CSV}
    )
    assert response.status_code == 403
    assert api.post("/api/register/import", content=register_text).status_code == 401
    assert counts(registry, "patients")["patients"] == 0


def test_a_bad_file_is_a_422_naming_the_problem(api: TestClient, bearer: Bearer) -> None:
    admin = bearer("admin")
    response = api.post("/api/register/import", content="a,b\n1,2\n", headers={**admin, **CSV})
    assert response.status_code == 422
    fields = {f["field"] for f in response.json()["error"]["fields"]}
    assert fields == {"header"}
    binary = api.post("/api/register/import", content=b"\xff\xfe", headers={**admin, **CSV})
    assert binary.status_code == 422


def test_review_outreach_and_messages(
    api: TestClient, bearer: Bearer, client: Client, registry: Registry, register_text: str
) -> None:
    _import(api, bearer("admin"), register_text, "false")
    nurse = client("nurse")
    review = nurse.get("/api/register/review")
    assert review.status_code == 200
    rows = review.json()["rows"]
    assert rows
    assert all(r["references"] and r["reason"] for r in rows)
    assert audit_rows(registry, "view")[-1]["table_name"] == "register_review"
    assert nurse.get("/api/register/review?criterion=nope").status_code == 422

    listed = nurse.get("/api/register/outreach?within=3660").json()["rows"]
    pid = listed[0]["patient_id"]
    marked = nurse.post_json(f"/api/register/outreach/{pid}", {"status": "contacted"})
    assert marked.status_code == 201, marked.text
    assert marked.json()["by"] == nurse.username
    no_csrf = nurse.post(f"/api/register/outreach/{pid}", json={"status": "booked"})
    assert no_csrf.status_code in (401, 403)
    bad = nurse.post_json(f"/api/register/outreach/{pid}", {"status": "phoned"})
    assert bad.status_code == 422
    assert nurse.post_json("/api/register/outreach/nobody", {"status": "booked"}).status_code == 404
    again = nurse.get("/api/register/outreach?within=3660").json()["rows"]
    assert next(r for r in again if r["patient_id"] == pid)["outreach"]["status"] == "contacted"

    enrol(registry, "no-contact", day=TODAY)
    response = nurse.get("/api/register/messages.csv?within=3660")
    assert response.status_code == 200
    messages = list(csv.DictReader(io.StringIO(response.text)))
    assert messages
    assert all(m["contact"] and m["message"] for m in messages)
    assert int(response.headers["X-B12-No-Contact"]) >= 1
