"""Review decisions stored in the registry database (``ContentReviews``), SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, insert, select, text

from b12.adapters.sql.content_review import ADVISORY_LOCK_KEY, ContentReviews
from b12.adapters.sql.tables import audit, content_reviews
from b12.core.errors import InputError, NotFound, Refused
from b12.core.governance import item_fingerprint
from b12.core.kb_build import RawContent
from b12.core.plan import PlanOptions
from b12.core.requests import plan_request
from tests.governance.conftest import DRAFT, DRAFT_FILE, NOW

REVIEWER = "dr.reviewer"
# The V-035 patient (recreational nitrous oxide, neurological symptoms).
PICTURE = {
    "age": 21,
    "sex": "male",
    "cause": "nitrous_oxide",
    "medications": ["nitrous_oxide"],
    "neuro_symptoms": ["paraesthesia", "ataxia"],
    "labs": {"serum_b12_ng_l": 150, "homocysteine_umol_l": 48},
    "as_of": "2026-05-31",
}


def approve_draft(reviews: ContentReviews) -> None:
    reviews.transition(
        DRAFT, "submitted", actor="dr.author", role="clinician", comment=None, now=NOW
    )
    reviews.transition(DRAFT, "in-review", actor=REVIEWER, role="reviewer", comment=None, now=NOW)
    reviews.transition(
        DRAFT, "approved", actor=REVIEWER, role="reviewer", comment="checked", now=NOW
    )


def review_rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(content_reviews)).scalar_one())


def test_new_database_serves_the_files(engine: Engine, fixed_raw: RawContent) -> None:
    reviews = ContentReviews(engine, fixed_raw)
    kb = reviews.knowledge_base()
    assert kb.content_version == fixed_raw.content_version
    assert kb.recommendations[DRAFT].status == "draft"
    drafts = {i.id: i for i in reviews.items(status="draft")}
    assert DRAFT in drafts
    assert set(drafts) == {r.id for r in kb.recommendations.values() if r.status == "draft"}
    item = drafts[DRAFT]
    assert (item.kind, item.file_status, item.status) == ("recommendation", "draft", "draft")
    assert item.history == ()
    assert not item.stale_reviews
    assert item.sources == ("nice-ng239-2024",)
    assert item.jurisdiction == ("uk",)
    assert len(reviews.items()) == len(fixed_raw.recommendations)
    with pytest.raises(NotFound):
        reviews.item("B12-SAFE-999")
    with pytest.raises(InputError) as err:
        reviews.items(status="published")
    assert err.value.problems[0].field == "status"


def test_approval_reaches_the_plan_without_allow_draft(
    engine: Engine, fixed_raw: RawContent
) -> None:
    reviews = ContentReviews(engine, fixed_raw)
    _, before = plan_request(PICTURE, reviews.knowledge_base())
    assert DRAFT not in [r.id for r in before.recommendations]
    _, drafted = plan_request(
        PICTURE, reviews.knowledge_base(), options=PlanOptions(allow_draft=True)
    )
    assert drafted.review_status == "pending_review"

    approve_draft(reviews)

    kb = reviews.knowledge_base()
    assert kb.content_version != fixed_raw.content_version
    assert kb.recommendations[DRAFT].review.reviewed_by == (REVIEWER,)
    assert kb.recommendations[DRAFT].review.reviewed_on == NOW.date()
    _, plan = plan_request(PICTURE, kb)
    assert DRAFT in [r.id for r in plan.recommendations]
    assert plan.review_status == "approved"
    assert plan.review_banner is None
    assert plan.content_version == kb.content_version

    item = reviews.item(DRAFT)
    assert (item.file_status, item.status) == ("draft", "approved")
    assert [(e.from_status, e.to_status, e.actor) for e in item.history] == [
        ("draft", "submitted", "dr.author"),
        ("submitted", "in-review", REVIEWER),
        ("in-review", "approved", REVIEWER),
    ]
    assert all(e.at == NOW and e.applies for e in item.history)
    assert item.history[-1].comment == "checked"
    with engine.connect() as conn:
        rows = conn.execute(
            select(audit.c.actor, audit.c.action, audit.c.detail).order_by(audit.c.id)
        ).all()
    assert [(r.actor, r.action) for r in rows] == [
        ("dr.author", "content_review"),
        (REVIEWER, "content_review"),
        (REVIEWER, "content_review"),
    ]
    assert rows[-1].detail["item_id"] == DRAFT
    assert rows[-1].detail["to_status"] == "approved"


def test_send_back_needs_a_comment_and_returns_to_draft(
    engine: Engine, fixed_raw: RawContent
) -> None:
    reviews = ContentReviews(engine, fixed_raw)
    reviews.transition(
        DRAFT, "submitted", actor="dr.author", role="clinician", comment=None, now=NOW
    )
    with pytest.raises(InputError) as err:
        reviews.transition(DRAFT, "draft", actor=REVIEWER, role="reviewer", comment=" ", now=NOW)
    assert err.value.problems[0].field == "comment"
    assert review_rows(engine) == 1
    submitted_version = reviews.knowledge_base().content_version
    assert submitted_version != fixed_raw.content_version

    item = reviews.transition(
        DRAFT, "draft", actor=REVIEWER, role="reviewer", comment="cite the final NG239", now=NOW
    )
    assert item.status == "draft"
    assert item.history[-1].comment == "cite the final NG239"
    assert reviews.knowledge_base().content_version == fixed_raw.content_version


def test_roles_and_impossible_moves_write_nothing(engine: Engine, fixed_raw: RawContent) -> None:
    reviews = ContentReviews(engine, fixed_raw)
    with pytest.raises(Refused):
        reviews.transition(
            DRAFT, "submitted", actor="nurse.jones", role="nurse", comment=None, now=NOW
        )
    with pytest.raises(InputError) as err:
        reviews.transition(
            DRAFT, "approved", actor=REVIEWER, role="reviewer", comment=None, now=NOW
        )
    assert err.value.problems[0].field == "to_status"
    reviews.transition(
        DRAFT, "submitted", actor="dr.author", role="clinician", comment=None, now=NOW
    )
    with pytest.raises(Refused):
        reviews.transition(
            DRAFT, "in-review", actor="dr.author", role="clinician", comment=None, now=NOW
        )
    with pytest.raises(InputError) as err:
        reviews.transition(DRAFT, "submitted", actor="x", role="admin", comment=None, now=NOW)
    assert err.value.problems[0].field == "to_status"
    with pytest.raises(InputError) as err:
        reviews.transition(DRAFT, "in-review", actor=" ", role="admin", comment=None, now=NOW)
    assert err.value.problems[0].field == "actor"
    with pytest.raises(NotFound):
        reviews.transition(
            "B12-SAFE-999", "submitted", actor="x", role="admin", comment=None, now=NOW
        )
    assert review_rows(engine) == 1
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(audit)).scalar_one() == 1


def test_two_people_approve_and_a_safety_officer_signs_off(
    engine: Engine, fixed_raw: RawContent
) -> None:
    reviews = ContentReviews(engine, fixed_raw)
    move = reviews.transition
    move(DRAFT, "submitted", actor="dr.author", role="reviewer", comment=None, now=NOW)
    move(DRAFT, "in-review", actor="dr.author", role="reviewer", comment=None, now=NOW)
    with pytest.raises(Refused, match="second person"):
        move(DRAFT, "approved", actor="dr.author", role="reviewer", comment=None, now=NOW)
    assert review_rows(engine) == 2
    item = reviews.item(DRAFT)
    assert (item.stage, item.author, item.review_level) == ("in-review", "dr.author", "unreviewed")

    move(DRAFT, "approved", actor=REVIEWER, role="reviewer", comment=None, now=NOW)
    item = reviews.item(DRAFT)
    assert (item.status, item.stage, item.review_level) == (
        "approved",
        "approved",
        "engineering_reviewed",
    )
    assert item.review_label == "Engineering-reviewed; not clinically signed off"
    # A reviewer may not sign off; nor may the author or the approver, even as safety officer.
    with pytest.raises(Refused):
        move(DRAFT, "signed-off", actor="dr.other", role="reviewer", comment=None, now=NOW)
    for who in ("dr.author", REVIEWER):
        with pytest.raises(Refused, match="sign it off"):
            move(DRAFT, "signed-off", actor=who, role="safety_officer", comment=None, now=NOW)
    assert review_rows(engine) == 3

    later = NOW + timedelta(days=3)
    move(DRAFT, "signed-off", actor="dr.cso", role="safety_officer", comment="ok", now=later)
    item = reviews.item(DRAFT)
    assert (item.status, item.stage, item.review_level) == (
        "approved",
        "signed-off",
        "clinically_signed_off",
    )
    assert [i.id for i in reviews.items(status="signed-off")] == [DRAFT]
    kb = reviews.knowledge_base()
    review = kb.recommendations[DRAFT].review
    assert (review.author, review.reviewed_by, review.signed_off_by) == (
        "dr.author",
        (REVIEWER,),
        ("dr.cso",),
    )
    assert review.signed_off_on == later.date()
    # A second reader (another process) agrees.
    again = ContentReviews(engine, fixed_raw).knowledge_base().recommendations[DRAFT].review
    assert again == review
    with engine.connect() as conn:
        details = [
            r.detail for r in conn.execute(select(audit.c.detail).order_by(audit.c.id)).all()
        ]
    assert [d["author"] for d in details] == ["dr.author"] * 4

    # Withdrawing the sign-off needs a reason and keeps the engineering reviewer.
    with pytest.raises(InputError):
        move(DRAFT, "approved", actor="dr.cso", role="safety_officer", comment=None, now=later)
    move(DRAFT, "approved", actor="dr.cso", role="safety_officer", comment="recheck", now=later)
    review = reviews.knowledge_base().recommendations[DRAFT].review
    assert (review.level, review.reviewed_by, review.signed_off_by) == (
        "engineering",
        (REVIEWER,),
        (),
    )


def test_a_safety_officer_signs_off_bundled_content(engine: Engine, fixed_raw: RawContent) -> None:
    reviews = ContentReviews(engine, fixed_raw)
    _, before = plan_request(PICTURE, reviews.knowledge_base())
    assert before.review_level == "engineering_reviewed"
    item = reviews.item("B12-SAFE-001")
    assert (item.stage, item.review_level) == ("approved", "engineering_reviewed")
    reviews.transition(
        "B12-SAFE-001", "signed-off", actor="dr.cso", role="safety_officer", comment=None, now=NOW
    )
    kb = reviews.knowledge_base()
    assert kb.content_version != fixed_raw.content_version
    assert kb.recommendations["B12-SAFE-001"].review.level == "clinical"
    assert reviews.item("B12-SAFE-001").review_level == "clinically_signed_off"


def test_a_move_that_breaks_the_knowledge_base_is_refused_with_its_reasons(
    engine: Engine, raw: RawContent, fixed_raw: RawContent
) -> None:
    # As bundled, B12-SAFE-027 cites the superseded NG239 draft: it cannot be approved.
    bundled = ContentReviews(engine, raw)
    bundled.transition(
        DRAFT, "submitted", actor="dr.author", role="clinician", comment=None, now=NOW
    )
    bundled.transition(DRAFT, "in-review", actor=REVIEWER, role="reviewer", comment=None, now=NOW)
    with pytest.raises(InputError) as err:
        bundled.transition(
            DRAFT, "approved", actor=REVIEWER, role="reviewer", comment=None, now=NOW
        )
    assert err.value.problems[0].field == "to_status"
    assert "superseded source 'nice-ng239-draft-2023'" in err.value.problems[0].message
    assert bundled.item(DRAFT).status == "in-review"
    # Retiring the only catch-all decision would leave no approved catch-all.
    with pytest.raises(InputError) as err:
        bundled.transition(
            "B12-DX-040", "retired", actor="admin", role="admin", comment="test", now=NOW
        )
    assert "catch-all" in err.value.problems[0].message
    assert review_rows(engine) == 2


def test_an_edited_file_needs_review_again(engine: Engine, fixed_raw: RawContent) -> None:
    reviews = ContentReviews(engine, fixed_raw)
    approve_draft(reviews)
    file = dict(fixed_raw.recommendations[DRAFT_FILE])
    file["title"] = "Nitrous oxide: serum B12 may look normal"
    edited = replace(
        fixed_raw,
        recommendations={**fixed_raw.recommendations, DRAFT_FILE: file},
        content_version="sha256:edited0000000000",
    )
    assert item_fingerprint(edited, DRAFT) != item_fingerprint(fixed_raw, DRAFT)
    after_upgrade = ContentReviews(engine, edited)
    kb = after_upgrade.knowledge_base()
    assert kb.recommendations[DRAFT].status == "draft"
    assert kb.content_version == edited.content_version
    item = after_upgrade.item(DRAFT)
    assert item.status == "draft"
    assert item.stale_reviews
    assert not any(e.applies for e in item.history)
    # The new text goes through review from its file status.
    after_upgrade.transition(
        DRAFT, "submitted", actor="dr.author", role="clinician", comment=None, now=NOW
    )
    item = after_upgrade.item(DRAFT)
    assert item.status == "submitted"
    assert not item.stale_reviews


def test_an_approval_that_no_longer_fits_the_files_is_set_aside(
    engine: Engine, fixed_raw: RawContent
) -> None:
    def content(superseded: bool) -> RawContent:
        """B12-SAFE-027 cites a source of its own, superseded in the later files."""
        listed = fixed_raw.sources["sources.yaml"]
        own = {**next(s for s in listed if s["id"] == "nice-ng239-2024"), "id": "own-source"}
        if superseded:
            own["superseded_by"] = "nice-ng239-2024"
        item = {
            **fixed_raw.recommendations[DRAFT_FILE],
            "citations": [{"source": "own-source", "locator": "test fixture"}],
        }
        return replace(
            fixed_raw,
            sources={"sources.yaml": [*listed, own]},
            recommendations={**fixed_raw.recommendations, DRAFT_FILE: item},
        )

    approve_draft(ContentReviews(engine, content(superseded=False)))
    # The item's own text is unchanged (its review still matches) but its source is superseded.
    later = ContentReviews(engine, content(superseded=True))
    kb = later.knowledge_base()
    assert kb.recommendations[DRAFT].status == "draft"
    item = later.item(DRAFT)
    assert item.stale_reviews
    assert item.status == "draft"
    assert all(e.applies for e in item.history)


def test_two_objects_on_one_database_see_each_other(
    db_url: str, engine: Engine, fixed_raw: RawContent
) -> None:
    from b12.adapters.sql.registry import make_engine

    other_engine = make_engine(db_url)
    try:
        first = ContentReviews(engine, fixed_raw)
        second = ContentReviews(other_engine, fixed_raw)
        assert first.knowledge_base().content_version == second.knowledge_base().content_version
        first.transition(
            DRAFT, "submitted", actor="dr.author", role="clinician", comment=None, now=NOW
        )
        assert second.item(DRAFT).status == "submitted"
        assert second.knowledge_base().recommendations[DRAFT].status == "submitted"
        second.transition(
            DRAFT, "in-review", actor=REVIEWER, role="reviewer", comment=None, now=NOW
        )
        first.transition(DRAFT, "approved", actor=REVIEWER, role="admin", comment=None, now=NOW)
        v1, v2 = first.knowledge_base().content_version, second.knowledge_base().content_version
        assert v1 == v2 != fixed_raw.content_version
        assert second.knowledge_base().recommendations[DRAFT].status == "approved"
    finally:
        other_engine.dispose()


def test_a_waiting_move_rechecks_the_status_once_it_has_the_lock(
    db_url: str, engine: Engine, fixed_raw: RawContent
) -> None:
    """Another writer moves the item while this move waits for the lock: this one is refused."""
    from b12.adapters.sql.registry import make_engine

    reviews = ContentReviews(engine, fixed_raw)
    reviews.transition(
        DRAFT, "submitted", actor="dr.author", role="clinician", comment=None, now=NOW
    )
    reviews.knowledge_base()  # warm the cache at "submitted"
    blocker_engine = make_engine(db_url)
    outcome: list[BaseException | str] = []

    def move() -> None:
        try:
            reviews.transition(
                DRAFT, "in-review", actor="late", role="reviewer", comment=None, now=NOW
            )
            outcome.append("moved")
        except BaseException as exc:
            outcome.append(exc)

    try:
        with blocker_engine.connect() as conn:
            conn.execution_options(b12_write=True)
            with conn.begin():
                if engine.dialect.name != "sqlite":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ADVISORY_LOCK_KEY})
                conn.execute(
                    insert(content_reviews).values(
                        item_id=DRAFT,
                        item_fingerprint=item_fingerprint(fixed_raw, DRAFT),
                        from_status="submitted",
                        to_status="in-review",
                        actor="early",
                        at=NOW + timedelta(minutes=1),
                    )
                )
                worker = threading.Thread(target=move)
                worker.start()
                time.sleep(0.5)
                assert worker.is_alive(), "the second move should wait for the lock"
        worker.join(30)
    finally:
        blocker_engine.dispose()
    assert len(outcome) == 1
    assert isinstance(outcome[0], InputError), outcome
    assert "'in-review' to 'in-review'" in str(outcome[0])
    item = reviews.item(DRAFT)
    assert [e.actor for e in item.history] == ["dr.author", "early"]


def test_racing_moves_of_one_item_succeed_once(
    db_url: str, engine: Engine, fixed_raw: RawContent
) -> None:
    from b12.adapters.sql.registry import make_engine

    ContentReviews(engine, fixed_raw).transition(
        DRAFT, "submitted", actor="dr.author", role="clinician", comment=None, now=NOW
    )
    workers = 4
    engines = [make_engine(db_url) for _ in range(workers)]
    barrier = threading.Barrier(workers)
    results: list[str] = []
    lock = threading.Lock()

    def move(n: int) -> None:
        reviews = ContentReviews(engines[n], fixed_raw)
        reviews.knowledge_base()
        barrier.wait(10)
        try:
            reviews.transition(
                DRAFT, "in-review", actor=f"r{n}", role="reviewer", comment=None, now=NOW
            )
            outcome = "moved"
        except InputError:
            outcome = "refused"
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=move, args=(n,)) for n in range(workers)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        for e in engines:
            e.dispose()
    assert sorted(results) == ["moved"] + ["refused"] * (workers - 1)
    assert review_rows(engine) == 2
