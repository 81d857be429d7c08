"""``plan(picture, kb, as_of)`` — the treatment-plan engine (PRODUCT.md C2).

Pure: the knowledge base and ``as_of`` are arguments; nothing reads the clock, files or
environment.  The same input gives an equal plan and byte-identical JSON.

Steps: work out the deficiency status (the safer of the stated status and the results; made
``suspected`` by neurological features with a reason to suspect deficiency) → pick the first
matching decision (by priority) → date its regimen → add the monitoring, alerts and
disagreements whose conditions hold for the picture and the chosen regimen → number the
references in order of use.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from b12.core import criteria
from b12.core.alerts import collect_alerts, collect_disagreements
from b12.core.citing import ReferenceBook
from b12.core.dates import WEEKDAYS, add_days, add_months, weekday_indexes
from b12.core.errors import FieldProblem, InputError
from b12.core.knowledge import (
    DRAFT_STATUSES,
    ClassifyAction,
    DecisionAction,
    Dose,
    KnowledgeBase,
    MonitorAction,
    Offset,
    Phase,
    Recommendation,
    Regimen,
    RuleKind,
    Span,
)
from b12.core.picture import ClinicalPicture, picture_facts, with_facts
from b12.core.plan_models import (
    AlternativeOut,
    Cited,
    DeficiencyOut,
    DoseOut,
    MissingOut,
    MonitoringOut,
    PathwayOut,
    PhaseOut,
    Plan,
    RegimenOut,
    ScheduleEntry,
    SpanOut,
    Window,
)
from b12.core.schedule import KIND_ORDER, build_schedule, repeat_out

USABLE_DRAFT = DRAFT_STATUSES
SEVERITY_ORDER = {"stop": 0, "warning": 1, "info": 2}
IRREVERSIBLE = "irreversible_cause"
#: Vocabulary definition: neurological features together with a reason to suspect deficiency.
CLINICAL_SUSPICION = "clinical_suspicion"
#: Deficiency statuses from the one that leads to most treatment to the one that leads to least.
#: When the stated status and the B12 result disagree, b12 follows the earlier of the two (and
#: content rules on ``stated_deficiency`` show the conflict); a borderline result refines a
#: stated suspicion.
SAFER_FIRST = ("confirmed", "indeterminate", "suspected", "at_risk", "not_deficient")
TREATABLE = frozenset({"confirmed", "indeterminate", "suspected"})


@dataclass(frozen=True, slots=True)
class PlanOptions:
    """Engine options; ``None`` means the knowledge base's default."""

    horizon_months: int | None = None
    clinic_weekdays: tuple[str, ...] | None = None
    allow_draft: bool = False
    compact_schedule: bool = True
    """Open-ended phases as repeating entries (``False``: every dose listed, as before issue 16;
    the same rows as :func:`b12.core.schedule.expand_schedule` of the compact schedule)."""


def is_usable(item_status: str, allow_draft: bool) -> bool:
    """Approved content always; drafts only when the caller allows them; retired never."""
    return item_status == "approved" or (allow_draft and item_status in USABLE_DRAFT)


class _Context:
    """Shared state while one plan is assembled."""

    def __init__(self, picture: ClinicalPicture, kb: KnowledgeBase, opts: PlanOptions) -> None:
        self.picture = picture
        self.kb = kb
        self.opts = opts
        self.book = ReferenceBook(kb)
        self.defs = kb.vocabulary.definitions

    def usable_list(self, kind: RuleKind) -> tuple[Recommendation, ...]:
        """The usable rules of one kind for this picture's guideline set."""
        return self.kb.usable(kind, self.picture.guideline, self.opts.allow_draft)

    def usable(self, rec: Recommendation) -> bool:
        return self.picture.guideline in rec.jurisdiction and is_usable(
            rec.status, self.opts.allow_draft
        )

    def holds(self, rec: Recommendation, facts: criteria.Facts) -> bool:
        return rec.when is None or self.kb.predicates[rec.id](facts)


def _dose_out(dose: Dose) -> DoseOut:
    return DoseOut.model_construct(
        value=dose.value, max=dose.max, unit=dose.unit, micrograms=dose.micrograms
    )


def _span_out(span: Span | None) -> SpanOut | None:
    return SpanOut.model_construct(min=span.min, max=span.max) if span else None


def is_irreversible(ctx: _Context, facts: criteria.Facts) -> bool:
    """True when the vocabulary's ``irreversible_cause`` definition holds (lifelong treatment)."""
    return ctx.kb.predicates[f"def:{IRREVERSIBLE}"](facts)


def _phase_out(phase: Phase, lifelong: bool, weekdays: tuple[str, ...]) -> PhaseOut:
    return PhaseOut.model_construct(
        name=phase.name,
        kind=phase.kind,
        dose=_dose_out(phase.dose),
        every_days=_span_out(phase.every_days),
        times_per_week=phase.times_per_week,
        weekdays=(phase.weekdays or weekdays) if phase.times_per_week else None,
        every_months=_span_out(phase.every_months),
        count=phase.count,
        for_days=phase.for_days,
        until=phase.until,
        lifelong=lifelong,
        text=phase.text,
    )


def _offset_date(start: date, at: Offset) -> date:
    if at.months is not None:
        return add_months(start, at.months)
    assert at.days is not None
    return add_days(start, at.days)


def _lab_status(ctx: _Context, facts: criteria.Facts) -> tuple[str | None, Recommendation | None]:
    """What the results say (the first matching classifier), or nothing."""
    for rec in ctx.usable_list("classifiers"):
        if ctx.holds(rec, facts):
            assert isinstance(rec.action, ClassifyAction)
            return rec.action.deficiency, rec
    return None, None


def safer(first: str | None, second: str | None) -> str | None:
    """The status of the two that leads to more treatment (``None`` when both are unknown)."""
    known = [s for s in (first, second) if s is not None]
    return min(known, key=SAFER_FIRST.index) if known else None


def _classify(
    ctx: _Context, facts: criteria.Facts
) -> tuple[str | None, bool, Recommendation | None]:
    """The status used: the safer of the stated status and the results, then the clinical picture.

    A stated status is never silently replaced: when the result points to more treatment than
    the stated status, b12 follows the result; when it points to less, the stated status stays.
    Either way content rules on ``stated_deficiency`` show the conflict.  Neurological features
    with any reason to suspect deficiency (the vocabulary's ``clinical_suspicion``) make a
    status that would not be treated ``suspected``: a normal or indeterminate result never
    overrules them.
    """
    stated = ctx.picture.deficiency
    lab, classifier = _lab_status(ctx, facts)
    status = safer(stated, lab)
    used = classifier if status == lab and lab is not None else None
    if status not in TREATABLE and ctx.kb.predicates[f"def:{CLINICAL_SUSPICION}"](facts):
        status, used = "suspected", None
    return status, status != stated, used


def _decide(ctx: _Context, facts: criteria.Facts) -> Recommendation:
    for rec in ctx.usable_list("decisions"):
        if ctx.holds(rec, facts):
            return rec
    raise AssertionError("the knowledge base has no catch-all decision")  # pragma: no cover


@dataclass(frozen=True, slots=True)
class Selection:
    """The decision step alone: deficiency status (given or derived) and the chosen decision."""

    deficiency: str | None
    derived: bool
    classifier: Recommendation | None
    decision: Recommendation

    @property
    def pathway(self) -> str:
        """The chosen pathway id."""
        assert isinstance(self.decision.action, DecisionAction)
        return self.decision.action.pathway


def select_pathway(
    picture: ClinicalPicture,
    kb: KnowledgeBase,
    options: PlanOptions | None = None,
    *,
    classify: bool = True,
) -> Selection:
    """Classify the deficiency and pick the first matching decision (no dates, no output).

    ``classify=False`` keeps the stated status only (used when doses have been given, so B12
    levels reflect treatment).
    """
    ctx = _Context(picture, kb, options or PlanOptions())
    base = picture_facts(picture, None)
    if classify:
        deficiency, derived, classifier = _classify(ctx, base)
    else:
        deficiency, derived, classifier = picture.deficiency, False, None
    decision = _decide(ctx, with_facts(base, {"deficiency": deficiency}))
    return Selection(deficiency, derived, classifier, decision)


def plan(
    picture: ClinicalPicture,
    kb: KnowledgeBase,
    as_of: date,
    options: PlanOptions | None = None,
) -> Plan:
    """Build the treatment plan for a validated, normalised picture (see ``parse_picture``)."""
    opts = options or PlanOptions()
    ctx = _Context(picture, kb, opts)
    vocab = kb.vocabulary
    start = picture.start or as_of
    horizon = opts.horizon_months or vocab.horizon_months
    weekdays = vocab.clinic_weekdays if opts.clinic_weekdays is None else opts.clinic_weekdays
    if not weekdays or any(d not in WEEKDAYS for d in weekdays):
        raise InputError(
            [FieldProblem("clinic_weekdays", f"must name at least one weekday from {WEEKDAYS}")]
        )
    horizon_end = add_months(start, horizon)

    chosen = select_pathway(picture, kb, opts)
    deficiency, derived, classifier, decision = (
        chosen.deficiency,
        chosen.derived,
        chosen.classifier,
        chosen.decision,
    )
    act = decision.action
    assert isinstance(act, DecisionAction)

    why: list[Cited] = []
    if classifier is not None:
        why.append(
            Cited(
                text=classifier.clinician_text, refs=ctx.book.use(classifier), recs=(classifier.id,)
            )
        )
    why.insert(
        0, Cited(text=decision.clinician_text, refs=ctx.book.use(decision), recs=(decision.id,))
    )
    alternatives = tuple(
        AlternativeOut(id=alt.pathway, title=_title(kb, alt.pathway), why_not=alt.why_not)
        for alt in act.alternatives
        if ctx.usable(kb.pathways[alt.pathway])
    )
    pathway = PathwayOut(
        id=act.pathway, title=act.pathway_title, why=tuple(why), alternatives=alternatives
    )

    regimen = kb.regimens[act.regimen] if act.regimen and act.outcome == "plan" else None
    plan_scalars: dict[str, str | None] = {"pathway": act.pathway}
    plan_lists: dict[str, frozenset[str]] = {"phase_kind": frozenset()}
    if regimen is not None:
        plan_scalars.update(regimen_drug=regimen.drug, regimen_route=regimen.route)
        plan_lists["phase_kind"] = frozenset(p.kind for p in regimen.phases)
    plan_facts = picture_facts(picture, deficiency, plan_scalars, plan_lists)

    regimen_out, entries, continues, note = _regimen_and_schedule(
        ctx, decision, regimen, plan_facts, (start, horizon_end), weekdays, opts.compact_schedule
    )
    extras = [r for r in ctx.usable_list("others") if ctx.holds(r, plan_facts)]
    first_dose = next((e.date for e in entries if e.kind == "dose"), start)
    monitoring, test_entries = _monitoring(ctx, extras, first_dose, horizon_end)
    entries.extend(test_entries)
    entries.sort(key=lambda e: (e.date, KIND_ORDER[e.kind], e.text))
    alerts = collect_alerts(ctx.book, kb, extras, "plan")
    disagreements = collect_disagreements(ctx.book, extras, "plan")
    missing = tuple(
        MissingOut(
            field=m.field,
            why=m.why,
            refs=ctx.book.cite(decision.citations),
            recs=(decision.id,),
        )
        for m in act.missing
    )
    pending = not ctx.book.all_approved or (regimen is not None and regimen.status != "approved")
    return Plan(
        status=act.outcome,
        guideline=picture.guideline,
        content_version=kb.content_version,
        as_of=as_of,
        start=start,
        horizon_end=horizon_end,
        deficiency=DeficiencyOut(status=deficiency, derived=derived),
        pathway=pathway,
        regimen=regimen_out,
        schedule=tuple(entries),
        schedule_continues=continues,
        schedule_note=note,
        monitoring=monitoring,
        alerts=alerts,
        disagreements=disagreements,
        missing=missing,
        references=ctx.book.references,
        recommendations=ctx.book.used,
        review_status="pending_review" if pending else "approved",
        **ctx.book.review_fields(picture.guideline, regimen),
        review_banner=vocab.pending_review_banner if pending else None,
        disclaimer=vocab.disclaimer,
    )


def _title(kb: KnowledgeBase, pathway: str) -> str:
    act = kb.pathways[pathway].action
    assert isinstance(act, DecisionAction)
    return act.pathway_title


def _regimen_and_schedule(
    ctx: _Context,
    decision: Recommendation,
    regimen: Regimen | None,
    facts: criteria.Facts,
    span: tuple[date, date],
    weekdays: tuple[str, ...],
    compact: bool = True,
) -> tuple[RegimenOut | None, list[ScheduleEntry], bool, str | None]:
    start, horizon_end = span
    if regimen is None:
        return None, [], False, None
    for phase in regimen.phases:
        if (
            phase.times_per_week
            and not phase.weekdays
            and len(set(weekdays)) != phase.times_per_week
        ):
            raise InputError(
                [FieldProblem("clinic_weekdays", f"name {phase.times_per_week} distinct weekdays")]
            )
    irreversible = is_irreversible(ctx, facts)
    refs = ctx.book.cite(regimen.citations)
    recs = (decision.id,)

    def lifelong(phase: Phase) -> bool:
        return phase.lifelong is True or (
            phase.lifelong == "if_irreversible_cause" and irreversible
        )

    regimen_out = RegimenOut(
        id=regimen.id,
        title=regimen.title,
        drug=regimen.drug,
        route=regimen.route,
        phases=tuple(_phase_out(p, lifelong(p), weekdays) for p in regimen.phases),
        refs=refs,
        recs=recs,
    )
    sched = build_schedule(regimen, start, horizon_end, weekday_indexes(weekdays), compact=compact)
    doses = {p.name: _dose_out(p.dose) for p in regimen.phases}
    entries: list[ScheduleEntry] = []
    for slot in sched.slots:
        window = (
            Window.model_construct(earliest=slot.earliest, latest=slot.latest)
            if slot.earliest and slot.latest
            else None
        )
        is_dose = slot.kind == "dose"
        entries.append(
            ScheduleEntry.model_construct(
                date=slot.date,
                kind="dose" if is_dose else "review",
                phase=slot.phase.name,
                drug=regimen.drug if is_dose else None,
                dose=doses[slot.phase.name] if is_dose else None,
                route=regimen.route if is_dose else None,
                window=window,
                repeats=slot.repeats,
                repeat=repeat_out(slot.repeat) if slot.repeat is not None else None,
                text=slot.phase.text if is_dose else _review_text(slot.phase),
                refs=refs,
                recs=recs,
            )
        )
    note = None
    if sched.continues:
        parts = [ctx.kb.vocabulary.schedule_continues_text]
        parts.extend(p.text for p in sched.undated_phases)
        note = " ".join(parts)
    return regimen_out, entries, sched.continues, note


def _review_text(phase: Phase) -> str:
    return phase.review_text or phase.text


def _monitoring(
    ctx: _Context, recs: Iterable[Recommendation], start: date, horizon_end: date
) -> tuple[tuple[MonitoringOut, ...], list[ScheduleEntry]]:
    items: list[MonitoringOut] = []
    entries: list[ScheduleEntry] = []
    for rec in recs:
        if not isinstance(rec.action, MonitorAction):
            continue
        refs = ctx.book.use(rec)
        for item in rec.action.items:
            if item.at is None:
                items.append(
                    MonitoringOut.model_construct(
                        after=item.after,
                        kind=item.kind,
                        tests=item.tests,
                        why=rec.clinician_text,
                        refs=refs,
                        recs=(rec.id,),
                    )
                )
                continue
            anchor = start
            if item.anchor == "surgery_date" and ctx.picture.surgery_date is not None:
                anchor = ctx.picture.surgery_date
            first = _offset_date(anchor, item.at)
            day, step = first, 0
            while day <= horizon_end:
                if day < start:  # before the plan starts (dated from an earlier operation)
                    if item.repeat_every_months is None:
                        break
                    step += item.repeat_every_months
                    day = add_months(first, step)
                    continue
                items.append(
                    MonitoringOut.model_construct(
                        date=day,
                        kind=item.kind,
                        tests=item.tests,
                        why=rec.clinician_text,
                        refs=refs,
                        recs=(rec.id,),
                    )
                )
                labels = ", ".join(ctx.kb.vocabulary.tests[t].label for t in item.tests)
                entries.append(
                    ScheduleEntry.model_construct(
                        date=day,
                        kind=item.kind,
                        text=f"{labels}: {rec.title}",
                        refs=refs,
                        recs=(rec.id,),
                    )
                )
                if item.repeat_every_months is None:
                    break
                step += item.repeat_every_months
                day = add_months(first, step)
    items.sort(key=lambda m: (m.date is None, m.date or date.min, m.recs, m.tests))
    return tuple(items), entries
