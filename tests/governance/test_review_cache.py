"""The web app's bounded-staleness read of the review decisions (``max_age``).

Two ``ContentReviews`` on one database stand for two processes; the cache clock is a fake one.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from b12.adapters.sql import content_review as content_review_module
from b12.adapters.sql.content_review import REVIEW_CHECK_SECONDS, ContentReviews
from b12.adapters.sql.registry import make_engine
from b12.core.kb_build import RawContent
from tests.governance.conftest import DRAFT, NOW


class FakeClock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(content_review_module, "_clock", fake)
    return fake


def _submit(reviews: ContentReviews) -> None:
    reviews.transition(
        DRAFT, "submitted", actor="dr.author", role="clinician", comment=None, now=NOW
    )


def test_another_process_decision_is_seen_within_the_bound(
    db_url: str, engine: Engine, fixed_raw: RawContent, clock: FakeClock
) -> None:
    other_engine = make_engine(db_url)
    try:
        server = ContentReviews(engine, fixed_raw)
        other = ContentReviews(other_engine, fixed_raw)

        def status() -> str:
            kb = server.knowledge_base(max_age=REVIEW_CHECK_SECONDS)
            return kb.recommendations[DRAFT].status

        assert status() == "draft"
        _submit(other)
        clock.now += REVIEW_CHECK_SECONDS / 2
        assert status() == "draft"  # trusted for up to REVIEW_CHECK_SECONDS
        assert server.knowledge_base().recommendations[DRAFT].status == "submitted"  # exact read
        clock.now += REVIEW_CHECK_SECONDS
        assert status() == "submitted"
    finally:
        other_engine.dispose()


def test_an_uncached_read_after_the_bound_sees_the_other_process(
    db_url: str, engine: Engine, fixed_raw: RawContent, clock: FakeClock
) -> None:
    other_engine = make_engine(db_url)
    try:
        server = ContentReviews(engine, fixed_raw)
        other = ContentReviews(other_engine, fixed_raw)
        server.knowledge_base(max_age=REVIEW_CHECK_SECONDS)
        _submit(other)
        clock.now += REVIEW_CHECK_SECONDS + 0.01
        kb = server.knowledge_base(max_age=REVIEW_CHECK_SECONDS)
        assert kb.recommendations[DRAFT].status == "submitted"
    finally:
        other_engine.dispose()


def test_this_process_decision_is_seen_at_once(
    engine: Engine, fixed_raw: RawContent, clock: FakeClock
) -> None:
    server = ContentReviews(engine, fixed_raw)
    assert server.knowledge_base(max_age=60).recommendations[DRAFT].status == "draft"
    _submit(server)
    assert server.knowledge_base(max_age=60).recommendations[DRAFT].status == "submitted"
