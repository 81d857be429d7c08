"""The register review and the recall reminder text (issue 13), read from the knowledge base.

A review criterion (``knowledge/register/review/*.yaml``) is a cited rule: a condition in the
knowledge base's condition language (:mod:`b12.core.criteria`) over the patient's picture and
two facts about the course (``timing``: overdue, due, upcoming; ``history_route``: injection or
oral, from the last dose given), and optionally ``without_review_months``: no clinical review on
record within that many months.  The engine only evaluates what the files say; no threshold
lives in Python.  The reminder (``knowledge/register/outreach/*.yaml``) is the plain text a
practice's messaging service sends; b12 itself sends nothing.

Pure: ``as_of`` and the content are arguments.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import Field, ValidationError

from b12.core import criteria
from b12.core.dates import add_months
from b12.core.errors import InputError, KnowledgeProblem
from b12.core.knowledge import (
    Change,
    Citation,
    ConditionField,
    Evidence,
    Jurisdiction,
    KnowledgeBase,
    Model,
    Review,
    Status,
)
from b12.core.picture import parse_picture, picture_facts, with_facts


class ReviewCriterion(Model):
    """One register-review criterion (one file, named by its id)."""

    id: str = Field(pattern=r"^REG-REVIEW-[0-9]{3}$")
    version: int = Field(ge=1)
    status: Status
    evidence: Evidence
    jurisdiction: tuple[Jurisdiction, ...] = Field(min_length=1)
    title: str
    reason: str
    when: ConditionField | None = None
    without_review_months: int | None = Field(default=None, ge=1, le=120)
    citations: tuple[Citation, ...] = Field(min_length=1)
    review: Review
    changelog: tuple[Change, ...] = ()


class Reminder(Model):
    """The plain reminder text for a recall row; ``{due_date}`` is replaced by the date."""

    id: str = Field(pattern=r"^REG-OUTREACH-[0-9]{3}$")
    version: int = Field(ge=1)
    status: Status
    evidence: Evidence
    jurisdiction: tuple[Jurisdiction, ...] = Field(min_length=1)
    title: str
    message: str = Field(pattern=r"\{due_date\}")
    overdue_message: str = Field(pattern=r"\{due_date\}")
    citations: tuple[Citation, ...] = Field(min_length=1)
    review: Review
    changelog: tuple[Change, ...] = ()


@dataclass(frozen=True)
class RegisterContent:
    """The validated review criteria (in id order) and the reminder."""

    criteria: tuple[ReviewCriterion, ...]
    reminder: Reminder

    @property
    def review_status(self) -> str:
        """``approved`` when every item is approved, else ``pending_review``."""
        statuses = [*(c.status for c in self.criteria), self.reminder.status]
        return "approved" if all(s == "approved" for s in statuses) else "pending_review"


def _check_refs(
    path: str,
    citations: Iterable[Citation],
    when: criteria.Condition | None,
    kb: KnowledgeBase,
) -> list[KnowledgeProblem]:
    problems = [
        KnowledgeProblem(path, f"citations[{i}].source", f"unknown source {c.source!r}")
        for i, c in enumerate(citations)
        if c.source not in kb.sources
    ]
    for node in criteria.walk(when) if when is not None else []:
        if isinstance(node, criteria.Ref) and node.name not in kb.vocabulary.definitions:
            problems.append(KnowledgeProblem(path, "when", f"unknown definition {node.name!r}"))
        if isinstance(node, criteria.Compare) and node.param and node.param not in kb.parameters:
            problems.append(KnowledgeProblem(path, "when", f"unknown parameter {node.param!r}"))
    return problems


def build_register_content(
    review_files: Mapping[str, Any], outreach_files: Mapping[str, Any], kb: KnowledgeBase
) -> tuple[RegisterContent | None, list[KnowledgeProblem]]:
    """Validate the parsed files (path → data); every problem names its file and field."""
    problems: list[KnowledgeProblem] = []
    found: list[ReviewCriterion] = []
    reminders: list[Reminder] = []
    for files, model, out in (
        (review_files, ReviewCriterion, found),
        (outreach_files, Reminder, reminders),
    ):
        for path, data in sorted(files.items()):
            try:
                item = model.model_validate(data)
            except ValidationError as exc:
                problems += [
                    KnowledgeProblem(path, ".".join(str(p) for p in e["loc"]), e["msg"])
                    for e in exc.errors()
                ]
                continue
            if not path.endswith(f"/{item.id}.yaml"):
                problems.append(KnowledgeProblem(path, "id", f"file must be named {item.id}.yaml"))
            when = item.when if isinstance(item, ReviewCriterion) else None
            problems += _check_refs(path, item.citations, when, kb)
            out.append(item)  # type: ignore[arg-type]
    if len(reminders) != 1:
        problems.append(KnowledgeProblem("register/outreach", "", "expected exactly one reminder"))
    if problems:
        return None, problems
    return RegisterContent(tuple(sorted(found, key=lambda c: c.id)), reminders[0]), []


@dataclass(frozen=True, slots=True)
class CourseSnapshot:
    """One active course as the registry holds it, for the review."""

    patient_id: str
    display_name: str | None
    guideline: str
    document: Mapping[str, Any]
    next_due: date | None
    due_earliest: date | None
    due_latest: date | None
    last_dose_route: str | None
    last_review: date | None


@dataclass(frozen=True, slots=True)
class ReviewRow:
    """One patient meeting one criterion, with the reason and its citations."""

    patient_id: str
    display_name: str | None
    criterion: str
    title: str
    reason: str
    facts: dict[str, Any]
    references: tuple[dict[str, str], ...]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "patient_id": self.patient_id,
            "display_name": self.display_name,
            "criterion": self.criterion,
            "title": self.title,
            "reason": self.reason,
            "facts": self.facts,
            "references": list(self.references),
        }


INJECTION_ROUTES = frozenset({"im", "deep_sc", "sc", "iv"})


def timing(c: CourseSnapshot, as_of: date) -> str | None:
    """``overdue``, ``due`` or ``upcoming`` from the stored window (``None`` without one)."""
    if c.due_latest is None or c.due_earliest is None:
        return None
    if c.due_latest < as_of:
        return "overdue"
    return "due" if c.due_earliest <= as_of else "upcoming"


def _references(item: ReviewCriterion, kb: KnowledgeBase) -> tuple[dict[str, str], ...]:
    return tuple(
        {
            "source_id": c.source,
            "citation": kb.sources[c.source].citation,
            "locator": c.locator,
            "evidence": kb.sources[c.source].evidence,
        }
        for c in item.citations
    )


class Reviewer:
    """The criteria compiled once; :meth:`rows` judges one course."""

    def __init__(self, content: RegisterContent, kb: KnowledgeBase) -> None:
        defs = kb.vocabulary.definitions
        self.kb = kb
        self.items = [
            (
                c,
                criteria.compile_condition(c.when, kb.param, defs) if c.when is not None else None,
                _references(c, kb),
            )
            for c in content.criteria
        ]

    def rows(self, c: CourseSnapshot, as_of: date) -> list[ReviewRow]:
        """Every criterion the course meets as of ``as_of``, in criterion order."""
        try:
            picture = parse_picture(dict(c.document), self.kb)
        except InputError:
            return []  # a picture written under older content; the patient page shows why
        when = timing(c, as_of)
        route = None
        if c.last_dose_route is not None:
            route = "injection" if c.last_dose_route in INJECTION_ROUTES else "oral"
        deficiency = c.document.get("deficiency")
        facts = with_facts(
            picture_facts(picture, deficiency if isinstance(deficiency, str) else None),
            {"timing": when, "history_route": route},
        )
        out: list[ReviewRow] = []
        for item, predicate, refs in self.items:
            if picture.guideline not in item.jurisdiction:
                continue
            if predicate is not None and not predicate(facts):
                continue
            if item.without_review_months is not None and not _review_lapsed(
                c.last_review, item.without_review_months, as_of
            ):
                continue
            out.append(
                ReviewRow(
                    c.patient_id,
                    c.display_name,
                    item.id,
                    item.title,
                    item.reason,
                    _row_facts(c, picture.labs.serum_b12_ng_l, when, as_of),
                    refs,
                )
            )
        return out


def _review_lapsed(last: date | None, months: int, as_of: date) -> bool:
    return last is None or add_months(last, months) < as_of


def _row_facts(
    c: CourseSnapshot, b12: float | None, when: str | None, as_of: date
) -> dict[str, Any]:
    overdue = (as_of - c.due_latest).days if when == "overdue" and c.due_latest else 0
    return {
        "timing": when,
        "next_due": c.next_due.isoformat() if c.next_due else None,
        "overdue_days": overdue,
        "last_review": c.last_review.isoformat() if c.last_review else None,
        "last_dose_route": c.last_dose_route,
        "serum_b12_ng_l": b12,
    }


def reminder_text(reminder: Reminder, due: date, overdue: bool) -> str:
    """The plain reminder for a recall row (the overdue wording once the window has passed)."""
    template = reminder.overdue_message if overdue else reminder.message
    return template.replace("{due_date}", due.strftime("%d %B %Y").lstrip("0"))
