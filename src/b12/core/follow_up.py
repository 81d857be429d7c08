"""``follow_up(request, kb)`` — where a course stands and what to do next (PRODUCT.md C4).

Pure.  Steps:
1. Choose the pathway and regimen from the picture.  With doses on record, B12 levels reflect
   treatment, so the status is not re-classified from them.
2. Replay the recorded events in date order.  The advice rules that hold for an event declare
   its effect on the course (content, not code): ``restart_neuro``, ``switch_to_injection`` or
   ``shorten_interval``; ``no_further_improvement`` ends an open-ended phase through the
   phase's ``until``.
3. Walk the doses given through the regimen (:mod:`b12.core.course`) and date the next dose
   from the last dose actually given; ``overdue_days`` counts from the latest acceptable date.
4. Collect the advice and alerts that hold for the course as it now stands, each cited.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from b12.core import criteria
from b12.core.alerts import collect_alerts
from b12.core.citing import ReferenceBook
from b12.core.course import Due, Position, due_after, locate
from b12.core.course_input import Dose, FollowUpRequest
from b12.core.course_models import (
    AdviceOut,
    FollowUpResult,
    NextDue,
    PathwayRef,
    RegimenRef,
)
from b12.core.knowledge import AdviceAction, DecisionAction, KnowledgeBase, Recommendation, Regimen
from b12.core.picture import ClinicalPicture, picture_facts, with_facts
from b12.core.plan import PlanOptions, Selection, select_pathway
from b12.core.plan_models import MissingOut

TREATABLE = ("confirmed", "suspected", "indeterminate")
INJECTION_ROUTES = frozenset({"im", "deep_sc", "sc", "iv"})


def route_family(route: str) -> str:
    """``injection`` or ``oral`` (sublingual and intranasal count with oral)."""
    return "injection" if route in INJECTION_ROUTES else "oral"


ON_TREATMENT_MEDS = ("hydroxocobalamin", "cyanocobalamin")
NEURO_PLACEHOLDER = "unspecified_neurological"
OUTCOME_STATUS = {"plan": "ok", "needs_more_data": "needs_more_data", "refer": "refer"}


@dataclass(frozen=True)
class Course:
    """The regimen being followed, from when, and with which adjustments."""

    picture: ClinicalPicture
    selection: Selection
    since: date | None = None
    shortened: bool = False


def _advice_rules(kb: KnowledgeBase, guideline: str, allow_draft: bool) -> list[Recommendation]:
    return [
        r for r in kb.usable("others", guideline, allow_draft) if isinstance(r.action, AdviceAction)
    ]


def _facts(
    course: Course,
    kb: KnowledgeBase,
    regimen: Regimen | None,
    phase_kind: str | None,
    events: frozenset[str],
    timing: str | None,
    history_route: str | None,
) -> criteria.Facts:
    sel = course.selection
    decision = sel.decision.action
    assert isinstance(decision, DecisionAction)
    scalars: dict[str, str | None] = {
        "pathway": decision.pathway,
        "timing": timing,
        "history_route": history_route,
    }
    until: frozenset[str] = frozenset()
    if regimen is not None:
        scalars.update(regimen_drug=regimen.drug, regimen_route=regimen.route)
        until = frozenset(p.until for p in regimen.phases if p.until)
    lists = {
        "event": events,
        "phase_kind": frozenset({phase_kind} if phase_kind else ()),
        "regimen_until": until,
    }
    return with_facts(picture_facts(course.picture, sel.deficiency), scalars, lists)


def _with_neuro(picture: ClinicalPicture) -> ClinicalPicture:
    symptoms = picture.neuro_symptoms or (NEURO_PLACEHOLDER,)
    deficiency = picture.deficiency if picture.deficiency in TREATABLE else "suspected"
    return picture.model_copy(update={"neuro_symptoms": symptoms, "deficiency": deficiency})


def _replay(
    course: Course, req: FollowUpRequest, kb: KnowledgeBase, opts: PlanOptions
) -> tuple[Course, list[Recommendation]]:
    """Apply each event's declared effect in date order; return the course and the rules used."""
    rules = _advice_rules(kb, req.picture.guideline, opts.allow_draft)
    applied: list[Recommendation] = []
    given = [d for d in req.history if d.product.kind == "b12"]
    history = [(e.date, e.kind) for e in req.events]
    for event in req.events:
        regimen = _regimen(course, kb)
        before = [d for d in given if d.date <= event.date]
        phase_kind = None
        if regimen is not None:
            doses = _course_doses(course, regimen, before)
            phase_kind = locate(regimen, doses, history, event.date).phase(regimen).kind
        last_route = route_family(before[-1].route) if before else None
        facts = _facts(course, kb, regimen, phase_kind, frozenset({event.kind}), None, last_route)
        for rule in rules:
            assert isinstance(rule.action, AdviceAction)
            if rule.action.effect == "none" or not kb.predicates[rule.id](facts):
                continue
            applied.append(rule)
            course = _apply(course, rule.action.effect, event.date, kb, opts)
    return course, applied


def _course_doses(course: Course, regimen: Regimen, given: list[Dose]) -> list[date]:
    """Doses that belong to the course: since its start, by the regimen's kind of route."""
    family = route_family(regimen.route)
    return [
        d.date
        for d in given
        if (course.since is None or d.date >= course.since) and route_family(d.route) == family
    ]


def _match_history(
    course: Course, given: list[Dose], kb: KnowledgeBase, opts: PlanOptions
) -> Course:
    """If the doses given are by another kind of route than the regimen, follow what was given
    (a patient on tablets without a stated preference is on the oral regimen) where the
    pathway allows it."""
    regimen = _regimen(course, kb)
    if not given or regimen is None:
        return course
    family = route_family(given[-1].route)
    if route_family(regimen.route) == family:
        return course
    prefs = course.picture.preferences.model_copy(
        update={"route": "oral" if family == "oral" else "im"}
    )
    picture = course.picture.model_copy(update={"preferences": prefs})
    selection = select_pathway(picture, kb, opts, classify=False)
    candidate = Course(picture, selection)
    matched = _regimen(candidate, kb)
    return candidate if matched is not None and route_family(matched.route) == family else course


def _apply(course: Course, effect: str, day: date, kb: KnowledgeBase, opts: PlanOptions) -> Course:
    if effect == "shorten_interval":
        return replace(course, shortened=True)
    picture = course.picture
    if effect == "switch_to_injection" and not (picture.neuro_symptoms or picture.severe_neuro):
        prefs = picture.preferences.model_copy(update={"route": "im"})
        picture = picture.model_copy(update={"preferences": prefs})
    else:
        picture = _with_neuro(picture)
    selection = select_pathway(picture, kb, opts, classify=False)
    return Course(picture, selection, since=day, shortened=False)


def _regimen(course: Course, kb: KnowledgeBase) -> Regimen | None:
    act = course.selection.decision.action
    assert isinstance(act, DecisionAction)
    return kb.regimens[act.regimen] if act.regimen and act.outcome == "plan" else None


def _due(
    regimen: Regimen, pos: Position, course: Course, start: date, weekdays: tuple[str, ...]
) -> Due:
    phase = pos.phase(regimen)
    if pos.last_dose is None:
        return Due(start, start, start, continuous=not phase.list_each_dose)
    shortest = course.shortened and phase.kind in ("maintenance", "prophylaxis")
    return due_after(phase, pos.last_dose, weekdays, shortest=shortest)


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
    base = req.picture
    if given:
        base = base.model_copy(
            update={"medications": tuple(m for m in base.medications if m not in ON_TREATMENT_MEDS)}
        )
    course = Course(base, select_pathway(base, kb, opts, classify=not given))
    course = _match_history(course, given, kb, opts)
    course, applied = _replay(course, req, kb, opts)

    regimen = _regimen(course, kb)
    doses = _course_doses(course, regimen, given) if regimen else []
    end_events = [(e.date, e.kind) for e in req.events]
    pos = locate(regimen, doses, end_events, req.as_of) if regimen else None
    start = course.since or req.picture.start or req.as_of
    weekdays = opts.clinic_weekdays or kb.vocabulary.clinic_weekdays
    due = _due(regimen, pos, course, start, weekdays) if regimen and pos else None
    if due is not None and due.continuous and due.date < req.as_of:
        due = Due(req.as_of, req.as_of, req.as_of, continuous=True)
    timing = _timing(due, req.as_of)
    overdue = max(0, (req.as_of - due.latest).days) if due and not due.continuous else 0

    last = pos.last_dose if pos else None
    open_events = frozenset(e.kind for e in req.events if last is None or e.date >= last)
    phase = pos.phase(regimen) if regimen and pos else None
    history_route = route_family(given[-1].route) if given else None
    facts = _facts(
        course, kb, regimen, phase.kind if phase else None, open_events, timing, history_route
    )
    if given:
        on_treatment = frozenset(d.product.name for d in given) | frozenset(
            course.picture.medications
        )
        facts = with_facts(facts, lists={"medications": on_treatment})
    if regimen is not None and last is None:
        facts = with_facts(facts, flags=frozenset({"first_dose_due"}))

    book = ReferenceBook(kb)
    book.use(course.selection.decision)
    rules = [
        r
        for r in kb.usable("others", req.picture.guideline, opts.allow_draft)
        if r.when is None or kb.predicates[r.id](facts)
    ]
    advice = _advice(book, [r for r in rules if isinstance(r.action, AdviceAction)], applied)
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
