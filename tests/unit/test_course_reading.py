"""How a course is read when it may have begun before the record (:func:`read_course`)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from b12.core.course import Declaration, Gaps, read_course
from b12.core.knowledge import KnowledgeBase

GAPS = Gaps(loading_max=4, maintenance_min=28)
NFI = "no_further_improvement"


def _days(start: str, *steps: int) -> list[date]:
    out = [date.fromisoformat(start)]
    for step in steps:
        out.append(out[-1] + timedelta(days=step))
    return out


def _read(
    kb: KnowledgeBase,
    rid: str,
    doses: list[date],
    as_of: str,
    declared: Declaration | None = None,
    events: tuple[tuple[date, str], ...] = (),
) -> tuple[str, str, int, str, int | None]:
    regimen = kb.regimens[rid]
    pos, reading = read_course(
        regimen, doses, list(events), date.fromisoformat(as_of), declared, GAPS
    )
    return (
        reading.basis,
        reading.pattern,
        pos.doses_in_phase,
        pos.phase(regimen).kind,
        reading.every_months,
    )


@pytest.mark.parametrize(
    ("rid", "doses", "as_of", "expected"),
    [
        # a new course: counted from its first dose
        ("UK-HYDROXO-STANDARD", _days("2026-03-02", 2, 2), "2026-03-09",
         ("recorded", "from_first_dose", 3, "loading", None)),
        # complete loading then maintenance: the walk agrees with the record
        ("UK-HYDROXO-STANDARD", _days("2026-03-02", 2, 2, 3, 2, 2, 61), "2026-06-01",
         ("recorded", "from_first_dose", 1, "maintenance", None)),
        # doses 3 months apart, no loading on record: maintenance at 3 months
        ("UK-HYDROXO-STANDARD", _days("2025-09-15", 91, 91), "2026-04-01",
         ("inferred", "spaced_doses", 3, "maintenance", 3)),
        # monthly US doses: maintenance at 1 month
        ("US-CYANO-LABEL", _days("2026-01-05", 31, 28, 32), "2026-04-20",
         ("inferred", "spaced_doses", 4, "maintenance", 1)),
        # an alternate-day neurological course, then a dose 2 months later
        ("UK-HYDROXO-NEURO", _days("2026-01-05", *[2] * 14, 59), "2026-04-10",
         ("inferred", "loading_run_then_spaced", 1, "maintenance", 2)),
        # one dose three months ago: loading or maintenance?
        ("UK-HYDROXO-STANDARD", _days("2026-01-20"), "2026-04-20",
         ("ambiguous", "single_dose_long_ago", 1, "loading", None)),
        # one dose a week ago: a course just begun
        ("UK-HYDROXO-STANDARD", _days("2026-04-13"), "2026-04-20",
         ("recorded", "from_first_dose", 1, "loading", None)),
        # an open-ended neurological loading course that stopped without the event
        ("UK-HYDROXO-NEURO", _days("2026-01-05", *[2] * 10), "2026-03-20",
         ("ambiguous", "pause_in_open_loading", 11, "loading", None)),
        # three loading doses, a 5-week pause, then three more: cut short and resumed
        ("UK-HYDROXO-STANDARD", _days("2026-01-05", 2, 2, 35, 2, 2), "2026-02-20",
         ("ambiguous", "incomplete_loading_run", 0, "maintenance", None)),
        # three loading doses, then a dose 2 months later: was the loading ever finished?
        ("UK-HYDROXO-STANDARD", _days("2026-01-05", 2, 2, 60), "2026-03-20",
         ("ambiguous", "incomplete_loading_run", 4, "loading", None)),
        # spaced doses, then an alternate-day run with no event recorded
        ("UK-HYDROXO-STANDARD", _days("2025-10-01", 90, 2, 2), "2026-01-10",
         ("ambiguous", "loading_after_spaced", 4, "loading", None)),
        # weekly doses then a pause: not a loading pattern b12 knows
        ("UK-HYDROXO-STANDARD", _days("2026-01-05", 7, 7, 40), "2026-03-20",
         ("ambiguous", "irregular_spacing", 4, "loading", None)),
        # single-phase regimen: nothing to infer
        ("UK-HYDROXO-BARIATRIC", _days("2025-09-15", 91), "2026-01-10",
         ("recorded", "single_phase", 2, "prophylaxis", None)),
    ],
)  # fmt: skip
def test_the_record_is_read_as_recorded_inferred_or_ambiguous(
    kb: KnowledgeBase,
    rid: str,
    doses: list[date],
    as_of: str,
    expected: tuple[str, str, int, str, int | None],
) -> None:
    assert _read(kb, rid, doses, as_of) == expected


def test_the_event_that_ends_open_loading_removes_the_ambiguity(kb: KnowledgeBase) -> None:
    doses = _days("2026-01-05", *[2] * 10)
    event = ((doses[-1], NFI),)
    assert _read(kb, "UK-HYDROXO-NEURO", doses, "2026-03-20", events=event)[:2] == (
        "recorded",
        "from_first_dose",
    )


@pytest.mark.parametrize(
    ("declared", "doses", "expected_last", "expected_in_phase"),
    [
        (Declaration("maintenance", date(2019, 4, 1), 3), _days("2026-03-10"), "2026-03-10", 1),
        (Declaration("maintenance", date(2026, 3, 1)), _days("2026-02-01", 30), "2026-03-03", 1),
        (Declaration("loading_completed", date(2026, 2, 13)), [], "2026-02-13", 0),
        (Declaration("neuro_course_completed", date(2025, 11, 1), 2), _days("2025-11-01", 61),
         "2026-01-01", 1),
        (Declaration("maintenance", date(2020, 1, 15)), [], None, 0),
    ],
)  # fmt: skip
def test_a_declared_course_is_after_loading_and_dated_from_the_last_dose(
    kb: KnowledgeBase,
    declared: Declaration,
    doses: list[date],
    expected_last: str | None,
    expected_in_phase: int,
) -> None:
    regimen = kb.regimens["UK-HYDROXO-STANDARD"]
    pos, reading = read_course(regimen, doses, [], date(2026, 4, 1), declared, GAPS)
    assert reading.basis == "declared"
    assert pos.phase(regimen).kind == "maintenance"
    assert pos.last_dose == (date.fromisoformat(expected_last) if expected_last else None)
    assert pos.doses_in_phase == expected_in_phase
    assert reading.every_months == declared.every_months
