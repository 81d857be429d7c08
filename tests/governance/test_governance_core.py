"""The review state machine, item fingerprints and review overlays (``b12.core.governance``)."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from b12.adapters.vignettes import load_vignette, run_vignette, summarize
from b12.core.errors import InputError, KnowledgeBaseError, NotFound, Refused
from b12.core.governance import (
    ROLES,
    STAGES,
    People,
    ReviewState,
    allowed_transitions,
    apply_reviews,
    check_transition,
    item_files,
    item_fingerprint,
)
from b12.core.kb_build import RawContent, build_knowledge_base
from b12.core.plan_models import Plan
from tests.governance.conftest import DRAFT, DRAFT_FILE

VIGNETTE = (
    Path(__file__).parents[1] / "vignettes" / "cases" / "V-035-uk-nitrous-oxide-neuro-draft.yaml"
)
DAY = date(2026, 6, 1)

# The specification, written out independently of ``TRANSITIONS``:
# (from, to) -> (roles allowed, comment required).
REVIEWERS = {"reviewer", "safety_officer", "admin"}
SPEC: dict[tuple[str, str], tuple[set[str], bool]] = {
    ("draft", "submitted"): ({"clinician"} | REVIEWERS, False),
    ("submitted", "in-review"): (REVIEWERS, False),
    ("in-review", "approved"): (REVIEWERS, False),
    ("submitted", "draft"): (REVIEWERS, True),
    ("in-review", "draft"): (REVIEWERS, True),
    ("approved", "signed-off"): ({"safety_officer"}, False),
    ("signed-off", "approved"): ({"safety_officer"}, True),
    ("approved", "retired"): ({"admin"}, True),
    ("signed-off", "retired"): ({"admin"}, True),
}
PAIRS = [(a, b) for a in STAGES for b in STAGES]


def with_item(raw: RawContent, item_id: str, **changes: Any) -> RawContent:
    """A copy of ``raw`` with fields of one recommendation changed."""
    file = item_files(raw)[item_id]
    recs = dict(raw.recommendations)
    recs[file] = {**raw.recommendations[file], **changes}
    return replace(raw, recommendations=recs)


def approve(raw: RawContent, item_id: str, actor: str = "dr.reviewer") -> dict[str, ReviewState]:
    return {item_id: ReviewState("approved", actor, DAY, item_fingerprint(raw, item_id))}


# -- state machine -----------------------------------------------------------------------------


@pytest.mark.parametrize(("from_status", "to_status"), PAIRS, ids=[f"{a}->{b}" for a, b in PAIRS])
@pytest.mark.parametrize("role", ROLES)
def test_every_move_for_every_role_follows_the_table(
    from_status: str, to_status: str, role: str
) -> None:
    spec = SPEC.get((from_status, to_status))
    if spec is None:
        with pytest.raises(InputError) as err:
            check_transition(from_status, to_status, role, "a reason")
        assert err.value.problems[0].field == "to_status"
        return
    roles, _ = spec
    if role not in roles:
        with pytest.raises(Refused) as refused:
            check_transition(from_status, to_status, role, "a reason")
        assert role in str(refused.value)
        return
    move = check_transition(from_status, to_status, role, "a reason")
    assert (move.from_status, move.to_status) == (from_status, to_status)


@pytest.mark.parametrize(("pair", "spec"), list(SPEC.items()), ids=[f"{a}->{b}" for a, b in SPEC])
@pytest.mark.parametrize("comment", [None, "", "   "])
def test_send_back_and_retire_need_a_comment(
    pair: tuple[str, str], spec: tuple[set[str], bool], comment: str | None
) -> None:
    role = sorted(spec[0])[0]
    if spec[1]:
        with pytest.raises(InputError) as err:
            check_transition(*pair, role, comment)
        assert err.value.problems[0].field == "comment"
    else:
        assert check_transition(*pair, role, comment).to_status == pair[1]


def test_unknown_status_and_role() -> None:
    with pytest.raises(InputError) as err:
        check_transition("draft", "published", "admin", None)
    assert err.value.problems[0].field == "to_status"
    assert "unknown status" in err.value.problems[0].message
    with pytest.raises(Refused):
        check_transition("draft", "submitted", "intruder", None)
    with pytest.raises(Refused):
        check_transition("draft", "submitted", "nurse", None)
    with pytest.raises(InputError) as err:
        check_transition("retired", "draft", "admin", "bring it back")
    assert "no move is allowed" in err.value.problems[0].message
    with pytest.raises(InputError) as err:
        check_transition("in-review", "draft", "admin", "x" * 5000)
    assert err.value.problems[0].field == "comment"


def test_allowed_transitions_offer_what_the_role_may_do() -> None:
    assert [t.to_status for t in allowed_transitions("draft", "clinician")] == ["submitted"]
    assert [t.to_status for t in allowed_transitions("submitted", "clinician")] == []
    assert sorted(t.to_status for t in allowed_transitions("in-review", "reviewer")) == [
        "approved",
        "draft",
    ]
    assert [t.to_status for t in allowed_transitions("approved", "reviewer")] == []
    assert [t.to_status for t in allowed_transitions("approved", "admin")] == ["retired"]
    assert [t.to_status for t in allowed_transitions("approved", "safety_officer")] == [
        "signed-off"
    ]
    assert [t.to_status for t in allowed_transitions("signed-off", "safety_officer")] == [
        "approved"
    ]
    assert allowed_transitions("draft", "nurse") == ()


# -- two people --------------------------------------------------------------------------------


def test_the_author_may_not_approve_their_own_submission() -> None:
    people = People(author="dr.author")
    with pytest.raises(Refused, match="second person"):
        check_transition(
            "in-review", "approved", "reviewer", None, actor="dr.author", people=people
        )
    move = check_transition(
        "in-review", "approved", "reviewer", None, actor="dr.reviewer", people=people
    )
    assert move.name == "approve"
    # Without a recorded author nobody can be shown to be a second person.
    with pytest.raises(Refused, match="not recorded"):
        check_transition(
            "in-review", "approved", "admin", None, actor="dr.reviewer", people=People(None)
        )


@pytest.mark.parametrize("signer", ["dr.author", "dr.reviewer"])
def test_the_signer_is_neither_the_author_nor_the_approver(signer: str) -> None:
    people = People(author="dr.author", approvers=("dr.reviewer",))
    with pytest.raises(Refused, match="sign it off"):
        check_transition(
            "approved", "signed-off", "safety_officer", None, actor=signer, people=people
        )
    move = check_transition(
        "approved", "signed-off", "safety_officer", None, actor="dr.cso", people=people
    )
    assert move.name == "sign off"


# -- fingerprints ------------------------------------------------------------------------------


def test_fingerprint_ignores_status_and_review_but_not_the_text(raw: RawContent) -> None:
    base = item_fingerprint(raw, DRAFT)
    assert base.startswith("sha256:")
    assert len(base) == 71
    assert item_fingerprint(with_item(raw, DRAFT, status="approved"), DRAFT) == base
    review = {"reviewed_by": ["someone"], "reviewed_on": "2027-01-01", "next_review_due": "2028"}
    assert item_fingerprint(with_item(raw, DRAFT, review=review), DRAFT) == base
    text = raw.recommendations[DRAFT_FILE]["clinician_text"]
    assert item_fingerprint(with_item(raw, DRAFT, clinician_text=text + " "), DRAFT) != base
    assert item_fingerprint(with_item(raw, DRAFT, version=2), DRAFT) != base
    assert item_fingerprint(raw, "B12-SAFE-001") != base
    with pytest.raises(NotFound):
        item_fingerprint(raw, "B12-SAFE-999")


# -- overlays ----------------------------------------------------------------------------------


def test_no_reviews_keeps_the_content_version(raw: RawContent) -> None:
    assert apply_reviews(raw, {}).content_version == raw.content_version
    unknown = {"B12-SAFE-999": ReviewState("approved", "x", DAY, "sha256:0")}
    assert apply_reviews(raw, unknown).content_version == raw.content_version


def test_approving_the_bundled_draft_fails_to_build_it_cites_a_superseded_source(
    raw: RawContent,
) -> None:
    with pytest.raises(KnowledgeBaseError, match="superseded source 'nice-ng239-draft-2023'"):
        build_knowledge_base(apply_reviews(raw, approve(raw, DRAFT)))


def test_approval_sets_status_reviewer_and_date_without_touching_the_input(
    fixed_raw: RawContent,
) -> None:
    raw = fixed_raw
    before = copy.deepcopy(dict(raw.recommendations))
    effective = apply_reviews(raw, approve(raw, DRAFT))
    assert dict(raw.recommendations) == before
    item = effective.recommendations[DRAFT_FILE]
    assert item["status"] == "approved"
    assert item["review"]["reviewed_by"] == ("dr.reviewer",)
    assert item["review"]["reviewed_on"] == DAY
    assert item["review"]["next_review_due"] == before[DRAFT_FILE]["review"]["next_review_due"]
    assert effective.content_version != raw.content_version
    assert effective.content_version.startswith("sha256:")
    assert len(effective.content_version) == 23
    # Deterministic: the same decisions give the same version (another process agrees).
    assert apply_reviews(raw, approve(raw, DRAFT)).content_version == effective.content_version
    kb = build_knowledge_base(effective)
    assert kb.recommendations[DRAFT].status == "approved"
    assert kb.recommendations[DRAFT].review.reviewed_by == ("dr.reviewer",)
    assert kb.content_version == effective.content_version


def test_each_effective_status_has_its_own_version(raw: RawContent) -> None:
    fingerprint = item_fingerprint(raw, DRAFT)
    versions = {
        status: apply_reviews(
            raw, {DRAFT: ReviewState(status, "r", DAY, fingerprint)}
        ).content_version
        for status in ("draft", "submitted", "in-review", "approved", "signed-off")
    }
    assert versions["draft"] == raw.content_version  # sent back: the files' own status
    assert len(set(versions.values())) == 5


def test_overlays_record_the_review_level_author_approver_and_signer(
    fixed_raw: RawContent,
) -> None:
    raw = fixed_raw
    fingerprint = item_fingerprint(raw, DRAFT)
    approved = ReviewState("approved", "dr.reviewer", DAY, fingerprint, author="dr.author")
    kb = build_knowledge_base(apply_reviews(raw, {DRAFT: approved}))
    review = kb.recommendations[DRAFT].review
    assert (review.level, review.author, review.reviewed_by) == (
        "engineering",
        "dr.author",
        ("dr.reviewer",),
    )
    assert review.signed_off_by == ()
    later = date(2026, 7, 1)
    signed = ReviewState(
        "signed-off",
        "dr.cso",
        later,
        fingerprint,
        author="dr.author",
        approved_by="dr.reviewer",
        approved_on=DAY,
    )
    effective = apply_reviews(raw, {DRAFT: signed})
    kb = build_knowledge_base(effective)
    rec = kb.recommendations[DRAFT]
    assert rec.status == "approved"
    assert (rec.review.level, rec.review.reviewed_by, rec.review.reviewed_on) == (
        "clinical",
        ("dr.reviewer",),
        DAY,
    )
    assert (rec.review.signed_off_by, rec.review.signed_off_on) == (("dr.cso",), later)
    # Signing off a file-approved item changes its stage, so the content version changes.
    other = "B12-SAFE-001"
    on_file = ReviewState("signed-off", "dr.cso", later, item_fingerprint(raw, other))
    signed_file = apply_reviews(raw, {other: on_file})
    assert signed_file.content_version != raw.content_version
    kb = build_knowledge_base(signed_file)
    assert kb.recommendations[other].review.level == "clinical"
    assert kb.recommendations[other].review.reviewed_by == ("b12-founding-engineers",)
    # Withdrawing the sign-off keeps the engineering reviewer, not the safety officer.
    withdrawn = ReviewState(
        "approved", "dr.cso", later, item_fingerprint(raw, other), from_status="signed-off"
    )
    kb = build_knowledge_base(apply_reviews(raw, {other: withdrawn}))
    assert kb.recommendations[other].review.level == "engineering"
    assert kb.recommendations[other].review.reviewed_by == ("b12-founding-engineers",)


def test_stale_review_is_ignored(raw: RawContent) -> None:
    edited = with_item(raw, DRAFT, title="Nitrous oxide: serum B12 may look normal")
    effective = apply_reviews(edited, approve(raw, DRAFT))  # fingerprint of the old text
    assert effective.recommendations[DRAFT_FILE]["status"] == "draft"
    assert effective.content_version == edited.content_version


def _plan(raw: RawContent, *, allow_draft: bool) -> Plan:
    vignette = load_vignette(VIGNETTE)
    vignette = replace(vignette, options={**vignette.options, "allow_draft": allow_draft})
    result = run_vignette(vignette, build_knowledge_base(raw))
    assert isinstance(result, Plan)
    return result


def test_approving_the_draft_clears_the_banner_for_the_vignette(fixed_raw: RawContent) -> None:
    raw = fixed_raw
    expect = load_vignette(VIGNETTE).expect
    assert expect is not None
    assert expect["review_status"] == "pending_review"

    with_drafts = _plan(raw, allow_draft=True)
    assert with_drafts.review_status == "pending_review"
    assert with_drafts.review_banner
    production = _plan(raw, allow_draft=False)
    assert DRAFT not in [r.id for r in production.recommendations]

    effective = apply_reviews(raw, approve(raw, DRAFT))
    plan = _plan(effective, allow_draft=False)
    assert plan.review_status == "approved"
    assert plan.review_banner is None
    assert plan.content_version == effective.content_version != raw.content_version
    # The same clinical output as the draft run (the fixture re-cites one source), now
    # without the pending-review flag.
    summary = summarize(plan)
    assert DRAFT in summary["recommendations"]
    assert "NITROUS_OXIDE warning" in summary["alerts"]
    ignore = {"sources", "review_status"}
    assert {k: v for k, v in summary.items() if k not in ignore} == {
        k: v for k, v in expect.items() if k not in ignore
    }

    sent_back = {DRAFT: ReviewState("draft", "dr.reviewer", DAY, item_fingerprint(raw, DRAFT))}
    again = _plan(apply_reviews(raw, sent_back), allow_draft=False)
    assert DRAFT not in [r.id for r in again.recommendations]
    assert again.content_version == raw.content_version
