"""``plan_to_ics`` — the plan's dated schedule as an iCalendar file (RFC 5545).

One all-day event per schedule entry (doses, reviews, tests), plus any dated monitoring item
that is not already a schedule entry.  A repeating entry (an open-ended phase shown as one row,
issue 16) is one event with an ``RRULE`` (every N days, or weekly on its weekdays, ``COUNT`` =
the number of doses it stands for), so a calendar shows every dose; ``expand=True`` writes one
event per dose instead (the rows of :func:`b12.core.schedule.expand_schedule`).

Deterministic: the UID comes from a digest of the whole plan and the label (so two patients'
calendars only share UIDs if both their plans and labels are identical), the date, the kind and
the entry's position; DTSTAMP is ``plan.as_of`` at 00:00 UTC; nothing reads the clock, so the
same plan always gives the same bytes.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, time, timedelta

from icalendar import Calendar, Event, vRecur, vText

from b12.adapters.exports.text import dose_text, refs_text
from b12.core.plan_models import MonitoringOut, Plan, RepeatOut, ScheduleEntry
from b12.core.schedule import expand_schedule

PRODID = "-//b12//b12 plan//EN"
CALENDAR_NAME = "B12 plan"
SUMMARIES = {"dose": "B12 dose", "review": "B12 review", "test": "B12 test"}
BYDAY = {"mon": "MO", "tue": "TU", "wed": "WE", "thu": "TH", "fri": "FR", "sat": "SA", "sun": "SU"}


def _uid_prefix(plan: Plan, label: str) -> str:
    """A digest of the plan and the calendar's label: the UIDs of two patients' calendars differ
    whenever their plans or labels do, and one plan always gives the same UIDs."""
    digest = hashlib.sha256(plan.model_dump_json().encode())
    digest.update(b"\0" + label.encode("utf-8", "replace"))
    return digest.hexdigest()[:20]


def _summary(entry: ScheduleEntry) -> str:
    if entry.kind == "dose" and entry.drug:
        parts = [SUMMARIES["dose"] + ":", entry.drug, dose_text(entry.dose)]
        if entry.route:
            parts.append(entry.route.upper())
        return " ".join(p for p in parts if p)
    return SUMMARIES[entry.kind]


def _description(
    text: str,
    refs: tuple[int, ...],
    *,
    entry: ScheduleEntry | None = None,
    plan: Plan,
) -> str:
    lines = [text]
    if entry is not None:
        if entry.dose is not None:
            parts = [entry.drug or "", dose_text(entry.dose), (entry.route or "").upper()]
            lines.append("Dose: " + " ".join(p for p in parts if p))
        if entry.repeats:
            lines.append(f"Repeats: {entry.repeats}")
        if entry.window is not None:
            lines.append(
                f"Acceptable window: from {entry.window.earliest.isoformat()} "
                f"to {entry.window.latest.isoformat()}"
            )
    if refs:
        lines.append(f"References: {refs_text(refs)}")
    lines.append(f"Content version: {plan.content_version}")
    return "\n".join(lines)


def _rrule(repeat: RepeatOut) -> vRecur:
    """The recurrence of a repeating entry: DTSTART is its first date, COUNT its length."""
    if repeat.weekdays is not None:
        return vRecur(freq="WEEKLY", byday=[BYDAY[d] for d in repeat.weekdays], count=repeat.count)
    return vRecur(freq="DAILY", interval=repeat.every_days, count=repeat.count)


def _extra_monitoring(plan: Plan) -> list[MonitoringOut]:
    """Dated monitoring items with no schedule entry of the same date, kind and recs."""
    listed = {(e.date, e.kind, e.recs) for e in expand_schedule(plan.schedule)}
    return [
        m for m in plan.monitoring if m.date is not None and (m.date, m.kind, m.recs) not in listed
    ]


def _event(
    plan: Plan, prefix: str, day: date, kind: str, index: int, summary: str, description: str
) -> Event:
    event = Event()
    event.add("uid", f"{prefix}-{day:%Y%m%d}-{kind}-{index}@b12")
    event.add("dtstamp", datetime.combine(plan.as_of, time(0, 0), tzinfo=UTC))
    event.add("dtstart", day)
    event.add("dtend", day + timedelta(days=1))
    event.add("summary", summary)
    event.add("description", description)
    event.add("transp", "TRANSPARENT")
    return event


def plan_to_ics(plan: Plan, *, label: str | None = None, expand: bool = False) -> bytes:
    """The plan's dated schedule as iCalendar bytes (same plan → identical bytes).

    ``expand``: one event per dose and review, rather than one recurring event per repeating
    entry.
    """
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    name = " ".join("".join(c if c.isprintable() else " " for c in label or "").split())
    cal.add("x-wr-calname", vText(f"{CALENDAR_NAME}: {name}" if name else CALENDAR_NAME))
    prefix = _uid_prefix(plan, name)
    index = 0
    for entry in expand_schedule(plan.schedule) if expand else plan.schedule:
        description = _description(entry.text, entry.refs, entry=entry, plan=plan)
        event = _event(plan, prefix, entry.date, entry.kind, index, _summary(entry), description)
        if entry.repeat is not None:
            event.add("rrule", _rrule(entry.repeat))
        cal.add_component(event)
        index += 1
    for item in _extra_monitoring(plan):
        assert item.date is not None
        description = _description(item.why, item.refs, plan=plan)
        cal.add_component(
            _event(plan, prefix, item.date, item.kind, index, SUMMARIES[item.kind], description)
        )
        index += 1
    data: bytes = cal.to_ical()
    return data
