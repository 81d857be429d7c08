"""Voiding a dose, the history of changes, and what the recall screen shows beside each row
(issue 15): nothing is deleted, every change says who, when and why."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select

from b12.adapters.sql.registry import DoseInput, Registry
from b12.adapters.sql.tables import audit, doses, outreach, register_entries
from b12.core.errors import InputError, NotFound
from tests.registry.conftest import stored_window

NOW = datetime.fromisoformat("2026-03-02T09:00")
LATER = datetime.fromisoformat("2026-03-03T09:00")
PA = {
    "age": 68,
    "cause": "pernicious_anaemia",
    "labs": {"serum_b12_ng_l": 110},
    "start": "2026-02-20",
    "as_of": "2026-02-20",
}


def _dose(day: str) -> DoseInput:
    return DoseInput(date=date.fromisoformat(day), drug="hydroxocobalamin", dose="1mg", route="im")


def _two_doses(registry: Registry, patient_id: str = "V1") -> tuple[int, int]:
    registry.add_patient(patient_id, PA, name=None, actor="t", now=NOW)
    first = registry.record_dose(patient_id, _dose("2026-02-20"), actor="t", now=NOW)
    second = registry.record_dose(patient_id, _dose("2026-02-23"), actor="t", now=NOW)
    return first.dose_id, second.dose_id


def test_a_voided_dose_stays_on_record_and_stops_counting(registry: Registry) -> None:
    _, second = _two_doses(registry)
    window_before = stored_window(registry, "V1")
    follow_before = registry.follow_up("V1", date(2026, 3, 3))

    registry.void_dose("V1", second, reason="recorded on the wrong patient", actor="n", now=LATER)

    history = registry.dose_history("V1")
    assert [d["id"] for d in history][-1] == second  # still there
    assert history[-1]["superseded_by"] == second
    assert len(registry.show_patient("V1")["doses"]) == 1  # not in force
    follow = registry.follow_up("V1", date(2026, 3, 3))
    assert follow.doses_in_phase == follow_before.doses_in_phase - 1
    assert stored_window(registry, "V1") != window_before  # the recall window moved with it
    with registry.engine.connect() as conn:
        (row,) = conn.execute(select(audit).where(audit.c.action == "void_dose")).mappings()
    assert (row["actor"], row["record_id"]) == ("n", str(second))
    assert row["detail"] == {"voids": second, "reason": "recorded on the wrong patient"}


@pytest.mark.parametrize("reason", ["", "   ", "x\x00y", "y" * 2001])
def test_voiding_without_a_usable_reason_writes_nothing(registry: Registry, reason: str) -> None:
    _, second = _two_doses(registry)
    with pytest.raises(InputError) as err:
        registry.void_dose("V1", second, reason=reason, actor="n", now=LATER)
    assert err.value.problems[0].field == "reason"
    assert registry.dose_history("V1")[-1]["superseded_by"] is None


def test_a_dose_voided_or_of_another_patient_cannot_be_voided(registry: Registry) -> None:
    first, second = _two_doses(registry)
    other, _ = _two_doses(registry, "V2")
    registry.void_dose("V1", second, reason="twice", actor="n", now=LATER)
    with pytest.raises(NotFound):
        registry.void_dose("V1", second, reason="again", actor="n", now=LATER)
    with pytest.raises(NotFound):
        registry.void_dose("V1", other, reason="not theirs", actor="n", now=LATER)
    with pytest.raises(NotFound):  # a voided dose cannot be corrected either
        registry.correct_dose("V1", second, _dose("2026-02-24"), reason="fix", actor="n", now=LATER)
    assert registry.dose_history("V1")[0]["id"] == first


def test_amendments_say_how_who_when_and_why_for_this_patient_only(registry: Registry) -> None:
    first, second = _two_doses(registry)
    _two_doses(registry, "V2")
    new = registry.correct_dose(
        "V1", first, _dose("2026-02-19"), reason="wrong date", actor="c", now=LATER
    )
    registry.void_dose("V1", second, reason="entered twice", actor="n", now=LATER)

    found = registry.dose_amendments("V1")

    assert found == {
        first: {
            "kind": "corrected",
            "by": "c",
            "at": "2026-03-03T09:00",
            "reason": "wrong date",
            "replacement": new,
        },
        second: {
            "kind": "voided",
            "by": "n",
            "at": "2026-03-03T09:00",
            "reason": "entered twice",
            "replacement": None,
        },
    }
    assert registry.dose_amendments("V2") == {}


def test_update_picture_keeps_the_reason_in_its_audit_entry(registry: Registry) -> None:
    registry.add_patient("V1", PA, name=None, actor="t", now=NOW)
    registry.update_picture(
        "V1", {**PA, "as_of": "2026-03-03"}, actor="c", now=LATER, reason="repeat B12"
    )
    with registry.engine.connect() as conn:
        (row,) = conn.execute(select(audit).where(audit.c.action == "update_picture")).mappings()
    assert row["detail"]["reason"] == "repeat B12"
    with pytest.raises(InputError):
        registry.update_picture("V1", PA, actor="c", now=LATER, reason="bad\x00")


def test_recall_details_pair_each_row_with_contact_last_dose_and_current_mark(
    registry: Registry,
) -> None:
    _two_doses(registry)
    registry.add_patient("V3", PA, name=None, actor="t", now=NOW)
    with registry.engine.begin() as conn:
        conn.execute(
            register_entries.insert().values(
                patient_id="V1",
                nhs_number="9434765919",
                mrn="M1",
                contact="07700 900123",
                fingerprint="f",
                imported_at=NOW,
            )
        )
    rows = registry.recall(date(2026, 3, 20), 30)
    due = {r.patient_id: r.next_due for r in rows}
    with registry.engine.begin() as conn:
        for status, day in (("invited", date(2000, 1, 1)), ("booked", due["V1"])):
            conn.execute(
                outreach.insert().values(
                    patient_id="V1", due_date=day, status=status, actor="n", at=NOW
                )
            )
        conn.execute(  # a mark for an earlier due date is not this row's status
            outreach.insert().values(
                patient_id="V3", due_date=date(2000, 1, 1), status="declined", actor="n", at=NOW
            )
        )

    details = registry.recall_details(date(2026, 3, 20), rows)

    assert details["V1"]["nhs_number"] == "9434765919"
    assert details["V1"]["contact"] == "07700 900123"
    assert details["V1"]["last_dose"] == date(2026, 2, 23)
    assert details["V1"]["outreach"]["status"] == "booked"
    assert details["V3"]["outreach"] is None
    assert details["V3"]["last_dose"] is None
    assert details["V3"]["nhs_number"] is None
    with registry.engine.connect() as conn:
        assert conn.execute(select(doses.c.id)).all()  # nothing was consumed
    assert registry.recall_details(date(2026, 3, 20), []) == {}
