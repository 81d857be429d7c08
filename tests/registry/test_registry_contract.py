"""The registry contract (PRODUCT.md C5, issue #4), run on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from b12.adapters.sql.registry import DoseInput, Registry
from b12.adapters.sql.tables import audit, doses, patients, pictures
from b12.core.course_models import OrderCheckResult
from b12.core.errors import InputError, NotFound, Refused
from b12.core.knowledge import KnowledgeBase
from tests.registry.conftest import (
    ACTOR,
    NOT_DEFICIENT,
    NOW,
    UK_GASTRECTOMY,
    UK_NEURO,
    UK_ORAL_DIETARY,
    UK_PA,
    at,
    course_row,
    hydroxo,
    picture,
    stored_window,
    table_counts,
)

START = NOW.date()  # 2026-03-02, a Monday


def _enrol(
    registry: Registry,
    patient_id: str,
    template: dict[str, Any] = UK_PA,
    day: date = START,
    **extra: Any,
) -> None:
    registry.add_patient(
        patient_id, picture(template, day, **extra), name=None, actor=ACTOR, now=at(day)
    )


def _rows(registry: Registry, table: Any) -> list[dict[str, Any]]:
    with registry.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(table).order_by(table.c.id)).mappings()]


def _field(err: InputError) -> list[str]:
    return [p.field for p in err.problems]


# -- enrolment ---------------------------------------------------------------------------------


def test_enrol_creates_a_course_with_its_pathway_and_next_due_on_the_start(
    registry: Registry, kb: KnowledgeBase
) -> None:
    plan = registry.add_patient(
        "P-001", picture(UK_PA, START), name="Ann Example", actor=ACTOR, now=NOW
    )

    assert plan.pathway.id == "uk-im-no-neuro"
    course = course_row(registry, "P-001")
    assert course["pathway"] == "uk-im-no-neuro"
    assert course["regimen"] == "UK-HYDROXO-STANDARD"
    assert course["guideline"] == "uk"
    assert course["status"] == "active"
    assert course["phase"] == "loading"
    assert course["start"] == START
    assert course["content_version"] == kb.content_version
    assert stored_window(registry, "P-001") == (START, START, START)
    assert not course["continuous"]

    (patient,) = _rows(registry, patients)
    assert patient["id"] == "P-001"
    assert patient["display_name"] == "Ann Example"
    assert patient["guideline"] == "uk"
    assert patient["created_at"] == NOW
    (pic,) = _rows(registry, pictures)
    assert pic["version"] == 1
    assert pic["patient_id"] == "P-001"
    assert pic["document"]["cause"] == "pernicious_anaemia"
    assert pic["document"]["as_of"] == START.isoformat()
    assert course["picture_id"] == pic["id"]


def test_a_later_start_is_the_first_due_date(registry: Registry) -> None:
    later = START + timedelta(days=7)
    _enrol(registry, "P-001", start=later.isoformat())

    assert course_row(registry, "P-001")["start"] == later
    assert stored_window(registry, "P-001") == (later, later, later)


def test_a_picture_without_a_regimen_is_enrolled_with_no_due_date(registry: Registry) -> None:
    _enrol(registry, "P-001", NOT_DEFICIENT)

    course = course_row(registry, "P-001")
    assert course["status"] == "no_regimen"
    assert course["regimen"] is None
    assert stored_window(registry, "P-001") == (None, None, None)


def test_enrolling_the_same_id_twice_is_an_input_error_naming_id(registry: Registry) -> None:
    _enrol(registry, "P-001")
    before = table_counts(registry)

    with pytest.raises(InputError) as err:
        _enrol(registry, "P-001", UK_NEURO)

    assert _field(err.value) == ["id"]
    assert "P-001" in str(err.value)
    assert table_counts(registry) == before


@pytest.mark.parametrize(
    "bad_picture",
    [
        pytest.param({**UK_PA, "age": "old"}, id="age-not-a-number"),
        pytest.param({**UK_PA, "sex": "unknown-sex"}, id="bad-sex"),
        pytest.param({**UK_PA, "cause": "moonlight"}, id="unknown-cause"),
        pytest.param({**UK_PA, "favourite_colour": "blue"}, id="unknown-field"),
        pytest.param({**UK_PA, "labs": {"serum_b12_ng_l": -5}}, id="negative-lab"),
        pytest.param({**UK_PA, "as_of": "2026-02-30"}, id="bad-date"),
    ],
)
def test_an_invalid_picture_is_an_input_error_and_nothing_is_written(
    registry: Registry, bad_picture: dict[str, Any]
) -> None:
    _enrol(registry, "P-000")
    before = table_counts(registry)

    with pytest.raises(InputError) as err:
        registry.add_patient("P-001", bad_picture, name=None, actor=ACTOR, now=NOW)

    assert err.value.problems
    assert table_counts(registry) == before


@pytest.mark.parametrize("bad_id", ["", "   ", "x" * 65])
def test_an_invalid_id_is_an_input_error_naming_id(registry: Registry, bad_id: str) -> None:
    before = table_counts(registry)

    with pytest.raises(InputError) as err:
        _enrol(registry, bad_id)

    assert _field(err.value) == ["id"]
    assert table_counts(registry) == before


# -- doses -------------------------------------------------------------------------------------


def test_record_dose_stores_the_order_check_verdict_and_refreshes_next_due(
    registry: Registry,
) -> None:
    _enrol(registry, "P-001")

    outcome = registry.record_dose(
        "P-001",
        hydroxo(START, site="deltoid", batch="B-77", key="visit-1", given_by="RN Jones"),
        actor=ACTOR,
        now=NOW,
    )

    assert not outcome.duplicate
    assert outcome.check is not None
    # First injection for pernicious anaemia: the potassium warning.
    assert outcome.check.verdict == "warn"
    assert "POTASSIUM_48H" in {a.code for a in outcome.check.alerts}
    (row,) = _rows(registry, doses)
    assert row["id"] == outcome.dose_id
    assert row["verdict"] == "warn"
    assert (row["date"], row["drug"], row["route"]) == (START, "hydroxocobalamin", "im")
    assert (row["dose_value"], row["dose_unit"]) == (1.0, "mg")
    assert (row["site"], row["batch"], row["given_by"]) == ("deltoid", "B-77", "RN Jones")
    assert row["idempotency_key"] == "visit-1"
    assert row["recorded_at"] == NOW
    assert row["override_reason"] is None

    # Three times a week: Monday → Wednesday.
    wednesday = START + timedelta(days=2)
    assert outcome.follow_up is not None
    assert outcome.follow_up.next_due is not None
    assert outcome.follow_up.next_due.date == wednesday
    assert stored_window(registry, "P-001") == (wednesday, wednesday, wednesday)
    assert registry.follow_up("P-001", START).next_due == outcome.follow_up.next_due


def test_a_dose_dated_in_the_future_is_an_input_error_and_nothing_is_written(
    registry: Registry,
) -> None:
    _enrol(registry, "P-001")
    before = table_counts(registry)

    with pytest.raises(InputError) as err:
        registry.record_dose("P-001", hydroxo(START + timedelta(days=1)), actor=ACTOR, now=NOW)

    assert _field(err.value) == ["date"]
    assert table_counts(registry) == before


@pytest.mark.parametrize("bad_dose", ["1 tablet", "lots", "", "mg"])
def test_an_unreadable_dose_is_an_input_error_and_nothing_is_written(
    registry: Registry, bad_dose: str
) -> None:
    _enrol(registry, "P-001")
    before = table_counts(registry)

    with pytest.raises(InputError) as err:
        registry.record_dose(
            "P-001",
            DoseInput(date=START, drug="hydroxocobalamin", dose=bad_dose, route="im"),
            actor=ACTOR,
            now=NOW,
        )

    assert all(f.startswith("dose") for f in _field(err.value))
    assert table_counts(registry) == before


def test_the_same_idempotency_key_twice_records_one_dose(registry: Registry) -> None:
    _enrol(registry, "P-001")
    first = registry.record_dose("P-001", hydroxo(START, key="k-1"), actor=ACTOR, now=NOW)
    after_first = table_counts(registry)

    second = registry.record_dose("P-001", hydroxo(START, key="k-1"), actor=ACTOR, now=NOW)

    assert not first.duplicate
    assert second.duplicate
    assert second.dose_id == first.dose_id
    assert second.check is None
    assert table_counts(registry) == after_first
    assert after_first["doses"] == 1


def test_doses_without_a_key_are_each_recorded(registry: Registry) -> None:
    _enrol(registry, "P-001")
    registry.record_dose("P-001", hydroxo(START), actor=ACTOR, now=NOW)
    wednesday = START + timedelta(days=2)
    registry.record_dose("P-001", hydroxo(wednesday), actor=ACTOR, now=at(wednesday))

    assert table_counts(registry)["doses"] == 2
    friday = START + timedelta(days=4)
    assert stored_window(registry, "P-001") == (friday, friday, friday)


def _implausible() -> DoseInput:
    return DoseInput(date=START, drug="hydroxocobalamin", dose="1000mg", route="im")


def test_a_stop_verdict_is_refused_with_its_alerts_and_only_the_refusal_is_audited(
    registry: Registry,
) -> None:
    _enrol(registry, "P-001")
    before = table_counts(registry)

    with pytest.raises(Refused) as err:
        registry.record_dose("P-001", _implausible(), actor=ACTOR, now=NOW)

    check = err.value.detail
    assert isinstance(check, OrderCheckResult)
    assert check.verdict == "stop"
    assert ("DOSE_UNIT_IMPLAUSIBLE", "stop") in {(a.code, a.severity) for a in check.alerts}
    assert "DOSE_UNIT_IMPLAUSIBLE" in str(err.value)
    # The refusal showed the patient's history, so it is audited; nothing else is written.
    assert table_counts(registry) == {**before, "audit": before["audit"] + 1}
    refusal = _rows(registry, audit)[-1]
    assert (refusal["actor"], refusal["action"], refusal["record_id"]) == (
        ACTOR,
        "refuse_dose",
        "P-001",
    )
    assert refusal["detail"]["dose"] == "1000mg"
    assert stored_window(registry, "P-001") == (START, START, START)


def test_a_blank_override_reason_does_not_override_a_stop(registry: Registry) -> None:
    _enrol(registry, "P-001")
    before = table_counts(registry)
    blank = DoseInput(
        date=START, drug="hydroxocobalamin", dose="1000mg", route="im", override_reason="  "
    )

    with pytest.raises(Refused):
        registry.record_dose("P-001", blank, actor=ACTOR, now=NOW)

    assert table_counts(registry) == {**before, "audit": before["audit"] + 1}


def test_a_stop_with_an_override_reason_is_recorded_with_the_reason(registry: Registry) -> None:
    _enrol(registry, "P-001")
    reason = "confirmed with the prescriber: 1000 micrograms, unit slip on the chart"
    given = DoseInput(
        date=START, drug="hydroxocobalamin", dose="1000mg", route="im", override_reason=reason
    )

    outcome = registry.record_dose("P-001", given, actor="dr.patel", now=NOW)

    assert outcome.check is not None
    assert outcome.check.verdict == "stop"
    (row,) = _rows(registry, doses)
    assert row["verdict"] == "stop"
    assert row["override_reason"] == reason
    entry = _rows(registry, audit)[-1]
    assert (entry["actor"], entry["action"]) == ("dr.patel", "record_dose")
    assert entry["detail"] == {"verdict": "stop", "override_reason": reason}


# -- events ------------------------------------------------------------------------------------


def test_no_further_improvement_ends_neuro_loading_and_moves_the_window(
    registry: Registry,
) -> None:
    _enrol(registry, "P-001", UK_NEURO)
    days = [START + timedelta(days=2 * i) for i in range(15)]  # alternate days to 30 March
    for day in days:
        registry.record_dose("P-001", hydroxo(day), actor=ACTOR, now=at(day))
    last = days[-1]
    assert last == date(2026, 3, 30)
    loading_due = last + timedelta(days=2)
    assert stored_window(registry, "P-001") == (loading_due, loading_due, loading_due)
    assert course_row(registry, "P-001")["phase"] == "loading"
    as_of = date(2026, 4, 2)
    assert registry.follow_up("P-001", as_of).phase == "loading"

    result = registry.record_event(
        "P-001", last, "no_further_improvement", actor=ACTOR, now=at(as_of)
    )

    assert result.phase == "maintenance"
    maintenance_due = date(2026, 5, 30)  # every 2 months from the last loading dose
    assert result.next_due is not None
    assert (result.next_due.date, result.next_due.latest) == (maintenance_due, maintenance_due)
    assert stored_window(registry, "P-001") == (maintenance_due, maintenance_due, maintenance_due)
    assert course_row(registry, "P-001")["phase"] == "maintenance"
    assert registry.follow_up("P-001", as_of).phase == "maintenance"


def test_symptoms_returned_before_due_shortens_the_maintenance_window(
    registry: Registry,
) -> None:
    _enrol(registry, "P-001")
    given = [
        date(2026, 3, 2),
        date(2026, 3, 4),
        date(2026, 3, 6),
        date(2026, 3, 9),
        date(2026, 3, 11),
        date(2026, 3, 13),
        date(2026, 5, 13),
        date(2026, 8, 13),
    ]
    for day in given:
        registry.record_dose("P-001", hydroxo(day), actor=ACTOR, now=at(day))
    before = stored_window(registry, "P-001")
    assert course_row(registry, "P-001")["phase"] == "maintenance"
    assert before[1] == date(2026, 10, 13)  # earliest: 2 months after 13 August
    assert before[2] == date(2026, 11, 13)  # latest: 3 months after

    result = registry.record_event(
        "P-001",
        date(2026, 10, 1),
        "symptoms_returned_before_due",
        actor=ACTOR,
        now=at(date(2026, 10, 2)),
    )

    assert "SHORTEN_INTERVAL" in {a.code for a in result.advice}
    shortened = date(2026, 10, 13)
    assert stored_window(registry, "P-001") == (shortened, shortened, shortened)
    assert stored_window(registry, "P-001") != before


def test_an_unknown_event_kind_is_an_input_error_and_nothing_is_written(
    registry: Registry,
) -> None:
    _enrol(registry, "P-001")
    before = table_counts(registry)

    with pytest.raises(InputError) as err:
        registry.record_event("P-001", START, "felt_better_on_tuesday", actor=ACTOR, now=NOW)

    assert _field(err.value) == ["kind"]
    assert "no_further_improvement" in err.value.problems[0].message
    assert table_counts(registry) == before


def test_an_event_dated_in_the_future_is_an_input_error(registry: Registry) -> None:
    _enrol(registry, "P-001")
    before = table_counts(registry)

    with pytest.raises(InputError) as err:
        registry.record_event("P-001", START + timedelta(days=1), "stable", actor=ACTOR, now=NOW)

    assert _field(err.value) == ["date"]
    assert table_counts(registry) == before


# -- unknown patients --------------------------------------------------------------------------


def test_an_unknown_patient_is_not_found_everywhere(registry: Registry) -> None:
    _enrol(registry, "P-001")
    before = table_counts(registry)

    with pytest.raises(NotFound, match="P-404"):
        registry.record_dose("P-404", hydroxo(START), actor=ACTOR, now=NOW)
    with pytest.raises(NotFound, match="P-404"):
        registry.record_dose("P-404", hydroxo(START, key="fresh"), actor=ACTOR, now=NOW)
    with pytest.raises(NotFound, match="P-404"):
        registry.record_event("P-404", START, "stable", actor=ACTOR, now=NOW)
    with pytest.raises(NotFound, match="P-404"):
        registry.show_patient("P-404")
    with pytest.raises(NotFound, match="P-404"):
        registry.follow_up("P-404", START)

    assert table_counts(registry) == before


# -- recall ------------------------------------------------------------------------------------


def _recall_practice(registry: Registry) -> None:
    """Patients whose next doses fall before, on and after 2 March 2026."""
    _enrol(registry, "overdue-56", day=date(2026, 1, 5))
    _enrol(registry, "overdue-10", day=date(2026, 2, 20))
    _enrol(registry, "due-today", day=START)
    _enrol(registry, "due-in-8", start="2026-03-10")
    _enrol(registry, "due-in-59", start="2026-04-30")
    _enrol(registry, "oral-daily", UK_ORAL_DIETARY)
    _enrol(registry, "no-regimen", NOT_DEFICIENT)
    # Prophylaxis after gastrectomy: due 2–3 months after the dose of 2 January.
    _enrol(registry, "window", UK_GASTRECTOMY, day=date(2026, 1, 2))
    registry.record_dose("window", hydroxo(date(2026, 1, 2)), actor=ACTOR, now=at(date(2026, 1, 2)))


def test_recall_lists_due_and_overdue_courses_most_urgent_first(registry: Registry) -> None:
    _recall_practice(registry)
    assert stored_window(registry, "window") == (START, START, date(2026, 4, 2))

    rows = registry.recall(START, 14)

    assert [(r.patient_id, r.overdue_days, r.status) for r in rows] == [
        ("overdue-56", 56, "overdue"),
        ("overdue-10", 10, "overdue"),
        ("due-today", 0, "due"),
        ("due-in-8", 0, "upcoming"),
        ("window", 0, "due"),
    ]
    window = rows[-1]
    assert (window.next_due, window.earliest, window.latest) == (START, START, date(2026, 4, 2))
    assert window.pathway == "uk-prophylaxis-gastrectomy"
    assert window.as_dict() == {
        "patient_id": "window",
        "display_name": None,
        "pathway": "uk-prophylaxis-gastrectomy",
        "regimen": "UK-HYDROXO-PROPHYLAXIS",
        "phase": "prophylaxis",
        "next_due": "2026-03-02",
        "earliest": "2026-03-02",
        "latest": "2026-04-02",
        "overdue_days": 0,
        "status": "due",
    }


def test_recall_window_courses_are_due_inside_their_window(registry: Registry) -> None:
    _recall_practice(registry)
    earliest, latest = stored_window(registry, "window")[1:]
    assert earliest is not None
    assert latest is not None
    inside = earliest + (latest - earliest) // 2
    after = latest + timedelta(days=3)

    (during,) = [r for r in registry.recall(inside, 0) if r.patient_id == "window"]
    (late,) = [r for r in registry.recall(after, 0) if r.patient_id == "window"]

    assert (during.status, during.overdue_days) == ("due", 0)
    assert (late.status, late.overdue_days) == ("overdue", 3)


def test_recall_within_selects_by_next_due(registry: Registry) -> None:
    _recall_practice(registry)

    today_only = {r.patient_id for r in registry.recall(START, 0)}
    two_months = {r.patient_id for r in registry.recall(START, 60)}

    assert {"overdue-56", "overdue-10", "due-today"} <= today_only
    assert not {"due-in-8", "due-in-59"} & today_only
    assert {"overdue-56", "due-in-8", "due-in-59", "window"} <= two_months
    assert not {"oral-daily", "no-regimen"} & two_months
    assert registry.recall(date(2025, 12, 1), 14) == []


def test_continuous_oral_courses_are_stored_without_a_window(registry: Registry) -> None:
    _enrol(registry, "oral-daily", UK_ORAL_DIETARY)
    registry.record_dose(
        "oral-daily",
        DoseInput(date=START, drug="cyanocobalamin", dose="50mcg", route="oral"),
        actor=ACTOR,
        now=NOW,
    )

    course = course_row(registry, "oral-daily")
    assert course["status"] == "active"
    assert course["continuous"] == 1
    assert stored_window(registry, "oral-daily") == (None, None, None)
    assert registry.recall(START + timedelta(days=365), 365) == []


def test_a_negative_within_is_an_input_error(registry: Registry) -> None:
    with pytest.raises(InputError) as err:
        registry.recall(START, -1)

    assert _field(err.value) == ["within"]


# -- audit, list, show -------------------------------------------------------------------------


def test_the_audit_log_has_one_row_per_write_with_actor_and_action(registry: Registry) -> None:
    registry.add_patient("P-001", picture(UK_PA, START), name=None, actor="clerk.a", now=NOW)
    dose = registry.record_dose(
        "P-001", hydroxo(START, key="k"), actor="nurse.b", now=at(START, 10)
    )
    # Not writes: a repeated key, bad input.  A refused stop is audited (it showed the history).
    registry.record_dose("P-001", hydroxo(START, key="k"), actor="nurse.b", now=at(START, 11))
    with pytest.raises(Refused):
        registry.record_dose("P-001", _implausible(), actor="nurse.b", now=at(START, 11))
    with pytest.raises(InputError):
        registry.record_event("P-001", START, "nonsense", actor="nurse.b", now=at(START, 11))
    registry.record_event("P-001", START, "stable", actor="dr.c", now=at(START, 12))

    entries = _rows(registry, audit)

    assert [(e["actor"], e["action"], e["table_name"]) for e in entries] == [
        ("clerk.a", "enrol", "patients"),
        ("nurse.b", "record_dose", "doses"),
        ("nurse.b", "refuse_dose", "patients"),
        ("dr.c", "record_event", "events"),
    ]
    assert [e["at"] for e in entries] == [NOW, at(START, 10), at(START, 11), at(START, 12)]
    assert entries[0]["record_id"] == "P-001"
    assert entries[1]["record_id"] == str(dose.dose_id)
    assert entries[3]["detail"] == {"kind": "stable"}
    event_rows = registry.show_patient("P-001")["events"]
    assert event_rows == [{"date": START.isoformat(), "kind": "stable"}]


def test_list_patients_gives_each_course_in_id_order(registry: Registry) -> None:
    _enrol(registry, "P-002", UK_ORAL_DIETARY)
    registry.add_patient("P-001", picture(UK_PA, START), name="Ann", actor=ACTOR, now=NOW)
    _enrol(registry, "P-003", NOT_DEFICIENT)

    rows = registry.list_patients()

    assert rows == [
        {
            "id": "P-001",
            "display_name": "Ann",
            "guideline": "uk",
            "pathway": "uk-im-no-neuro",
            "status": "active",
            "next_due": START.isoformat(),
        },
        {
            "id": "P-002",
            "display_name": None,
            "guideline": "uk",
            "pathway": "uk-oral-dietary",
            "status": "active",
            "next_due": None,
        },
        {
            "id": "P-003",
            "display_name": None,
            "guideline": "uk",
            "pathway": "no-replacement-indicated",
            "status": "no_regimen",
            "next_due": None,
        },
    ]


def test_an_empty_registry_lists_no_patients_and_no_recall(registry: Registry) -> None:
    assert registry.list_patients() == []
    assert registry.recall(START, 14) == []


def test_show_patient_returns_picture_course_doses_and_events(registry: Registry) -> None:
    registry.add_patient("P-001", picture(UK_PA, START), name="Ann", actor=ACTOR, now=NOW)
    registry.record_dose("P-001", hydroxo(START, site="deltoid"), actor=ACTOR, now=NOW)
    wednesday = START + timedelta(days=2)
    registry.record_dose("P-001", hydroxo(wednesday), actor=ACTOR, now=at(wednesday))
    registry.record_event("P-001", wednesday, "stable", actor=ACTOR, now=at(wednesday))

    shown = registry.show_patient("P-001")

    assert shown["patient"]["id"] == "P-001"
    assert shown["patient"]["display_name"] == "Ann"
    assert shown["patient"]["created_at"] == NOW.isoformat()
    assert shown["course"]["pathway"] == "uk-im-no-neuro"
    assert shown["course"]["start"] == START.isoformat()
    assert shown["course"]["next_due"] == (START + timedelta(days=4)).isoformat()
    assert "document" not in shown["course"]
    assert shown["picture"]["cause"] == "pernicious_anaemia"
    assert shown["doses"] == [
        {
            "date": START.isoformat(),
            "drug": "hydroxocobalamin",
            "dose": {"value": 1.0, "unit": "mg"},
            "route": "im",
            "site": "deltoid",
        },
        {
            "date": wednesday.isoformat(),
            "drug": "hydroxocobalamin",
            "dose": {"value": 1.0, "unit": "mg"},
            "route": "im",
        },
    ]
    assert shown["events"] == [{"date": wednesday.isoformat(), "kind": "stable"}]


# -- backup ------------------------------------------------------------------------------------


def test_backup_and_restore_on_sqlite_or_a_pointer_to_pg_dump(
    registry: Registry, tmp_path: Path
) -> None:
    _enrol(registry, "P-001")
    backup = tmp_path / "backup.sqlite3"
    if not registry.is_sqlite:
        with pytest.raises(InputError) as err:
            registry.backup(backup)
        assert _field(err.value) == ["database"]
        assert "pg_dump" in str(err.value)
        with pytest.raises(InputError):
            registry.restore(backup)
        return

    registry.backup(backup)
    _enrol(registry, "P-002")
    registry.restore(backup)

    assert [p["id"] for p in registry.list_patients()] == ["P-001"]
    assert table_counts(registry)["audit"] == 1


# -- known defects (see the report on issue #4) ------------------------------------------------


def test_a_key_used_for_another_patient_does_not_silently_drop_the_dose(
    registry: Registry,
) -> None:
    _enrol(registry, "P-001")
    _enrol(registry, "P-002")
    registry.record_dose("P-001", hydroxo(START, key="2026-03-02-1"), actor=ACTOR, now=NOW)

    refused: list[str] = []
    try:
        outcome = registry.record_dose(
            "P-002", hydroxo(START, key="2026-03-02-1"), actor=ACTOR, now=NOW
        )
    except InputError as err:  # refusing the reused key is also acceptable
        refused = _field(err)
    if refused:
        assert refused == ["key"]
    else:
        assert not outcome.duplicate
        assert len(registry.show_patient("P-002")["doses"]) == 1
