"""Output models of ``plan`` (PRODUCT.md §6 Plan).  Frozen; tuples, not lists; stable order."""

from __future__ import annotations

from datetime import date as Date
from typing import Literal

from pydantic import BaseModel, ConfigDict

from b12.core.knowledge import Outcome, OutputReviewLevel, Severity


class Out(BaseModel):
    """Frozen output base."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class DoseOut(Out):
    """A dose as the source writes it; ``max`` for a range such as 100–200 mcg."""

    value: float
    max: float | None = None
    unit: Literal["mcg", "mg"]
    micrograms: int


class SpanOut(Out):
    """An inclusive range."""

    min: int
    max: int


class PhaseOut(Out):
    """One phase of the regimen as it applies to this patient."""

    name: str
    kind: str
    dose: DoseOut
    every_days: SpanOut | None = None
    times_per_week: int | None = None
    weekdays: tuple[str, ...] | None = None
    every_months: SpanOut | None = None
    count: int | None = None
    for_days: int | None = None
    until: str | None = None
    lifelong: bool
    text: str


class RegimenOut(Out):
    """The chosen regimen."""

    id: str
    title: str
    drug: str
    route: str
    phases: tuple[PhaseOut, ...]
    refs: tuple[int, ...]
    recs: tuple[str, ...]


class Cited(Out):
    """A sentence with its numbered references and the recommendations behind it."""

    text: str
    refs: tuple[int, ...]
    recs: tuple[str, ...]


class AlternativeOut(Out):
    """A pathway not chosen, and why."""

    id: str
    title: str
    why_not: str


class PathwayOut(Out):
    """The chosen pathway and the reasons for it."""

    id: str
    title: str
    why: tuple[Cited, ...]
    alternatives: tuple[AlternativeOut, ...]


class Window(Out):
    """The acceptable dates for a dose given as a range (earliest, latest)."""

    earliest: Date
    latest: Date


class RepeatOut(Out):
    """How a repeating schedule entry repeats (an open-ended phase shown as one row).

    The entry stands for ``count`` items of its kind: the first on the entry's ``date``, then
    every ``every_days`` days or on ``weekdays`` (``times_per_week`` of them) each week, the last
    on ``until``.  :func:`b12.core.schedule.expand_schedule` lists them one by one.
    """

    every_days: int | None = None
    times_per_week: int | None = None
    weekdays: tuple[str, ...] | None = None
    until: Date
    count: int


class ScheduleEntry(Out):
    """A dated dose, review or test; with ``repeat``, a run of them (see :class:`RepeatOut`).

    ``repeats`` is the same in words (``every 2 days from 2026-03-02 to 2026-03-14 (7 doses)``),
    or, for a phase that is not listed dose by dose (tablets every day), how often with no end
    (``daily``; no ``repeat``: those doses are not listed anywhere).
    """

    date: Date
    kind: Literal["dose", "review", "test"]
    phase: str | None = None
    drug: str | None = None
    dose: DoseOut | None = None
    route: str | None = None
    window: Window | None = None
    repeats: str | None = None
    repeat: RepeatOut | None = None
    text: str
    refs: tuple[int, ...]
    recs: tuple[str, ...]


class MonitoringOut(Out):
    """A test or review, dated or conditional."""

    date: Date | None = None
    after: str | None = None
    kind: Literal["test", "review"]
    tests: tuple[str, ...]
    why: str
    refs: tuple[int, ...]
    recs: tuple[str, ...]


class AlertOut(Out):
    """A safety alert with a stable code."""

    code: str
    severity: Severity
    title: str
    message: str
    refs: tuple[int, ...]
    recs: tuple[str, ...]


class PositionOut(Out):
    """One side of a disagreement."""

    says: str
    refs: tuple[int, ...]


class DisagreementOut(Out):
    """Where the sources disagree."""

    topic: str
    positions: tuple[PositionOut, ...]
    recs: tuple[str, ...]


class MissingOut(Out):
    """A field the decision needs."""

    field: str
    why: str
    refs: tuple[int, ...]
    recs: tuple[str, ...]


class ReferenceOut(Out):
    """A numbered reference: one source at one locator."""

    n: int
    source_id: str
    citation: str
    locator: str
    evidence: str
    verification: str


class DeficiencyOut(Out):
    """The deficiency status used, and whether b12 worked it out from the labs."""

    status: str | None
    derived: bool


class UsedRecommendation(Out):
    """A recommendation that contributed to the output."""

    id: str
    version: int
    status: str
    evidence: str
    title: str


class Plan(Out):
    """The treatment plan (PRODUCT.md §6)."""

    status: Outcome
    guideline: Literal["uk", "us"]
    content_version: str
    as_of: Date
    start: Date
    horizon_end: Date
    deficiency: DeficiencyOut
    pathway: PathwayOut
    regimen: RegimenOut | None
    schedule: tuple[ScheduleEntry, ...]
    schedule_continues: bool
    schedule_note: str | None
    monitoring: tuple[MonitoringOut, ...]
    alerts: tuple[AlertOut, ...]
    disagreements: tuple[DisagreementOut, ...]
    missing: tuple[MissingOut, ...]
    references: tuple[ReferenceOut, ...]
    recommendations: tuple[UsedRecommendation, ...]
    review_status: Literal["approved", "pending_review"]
    review_level: OutputReviewLevel
    """How far the content behind this output was reviewed (lowest of the items used)."""
    review_label: str
    review_banner: str | None
    disclaimer: str
