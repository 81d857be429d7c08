"""The review pages' impact preview: vignettes run before and after a decision, nothing written."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, func, select

from b12.adapters.kb_impact import impact
from b12.adapters.sql.content_review import ContentReviews
from b12.adapters.sql.tables import content_reviews
from b12.adapters.vignettes import load_vignettes
from b12.core.governance import TRANSITIONS
from b12.core.kb_build import RawContent
from b12.core.knowledge import KnowledgeBase
from tests.governance.conftest import NOW

CASES = Path(__file__).parents[1] / "vignettes" / "cases"
COELIAC = "B12-DX-050"  # a draft: approving it adds coeliac advice to cases without a cause


def test_the_same_knowledge_base_changes_nothing(kb: KnowledgeBase) -> None:
    cases = load_vignettes(CASES)[:40]
    report = impact("B12-DX-001", kb, kb, cases)
    assert report.checked == 40
    assert report.changed == ()
    assert report.failed == ()


def test_a_hypothetical_approval_lists_the_cases_it_alters_and_writes_nothing(
    engine: Engine, raw: RawContent
) -> None:
    reviews = ContentReviews(engine, raw)
    reviews.transition(COELIAC, "submitted", actor="ann", role="clinician", comment=None, now=NOW)
    reviews.transition(COELIAC, "in-review", actor="bob", role="reviewer", comment=None, now=NOW)
    with reviews.engine.connect() as conn:
        rows_before = conn.execute(select(func.count()).select_from(content_reviews)).scalar_one()
    before, after = reviews.preview(COELIAC, "approved", actor="bob", role="reviewer", now=NOW)
    assert before.recommendations[COELIAC].status == "in-review"  # not approved yet
    assert after.recommendations[COELIAC].status == "approved"
    report = impact(COELIAC, before, after, load_vignettes(CASES))
    assert report.changed, "approving the coeliac advice must alter some no-cause case"
    changed_alerts = [
        line
        for case in report.changed
        for d in case.differences
        if d.key == "alerts"
        for line in d.added
    ]
    assert any(line.startswith("COELIAC_TESTING") for line in changed_alerts)
    with reviews.engine.connect() as conn:
        rows_after = conn.execute(select(func.count()).select_from(content_reviews)).scalar_one()
    assert rows_after == rows_before
    assert reviews.item(COELIAC).status == "in-review"


def test_every_move_that_changes_plans_asks_for_a_confirmation() -> None:
    changing = {t.name for t in TRANSITIONS if t.to_status in ("approved", "signed-off", "retired")}
    confirmed = {t.name for t in TRANSITIONS if t.confirm_required}
    assert changing == confirmed == {"approve", "sign off", "withdraw sign-off", "retire"}
