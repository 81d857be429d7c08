"""Evaluate facts: what holds for what the question says (step 5 of the pipeline).

The question's slots become **partial facts** (:class:`Known`): a field the question fills is
known; a field it does not fill is *unknown* — never a default (no assumed deficiency status,
age, order or dose history).  Every recommendation's condition is evaluated in three values
with the condition language and leaf semantics of ``plan`` (:mod:`b12.core.criteria`): a leaf
whose field is known is evaluated by :func:`criteria.evaluate`; a leaf whose field is unknown
is unknown; ``all`` / ``any`` / ``not`` combine in Kleene's three-valued logic.
:class:`Phrases` writes an open condition out in ``answering.yaml`` words.

Context follows ``plan``: a question that describes no order has no order facts (so order
checks are false, as in a plan), and one that tells no course events has none (so follow-up
advice is false).  A question that describes an order or a course fills those facts from its
words, and what it leaves open stays unknown.  ``select.py`` uses these to choose what the
answer says.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from b12.core import criteria
from b12.core.answer.extract import Slots
from b12.core.knowledge import DecisionAction, KnowledgeBase, Recommendation, Regimen

Truth = bool | None

#: Which cause the facts record when the question suggests several (most specific first).
CAUSE_ORDER = ("autoimmune_gastritis", "nitrous_oxide", "malabsorption", "dietary", "medication")
#: Drugs a clinical picture can prefer (``preferences.drug``); the B12 products.
PICTURE_DRUGS = ("hydroxocobalamin", "cyanocobalamin")
#: A B12 product given only by injection in b12's regimens.
INJECTED_ONLY = frozenset({"hydroxocobalamin"})
#: Facts about the treatment being planned: an item open on these is about another answer.
PLAN_ONLY = frozenset(criteria.PLAN_FIELDS) | {"regimen_until"}
#: A maintenance interval is at least this many days (a question "on 3-monthly injections").
MAINTENANCE_MIN_DAYS = 28
#: Picture fields a question can state (besides ``labs.<name>``).  Whether any other picture
#: field (an operation date, say) is given is unknown for a question, never "absent".
STATED_PRESENCE = frozenset(
    {"cause", "deficiency", "diet", "ileal_resection_cm", "preferences.route", "preferences.drug"}
)


# -- partial facts ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Known:
    """The facts the question gives; anything else is unknown.

    ``facts`` carries the known values (read by :func:`criteria.evaluate` for a known leaf);
    ``scalars`` names the scalar fields that are known (a known field may be known to be
    empty); ``closed`` the list fields whose every value is known; ``absent`` values known
    *not* to be in a list; ``flags`` the flags whose value is known (the true ones are in
    ``facts.flags``).
    """

    facts: criteria.Facts
    scalars: frozenset[str]
    closed: frozenset[str]
    absent: Mapping[str, frozenset[str]]
    flags: frozenset[str]


def causes_of(slots: Slots) -> list[str]:
    """The causes the question names, most specific first (``plan`` reads them all)."""
    return [c for c in CAUSE_ORDER if c in slots.causes]


def products(slots: Slots) -> list[str]:
    return [f for f in slots.formulations if f in PICTURE_DRUGS]


#: Routes no source gives a regimen for: named beside others, they are what is proposed.
UNSOURCED_ROUTES = frozenset({"sublingual", "intranasal"})


def _treatment_route(slots: Slots) -> str | None:
    """The route of the treatment the question describes, if it says.

    With an injection and another route named ("under the skin instead", "nasal spray
    instead of shots"), the other route is the one proposed.
    """
    if slots.route:
        return slots.route
    unsourced = {r for r in slots.routes if r in UNSOURCED_ROUTES}
    if len(unsourced) == 1:
        # "are the under-the-tongue tablets as good as the jabs?": the route with no regimen
        # in the sources is the one proposed.
        return unsourced.pop()
    others = [r for r in slots.routes if r != "im"]
    if len(slots.routes) == 2 and len(others) == 1:
        return others[0]
    drugs = products(slots)
    if len(drugs) == 1 and drugs[0] in INJECTED_ONLY:
        return "im"
    return None


@dataclass(slots=True)
class _Builder:
    scalars: dict[str, str | None] = field(default_factory=dict)
    lists: dict[str, frozenset[str]] = field(default_factory=dict)
    closed: set[str] = field(default_factory=set)
    absent: dict[str, frozenset[str]] = field(default_factory=dict)
    true_flags: set[str] = field(default_factory=set)
    known_flags: set[str] = field(default_factory=set)
    numbers: dict[str, float] = field(default_factory=dict)
    present: set[str] = field(default_factory=set)

    def scalar(self, name: str, value: str | None) -> None:
        self.scalars[name] = value
        if value is not None:
            self.present.add(name)

    def flag(self, name: str, value: bool) -> None:
        self.known_flags.add(name)
        if value:
            self.true_flags.add(name)

    def known(self) -> Known:
        facts = criteria.Facts(
            scalars=dict(self.scalars),
            lists=dict(self.lists),
            flags=frozenset(self.true_flags),
            numbers=dict(self.numbers),
            present=frozenset(self.present),
        )
        return Known(
            facts=facts,
            scalars=frozenset(self.scalars),
            closed=frozenset(self.closed),
            absent=dict(self.absent),
            flags=frozenset(self.known_flags),
        )


def _patient(b: _Builder, slots: Slots, guideline: str) -> None:
    """What the question says about the patient (scalars, lists, flags, numbers)."""
    b.scalar("guideline", guideline)
    causes = causes_of(slots)
    b.lists["cause"] = frozenset(causes)
    if causes:
        b.closed.add("cause")  # the causes named are the picture's causes (as in a picture)
        b.present.add("cause")
    for name, value in (
        ("diet", slots.diet),
        ("sex", slots.sex),
        ("stated_deficiency", slots.deficiency),
    ):
        if value:
            b.scalar(name, value)
    # Preferences are choices: a question that states none has none.
    b.scalar("route_preference", slots.route_preference)
    drugs = products(slots)
    preferred = drugs[0] if len(drugs) == 1 else slots.proposed_product
    b.scalar("drug_preference", preferred)
    _patient_lists(b, slots, drugs)
    for name in ("pregnant", "breastfeeding"):
        if name in slots.flags:
            b.flag(name, True)
    b.flag("adherence_concern", False)
    numbers = {
        "age": float(slots.age) if slots.age is not None else None,
        "ileal_resection_cm": slots.ileal_resection_cm,
        **{f"labs.{name}": value for name, value in slots.labs.items()},
    }
    for name, number in numbers.items():
        if number is not None:
            b.numbers[name] = number
            b.present.add(name)


def _patient_lists(b: _Builder, slots: Slots, drugs: list[str]) -> None:
    meds = set(slots.medications)
    if slots.on_treatment and not slots.switching:
        # (A switch asks about the treatment to move to: the current one is not carried on.)
        meds.update(drugs or PICTURE_DRUGS[:1])
    b.lists["medications"] = frozenset(meds)
    b.lists["conditions"] = frozenset(slots.conditions)
    if slots.describes_patient:
        # A question that describes a patient names their conditions and medicines (as a
        # picture for b12 plan does); neurological status, deficiency status, age, pregnancy,
        # orders and course events are never closed this way.
        b.closed.update({"conditions", "medications"})
    b.lists["neuro_symptoms"] = frozenset(slots.neuro_symptoms if slots.neuro else ())
    if slots.neuro is False:
        b.closed.add("neuro_symptoms")
        b.flag("severe_neuro", False)


def _plan_facts(
    b: _Builder, slots: Slots, kb: KnowledgeBase, decision: Recommendation | None
) -> None:
    """Facts about the treatment: the chosen regimen's, else the one the question describes."""
    act = decision.action if decision is not None else None
    if isinstance(act, DecisionAction):
        b.scalar("pathway", act.pathway)
    regimen: Regimen | None = None
    if isinstance(act, DecisionAction) and act.regimen:
        regimen = kb.regimens.get(act.regimen)
    if regimen is not None:
        b.scalar("regimen_drug", regimen.drug)
        b.scalar("regimen_route", regimen.route)
        b.lists["phase_kind"] = frozenset(p.kind for p in regimen.phases)
        b.closed.add("phase_kind")
        b.lists["regimen_until"] = frozenset(p.until for p in regimen.phases if p.until)
        b.closed.add("regimen_until")
        return
    if slots.on_treatment and decision is None:
        # Treated already: not on a pathway that plans or awaits no replacement (a decision
        # with no regimen that is not the one for a patient on treatment), whichever
        # treatment pathway it is.
        on_treatment = criteria.Ref("on_b12_treatment")
        b.absent["pathway"] = frozenset(
            a.pathway
            for rec in kb.recommendations.values()
            if isinstance(a := rec.action, DecisionAction)
            and not a.regimen
            and a.outcome in ("plan", "needs_more_data")
            and a.pathway
            and rec.when != on_treatment
        )
    kinds = set(slots.phase_kinds)
    if slots.replaced_route is not None:
        # "deep subQ instead of IM?": the treatment to change is by the route replaced.
        b.scalar("regimen_route", slots.replaced_route)
    elif not slots.on_treatment and slots.route and slots.route_preference in (None, slots.route):
        # "Are IM jabs a problem on apixaban?": the one route the question names is the
        # treatment it asks about.
        b.scalar("regimen_route", slots.route)
    if slots.on_treatment:
        route = _treatment_route(slots)
        if route and slots.replaced_route is None:
            # (with "X instead of IM" the treatment to change is by the route replaced)
            b.scalar("regimen_route", route)
        drugs = products(slots)
        if len(drugs) == 1:
            b.scalar("regimen_drug", drugs[0])
        interval = slots.interval_days
        if interval is not None and interval >= MAINTENANCE_MIN_DAYS:
            kinds.add("maintenance")
    b.lists["phase_kind"] = frozenset(kinds)


def _order_facts(b: _Builder, slots: Slots) -> None:
    """An order the question describes (a dose, a schedule, folic acid); else none (a plan)."""
    if not slots.describes_order:
        for name in criteria.ORDER_FIELDS:
            b.scalar(name, None)
        b.flag("b12_cover", False)
        return
    # A dose told with folic acid and no B12 product or route is folic acid's ("folic acid
    # 1 mg alone").
    b12 = bool(
        slots.formulations or slots.routes or (slots.dose_ug is not None and not slots.folic)
    )
    if slots.folic and slots.b12_cover is False:
        b12 = False  # "folic acid now, the B12 shots next week": the order is folic acid's
    b.scalar("order_kind", "b12" if b12 or not slots.folic else "folate")
    drugs = list(slots.formulations)
    if len(drugs) == 1:
        b.scalar("order_drug", drugs[0])
    elif slots.proposed_product is not None:
        b.scalar("order_drug", slots.proposed_product)  # "switch from A to B": B is ordered
    route = _treatment_route(slots)
    if route is not None:
        b.scalar("order_route", route)
    # Timing and site are told when they matter ("given early", "in the buttock").
    b.scalar("order_timing", slots.order_timing)
    if slots.site:
        b.scalar("order_site", slots.site)
    if slots.dose_ug is not None:
        b.numbers["order.dose_ug"] = slots.dose_ug
    if slots.interval_days is not None:
        b.numbers["order.interval_days"] = slots.interval_days
    alone = slots.folic and not b12 and not slots.on_treatment and slots.b12_cover is not True
    if alone:
        # Folic acid is the only treatment the question tells ("ok to start folic acid 5 mg
        # today?", "folic acid on its own"): nothing gives B12 with it, and no B12 regimen is
        # planned.
        b.flag("b12_cover", False)
        b.scalars.setdefault("regimen_drug", None)
    elif slots.b12_cover is not None:
        b.flag("b12_cover", slots.b12_cover)


def _course_facts(b: _Builder, slots: Slots) -> None:
    """Course events the question tells (the only ones: a question tells what happened)."""
    b.lists["event"] = frozenset(slots.events)
    open_course = slots.on_treatment or slots.about_lifelong or slots.form == "should_stop"
    # "Can she stop?" tells that stopping is considered, not what else has happened.
    told = set(slots.events) - {"stopping_considered"}
    if not open_course or told or slots.course_well:
        b.closed.add("event")  # none told, or the course told as going well
    b.scalar("timing", slots.timing)
    route = _treatment_route(slots) if slots.on_treatment else None
    if route is not None:
        b.scalar("history_route", "oral" if route == "oral" else "injection")
    elif not slots.on_treatment:
        b.scalar("history_route", None)
    if not slots.describes_course:
        b.flag("first_dose_due", False)
    if slots.last_dose is not None:
        b.flag("last_dose_unknown", slots.last_dose == "unknown")


def known_facts(
    slots: Slots,
    kb: KnowledgeBase,
    guideline: str,
    decision: Recommendation | None = None,
    deficiency: tuple[bool, str | None] | None = None,
) -> Known:
    """The partial facts of the question (``deficiency`` = (known, status) once worked out)."""
    b = _Builder()
    _patient(b, slots, guideline)
    _plan_facts(b, slots, kb, decision)
    _order_facts(b, slots)
    _course_facts(b, slots)
    if deficiency is not None and deficiency[0]:
        b.scalar("deficiency", deficiency[1])
    _words_as_results(b, slots, kb)
    return b.known()


def _words_as_results(b: _Builder, slots: Slots, kb: KnowledgeBase) -> None:
    """A result told in words, read through the knowledge base's own thresholds.

    "Borderline B12" is a total B12 inside the indeterminate range; "low folate" is a folate
    below the low-folate threshold.  The value stands for the range, only for evaluating
    conditions; it is never shown.
    """
    numbers = b.numbers
    for name, reading in sorted(slots.word_results.items()):
        key = f"labs.{name}"
        if key in numbers:
            continue
        b.present.add(key)
        value = _reading_value(name, reading, kb)
        if value is not None:
            numbers[key] = value
    if (
        slots.deficiency == "indeterminate"
        and "labs.serum_b12_ng_l" not in numbers
        and "labs.active_b12_pmol_l" not in numbers
    ):
        low = kb.param("b12_total_confirmed_below_ng_l")
        high = kb.param("b12_total_unlikely_above_ng_l")
        numbers["labs.serum_b12_ng_l"] = (low + high) / 2
        b.present.add("labs.serum_b12_ng_l")
    if slots.folate_low and "labs.folate_ug_l" not in numbers:
        numbers["labs.folate_ug_l"] = kb.param("folate_low_below_ug_l") / 2
        b.present.add("labs.folate_ug_l")


#: Per lab field: the parameters that bound its deficiency band (confirmed below, unlikely
#: above) and, for total B12, the level that counts as high; for MMA, the raised level.
_BANDS = {
    "serum_b12_ng_l": ("b12_total_confirmed_below_ng_l", "b12_total_unlikely_above_ng_l"),
    "active_b12_pmol_l": ("active_b12_confirmed_below_pmol_l", "active_b12_unlikely_above_pmol_l"),
}


def _reading_value(name: str, reading: str, kb: KnowledgeBase) -> float | None:
    """A value inside the range a reading names, or ``None`` when it names no range ("normal":
    a result is given, its value is unknown)."""
    if name == "mma_nmol_l":
        raised = kb.param("mma_raised_above_nmol_l")
        return raised * 2 if reading == "high" else raised / 2 if reading == "normal" else None
    band = _BANDS.get(name)
    if band is None:
        return None
    low, high = kb.param(band[0]), kb.param(band[1])
    if reading == "low":
        return low / 2
    if reading == "borderline":
        return (low + high) / 2
    if reading == "high" and name == "serum_b12_ng_l":
        return kb.param("high_b12_ng_l") * 2
    return None


# -- three-valued evaluation --------------------------------------------------------------------


class Evaluator:
    """Three-valued truth of conditions over :class:`Known` facts (leaves via ``criteria``)."""

    def __init__(self, kb: KnowledgeBase, known: Known) -> None:
        self.kb = kb
        self.known = known
        self.defs = kb.vocabulary.definitions

    def leaf(self, cond: criteria.Condition) -> Truth:
        k = self.known
        facts = k.facts
        match cond:
            case criteria.Member(name, values):
                if name in criteria.SET_FIELDS:
                    have = facts.lists.get(name, frozenset())
                    hit = bool(have) if values == ("any",) else not have.isdisjoint(values)
                    if hit:
                        return True
                    gone = k.absent.get(name, frozenset())
                    if name in k.closed or (values != ("any",) and set(values) <= gone):
                        return False
                    return None
                if name not in k.scalars:
                    # Unknown, unless every value asked for is known not to be it (a
                    # patient on treatment is on no pathway that plans no replacement).
                    gone = k.absent.get(name, frozenset())
                    return False if set(values) <= gone else None
            case criteria.Flag(name):
                if name in facts.flags:
                    return True
                return False if name in k.flags else None
            case criteria.Compare(name):
                if name not in facts.numbers:
                    return None
            case criteria.Present(name):
                if name not in STATED_PRESENCE and not name.startswith("labs."):
                    return None
        return criteria.evaluate(cond, facts, self.kb.param, self.defs)

    def truth(self, cond: criteria.Condition | None) -> Truth:
        """True, False or None (unknown) for ``cond`` (no condition is true)."""
        if cond is None:
            return True
        match cond:
            case criteria.All(parts):
                values = [self.truth(p) for p in parts]
                if False in values:
                    return False
                return None if None in values else True
            case criteria.AnyOf(parts):
                values = [self.truth(p) for p in parts]
                if True in values:
                    return True
                return None if None in values else False
            case criteria.Not(part):
                inner = self.truth(part)
                return None if inner is None else not inner
            case criteria.Ref(name):
                return self.truth(self.defs[name])
        return self.leaf(cond)

    def fields(self, cond: criteria.Condition | None) -> set[str]:
        """The fields of the unknown leaves of ``cond``."""
        out: set[str] = set()
        if cond is None or self.truth(cond) is not None:
            return out
        match cond:
            case criteria.All(parts) | criteria.AnyOf(parts):
                for p in parts:
                    out |= self.fields(p)
            case criteria.Not(part):
                out |= self.fields(part)
            case criteria.Ref(name):
                out |= self.fields(self.defs[name])
            case criteria.Member(name) | criteria.Compare(name) | criteria.Present(name):
                out.add(name)
            case criteria.Flag(name):
                out.add(f"flag:{name}")
        return out


#: Picture list fields written in the singular in ``condition_phrases`` keys.
SINGULAR = {"conditions": "condition", "medications": "medication"}


class Phrases:
    """Writes an open condition out from ``answering.yaml`` ``condition_phrases``."""

    def __init__(self, kb: KnowledgeBase, ev: Evaluator, audience: str) -> None:
        self.table = kb.answering.condition_phrases
        self.kb = kb
        self.words = kb.answering.answer_words.get(audience, {})
        self.ev = ev
        self.audience = audience

    def _lookup(self, key: str, positive: bool) -> str | None:
        entry = self.table.get(key)
        if entry is None or self.audience not in entry:
            return None
        pos, neg = entry[self.audience]
        return pos if positive else neg

    def _leaf_key(self, cond: criteria.Condition) -> list[str]:
        match cond:
            case criteria.Member(name, values):
                # The table writes a condition or a medicine in the singular, as content does
                # ("condition=ileal_resection" for the picture's ``conditions`` list).
                key = SINGULAR.get(name, name)
                return [f"{key}={','.join(values)}", *(f"{key}={v}" for v in values), name]
            case criteria.Flag(name):
                return [f"flag:{name}"]
            case criteria.Compare(name, op):
                return [f"{name}{'<' if op in ('lt', 'le') else '>'}", name]
            case criteria.Present(name):
                return [f"present:{name}"]
        return []

    def join(self, texts: list[str], conj: str) -> str | None:
        if not texts:
            return None
        return self.words.get(conj, f" {conj} ").join(dict.fromkeys(texts))

    def explain(self, cond: criteria.Condition | None, positive: bool = True) -> str | None:
        """The open part of ``cond`` in words (``None`` when it cannot be written out)."""
        if cond is None or self.ev.truth(cond) is not None:
            return None
        match cond:
            case criteria.Not(part):
                return self.explain(part, not positive)
            case criteria.Ref(name):
                return self._lookup(f"def:{name}", positive) or self.explain(
                    self.ev.defs[name], positive
                )
            case criteria.All(parts) | criteria.AnyOf(parts):
                conj_and = isinstance(cond, criteria.All) == positive
                texts = [self.explain(p, positive) for p in parts if self.ev.truth(p) is None]
                if any(t is None for t in texts):
                    return None
                return self.join([t for t in texts if t], "and" if conj_and else "or")
        if isinstance(cond, criteria.Present) and not cond.present:
            positive = not positive  # "absent: x" is written as "x is not given"
        member_key = self._leaf_key(cond)
        if isinstance(cond, criteria.Member) and len(cond.values) > 1 and member_key:
            exact = self._lookup(member_key[0], positive)
            if exact:
                return exact
            each = [self._lookup(k, positive) for k in member_key[1:-1]]
            if each and all(each):
                return self.join([e for e in each if e], "or" if positive else "and")
        for key in member_key:
            found = self._lookup(key, positive)
            if found:
                return self._threshold(found, cond)
        return None

    def _threshold(self, text: str, cond: criteria.Condition) -> str:
        """Fill ``{threshold}`` with the number a comparison reads ("above 1000 ng/L")."""
        if "{threshold}" not in text or not isinstance(cond, criteria.Compare):
            return text.replace("{threshold}", "that level")
        if cond.param is not None:
            param = self.kb.parameters[cond.param]
            return text.replace("{threshold}", f"{param.value:g} {param.unit}")
        if cond.value is not None:
            return text.replace("{threshold}", f"{cond.value:g}")
        return text.replace("{threshold}", "that level")


def leaf_fields(cond: criteria.Condition | None, kb: KnowledgeBase, depth: int = 0) -> set[str]:
    """The fields a condition reads (through definitions)."""
    out: set[str] = set()
    if cond is None or depth > 8:
        return out
    for node in criteria.walk(cond):
        match node:
            case criteria.Member(name) | criteria.Compare(name):
                out.add(name)
            case criteria.Flag(name):
                out.add(f"flag:{name}")
            case criteria.Ref(name):
                out |= leaf_fields(kb.vocabulary.definitions[name], kb, depth + 1)
    return out


def truth_of(kb: KnowledgeBase, known: Known, cond: criteria.Condition | None) -> Truth:
    """Three-valued truth of ``cond`` over ``known`` (for tests and callers)."""
    return Evaluator(kb, known).truth(cond)
