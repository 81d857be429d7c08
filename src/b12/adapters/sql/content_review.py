"""Review decisions made in the web app, stored in ``content_reviews`` (PRODUCT.md C9).

Content files ship with the package and are read-only; each row of ``content_reviews`` moves
one item to a new status and records who, when, why and the fingerprint of the text reviewed.
The newest row for an item applies while the item still has that fingerprint
(:func:`b12.core.governance.apply_reviews`); the effective knowledge base is the files with the
applicable decisions overlaid.

The effective knowledge base is cached in-process, keyed by the newest ``content_reviews.id``
(rows are only ever inserted), so several app processes sharing a database agree.  A caller may
accept a knowledge base up to ``max_age`` seconds old (the web app uses
:data:`REVIEW_CHECK_SECONDS`, 1 s): the newest id is then read at most once per ``max_age`` per
process.  A decision made in this process is seen at once (``transition`` updates the cache);
one made in another process (another ``b12 serve`` worker or host) within ``max_age``.

Writes are serialised: SQLite takes the write lock at ``BEGIN IMMEDIATE`` (the engine must come
from :func:`b12.adapters.sql.registry.make_engine`); PostgreSQL takes a transaction-scoped
advisory lock.  The current status is read and checked inside that lock, so two concurrent
moves of one item cannot both succeed from one status.

Should the files change so that a decision which still matches its text no longer fits (say an
approved item's regimen became a draft), that approval is set aside and the item keeps its
file status (never the other way round): the knowledge base still builds and the item is shown
with ``stale_reviews``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, text

from b12.adapters.sql.tables import audit, content_reviews
from b12.adapters.sql.transactions import EngineStore
from b12.core.errors import FieldProblem, InputError, KnowledgeBaseError, NotFound
from b12.core.governance import (
    STAGES,
    People,
    ReviewState,
    apply_reviews,
    check_transition,
    item_files,
    item_fingerprints,
    stage_of,
)
from b12.core.kb_build import RawContent, build_knowledge_base
from b12.core.knowledge import (
    REVIEW_LEVEL_LABELS,
    DisagreementAction,
    KnowledgeBase,
    OutputReviewLevel,
    Recommendation,
    review_level_of,
)

# Key of the PostgreSQL advisory lock that serialises review decisions ("b12-cr" in ASCII).
ADVISORY_LOCK_KEY = 0x6231322D6372
MAX_ACTOR = 200
#: How long the web app trusts the newest review id it read without asking the database again.
REVIEW_CHECK_SECONDS = 1.0
_clock = time.monotonic  # seconds, for the caches (tests replace it)


@dataclass(frozen=True)
class ReviewEvent:
    """One stored decision; ``applies`` is False once the item's text has changed since."""

    id: int
    from_status: str
    to_status: str
    actor: str
    at: datetime
    comment: str | None
    fingerprint: str
    applies: bool


@dataclass(frozen=True)
class ReviewItem:
    """A knowledge-base item as the review pages show it.

    ``file_status`` is the status written in the file, ``status`` the effective one (after the
    web app's decisions) and ``stage`` the effective review stage (``signed-off`` for approved
    content with a clinical sign-off); ``review_level`` and ``review_label`` say how far the
    review went, ``author`` who submitted the current text (when recorded).  ``stale_reviews``
    is True when the item has decisions but the newest one does not apply (its text was
    edited since, or it no longer fits the files).
    """

    id: str
    title: str
    kind: str
    file_status: str
    status: str
    stage: str
    review_level: OutputReviewLevel
    review_label: str
    author: str | None
    evidence: str
    jurisdiction: tuple[str, ...]
    sources: tuple[str, ...]
    history: tuple[ReviewEvent, ...]
    fingerprint: str
    stale_reviews: bool


@dataclass(frozen=True)
class _Effective:
    key: int  # newest content_reviews.id (0: none)
    kb: KnowledgeBase
    applied: Mapping[str, ReviewState]
    set_aside: frozenset[str]  # items whose matching approval no longer fits the files


def _state(row: Any, people: Mapping[str, Any]) -> ReviewState:
    """The decision in ``row``, with the author and approver of its text (``people``)."""
    submitted, approved = people.get("submitted"), people.get("approved")
    return ReviewState(
        to_status=row.to_status,
        actor=row.actor,
        at=row.at.date(),
        fingerprint=row.item_fingerprint,
        author=submitted.actor if submitted is not None else None,
        approved_by=approved.actor if approved is not None else None,
        approved_on=approved.at.date() if approved is not None else None,
        from_status=row.from_status,
    )


class ContentReviews(EngineStore):
    """Review decisions over one set of content files, stored in the registry database."""

    def __init__(self, engine: Engine, raw: RawContent) -> None:
        self.engine = engine
        self.raw = raw
        self.is_sqlite = engine.dialect.name == "sqlite"
        self._files = item_files(raw)
        self._fingerprints = item_fingerprints(raw)
        self._cache: _Effective | None = None
        self._lock = threading.Lock()
        self._checked_at = -float("inf")  # _clock() of the last newest-id read

    # -- reading ------------------------------------------------------------------------------

    def knowledge_base(self, *, max_age: float = 0.0) -> KnowledgeBase:
        """The effective knowledge base: the files with the applicable decisions overlaid.

        With ``max_age`` > 0, decisions made by other processes may be seen up to ``max_age``
        seconds late (this process's own decisions are always seen at once).
        """
        cached = self._cache
        started = _clock()
        if cached is not None and started - self._checked_at < max_age:
            return cached.kb
        with self._read() as conn:
            kb = self._effective(conn).kb
        with self._lock:
            self._checked_at = max(self._checked_at, started)
        return kb

    def items(self, *, status: str | None = None) -> list[ReviewItem]:
        """Every reviewable item (optionally only those with effective ``status``), by id."""
        if status is not None and status not in STAGES:
            raise InputError(
                [FieldProblem("status", f"unknown status {status!r}; expected one of {STAGES}")]
            )
        with self._read() as conn:
            rows = conn.execute(select(content_reviews).order_by(content_reviews.c.id)).all()
            eff = self._effective(conn, newest=rows[-1].id if rows else 0)
        history: dict[str, list[Any]] = {}
        for row in rows:
            history.setdefault(row.item_id, []).append(row)
        out = [self._item(eff, i, history.get(i, [])) for i in sorted(self._files)]
        return [it for it in out if status is None or status in (it.status, it.stage)]

    def item(self, item_id: str) -> ReviewItem:
        """One item with its history; :class:`NotFound` for an unknown id."""
        if item_id not in self._files:
            raise NotFound(f"no knowledge-base item {item_id!r}")
        with self._read() as conn:
            eff = self._effective(conn)
            rows = conn.execute(
                select(content_reviews)
                .where(content_reviews.c.item_id == item_id, content_reviews.c.id <= eff.key)
                .order_by(content_reviews.c.id)
            ).all()
        return self._item(eff, item_id, list(rows))

    # -- writing ------------------------------------------------------------------------------

    def transition(
        self,
        item_id: str,
        to_status: str,
        *,
        actor: str,
        role: str,
        comment: str | None,
        now: datetime,
    ) -> ReviewItem:
        """Move ``item_id`` to ``to_status``; the row and its audit entry commit together.

        Checked against the item's current effective status inside the write lock.  Raises
        :class:`NotFound`, :class:`InputError` (impossible move, missing comment, or a
        knowledge base that would not build, e.g. approved content that depends on a draft),
        or :class:`Refused` (the role may not make this move).
        """
        if item_id not in self._files:
            raise NotFound(f"no knowledge-base item {item_id!r}")
        actor = actor.strip()
        if not actor or len(actor) > MAX_ACTOR:
            raise InputError([FieldProblem("actor", f"1 to {MAX_ACTOR} characters")])
        note = (comment or "").strip() or None
        fingerprint = self._fingerprints[item_id]
        with self._write() as conn:
            if not self.is_sqlite:
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ADVISORY_LOCK_KEY})
            current = self._effective(conn)
            from_status, decided, applied, kb = self._decide(
                current, item_id, to_status, actor=actor, role=role, note=note, now=now
            )
            inserted = conn.execute(
                insert(content_reviews).values(
                    item_id=item_id,
                    item_fingerprint=fingerprint,
                    from_status=from_status,
                    to_status=to_status,
                    actor=actor,
                    at=now,
                    comment=note,
                )
            ).inserted_primary_key
            assert inserted is not None
            new_id = int(inserted[0])
            conn.execute(
                insert(audit).values(
                    at=now,
                    actor=actor,
                    action="content_review",
                    table_name="content_reviews",
                    record_id=str(new_id),
                    detail={
                        "item_id": item_id,
                        "from_status": from_status,
                        "to_status": to_status,
                        "role": role,
                        "author": decided.author,
                        "fingerprint": fingerprint,
                        "comment": note,
                    },
                )
            )
            if current.set_aside - {item_id}:  # rare: rebuild as every reader will
                after = self._effective(conn, newest=new_id, cache=False)
            else:
                after = _Effective(new_id, kb, applied, frozenset())
            moved = after.kb.recommendations[item_id]
            if stage_of(moved.status, moved.review.level) != to_status:  # pragma: no cover
                raise InputError(
                    [FieldProblem("to_status", f"{item_id} cannot become {to_status}")]
                )
        self._remember(after)
        return self.item(item_id)

    def preview(
        self,
        item_id: str,
        to_status: str,
        *,
        actor: str,
        role: str,
        now: datetime,
        comment: str | None = None,
    ) -> tuple[KnowledgeBase, KnowledgeBase]:
        """The effective knowledge base now and as it would be after the move; nothing written.

        The same checks as :meth:`transition` (who may, a second person, whether the knowledge
        base still builds), except that a comment the move requires is not asked for yet.
        """
        if item_id not in self._files:
            raise NotFound(f"no knowledge-base item {item_id!r}")
        with self._read() as conn:
            current = self._effective(conn)
            *_, kb = self._decide(
                current,
                item_id,
                to_status,
                actor=actor.strip(),
                role=role,
                note=(comment or "").strip() or "(preview)",
                now=now,
            )
        return current.kb, kb

    def _decide(
        self,
        current: _Effective,
        item_id: str,
        to_status: str,
        *,
        actor: str,
        role: str,
        note: str | None,
        now: datetime,
    ) -> tuple[str, ReviewState, dict[str, ReviewState], KnowledgeBase]:
        """Check the move against the current state and build the knowledge base after it."""
        fingerprint = self._fingerprints[item_id]
        rec = current.kb.recommendations[item_id]
        from_status = stage_of(rec.status, rec.review.level)
        approvers = rec.review.reviewed_by if rec.status == "approved" else ()
        people = People(rec.review.author, approvers)
        move = check_transition(from_status, to_status, role, note, actor=actor, people=people)
        decided = _decision(
            current.applied.get(item_id),
            (from_status, to_status, move.name),
            actor,
            now,
            fingerprint,
        )
        applied = {**current.applied, item_id: decided}
        try:
            kb = build_knowledge_base(apply_reviews(self.raw, applied))
        except KnowledgeBaseError as exc:
            raise InputError(
                [
                    FieldProblem("to_status", f"{item_id} cannot become {to_status}: {p.render()}")
                    for p in exc.problems
                ]
            ) from None
        return from_status, decided, applied, kb

    # -- internals ----------------------------------------------------------------------------

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._guard(), self.engine.connect() as conn, conn.begin():
            yield conn

    def _effective(
        self, conn: Connection, *, newest: int | None = None, cache: bool = True
    ) -> _Effective:
        """The effective knowledge base for the rows up to ``newest`` (default: all rows)."""
        if newest is None:
            newest = int(
                conn.execute(select(func.coalesce(func.max(content_reviews.c.id), 0))).scalar_one()
            )
        cached = self._cache
        if cached is not None and cached.key == newest:
            return cached
        latest = (
            select(func.max(content_reviews.c.id))
            .where(content_reviews.c.id <= newest)
            .group_by(content_reviews.c.item_id)
        )
        rows = conn.execute(select(content_reviews).where(content_reviews.c.id.in_(latest))).all()
        people = self._people(conn, newest)
        reviews = {
            r.item_id: _state(r, people.get(r.item_id, {}))
            for r in rows
            if r.item_id in self._files and r.item_fingerprint == self._fingerprints[r.item_id]
        }
        eff = _Effective(newest, *self._build(reviews))
        if cache:
            self._remember(eff)
        return eff

    def _people(self, conn: Connection, newest: int) -> dict[str, dict[str, Any]]:
        """Per item, the newest submission and approval rows of its current text."""
        moves = content_reviews.c.from_status.in_(("draft", "in-review"))
        newest_moves = (
            select(func.max(content_reviews.c.id))
            .where(
                content_reviews.c.id <= newest,
                content_reviews.c.to_status.in_(("submitted", "approved")),
                moves,
            )
            .group_by(content_reviews.c.item_id, content_reviews.c.to_status)
        )
        rows = conn.execute(
            select(content_reviews).where(content_reviews.c.id.in_(newest_moves))
        ).all()
        out: dict[str, dict[str, Any]] = {}
        for r in rows:
            if r.item_id in self._files and r.item_fingerprint == self._fingerprints[r.item_id]:
                out.setdefault(r.item_id, {})[r.to_status] = r
        return out

    def _remember(self, eff: _Effective) -> None:
        with self._lock:
            if self._cache is None or self._cache.key < eff.key:
                self._cache = eff

    def _build(
        self, reviews: dict[str, ReviewState]
    ) -> tuple[KnowledgeBase, Mapping[str, ReviewState], frozenset[str]]:
        """Build with ``reviews``; set aside approvals that no longer fit the files."""
        by_file = {f: i for i, f in self._files.items()}
        matching = set(reviews)
        for _ in range(len(reviews) + 1):  # each failed round sets at least one aside
            try:
                kb = build_knowledge_base(apply_reviews(self.raw, reviews))
                return kb, reviews, frozenset(matching - set(reviews))
            except KnowledgeBaseError as exc:
                culprits = {
                    by_file[p.file]
                    for p in exc.problems
                    if p.file in by_file
                    and by_file[p.file] in reviews
                    and reviews[by_file[p.file]].to_status in ("approved", "signed-off")
                }
                if not culprits:
                    raise
                reviews = {i: s for i, s in reviews.items() if i not in culprits}
        raise KnowledgeBaseError([])  # pragma: no cover - unreachable

    def _item(self, eff: _Effective, item_id: str, rows: list[Any]) -> ReviewItem:
        rec: Recommendation = eff.kb.recommendations[item_id]
        data = self.raw.recommendations[self._files[item_id]]
        fingerprint = self._fingerprints[item_id]
        history = tuple(
            ReviewEvent(
                id=r.id,
                from_status=r.from_status,
                to_status=r.to_status,
                actor=r.actor,
                at=r.at,
                comment=r.comment,
                fingerprint=r.item_fingerprint,
                applies=r.item_fingerprint == fingerprint,
            )
            for r in rows
        )
        level = review_level_of(rec.status, rec.review)
        return ReviewItem(
            id=item_id,
            title=rec.title,
            kind="recommendation",
            file_status=str(data.get("status")),
            status=rec.status,
            stage=stage_of(rec.status, rec.review.level),
            review_level=level,
            review_label=REVIEW_LEVEL_LABELS[level],
            author=rec.review.author,
            evidence=rec.evidence,
            jurisdiction=tuple(rec.jurisdiction),
            sources=_sources(rec),
            history=history,
            fingerprint=fingerprint,
            stale_reviews=bool(rows) and item_id not in eff.applied,
        )


def _decision(
    current: ReviewState | None,
    move: tuple[str, str, str],
    actor: str,
    now: datetime,
    fingerprint: str,
) -> ReviewState:
    """The decision ``move`` (from, to, name), carrying forward its text's author and approver.

    A submission records its actor as the author, an approval as the approver.
    """
    from_status, to_status, name = move
    author = actor if name == "submit" else (current.author if current else None)
    approved_by: str | None = current.approved_by if current else None
    approved_on: date | None = current.approved_on if current else None
    if name == "approve":
        approved_by, approved_on = actor, now.date()
    return ReviewState(
        to_status=to_status,
        actor=actor,
        at=now.date(),
        fingerprint=fingerprint,
        author=author,
        approved_by=approved_by,
        approved_on=approved_on,
        from_status=from_status,
    )


def _sources(rec: Recommendation) -> tuple[str, ...]:
    """Source ids the item cites (its own citations and each disagreement position's)."""
    cited = [c.source for c in rec.citations]
    if isinstance(rec.action, DisagreementAction):
        for pos in rec.action.positions:
            cited.extend(c.source for c in pos.citations)
    return tuple(dict.fromkeys(cited))
