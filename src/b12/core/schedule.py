"""Turn a regimen into dated doses (PRODUCT.md §5 scheduling conventions).

* Intervals run from the previous dose; the first dose of a later phase is one interval of
  that phase after the last dose of the phase before.
* Months are calendar months with day clamping; a range (every 2–3 months) gives a window
  (earliest, latest) and a suggested date chosen by the phase's ``suggest`` (content).
* ``times_per_week`` uses the clinic weekdays (Mon/Wed/Fri by default), starting on the first
  clinic day on or after the start.
* An open-ended phase (``until`` a clinical event) is never ended here: its doses run to the
  horizon, with review points, and the phases after it are described, not dated.
* Nothing is scheduled after ``horizon_end``; the result then says that the schedule continues.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from datetime import date as Date

from b12.core.dates import add_days, add_months, next_weekday_on_or_after, weekday_indexes
from b12.core.knowledge import Phase, Regimen


@dataclass(frozen=True, slots=True)
class Slot:
    """One scheduled item before citations are attached."""

    date: Date
    kind: str  # "dose" | "review"
    phase: Phase
    earliest: Date | None = None
    latest: Date | None = None
    repeats: str | None = None


@dataclass(frozen=True, slots=True)
class DoseSchedule:
    """Dated slots, whether the schedule continues past the horizon, and the undated phases."""

    slots: tuple[Slot, ...]
    continues: bool
    undated_phases: tuple[Phase, ...]


def _step(phase: Phase, last: date, pick: int) -> date:
    if phase.every_months is not None:
        return add_months(last, pick)
    return add_days(last, pick)


def _span(phase: Phase) -> tuple[int, int]:
    span = phase.every_months or phase.every_days
    assert span is not None
    return span.min, span.max


def _repeat_text(phase: Phase) -> str:
    lo, hi = _span(phase)
    unit = "months" if phase.every_months is not None else "days"
    if lo == hi == 1:
        return "monthly" if unit == "months" else "daily"
    return f"every {lo} {unit}" if lo == hi else f"every {lo}-{hi} {unit}"


def _interval_dates(
    phase: Phase, first: date, previous: date | None, horizon_end: date
) -> tuple[list[Slot], bool]:
    """Doses of an every-N-days / every-N-months phase from ``first``.

    Month steps are counted from the phase's first dose (31 Jan, 28 Feb, 31 Mar, ...) so that
    clamping in a short month does not drift the rest of the series.
    """
    lo, hi = _span(phase)
    pick = lo if phase.suggest == "earliest" else hi
    out: list[Slot] = []
    day, last = first, previous
    end = add_days(first, phase.for_days) if phase.for_days is not None else None
    while True:
        if phase.count is not None and len(out) >= phase.count:
            return out, False
        if end is not None and day >= end:
            return out, False
        if day > horizon_end:
            return out, True
        if not phase.list_each_dose:
            out.append(Slot(day, "dose", phase, repeats=_repeat_text(phase)))
            return out, True
        window = (
            (_step(phase, last, lo), _step(phase, last, hi)) if last and lo != hi else (None, None)
        )
        out.append(Slot(day, "dose", phase, window[0], window[1]))
        last = day
        day = (
            add_months(first, pick * len(out))
            if phase.every_months is not None
            else add_days(day, pick)
        )


def _weekly_dates(
    phase: Phase, start: date, weekdays: tuple[int, ...], horizon_end: date
) -> tuple[list[Slot], bool]:
    out: list[Slot] = []
    day = next_weekday_on_or_after(start, weekdays)
    first = day
    end = add_days(first, phase.for_days) if phase.for_days is not None else None
    while True:
        if phase.count is not None and len(out) >= phase.count:
            return out, False
        if end is not None and day >= end:
            return out, False
        if day > horizon_end:
            return out, True
        out.append(Slot(day, "dose", phase))
        day = next_weekday_on_or_after(add_days(day, 1), weekdays)


def _reviews(phase: Phase, first: date, horizon_end: date) -> list[Slot]:
    assert phase.review_every_days is not None
    out, day = [], add_days(first, phase.review_every_days)
    while day <= horizon_end:
        out.append(Slot(day, "review", phase))
        day = add_days(day, phase.review_every_days)
    return out


def build_schedule(
    regimen: Regimen, start: date, horizon_end: date, weekdays: tuple[int, ...]
) -> DoseSchedule:
    """Date every dose of ``regimen`` from ``start`` up to ``horizon_end``."""
    slots: list[Slot] = []
    last: date | None = None
    for index, phase in enumerate(regimen.phases):
        if phase.times_per_week is not None:
            begin = start if last is None else add_days(last, 1)
            days = weekday_indexes(phase.weekdays) if phase.weekdays else weekdays
            doses, cut = _weekly_dates(phase, begin, days, horizon_end)
        else:
            lo, hi = _span(phase)
            pick = lo if phase.suggest == "earliest" else hi
            first = start if last is None else _step(phase, last, pick)
            doses, cut = _interval_dates(phase, first, last, horizon_end)
        slots.extend(doses)
        if phase.until is not None:
            begin_review = doses[0].date if doses else start
            slots.extend(_reviews(phase, begin_review, horizon_end))
            return DoseSchedule(tuple(slots), True, regimen.phases[index + 1 :])
        if cut or not doses:
            return DoseSchedule(tuple(slots), True, regimen.phases[index + 1 :])
        last = doses[-1].date
        if phase.is_open_ended:
            return DoseSchedule(tuple(slots), True, ())
    return DoseSchedule(tuple(slots), False, ())
