"""``patient_printout(view, kb)`` — the dates of the patient's printout, on clinic days only.

Pure.  The plan's dose dates are worked out on every day of the week; a practice gives
injections on its open days (``vocabulary.patient_printout.open_days``, Monday to Friday by
default, or the days passed in).  The printout re-dates the injections in order:

* the first dose is the plan's start date, or the next open day after it;
* every later dose keeps its planned spacing from the dose *as printed* (intervals run from the
  last dose actually given, PRODUCT.md §5): its suggested date and due window move by as many
  days as the dose before it moved; it is then put on the first open day on or after its
  suggested date that lies inside its window;
* when the window holds no open day (a fixed interval, "every 2 days", falling on a closed
  day) the dose goes to the first open day after it and is marked ``beyond_window``;
* check-ups and tests go to the next open day on or after their date.

A repeating entry (an open-ended phase shown as one row, issue 16) is first listed date by
date (:func:`b12.core.schedule.expand_schedule`): the patient ticks every injection, so the
printout has one row per dose and per review up to the horizon, as the plan had before.

Doses of a phase that is not listed dose by dose (tablets every day) are taken at home and are
not moved.  Every sentence comes from the knowledge base (``vocabulary.patient_printout``).
"""

from __future__ import annotations

from datetime import date as Date
from datetime import timedelta

from b12.core.dates import WEEKDAYS, next_weekday_on_or_after, weekday_indexes
from b12.core.knowledge import KnowledgeBase
from b12.core.patient_view import PatientPlan, PatientScheduleEntry
from b12.core.plan_models import DoseOut, Out
from b12.core.schedule import expand_schedule

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class PrintedDose(Out):
    """One line of the printout's table of dates."""

    date: Date
    planned: Date
    earliest: Date
    latest: Date
    moved: bool
    beyond_window: bool
    kind: str
    label: str
    phase: str | None = None
    what: str
    dose: DoseOut | None = None
    repeats: str | None = None


class PrintoutText(Out):
    """A sentence of the printout (knowledge-base content; its citations stay in the KB)."""

    text: str


class PatientPrintoutDates(Out):
    """The printout's dates on clinic days, and its framing sentences."""

    open_days: tuple[str, ...]
    first_dose: Date | None
    entries: tuple[PrintedDose, ...]
    title: str
    clinic_days_text: str
    first_dose_text: str | None
    moved_text: str
    given_label: str
    missed_heading: str
    missed: tuple[PrintoutText, ...]
    call_us_heading: str
    call_us: tuple[PrintoutText, ...]


def _day_list(names: tuple[str, ...]) -> str:
    full = [DAY_NAMES[WEEKDAYS.index(n)] for n in WEEKDAYS if n in names]
    return full[0] if len(full) == 1 else ", ".join(full[:-1]) + " and " + full[-1]


def _first_open(day: Date, open_idx: tuple[int, ...], latest: Date | None = None) -> Date | None:
    found = next_weekday_on_or_after(day, open_idx)
    return found if latest is None or found <= latest else None


def _printed(
    entry: PatientScheduleEntry,
    when: Date,
    suggested: Date,
    window: tuple[Date, Date],
    beyond: bool,
) -> PrintedDose:
    return PrintedDose(
        date=when,
        planned=suggested,
        earliest=window[0],
        latest=window[1],
        moved=when != suggested,
        beyond_window=beyond,
        kind=entry.kind,
        label=entry.label,
        phase=entry.phase,
        what=entry.what,
        dose=entry.dose,
        repeats=entry.repeats,
    )


def clinic_day_entries(
    schedule: tuple[PatientScheduleEntry, ...], open_days: tuple[str, ...]
) -> tuple[PrintedDose, ...]:
    """The schedule re-dated onto ``open_days`` (see the module docstring), in date order."""
    open_idx = weekday_indexes(open_days)
    out: list[PrintedDose] = []
    seen: set[tuple[Date, str, str]] = set()
    shift = timedelta(0)
    first = True
    for entry in expand_schedule(schedule):
        suggested = entry.date + shift
        if entry.repeats is not None:  # taken at home every day: not moved
            out.append(_printed(entry, entry.date, entry.date, (entry.date, entry.date), False))
            continue
        if entry.kind != "dose":  # a check-up or test keeps its place among the doses
            when = next_weekday_on_or_after(suggested, open_idx)
            if (when, entry.kind, entry.what) not in seen:
                seen.add((when, entry.kind, entry.what))
                out.append(_printed(entry, when, suggested, (suggested, suggested), False))
            continue
        if first:  # the start date, or the next open day after it
            lo, hi = suggested, suggested + timedelta(days=6)
        elif entry.window is None:
            lo = hi = suggested
        else:
            lo, hi = entry.window.earliest + shift, entry.window.latest + shift
        inside = _first_open(max(suggested, lo), open_idx, hi)
        when = inside if inside is not None else next_weekday_on_or_after(suggested, open_idx)
        out.append(_printed(entry, when, suggested, (lo, hi), inside is None))
        shift = when - entry.date
        first = False
    return tuple(sorted(out, key=lambda p: p.date))


def _moved(entry: PatientScheduleEntry, shift: timedelta) -> PatientScheduleEntry:
    window = entry.window
    if window is not None:
        window = window.model_copy(
            update={"earliest": window.earliest + shift, "latest": window.latest + shift}
        )
    return entry.model_copy(update={"date": entry.date + shift, "window": window})


def resume_from(
    view: PatientPlan, phase: str | None, given_in_phase: int, due: Date
) -> PatientPlan:
    """The view's schedule picked up where a patient's record stands.

    ``view`` is the plan of the patient's picture started on ``due`` (the next due date the
    record gives).  The entries before the first dose of ``phase`` (an earlier phase, its
    start-up tests) are dropped and the rest move so that this dose falls on ``due``.  A
    fixed-length phase of which ``given_in_phase`` doses were given loses that many doses from
    its end (its weekday pattern is kept), and the phases after it move up to follow its last
    remaining dose; for an open-ended phase pass 0.  No dated dose of ``phase``: no dates.
    Repeating entries are listed date by date first (the result has one row per dose).
    """
    schedule = expand_schedule(view.schedule)
    indexes = [i for i, e in enumerate(schedule) if e.kind == "dose" and e.phase == phase]
    if not indexes:
        return view.model_copy(update={"schedule": (), "start": due})
    given = min(given_in_phase, len(indexes) - 1)
    kept = indexes[: len(indexes) - given]
    dropped = set(indexes[len(kept) :])
    start_shift = due - schedule[indexes[0]].date
    later_shift = schedule[kept[-1]].date - schedule[indexes[-1]].date
    out = [
        _moved(e, start_shift + (later_shift if i > indexes[-1] else timedelta(0)))
        for i, e in enumerate(schedule)
        if i >= indexes[0] and i not in dropped
    ]
    return view.model_copy(update={"schedule": tuple(out), "start": due})


def patient_printout(
    view: PatientPlan,
    kb: KnowledgeBase,
    *,
    open_days: tuple[str, ...] | None = None,
    injections: bool = True,
    resumed: bool = False,
) -> PatientPrintoutDates:
    """The printout's dates and sentences; ``open_days`` default to the knowledge base's.

    ``resumed``: the dates continue a course already under way (:func:`resume_from`), so the
    first one is introduced as the next injection, not the first.
    """
    content = kb.vocabulary.patient_printout
    days = open_days or content.open_days
    entries = clinic_day_entries(view.schedule, days)
    doses = [e for e in entries if e.kind == "dose"]
    first = doses[0].date if doses else None
    return PatientPrintoutDates(
        open_days=days,
        first_dose=first,
        entries=entries,
        title=content.title,
        clinic_days_text=content.clinic_days_text.replace("{days}", _day_list(days)),
        first_dose_text=(
            (content.next_dose_text if resumed else content.first_dose_text).replace(
                "{date}", _long_date(first)
            )
            if first is not None and injections
            else None
        ),
        moved_text=content.moved_text,
        given_label=content.given_label,
        missed_heading=content.missed_heading,
        missed=tuple(PrintoutText(text=i.text) for i in content.missed) if injections else (),
        call_us_heading=content.call_us_heading,
        call_us=tuple(PrintoutText(text=i.text) for i in content.call_us),
    )


MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def _long_date(day: Date) -> str:
    """``Monday 7 December 2026`` (fixed English names, no locale)."""
    return f"{DAY_NAMES[day.weekday()]} {day.day} {MONTH_NAMES[day.month - 1]} {day.year}"
