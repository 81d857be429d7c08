"""Content governance (PRODUCT.md C9): the review state machine and review overlays.

Content files are read-only at run time.  Review decisions made in the web app are stored
elsewhere (the registry's ``content_reviews`` table) and overlaid here on the parsed files
before the knowledge base is built:

- :func:`check_transition` is the state machine over review *stages*: the file statuses plus
  ``signed-off`` (approved, and clinically signed off by the deployment's clinical safety
  officer).  ``approved`` alone means engineering review only.  It raises :class:`InputError`
  for an impossible move or a missing comment, and :class:`Refused` for a role that may not
  make the move or a second look by the same person (the author may not approve, and the
  signer must differ from both the author and the approver).
- :func:`item_fingerprint` ties a decision to the exact text reviewed: a SHA-256 of the item's
  parsed content without its ``status`` and ``review`` fields.  Editing the file changes the
  fingerprint, so the old decision no longer applies and the item needs review again.
- :func:`apply_reviews` returns new content with the decisions applied (status, review level,
  author, reviewer, signer) and a content version that changes whenever an effective stage
  differs from the file's.

Pure: no clock, no database; dates and decisions are arguments.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from b12.core.errors import FieldProblem, InputError, NotFound, Refused
from b12.core.kb_build import RawContent

STATUSES: tuple[str, ...] = ("draft", "submitted", "in-review", "approved", "retired")
#: Review stages: the statuses, with ``signed-off`` (approved + clinical sign-off) after
#: ``approved`` (engineering review only).  Moves go from stage to stage.
STAGES: tuple[str, ...] = (
    "draft",
    "submitted",
    "in-review",
    "approved",
    "signed-off",
    "retired",
)
ROLES: tuple[str, ...] = ("clinician", "nurse", "reviewer", "safety_officer", "admin")
MAX_COMMENT = 4000
# Fields of an item that record its review rather than its content: not fingerprinted.
REVIEW_FIELDS = frozenset({"status", "review"})


@dataclass(frozen=True, slots=True)
class Transition:
    """One allowed move between statuses: who may make it, whether a comment is required, and
    whether the web page asks the person to confirm it after showing what it would change
    (moves that change what clinicians are shown)."""

    from_status: str
    to_status: str
    name: str
    roles: frozenset[str]
    comment_required: bool = False
    confirm_required: bool = False


_REVIEWERS = frozenset({"reviewer", "safety_officer", "admin"})
_SAFETY = frozenset({"safety_officer"})

TRANSITIONS: tuple[Transition, ...] = (
    Transition(
        "draft",
        "submitted",
        "submit",
        frozenset({"clinician", "reviewer", "safety_officer", "admin"}),
    ),
    Transition("submitted", "in-review", "start review", _REVIEWERS),
    Transition("in-review", "approved", "approve", _REVIEWERS, confirm_required=True),
    Transition("submitted", "draft", "send back", _REVIEWERS, comment_required=True),
    Transition("in-review", "draft", "send back", _REVIEWERS, comment_required=True),
    Transition("approved", "signed-off", "sign off", _SAFETY, confirm_required=True),
    Transition(
        "signed-off",
        "approved",
        "withdraw sign-off",
        _SAFETY,
        comment_required=True,
        confirm_required=True,
    ),
    Transition(
        "approved",
        "retired",
        "retire",
        frozenset({"admin"}),
        comment_required=True,
        confirm_required=True,
    ),
    Transition(
        "signed-off",
        "retired",
        "retire",
        frozenset({"admin"}),
        comment_required=True,
        confirm_required=True,
    ),
)
_BY_PAIR = {(t.from_status, t.to_status): t for t in TRANSITIONS}


def stage_of(status: str, level: str) -> str:
    """The review stage of an item with ``status`` and review ``level``."""
    return "signed-off" if status == "approved" and level == "clinical" else status


@dataclass(frozen=True, slots=True)
class People:
    """Who wrote the item's current text (``None``: not recorded) and who approved it."""

    author: str | None
    approvers: tuple[str, ...] = ()


def check_people(move: Transition, actor: str, people: People) -> None:
    """Two different people: the author may not approve; the signer is neither author nor
    approver.  Raises :class:`Refused`."""
    if move.name == "approve":
        if people.author is None:
            raise Refused(
                "the author of this submission is not recorded, so a second person cannot be"
                " shown to approve it: send it back and submit it again in the app",
                {"actor": actor, "move": move.name},
            )
        if people.author == actor:
            raise Refused(
                f"{actor!r} submitted this item and may not also approve it:"
                " a second person must approve",
                {"actor": actor, "author": people.author, "move": move.name},
            )
    if move.name == "sign off" and (actor == people.author or actor in people.approvers):
        raise Refused(
            f"{actor!r} wrote or approved this item and may not also sign it off:"
            " the clinical sign-off must come from another person",
            {"actor": actor, "author": people.author, "approvers": list(people.approvers)},
        )


def transition_between(from_status: str, to_status: str) -> Transition | None:
    """The allowed move ``from_status`` → ``to_status`` (stages), or ``None``."""
    return _BY_PAIR.get((from_status, to_status))


def transitions_from(status: str) -> tuple[Transition, ...]:
    """Every move the state machine allows out of ``status`` (for any role)."""
    return tuple(t for t in TRANSITIONS if t.from_status == status)


def allowed_transitions(status: str, role: str) -> tuple[Transition, ...]:
    """The moves out of ``status`` that ``role`` may make (what a page offers as buttons)."""
    return tuple(t for t in transitions_from(status) if role in t.roles)


def check_transition(
    from_status: str,
    to_status: str,
    role: str,
    comment: str | None,
    *,
    actor: str | None = None,
    people: People | None = None,
) -> Transition:
    """The transition ``from_status`` → ``to_status`` (stages) if ``role`` may make it.

    Raises :class:`InputError` (field ``to_status``) for an unknown stage or a move the state
    machine does not allow, :class:`Refused` when ``role`` may not make an allowed move (or,
    given ``actor`` and ``people``, when the same person would review twice), and
    :class:`InputError` (field ``comment``) when a required comment is missing or too long.
    """
    if to_status not in STAGES:
        raise InputError(
            [
                FieldProblem(
                    "to_status", f"unknown status {to_status!r}; expected one of {list(STAGES)}"
                )
            ]
        )
    move = _BY_PAIR.get((from_status, to_status))
    if move is None:
        options = [t.to_status for t in transitions_from(from_status)]
        allowed = f"allowed: {', '.join(options)}" if options else "no move is allowed from it"
        raise InputError(
            [
                FieldProblem(
                    "to_status",
                    f"cannot move an item from {from_status!r} to {to_status!r} ({allowed})",
                )
            ]
        )
    if role not in move.roles:
        raise Refused(
            f"role {role!r} may not {move.name} ({from_status} → {to_status}); "
            f"allowed roles: {', '.join(sorted(move.roles))}",
            {
                "role": role,
                "from_status": from_status,
                "to_status": to_status,
                "allowed_roles": sorted(move.roles),
            },
        )
    text = (comment or "").strip()
    if move.comment_required and not text:
        raise InputError([FieldProblem("comment", f"required to {move.name}: say why")])
    if len(text) > MAX_COMMENT:
        raise InputError([FieldProblem("comment", f"at most {MAX_COMMENT} characters")])
    if actor is not None and people is not None:
        check_people(move, actor, people)
    return move


# -- fingerprints and overlays -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReviewState:
    """The newest review decision for one item: the stage it moved to, who, when, on what.

    ``author`` is who submitted the text under review and ``approved_by``/``approved_on`` who
    approved it and when, when the app recorded them; ``from_status`` is the stage the move
    started from.  Without ``approved_by``, an approval records its own actor as reviewer.
    """

    to_status: str
    actor: str
    at: date
    fingerprint: str
    author: str | None = None
    approved_by: str | None = None
    approved_on: date | None = None
    from_status: str | None = None


def item_files(raw: RawContent) -> dict[str, str]:
    """``{item id: file name}`` for every reviewable item (recommendations and safety rules)."""
    out: dict[str, str] = {}
    for file, data in raw.recommendations.items():
        if isinstance(data, Mapping) and isinstance(data.get("id"), str):
            out.setdefault(data["id"], file)
    return out


def _item(raw: RawContent, item_id: str) -> tuple[str, Mapping[str, Any]]:
    file = item_files(raw).get(item_id)
    if file is None:
        raise NotFound(f"no knowledge-base item {item_id!r}")
    data: Mapping[str, Any] = raw.recommendations[file]
    return file, data


def _fingerprint_of(data: Mapping[str, Any]) -> str:
    content = {k: v for k, v in data.items() if k not in REVIEW_FIELDS}
    text = json.dumps(content, sort_keys=True, default=str, ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def item_fingerprint(raw: RawContent, item_id: str) -> str:
    """SHA-256 of the item's content without ``status`` and ``review``; :class:`NotFound`."""
    return _fingerprint_of(_item(raw, item_id)[1])


def item_fingerprints(raw: RawContent) -> dict[str, str]:
    """:func:`item_fingerprint` of every reviewable item, in one pass."""
    return {i: _fingerprint_of(raw.recommendations[f]) for i, f in item_files(raw).items()}


def _file_stage(data: Mapping[str, Any]) -> str:
    review = data.get("review")
    level = review.get("level", "none") if isinstance(review, Mapping) else "none"
    return stage_of(str(data.get("status")), str(level))


def _overlay(data: Mapping[str, Any], state: ReviewState) -> dict[str, Any]:
    """The item with the decision's stage written as its status and review block."""
    review = dict(data["review"]) if isinstance(data.get("review"), Mapping) else {}
    stage = state.to_status
    if state.author is not None:
        review["author"] = state.author
    if state.approved_by is not None and stage in ("approved", "signed-off", "retired"):
        review.update(reviewed_by=(state.approved_by,), reviewed_on=state.approved_on or state.at)
    elif stage == "approved" and state.from_status != "signed-off":
        review.update(reviewed_by=(state.actor,), reviewed_on=state.at)
    if stage == "approved":
        review["level"] = "engineering"
    elif stage == "signed-off":
        review.update(level="clinical", signed_off_by=(state.actor,), signed_off_on=state.at)
    elif stage != "retired":
        review["level"] = "none"
    if review.get("level") != "clinical":
        review.pop("signed_off_by", None)
        review.pop("signed_off_on", None)
    status = "approved" if stage == "signed-off" else stage
    return {**data, "status": status, "review": review}


def apply_reviews(raw: RawContent, reviews: Mapping[str, ReviewState]) -> RawContent:
    """``raw`` with each review whose fingerprint still matches applied (``raw`` is unchanged).

    The decision's stage sets the item's status and ``review`` block: an approval records the
    level ``engineering``, the reviewer and the date; a sign-off the level ``clinical``, the
    signer and the date; a draft, submitted or in-review stage the level ``none``; a recorded
    author is kept (``next_review_due`` always is).  Decisions for unknown items or for edited
    text (a fingerprint that no longer matches) are ignored.  The content version is the base
    version when no effective stage differs from the files', and otherwise a hash of the base
    version and the changed ``(id, stage, fingerprint)`` triples, so every process derives the
    same version.
    """
    files = item_files(raw)
    recommendations = dict(raw.recommendations)
    changed: list[tuple[str, str, str]] = []
    for item_id in sorted(reviews):
        state = reviews[item_id]
        file = files.get(item_id)
        if file is None:
            continue
        data = raw.recommendations[file]
        fingerprint = _fingerprint_of(data)
        if fingerprint != state.fingerprint:
            continue
        recommendations[file] = _overlay(data, state)
        if state.to_status != _file_stage(data):
            changed.append((item_id, state.to_status, fingerprint))
    if not changed:
        return RawContent(
            sources=raw.sources,
            vocabulary=raw.vocabulary,
            parameters=raw.parameters,
            regimens=raw.regimens,
            recommendations=recommendations,
            content_version=raw.content_version,
            answering=raw.answering,
        )
    digest = hashlib.sha256(raw.content_version.encode())
    for triple in sorted(changed):
        digest.update(b"\0" + "\x1f".join(triple).encode())
    return RawContent(
        sources=raw.sources,
        vocabulary=raw.vocabulary,
        parameters=raw.parameters,
        regimens=raw.regimens,
        recommendations=recommendations,
        content_version="sha256:" + digest.hexdigest()[:16],
        answering=raw.answering,
    )
