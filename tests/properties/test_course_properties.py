"""Safety invariants of the order check and the follow-up (PRODUCT.md §5, §6, §8).

Each test states one invariant (or a few about the same output, checked on one generated
document to keep the run short) over generated OrderCheck and FollowUp documents
(:mod:`tests.properties.course_strategies`, built from the knowledge base's own vocabulary, so
every generated document is valid input unless the test says it is junk).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from b12.adapters.knowledge_files import load_knowledge_base
from b12.core.course_input import (
    FollowUpRequest,
    OrderCheckRequest,
    parse_follow_up,
    parse_order_check,
)
from b12.core.course_models import FollowUpResult, OrderCheckResult
from b12.core.dates import add_months
from b12.core.errors import InputError
from b12.core.follow_up import follow_up
from b12.core.knowledge import KnowledgeBase
from b12.core.order_check import check_order
from b12.core.plan_models import ReferenceOut
from b12.core.requests import follow_up_request, order_check_request
from tests.properties.course_strategies import (
    RESTART_KINDS,
    course_junk,
    follow_up_docs,
    mutated_course_docs,
    order_check_docs,
    shuffled_course,
)

# The strategies need the vocabulary when the module is imported; the engine uses the fixture.
VOCAB = load_knowledge_base().vocabulary
CHECKS = order_check_docs(VOCAB)
FOLLOW_UPS = follow_up_docs(VOCAB)
VERDICT_RANK = {"ok": 0, "warn": 1, "stop": 2}
RESTART_ADVICE = frozenset({"NEURO_RELOAD", "ESCALATE_OR_SWITCH_TO_IM"})


class Engine:
    """The bundled knowledge base with a short repr, so falsifying examples stay readable."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb

    def __repr__(self) -> str:
        return f"Engine({self.kb.content_version})"

    def check(self, doc: dict[str, Any]) -> tuple[OrderCheckRequest, OrderCheckResult]:
        req = parse_order_check(doc, self.kb)
        return req, check_order(req, self.kb)

    def follow(self, doc: dict[str, Any]) -> tuple[FollowUpRequest, FollowUpResult]:
        req = parse_follow_up(doc, self.kb)
        return req, follow_up(req, self.kb)


@pytest.fixture(scope="module")
def engine(kb: KnowledgeBase) -> Engine:
    return Engine(kb)


INJECTION_ROUTES = frozenset({"im", "deep_sc", "sc", "iv"})


def _family(route: str) -> str:
    return "injection" if route in INJECTION_ROUTES else "oral"


def _last_b12_dose(
    req: FollowUpRequest | OrderCheckRequest, route: str, reading: Any = None
) -> date | None:
    """The last B12 dose given by the same kind of route (injection or by mouth) as ``route``.

    Only those count towards a course by that route: an injection course is not dated from
    tablets, nor an oral course from an injection.
    """
    days = [
        d.date
        for d in req.history
        if d.product.kind == "b12" and _family(d.route) == _family(route)
    ]
    declared = getattr(req, "declared", None)
    used = reading is not None and reading.basis == "declared"
    if used and declared is not None and declared.stage != "maintenance":
        days.append(declared.since)  # a declared course end is the date of its last dose
    return max(days) if days else None


# --- follow-up: next dose --------------------------------------------------------------------


def _next_due_is_never_before_the_last_dose_and_lies_in_its_window(
    req: FollowUpRequest, r: FollowUpResult
) -> None:
    if r.next_due is None:
        assert r.regimen is None
        return
    due = r.next_due
    assert due.earliest <= due.date <= due.latest, (
        f"{due.date} outside [{due.earliest}, {due.latest}]"
    )
    if due.continuous:
        assert due.earliest == due.date == due.latest
    assert r.regimen is not None
    last = _last_b12_dose(req, r.regimen.route, r.course)
    if last is None:
        return
    floor = last
    if RESTART_ADVICE & {a.code for a in r.advice}:
        # A restart moves the course start to the event; the next dose is never before it.
        restarts = [e.date for e in req.events if e.kind in RESTART_KINDS]
        assert restarts, "restart advice without a restart event"
        floor = min(last, min(restarts))
    assert due.date >= floor, f"next dose {due.date} is before the last dose given {floor}"


def _overdue_days_count_from_the_latest_acceptable_date(
    req: FollowUpRequest, r: FollowUpResult
) -> None:
    assert r.overdue_days >= 0
    if r.next_due is None or r.next_due.continuous:
        assert r.overdue_days == 0
    else:
        assert r.overdue_days == max(0, (req.as_of - r.next_due.latest).days)


def _phase_and_dose_count_come_from_the_regimen_and_the_doses_given(
    kb: KnowledgeBase, req: FollowUpRequest, r: FollowUpResult
) -> None:
    if r.regimen is None:
        assert (r.phase, r.phase_kind, r.doses_in_phase) == (None, None, 0)
        return
    phases = {p.name: p.kind for p in kb.regimens[r.regimen.id].phases}
    assert r.phase in phases
    assert r.phase_kind == phases[r.phase]
    assert 0 <= r.doses_in_phase <= sum(1 for d in req.history if d.product.kind == "b12")


@given(doc=FOLLOW_UPS)
def test_next_dose_window_overdue_days_and_phase(engine: Engine, doc: dict[str, Any]) -> None:
    """Three invariants of the course position, checked on one generated follow-up each."""
    req, r = engine.follow(doc)
    _next_due_is_never_before_the_last_dose_and_lies_in_its_window(req, r)
    _overdue_days_count_from_the_latest_acceptable_date(req, r)
    _phase_and_dose_count_come_from_the_regimen_and_the_doses_given(engine.kb, req, r)


NEURO_PICTURE = {"age": 60, "deficiency": "confirmed", "neuro_symptoms": ["paraesthesia"]}
IM_1MG = {"drug": "hydroxocobalamin", "dose": {"value": 1, "unit": "mg"}, "route": "im"}


@settings(max_examples=150)
@given(doc=FOLLOW_UPS)
@example(  # no loading dose given yet
    doc={
        "picture": {**NEURO_PICTURE, "as_of": "2026-03-02"},
        "events": [{"date": "2026-03-01", "kind": "no_further_improvement"}],
    }
)
@example(  # loading ended, then restarted by new symptoms
    doc={
        "picture": {**NEURO_PICTURE, "as_of": "2026-03-20"},
        "history": [{"date": d, **IM_1MG} for d in ("2026-03-02", "2026-03-04")],
        "events": [
            {"date": "2026-03-06", "kind": "no_further_improvement"},
            {"date": "2026-03-10", "kind": "new_neuro_symptoms"},
        ],
    }
)
def test_move_to_maintenance_advice_agrees_with_the_phase(
    engine: Engine, doc: dict[str, Any]
) -> None:
    """The advice that the open-ended phase has ended never comes with that phase current."""
    _, r = engine.follow(doc)
    if "MOVE_TO_MAINTENANCE" not in {a.code for a in r.advice}:
        return
    assert r.regimen is not None
    phase = next(p for p in engine.kb.regimens[r.regimen.id].phases if p.name == r.phase)
    assert phase.until != "no_further_improvement", (
        f"advice says the {phase.name} phase has ended, but the course is still in it "
        f"({r.doses_in_phase} doses; next dose {r.next_due})"
    )


# --- order check: timing and verdict ---------------------------------------------------------


def _order_timing_agrees_with_its_due_window(req: OrderCheckRequest, r: OrderCheckResult) -> None:
    t = r.timing
    last = _last_b12_dose(req, req.order.route, r.course)
    if req.order.product.kind != "b12":
        assert t.status == "not_applicable"
    if t.status == "not_judged":
        assert t.days_off == 0
        assert r.verdict != "ok"
        return
    if t.status in ("not_applicable", "first_dose"):
        assert t.due is None
        assert t.days_off == 0
        if t.status == "first_dose":
            assert r.course is None or r.course.last_dose is None
            if not req.events:  # an event (new neurological symptoms) may start a new course
                assert last is None
        return
    assert t.due is not None
    assert last is not None
    assert t.due.earliest <= t.due.date <= t.due.latest
    assert t.due.date > last, f"next dose {t.due.date} not after the last dose {last}"
    start = req.order.start
    if t.status == "early":
        assert t.days_off == (t.due.earliest - start).days > 0
    elif t.status == "late":
        assert t.days_off == (start - t.due.latest).days > 0
    else:
        assert t.days_off == 0
        assert t.due.continuous or t.due.earliest <= start <= t.due.latest


def _verdict_is_the_most_severe_alert(r: OrderCheckResult) -> None:
    severities = Counter(a.severity for a in r.alerts)
    if r.verdict == "stop":
        assert severities["stop"] >= 1
    elif r.verdict == "warn":
        assert severities["stop"] == 0
        assert severities["warning"] >= 1
    else:
        assert r.verdict == "ok"
        assert severities["stop"] == severities["warning"] == 0
    codes = [a.code for a in r.alerts]
    assert len(codes) == len(set(codes)), f"an alert code appears twice: {codes}"


@given(doc=CHECKS)
@example(  # an order dated the day before a dose already on record: its timing is not judged
    doc={
        "picture": {
            "age": 16,
            "deficiency": "at_risk",
            "conditions": ["total_gastrectomy"],
            "as_of": "2000-01-01",
        },
        "order": {**IM_1MG, "dose": {"value": 1, "unit": "mcg"}, "start": "1999-12-31"},
        "history": [{"date": d, **IM_1MG} for d in ("1999-10-04", "1999-11-01", "2000-01-01")],
    }
)
def test_order_timing_agrees_with_its_window_and_the_verdict_with_the_alerts(
    engine: Engine, doc: dict[str, Any]
) -> None:
    """Every stop verdict has a stop alert, every warn a warning, ok neither."""
    req, r = engine.check(doc)
    _order_timing_agrees_with_its_due_window(req, r)
    _verdict_is_the_most_severe_alert(r)


@settings(max_examples=200)
@given(doc=CHECKS)
def test_an_early_dose_is_a_warning_never_a_stop(engine: Engine, doc: dict[str, Any]) -> None:
    """Timing alone never stops an order: the early order's verdict is that of the same order
    placed on its due date, raised to at most ``warn``."""
    req, r = engine.check(doc)
    early = [a for a in r.alerts if a.code == "INTERVAL_EARLY"]
    assert all(a.severity != "stop" for a in early), "INTERVAL_EARLY raised as a stop"
    if r.timing.status != "early":
        assert not early
        return
    assert r.timing.due is not None
    assert early, "an early order without the INTERVAL_EARLY alert"
    on_time_doc = {**doc, "order": {**doc["order"], "start": r.timing.due.date.isoformat()}}
    if "events" in doc:  # the same course: no event after the early order's date joins it
        day = req.order.start.isoformat()
        on_time_doc["events"] = [e for e in doc["events"] if e["date"] <= day]
    _, on_time = engine.check(on_time_doc)
    assert on_time.timing.status == "on_time"
    expected = max(on_time.verdict, "warn", key=VERDICT_RANK.__getitem__)
    assert r.verdict == expected, (
        f"on its due date the order is {on_time.verdict!r}; early it is {r.verdict!r}"
    )
    others = {a.code: a.severity for a in r.alerts if a.code != "INTERVAL_EARLY"}
    assert others == {a.code: a.severity for a in on_time.alerts}


# --- courses that begin part-way: one course model, never ok unjudged --------------------------

SCHEDULED_DRUGS = frozenset({"hydroxocobalamin", "cyanocobalamin"})
JUDGED = frozenset({"first_dose", "early", "on_time", "late"})


@settings(max_examples=300)
@given(doc=CHECKS)
@example(  # issue 11 §3: 6 days after a maintenance dose, B12 110, no stated status
    doc={
        "picture": {"age": 64, "as_of": "2026-03-09", "labs": {"serum_b12_ng_l": 110}},
        "order": {
            **{"drug": "hydroxocobalamin", "dose": {"value": 1, "unit": "mg"}},
            "route": "im",
        },
        "history": [
            {
                "date": "2025-12-03",
                "drug": "hydroxocobalamin",
                "dose": {"value": 1, "unit": "mg"},
                "route": "im",
            },
            {
                "date": "2026-03-03",
                "drug": "hydroxocobalamin",
                "dose": {"value": 1, "unit": "mg"},
                "route": "im",
            },
        ],
    }
)
@example(  # no status and no result: no regimen, so the timing cannot be judged
    doc={
        "picture": {"age": 64, "as_of": "2026-03-09"},
        "order": {"drug": "hydroxocobalamin", "dose": {"value": 1, "unit": "mg"}, "route": "im"},
        "history": [
            {
                "date": "2026-03-03",
                "drug": "hydroxocobalamin",
                "dose": {"value": 1, "unit": "mg"},
                "route": "im",
            },
        ],
    }
)
def test_order_check_with_history_never_says_ok_with_timing_not_judged(
    engine: Engine, doc: dict[str, Any]
) -> None:
    """An order for a scheduled B12 product with B12 doses on record is either timed (first
    dose, early, on time, late) or ``not_judged`` with the TIMING_NOT_JUDGED warning, so never
    ``ok`` for a timing nobody checked."""
    req, r = engine.check(doc)
    history = any(d.product.kind == "b12" for d in req.history)
    if not (history and req.order.product.name in SCHEDULED_DRUGS):
        return
    assert r.timing.status != "not_applicable", "a scheduled B12 order with history untimed"
    if r.timing.status not in JUDGED:
        assert r.timing.status == "not_judged"
        codes = {a.code: a.severity for a in r.alerts}
        assert codes.get("TIMING_NOT_JUDGED") == "warning", codes
        assert r.verdict != "ok"


def _as_follow_up(doc: dict[str, Any], start: date) -> dict[str, Any]:
    """The follow-up of the order check's course on the order's start date."""
    day = start.isoformat()
    follow: dict[str, Any] = {
        "picture": doc["picture"],
        "history": [h for h in doc.get("history", []) if h["date"] <= day],
        "events": [e for e in doc.get("events", []) if e["date"] <= day],
        "as_of": day,
    }
    if "course" in doc:
        follow["course"] = doc["course"]
    return follow


@settings(max_examples=300)
@given(doc=CHECKS)
def test_the_order_check_and_the_follow_up_read_the_same_course(
    engine: Engine, doc: dict[str, Any]
) -> None:
    """One course model: an order timed against the course gives the phase, reading and due
    window the follow-up gives for the same picture, doses, events and declared course on the
    order's start date (when the order is by the kind of route of the last dose)."""
    req, r = engine.check(doc)
    start = req.order.start
    if r.timing.status not in ("early", "on_time", "late") or start < max(
        (d.date for d in req.history), default=start
    ):
        return
    given = [d for d in req.history if d.product.kind == "b12"]
    if not given or _family(given[-1].route) != _family(req.order.route):
        return
    try:
        _, f = engine.follow(_as_follow_up(doc, start))
    except InputError:  # the order starts before an event or the declared date
        return
    assert f.next_due is not None
    if f.next_due.continuous:
        return
    assert r.timing.due is not None
    assert (r.timing.due.earliest, r.timing.due.date, r.timing.due.latest) == (
        f.next_due.earliest,
        f.next_due.date,
        f.next_due.latest,
    )
    assert r.timing.phase == f.phase
    assert r.course == f.course


@settings(max_examples=300)
@given(doc=FOLLOW_UPS)
def test_a_declared_or_inferred_interval_never_dates_a_dose_later_than_the_regimen(
    engine: Engine, doc: dict[str, Any]
) -> None:
    """The patient's own interval sets the date inside the regimen's window, or earlier; never
    later than the regimen's longest interval after the last dose.  A declared course (not
    restarted by an event) is in the phase after loading; an inferred one read the doses."""
    _, r = engine.follow(doc)
    if r.course is None or r.regimen is None or r.next_due is None:
        return
    regimen = engine.kb.regimens[r.regimen.id]
    phase = next(p for p in regimen.phases if p.name == r.phase)
    if r.course.basis == "declared":
        assert phase.kind != "loading" or len(regimen.phases) == 1, (r.phase, r.course)
    if r.course.basis == "inferred":
        assert r.course.every_months is not None
        assert r.course.every_months >= 1
        assert r.course.doses_read >= 2
        assert phase.kind != "loading"
    last = r.course.last_dose
    if r.course.basis in ("declared", "inferred") and last and phase.every_months is not None:
        assert r.next_due.latest <= add_months(last, phase.every_months.max)
        assert r.next_due.date <= r.next_due.latest


# --- citations -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Item:
    where: str
    refs: tuple[int, ...]
    recs: tuple[str, ...]


def _check_items(r: OrderCheckResult) -> Iterator[_Item]:
    for i, alert in enumerate(r.alerts):
        yield _Item(f"alerts[{i}] {alert.code}", alert.refs, alert.recs)
    for i, dis in enumerate(r.disagreements):
        for j, pos in enumerate(dis.positions):
            yield _Item(f"disagreements[{i}].positions[{j}]", pos.refs, dis.recs)


def _follow_items(r: FollowUpResult) -> Iterator[_Item]:
    for i, advice in enumerate(r.advice):
        yield _Item(f"advice[{i}] {advice.code}", advice.refs, advice.recs)
    for i, alert in enumerate(r.alerts):
        yield _Item(f"alerts[{i}] {alert.code}", alert.refs, alert.recs)
    for i, miss in enumerate(r.missing):
        yield _Item(f"missing[{i}] {miss.field}", miss.refs, miss.recs)


def _assert_cited(
    kb: KnowledgeBase, items: Iterator[_Item], references: tuple[ReferenceOut, ...]
) -> None:
    numbers = [ref.n for ref in references]
    assert numbers == list(range(1, len(numbers) + 1)), "references are not numbered 1..N"
    for ref in references:
        assert ref.source_id in kb.sources, ref.source_id
    for item in items:
        assert item.recs, f"{item.where} names no recommendation"
        assert item.refs, f"{item.where} has no references"
        for rec_id in item.recs:
            assert rec_id in kb.recommendations, f"{item.where}: unknown {rec_id}"
            assert kb.recommendations[rec_id].status == "approved", f"{item.where}: {rec_id}"
        for n in item.refs:
            assert 1 <= n <= len(numbers), f"{item.where}: reference [{n}] does not exist"


@settings(max_examples=200)
@given(doc=CHECKS)
def test_every_order_alert_cites_approved_recommendations_and_valid_references(
    engine: Engine, doc: dict[str, Any]
) -> None:
    _, r = engine.check(doc)
    _assert_cited(engine.kb, _check_items(r), r.references)
    assert all(rec.status == "approved" for rec in r.recommendations)
    assert {rid for a in r.alerts for rid in a.recs} <= {rec.id for rec in r.recommendations}
    assert (r.review_status, r.review_banner) == ("approved", None)
    assert r.disclaimer


@settings(max_examples=200)
@given(doc=FOLLOW_UPS)
def test_every_advice_and_alert_cites_approved_recommendations_and_valid_references(
    engine: Engine, doc: dict[str, Any]
) -> None:
    _, r = engine.follow(doc)
    _assert_cited(engine.kb, _follow_items(r), r.references)
    assert all(rec.status == "approved" for rec in r.recommendations)
    used = {rec.id for rec in r.recommendations}
    assert {rid for item in _follow_items(r) for rid in item.recs} <= used
    assert (r.review_status, r.review_banner) == ("approved", None)
    assert r.disclaimer


# --- determinism -----------------------------------------------------------------------------


@settings(max_examples=150)
@given(data=st.data(), doc=CHECKS)
def test_order_check_is_byte_identical_for_the_same_and_for_shuffled_input(
    engine: Engine, data: st.DataObject, doc: dict[str, Any]
) -> None:
    first = order_check_request(doc, engine.kb).model_dump_json()
    assert order_check_request(doc, engine.kb).model_dump_json() == first
    other = data.draw(shuffled_course(doc), label="shuffled")
    assert order_check_request(other, engine.kb).model_dump_json() == first


@settings(max_examples=150)
@given(data=st.data(), doc=FOLLOW_UPS)
def test_follow_up_is_byte_identical_for_the_same_and_for_shuffled_input(
    engine: Engine, data: st.DataObject, doc: dict[str, Any]
) -> None:
    first = follow_up_request(doc, engine.kb).model_dump_json()
    assert follow_up_request(doc, engine.kb).model_dump_json() == first
    other = data.draw(shuffled_course(doc), label="shuffled")
    assert follow_up_request(other, engine.kb).model_dump_json() == first


# --- robustness ------------------------------------------------------------------------------


@settings(max_examples=200)
@given(raw=st.one_of(course_junk(), mutated_course_docs(VOCAB)))
@example(raw=[])
@example(raw={})
@example(raw={"picture": {"age": 60, "as_of": "2026-03-02"}, "order": None})
@example(
    raw={
        "picture": {"age": 60, "as_of": "2026-03-02"},
        "order": {"drug": "b12", "dose": {"value": 1e308, "unit": "mg"}, "route": "im"},
    }
)
@example(
    raw={
        "picture": {"age": 60, "as_of": "2199-12-31", "deficiency": "confirmed"},
        "history": [
            {
                "date": "2199-12-30",
                "drug": "hydroxocobalamin",
                "route": "im",
                "dose": {"value": 1, "unit": "mg"},
            }
        ],
    }
)
def test_junk_raises_only_input_error(engine: Engine, raw: Any) -> None:
    for run in (order_check_request, follow_up_request):
        try:
            result = run(raw, engine.kb, default_as_of=date(2026, 3, 2))
        except InputError as err:
            problems = err.problems
        else:
            assert result.model_dump_json()
            continue
        assert problems
        assert all(p.field is not None and p.message for p in problems)


# --- the strategies reach what the properties are about --------------------------------------


def test_strategies_reach_every_timing_verdict_and_course_state(engine: Engine) -> None:
    """Guard against strategies too narrow to exercise the engine."""
    timings: Counter[str] = Counter()
    verdicts: Counter[str] = Counter()
    course: Counter[str] = Counter()

    @settings(max_examples=800, database=None, derandomize=True)
    @given(check=CHECKS, follow=FOLLOW_UPS)
    def collect(check: dict[str, Any], follow: dict[str, Any]) -> None:
        _, r = engine.check(check)
        timings[r.timing.status] += 1
        verdicts[r.verdict] += 1
        if r.course is not None:
            course[f"check_basis:{r.course.basis}"] += 1
        _, f = engine.follow(follow)
        course[f"phase_kind:{f.phase_kind}"] += 1
        if f.course is not None:
            course[f"basis:{f.course.basis}"] += 1
            course[f"pattern:{f.course.pattern}"] += 1
        course["overdue" if f.overdue_days else "not_overdue"] += 1
        if (
            f.doses_in_phase
            and f.regimen
            and f.phase != engine.kb.regimens[f.regimen.id].phases[0].name
        ):
            course["later_phase_with_doses"] += 1
        if RESTART_ADVICE & {a.code for a in f.advice}:
            course["restart"] += 1
        if f.next_due is not None and f.next_due.continuous:
            course["continuous"] += 1
        if f.next_due is not None and f.next_due.earliest < f.next_due.latest:
            course["window"] += 1

    collect()
    assert set(timings) == {
        "first_dose",
        "early",
        "on_time",
        "late",
        "not_judged",
        "not_applicable",
    }, timings
    assert set(verdicts) == {"ok", "warn", "stop"}, verdicts
    wanted = {
        "phase_kind:loading",
        "phase_kind:maintenance",
        "phase_kind:prophylaxis",
        "phase_kind:replacement",
        "overdue",
        "not_overdue",
        "later_phase_with_doses",
        "restart",
        "continuous",
        "window",
        "basis:recorded",
        "basis:declared",
        "basis:inferred",
        "basis:ambiguous",
        "pattern:spaced_doses",
        "check_basis:declared",
        "check_basis:inferred",
        "check_basis:ambiguous",
    }
    assert wanted <= set(course), (sorted(wanted - set(course)), course)
