"""What a CDS hook answers: cards from a validated hook request and the FHIR data gathered.

:func:`hook_cards` is the whole decision, without HTTP: which cards ``patient-view``,
``order-select`` and ``order-sign`` give, how the draft MedicationRequests are read and whether
an order matches the guideline regimen.  The web route (``entrypoints/web/cds_hooks.py``)
validates the request, gathers the FHIR data (:mod:`b12.adapters.cds.prefetch`), reads the
registry for ``patient-view``, and turns :class:`Unanswerable` into HTTP 412.

Partial data (an EHR that fulfilled some prefetch templates and not others, and cannot be
queried back) still gets what can be said:

* an order hook always checks the draft orders.  With the patient, every rule is judged on the
  data that was given; without a usable Patient, only the rules reading nothing but the order
  (route, injection site, dose and unit, product, interval; :func:`check_order_alone`).  A
  ``partial`` card says which data was missing, why, and what it means was not checked;
* ``patient-view`` needs the Patient; without it (or with nothing relevant and data missing)
  the call is :class:`Unanswerable`.

A B12 order that cannot be read (dose missing, 0 or negative, a unit like ``g``, period 0) still
counts as B12 cover for "folic acid without B12" (it is passed to the check as an ordered
product), and gets its own warning card saying it was not checked.

Everything the request supplies that reaches a card's text goes through
:func:`b12.adapters.cds.cards.untrusted` (an inline code span) or, for ids, is dropped unless it
is a valid FHIR id.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from b12.adapters.cds import cards as cardlib
from b12.adapters.cds.prefetch import Gathered
from b12.adapters.fhir.codes import CodeTable
from b12.adapters.fhir.inbound import (
    medication_product,
    order_from_medication_request,
    picture_from_fhir,
)
from b12.adapters.fhir.outbound import medication_request
from b12.core.course_input import parse_order_alone, resolve_product
from b12.core.course_models import OrderCheckResult
from b12.core.errors import InputError
from b12.core.follow_up import route_family
from b12.core.knowledge import KnowledgeBase
from b12.core.order_check import check_order_alone
from b12.core.plan_models import PhaseOut, Plan
from b12.core.requests import order_check_request

MAX_ORDERS = 100
CHECKED_KINDS = ("b12", "folate")
#: FHIR R4 ``id``: anything else from the request is not shown (it could carry Markdown).
FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
#: The prefetch key without which nothing can be said about the patient.
PATIENT_KEY = "patient"
#: Fixed words of the cards (not clinical statements: those come from the knowledge base).
LABELS = {
    "status": "B12",
    "next_due": "Next B12 dose due",
    "overdue": "B12 dose overdue by",
    "continuous": "daily treatment",
    "missing": "Needed:",
    "monitoring": "Monitoring (from the start of treatment)",
    "after_start": "day {days}",
    "unchecked": "Order not checked by b12",
    "partial": "Partly checked by b12: some patient data was not available",
    "partial_order_only": (
        "Checked from the draft order alone (route, injection site, dose and unit, product, "
        "interval): no usable Patient was given, so nothing that depends on the patient was "
        "checked."
    ),
    "partial_with_patient": (
        "Checked with the data that was given; what depends on the data below was not checked."
    ),
    "not_checked": "Not available",
}
#: What each prefetch key's data is used for (shown when the key is missing).
KEY_USES = {
    "patient": "age, sex and pregnancy",
    "b12": "serum B12 results (B12 status, folic acid without B12)",
    "labs": "other results (MMA, homocysteine, blood count, potassium, folate, kidney function)",
    "conditions": "conditions (cause, allergies, contraindications)",
    "medicationRequests": "current prescriptions (B12 treatment already given, interactions)",
    "medicationStatements": "medicines taken (B12 treatment already given, interactions)",
    "procedures": "procedures (gastric or ileal surgery)",
}

#: The guideline plan for a picture (None if unusable); the web layer passes a cached one.
Planner = Callable[[Mapping[str, Any], KnowledgeBase, date], "Plan | None"]
Card = dict[str, Any]


@dataclass(frozen=True)
class HookCall:
    """The parts of a validated CDS Hooks request the cards depend on."""

    hook: str
    hook_instance: str
    patient_id: str
    user_id: str = ""
    draft_orders: Any = None
    selections: tuple[str, ...] | None = None
    #: the drafts as read for one (knowledge base, day): read once per call, not per use
    _drafts: dict[tuple[object, date], list[Draft]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def drafts(self, kb: KnowledgeBase, table: CodeTable, today: date) -> list[Draft]:
        """:func:`read_drafts` of this call's draft orders, read once."""
        key = (id(kb), today)
        found = self._drafts.get(key)
        if found is None:
            found = self._drafts[key] = read_drafts(self.draft_orders, kb, table, today)
        return found

    @classmethod
    def from_request(cls, body: Mapping[str, Any]) -> HookCall:
        """From a request body already validated for its service."""
        context = body["context"]
        selections = context.get("selections")
        return cls(
            hook=str(body["hook"]),
            hook_instance=str(body["hookInstance"]),
            patient_id=str(context.get("patientId", "")),
            user_id=str(context.get("userId", "")),
            draft_orders=context.get("draftOrders"),
            selections=tuple(str(s) for s in selections) if isinstance(selections, list) else None,
        )


@dataclass(frozen=True)
class Unanswerable:
    """Nothing useful can be said without the data that is missing (the route answers 412)."""

    missing: Mapping[str, str]


# -- draft orders --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Draft:
    """One draft MedicationRequest and what b12 made of it.

    ``order`` is the OrderCheck ``order`` document when the request could be read and is valid
    on its own; otherwise ``reason`` says why not (it may quote request text: escape it).
    """

    ref: str
    resource: dict[str, Any]
    kind: str | None
    product: str | None
    order: dict[str, Any] | None
    reason: str | None


def draft_medication_requests(draft_orders: Any) -> list[dict[str, Any]]:
    """The MedicationRequests of ``draftOrders`` (a Bundle; ``type`` not required)."""
    entries = draft_orders.get("entry") if isinstance(draft_orders, dict) else None
    if not isinstance(entries, list):
        return []
    out = []
    for entry in entries[:MAX_ORDERS]:
        res = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(res, dict) and res.get("resourceType") == "MedicationRequest":
            out.append(res)
    return out


def _draft_medications(draft_orders: Any) -> dict[str, Any]:
    """Medication resources in ``draftOrders``, by ``Medication/id`` and by ``fullUrl``."""
    entries = draft_orders.get("entry") if isinstance(draft_orders, dict) else None
    found: dict[str, Any] = {}
    for entry in entries if isinstance(entries, list) else []:
        res = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(res, dict) and res.get("resourceType") == "Medication":
            if isinstance(res.get("id"), str):
                found[f"Medication/{res['id']}"] = res
            if isinstance(entry.get("fullUrl"), str):
                found[entry["fullUrl"]] = res
    return found


def draft_ref(resource: Mapping[str, Any], index: int) -> str:
    """``MedicationRequest/<id>`` for a valid FHIR id, else ``#draft<index>``."""
    rid = resource.get("id")
    if isinstance(rid, str) and FHIR_ID.fullmatch(rid):
        return f"MedicationRequest/{rid}"
    return f"#draft{index}"


def read_drafts(draft_orders: Any, kb: KnowledgeBase, table: CodeTable, today: date) -> list[Draft]:
    """Every draft MedicationRequest, with its product kind (``b12``/``folate``) and order."""
    medications = _draft_medications(draft_orders)
    out = []
    for i, res in enumerate(draft_medication_requests(draft_orders)):
        drug, _text = medication_product(res, table, medications)
        order, reason = order_from_medication_request(res, table, medications)
        name = drug or (str(order.get("drug", "")) if order is not None else "")
        product = resolve_product(name, kb) if name else None
        kind = product.kind if product is not None else None
        if order is not None:
            try:  # valid on its own (dose unit, frequency…)? else it is unreadable for b12
                parse_order_alone(order, kb, today)
            except InputError as err:
                order, reason = None, "; ".join(p.render() for p in err.problems)
        known = kind if kind in CHECKED_KINDS else None
        label = product.name if product is not None and known else None
        out.append(Draft(draft_ref(res, i), res, known, label, order, reason))
    return out


def targets(call: HookCall, drafts: Sequence[Draft]) -> list[Draft]:
    """The B12 and folic acid drafts this call is about (the selected ones for order-select)."""
    found = [d for d in drafts if d.kind is not None]
    if call.hook == "order-select":
        chosen = set(call.selections or ())
        found = [d for d in found if d.ref in chosen]
    return found


def needs_fhir(call: HookCall, kb: KnowledgeBase, table: CodeTable, today: date) -> bool:
    """Whether the call needs patient data at all: an order hook with no readable B12 or folic
    acid order does not (it answers without asking for any)."""
    if call.hook == "patient-view":
        return True
    chosen = targets(call, call.drafts(kb, table, today))
    return any(d.order is not None for d in chosen)


# -- the one entry point -------------------------------------------------------------------------


def hook_cards(
    call: HookCall,
    data: Gathered,
    kb: KnowledgeBase,
    table: CodeTable,
    today: date,
    planner: Planner,
) -> list[Card] | Unanswerable:
    """The cards for a hook call from the FHIR data gathered (``data.missing`` may name keys
    that could not be had), or :class:`Unanswerable` when nothing useful can be said."""
    if call.hook == "patient-view":
        return patient_view_cards(call, data, kb, table, today, planner)
    return order_hook_cards(call, data, kb, table, today, planner)


# -- patient-view ------------------------------------------------------------------------------


def registry_cards(call: HookCall, result: Any, kb: KnowledgeBase) -> list[Card]:
    """``patient-view`` for a patient in the registry: the course's status and its alerts."""
    status = cardlib.follow_up_card(result, kb, hook_instance=call.hook_instance, labels=LABELS)
    alerts = cardlib.alert_cards(
        result.alerts,
        result.references,
        kb,
        hook_instance=call.hook_instance,
        key="status",
        banner=result.review_banner,
        disclaimer=result.disclaimer,
    )
    return [status, *alerts]


def patient_view_cards(
    call: HookCall,
    data: Gathered,
    kb: KnowledgeBase,
    table: CodeTable,
    today: date,
    planner: Planner,
) -> list[Card] | Unanswerable:
    """The B12 status from the EHR's data: pathway, missing results, monitoring, alerts."""
    if PATIENT_KEY in data.missing:
        return Unanswerable(data.missing)
    try:
        fhir = picture_from_fhir(list(data.resources), table, as_of=today)
    except InputError:  # no usable Patient (e.g. no birthDate): nothing can be said
        return []
    if not relevant(fhir.picture):
        return Unanswerable(data.missing) if data.missing else []
    plan = planner(fhir.picture, kb, today)
    if plan is None:
        return []
    observed = _observed(fhir.picture, fhir.observed, kb)
    status = cardlib.plan_card(
        plan, kb, hook_instance=call.hook_instance, observed=observed, labels=LABELS
    )
    alerts = cardlib.alert_cards(
        plan.alerts,
        plan.references,
        kb,
        hook_instance=call.hook_instance,
        key="status",
        banner=plan.review_banner,
        disclaimer=plan.disclaimer,
    )
    return [status, *alerts, *_partial(call, data.missing, kb, patient_known=True)]


def relevant(picture: Mapping[str, Any]) -> bool:
    """Whether the record holds anything about B12 (else patient-view stays silent)."""
    labs = picture.get("labs")
    b12_labs = isinstance(labs, dict) and any(
        labs.get(k) is not None for k in ("serum_b12_ng_l", "active_b12_pmol_l", "mma_nmol_l")
    )
    return bool(
        b12_labs
        or picture.get("medications")
        or picture.get("conditions")
        or picture.get("deficiency")
        or picture.get("cause")
        or picture.get("neuro_symptoms")
    )


def _observed(
    picture: Mapping[str, Any], observed: Mapping[str, date], kb: KnowledgeBase
) -> list[str]:
    labs = picture.get("labs")
    out = []
    for name, when in sorted(observed.items()):
        term = kb.vocabulary.labs.get(name)
        value = labs.get(name) if isinstance(labs, dict) else None
        if term is not None and isinstance(value, int | float) and not isinstance(value, bool):
            out.append(f"{term.label}: {value:g} {term.unit} ({when.isoformat()})")
    return out


def _partial(
    call: HookCall, missing: Mapping[str, str], kb: KnowledgeBase, *, patient_known: bool
) -> list[Card]:
    """The card saying which data was missing, why, and what was therefore not checked."""
    if not missing:
        return []
    lead = LABELS["partial_with_patient"] if patient_known else LABELS["partial_order_only"]
    lines = [
        f"- {KEY_USES.get(key, key)}: {cardlib.untrusted(why)}"
        for key, why in sorted(missing.items())
    ]
    return [
        cardlib.notice_card(
            kb,
            hook_instance=call.hook_instance,
            key="partial",
            title=LABELS["partial"],
            detail=[lead, f"**{LABELS['not_checked']}**\n\n" + "\n".join(lines)],
            indicator="info",
            topic="partly-checked",
        )
    ]


# -- order-select / order-sign -----------------------------------------------------------------


@dataclass
class _OrderContext:
    call: HookCall
    kb: KnowledgeBase
    table: CodeTable
    today: date
    planner: Planner
    picture: dict[str, Any] | None
    plan: Plan | None = None
    planned: bool = False

    def plan_for(self) -> Plan | None:
        if not self.planned and self.picture is not None:
            self.plan = self.planner(self.picture, self.kb, self.today)
            self.planned = True
        return self.plan


def order_hook_cards(
    call: HookCall,
    data: Gathered,
    kb: KnowledgeBase,
    table: CodeTable,
    today: date,
    planner: Planner,
) -> list[Card]:
    """Cards for the B12 and folic acid draft orders of an order-select or order-sign call."""
    drafts = call.drafts(kb, table, today)
    chosen = targets(call, drafts)
    if not chosen:
        return []
    picture: dict[str, Any] | None = None
    missing = dict(data.missing)
    if PATIENT_KEY not in missing:
        try:
            picture = picture_from_fhir(list(data.resources), table, as_of=today).picture
        except InputError as err:  # no usable Patient: the orders are checked alone
            missing[PATIENT_KEY] = "; ".join(p.render() for p in err.problems)
    ctx = _OrderContext(call, kb, table, today, planner, picture)
    cards: list[Card] = []
    for draft in chosen:
        cards.extend(_draft_cards(ctx, draft, drafts))
    if any(d.order is not None for d in chosen):
        cards.extend(_partial(call, missing, kb, patient_known=picture is not None))
    return cards


def _draft_cards(ctx: _OrderContext, draft: Draft, drafts: Sequence[Draft]) -> list[Card]:
    label = product_label(draft, ctx.kb)
    if draft.order is None:  # while selecting, the order's details may not be complete yet
        if ctx.call.hook == "order-select":
            return []
        return [_unchecked(ctx, draft, label, draft.reason or "the order could not be read")]
    try:
        result = _check(ctx, draft, drafts)
    except InputError as err:
        return [_unchecked(ctx, draft, label, "; ".join(p.render() for p in err.problems))]
    suggestions = _suggestions(ctx, draft)
    found = cardlib.order_cards(
        result,
        ctx.kb,
        hook_instance=ctx.call.hook_instance,
        order_ref=draft.ref,
        product_label=label,
        suggestions=suggestions,
    )
    plan = ctx.plan_for()
    if not found and suggestions and plan is not None:
        extra = cardlib.regimen_card(
            plan,
            ctx.kb,
            hook_instance=ctx.call.hook_instance,
            order_ref=draft.ref,
            product_label=label,
            suggestions=suggestions,
        )
        found = [extra] if extra is not None else []
    return found


def _check(ctx: _OrderContext, draft: Draft, drafts: Sequence[Draft]) -> OrderCheckResult:
    """The order check of one draft: with the patient's picture, or the order alone."""
    if ctx.picture is None:
        return check_order_alone(draft.order, ctx.kb, as_of=ctx.today)
    others = [d.order for d in drafts if d is not draft and d.order is not None]
    # Other B12 / folic acid orders that could not be read are still ordered: B12 cover.
    products = [d.product for d in drafts if d is not draft and d.order is None and d.product]
    document = {
        "picture": ctx.picture,
        "order": draft.order,
        "other_orders": others,
        "other_products": products,
    }
    return order_check_request(document, ctx.kb, default_as_of=ctx.today)


def _unchecked(ctx: _OrderContext, draft: Draft, label: str, reasons: str) -> Card:
    return cardlib.unchecked_card(
        ctx.kb,
        hook_instance=ctx.call.hook_instance,
        order_ref=draft.ref,
        product_label=label,
        title=LABELS["unchecked"],
        reasons=reasons,
    )


def product_label(draft: Draft, kb: KnowledgeBase) -> str:
    """The product's label in the vocabulary (never request text)."""
    if draft.product is not None:
        term = kb.vocabulary.products.get(draft.product)
        if term is not None:
            return term.label
    return "B12" if draft.kind == "b12" else "folic acid"


def _suggestions(ctx: _OrderContext, draft: Draft) -> list[dict[str, Any]]:
    """The guideline regimen as an ``update`` of the draft, when the order matches no phase."""
    if draft.kind != "b12" or draft.order is None:
        return []
    plan = ctx.plan_for()
    if plan is None or plan.regimen is None or plan.status != "plan":
        return []
    if matches_regimen(draft.order, plan, ctx.kb):
        return []
    rid = draft.resource.get("id")
    status = draft.resource.get("status")
    resource = medication_request(
        plan,
        ctx.kb,
        ctx.table,
        patient_ref=f"Patient/{ctx.call.patient_id}",
        request_id=rid if isinstance(rid, str) and FHIR_ID.fullmatch(rid) else None,
        status=status if isinstance(status, str) and status else "draft",
    )
    if resource is None:
        return []
    for name in ("subject", "encounter", "requester", "identifier", "authoredOn"):
        if draft.resource.get(name):
            resource[name] = draft.resource[name]
    return [
        cardlib.suggestion(
            ctx.call.hook_instance,
            draft.ref,
            label=f"Use the guideline regimen: {plan.regimen.title}",
            description=f"Replace the draft order with {plan.regimen.title}",
            resource=resource,
        )
    ]


# -- regimen matching ------------------------------------------------------------------------


def _interval(order: Mapping[str, Any], kb: KnowledgeBase) -> float | None:
    every = order.get("every_days")
    if isinstance(every, int | float) and not isinstance(every, bool):
        return float(every)
    freq = order.get("frequency")
    term = kb.vocabulary.frequencies.get(freq) if isinstance(freq, str) else None
    return term.interval_days if term is not None else None


def _phase_matches(phase: PhaseOut, micrograms: float, interval: float | None) -> bool:
    top = phase.dose.max if phase.dose.max is not None else phase.dose.value
    top_ug = top * (1000 if phase.dose.unit == "mg" else 1)
    if not phase.dose.micrograms - 0.5 <= micrograms <= top_ug + 0.5:
        return False
    if interval is None:
        return True
    if phase.every_days is not None:
        return phase.every_days.min - 0.5 <= interval <= phase.every_days.max + 0.5
    if phase.every_months is not None:
        return phase.every_months.min * 28 <= interval <= phase.every_months.max * 31
    if phase.times_per_week is not None:
        return abs(interval - 7 / phase.times_per_week) <= 1.0
    return True


def matches_regimen(order: Mapping[str, Any], plan: Plan, kb: KnowledgeBase) -> bool:
    """True when the order is the plan's drug, by its route, at the dose and interval of a phase."""
    regimen = plan.regimen
    if regimen is None:
        return True
    product = resolve_product(str(order.get("drug", "")), kb)
    route = order.get("route")
    if product.name != regimen.drug or not isinstance(route, str):
        return False
    if route != regimen.route and not (
        route_family(route) == route_family(regimen.route) == "injection"
        and "iv" not in (route, regimen.route)
    ):
        return False
    dose = order.get("dose")
    if not isinstance(dose, dict) or not isinstance(dose.get("value"), int | float):
        return False
    micrograms = float(dose["value"]) * (1000 if str(dose.get("unit")).lower() == "mg" else 1)
    interval = _interval(order, kb)
    return any(_phase_matches(p, micrograms, interval) for p in regimen.phases)
