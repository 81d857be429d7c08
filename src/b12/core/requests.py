"""Turning a caller's raw JSON document into validated engine input.

A plan request is a ClinicalPicture document; ``as_of`` comes from the document or, failing
that, from the caller (the CLI passes its own today).  Nothing here reads the clock.

The order check and follow-up engines are imported by their request functions, so a plan
request (``b12 plan``) does not load them.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from b12.core.errors import FieldProblem, InputError, quoted
from b12.core.knowledge import KnowledgeBase
from b12.core.picture import ClinicalPicture, parse_picture
from b12.core.plan import PlanOptions, plan
from b12.core.plan_models import Plan

if TYPE_CHECKING:
    from b12.core.course_models import FollowUpResult, OrderCheckResult


def parse_horizon(text: str) -> int:
    """``"12m"``, ``"12"`` or ``"2y"`` → months (1–60); anything else is an input error."""
    raw = text.strip().lower()
    factor = 12 if raw.endswith("y") else 1
    digits = raw[:-1] if raw[-1:] in ("m", "y") else raw
    if not (digits.isascii() and digits.isdigit() and len(digits) <= 3) or not (
        1 <= int(digits) * factor <= 60
    ):
        raise InputError(
            [
                FieldProblem(
                    "horizon", f"expected months like '12m' (1–60 months), got {quoted(text)}"
                )
            ]
        )
    return int(digits) * factor


def plan_request(
    raw: Any,
    kb: KnowledgeBase,
    *,
    default_as_of: date | None = None,
    guideline: str | None = None,
    options: PlanOptions | None = None,
) -> tuple[ClinicalPicture, Plan]:
    """Validate ``raw`` and compute the plan; raises :class:`InputError` on bad input."""
    if isinstance(raw, dict) and guideline is not None:
        if guideline not in ("uk", "us"):
            raise InputError(
                [FieldProblem("guideline", f"expected 'uk' or 'us', got {quoted(guideline)}")]
            )
        raw = {**raw, "guideline": guideline}
    picture = parse_picture(raw, kb)
    as_of = picture.as_of or default_as_of
    if as_of is None:
        raise InputError([FieldProblem("as_of", "required")])
    return picture, plan(picture, kb, as_of, options)


def order_check_request(
    raw: Any,
    kb: KnowledgeBase,
    *,
    default_as_of: date | None = None,
    options: PlanOptions | None = None,
) -> OrderCheckResult:
    """Validate an OrderCheck document and judge the order; :class:`InputError` on bad input."""
    from b12.core.course_input import parse_order_check
    from b12.core.order_check import check_order

    return check_order(parse_order_check(raw, kb, default_as_of), kb, options)


def follow_up_request(
    raw: Any,
    kb: KnowledgeBase,
    *,
    default_as_of: date | None = None,
    options: PlanOptions | None = None,
) -> FollowUpResult:
    """Validate a FollowUp document and assess the course; :class:`InputError` on bad input."""
    from b12.core.course_input import parse_follow_up
    from b12.core.follow_up import follow_up

    return follow_up(parse_follow_up(raw, kb, default_as_of), kb, options)
