"""``patient_view(plan, kb)`` — the plan in plain language, for the patient.

Pure: every sentence comes from the knowledge base (recommendations' and regimen phases'
``patient_text``, vocabulary framing such as ``patient_dosing_note``); nothing here writes new
clinical prose.  The web app's "patient language" switch and the printable PDF both use it.

Mapping from the plan:

* headline — the deciding recommendation's ``patient_text`` (the pathway title is clinician
  language); the other reasons (for example the classifier) follow as ``reasons``;
* phases — each regimen phase's ``patient_text``, with its dose;
* schedule — one entry per plan entry (a repeating one stays one, with its ``repeat``; the
  printout lists its dates, :func:`b12.core.schedule.expand_schedule`): doses say their
  phase's ``patient_text``; tests and monitoring reviews say their recommendation's
  ``patient_text``; a phase's review point says ``patient_phase_review_text`` and the phase's
  ``patient_text``;
* alerts — their recommendations' ``patient_text``, one item per distinct text (codes, refs and
  recs merged; the most severe severity kept);
* monitoring — grouped by recommendation, kind, tests and condition, with all their dates;
* references — the plan's, with the same numbers, so every ``refs`` still points at them.
"""

from __future__ import annotations

from datetime import date as Date
from typing import Literal

from b12.core.knowledge import KnowledgeBase, OutputReviewLevel, Phase, Severity
from b12.core.plan_models import (
    Cited,
    DoseOut,
    Out,
    Plan,
    ReferenceOut,
    RepeatOut,
    ScheduleEntry,
    Window,
)

SEVERITY_RANK: dict[str, int] = {"stop": 0, "warning": 1, "info": 2}


class PatientItem(Out):
    """A plain-language sentence with its reference numbers and recommendations."""

    text: str
    refs: tuple[int, ...]
    recs: tuple[str, ...]


class PatientPhase(Out):
    """One stage of the treatment, in plain language."""

    name: str
    kind: str
    text: str
    dose: DoseOut
    lifelong: bool
    refs: tuple[int, ...]
    recs: tuple[str, ...]


class PatientScheduleEntry(Out):
    """A dated dose, check-up or test, in plain language."""

    date: Date
    kind: Literal["dose", "review", "test"]
    label: str
    phase: str | None = None
    what: str
    dose: DoseOut | None = None
    window: Window | None = None
    repeats: str | None = None
    repeat: RepeatOut | None = None
    refs: tuple[int, ...]
    recs: tuple[str, ...]


class PatientAlert(Out):
    """A warning in plain language (one per distinct text)."""

    severity: Severity
    codes: tuple[str, ...]
    text: str
    refs: tuple[int, ...]
    recs: tuple[str, ...]


class PatientMonitoring(Out):
    """A test or check-up: on the dates given, or when ``after`` happens."""

    kind: Literal["test", "review"]
    dates: tuple[Date, ...]
    after: str | None = None
    tests: tuple[str, ...]
    text: str
    refs: tuple[int, ...]
    recs: tuple[str, ...]


class PatientPlan(Out):
    """The treatment plan in plain language, for the patient."""

    status: str
    guideline: Literal["uk", "us"]
    content_version: str
    as_of: Date
    start: Date
    horizon_end: Date
    headline: PatientItem
    reasons: tuple[PatientItem, ...]
    medicine: str | None
    dosing_note: str | None
    phases: tuple[PatientPhase, ...]
    schedule: tuple[PatientScheduleEntry, ...]
    schedule_continues: bool
    schedule_note: str | None
    alerts: tuple[PatientAlert, ...]
    monitoring: tuple[PatientMonitoring, ...]
    references: tuple[ReferenceOut, ...]
    review_status: Literal["approved", "pending_review"]
    review_level: OutputReviewLevel
    """How far the content behind this output was reviewed (lowest of the items used)."""
    review_label: str
    review_banner: str | None
    disclaimer: str


def _merge(*groups: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(dict.fromkeys(n for group in groups for n in group))


def _merge_ids(*groups: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(i for group in groups for i in group))


def _rec_text(kb: KnowledgeBase, recs: tuple[str, ...], fallback: str) -> str:
    """The recommendations' ``patient_text`` (distinct, in order); the fallback if none is known."""
    texts = [kb.recommendations[r].patient_text for r in recs if r in kb.recommendations]
    return " ".join(dict.fromkeys(texts)) if texts else fallback


def _reason(kb: KnowledgeBase, item: Cited) -> PatientItem:
    return PatientItem(text=_rec_text(kb, item.recs, item.text), refs=item.refs, recs=item.recs)


def _phases(plan: Plan, kb: KnowledgeBase) -> dict[str, Phase]:
    regimen = kb.regimens.get(plan.regimen.id) if plan.regimen is not None else None
    return {p.name: p for p in regimen.phases} if regimen is not None else {}


def _entry(
    entry: ScheduleEntry, kb: KnowledgeBase, phases: dict[str, Phase]
) -> PatientScheduleEntry:
    vocab = kb.vocabulary
    phase = phases.get(entry.phase) if entry.phase is not None else None
    if entry.kind == "dose":
        what = phase.patient_text if phase is not None else entry.text
    elif phase is not None:  # a review point of an open-ended phase
        what = f"{vocab.patient_phase_review_text} {phase.patient_text}"
    else:
        what = _rec_text(kb, entry.recs, entry.text)
    return PatientScheduleEntry(
        date=entry.date,
        kind=entry.kind,
        label=getattr(vocab.patient_schedule_labels, entry.kind),
        phase=entry.phase,
        what=what,
        dose=entry.dose,
        window=entry.window,
        repeats=entry.repeats,
        repeat=entry.repeat,
        refs=entry.refs,
        recs=entry.recs,
    )


def _alerts(plan: Plan, kb: KnowledgeBase) -> tuple[PatientAlert, ...]:
    merged: dict[str, PatientAlert] = {}
    for alert in plan.alerts:
        text = _rec_text(kb, alert.recs, alert.message)
        seen = merged.get(text)
        if seen is None:
            merged[text] = PatientAlert(
                severity=alert.severity,
                codes=(alert.code,),
                text=text,
                refs=alert.refs,
                recs=alert.recs,
            )
            continue
        worse = min(seen.severity, alert.severity, key=SEVERITY_RANK.__getitem__)
        merged[text] = PatientAlert(
            severity=worse,
            codes=_merge_ids(seen.codes, (alert.code,)),
            text=text,
            refs=_merge(seen.refs, alert.refs),
            recs=_merge_ids(seen.recs, alert.recs),
        )
    return tuple(sorted(merged.values(), key=lambda a: SEVERITY_RANK[a.severity]))


def _monitoring(plan: Plan, kb: KnowledgeBase) -> tuple[PatientMonitoring, ...]:
    groups: dict[tuple[object, ...], list[Date]] = {}
    firsts: dict[tuple[object, ...], PatientMonitoring] = {}
    for item in plan.monitoring:
        key = (item.recs, item.kind, item.tests, item.after)
        if key not in firsts:
            labels = tuple(
                kb.vocabulary.tests[t].label if t in kb.vocabulary.tests else t for t in item.tests
            )
            firsts[key] = PatientMonitoring(
                kind=item.kind,
                dates=(),
                after=item.after,
                tests=labels,
                text=_rec_text(kb, item.recs, item.why),
                refs=item.refs,
                recs=item.recs,
            )
            groups[key] = []
        if item.date is not None:
            groups[key].append(item.date)
    return tuple(
        first.model_copy(update={"dates": tuple(sorted(set(groups[key])))})
        for key, first in firsts.items()
    )


def _schedule_note(plan: Plan, kb: KnowledgeBase, phases: dict[str, Phase]) -> str | None:
    """``schedule_continues_text`` and the ``patient_text`` of the phases not dated yet."""
    if not plan.schedule_continues:
        return None
    dated = {e.phase for e in plan.schedule if e.kind == "dose"}
    names = list(phases)
    last = max((names.index(n) for n in dated if n in phases), default=-1)
    later = [phases[n].patient_text for n in names[last + 1 :]] if dated else []
    return " ".join([kb.vocabulary.schedule_continues_text, *later])


def patient_view(plan: Plan, kb: KnowledgeBase) -> PatientPlan:
    """The plan in plain language (every sentence from the knowledge base; refs kept)."""
    vocab = kb.vocabulary
    phases = _phases(plan, kb)
    why = plan.pathway.why
    headline = (
        _reason(kb, why[0])
        if why
        else PatientItem(text=plan.pathway.title, refs=(), recs=())  # pragma: no cover
    )
    regimen = plan.regimen
    phase_items: tuple[PatientPhase, ...] = ()
    medicine = None
    if regimen is not None:
        product = vocab.products.get(regimen.drug)
        medicine = product.label if product is not None else regimen.drug
        phase_items = tuple(
            PatientPhase(
                name=p.name,
                kind=p.kind,
                text=phases[p.name].patient_text if p.name in phases else p.text,
                dose=p.dose,
                lifelong=p.lifelong,
                refs=regimen.refs,
                recs=regimen.recs,
            )
            for p in regimen.phases
        )
    return PatientPlan(
        status=plan.status,
        guideline=plan.guideline,
        content_version=plan.content_version,
        as_of=plan.as_of,
        start=plan.start,
        horizon_end=plan.horizon_end,
        headline=headline,
        reasons=tuple(_reason(kb, item) for item in why[1:]),
        medicine=medicine,
        dosing_note=vocab.patient_dosing_note if regimen is not None else None,
        phases=phase_items,
        schedule=tuple(_entry(e, kb, phases) for e in plan.schedule),
        schedule_continues=plan.schedule_continues,
        schedule_note=_schedule_note(plan, kb, phases),
        alerts=_alerts(plan, kb),
        monitoring=_monitoring(plan, kb),
        references=plan.references,
        review_status=plan.review_status,
        review_level=plan.review_level,
        review_label=plan.review_label,
        review_banner=plan.review_banner,
        disclaimer=vocab.patient_disclaimer,
    )
