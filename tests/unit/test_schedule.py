"""Scheduling conventions (PRODUCT.md §5) against the bundled regimens."""

import itertools
from datetime import date

import pytest

from b12.core.dates import add_months, weekday_indexes
from b12.core.knowledge import KnowledgeBase, Span
from b12.core.plan_models import RepeatOut
from b12.core.schedule import DoseSchedule, build_schedule, repeat_dates

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


# --- compact form of an open-ended phase (issue 16) ------------------------------------------


def _rows(sched: DoseSchedule) -> list[tuple[date, str, date | None, int | None]]:
    return [
        (s.date, s.kind, s.repeat.until if s.repeat else None, s.repeat.count if s.repeat else None)
        for s in sched.slots
    ]


def test_open_ended_alternate_days_are_a_run_to_the_first_review_then_a_run_to_the_horizon(
    kb: KnowledgeBase,
) -> None:
    sched = build_schedule(kb.regimens["UK-HYDROXO-NEURO"], date(2026, 3, 2), date(2026, 4, 2), MWF)
    assert _rows(sched) == [
        # 2, 4, ... 14 March: the doses the first review (16 March) looks back on.
        (date(2026, 3, 2), "dose", date(2026, 3, 14), 7),
        # From the review on, while still improving: 16 March to 1 April.
        (date(2026, 3, 16), "dose", date(2026, 4, 1), 9),
        # The review points, every 14 days: 16 and 30 March.
        (date(2026, 3, 16), "review", date(2026, 3, 30), 2),
    ]
    first = sched.slots[0]
    assert first.repeat is not None
    assert (first.repeat.every_days, first.repeat.weekdays) == (2, None)
    assert first.repeats == "every 2 days from 2026-03-02 to 2026-03-14 (7 doses)"
    assert sched.slots[2].repeats == "every 14 days from 2026-03-16 to 2026-03-30 (2 reviews)"
    assert sched.continues is True
    assert [p.name for p in sched.undated_phases] == ["maintenance"]


def test_open_ended_twice_weekly_run_keeps_its_own_weekdays(kb: KnowledgeBase) -> None:
    # Leber: 14 daily doses (a fixed count: listed one by one), then Mon/Thu until no further
    # improvement, reviewed every 28 days from the first twice-weekly dose.
    sched = build_schedule(kb.regimens["UK-HYDROXO-LEBER"], date(2026, 3, 2), date(2026, 6, 1), MWF)
    initial = [s for s in sched.slots if s.phase.name == "initial"]
    assert len(initial) == 14
    assert all(s.repeat is None for s in initial)
    runs = [s for s in sched.slots if s.phase.name == "continuation"]
    assert _rows(DoseSchedule(tuple(runs), True, ())) == [
        (date(2026, 3, 16), "dose", date(2026, 4, 9), 8),  # Mon 16 Mar ... Thu 9 Apr
        (date(2026, 4, 13), "dose", date(2026, 6, 1), 15),
        (date(2026, 4, 13), "review", date(2026, 5, 11), 2),
    ]
    assert runs[0].repeat is not None
    assert runs[0].repeat.weekdays == weekday_indexes(("mon", "thu"))
    assert runs[0].repeats == "twice a week (mon, thu) from 2026-03-16 to 2026-04-09 (8 doses)"


def test_fixed_count_loading_stays_listed_dose_by_dose(kb: KnowledgeBase) -> None:
    # Six doses over two weeks: the clinician ticks each one, so each is a row.
    sched = build_schedule(
        kb.regimens["UK-HYDROXO-STANDARD"], date(2026, 3, 2), date(2031, 3, 2), MWF
    )
    assert all(s.repeat is None for s in sched.slots)
    assert len([s for s in sched.slots if s.phase.name == "loading"]) == 6


def test_open_ended_phase_given_as_a_range_stays_listed(kb: KnowledgeBase) -> None:
    # Every 2-3 days: each dose has its own window from the one before, so nothing is compacted.
    neuro = kb.regimens["UK-HYDROXO-NEURO"]
    loading = neuro.phases[0].model_copy(update={"every_days": Span(min=2, max=3)})
    regimen = neuro.model_copy(update={"phases": (loading, *neuro.phases[1:])})
    sched = build_schedule(regimen, date(2026, 3, 2), date(2026, 6, 2), MWF)
    assert all(s.repeat is None for s in sched.slots)
    assert len(sched.slots) > 30


def test_a_horizon_before_the_first_review_gives_one_run_and_no_review(
    kb: KnowledgeBase,
) -> None:
    sched = build_schedule(
        kb.regimens["UK-HYDROXO-NEURO"], date(2026, 3, 2), date(2026, 3, 10), MWF
    )
    assert _rows(sched) == [(date(2026, 3, 2), "dose", date(2026, 3, 10), 5)]
    # A single dose is an ordinary row.
    one = build_schedule(kb.regimens["UK-HYDROXO-NEURO"], date(2026, 3, 2), date(2026, 3, 3), MWF)
    assert _rows(one) == [(date(2026, 3, 2), "dose", None, None)]


def test_five_years_of_neurological_loading_are_three_rows(kb: KnowledgeBase) -> None:
    start = date(2026, 3, 2)
    regimen = kb.regimens["UK-HYDROXO-NEURO"]
    compact = build_schedule(regimen, start, add_months(start, 60), MWF)
    listed = build_schedule(regimen, start, add_months(start, 60), MWF, compact=False)
    assert len(compact.slots) == 3
    assert len(listed.slots) > 1000
    assert sum(s.repeat.count if s.repeat else 1 for s in compact.slots) == len(listed.slots)


def test_a_repeating_entry_whose_count_and_until_disagree_is_refused() -> None:
    repeat = RepeatOut(every_days=2, until=date(2026, 3, 14), count=6)
    with pytest.raises(ValueError, match="count"):
        repeat_dates(date(2026, 3, 2), repeat)
    ok = repeat.model_copy(update={"count": 7})
    assert repeat_dates(date(2026, 3, 2), ok)[-1] == date(2026, 3, 14)
