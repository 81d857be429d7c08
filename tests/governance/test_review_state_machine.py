"""Any sequence of review moves keeps the effective knowledge base buildable (Hypothesis).

The machine tries random moves (any item, any stage, any role, with or without a comment)
against a real database and checks every outcome against the specification: a move succeeds
only when the state machine allows it for the role and no person reviews their own work (the
author never approves, the signer is neither author nor approver), failures are only
``InputError`` or ``Refused`` and write nothing, and after every step the knowledge base
builds, shows the modelled stages, and after every move a second reader on the same database
agrees on the content version.
"""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import Engine, delete, func, select

from b12.adapters.sql.content_review import ContentReviews
from b12.adapters.sql.tables import audit, content_reviews
from b12.core.errors import InputError, Refused
from b12.core.governance import ROLES, STAGES, stage_of
from b12.core.kb_build import RawContent
from tests.governance.conftest import DRAFT, NOW
from tests.governance.test_governance_core import SPEC

# The draft, the only catch-all decision (retiring it must fail), and two approved items.
ITEMS = (DRAFT, "B12-DX-040", "B12-SAFE-001", "B12-TX-002")


def _rows(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        return (
            int(conn.execute(select(func.count()).select_from(content_reviews)).scalar_one()),
            int(conn.execute(select(func.count()).select_from(audit)).scalar_one()),
        )


def test_any_sequence_of_moves_keeps_the_knowledge_base_buildable(
    engine: Engine, fixed_raw: RawContent
) -> None:
    file_status = {
        r["id"]: r["status"] for r in fixed_raw.recommendations.values() if r["id"] in ITEMS
    }

    class Reviews(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            with engine.begin() as conn:
                conn.execute(delete(audit))
                conn.execute(delete(content_reviews))
            self.reviews = ContentReviews(engine, fixed_raw)
            self.model = dict(file_status)
            self.author: dict[str, str] = {}
            self.approvers: dict[str, tuple[str, ...]] = {
                i: ("b12-founding-engineers",) for i, s in file_status.items() if s == "approved"
            }

        def same_person(self, item: str, before: str, to_status: str, actor: str) -> bool:
            if (before, to_status) == ("in-review", "approved"):
                return self.author.get(item) in (None, actor)
            if (before, to_status) == ("approved", "signed-off"):
                return actor in (self.author.get(item), *self.approvers.get(item, ()))
            return False

        @rule(
            item=st.sampled_from(ITEMS),
            to_status=st.sampled_from(STAGES),
            role=st.sampled_from(ROLES),
            comment=st.sampled_from([None, "", "  ", "reason given"]),
        )
        def move(self, item: str, to_status: str, role: str, comment: str | None) -> None:
            before = self.model[item]
            spec = SPEC.get((before, to_status))
            written = _rows(engine)
            actor = f"{role}.user"
            twice = self.same_person(item, before, to_status, actor)
            try:
                out = self.reviews.transition(
                    item, to_status, actor=actor, role=role, comment=comment, now=NOW
                )
            except Refused:
                assert spec is not None
                assert role not in spec[0] or twice
                assert _rows(engine) == written
            except InputError as exc:
                assert _rows(engine) == written
                field = exc.problems[0].field
                if spec is None:
                    assert field == "to_status"
                elif spec[1] and not (comment or "").strip():
                    assert field == "comment"
                else:  # allowed, but the knowledge base would not build
                    assert (item, to_status) == ("B12-DX-040", "retired"), field
            else:
                assert spec is not None
                assert role in spec[0]
                assert not twice
                assert not spec[1] or (comment or "").strip()
                assert out.stage == to_status
                assert _rows(engine) == (written[0] + 1, written[1] + 1)
                self.model[item] = to_status
                if to_status == "submitted":
                    self.author[item] = actor
                if (before, to_status) == ("in-review", "approved"):
                    self.approvers[item] = (actor,)
                # Another process (a fresh reader, no cache) agrees on the result.
                fresh = ContentReviews(engine, fixed_raw).knowledge_base()
                assert fresh.content_version == self.reviews.knowledge_base().content_version

        @invariant()
        def buildable_and_agreed(self) -> None:
            kb = self.reviews.knowledge_base()
            for item in ITEMS:
                rec = kb.recommendations[item]
                assert stage_of(rec.status, rec.review.level) == self.model[item]
            unchanged = self.model == file_status
            assert (kb.content_version == fixed_raw.content_version) == unchanged

    run_state_machine_as_test(
        Reviews, settings=settings(max_examples=30, stateful_step_count=14, deadline=None)
    )
