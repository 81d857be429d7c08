"""Output models of the order check and the follow-up (PRODUCT.md §6)."""

from __future__ import annotations

from datetime import date as Date
from typing import Literal

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


class Timing(Out):
    """How a proposed dose falls against the due window from the dose history."""

    status: Literal["first_dose", "early", "on_time", "late", "not_applicable"]
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
