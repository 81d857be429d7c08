"""Where a patient is in a regimen, given the doses actually given (PRODUCT.md §5, C4).

Conventions:
* Intervals run from the last dose actually given.
* Fixed-length phases end by dose count (a late loading dose does not shorten the loading
  course): the count is the phase's ``count``, or the doses its ``for_days`` holds on schedule.
* An open-ended phase (``until`` an event) ends only when that event is recorded after the
  phase began; it is never ended automatically.
* The due window is [last + shortest interval, last + longest interval]; for a fixed interval
  the window is a single day; three-times-a-week doses are due on the next clinic day.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from datetime import date as Date

from b12.core.dates import add_days, add_months, next_weekday_on_or_after, weekday_indexes
from b12.core.knowledge import Phase, Regimen


@dataclass(frozen=True, slots=True)
class Position:
    """The current phase and what has been given in it."""

    phase_index: int
    doses_in_phase: int
    last_dose: date | None
    phase_started: date | None

    def phase(self, regimen: Regimen) -> Phase:
        """The current phase."""
        return regimen.phases[self.phase_index]


@dataclass(frozen=True, slots=True)
class Due:
    """When the next dose is due: a suggested date and the acceptable window."""

    date: Date
    earliest: Date
    latest: Date
    continuous: bool = False


def expected_doses(phase: Phase) -> int | None:
    """How many doses a fixed-length phase holds; ``None`` for an open-ended phase."""
    if phase.count is not None:
        return phase.count
    if phase.for_days is None:
        return None
    if phase.times_per_week is not None:
        return max(1, phase.times_per_week * phase.for_days // 7)
    span = phase.every_days or phase.every_months
    assert span is not None
    # The fewest doses that fill the phase at its longest interval (every 3-4 days for 21 days:
    # 6), so a course given at the longer spacing is not told a dose is missing.
    days = span.max if phase.every_days is not None else span.max * 30
    return max(1, math.ceil(phase.for_days / days))


def _complete(
    phase: Phase,
    doses: int,
    started: date | None,
    end_events: Sequence[tuple[date, str]],
    before: date,
    *,
    inclusive: bool,
) -> bool:
    """Is the phase finished before ``before`` (or on it, when ``inclusive``)?

    An event recorded on the day of a dose counts as after that dose (it is recorded at the
    review that follows the injection).
    """
    expected = expected_doses(phase)
    if expected is not None:
        return doses >= expected
    if phase.until is None or started is None:
        return False
    return any(
        kind == phase.until and started <= day and (day <= before if inclusive else day < before)
        for day, kind in end_events
    )


def locate(
    regimen: Regimen, doses: Sequence[date], events: Sequence[tuple[date, str]], as_of: date
) -> Position:
    """Walk the doses through the phases; ``events`` are (date, kind), sorted."""
    index, count, started, last = 0, 0, None, None
    final = len(regimen.phases) - 1
    for day in doses:
        while index < final and _complete(
            regimen.phases[index], count, started, events, day, inclusive=False
        ):
            index, count, started = index + 1, 0, None
        count += 1
        started = started or day
        last = day
    while index < final and _complete(
        regimen.phases[index], count, started, events, as_of, inclusive=True
    ):
        index, count, started = index + 1, 0, None
    return Position(index, count, last, started)


def due_after(
    phase: Phase, last: date, weekdays: tuple[str, ...], *, shortest: bool = False
) -> Due:
    """The due date and window for the next dose of ``phase`` after a dose on ``last``."""
    if not phase.list_each_dose:
        return Due(add_days(last, 1), add_days(last, 1), add_days(last, 1), continuous=True)
    if phase.times_per_week is not None:
        days = weekday_indexes(phase.weekdays or weekdays)
        day = next_weekday_on_or_after(add_days(last, 1), days)
        return Due(day, day, day)
    span = phase.every_months or phase.every_days
    assert span is not None
    step = add_months if phase.every_months is not None else add_days
    lo, hi = span.min, (span.min if shortest else span.max)
    pick = lo if phase.suggest == "earliest" or shortest else hi
    return Due(step(last, pick), step(last, lo), step(last, hi))
