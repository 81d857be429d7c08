"""``plan_to_ics``: parsed back with icalendar, the events are the plan's schedule."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from dateutil.rrule import rrulestr  # type: ignore[import-untyped]
from icalendar import Calendar

from b12.adapters.exports.ics import PRODID, plan_to_ics
from b12.core.knowledge import KnowledgeBase
from b12.core.plan_models import MonitoringOut, Plan
from b12.core.requests import plan_request
from b12.core.schedule import expand_schedule
from tests.exports.conftest import PICTURES, make_plan


def _events(data: bytes) -> list[object]:
    return list(Calendar.from_ical(data).walk("VEVENT"))


@pytest.mark.parametrize("name", ["pa_uk", "neuro_uk", "oral_uk", "pa_us"])
def test_one_all_day_event_per_schedule_entry(plans: dict[str, Plan], name: str) -> None:
    plan = plans[name]
    events = Calendar.from_ical(plan_to_ics(plan)).walk("VEVENT")
    assert len(events) == len(plan.schedule) > 0
    for event, entry in zip(events, plan.schedule, strict=True):
        start = event.decoded("DTSTART")
        assert type(start) is date
        assert start == entry.date
        assert event.decoded("DTEND") == entry.date + timedelta(days=1)
        assert entry.text in str(event["DESCRIPTION"])
        assert event.decoded("DTSTAMP") == datetime(2026, 3, 2, tzinfo=UTC)
        assert str(event["UID"]).endswith("@b12")
        assert f"-{entry.date:%Y%m%d}-{entry.kind}-" in str(event["UID"])
    assert len({str(e["UID"]) for e in events}) == len(events)


def test_description_has_window_and_reference_numbers(plans: dict[str, Plan]) -> None:
    plan = plans["pa_uk"]
    events = Calendar.from_ical(plan_to_ics(plan)).walk("VEVENT")
    windowed = [(ev, e) for ev, e in zip(events, plan.schedule, strict=True) if e.window]
    assert windowed
    for event, entry in windowed:
        text = str(event["DESCRIPTION"])
        assert entry.window is not None
        assert f"from {entry.window.earliest.isoformat()} to {entry.window.latest.isoformat()}" in (
            text
        )
        assert "References: [" + ", ".join(str(n) for n in entry.refs) + "]" in text
    dose_event = events[0]
    assert str(dose_event["SUMMARY"]) == "B12 dose: hydroxocobalamin 1 mg IM"


def test_calendar_properties_and_label(plans: dict[str, Plan]) -> None:
    cal = Calendar.from_ical(plan_to_ics(plans["pa_uk"], label="Patient 7"))
    assert str(cal["PRODID"]) == PRODID
    assert str(cal["VERSION"]) == "2.0"
    assert str(cal["X-WR-CALNAME"]) == "B12 plan: Patient 7"
    assert str(Calendar.from_ical(plan_to_ics(plans["pa_uk"]))["X-WR-CALNAME"]) == "B12 plan"


def test_deterministic_bytes(plans: dict[str, Plan]) -> None:
    for plan in plans.values():
        assert plan_to_ics(plan, label="x") == plan_to_ics(plan, label="x")
    data = plan_to_ics(plans["pa_uk"])
    assert data.startswith(b"BEGIN:VCALENDAR\r\n")
    assert b"DTSTAMP:20260302T000000Z" in data


def test_plan_without_schedule_gives_an_empty_calendar(plans: dict[str, Plan]) -> None:
    assert _events(plan_to_ics(plans["no_labs"])) == []


def test_dated_monitoring_not_in_the_schedule_gets_its_own_event(plans: dict[str, Plan]) -> None:
    plan = plans["oral_uk"]
    extra = MonitoringOut(
        date=date(2026, 9, 1),
        kind="test",
        tests=("fbc",),
        why="A monitoring reason.",
        refs=(1,),
        recs=("B12-MON-001",),
    )
    with_extra = plan.model_copy(update={"monitoring": (*plan.monitoring, extra)})
    events = _events(plan_to_ics(with_extra))
    assert len(events) == len(plan.schedule) + 1
    last = Calendar.from_ical(plan_to_ics(with_extra)).walk("VEVENT")[-1]
    assert last.decoded("DTSTART") == date(2026, 9, 1)
    assert "A monitoring reason." in str(last["DESCRIPTION"])


def test_label_is_one_escaped_line(plans: dict[str, Plan]) -> None:
    label = "Mrs O'Brien; room 3, bed 2\nnext\x00line – “quoted” ≥ µ"
    data = plan_to_ics(plans["pa_uk"], label=label)
    unfolded = data.decode().replace("\r\n ", "")
    line = next(ln for ln in unfolded.split("\r\n") if ln.startswith("X-WR-CALNAME"))
    assert line == "X-WR-CALNAME:B12 plan: Mrs O'Brien\\; room 3\\, bed 2 next line – “quoted” ≥ µ"
    assert Calendar.from_ical(data).walk("VEVENT")


def test_two_patients_calendars_never_share_event_uids(kb: KnowledgeBase) -> None:
    one = make_plan(kb, "pa_uk")
    later = plan_request({**PICTURES["pa_uk"], "as_of": "2026-03-09"}, kb)[1]
    calendars = [plan_to_ics(one), plan_to_ics(later), plan_to_ics(one, label="Patient 2")]
    uids = [{str(e["UID"]) for e in Calendar.from_ical(c).walk("VEVENT")} for c in calendars]
    assert uids[0]
    assert not uids[0] & uids[1]
    assert not uids[0] & uids[2]
    assert {str(e["UID"]) for e in Calendar.from_ical(plan_to_ics(one)).walk("VEVENT")} == uids[0]


# --- repeating entries (issue 16) ------------------------------------------------------------


def _occurrences(data: bytes) -> list[tuple[date, str]]:
    """Every (date, summary) a calendar application shows: RRULEs expanded by dateutil."""
    out: list[tuple[date, str]] = []
    for event in Calendar.from_ical(data).walk("VEVENT"):
        start = event.decoded("DTSTART")
        summary = str(event["SUMMARY"])
        if "RRULE" not in event:
            out.append((start, summary))
            continue
        raw = event["RRULE"].to_ical()
        text = raw.decode() if isinstance(raw, bytes) else str(raw)
        rule = rrulestr(text, dtstart=datetime.combine(start, time()))
        out.extend((when.date(), summary) for when in rule)
    return sorted(out)


@pytest.mark.parametrize("picture", ["neuro_uk", "leber_uk"])
def test_compact_calendar_recurs_on_exactly_the_dates_of_the_expanded_one(
    kb: KnowledgeBase, picture: str
) -> None:
    plan = _plan(kb, picture)
    compact, expanded = plan_to_ics(plan), plan_to_ics(plan, expand=True)
    listed = expand_schedule(plan.schedule)
    repeating = [e for e in plan.schedule if e.repeat is not None]
    assert repeating
    compact_events = Calendar.from_ical(compact).walk("VEVENT")
    expanded_events = Calendar.from_ical(expanded).walk("VEVENT")
    assert len(compact_events) == len(plan.schedule)
    assert len(expanded_events) == len(listed) > 3 * len(plan.schedule)
    assert not any("RRULE" in e for e in expanded_events)
    assert [e.decoded("DTSTART") for e in expanded_events] == [e.date for e in listed]
    with_rule = [e for e in compact_events if "RRULE" in e]
    assert len(with_rule) == len(repeating)
    for event, entry in zip(with_rule, repeating, strict=True):
        assert entry.repeats is not None
        assert f"Repeats: {entry.repeats}" in str(event["DESCRIPTION"])
    assert _occurrences(compact) == _occurrences(expanded)


def test_an_expanded_calendar_of_a_plan_without_repeating_entries_is_the_same(
    plans: dict[str, Plan],
) -> None:
    plan = plans["pa_uk"]
    assert all(e.repeat is None for e in plan.schedule)
    assert plan_to_ics(plan, expand=True) == plan_to_ics(plan)


def _plan(kb: KnowledgeBase, name: str) -> Plan:
    if name == "leber_uk":
        doc = {"age": 40, "conditions": ["leber_disease"], "labs": {"serum_b12_ng_l": 95}}
        _, result = plan_request({**doc, "as_of": "2026-03-02"}, kb)
        return result
    return make_plan(kb, name)
