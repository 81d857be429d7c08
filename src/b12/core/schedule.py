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

Compact form (issue 16).  An open-ended phase at a fixed rhythm (every N days, or N times a week
on set weekdays) is not listed dose by dose: its doses are shown as one repeating entry up to
the last dose *before* its first review point (the doses the first review looks back on), then
one repeating entry for the doses from that review on, while the patient keeps improving, up to
the horizon; its review points are one repeating entry from the first review.  So a neurological
plan has the same handful of rows whatever the horizon (5 years: 1,047 rows before).  Fixed-length
phases (``count``, ``for_days``: 6 doses over 2 weeks) stay listed dose by dose, since each dose
is ticked off; so does an open-ended phase given as a range (every 2–3 days: each dose has its
own window).  ``build_schedule(..., compact=False)`` is the listing before compaction, and
:func:`expand_schedule` turns the compact entries back into exactly that listing; every
consumer that needs one row per dose (calendar export on request, patient printout, timeline
markers, FHIR review requests) goes through it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from datetime import date as Date
from typing import Any, Protocol, Self, TypeVar

from b12.core.dates import WEEKDAYS, add_days, add_months, next_weekday_on_or_after, weekday_indexes
from b12.core.knowledge import Phase, Regimen
from b12.core.plan_models import RepeatOut

#: Order of entries on one date: doses, then tests, then reviews (then by text).
KIND_ORDER = {"dose": 0, "test": 1, "review": 2}


@dataclass(frozen=True, slots=True)
class Repeat:
    """A run of slots at a fixed rhythm: ``count`` of them from the slot's date to ``until``."""

    until: Date
    count: int
    every_days: int | None = None
    weekdays: tuple[int, ...] | None = None


@dataclass(frozen=True, slots=True)
class Slot:
    """One scheduled item before citations are attached."""

    date: Date
    kind: str  # "dose" | "review"
    phase: Phase
    earliest: Date | None = None
    latest: Date | None = None
    repeats: str | None = None
    repeat: Repeat | None = None


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


def _rule_text(every_days: int | None, weekdays: tuple[str, ...] | None) -> str:
    if weekdays is not None:
        times = "once" if len(weekdays) == 1 else "twice" if len(weekdays) == 2 else None
        per = f"{times or f'{len(weekdays)} times'} a week"
        return f"{per} ({', '.join(weekdays)})"
    assert every_days is not None
    return "daily" if every_days == 1 else f"every {every_days} days"


def repeat_text(kind: str, first: date, repeat: RepeatOut) -> str:
    """``every 2 days from 2026-03-02 to 2026-03-14 (7 doses)``: a repeating entry in words."""
    noun = "doses" if kind == "dose" else f"{kind}s"
    rule = _rule_text(repeat.every_days, repeat.weekdays)
    return f"{rule} from {first.isoformat()} to {repeat.until.isoformat()} ({repeat.count} {noun})"


def repeat_out(repeat: Repeat) -> RepeatOut:
    """The output form of a slot's :class:`Repeat` (weekday names, not indexes)."""
    names = tuple(WEEKDAYS[i] for i in repeat.weekdays) if repeat.weekdays is not None else None
    return RepeatOut.model_construct(
        every_days=repeat.every_days,
        times_per_week=len(names) if names is not None else None,
        weekdays=names,
        until=repeat.until,
        count=repeat.count,
    )


def repeat_dates(first: date, repeat: RepeatOut) -> list[date]:
    """The dates a repeating entry stands for, ``first`` included (the one expansion rule)."""
    out = [first]
    if repeat.weekdays is not None:
        days = weekday_indexes(repeat.weekdays)
        while len(out) < repeat.count:
            out.append(next_weekday_on_or_after(out[-1] + timedelta(days=1), days))
    else:
        assert repeat.every_days is not None
        step = timedelta(days=repeat.every_days)
        out.extend(first + step * i for i in range(1, repeat.count))
    if out[-1] != repeat.until:
        raise ValueError(f"a repeating entry's count ({repeat.count}) and until disagree")
    return out


class Expandable(Protocol):
    """A schedule entry (plan or patient view) that may stand for a run of dates."""

    @property
    def date(self) -> Date: ...

    @property
    def kind(self) -> str: ...

    @property
    def repeat(self) -> RepeatOut | None: ...

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy with some fields replaced (pydantic)."""


E = TypeVar("E", bound=Expandable)


def expand_schedule(entries: Iterable[E]) -> tuple[E, ...]:
    """Every repeating entry listed one row per date, in date order (the others unchanged).

    The listed rows keep the entry's kind, phase, dose, text and references, and have no
    ``repeat``/``repeats``; the result is the schedule as it was before compaction (rows of one
    date ordered as the plan orders them: by kind, then text where the entry has one).
    """
    out: list[E] = []
    compacted = False
    for entry in entries:
        repeat = entry.repeat
        if repeat is None:
            out.append(entry)
            continue
        compacted = True
        out.extend(
            entry.model_copy(update={"date": day, "repeat": None, "repeats": None})
            for day in repeat_dates(entry.date, repeat)
        )
    if compacted:
        out.sort(key=lambda e: (e.date, KIND_ORDER[e.kind], getattr(e, "text", "")))
    return tuple(out)


def _compactable(phase: Phase) -> bool:
    """Open-ended with review points, at a fixed rhythm (no per-dose window)."""
    if phase.until is None or not phase.list_each_dose:
        return False
    if phase.times_per_week is not None:
        return True
    return phase.every_days is not None and phase.every_days.min == phase.every_days.max


#: (every N days, None) or (None, weekday indexes).
_Rhythm = tuple[int | None, tuple[int, ...] | None]


def _run(
    phase: Phase, kind: str, first: date, last: date, count: int, rhythm: _Rhythm
) -> list[Slot]:
    """One slot standing for ``count`` items from ``first`` to ``last`` (a plain slot for one)."""
    if count < 2:
        return [Slot(first, kind, phase)] if count == 1 else []
    every, weekdays = rhythm
    repeat = Repeat(until=last, count=count, every_days=every, weekdays=weekdays)
    text = repeat_text(kind, first, repeat_out(repeat))
    return [Slot(first, kind, phase, repeats=text, repeat=repeat)]


def _count(first: date, end: date, rhythm: _Rhythm) -> int:
    """How many dates of the rhythm lie from ``first`` (one of them) to ``end`` inclusive."""
    if end < first:
        return 0
    every, weekdays = rhythm
    span = (end - first).days
    if every is not None:
        return span // every + 1
    assert weekdays is not None
    weeks, rest = divmod(span + 1, 7)
    tail = sum(1 for i in range(rest) if (first.weekday() + i) % 7 in weekdays)
    return weeks * len(weekdays) + tail


def _nth(first: date, n: int, end: date, rhythm: _Rhythm) -> date:
    """The ``n``-th date of the rhythm from ``first`` (1-based); ``end`` bounds a weekly one."""
    every, weekdays = rhythm
    if every is not None:
        return first + timedelta(days=every * (n - 1))
    assert weekdays is not None
    day = end  # the last clinic day on or before ``end`` (the count was taken up to ``end``)
    while day.weekday() not in weekdays:
        day -= timedelta(days=1)
    return day


def _compact(
    phase: Phase, first: date, rhythm: _Rhythm, start: date, horizon_end: date
) -> list[Slot]:
    """An open-ended phase as runs, worked out without dating each dose (module doc).

    The same dates as the listing (``_interval_dates``/``_weekly_dates`` and ``_reviews``):
    doses from ``first`` up to the horizon on the rhythm, review points every
    ``review_every_days`` from the first dose (from ``start`` when no dose fits).
    """
    step = phase.review_every_days
    assert step is not None
    has_doses = first <= horizon_end
    begin_review = first if has_doses else start
    reviews = (horizon_end - begin_review).days // step
    first_review = begin_review + timedelta(days=step) if reviews else None
    out: list[Slot] = []
    if has_doses:
        end = first_review - timedelta(days=1) if first_review else horizon_end
        n = _count(first, end, rhythm)
        out.extend(_run(phase, "dose", first, _nth(first, n, end, rhythm), n, rhythm))
        if first_review is not None:
            every, weekdays = rhythm
            again = (
                first + timedelta(days=every * n)
                if every is not None
                else next_weekday_on_or_after(first_review, weekdays or ())
            )
            m = _count(again, horizon_end, rhythm)
            out.extend(_run(phase, "dose", again, _nth(again, m, horizon_end, rhythm), m, rhythm))
    if first_review is not None:
        last_review = begin_review + timedelta(days=step * reviews)
        out.extend(_run(phase, "review", first_review, last_review, reviews, (step, None)))
    return out


def build_schedule(
    regimen: Regimen,
    start: date,
    horizon_end: date,
    weekdays: tuple[int, ...],
    *,
    compact: bool = True,
) -> DoseSchedule:
    """Date every dose of ``regimen`` from ``start`` up to ``horizon_end``.

    ``compact`` (the default): open-ended phases at a fixed rhythm as repeating slots (module
    doc); ``compact=False`` lists every dose and review point.
    """
    slots: list[Slot] = []
    last: date | None = None
    for index, phase in enumerate(regimen.phases):
        runs = compact and _compactable(phase)
        if phase.times_per_week is not None:
            begin = start if last is None else add_days(last, 1)
            days = weekday_indexes(phase.weekdays) if phase.weekdays else weekdays
            if runs:
                first = next_weekday_on_or_after(begin, days)
                slots.extend(_compact(phase, first, (None, days), start, horizon_end))
                return DoseSchedule(tuple(slots), True, regimen.phases[index + 1 :])
            doses, cut = _weekly_dates(phase, begin, days, horizon_end)
        else:
            lo, hi = _span(phase)
            pick = lo if phase.suggest == "earliest" else hi
            first = start if last is None else _step(phase, last, pick)
            if runs:
                slots.extend(_compact(phase, first, (lo, None), start, horizon_end))
                return DoseSchedule(tuple(slots), True, regimen.phases[index + 1 :])
            doses, cut = _interval_dates(phase, first, last, horizon_end)
        if phase.until is not None:
            begin_review = doses[0].date if doses else start
            slots.extend(doses)
            slots.extend(_reviews(phase, begin_review, horizon_end))
            return DoseSchedule(tuple(slots), True, regimen.phases[index + 1 :])
        slots.extend(doses)
        if cut or not doses:
            return DoseSchedule(tuple(slots), True, regimen.phases[index + 1 :])
        last = doses[-1].date
        if phase.is_open_ended:
            return DoseSchedule(tuple(slots), True, ())
    return DoseSchedule(tuple(slots), False, ())
