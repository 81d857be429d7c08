"""``follow_up(request, kb)`` — where a course stands and what to do next (PRODUCT.md C4).

Pure.  The course is built by :func:`b12.core.course.build_course`, the one course model the
order check and the registry's stored due window share.  Steps:
1. Choose the pathway and regimen from the picture.  With doses on record a stated status is
   kept; when none is stated it is worked out from the picture's results exactly as ``plan``
   does.  A declared neurological course follows the neurological pathway.
2. Replay the recorded events in date order.  The advice rules that hold for an event declare
   its effect on the course (content, not code): ``restart_neuro``, ``switch_to_injection`` or
   ``shorten_interval``; ``no_further_improvement`` ends an open-ended phase through the
   phase's ``until``.
3. Read the course (declared, recorded from the first dose, inferred from the spacing of the
   doses, or ambiguous) and date the next dose from the last dose actually given, at the
   patient's own interval where declared or inferred; ``overdue_days`` counts from the latest
   acceptable date.  ``course`` in the result says how the phase was read.
4. Collect the advice and alerts that hold for the course as it now stands, each cited.
"""

from __future__ import annotations

from datetime import date

from b12.core.alerts import collect_alerts
from b12.core.citing import ReferenceBook
from b12.core.course import (
    Due,
    build_course,
    course_facts,
    reading_facts,
    route_family,
)
from b12.core.course_input import FollowUpRequest
from b12.core.course_models import (
    AdviceOut,
    FollowUpResult,
    NextDue,
    PathwayRef,
    RegimenRef,
    reading_out,
)
from b12.core.knowledge import AdviceAction, DecisionAction, KnowledgeBase, Recommendation
from b12.core.picture import with_facts
from b12.core.plan import PlanOptions
from b12.core.plan_models import MissingOut

__all__ = ["follow_up", "route_family"]

OUTCOME_STATUS = {"plan": "ok", "needs_more_data": "needs_more_data", "refer": "refer"}


def _timing(due: Due | None, as_of: date) -> str | None:
    if due is None:
        return None
    if due.continuous:
        return "continuous"
    if as_of > due.latest:
        return "overdue"
    return "due" if as_of >= due.earliest else "not_yet_due"


def follow_up(
    req: FollowUpRequest, kb: KnowledgeBase, options: PlanOptions | None = None
) -> FollowUpResult:
    """Infer the phase, date the next dose, and give cited advice for a course."""
    opts = options or PlanOptions()
    given = [d for d in req.history if d.product.kind == "b12"]
    state = build_course(req.picture, given, req.events, req.declared, req.as_of, kb, opts)
    course, regimen, pos = state.course, state.regimen, state.position
    due = state.due
    if due is not None and due.continuous and due.date < req.as_of:
        due = Due(req.as_of, req.as_of, req.as_of, continuous=True)
    timing = _timing(due, req.as_of)
    overdue = max(0, (req.as_of - due.latest).days) if due and not due.continuous else 0

    last = pos.last_dose if pos else None
    open_events = frozenset(e.kind for e in req.events if last is None or e.date >= last)
    phase = pos.phase(regimen) if regimen and pos else None
    history_route = route_family(given[-1].route) if given else None
    # An ambiguous reading names no phase to the rules: no advice assumes loading or maintenance.
    ambiguous = state.reading is not None and state.reading.basis == "ambiguous"
    phase_kind = phase.kind if phase is not None and not ambiguous else None
    facts = course_facts(course, regimen, phase_kind, open_events, timing, history_route)
    facts = reading_facts(facts, state)
    if given:
        on_treatment = frozenset(d.product.name for d in given) | frozenset(
            course.picture.medications
        )
        facts = with_facts(facts, lists={"medications": on_treatment})
    if regimen is not None and last is None and state.declared is None:
        facts = with_facts(facts, flags=frozenset({"first_dose_due"}))

    book = ReferenceBook(kb)
    book.use(course.selection.decision)
    rules = [
        r
        for r in kb.usable("others", req.picture.guideline, opts.allow_draft)
        if r.when is None or kb.predicates[r.id](facts)
    ]
    advice = _advice(
        book, [r for r in rules if isinstance(r.action, AdviceAction)], list(state.applied)
    )
    alerts = collect_alerts(book, kb, rules, "follow_up")
    act = course.selection.decision.action
    assert isinstance(act, DecisionAction)
    missing = tuple(
        MissingOut(
            field=m.field,
            why=m.why,
            refs=book.cite(course.selection.decision.citations),
            recs=(course.selection.decision.id,),
        )
        for m in act.missing
    )
    pending = not book.all_approved or (regimen is not None and regimen.status != "approved")
    status = "out_of_scope" if act.outcome == "out_of_scope" else OUTCOME_STATUS[act.outcome]
    return FollowUpResult(
        status=status,
        guideline=req.picture.guideline,
        content_version=kb.content_version,
        as_of=req.as_of,
        pathway=PathwayRef(id=act.pathway, title=act.pathway_title),
        regimen=RegimenRef(
            id=regimen.id, title=regimen.title, drug=regimen.drug, route=regimen.route
        )
        if regimen
        else None,
        phase=phase.name if phase else None,
        phase_kind=phase.kind if phase else None,
        doses_in_phase=pos.doses_in_phase if pos else 0,
        course=reading_out(state.reading, state.position),
        next_due=NextDue(
            date=due.date, earliest=due.earliest, latest=due.latest, continuous=due.continuous
        )
        if due
        else None,
        overdue_days=overdue,
        advice=advice,
        alerts=alerts,
        missing=missing,
        references=book.references,
        recommendations=book.used,
        review_status="pending_review" if pending else "approved",
        **book.review_fields(req.picture.guideline, regimen),
        review_banner=kb.vocabulary.pending_review_banner if pending else None,
        disclaimer=kb.vocabulary.disclaimer,
    )


def _advice(
    book: ReferenceBook, holding: list[Recommendation], applied: list[Recommendation]
) -> tuple[AdviceOut, ...]:
    """Advice that holds now, plus effects applied earlier that still shape the course."""
    seen: dict[str, Recommendation] = {}
    for rec in [*holding, *applied]:
        seen.setdefault(rec.id, rec)
    out = []
    for rec in sorted(seen.values(), key=lambda r: r.id):
        assert isinstance(rec.action, AdviceAction)
        out.append(
            AdviceOut(
                code=rec.action.code,
                text=rec.clinician_text,
                evidence=rec.evidence,
                refs=book.use(rec),
                recs=(rec.id,),
            )
        )
    return tuple(out)
