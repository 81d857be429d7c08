"""Saved result drafts on both databases: the JSON inputs, the as_of and the patient link
round-trip, and the audit rows are written in the same transaction (issue 15)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from b12.adapters.sql.registry import Registry
from tests.web.conftest import BACKENDS, SignedIn, audit_rows, counts, enrol
from tests.web.test_result_pages import ORDER_FORM, submit, visible_text

Client = Callable[[str], SignedIn]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Every test here runs on SQLite and on PostgreSQL."""
    name: str = request.param
    return name


def test_a_check_for_a_registered_patient_round_trips_and_is_audited(
    client: Client, registry: Registry
) -> None:
    enrol(registry, "P-400")
    http = client("clinician")
    form = http.get("/check?patient=P-400").text
    assert 'name="patient" value="P-400"' in form
    location = submit(http, "/check", {**ORDER_FORM, "patient": "P-400"})
    page = client("nurse").get(location)
    assert page.status_code == 200
    text = visible_text(page.text)
    assert "Date of this dose Wed 4 Mar 2026" in text
    assert 'href="/patients/P-400" id="patient-link"' in page.text
    assert counts(registry, "result_drafts") == {"result_drafts": 1}
    draft_id = location.rsplit("/", 1)[1]
    saved = audit_rows(registry, "save_result")
    assert [(r["record_id"], r["detail"]) for r in saved] == [
        (draft_id, {"kind": "check", "patient_id": "P-400"})
    ]
    viewers = [r["actor"] for r in audit_rows(registry, "view") if r["record_id"] == draft_id]
    assert viewers == ["nurse.test"]
    edit = re.search(r'<a href="([^"]+)" id="edit-details">', page.text)
    assert edit
    assert 'value="2026-03-04"' in http.get(edit.group(1).replace("&amp;", "&")).text
