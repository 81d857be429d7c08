"""Course position and due windows (:mod:`b12.core.course`) against the bundled regimens, and
the parsing of order checks and follow-ups (:mod:`b12.core.course_input`), PRODUCT.md §5, §6.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from b12.core.course import Due, expected_doses, locate
from b12.core.course import due_after as _due_after
from b12.core.course_input import parse_follow_up, parse_order_check, resolve_product
from b12.core.errors import InputError
from b12.core.knowledge import KnowledgeBase, Phase, Regimen
from tests.conftest import make_picture

MWF = ("mon", "wed", "fri")
AS_OF = "2026-03-02"
NFI = "no_further_improvement"


def _regimen(kb: KnowledgeBase, rid: str) -> Regimen:
    return kb.regimens[rid]


def _phase(kb: KnowledgeBase, rid: str, name: str) -> Phase:
    return next(p for p in kb.regimens[rid].phases if p.name == name)


def due_after(phase: Phase, last: date, *, shortest: bool = False) -> Due:
    return _due_after(phase, last, MWF, shortest=shortest)


def _every(start: date, step: int, n: int) -> list[date]:
    return [start + timedelta(days=step * i) for i in range(n)]


# --- expected_doses --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rid", "counts"),
    [
        ("UK-HYDROXO-STANDARD", [6, None]),  # three times a week for two weeks, then open
        ("US-CYANO-LABEL", [7, 7, 6, None]),  # 7 daily, 7 alternate-day, 21 days every 3-4 days
        ("US-HYDROXO-LABEL", [10, None]),
        ("UK-HYDROXO-LEBER", [14, None, None]),
        ("UK-HYDROXO-NEURO", [None, None]),  # loading is open-ended: until no improvement
        ("UK-HYDROXO-PROPHYLAXIS", [None]),
        ("UK-CYANO-ORAL-DIET", [None]),
    ],
)
def test_expected_doses_of_each_phase(
    kb: KnowledgeBase, rid: str, counts: list[int | None]
) -> None:
    assert [expected_doses(p) for p in _regimen(kb, rid).phases] == counts


def test_a_duration_phase_on_a_range_counts_doses_at_its_longest_interval(
    kb: KnowledgeBase,
) -> None:
    # Every 3-4 days for 21 days: the fewest doses that fill the phase at the longer spacing,
    # so a course given every 4 days is not told that a dose is missing.
    phase = _phase(kb, "US-CYANO-LABEL", "every-3-4-days")
    assert phase.for_days == 21
    assert expected_doses(phase) == 6  # ceil(21 / 4)
    assert expected_doses(phase.model_copy(update={"suggest": "latest"})) == 6


def test_a_duration_phase_of_months_counts_a_month_as_30_days(kb: KnowledgeBase) -> None:
    phase = _phase(kb, "UK-HYDROXO-STANDARD", "maintenance").model_copy(update={"for_days": 365})
    assert expected_doses(phase) == 5  # ceil(365 / 90)


# --- locate: loading is counted in doses -----------------------------------------------------


def test_no_doses_is_the_start_of_the_first_phase(kb: KnowledgeBase) -> None:
    pos = locate(_regimen(kb, "UK-HYDROXO-STANDARD"), [], [], date(2026, 3, 2))
    assert (pos.phase_index, pos.doses_in_phase, pos.last_dose, pos.phase_started) == (
        0,
        0,
        None,
        None,
    )


def test_six_loading_doses_on_time_move_to_maintenance(kb: KnowledgeBase) -> None:
    reg = _regimen(kb, "UK-HYDROXO-STANDARD")
    loading = [date(2026, 3, d) for d in (2, 4, 6, 9, 11, 13)]
    five = locate(reg, loading[:5], [], date(2026, 3, 12))
    assert (five.phase(reg).name, five.doses_in_phase) == ("loading", 5)
    six = locate(reg, loading, [], date(2026, 3, 14))
    assert six.phase(reg).name == "maintenance"
    assert (six.doses_in_phase, six.last_dose, six.phase_started) == (0, date(2026, 3, 13), None)


def test_a_late_loading_dose_does_not_shorten_loading(kb: KnowledgeBase) -> None:
    # Five doses spread over four weeks: the two-week loading period has passed on the
    # calendar, but only five of its six doses were given, so the patient is still loading.
    reg = _regimen(kb, "UK-HYDROXO-STANDARD")
    late = [date(2026, 3, 2), date(2026, 3, 4), date(2026, 3, 6), date(2026, 3, 20)]
    late.append(date(2026, 3, 30))
    pos = locate(reg, late, [], date(2026, 4, 30))
    assert pos.phase(reg).name == "loading"
    assert (pos.doses_in_phase, pos.last_dose, pos.phase_started) == (
        5,
        date(2026, 3, 30),
        date(2026, 3, 2),
    )
    sixth = locate(reg, [*late, date(2026, 4, 1)], [], date(2026, 4, 30))
    assert sixth.phase(reg).name == "maintenance"


def test_doses_beyond_a_counted_phase_fall_into_the_next_phases(kb: KnowledgeBase) -> None:
    reg = _regimen(kb, "US-CYANO-LABEL")
    doses = _every(date(2026, 3, 2), 1, 7) + _every(date(2026, 3, 10), 2, 7)
    doses += _every(date(2026, 3, 26), 3, 2)
    pos = locate(reg, doses, [], date(2026, 4, 3))
    assert (pos.phase(reg).name, pos.doses_in_phase) == ("every-3-4-days", 2)
    assert pos.phase_started == date(2026, 3, 26)


def test_the_last_phase_absorbs_every_further_dose(kb: KnowledgeBase) -> None:
    reg = _regimen(kb, "US-HYDROXO-LABEL")
    doses = _every(date(2026, 1, 1), 1, 10) + _every(date(2026, 2, 1), 30, 5)
    pos = locate(reg, doses, [], date(2026, 8, 1))
    assert (pos.phase(reg).name, pos.doses_in_phase) == ("maintenance", 5)


# --- locate: open-ended phases ---------------------------------------------------------------


def test_open_ended_phase_is_never_ended_by_doses_or_time(kb: KnowledgeBase) -> None:
    reg = _regimen(kb, "UK-HYDROXO-NEURO")
    doses = _every(date(2026, 3, 2), 2, 40)
    pos = locate(reg, doses, [], date(2027, 3, 2))
    assert (pos.phase(reg).name, pos.doses_in_phase) == ("loading", 40)


def test_open_ended_phase_ignores_other_events(kb: KnowledgeBase) -> None:
    reg = _regimen(kb, "UK-HYDROXO-NEURO")
    doses = _every(date(2026, 3, 2), 2, 10)
    events = [(date(2026, 3, 12), "stable"), (date(2026, 3, 14), "cause_resolved")]
    assert locate(reg, doses, events, date(2026, 4, 1)).phase(reg).name == "loading"


def test_until_event_before_the_phase_began_does_not_end_it(kb: KnowledgeBase) -> None:
    reg = _regimen(kb, "UK-HYDROXO-NEURO")
    doses = _every(date(2026, 3, 2), 2, 10)
    pos = locate(reg, doses, [(date(2026, 3, 1), NFI)], date(2026, 4, 1))
    assert (pos.phase(reg).name, pos.doses_in_phase) == ("loading", 10)


def test_until_event_recorded_after_the_last_dose_ends_the_phase(kb: KnowledgeBase) -> None:
    reg = _regimen(kb, "UK-HYDROXO-NEURO")
    doses = _every(date(2026, 3, 2), 2, 10)  # last dose 20 March
    pos = locate(reg, doses, [(date(2026, 3, 30), NFI)], date(2026, 4, 1))
    assert pos.phase(reg).name == "maintenance"
    assert (pos.doses_in_phase, pos.last_dose, pos.phase_started) == (0, date(2026, 3, 20), None)


def test_until_event_after_as_of_is_not_yet_recorded(kb: KnowledgeBase) -> None:
    reg = _regimen(kb, "UK-HYDROXO-NEURO")
    doses = _every(date(2026, 3, 2), 2, 10)
    pos = locate(reg, doses, [(date(2026, 4, 2), NFI)], date(2026, 4, 1))
    assert pos.phase(reg).name == "loading"


def test_an_until_event_on_a_dose_day_counts_after_that_dose(kb: KnowledgeBase) -> None:
    # The event is recorded at the review that follows the injection given that day.
    reg = _regimen(kb, "UK-HYDROXO-NEURO")
    doses = _every(date(2026, 3, 2), 2, 10)  # 2, 4, ..., 20 March
    pos = locate(reg, doses, [(date(2026, 3, 10), NFI)], date(2026, 4, 1))
    assert pos.phase(reg).name == "maintenance"
    assert (pos.doses_in_phase, pos.phase_started) == (5, date(2026, 3, 12))
    on_last = locate(reg, doses, [(date(2026, 3, 20), NFI)], date(2026, 3, 20))
    assert (on_last.phase(reg).name, on_last.doses_in_phase) == ("maintenance", 0)


def test_doses_after_the_until_event_are_maintenance_doses(kb: KnowledgeBase) -> None:
    reg = _regimen(kb, "UK-HYDROXO-NEURO")
    doses = [*_every(date(2026, 3, 2), 2, 5), date(2026, 5, 11), date(2026, 7, 11)]
    pos = locate(reg, doses, [(date(2026, 3, 20), NFI)], date(2026, 8, 1))
    assert pos.phase(reg).name == "maintenance"
    assert (pos.doses_in_phase, pos.phase_started) == (2, date(2026, 5, 11))


def test_until_event_during_an_earlier_phase_does_not_end_the_open_phase(
    kb: KnowledgeBase,
) -> None:
    # Leber: 14 daily doses, then twice weekly until no further improvement.  An event recorded
    # during the daily phase predates the twice-weekly phase and cannot end it.
    reg = _regimen(kb, "UK-HYDROXO-LEBER")
    doses = [*_every(date(2026, 3, 2), 1, 14), date(2026, 3, 19), date(2026, 3, 23)]
    early = locate(reg, doses, [(date(2026, 3, 5), NFI)], date(2026, 3, 25))
    assert (early.phase(reg).name, early.doses_in_phase) == ("continuation", 2)
    later = locate(reg, doses, [(date(2026, 3, 24), NFI)], date(2026, 3, 25))
    assert later.phase(reg).name == "maintenance"


# --- due_after -------------------------------------------------------------------------------


def test_two_to_three_months_is_a_window_from_the_last_dose(kb: KnowledgeBase) -> None:
    due = due_after(_phase(kb, "UK-HYDROXO-STANDARD", "maintenance"), date(2026, 5, 13))
    assert due == Due(date(2026, 7, 13), date(2026, 7, 13), date(2026, 8, 13))
    assert not due.continuous


def test_month_window_clamps_to_the_end_of_short_months(kb: KnowledgeBase) -> None:
    due = due_after(_phase(kb, "UK-HYDROXO-PROPHYLAXIS", "prophylaxis"), date(2026, 12, 31))
    assert (due.earliest, due.latest) == (date(2027, 2, 28), date(2027, 3, 31))
    leap = due_after(_phase(kb, "UK-HYDROXO-PROPHYLAXIS", "prophylaxis"), date(2027, 12, 31))
    assert leap.earliest == date(2028, 2, 29)


def test_suggest_latest_picks_the_end_of_the_window(kb: KnowledgeBase) -> None:
    phase = _phase(kb, "UK-HYDROXO-STANDARD", "maintenance").model_copy(
        update={"suggest": "latest"}
    )
    due = due_after(phase, date(2026, 5, 13))
    assert due == Due(date(2026, 8, 13), date(2026, 7, 13), date(2026, 8, 13))


def test_fixed_interval_is_a_single_day(kb: KnowledgeBase) -> None:
    assert due_after(_phase(kb, "US-CYANO-MAINT", "prophylaxis"), date(2026, 1, 31)) == Due(
        date(2026, 2, 28), date(2026, 2, 28), date(2026, 2, 28)
    )
    alternate = due_after(_phase(kb, "US-CYANO-LABEL", "alternate-days"), date(2026, 3, 2))
    assert alternate == Due(date(2026, 3, 4), date(2026, 3, 4), date(2026, 3, 4))


def test_day_range_is_a_window(kb: KnowledgeBase) -> None:
    due = due_after(_phase(kb, "US-CYANO-LABEL", "every-3-4-days"), date(2026, 3, 2))
    assert due == Due(date(2026, 3, 5), date(2026, 3, 5), date(2026, 3, 6))


@pytest.mark.parametrize(
    ("last", "expected"),
    [
        (date(2026, 3, 2), date(2026, 3, 4)),  # Monday → Wednesday
        (date(2026, 3, 4), date(2026, 3, 6)),  # Wednesday → Friday
        (date(2026, 3, 6), date(2026, 3, 9)),  # Friday → next Monday
        (date(2026, 3, 3), date(2026, 3, 4)),  # Tuesday → Wednesday
        (date(2026, 3, 7), date(2026, 3, 9)),  # Saturday → Monday
        (date(2026, 3, 8), date(2026, 3, 9)),  # Sunday → Monday
    ],
)
def test_three_times_a_week_is_due_on_the_next_clinic_day(
    kb: KnowledgeBase, last: date, expected: date
) -> None:
    due = due_after(_phase(kb, "UK-HYDROXO-STANDARD", "loading"), last)
    assert due == Due(expected, expected, expected)


def test_clinic_weekdays_are_configurable(kb: KnowledgeBase) -> None:
    phase = _phase(kb, "UK-HYDROXO-STANDARD", "loading")
    due = _due_after(phase, date(2026, 3, 2), ("tue", "thu", "sat"))
    assert due.date == date(2026, 3, 3)


def test_a_phase_with_its_own_weekdays_ignores_the_clinic_days(kb: KnowledgeBase) -> None:
    phase = _phase(kb, "UK-HYDROXO-LEBER", "continuation")  # twice weekly, Monday and Thursday
    assert due_after(phase, date(2026, 3, 2)).date == date(2026, 3, 5)
    assert due_after(phase, date(2026, 3, 5)).date == date(2026, 3, 9)


@pytest.mark.parametrize(
    ("rid", "name"),
    [
        ("UK-HYDROXO-STANDARD", "maintenance"),
        ("UK-HYDROXO-PROPHYLAXIS", "prophylaxis"),
        ("US-CYANO-LABEL", "every-3-4-days"),
    ],
)
def test_shortest_collapses_the_window_to_its_first_day(
    kb: KnowledgeBase, rid: str, name: str
) -> None:
    phase = _phase(kb, rid, name)
    normal = due_after(phase, date(2026, 5, 13))
    short = due_after(phase, date(2026, 5, 13), shortest=True)
    assert normal.earliest < normal.latest
    assert short == Due(normal.earliest, normal.earliest, normal.earliest)


@pytest.mark.parametrize(
    "rid",
    ["UK-CYANO-ORAL-DIET", "UK-CYANO-ORAL-MALABS", "US-CYANO-ORAL-HIGH", "US-CYANO-ORAL-BARIATRIC"],
)
def test_daily_oral_is_continuous(kb: KnowledgeBase, rid: str) -> None:
    phase = _regimen(kb, rid).phases[0]
    for shortest in (False, True):
        due = due_after(phase, date(2026, 3, 2), shortest=shortest)
        assert due == Due(date(2026, 3, 3), date(2026, 3, 3), date(2026, 3, 3), continuous=True)


# --- parsing ---------------------------------------------------------------------------------


def _order(**overrides: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "drug": "hydroxocobalamin",
        "dose": {"value": 1, "unit": "mg"},
        "route": "im",
    }
    order.update(overrides)
    return order


def _given(day: str, **overrides: Any) -> dict[str, Any]:
    given: dict[str, Any] = {"date": day, **_order()}
    given.update(overrides)
    return given


def _check_doc(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"picture": make_picture(), "order": _order()}
    doc.update(overrides)
    return doc


def _follow_doc(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"picture": make_picture()}
    doc.update(overrides)
    return doc


def _problems(fn: Any, doc: Any, kb: KnowledgeBase) -> list[tuple[str, str]]:
    with pytest.raises(InputError) as info:
        fn(doc, kb)
    return [(p.field, p.message) for p in info.value.problems]


@pytest.mark.parametrize(
    ("unit", "canonical", "micrograms"),
    [
        ("mcg", "mcg", 500),
        ("ug", "mcg", 500),
        ("µg", "mcg", 500),  # micro sign U+00B5
        ("μg", "mcg", 500),  # Greek mu U+03BC
        ("MCG", "mcg", 500),
        (" ug ", "mcg", 500),
        ("mg", "mg", 500_000),
        ("MG", "mg", 500_000),
    ],
)
def test_dose_units(kb: KnowledgeBase, unit: str, canonical: str, micrograms: float) -> None:
    req = parse_order_check(_check_doc(order=_order(dose={"value": 500, "unit": unit})), kb)
    assert req.order.dose.unit == canonical
    assert req.order.dose.micrograms == micrograms


def test_history_doses_are_kept_in_micrograms(kb: KnowledgeBase) -> None:
    doc = _follow_doc(
        history=[
            _given("2026-03-01", dose={"value": 1, "unit": "mg"}),
            _given("2026-02-01", dose={"value": 100, "unit": "µg"}),
        ]
    )
    req = parse_follow_up(doc, kb)
    assert [(d.date, d.micrograms) for d in req.history] == [
        (date(2026, 2, 1), 100),
        (date(2026, 3, 1), 1000),
    ]


@pytest.mark.parametrize("unit", ["tablets", "ml", "g", "iu", "", "micrograms"])
def test_unknown_unit_names_the_field(kb: KnowledgeBase, unit: str) -> None:
    doc = _check_doc(order=_order(dose={"value": 1, "unit": unit}))
    [(field, message)] = _problems(parse_order_check, doc, kb)
    assert field == "order.dose.unit"
    assert "unknown unit" in message


@pytest.mark.parametrize("value", [0, -1, -0.5, 0.0])
def test_zero_or_negative_dose_names_the_field(kb: KnowledgeBase, value: float) -> None:
    doc = _check_doc(order=_order(dose={"value": value, "unit": "mg"}))
    [(field, _)] = _problems(parse_order_check, doc, kb)
    assert field == "order.dose.value"


@pytest.mark.parametrize(
    ("order", "field"),
    [
        (_order(dose={"value": True, "unit": "mg"}), "order.dose.value"),
        (_order(every_days=True), "order.every_days"),
    ],
    ids=["dose-true", "every-days-true"],
)
def test_a_json_boolean_is_not_a_number(
    kb: KnowledgeBase, order: dict[str, Any], field: str
) -> None:
    # ``true`` must not be read as 1 (1 mg is the usual dose, so the order would pass as ok).
    [(problem, _)] = _problems(parse_order_check, _check_doc(order=order), kb)
    assert problem == field


def test_bad_dose_in_history_and_other_orders_names_the_item(kb: KnowledgeBase) -> None:
    doc = _check_doc(
        other_orders=[_order(), _order(dose={"value": 0, "unit": "mg"})],
        history=[_given("2026-03-01", dose={"value": 1, "unit": "tablets"})],
    )
    fields = {f for f, _ in _problems(parse_order_check, doc, kb)}
    assert fields == {"other_orders[1].dose.value", "history[0].dose.unit"}


def test_frequency_sets_the_interval(kb: KnowledgeBase) -> None:
    intervals = {
        name: parse_order_check(_check_doc(order=_order(frequency=name)), kb).order.interval_days
        for name in ("once", "daily", "alternate_days", "three_times_weekly", "every_3_months")
    }
    assert intervals == {
        "once": None,
        "daily": 1.0,
        "alternate_days": 2.0,
        "three_times_weekly": 2.33,
        "every_3_months": 91.32,
    }
    every = parse_order_check(_check_doc(order=_order(every_days=60)), kb).order
    assert every.interval_days == 60.0
    assert parse_order_check(_check_doc(), kb).order.interval_days is None


def test_unknown_frequency_names_the_field(kb: KnowledgeBase) -> None:
    [(field, message)] = _problems(
        parse_order_check, _check_doc(order=_order(frequency="hourly")), kb
    )
    assert field == "order.frequency"
    assert "unknown frequency 'hourly'" in message
    assert "every_3_months" in message


def test_unknown_frequency_of_another_order_names_it(kb: KnowledgeBase) -> None:
    doc = _check_doc(other_orders=[_order(frequency="fortnightly")])
    [(field, _)] = _problems(parse_order_check, doc, kb)
    assert field == "other_orders[0].frequency"


def test_every_days_and_frequency_together_is_an_error(kb: KnowledgeBase) -> None:
    doc = _check_doc(order=_order(frequency="monthly", every_days=30))
    [(field, message)] = _problems(parse_order_check, doc, kb)
    assert field == "order.frequency"
    assert "not both" in message


@pytest.mark.parametrize("every_days", [0, -7, 367, 1.5, "weekly"])
def test_every_days_out_of_range_names_the_field(kb: KnowledgeBase, every_days: Any) -> None:
    doc = _check_doc(order=_order(every_days=every_days))
    [(field, _)] = _problems(parse_order_check, doc, kb)
    assert field == "order.every_days"


@pytest.mark.parametrize("fn", [parse_order_check, parse_follow_up])
def test_history_after_as_of_names_each_date(kb: KnowledgeBase, fn: Any) -> None:
    history = [_given("2026-03-01"), _given("2026-03-03"), _given("2026-04-01")]
    doc = _check_doc(history=history) if fn is parse_order_check else _follow_doc(history=history)
    problems = _problems(fn, doc, kb)
    assert [f for f, _ in problems] == ["history[1].date", "history[2].date"]
    assert all("after as_of (2026-03-02)" in m for _, m in problems)


def test_a_dose_on_as_of_is_allowed(kb: KnowledgeBase) -> None:
    req = parse_follow_up(_follow_doc(history=[_given(AS_OF)]), kb)
    assert req.history[0].date == date(2026, 3, 2)


def test_as_of_of_the_document_beats_the_picture(kb: KnowledgeBase) -> None:
    doc = _follow_doc(history=[_given("2026-03-10")], as_of="2026-03-10")
    assert parse_follow_up(doc, kb).as_of == date(2026, 3, 10)
    picture = make_picture()
    del picture["as_of"]
    with pytest.raises(InputError) as info:
        parse_follow_up({"picture": picture}, kb)
    assert [p.field for p in info.value.problems] == ["as_of"]
    assert parse_follow_up({"picture": picture}, kb, date(2026, 1, 1)).as_of == date(2026, 1, 1)


def test_events_after_as_of_name_each_date(kb: KnowledgeBase) -> None:
    events = [
        {"date": "2026-03-03", "kind": "stable"},
        {"date": "2026-03-01", "kind": "stable"},
        {"date": "2027-01-01", "kind": "no_further_improvement"},
    ]
    problems = _problems(parse_follow_up, _follow_doc(events=events), kb)
    assert [f for f, _ in problems] == ["events[0].date", "events[2].date"]


def test_unknown_event_kind_names_the_field(kb: KnowledgeBase) -> None:
    doc = _follow_doc(events=[{"date": "2026-03-01", "kind": "feeling_better"}])
    [(field, _)] = _problems(parse_follow_up, doc, kb)
    assert field == "events[0].kind"


def test_events_are_sorted_by_date(kb: KnowledgeBase) -> None:
    events = [
        {"date": "2026-02-01", "kind": "stable"},
        {"date": "2026-01-01", "kind": "new_neuro_symptoms"},
    ]
    req = parse_follow_up(_follow_doc(events=events), kb)
    assert [(e.date, e.kind) for e in req.events] == [
        (date(2026, 1, 1), "new_neuro_symptoms"),
        (date(2026, 2, 1), "stable"),
    ]


@pytest.mark.parametrize("fn", [parse_order_check, parse_follow_up])
def test_unknown_history_product_names_the_field(kb: KnowledgeBase, fn: Any) -> None:
    history = [_given("2026-03-01"), _given("2026-03-01", drug="B12 jab")]
    doc = _check_doc(history=history) if fn is parse_order_check else _follow_doc(history=history)
    [(field, message)] = _problems(fn, doc, kb)
    assert field == "history[1].drug"
    assert "unknown product 'B12 jab'" in message
    assert "hydroxocobalamin" in message


def test_history_problems_are_reported_together(kb: KnowledgeBase) -> None:
    doc = _follow_doc(history=[_given("2026-04-01", drug="vitamin b12")])
    assert {f for f, _ in _problems(parse_follow_up, doc, kb)} == {
        "history[0].drug",
        "history[0].date",
    }


@pytest.mark.parametrize(
    ("name", "product", "kind"),
    [
        ("hydroxocobalamin", "hydroxocobalamin", "b12"),
        ("Hydroxocobalamin", "hydroxocobalamin", "b12"),
        ("HYDROXYCOBALAMIN", "hydroxocobalamin", "b12"),
        ("Hydroxocobalamin Acetate", "hydroxocobalamin", "b12"),
        ("  hydroxocobalamin   acetate ", "hydroxocobalamin", "b12"),
        ("Cyanocobalamine", "cyanocobalamin", "b12"),
        ("MeCobalamin", "methylcobalamin", "b12"),
        ("Dibencozide", "adenosylcobalamin", "b12"),
        ("Folic Acid", "folic_acid", "folate"),
        ("FOLIC_ACID", "folic_acid", "folate"),
        ("folate", "folic_acid", "folate"),
    ],
)
def test_product_names_and_aliases_ignore_case_and_spacing(
    kb: KnowledgeBase, name: str, product: str, kind: str
) -> None:
    resolved = resolve_product(name, kb)
    assert (resolved.name, resolved.kind, resolved.given_as) == (product, kind, name)


@pytest.mark.parametrize(
    "name", ["vitamin B12", "B12", "cobalamin", "hydroxo", "Neo-Cytamen 1mg", "cyanocobalamin x"]
)
def test_free_text_product_stays_unknown(kb: KnowledgeBase, name: str) -> None:
    resolved = resolve_product(name, kb)
    assert (resolved.name, resolved.kind) == ("unknown", "unknown")
    req = parse_order_check(_check_doc(order=_order(drug=name)), kb)
    assert req.order.product.name == "unknown"
    assert req.order.product.given_as == name


@pytest.mark.parametrize("drug", ["", "x" * 201])
def test_empty_or_overlong_drug_name_names_the_field(kb: KnowledgeBase, drug: str) -> None:
    [(field, _)] = _problems(parse_order_check, _check_doc(order=_order(drug=drug)), kb)
    assert field == "order.drug"


def test_order_start_defaults_to_as_of(kb: KnowledgeBase) -> None:
    assert parse_order_check(_check_doc(), kb).order.start == date(2026, 3, 2)
    later = parse_order_check(_check_doc(order=_order(start="2026-04-01")), kb)
    assert later.order.start == date(2026, 4, 1)


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"picture": make_picture()}, "order"),
        ({"order": _order()}, "picture"),
        ({"picture": make_picture(age=300), "order": _order()}, "picture.age"),
        ({"picture": make_picture(), "order": _order(), "extra": 1}, "extra"),
        ({"picture": make_picture(), "order": _order(site="buttock")}, "order.site"),
        ({"picture": make_picture(), "order": _order(route="rectal")}, "order.route"),
        ({"picture": make_picture(), "order": _order(start="2026-02-30")}, "order.start"),
    ],
)
def test_order_check_shape_problems_name_the_field(
    kb: KnowledgeBase, doc: dict[str, Any], field: str
) -> None:
    assert field in {f for f, _ in _problems(parse_order_check, doc, kb)}


@pytest.mark.parametrize("raw", [None, [], "order", 3])
def test_a_non_object_is_an_input_error(kb: KnowledgeBase, raw: Any) -> None:
    for fn in (parse_order_check, parse_follow_up):
        assert _problems(fn, raw, kb) == [("input", "expected a JSON object")]
