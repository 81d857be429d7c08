"""Scheduling conventions (PRODUCT.md §5) against the bundled regimens."""

import itertools
from datetime import date

from b12.core.dates import weekday_indexes
from b12.core.knowledge import KnowledgeBase
from b12.core.schedule import build_schedule

MWF = weekday_indexes(("mon", "wed", "fri"))


def _doses(kb: KnowledgeBase, regimen: str, start: date, end: date) -> list[tuple[date, str]]:
    sched = build_schedule(kb.regimens[regimen], start, end, MWF)
    return [(s.date, s.phase.name) for s in sched.slots if s.kind == "dose"]


def test_three_times_a_week_uses_mon_wed_fri_when_started_on_a_monday(kb: KnowledgeBase) -> None:
    doses = _doses(kb, "UK-HYDROXO-STANDARD", date(2026, 3, 2), date(2026, 4, 30))
    loading = [d for d, phase in doses if phase == "loading"]
    assert loading == [date(2026, 3, d) for d in (2, 4, 6, 9, 11, 13)]


def test_three_times_a_week_takes_next_clinic_days_when_started_on_tuesday(
    kb: KnowledgeBase,
) -> None:
    doses = _doses(kb, "UK-HYDROXO-STANDARD", date(2026, 3, 3), date(2026, 4, 30))
    loading = [d for d, phase in doses if phase == "loading"]
    assert loading == [date(2026, 3, d) for d in (4, 6, 9, 11, 13, 16)]


def test_maintenance_window_runs_from_last_loading_dose(kb: KnowledgeBase) -> None:
    sched = build_schedule(
        kb.regimens["UK-HYDROXO-STANDARD"], date(2026, 3, 2), date(2027, 3, 2), MWF
    )
    first_maintenance = next(s for s in sched.slots if s.phase.name == "maintenance")
    assert first_maintenance.date == date(2026, 5, 13)
    assert (first_maintenance.earliest, first_maintenance.latest) == (
        date(2026, 5, 13),
        date(2026, 6, 13),
    )
    assert sched.continues is True


def test_month_intervals_clamp_in_short_months_without_drifting(kb: KnowledgeBase) -> None:
    sched = build_schedule(kb.regimens["US-CYANO-MAINT"], date(2026, 1, 31), date(2026, 6, 30), MWF)
    assert [s.date for s in sched.slots] == [
        date(2026, 1, 31),
        date(2026, 2, 28),
        date(2026, 3, 31),
        date(2026, 4, 30),
        date(2026, 5, 31),
        date(2026, 6, 30),
    ]


def test_windows_of_a_range_run_from_the_previous_dose(kb: KnowledgeBase) -> None:
    sched = build_schedule(
        kb.regimens["UK-HYDROXO-PROPHYLAXIS"], date(2026, 12, 31), date(2027, 5, 31), MWF
    )
    assert [(s.date, s.earliest, s.latest) for s in sched.slots] == [
        (date(2026, 12, 31), None, None),
        (date(2027, 2, 28), date(2027, 2, 28), date(2027, 3, 31)),
        (date(2027, 4, 30), date(2027, 4, 28), date(2027, 5, 28)),
    ]


def test_open_ended_phase_is_never_ended_and_gets_review_points(kb: KnowledgeBase) -> None:
    sched = build_schedule(
        kb.regimens["UK-HYDROXO-NEURO"], date(2026, 3, 2), date(2026, 4, 2), MWF, compact=False
    )
    doses = [s.date for s in sched.slots if s.kind == "dose"]
    reviews = [s.date for s in sched.slots if s.kind == "review"]
    assert doses[0] == date(2026, 3, 2)
    assert all((b - a).days == 2 for a, b in itertools.pairwise(doses))
    assert doses[-1] == date(2026, 4, 1)
    assert reviews == [date(2026, 3, 16), date(2026, 3, 30)]
    assert sched.continues is True
    assert [p.name for p in sched.undated_phases] == ["maintenance"]


def test_label_regimen_phases_follow_each_other_from_the_last_dose(kb: KnowledgeBase) -> None:
    doses = _doses(kb, "US-CYANO-LABEL", date(2026, 3, 2), date(2027, 3, 2))
    by_phase: dict[str, list[date]] = {}
    for d, phase in doses:
        by_phase.setdefault(phase, []).append(d)
    assert len(by_phase["daily"]) == 7
    assert len(by_phase["alternate-days"]) == 7
    assert by_phase["alternate-days"][0] == date(2026, 3, 10)
    assert by_phase["every-3-4-days"][0] == date(2026, 3, 25)
    assert all(d < date(2026, 4, 15) for d in by_phase["every-3-4-days"])
    assert by_phase["every-3-4-days"][-1] == date(2026, 4, 12)
    assert by_phase["maintenance"][0] == date(2026, 5, 12)


def test_daily_oral_phase_is_one_entry_that_repeats(kb: KnowledgeBase) -> None:
    sched = build_schedule(
        kb.regimens["UK-CYANO-ORAL-DIET"], date(2026, 3, 2), date(2027, 3, 2), MWF
    )
    assert len(sched.slots) == 1
    assert sched.slots[0].repeats == "daily"
    assert sched.continues is True


def test_nothing_is_scheduled_after_the_horizon(kb: KnowledgeBase) -> None:
    sched = build_schedule(
        kb.regimens["UK-HYDROXO-STANDARD"], date(2026, 3, 2), date(2026, 3, 8), MWF
    )
    assert [s.date for s in sched.slots] == [date(2026, 3, 2), date(2026, 3, 4), date(2026, 3, 6)]
    assert sched.continues is True
