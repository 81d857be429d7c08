"""``check_order(request, kb)`` — judge a proposed order (PRODUCT.md C3).

Pure.  The course is the follow-up's (:func:`b12.core.course.build_course`: the same picture,
doses, events and declared course give the same phase and due window).  The order becomes
facts (``order_drug``, ``order_kind``, ``order_route``,
``order_site``, ``order_timing``, ``order.dose_ug``, ``order.interval_days``, ``b12_cover``)
alongside the picture and its pathway; every alert rule whose contexts include ``order`` and
whose condition holds raises its alert.  The verdict is ``stop`` if any alert is a stop,
``warn`` if any is a warning, else ``ok``.  Timing is judged against the due window worked
out from the doses actually given: early doses are a warning only.  A B12 order with doses on
record whose timing cannot be judged is ``not_judged`` (never a silent ``ok``: a warning says
why and what to enter).

``check_order_alone(order, kb, …)`` judges an order when nothing is known about the patient
(a CDS client that sent the draft order but no patient data): only the rules whose condition
reads nothing but the order's own facts (``order_*``, ``order.*``: route, site, dose, product,
interval) are evaluated, so no alert depends on a guess about the patient.
"""

from __future__ import annotations

from datetime import date

from b12.core.alerts import collect_alerts, collect_disagreements
from b12.core.citing import ReferenceBook
from b12.core.course import (
    ON_TREATMENT_MEDS,
    CourseState,
    build_course,
    reading_facts,
    route_family,
)
from b12.core.course_input import Order, OrderCheckRequest, parse_order_alone
from b12.core.course_models import (
    CourseReadingOut,
    NextDue,
    OrderCheckResult,
    Timing,
    reading_out,
)
from b12.core.criteria import (
    Compare,
    Condition,
    Definitions,
    Facts,
    Flag,
    Member,
    Present,
    Ref,
    walk,
)
from b12.core.knowledge import DecisionAction, KnowledgeBase, Recommendation
from b12.core.picture import picture_facts, with_facts
from b12.core.plan import PlanOptions

#: The facts of the order itself (see :func:`check_order`); nothing about the patient.
ORDER_FACT_PREFIXES = ("order_", "order.")


def _scheduled(order: Order, kb: KnowledgeBase, guideline: str) -> bool:
    """Is the ordered product one a regimen of the guideline set uses?"""
    drugs = {r.drug for r in kb.regimens.values() if r.guideline == guideline}
    return order.product.kind == "b12" and order.product.name in drugs


def _judgeable(order: Order, state: CourseState, kb: KnowledgeBase, guideline: str) -> bool:
    """Is the order a scheduled product, by the course's kind of route?"""
    if not _scheduled(order, kb, guideline):
        return False
    return state.regimen is not None and route_family(state.regimen.route) == route_family(
        order.route
    )


def _timing(order: Order, state: CourseState, judgeable: bool, on_record: bool) -> Timing:
    """Timing of the order against the course; ``not_judged`` when doses are on record but the
    course cannot say when the next dose is due (``on_record``: doses of a scheduled product)."""
    regimen, pos, reading, due = state.regimen, state.position, state.reading, state.due
    if not judgeable or regimen is None or pos is None or reading is None or due is None:
        return Timing(status="not_judged" if on_record else "not_applicable")
    phase = pos.phase(regimen)
    if pos.last_dose is None:
        if reading.basis == "declared":
            return Timing(status="not_judged", phase=phase.name)
        return Timing(status="first_dose", phase=phase.name)
    nxt = NextDue(
        date=due.date, earliest=due.earliest, latest=due.latest, continuous=due.continuous
    )
    if reading.basis == "ambiguous":
        return Timing(status="not_judged", phase=phase.name, due=nxt)
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


def check_order(
    req: OrderCheckRequest, kb: KnowledgeBase, options: PlanOptions | None = None
) -> OrderCheckResult:
    """Judge ``req.order`` against the picture, its guideline set, the history and other orders."""
    opts = options or PlanOptions()
    picture = req.picture
    order = req.order
    b12_given = [d for d in req.history if d.product.kind == "b12"]
    family = route_family(order.route)
    day = order.start
    events = tuple(e for e in req.events if e.date <= day)
    state = build_course(picture, b12_given, events, req.declared, day, kb, opts, family=family)
    selection = state.course.selection
    act = selection.decision.action
    assert isinstance(act, DecisionAction)
    judgeable = _judgeable(order, state, kb, picture.guideline)
    on_record = bool(b12_given) and _scheduled(order, kb, picture.guideline)
    # A dose on record after the order's start: the order is dated before a dose already given,
    # so when it falls in the course cannot be said (never a silent "ok").
    predates = any(d.date > day for d in b12_given)
    timing = _timing(order, state, judgeable and not predates, on_record)
    regimen = state.regimen if judgeable else None

    is_b12 = order.product.kind == "b12"
    phase_kinds: frozenset[str] = frozenset()
    if is_b12 and regimen is not None and timing.status != "not_judged":
        phase_kinds = frozenset(
            p.kind for p in regimen.phases if p.name == (timing.phase or regimen.phases[0].name)
        )
    cover = (
        bool(b12_given)
        or any(o.product.kind == "b12" for o in req.other_orders)
        or any(p.kind == "b12" for p in req.other_products)
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
    course_picture = state.course.picture
    if course_picture.neuro_symptoms != picture.neuro_symptoms:  # a declared neurological course
        picture = picture.model_copy(update={"neuro_symptoms": course_picture.neuro_symptoms})
    facts = with_facts(
        picture_facts(picture, selection.deficiency),
        scalars,
        {"phase_kind": phase_kinds},
        numbers,
        frozenset({"b12_cover"}) if cover else frozenset(),
    )
    if judgeable:
        facts = reading_facts(facts, state)
    rules = [
        r
        for r in kb.usable("others", picture.guideline, opts.allow_draft)
        if r.when is None or kb.predicates[r.id](facts)
    ]
    course = reading_out(state.reading, state.position) if judgeable else None
    return _result(rules, kb, req.as_of, picture.guideline, order, timing, course)


def _result(
    rules: list[Recommendation],
    kb: KnowledgeBase,
    as_of: date,
    guideline: str,
    order: Order,
    timing: Timing,
    course: CourseReadingOut | None = None,
) -> OrderCheckResult:
    """The verdict from the rules that fired: alerts, disagreements and their references."""
    book = ReferenceBook(kb)
    alerts = collect_alerts(book, kb, rules, "order")
    disagreements = collect_disagreements(book, rules, "order")
    severities = {a.severity for a in alerts}
    verdict = "stop" if "stop" in severities else "warn" if "warning" in severities else "ok"
    pending = not book.all_approved
    return OrderCheckResult(
        verdict=verdict,
        guideline=guideline,
        content_version=kb.content_version,
        as_of=as_of,
        product=order.product.name,
        timing=timing,
        course=course,
        alerts=alerts,
        disagreements=disagreements,
        references=book.references,
        recommendations=book.used,
        review_status="pending_review" if pending else "approved",
        **book.review_fields(guideline),
        review_banner=kb.vocabulary.pending_review_banner if pending else None,
        disclaimer=kb.vocabulary.disclaimer,
    )


def order_only(cond: Condition | None, defs: Definitions) -> bool:
    """Whether ``cond`` reads nothing but the order's own facts (definitions expanded)."""
    if cond is None:
        return False
    for node in walk(cond):
        if isinstance(node, Member | Compare | Present):
            known = node.field.startswith(ORDER_FACT_PREFIXES)
        elif isinstance(node, Ref):
            known = order_only(defs.get(node.name), defs)
        else:
            known = not isinstance(node, Flag)
        if not known:
            return False
    return True


def order_facts(order: Order) -> Facts:
    """The order's own facts, and nothing about the patient."""
    numbers = {"order.dose_ug": order.dose.micrograms}
    if order.interval_days is not None:
        numbers["order.interval_days"] = order.interval_days
    scalars: dict[str, str | None] = {
        "order_drug": order.product.name,
        "order_kind": order.product.kind,
        "order_route": order.route,
        "order_site": order.site,
    }
    return Facts(scalars, {}, frozenset(), numbers, frozenset())


def check_order_alone(
    raw_order: object,
    kb: KnowledgeBase,
    *,
    as_of: date,
    guideline: str = "uk",
    options: PlanOptions | None = None,
) -> OrderCheckResult:
    """Judge an order (an OrderCheck ``order`` document) knowing nothing about the patient.

    Only the rules that read the order's own facts alone are evaluated; the timing is not
    applicable (no dose history).  :class:`InputError` when the order is not valid.
    """
    opts = options or PlanOptions()
    order = parse_order_alone(raw_order, kb, as_of)
    facts = order_facts(order)
    defs = kb.vocabulary.definitions
    rules = [
        r
        for r in kb.usable("others", guideline, opts.allow_draft)
        if order_only(r.when, defs) and kb.predicates[r.id](facts)
    ]
    return _result(rules, kb, as_of, guideline, order, Timing(status="not_applicable"))
