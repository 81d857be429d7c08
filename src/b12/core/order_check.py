"""``check_order(request, kb)`` — judge a proposed order (PRODUCT.md C3).

Pure.  The order becomes facts (``order_drug``, ``order_kind``, ``order_route``,
``order_site``, ``order_timing``, ``order.dose_ug``, ``order.interval_days``, ``b12_cover``)
alongside the picture and its pathway; every alert rule whose contexts include ``order`` and
whose condition holds raises its alert.  The verdict is ``stop`` if any alert is a stop,
``warn`` if any is a warning, else ``ok``.  Timing is judged against the due window worked
out from the doses actually given (:mod:`b12.core.course`): early doses are a warning only.
"""

from __future__ import annotations

from datetime import date

from b12.core.alerts import collect_alerts, collect_disagreements
from b12.core.citing import ReferenceBook
from b12.core.course import due_after, locate
from b12.core.course_input import Order, OrderCheckRequest
from b12.core.course_models import NextDue, OrderCheckResult, Timing
from b12.core.follow_up import route_family
from b12.core.knowledge import DecisionAction, KnowledgeBase, Regimen
from b12.core.picture import ClinicalPicture, picture_facts, with_facts
from b12.core.plan import PlanOptions, Selection, select_pathway

ON_TREATMENT_MEDS = frozenset({"hydroxocobalamin", "cyanocobalamin"})


def _timing(
    order: Order, regimen: Regimen | None, doses: list[date], weekdays: tuple[str, ...]
) -> Timing:
    if regimen is None:
        return Timing(status="not_applicable")
    if not doses:
        return Timing(status="first_dose", phase=regimen.phases[0].name)
    pos = locate(regimen, doses, [], order.start)
    phase = pos.phase(regimen)
    assert pos.last_dose is not None
    due = due_after(phase, pos.last_dose, weekdays)
    nxt = NextDue(
        date=due.date, earliest=due.earliest, latest=due.latest, continuous=due.continuous
    )
    if due.continuous:
        return Timing(status="on_time", phase=phase.name, due=nxt)
    if order.start < due.earliest:
        return Timing(
            status="early", phase=phase.name, due=nxt, days_off=(due.earliest - order.start).days
        )
    if order.start > due.latest:
        return Timing(
            status="late", phase=phase.name, due=nxt, days_off=(order.start - due.latest).days
        )
    return Timing(status="on_time", phase=phase.name, due=nxt)


def _regimen_of(selection: Selection, kb: KnowledgeBase) -> Regimen | None:
    act = selection.decision.action
    assert isinstance(act, DecisionAction)
    return kb.regimens[act.regimen] if act.regimen and act.outcome == "plan" else None


def _timing_regimen(
    req: OrderCheckRequest,
    chooser: ClinicalPicture,
    selection: Selection,
    kb: KnowledgeBase,
    opts: PlanOptions,
) -> Regimen | None:
    """The regimen an order's timing is judged against: the pathway's, or the one the ordered
    kind of route leads to; none for a product no regimen of the set uses."""
    order = req.order
    drugs = {r.drug for r in kb.regimens.values() if r.guideline == req.picture.guideline}
    if order.product.kind != "b12" or order.product.name not in drugs:
        return None
    regimen = _regimen_of(selection, kb)
    family = route_family(order.route)
    if regimen is None or route_family(regimen.route) == family:
        return regimen
    prefs = chooser.preferences.model_copy(update={"route": "oral" if family == "oral" else "im"})
    picture = chooser.model_copy(update={"preferences": prefs})
    other = _regimen_of(select_pathway(picture, kb, opts, classify=False), kb)
    return other if other is not None and route_family(other.route) == family else None


def check_order(
    req: OrderCheckRequest, kb: KnowledgeBase, options: PlanOptions | None = None
) -> OrderCheckResult:
    """Judge ``req.order`` against the picture, its guideline set, the history and other orders."""
    opts = options or PlanOptions()
    picture = req.picture
    b12_given = [d for d in req.history if d.product.kind == "b12"]
    chooser = picture
    if b12_given:  # the dose history shows the treatment, as in follow-up
        meds = tuple(m for m in picture.medications if m not in ON_TREATMENT_MEDS)
        chooser = picture.model_copy(update={"medications": meds})
    selection = select_pathway(chooser, kb, opts, classify=not b12_given)
    act = selection.decision.action
    assert isinstance(act, DecisionAction)
    order = req.order
    regimen = _timing_regimen(req, chooser, selection, kb, opts)
    weekdays = opts.clinic_weekdays or kb.vocabulary.clinic_weekdays
    family = route_family(order.route)
    doses = [d.date for d in b12_given if route_family(d.route) == family]
    timing = _timing(order, regimen, doses, weekdays)

    is_b12 = order.product.kind == "b12"
    phase_kinds: frozenset[str] = frozenset()
    if is_b12 and regimen is not None:
        phase_kinds = frozenset(
            p.kind for p in regimen.phases if p.name == (timing.phase or regimen.phases[0].name)
        )
    cover = (
        bool(b12_given)
        or any(o.product.kind == "b12" for o in req.other_orders)
        or not ON_TREATMENT_MEDS.isdisjoint(picture.medications)
    )
    scalars: dict[str, str | None] = {
        "pathway": act.pathway,
        "regimen_drug": order.product.name if is_b12 else None,
        "regimen_route": order.route if is_b12 else None,
        "order_drug": order.product.name,
        "order_kind": order.product.kind,
        "order_route": order.route,
        "order_site": order.site,
        "order_timing": timing.status,
    }
    numbers = {"order.dose_ug": order.dose.micrograms}
    if order.interval_days is not None:
        numbers["order.interval_days"] = order.interval_days
    facts = with_facts(
        picture_facts(picture, selection.deficiency),
        scalars,
        {"phase_kind": phase_kinds},
        numbers,
        frozenset({"b12_cover"}) if cover else frozenset(),
    )
    rules = [
        r
        for r in kb.usable("others", picture.guideline, opts.allow_draft)
        if r.when is None or kb.predicates[r.id](facts)
    ]
    book = ReferenceBook(kb)
    alerts = collect_alerts(book, kb, rules, "order")
    disagreements = collect_disagreements(book, rules, "order")
    severities = {a.severity for a in alerts}
    verdict = "stop" if "stop" in severities else "warn" if "warning" in severities else "ok"
    pending = not book.all_approved
    return OrderCheckResult(
        verdict=verdict,
        guideline=picture.guideline,
        content_version=kb.content_version,
        as_of=req.as_of,
        product=order.product.name,
        timing=timing,
        alerts=alerts,
        disagreements=disagreements,
        references=book.references,
        recommendations=book.used,
        review_status="pending_review" if pending else "approved",
        **book.review_fields(picture.guideline),
        review_banner=kb.vocabulary.pending_review_banner if pending else None,
        disclaimer=kb.vocabulary.disclaimer,
    )
