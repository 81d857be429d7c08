"""``patient_view``: the plan in plain language, every sentence from the knowledge base."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from b12.core.knowledge import KnowledgeBase
from b12.core.patient_view import PatientPlan, patient_view
from b12.core.plan_models import AlertOut, Plan
from b12.core.schedule import expand_schedule


def _kb_sentences(kb: KnowledgeBase) -> set[str]:
    texts = {r.patient_text for r in kb.recommendations.values()}
    texts |= {p.patient_text for g in kb.regimens.values() for p in g.phases}
    return texts


def test_headline_is_the_deciding_recommendations_patient_text(
    kb: KnowledgeBase, plans: dict[str, Plan]
) -> None:
    plan = plans["pa_uk"]
    view = patient_view(plan, kb)
    decision = plan.pathway.why[0]
    assert view.headline.text == kb.recommendations[decision.recs[0]].patient_text
    assert view.headline.text != plan.pathway.title
    assert view.headline.refs == decision.refs
    assert [r.text for r in view.reasons] == [
        kb.recommendations[w.recs[0]].patient_text for w in plan.pathway.why[1:]
    ]


def test_phases_and_doses_use_the_regimens_patient_text(
    kb: KnowledgeBase, plans: dict[str, Plan]
) -> None:
    plan = plans["pa_uk"]
    assert plan.regimen is not None
    view = patient_view(plan, kb)
    regimen = kb.regimens[plan.regimen.id]
    assert [p.text for p in view.phases] == [p.patient_text for p in regimen.phases]
    assert view.medicine == kb.vocabulary.products[regimen.drug].label
    assert view.dosing_note == kb.vocabulary.patient_dosing_note
    by_name = {p.name: p.patient_text for p in regimen.phases}
    doses = [e for e in view.schedule if e.kind == "dose"]
    assert doses
    for entry in doses:
        assert entry.phase is not None
        assert entry.what == by_name[entry.phase]
        assert entry.label == kb.vocabulary.patient_schedule_labels.dose


def test_schedule_keeps_dates_windows_and_refs(kb: KnowledgeBase, plans: dict[str, Plan]) -> None:
    plan = plans["pa_uk"]
    view = patient_view(plan, kb)
    assert [(e.date, e.kind, e.window, e.refs, e.recs) for e in view.schedule] == [
        (e.date, e.kind, e.window, e.refs, e.recs) for e in plan.schedule
    ]
    assert any(e.window is not None for e in view.schedule)


def test_tests_and_reviews_say_their_recommendations_patient_text(
    kb: KnowledgeBase, plans: dict[str, Plan]
) -> None:
    view = patient_view(plans["pa_uk"], kb)
    others = [e for e in view.schedule if e.kind != "dose"]
    assert {e.kind for e in others} == {"test", "review"}
    for entry in others:
        assert entry.what == " ".join(kb.recommendations[r].patient_text for r in entry.recs)


def test_phase_review_points_are_framed_by_the_vocabulary(
    kb: KnowledgeBase, plans: dict[str, Plan]
) -> None:
    plan = plans["neuro_uk"]
    view = patient_view(plan, kb)
    listed = expand_schedule(view.schedule)
    reviews = [e for e in listed if e.kind == "review" and e.phase is not None]
    assert len(reviews) > 10
    assert len([e for e in view.schedule if e.kind == "review" and e.phase is not None]) == 1
    assert plan.regimen is not None
    loading = kb.regimens[plan.regimen.id].phases[0]
    for entry in reviews:
        assert entry.what.startswith(kb.vocabulary.patient_phase_review_text)
        assert entry.what.endswith(loading.patient_text)
        assert entry.label == kb.vocabulary.patient_schedule_labels.review
    # The maintenance phase is not dated yet: the note says so in plain language.
    maintenance = kb.regimens[plan.regimen.id].phases[1]
    assert view.schedule_note == (
        f"{kb.vocabulary.schedule_continues_text} {maintenance.patient_text}"
    )


def test_every_sentence_comes_from_the_knowledge_base(
    kb: KnowledgeBase, plans: dict[str, Plan]
) -> None:
    known = _kb_sentences(kb)
    vocab = kb.vocabulary
    for plan in plans.values():
        view = patient_view(plan, kb)
        texts = [
            view.headline.text,
            *(r.text for r in view.reasons),
            *(p.text for p in view.phases),
            *(a.text for a in view.alerts),
            *(m.text for m in view.monitoring),
        ]
        for text in texts:
            assert all(part in known for part in _split_known(text, known)), text
        for entry in view.schedule:
            text = entry.what.removeprefix(vocab.patient_phase_review_text).strip()
            assert all(part in known for part in _split_known(text, known)), text
        assert view.disclaimer == vocab.patient_disclaimer


def _split_known(text: str, known: set[str]) -> list[str]:
    """Split ``text`` into knowledge-base sentences joined by spaces (greedy, left to right)."""
    parts: list[str] = []
    rest = text
    while rest:
        match = next((k for k in sorted(known, key=len, reverse=True) if rest.startswith(k)), None)
        if match is None:
            return [rest]
        parts.append(match)
        rest = rest[len(match) :].lstrip()
    return parts


def test_alerts_use_patient_text_and_are_deduplicated(
    kb: KnowledgeBase, plans: dict[str, Plan]
) -> None:
    plan = plans["pa_uk"]
    first = plan.alerts[0]
    twin = AlertOut(
        code="EXTRA_CODE",
        severity="stop",
        title="t",
        message="clinician words",
        refs=(99,),
        recs=first.recs,
    )
    doubled = plan.model_copy(update={"alerts": (*plan.alerts, twin)})
    view = patient_view(doubled, kb)
    assert len(view.alerts) == len(plan.alerts)
    merged = next(a for a in view.alerts if "EXTRA_CODE" in a.codes)
    assert merged.codes == (first.code, "EXTRA_CODE")
    assert merged.severity == "stop"
    assert merged.refs == (*first.refs, 99)
    assert merged.text == kb.recommendations[first.recs[0]].patient_text
    assert view.alerts[0] is merged  # the most severe comes first


def test_monitoring_groups_dates_and_labels_tests(
    kb: KnowledgeBase, plans: dict[str, Plan]
) -> None:
    plan = plans["pa_uk"]
    view = patient_view(plan, kb)
    potassium = next(m for m in view.monitoring if "B12-MON-005" in m.recs)
    dated = sorted(m.date for m in plan.monitoring if "B12-MON-005" in m.recs and m.date)
    assert list(potassium.dates) == dated
    assert len(dated) == 2
    assert potassium.tests == (kb.vocabulary.tests["potassium"].label,)
    assert potassium.text == kb.recommendations["B12-MON-005"].patient_text
    undated = [m for m in view.monitoring if not m.dates]
    assert undated
    assert all(m.after for m in undated)


def test_references_numbering_and_versions_are_the_plans(
    kb: KnowledgeBase, plans: dict[str, Plan]
) -> None:
    plan = plans["pa_us"]
    view = patient_view(plan, kb)
    assert view.references == plan.references
    numbers = {r.n for r in view.references}
    cited = {n for e in view.schedule for n in e.refs} | {n for a in view.alerts for n in a.refs}
    assert cited <= numbers
    assert (view.content_version, view.as_of, view.guideline) == (
        plan.content_version,
        plan.as_of,
        "us",
    )


def test_review_banner_only_when_pending(
    kb: KnowledgeBase, plans: dict[str, Plan], pending_plan: Plan
) -> None:
    assert patient_view(plans["pa_uk"], kb).review_banner is None
    view = patient_view(pending_plan, kb)
    assert view.review_status == "pending_review"
    assert view.review_banner == pending_plan.review_banner is not None


def test_plan_without_schedule(kb: KnowledgeBase, plans: dict[str, Plan]) -> None:
    plan = plans["no_labs"]
    view = patient_view(plan, kb)
    assert view.status == "needs_more_data"
    assert view.schedule == ()
    assert view.phases == ()
    assert view.medicine is None
    assert view.dosing_note is None
    assert view.schedule_note is None
    assert view.headline.text == kb.recommendations[plan.pathway.why[0].recs[0]].patient_text


def test_view_is_frozen_and_stable(kb: KnowledgeBase, plans: dict[str, Plan]) -> None:
    view = patient_view(plans["neuro_uk"], kb)
    with pytest.raises(ValidationError):
        view.status = "refer"  # type: ignore[misc]
    again = patient_view(plans["neuro_uk"], kb)
    assert again == view
    assert again.model_dump_json() == view.model_dump_json()
    assert isinstance(PatientPlan.model_validate_json(view.model_dump_json()), PatientPlan)
