"""The recall list as a practice uses it (issue 15): the columns a recall clerk works from,
bulk outreach marks (each audited), filters kept when wrong, and the CSV with the filters."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import date

import pytest

from b12.adapters.sql.registry import DoseInput, Registry
from b12.adapters.sql.tables import patients, register_entries
from tests.web.conftest import NOW, US_PA, SignedIn, at, audit_rows, counts, enrol

Client = Callable[[str], SignedIn]


def _practice(registry: Registry) -> None:
    enrol(registry, "due-today", name="Dee Today")
    enrol(registry, "overdue-10", day=date(2026, 2, 20), name="Olly Overdue")
    enrol(registry, "upcoming-8", start="2026-03-10")
    enrol(registry, "us-overdue", US_PA, day=date(2026, 2, 25))
    dose = DoseInput(date=date(2026, 2, 20), drug="hydroxocobalamin", dose="1mg", route="im")
    registry.record_dose("overdue-10", dose, actor="setup", now=at(date(2026, 2, 20)))
    with registry.engine.begin() as conn:
        conn.execute(
            patients.update()
            .where(patients.c.id == "overdue-10")
            .values(date_of_birth=date(1957, 4, 1))
        )
        conn.execute(
            register_entries.insert().values(
                patient_id="overdue-10",
                nhs_number="9434765919",
                mrn="MRN-77",
                contact="07700 900123",
                fingerprint="test",
                imported_at=NOW,
            )
        )


def _row(page: str, patient_id: str) -> str:
    return page.split(f'<tr data-patient="{patient_id}"', 1)[1].split("</tr>", 1)[0]


def _cell(row: str, label: str) -> str:
    found = re.search(rf'data-label="{re.escape(label)}"[^>]*>(.*?)</t[dh]>', row, re.S)
    assert found, f"no {label} cell"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", found[1])).strip()


def _ids(page: str) -> list[str]:
    return re.findall(r'<tr data-patient="([^"]+)"', page)


def test_each_row_has_what_a_recall_clerk_works_from(client: Client, registry: Registry) -> None:
    _practice(registry)
    page = client("nurse").get("/recall").text
    row = _row(page, "overdue-10")
    assert _cell(row, "Name").startswith("Olly Overdue")
    assert _cell(row, "Date of birth") == "Mon 1 Apr 1957"
    assert _cell(row, "NHS / MRN") == "943 476 5919 · MRN-77"
    assert _cell(row, "Phone") == "07700 900123"
    assert 'href="tel:07700900123"' in row
    assert _cell(row, "Last dose") == "Fri 20 Feb 2026"
    assert _cell(row, "Overdue").endswith("days overdue")
    assert _cell(row, "Outreach") == "not yet"
    # A window of one day is one date; a longer window says its two ends and the due date.
    assert re.fullmatch(r"\w{3} \d{1,2} \w{3} 2026", _cell(_row(page, "due-today"), "Due"))
    assert _cell(_row(page, "us-overdue"), "Last dose") == "none recorded"


def test_bulk_mark_marks_each_ticked_row_audited_and_keeps_the_filters(
    client: Client, registry: Registry
) -> None:
    _practice(registry)
    nurse = client("nurse")
    back = "/recall?within=14&status=overdue&guideline=&limit=100&offset=0"

    response = nurse.form(
        "/recall/outreach",
        {
            "patient": ["overdue-10", "us-overdue"],
            "outreach": "invited",
            "note": "letter sent",
            "back": back,
        },
    )

    assert response.status_code == 303
    assert response.headers["location"].startswith(back + "&marked=2")
    marks = audit_rows(registry, "outreach")
    assert sorted(m["detail"]["status"] for m in marks) == ["invited", "invited"]
    assert {m["actor"] for m in marks} == {"nurse.test"}
    page = nurse.get(response.headers["location"]).text
    assert _ids(page) == ["overdue-10", "us-overdue"]  # the same filtered list
    assert _cell(_row(page, "overdue-10"), "Outreach").startswith("invited nurse.test")
    assert 'id="marked"' in page


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"outreach": "invited"}, "patient"),
        ({"patient": ["overdue-10"], "outreach": "emailed"}, "outreach"),
        ({"patient": ["overdue-10"]}, "outreach"),
        ({"patient": ["overdue-10", "nobody"], "outreach": "invited"}, "patient"),
        ({"patient": ["overdue-10", "bad id!"], "outreach": "invited"}, "patient"),
    ],
)
def test_a_bulk_mark_missing_its_rows_or_status_is_422_and_writes_nothing(
    client: Client, registry: Registry, data: dict[str, object], field: str
) -> None:
    _practice(registry)
    before = counts(registry, "outreach", "audit")
    response = client("nurse").form("/recall/outreach", {**data, "back": "/recall?within=14"})
    assert response.status_code == 422
    assert f'id="err-{field}"' in response.text
    assert counts(registry, "outreach")["outreach"] == before["outreach"]
    assert not audit_rows(registry, "outreach")


def test_a_nurse_without_a_session_cannot_mark(anonymous: object) -> None:
    from fastapi.testclient import TestClient

    assert isinstance(anonymous, TestClient)
    response = anonymous.post(
        "/recall/outreach", data={"patient": "x", "outreach": "invited"}, follow_redirects=False
    )
    assert response.status_code in (303, 401, 403)


@pytest.mark.parametrize(
    ("query", "field", "kept"),
    [
        ("within=soon", "within", 'value="soon"'),
        ("within=9999", "within", 'value="9999"'),
        ("status=late", "status", '<option value="late" selected>late (not a choice)</option>'),
        ("guideline=fr", "guideline", '<option value="fr" selected>fr (not a choice)</option>'),
    ],
)
def test_an_invalid_filter_is_kept_in_the_form_and_explained(
    client: Client, registry: Registry, query: str, field: str, kept: str
) -> None:
    _practice(registry)
    page = client("nurse").get(f"/recall?{query}")
    assert page.status_code == 422
    assert f'id="err-{field}"' in page.text
    assert kept in page.text
    assert _ids(page.text) == []  # no list guessed from a default
    assert 'id="csv-link"' not in page.text
    assert "Correct the filter" in page.text


@pytest.mark.parametrize(
    "query", ["status=overdue", "guideline=us", "within=0", "status=due&guideline=uk", "within=30"]
)
def test_the_csv_link_exports_exactly_the_filtered_list(
    client: Client, registry: Registry, query: str
) -> None:
    _practice(registry)
    enrol(registry, "far-away", start="2026-03-25")
    nurse = client("nurse")
    page = nurse.get(f"/recall?{query}").text
    link = re.search(r'href="(/recall\.csv\?[^"]*)" id="csv-link"', page)
    assert link, "no CSV link"
    exported = nurse.get(link[1].replace("&amp;", "&"))
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["patient_id"] for r in rows] == _ids(page)
