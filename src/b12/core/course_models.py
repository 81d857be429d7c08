"""Output models of the order check and the follow-up (PRODUCT.md §6)."""

from __future__ import annotations

from datetime import date as Date
from typing import Literal

from b12.core.course import Position, Reading
from b12.core.knowledge import OutputReviewLevel
from b12.core.plan_models import (
    AlertOut,
    DisagreementOut,
    MissingOut,
    Out,
    ReferenceOut,
    UsedRecommendation,
)


class PathwayRef(Out):
    """The pathway the picture leads to."""

    id: str
    title: str


class RegimenRef(Out):
    """The regimen the course follows."""

    id: str
    title: str
    drug: str
    route: str


class NextDue(Out):
    """When the next dose is due; ``continuous`` for daily oral treatment."""

    date: Date
    earliest: Date
    latest: Date
    continuous: bool


class AdviceOut(Out):
    """One cited piece of follow-up advice."""

    code: str
    text: str
    evidence: str
    refs: tuple[int, ...]
    recs: tuple[str, ...]


class CourseReadingOut(Out):
    """How the course's phase was read, and from what (PRODUCT.md §9: courses begin part-way).

    ``basis``: ``declared`` (stated by the caller), ``recorded`` (walked from the first recorded
    dose), ``inferred`` (from the spacing of the doses) or ``ambiguous`` (the record fits more
    than one reading: an alert asks for the missing fact).  ``pattern`` names what was read
    (see :class:`b12.core.course.Reading`).
    """

    basis: Literal["recorded", "declared", "inferred", "ambiguous"]
    pattern: str
    loading_ended: Date | None
    maintenance_since: Date | None
    every_months: int | None
    doses_read: int
    last_dose: Date | None


class Timing(Out):
    """How a proposed dose falls against the due window from the dose history.

    ``not_judged``: a B12 order with doses on record whose timing could not be checked (no
    regimen could be chosen, the phase is ambiguous, the last dose is unknown, or the order
    is dated before a dose already on record); an alert
    says why and what to enter.  ``not_applicable``: the product has no dosing schedule here.
    """

    status: Literal["first_dose", "early", "on_time", "late", "not_judged", "not_applicable"]
    phase: str | None = None
    due: NextDue | None = None
    days_off: int = 0


class FollowUpResult(Out):
    """Where the course stands and what to do next."""

    status: Literal["ok", "needs_more_data", "refer", "out_of_scope"]
    guideline: Literal["uk", "us"]
    content_version: str
    as_of: Date
    pathway: PathwayRef
    regimen: RegimenRef | None
    phase: str | None
    phase_kind: str | None
    doses_in_phase: int
    course: CourseReadingOut | None
    next_due: NextDue | None
    overdue_days: int
    advice: tuple[AdviceOut, ...]
    alerts: tuple[AlertOut, ...]
    missing: tuple[MissingOut, ...]
    references: tuple[ReferenceOut, ...]
    recommendations: tuple[UsedRecommendation, ...]
    review_status: Literal["approved", "pending_review"]
    review_level: OutputReviewLevel
    """How far the content behind this output was reviewed (lowest of the items used)."""
    review_label: str
    review_banner: str | None
    disclaimer: str


class OrderCheckResult(Out):
    """The verdict on a proposed order."""

    verdict: Literal["ok", "warn", "stop"]
    guideline: Literal["uk", "us"]
    content_version: str
    as_of: Date
    product: str
    timing: Timing
    course: CourseReadingOut | None
    alerts: tuple[AlertOut, ...]
    disagreements: tuple[DisagreementOut, ...]
    references: tuple[ReferenceOut, ...]
    recommendations: tuple[UsedRecommendation, ...]
    review_status: Literal["approved", "pending_review"]
    review_level: OutputReviewLevel
    """How far the content behind this output was reviewed (lowest of the items used)."""
    review_label: str
    review_banner: str | None
    disclaimer: str


def reading_out(reading: Reading | None, position: Position | None) -> CourseReadingOut | None:
    """The output form of a course reading."""
    if reading is None:
        return None
    return CourseReadingOut(
        basis=reading.basis,
        pattern=reading.pattern,
        loading_ended=reading.loading_ended,
        maintenance_since=reading.maintenance_since,
        every_months=reading.every_months,
        doses_read=reading.doses_read,
        last_dose=position.last_dose if position else None,
    )
