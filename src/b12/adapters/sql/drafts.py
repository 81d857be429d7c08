"""Saved inputs of the web app's result pages (table ``result_drafts``, migration 0009).

A plan, an order check or a follow-up made from a form is saved here as its inputs — the
engine's request document with its ``as_of`` fixed, and the form as it was typed — under an
unguessable id (``secrets.token_urlsafe``, 192 bits).  The result page is a GET of that id that
recomputes the output from the stored inputs, so the page can be bookmarked, shared within the
practice and reloaded without "Confirm form resubmission".  Outputs are never stored.

Every save and every read is audited in the same transaction (``save_result`` / ``view``),
like the registry's writes and patient pages.  Reading needs no more than the id: the web layer
lets only signed-in users ask.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import Engine, insert, select

from b12.adapters.sql.tables import audit, result_drafts
from b12.adapters.sql.transactions import EngineStore

DraftKind = Literal["plan", "check", "next"]
KINDS: tuple[DraftKind, ...] = ("plan", "check", "next")
#: What an id looks like (``token_urlsafe(24)``); anything else is not looked up.
DRAFT_ID = re.compile(r"[A-Za-z0-9_-]{32}")


@dataclass(frozen=True)
class ResultDraft:
    """The stored inputs of one result page."""

    id: str
    kind: DraftKind
    request: dict[str, Any]
    form: dict[str, Any]
    as_of: date
    allow_draft: bool
    patient_id: str | None
    created_by: str
    created_at: datetime


class ResultDrafts(EngineStore):
    """Save and read result drafts on the registry's database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def save(
        self,
        kind: DraftKind,
        request: dict[str, Any],
        form: dict[str, Any],
        *,
        as_of: date,
        allow_draft: bool,
        patient_id: str | None,
        actor: str,
        now: datetime,
    ) -> str:
        """Store the inputs and return the new draft's id (audited as ``save_result``)."""
        draft_id = secrets.token_urlsafe(24)
        with self._write() as conn:
            conn.execute(
                insert(result_drafts).values(
                    id=draft_id,
                    kind=kind,
                    request=request,
                    form=form,
                    as_of=as_of,
                    allow_draft=int(allow_draft),
                    patient_id=patient_id,
                    created_by=actor,
                    created_at=now,
                )
            )
            conn.execute(
                insert(audit).values(
                    at=now,
                    actor=actor,
                    action="save_result",
                    table_name="result_drafts",
                    record_id=draft_id,
                    detail={"kind": kind, "patient_id": patient_id},
                )
            )
        return draft_id

    def load(self, draft_id: str, *, actor: str, now: datetime) -> ResultDraft | None:
        """The draft with that id (``None`` if there is none); the read is audited (``view``)."""
        if not DRAFT_ID.fullmatch(draft_id):
            return None
        with self._write() as conn:
            row = (
                conn.execute(select(result_drafts).where(result_drafts.c.id == draft_id))
                .mappings()
                .first()
            )
            if row is None:
                return None
            conn.execute(
                insert(audit).values(
                    at=now,
                    actor=actor,
                    action="view",
                    table_name="result_drafts",
                    record_id=draft_id,
                    detail={"kind": row["kind"], "patient_id": row["patient_id"]},
                )
            )
        return ResultDraft(
            id=row["id"],
            kind=row["kind"],
            request=dict(row["request"]),
            form=dict(row["form"]),
            as_of=row["as_of"],
            allow_draft=bool(row["allow_draft"]),
            patient_id=row["patient_id"],
            created_by=row["created_by"],
            created_at=row["created_at"],
        )
