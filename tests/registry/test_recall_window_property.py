"""Property: after every write the course's stored next-due window is the follow-up engine's answer.

A course is enrolled from one of a few picture templates, with or without a declared course
(on maintenance since, loading completed on, neurological course ended on a date before
enrolment, with or without the patient's interval), then a generated sequence of plausible
doses and events on non-decreasing dates is recorded.  After each write the stored ``next_due``,
``due_earliest`` and ``due_latest`` (and phase, regimen, continuous flag) must equal what
``follow_up_request`` says for the same picture, doses and events as of the write's date; a
continuous (daily oral) course stores no window.  SQLite only (the SQL is the same on PostgreSQL
and the contract suite runs there).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from b12.adapters.sql.registry import DoseInput, Registry
from b12.core.errors import Refused
from b12.core.knowledge import KnowledgeBase
from b12.core.requests import follow_up_request
from tests.registry.conftest import (
    ACTOR,
    UK_BARIATRIC,
    UK_NEURO,
    UK_ORAL_DIETARY,
    UK_PA,
    US_LABEL,
    at,
    course_row,
    table_counts,
)


@dataclass(frozen=True)
class Product:
    """A dose as typed by the nurse and as the engine sees it."""

    drug: str
    text: str
    value: float
    unit: str
    route: str


HYDROXO_IM = Product("hydroxocobalamin", "1mg", 1.0, "mg", "im")
HYDROXO_MCG = Product("hydroxocobalamin", "1000mcg", 1000.0, "mcg", "im")
HYDROXO_DEEP_SC = Product("hydroxocobalamin", "1mg", 1.0, "mg", "deep_sc")
CYANO_100 = Product("cyanocobalamin", "100mcg", 100.0, "mcg", "im")
CYANO_1000 = Product("cyanocobalamin", "1000mcg", 1000.0, "mcg", "im")
CYANO_SC = Product("cyanocobalamin", "100mcg", 100.0, "mcg", "deep_sc")
ORAL_50 = Product("cyanocobalamin", "50mcg", 50.0, "mcg", "oral")
ORAL_150 = Product("cyanocobalamin", "150mcg", 150.0, "mcg", "oral")
ORAL_1000 = Product("cyanocobalamin", "1000mcg", 1000.0, "mcg", "oral")

# name → (picture template, the doses a nurse plausibly gives on that course)
TEMPLATES: dict[str, tuple[dict[str, Any], tuple[Product, ...]]] = {
    "uk-pernicious-anaemia": (UK_PA, (HYDROXO_IM, HYDROXO_MCG, HYDROXO_DEEP_SC)),
    "uk-neuro": (UK_NEURO, (HYDROXO_IM, HYDROXO_MCG)),
    "us-cyanocobalamin-label": (US_LABEL, (CYANO_100, CYANO_1000, CYANO_SC)),
    "uk-bariatric-prophylaxis": (UK_BARIATRIC, (HYDROXO_IM, HYDROXO_MCG)),
    "uk-oral-dietary": (UK_ORAL_DIETARY, (ORAL_50, ORAL_150, ORAL_1000)),
}
EVENTS = (
    "no_further_improvement",
    "symptoms_returned_before_due",
    "stable",
    "new_neuro_symptoms",
    "cause_resolved",
    "oral_not_improving",
)
ENROLMENT_DAYS = (date(2026, 3, 2), date(2026, 1, 31), date(2026, 3, 7), date(2027, 2, 28))
STAGES = ("maintenance", "loading_completed", "neuro_course_completed")


@dataclass(frozen=True)
class Declared:
    """A declared course: ``stage`` since ``days_before`` enrolment, every ``every_months``."""

    stage: str
    days_before: int
    every_months: int | None

    def document(self, enrolled: date) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "stage": self.stage,
            "since": (enrolled - timedelta(days=self.days_before)).isoformat(),
        }
        if self.every_months is not None:
            doc["every_months"] = self.every_months
        return doc


declarations = st.one_of(
    st.none(),
    st.builds(
        Declared,
        stage=st.sampled_from(STAGES),
        days_before=st.one_of(st.integers(0, 120), st.integers(121, 3000)),
        every_months=st.one_of(st.none(), st.integers(1, 4)),
    ),
)


@dataclass(frozen=True)
class Step:
    """One write: a dose (``product``) or an event (``event``), ``gap`` days after the last."""

    gap: int
    lag: int  # days between the date written and the day it is recorded
    product: int | None
    event: str | None


steps = st.builds(
    Step,
    gap=st.one_of(st.integers(0, 4), st.integers(5, 35), st.integers(36, 120)),
    lag=st.sampled_from((0, 0, 1, 6)),
    product=st.one_of(st.integers(0, 2), st.none()),
    event=st.sampled_from(EVENTS),
)


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory, kb: KnowledgeBase) -> Iterator[Registry]:
    """One SQLite registry for every example (each example enrols a new patient)."""
    path: Path = tmp_path_factory.mktemp("property") / "registry.sqlite3"
    reg = Registry(f"sqlite:///{path}", kb)
    reg.upgrade()
    try:
        yield reg
    finally:
        reg.engine.dispose()


_ids = itertools.count(1)


def _expected_course(kb: KnowledgeBase, request: dict[str, Any]) -> dict[str, Any]:
    """What the course row should hold, from the follow-up engine."""
    result = follow_up_request(request, kb)
    due = result.next_due
    window: tuple[date | None, ...] = (None, None, None)
    if due is not None and not due.continuous:
        window = (due.date, due.earliest, due.latest)
    return {
        "window": window,
        "continuous": int(due is not None and due.continuous),
        "phase": result.phase,
        "regimen": result.regimen.id if result.regimen else None,
    }


def _stored_course(registry: Registry, patient_id: str) -> dict[str, Any]:
    row = course_row(registry, patient_id)
    return {
        "window": (row["next_due"], row["due_earliest"], row["due_latest"]),
        "continuous": row["continuous"],
        "phase": row["phase"],
        "regimen": row["regimen"],
    }


def _dose(gap: int, product: int = 0, lag: int = 0) -> Step:
    return Step(gap=gap, lag=lag, product=product, event="stable")


def _event(gap: int, kind: str, lag: int = 0) -> Step:
    return Step(gap=gap, lag=lag, product=None, event=kind)


@settings(settings.get_profile("ci"), max_examples=40, deadline=None)
# One realistic course per template, whatever the generator picks.
@example(
    template="uk-pernicious-anaemia",
    enrolled=date(2026, 3, 2),
    scheduled=8,
    plan=[_event(40, "symptoms_returned_before_due", lag=1), _dose(5), _event(30, "stable")],
    declared=None,
)
# An established patient: on 3-monthly maintenance for years, loading not on record.
@example(
    template="uk-pernicious-anaemia",
    enrolled=date(2026, 3, 2),
    scheduled=0,
    plan=[_dose(0), _dose(91), _event(30, "symptoms_returned_before_due"), _dose(31)],
    declared=Declared("maintenance", 2400, 3),
)
# No declaration: doses three months apart are read as maintenance (inferred).
@example(
    template="uk-pernicious-anaemia",
    enrolled=date(2026, 3, 2),
    scheduled=0,
    plan=[_dose(0), _dose(91), _dose(92), _event(10, "stable")],
    declared=None,
)
# A neurological course ended before enrolment, declared 3-monthly (dated 2-monthly).
@example(
    template="uk-pernicious-anaemia",
    enrolled=date(2026, 3, 2),
    scheduled=0,
    plan=[_dose(10), _dose(62), _event(5, "new_neuro_symptoms"), _dose(1)],
    declared=Declared("neuro_course_completed", 40, 3),
)
@example(
    template="uk-neuro",
    enrolled=date(2026, 3, 7),
    scheduled=10,
    plan=[_event(0, "no_further_improvement"), _dose(61, product=1), _dose(60, lag=6)],
    declared=None,
)
@example(
    template="us-cyanocobalamin-label",
    enrolled=date(2026, 1, 31),
    scheduled=16,
    plan=[_dose(30, product=1), _event(10, "new_neuro_symptoms"), _dose(2)],
    declared=None,
)
@example(
    template="uk-bariatric-prophylaxis",
    enrolled=date(2027, 2, 28),
    scheduled=3,
    plan=[_event(20, "symptoms_returned_before_due", lag=6), _dose(3, product=1)],
    declared=None,
)
@example(
    template="uk-oral-dietary",
    enrolled=date(2026, 3, 2),
    scheduled=1,
    plan=[_dose(30), _event(60, "oral_not_improving", lag=1), _dose(1, product=2)],
    declared=None,
)
@given(
    template=st.sampled_from(sorted(TEMPLATES)),
    enrolled=st.sampled_from(ENROLMENT_DAYS),
    scheduled=st.integers(0, 16),
    plan=st.lists(steps, min_size=1, max_size=8),
    declared=declarations,
)
def test_the_stored_window_is_the_follow_up_answer_after_every_write(
    registry: Registry,
    template: str,
    enrolled: date,
    scheduled: int,
    plan: list[Step],
    declared: Declared | None,
) -> None:
    """Enrol (with the declared course), give the first ``scheduled`` doses of the plan on time,
    then the ``plan`` steps."""
    kb = registry.kb  # not a test argument: Hypothesis would print the whole knowledge base
    base, products = TEMPLATES[template]
    patient_id = f"prop-{next(_ids)}"
    course = declared.document(enrolled) if declared else None
    enrolment = registry.add_patient(
        patient_id,
        {**base, "as_of": enrolled.isoformat()},
        name=None,
        actor=ACTOR,
        now=at(enrolled),
        course=course,
    )
    document: dict[str, Any] = {**base, "as_of": enrolled.isoformat()}
    document["start"] = enrolled.isoformat()
    if "deficiency" not in base and enrolment.deficiency.status is not None:
        document["deficiency"] = enrolment.deficiency.status
    shown = registry.show_patient(patient_id)
    assert shown["picture"] == document
    assert shown["course"]["declaration"] == course

    history: list[dict[str, Any]] = []
    events: list[dict[str, str]] = []

    def check(now: datetime) -> None:
        request: dict[str, Any] = {
            "picture": document,
            "history": history,
            "events": events,
            "as_of": now.date().isoformat(),
        }
        if course is not None:
            request["course"] = course
        expected = _expected_course(kb, request)
        assert _stored_course(registry, patient_id) == expected, (template, history, events)
        if expected["continuous"]:
            assert expected["window"] == (None, None, None)

    def give(day: date, product: Product, now: datetime) -> bool:
        """Record a dose; False when refused (then nothing may have changed)."""
        before = (table_counts(registry), _stored_course(registry, patient_id))
        try:
            registry.record_dose(
                patient_id,
                DoseInput(date=day, drug=product.drug, dose=product.text, route=product.route),
                actor=ACTOR,
                now=now,
            )
        except Refused:
            event("a dose was refused (stop)")
            assert (table_counts(registry), _stored_course(registry, patient_id)) == before
            return False
        history.append(
            {
                "date": day.isoformat(),
                "drug": product.drug,
                "dose": {"value": product.value, "unit": product.unit},
                "route": product.route,
            }
        )
        return True

    check(at(enrolled))
    day = enrolled
    on_time = [e.date for e in enrolment.schedule if e.kind == "dose"][:scheduled]
    for day in on_time:
        if give(day, products[0], at(day)):
            check(at(day))
    for step in plan:
        day += timedelta(days=step.gap)
        now = at(day + timedelta(days=step.lag), hour=17)
        if step.product is None:
            registry.record_event(patient_id, day, str(step.event), actor=ACTOR, now=now)
            events.append({"date": day.isoformat(), "kind": str(step.event)})
            check(now)
        elif give(day, products[step.product % len(products)], now):
            check(now)
    event(f"template: {template}")
    event(f"writes: {len(history) + len(events)}")
    phases = course_row(registry, patient_id)["phase"]
    event(f"final phase: {phases}")
    final = {"picture": document, "history": history, "events": events, "as_of": day.isoformat()}
    reading = follow_up_request({**final, **({"course": course} if course else {})}, kb).course
    event(f"course read as: {reading.basis if reading else None}")
