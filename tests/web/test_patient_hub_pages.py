"""The patient record as the nurse's hub (issue 15): schedule progress, links pre-filled from
the record, dose numbers per patient, reminders as information, and correcting or voiding a
dose and editing the clinical details with a reason, audited and superseding."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

from b12.adapters.sql.registry import DoseInput, Registry
from b12.adapters.sql.tables import register_entries
from tests.web.conftest import UK_PA, SignedIn, at, audit_rows, counts, enrol

Client = Callable[[str], SignedIn]
FEB_28 = date(2026, 2, 28)
DOSE_FORM: dict[str, str] = {
    "date": "2026-03-02",
    "drug": "hydroxocobalamin",
    "dose": "1mg",
    "route": "im",
    "site": "deltoid",
    "batch": "AB123",
}
# Severe anaemia: the order check reminds to watch the potassium after the first doses.
SEVERE: dict[str, Any] = {**UK_PA, "labs": {**UK_PA["labs"], "haemoglobin_g_l": 70}}


def _dose(registry: Registry, patient_id: str, day: date, batch: str = "B1") -> int:
    given = DoseInput(
        date=day,
        drug="hydroxocobalamin",
        dose="1mg",
        route="im",
        batch=batch,
        given_by="setup",
        override_reason="set-up",
    )
    return registry.record_dose(patient_id, given, actor="setup", now=at(day)).dose_id


def _history_rows(page: str) -> list[tuple[str, str]]:
    """(number cell, date cell) of each dose history row, in order."""
    table = page.split('id="dose-history"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r'<tr data-dose="\d+"[^>]*>(.*?)</tr>', table, re.S)
    out = []
    for row in rows:
        number = re.sub(r"<[^>]+>", "", re.search(r"<th[^>]*>(.*?)</th>", row, re.S)[1])  # type: ignore[index]
        day = re.sub(r"<[^>]+>", "", re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)[0])
        out.append((number.replace("not counted", "").strip(), day.strip()))
    return out


# -- the hub -----------------------------------------------------------------------------------


def test_the_record_links_to_check_follow_up_printouts_and_calendar(
    client: Client, registry: Registry
) -> None:
    enrol(registry, "P-001", day=FEB_28)
    page = client("nurse").get("/patients/P-001").text
    assert 'href="/check?patient=P-001"' in page
    assert 'href="/next?patient=P-001"' in page
    assert 'href="/patients/P-001/printout/patient.pdf"' in page
    assert 'href="/patients/P-001/calendar.ics"' in page
    assert 'id="edit-details"' not in page  # a nurse does not change the clinical picture
    assert 'id="edit-details"' in client("clinician").get("/patients/P-001").text


def test_the_calendar_is_the_plan_as_an_ics_file_and_is_audited(
    client: Client, registry: Registry
) -> None:
    enrol(registry, "P-001", day=FEB_28)
    response = client("nurse").get("/patients/P-001/calendar.ics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    assert "BEGIN:VCALENDAR" in response.text
    assert re.search(r"X-WR-CALNAME:[^\r]*P-001", response.text)
    assert re.search(r"DTSTART;VALUE=DATE:2026\d{4}\r", response.text)
    (view,) = [r for r in audit_rows(registry, "view") if r["detail"].get("page") == "calendar"]
    assert view["record_id"] == "P-001"


def test_progress_counts_the_loading_doses_given(client: Client, registry: Registry) -> None:
    enrol(registry, "P-001", day=FEB_28)
    nurse = client("nurse")
    before = nurse.get("/patients/P-001").text
    _dose(registry, "P-001", FEB_28)
    after = nurse.get("/patients/P-001").text

    progress = re.compile(r'id="progress">Loading: (\d+) of (\d+) doses given')
    first, second = progress.search(before), progress.search(after)
    assert first, "no loading progress on the record"
    assert second, "no loading progress after a dose"
    assert first[1] == "0"
    assert second[1] == "1"
    assert first[2] == second[2]
    assert int(first[2]) > 1
    assert f"(next is dose 2 of {second[2]})" in after


def test_doses_are_numbered_per_patient_in_date_order_not_by_database_id(
    client: Client, registry: Registry
) -> None:
    enrol(registry, "A", day=date(2026, 2, 20))
    enrol(registry, "B", day=date(2026, 2, 20))
    _dose(registry, "A", date(2026, 2, 20))
    _dose(registry, "B", date(2026, 2, 20))
    _dose(registry, "B", date(2026, 2, 22))
    _dose(registry, "A", date(2026, 2, 22))

    page = client("nurse").get("/patients/B").text

    assert _history_rows(page) == [("1", "2026-02-20"), ("2", "2026-02-22")]


# -- reminders are information; the override box is for stops -------------------------------


def test_a_first_dose_with_only_the_potassium_reminder_is_saved_at_once(
    client: Client, registry: Registry
) -> None:
    enrol(registry, "P-001", SEVERE)
    nurse = client("nurse")
    page = nurse.get("/patients/P-001").text
    assert 'id="dose-reminders"' in page  # shown before the dose is given
    assert 'data-code="POTASSIUM_48H"' in page

    saved = nurse.form("/patients/P-001/doses", {**DOSE_FORM, "key": "k-first"})

    assert saved.status_code == 303, "the potassium reminder opened the override box"
    assert "reminded=POTASSIUM_48H" in saved.headers["location"]
    after = nurse.get(saved.headers["location"]).text
    assert "Dose 1 recorded." in after
    assert "Watch potassium" in after
    assert counts(registry, "doses")["doses"] == 1
    assert registry.dose_history("P-001")[0]["verdict"] == "warn"


def test_an_early_dose_still_waits_for_save_anyway_without_a_required_reason(
    client: Client, registry: Registry
) -> None:
    enrol(registry, "P-001", day=FEB_28)
    _dose(registry, "P-001", FEB_28)
    nurse = client("nurse")
    warned = nurse.form("/patients/P-001/doses", {**DOSE_FORM, "date": "2026-03-01"})
    assert warned.status_code == 200
    assert 'id="save-anyway"' in warned.text
    assert "(optional)" in warned.text
    assert counts(registry, "doses")["doses"] == 1


# -- correcting and voiding a dose -------------------------------------------------------------


def test_a_correction_needs_a_reason_and_writes_nothing_without_one(
    client: Client, registry: Registry
) -> None:
    enrol(registry, "P-001", day=FEB_28)
    dose_id = _dose(registry, "P-001", FEB_28)
    nurse = client("nurse")
    form = nurse.get(f"/patients/P-001/doses/{dose_id}").text
    assert 'value="2026-02-28"' in form  # pre-filled with the dose as recorded
    before = counts(registry, "doses", "audit")

    refused = nurse.form(
        f"/patients/P-001/doses/{dose_id}/correct", {**DOSE_FORM, "date": "2026-02-27"}
    )

    assert refused.status_code == 422
    assert 'id="err-fix-reason"' in refused.text
    assert 'value="2026-02-27"' in refused.text  # what was typed stays
    after = counts(registry, "doses", "audit")
    assert after["doses"] == before["doses"]
    assert not audit_rows(registry, "correct_dose")


def test_a_correction_supersedes_the_dose_and_the_history_shows_who_when_why(
    client: Client, registry: Registry
) -> None:
    enrol(registry, "P-001", day=FEB_28)
    dose_id = _dose(registry, "P-001", FEB_28, batch="WRONG")
    nurse = client("nurse")

    saved = nurse.form(
        f"/patients/P-001/doses/{dose_id}/correct",
        {**DOSE_FORM, "date": "2026-02-28", "batch": "RIGHT1", "fix.reason": "batch misread"},
    )

    assert saved.status_code == 303
    history = registry.dose_history("P-001")
    old = next(d for d in history if d["id"] == dose_id)
    new = next(d for d in history if d["id"] != dose_id)
    assert old["superseded_by"] == new["id"]  # kept, superseded — never deleted
    assert (new["batch"], new["given_by"]) == ("RIGHT1", "setup")  # who gave it is unchanged
    (audited,) = audit_rows(registry, "correct_dose")
    assert audited["actor"] == "nurse.test"
    assert audited["detail"]["reason"] == "batch misread"
    page = nurse.get(saved.headers["location"]).text
    row = page.split(f'data-dose="{dose_id}"', 1)[1].split("</tr>", 1)[0]
    assert "<s>2026-02-28</s>" in row
    assert "corrected</span> by nurse.test on 2026-03-02 09:00: batch misread" in row
    assert _history_rows(page)[0][0] == "—"  # the superseded entry is not counted
    assert ("1", "2026-02-28") in _history_rows(page)


def test_voiding_needs_a_reason_then_the_dose_stops_counting_but_stays_on_record(
    client: Client, registry: Registry
) -> None:
    enrol(registry, "P-001", day=date(2026, 2, 26))
    _dose(registry, "P-001", date(2026, 2, 26))
    wrong = _dose(registry, "P-001", FEB_28)
    nurse = client("nurse")
    due_before = registry.follow_up("P-001", FEB_28).next_due

    refused = nurse.form(f"/patients/P-001/doses/{wrong}/void", {"void.reason": "  "})
    assert refused.status_code == 422
    assert 'id="err-void-reason"' in refused.text
    assert registry.dose_history("P-001")[-1]["superseded_by"] is None

    voided = nurse.form(
        f"/patients/P-001/doses/{wrong}/void", {"void.reason": "recorded on the wrong patient"}
    )

    assert voided.status_code == 303
    assert len(registry.dose_history("P-001")) == 2  # nothing deleted
    assert registry.follow_up("P-001", FEB_28).next_due != due_before  # it no longer counts
    (audited,) = audit_rows(registry, "void_dose")
    assert (audited["actor"], audited["record_id"]) == ("nurse.test", str(wrong))
    page = nurse.get(voided.headers["location"]).text
    row = page.split(f'data-dose="{wrong}"', 1)[1].split("</tr>", 1)[0]
    assert "voided</span> by nurse.test on 2026-03-02 09:00: recorded on the wrong patient" in row
    assert 'id="amended"' in page
    # A voided dose cannot be voided or corrected again.
    assert nurse.get(f"/patients/P-001/doses/{wrong}").status_code == 404
    again = nurse.form(f"/patients/P-001/doses/{wrong}/void", {"void.reason": "again"})
    assert again.status_code == 404
    assert len(audit_rows(registry, "void_dose")) == 1


# -- editing the clinical details --------------------------------------------------------------


def test_editing_the_details_needs_a_clinician_and_a_reason_and_keeps_the_old_version(
    client: Client, registry: Registry
) -> None:
    enrol(registry, "P-001", day=FEB_28)
    assert client("nurse").get("/patients/P-001/details").status_code == 403
    clinician = client("clinician")
    form = clinician.get("/patients/P-001/details")
    assert form.status_code == 200
    assert 'value="110"' in form.text  # the B12 level as recorded
    values = {
        "age": "68",
        "sex": "female",
        "deficiency": "confirmed",
        "cause": "pernicious_anaemia",
        "labs.serum_b12_ng_l": "95",
        "labs.haemoglobin_g_l": "96",
        "labs.mcv_fl": "112",
        "labs.ifab_positive": "positive",
        "guideline": "uk",
        "start": "2026-02-28",
    }
    before = counts(registry, "pictures")

    refused = clinician.form("/patients/P-001/details", values)
    assert refused.status_code == 422
    assert 'id="err-change_reason"' in refused.text
    assert counts(registry, "pictures") == before

    saved = clinician.form(
        "/patients/P-001/details", {**values, "change_reason": "repeat B12 result"}
    )
    assert saved.status_code == 303
    assert counts(registry, "pictures")["pictures"] == before["pictures"] + 1
    assert registry.show_patient("P-001")["picture"]["labs"]["serum_b12_ng_l"] == 95
    (audited,) = audit_rows(registry, "update_picture")
    assert audited["detail"]["reason"] == "repeat B12 result"
    assert audited["actor"] == "clinician.test"


def test_the_record_names_the_patient_with_identifiers_and_products_in_words(
    client: Client, registry: Registry
) -> None:
    enrol(registry, "P-001", day=FEB_28)
    _dose(registry, "P-001", FEB_28)
    with registry.engine.begin() as conn:
        conn.execute(
            register_entries.insert().values(
                patient_id="P-001",
                nhs_number="9434765919",
                mrn="M-9",
                contact="07700 900123",
                fingerprint="f",
                imported_at=at(FEB_28),
            )
        )
    page = client("nurse").get("/patients/P-001").text
    who = page.split('id="who">', 1)[1].split("</p>", 1)[0]
    assert "NHS number 943 476 5919" in who
    assert "MRN M-9" in who
    assert 'href="tel:07700900123"' in who
    history = page.split('id="dose-history"', 1)[1].split("</table>", 1)[0]
    assert "Hydroxocobalamin" in history  # the product's label, not its id


def test_a_declared_maintenance_course_says_how_often_and_that_it_was_declared(
    client: Client, registry: Registry
) -> None:
    picture = {**UK_PA, "as_of": FEB_28.isoformat()}
    course = {"stage": "maintenance", "since": "2025-06-01", "every_months": 3}
    registry.add_patient("M-1", picture, name=None, actor="setup", now=at(FEB_28), course=course)

    page = client("nurse").get("/patients/M-1").text

    assert 'id="progress">Maintenance, every 3 months</p>' in page
    assert "Phase as declared: a course already under way." in page
