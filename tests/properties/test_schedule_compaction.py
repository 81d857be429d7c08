"""Compact schedules (issue 16): the repeating entries stand for exactly the old listing.

An open-ended phase at a fixed rhythm is shown as repeating entries; listing them again
(:func:`b12.core.schedule.expand_schedule`) must give, row for row, the schedule of the
un-compacted algorithm (``compact=False``, the listing before issue 16) — for every regimen of
the knowledge base, any start, horizon and clinic weekdays, and for plans of generated pictures.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from b12.adapters.knowledge_files import load_knowledge_base
from b12.core.dates import WEEKDAYS, add_months, weekday_indexes
from b12.core.errors import InputError
from b12.core.knowledge import KnowledgeBase
from b12.core.picture import parse_picture
from b12.core.plan import PlanOptions, plan
from b12.core.plan_models import Plan
from b12.core.schedule import Slot, build_schedule, expand_schedule, repeat_dates, repeat_out
from tests.properties.strategies import picture_docs

KB = load_knowledge_base()
REGIMENS = sorted(KB.regimens)
STARTS = st.dates(date(1996, 1, 1), date(2099, 12, 31))
HORIZONS = st.integers(1, 72)
#: Three distinct clinic weekdays (a three-times-a-week phase needs exactly three).
CLINIC_DAYS = st.lists(st.sampled_from(WEEKDAYS), min_size=3, max_size=3, unique=True).map(
    lambda days: tuple(d for d in WEEKDAYS if d in days)
)
#: Neurological and special pictures reach the open-ended regimens; the rest keep the others.
SCENARIOS = st.sampled_from(["neuro", "neuro", "special", "neuro_any", "any", "plain"])


Row = tuple[date, str, str, date | None, date | None]


def _listed(slots: tuple[Slot, ...]) -> list[Row]:
    """Slots as rows, a repeating slot listed date by date (the one expansion rule)."""
    out: list[Row] = []
    for s in slots:
        days = [s.date] if s.repeat is None else repeat_dates(s.date, repeat_out(s.repeat))
        out.extend((d, s.kind, s.phase.name, s.earliest, s.latest) for d in days)
    return sorted(out, key=lambda row: (row[0], row[1] != "dose", row[2]))


@settings(max_examples=300, deadline=None)
@given(
    regimen=st.sampled_from(REGIMENS),
    start=STARTS,
    months=HORIZONS,
    clinic=CLINIC_DAYS,
)
def test_every_regimen_expands_to_the_uncompacted_listing(
    regimen: str, start: date, months: int, clinic: tuple[str, ...]
) -> None:
    reg = KB.regimens[regimen]
    end = add_months(start, months)
    days = weekday_indexes(clinic)
    compact = build_schedule(reg, start, end, days)
    old = build_schedule(reg, start, end, days, compact=False)
    assert _listed(compact.slots) == _listed(old.slots)
    assert (compact.continues, compact.undated_phases) == (old.continues, old.undated_phases)
    for s in compact.slots:
        if s.repeat is None:
            continue
        assert s.phase.until is not None, "only open-ended phases are compacted"
        assert s.repeat.count >= 2
        assert s.date < s.repeat.until <= end


@settings(max_examples=150, deadline=None)
@given(
    doc=picture_docs(KB.vocabulary, scenarios=SCENARIOS),
    start=STARTS,
    months=HORIZONS,
    clinic=CLINIC_DAYS,
)
def test_a_plan_expands_to_the_plan_listed_dose_by_dose(
    kb: KnowledgeBase, doc: dict[str, Any], start: date, months: int, clinic: tuple[str, ...]
) -> None:
    doc = {**doc, "start": start.isoformat()}
    try:
        picture = parse_picture(doc, kb)
    except InputError:
        return
    assert picture.as_of is not None
    options = PlanOptions(horizon_months=months, clinic_weekdays=clinic)
    compact = plan(picture, kb, picture.as_of, options)
    listed = plan(
        picture,
        kb,
        picture.as_of,
        PlanOptions(horizon_months=months, clinic_weekdays=clinic, compact_schedule=False),
    )
    assert expand_schedule(compact.schedule) == listed.schedule
    assert _without_schedule(compact) == _without_schedule(listed)
    assert all(e.repeat is None and e.repeats in (None, "daily") for e in listed.schedule)
    for e in compact.schedule:
        if e.repeat is not None:  # says what it stands for, in words too
            assert e.repeats is not None
            assert e.date.isoformat() in e.repeats
            assert e.repeat.until.isoformat() in e.repeats
            assert f"({e.repeat.count} {e.kind}s)" in e.repeats


def _without_schedule(p: Plan) -> dict[str, Any]:
    return p.model_dump(exclude={"schedule"})


@pytest.mark.parametrize("months", [12, 60, 120])
def test_a_neurological_plan_has_a_handful_of_rows_whatever_the_horizon(
    kb: KnowledgeBase, months: int
) -> None:
    doc = {
        "age": 55,
        "deficiency": "confirmed",
        "cause": "pernicious_anaemia",
        "neuro_symptoms": ["paraesthesia"],
        "as_of": "2026-03-02",
    }
    picture = parse_picture(doc, kb)
    compact = plan(picture, kb, date(2026, 3, 2), PlanOptions(horizon_months=months))
    listed = expand_schedule(compact.schedule)
    assert compact.pathway.id == "uk-im-neuro"
    assert len(compact.schedule) <= 100
    assert len(compact.model_dump_json()) <= 40_000
    doses = [e for e in listed if e.kind == "dose"]
    assert len(doses) >= 365 * months // 12 // 2  # every alternate-day dose is still there
