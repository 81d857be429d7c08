"""The register page (issue 13): an admin checks and imports a file; review; outreach marks."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from b12.adapters.sql.registry import Registry
from tests.registry.register_csv import make_register
from tests.web.conftest import TODAY, SignedIn, audit_rows, counts

Client = Callable[[str], SignedIn]


@pytest.fixture(scope="module")
def register_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    reg = make_register(30, TODAY, bad_every=10)
    return reg.write(tmp_path_factory.mktemp("page") / "r.csv").read_bytes()


def _upload(http: SignedIn, data: bytes, *, dry_run: bool) -> str:
    form = {"csrf_token": http.csrf_token, **({"dry_run": "on"} if dry_run else {})}
    response = http.post(
        "/register/import", data=form, files={"file": ("register.csv", data, "text/csv")}
    )
    assert response.status_code == 200, response.text
    return " ".join(response.text.split())


def test_an_admin_checks_then_imports_a_register(
    client: Client, registry: Registry, register_bytes: bytes
) -> None:
    admin = client("admin")
    page = admin.get("/register")
    assert page.status_code == 200
    assert 'action="/register/import"' in page.text
    dry = _upload(admin, register_bytes, dry_run=True)
    assert "Dry run: 30 rows" in dry
    assert "2 refused; nothing written" in dry
    assert counts(registry, "patients")["patients"] == 0
    done = _upload(admin, register_bytes, dry_run=False)
    assert "28 written" in done
    assert counts(registry, "patients")["patients"] == 28
    assert 'id="review-rows"' in done
    assert audit_rows(registry, "view")[-1]["table_name"] == "register_page"


def test_others_see_the_review_but_not_the_import(
    client: Client, registry: Registry, register_bytes: bytes
) -> None:
    _upload(client("admin"), register_bytes, dry_run=False)
    nurse = client("nurse")
    page = nurse.get("/register")
    assert page.status_code == 200
    assert 'action="/register/import"' not in page.text
    assert 'id="outreach-rows"' in page.text
    refused = nurse.post(
        "/register/import",
        data={"csrf_token": nurse.csrf_token},
        files={"file": ("r.csv", register_bytes, "text/csv")},
    )
    assert refused.status_code == 403
    assert counts(registry, "patients")["patients"] == 28


def test_a_nurse_marks_a_recall_row(
    client: Client, registry: Registry, register_bytes: bytes
) -> None:
    _upload(client("admin"), register_bytes, dry_run=False)
    nurse = client("nurse")
    page = nurse.get("/register")
    pid = page.text.split('id="row-', 1)[1].split('"', 1)[0]
    marked = nurse.form(f"/register/outreach/{pid}", {"status": "booked", "note": "Tue 10:00"})
    assert marked.status_code == 303
    assert f'id="row-{pid}"' in nurse.get("/register").text
    assert f"booked by {nurse.username}" in nurse.get("/register").text
    bad = nurse.form(f"/register/outreach/{pid}", {"status": "phoned"})
    assert bad.status_code == 422
    assert "unknown status" in bad.text
    assert [r["detail"]["status"] for r in audit_rows(registry, "outreach")] == ["booked"]
