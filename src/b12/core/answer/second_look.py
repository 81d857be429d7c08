"""The second look of the facts step: what the question is about may be a true alert or an
order check rather than the headline the decision or retrieval chose.

A mixin of the selector (``select.py``): each ``answer_with_…`` replaces the headline with
the item the question asks about, when that item holds for what the question says, and keeps
the previous headline in the algorithm section.  :func:`second_look` runs them in order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from b12.core import criteria
from b12.core.answer.extract import Slots
from b12.core.answer.facts import UNSOURCED_ROUTES, Evaluator, Phrases, leaf_fields
from b12.core.answer.models import SectionKey
from b12.core.answer.retrieve import AnswerIndex, Hit
from b12.core.answer.selection import SECTION_ORDER, Fact, Selection
from b12.core.knowledge import (
    AdviceAction,
    AlertAction,
    ClassifyAction,
    DecisionAction,
    DisagreementAction,
    KnowledgeBase,
    MonitorAction,
    Recommendation,
)

#: A true alert within this share of the best score answers a yes/no question about a decision.
CAUTION_SHARE = 0.6
#: How many of the best matches a safety question's population item is looked for in.
SAFETY_LOOK = 3
#: The named condition of neurological involvement (``vocabulary.yaml`` definitions).
NEURO_DEF = "neuro_involvement"
#: An item that leads retrieval by this factor over the headline's score leads clearly.
DOMINANT_MARGIN = 1.5
#: Share of the best score a true statement needs to displace an open best match.
DISPLACE_SHARE = 0.8
#: How many of the best matches ``prefer_plan_alert`` looks at.
PLAN_TWIN_LOOK = 3
#: Picture fields of an order: an alert that reads one of them checks the order.
ORDER_LEAVES = frozenset(
    {"order.dose_ug", "order.interval_days", "order_route", "order_drug", "order_kind"}
)


def is_caution(rec: Recommendation) -> bool:
    """A warning or a stop, or follow-up advice: what a yes/no question about doing
    something can be answered by."""
    act = rec.action
    return isinstance(act, AdviceAction) or (
        isinstance(act, AlertAction) and act.severity in ("warning", "stop")
    )


def stated_and_measured(slots: Slots) -> bool:
    """The question states a status in words and also gives a result."""
    stated = slots.deficiency is not None and not slots.deficiency_generic
    return stated and bool(slots.labs or slots.word_results)


def requires_timing(cond: criteria.Condition | None) -> bool:
    """``cond`` asks for the order's timing to be one of some values (not merely excludes it):
    the early- and late-dose checks."""
    match cond:
        case criteria.Member("order_timing", _):
            return True
        case criteria.All(parts) | criteria.AnyOf(parts):
            return any(requires_timing(p) for p in parts)
    return False


#: How far down the retrieved items an alert on a route with no sourced regimen is looked for.
UNSOURCED_LOOK = 3
#: How far down the retrieved items the alert about a medicine asked about is looked for.
MEDICINE_LOOK = 3
#: How far down the retrieved items a warning on a named condition is looked for.
CONDITION_LOOK = 3
#: How far down the retrieved items an alert on a result read as normal is looked for.
RESULT_ALERT_LOOK = 3


def _continues_course(rec: Recommendation) -> bool:
    """``rec`` is the decision to carry the current treatment on: no regimen of its own, and
    it holds because a treatment is under way."""
    act = rec.action
    carries_on = isinstance(act, DecisionAction) and act.outcome == "plan" and not act.regimen
    return carries_on and rec.when == criteria.Ref("on_b12_treatment")


def _on_unsourced_route(rec: Recommendation) -> bool:
    """``rec``'s condition asks for an order by a route no source gives a regimen for."""
    if rec.when is None:
        return False
    return any(
        isinstance(node, criteria.Member)
        and node.field == "order_route"
        and set(node.values) <= UNSOURCED_ROUTES
        for node in criteria.walk(rec.when)
    )


class SecondLook:
    """The second-look steps of the selector (``select._Selector`` provides these names)."""

    kb: KnowledgeBase
    index: AnswerIndex
    slots: Slots
    hits: Sequence[Hit]
    matched: list[Hit]
    guideline: str
    ev: Evaluator
    phrases: Phrases

    def score(self, rec_id: str) -> float:
        raise NotImplementedError

    def about(self, rec: Recommendation) -> bool:
        raise NotImplementedError

    def asks_regimen(self) -> bool:
        raise NotImplementedError

    def result_classifier(self) -> Recommendation | None:
        raise NotImplementedError

    def _usable(self, rec: Recommendation) -> bool:
        raise NotImplementedError

    def _points_to(self, rec: Recommendation, *, results_only: bool = False) -> bool:
        raise NotImplementedError

    def _heads(
        self,
        sel: Selection,
        rec: Recommendation,
        *,
        keep: bool = True,
        into: SectionKey = "algorithm",
        unplace: bool = True,
        clear_depends: bool = True,
        clear_branches: bool = False,
        condition: str | None = None,
    ) -> None:
        """``rec`` heads the answer (under ``condition`` when it is open); the previous
        headline follows in ``into`` (``keep``)."""
        head = sel.headline
        if unplace:
            for key in SECTION_ORDER:
                sel.placed[key] = [f for f in sel.placed[key] if f.rec.id != rec.id]
        if keep and head is not None:
            sel.placed[into].insert(0, head)
        sel.headline = Fact(rec, condition) if condition else Fact(rec)
        if clear_depends:
            sel.depends = []
        if clear_branches:
            sel.branches = []
        sel.seen.add(rec.id)

    def answer_with_caution(
        self,
        sel: Selection,
        *,
        outranks: bool = False,
        margin: float = 1.0,
        share: float = CAUTION_SHARE,
    ) -> None:
        """A yes/no question about a decision is answered by the true alert it asks about.

        ("hyperthyroid and deficient, dose adjustment?"): an alert or advice that holds and that
        retrieval ranks within ``CAUTION_SHARE`` of the best heads; the decision stays, in the
        algorithm section, with its regimen.  For any other question (``outranks``) such an
        alert heads only when retrieval ranks it above the decision (``margin`` times the
        decision's score and within ``share`` of the best, for a question that asks for a
        decision, and resting on a result it gives: "B12 1800 on monthly shots, should we
        space them out?") and it rests on a population or a result the question gives
        ("hyperthyroidism and b12 dose").
        """
        head = sel.headline
        if head is None or not isinstance(head.rec.action, DecisionAction) or not self.hits:
            return
        best = self.hits[0].score
        # The catch-all decision ("no deficiency: nothing to plan") says least of all: a true
        # alert on what the question gives need not outrank it, only be near the best match.
        bar = 0.0 if head.rec.when is None else margin * self.score(head.rec.id)
        floor = max(share * best, bar) if outranks else 0.0
        for hit in self.matched:
            rec = self.kb.recommendations[hit.id]
            if hit.score < CAUTION_SHARE * best or rec.id == head.rec.id:
                continue
            # For a decision question (``margin`` above 1) an alert resting only on a
            # population must be a warning or a stop ("dementia on tablets": adherence), not
            # information ("metformin lowers B12").
            # (and one that does not rest on the deficiency status the decision itself reads).
            on_status = "deficiency" in leaf_fields(rec.when, self.kb)
            # A decision retrieval did not find at all ("metformin 8 yrs - check B12? stop
            # the metformin?") is not what the question is about: information on the
            # population it names may answer.
            # (Not for a question about preventing deficiency: the prophylaxis decision
            # answers that.)
            unasked = self.score(head.rec.id) == 0.0 and not (
                self.slots.deficiency == "at_risk" and not self.slots.screening
            )
            results_only = margin > 1.0 and not unasked and (not is_caution(rec) or on_status)
            if outranks and (
                hit.score <= floor or not self._points_to(rec, results_only=results_only)
            ):
                continue
            if not isinstance(rec.action, AlertAction | AdviceAction) or not self.about(rec):
                continue
            if not outranks and not is_caution(rec) and not (unasked and hit == self.hits[0]):
                continue  # information ("metformin lowers B12") does not answer "treat?"
            if self.ev.truth(rec.when) is True:
                self._heads(sel, rec)
                return

    def answer_with_do_not_wait(self, sel: Selection) -> None:
        """ "Hold the first dose until the MMA is back?" with neurological features: a caution
        on neurological involvement that holds (treat now, do not wait for results) answers
        it, whatever headed; the decision stays, with its regimen."""
        head = sel.headline
        if not self.slots.asks_wait or not self.slots.neuro or head is None:
            return
        if is_caution(head.rec) and _on_neuro(head.rec):
            return
        ranked = [self.kb.recommendations[h.id] for h in self.matched]
        for rec in ranked:
            if not (isinstance(rec.action, AlertAction) and is_caution(rec) and _on_neuro(rec)):
                continue
            truth = self.ev.truth(rec.when)
            if truth is True:
                self._heads(sel, rec)
                return
            if truth is None and self.ev.fields(rec.when) == {"age"}:
                # Open only on the adult gate (no age given): offered under it.
                text = self.phrases.explain(rec.when)
                if text:
                    self._heads(sel, rec, condition=text)
                    return

    def answer_with_population_safety(self, sel: Selection) -> None:
        """A safety question ("should we avoid cyanocobalamin on dialysis?") headed by a
        treatment decision is answered by an item about the population it names that holds,
        when retrieval ranks that item near the top: the regimen stays in the algorithm."""
        head = sel.headline
        if self.slots.intent != "safety" or head is None or not self.hits:
            return
        if not (self.slots.formulations or self.slots.proposed_product):
            return  # about a treatment named ("is cyanocobalamin safe …?"), not whether to treat
        act = head.rec.action
        if not isinstance(act, DecisionAction) or head.rec.id in self.index.population_recs:
            return
        for hit in self.matched[:SAFETY_LOOK]:
            rec = self.kb.recommendations[hit.id]
            if (
                rec.id != head.rec.id
                and not isinstance(rec.action, DecisionAction)
                and rec.id in self.index.population_recs
                and self.about(rec)
                and self.ev.truth(rec.when) is True
            ):
                self._heads(sel, rec)
                return

    def answer_with_monitoring(self, sel: Selection) -> None:
        """A question about checks ("how often should we recheck the level on monthly
        shots?") headed by a treatment decision is answered by a monitoring item or a
        disagreement about monitoring that holds, near the top of retrieval."""
        head = sel.headline
        if self.slots.intent != "monitoring" or head is None or not self.hits:
            return
        if not isinstance(head.rec.action, DecisionAction):
            return
        for hit in self.matched[:SAFETY_LOOK]:
            rec = self.kb.recommendations[hit.id]
            if (
                rec.id != head.rec.id
                and isinstance(rec.action, MonitorAction | DisagreementAction)
                and self.ev.truth(rec.when) is True
            ):
                self._heads(sel, rec)
                return

    def answer_with_result_warning(self, sel: Selection) -> None:
        """A question that asks whether to go ahead with a decision ("Hb 52, plts 35 - start
        the injections in surgery?") is answered by a warning or stop that holds because of a
        result the question gives and the decision does not read (the blood count, the
        potassium), when retrieval finds it: it is what stands in the way.  An alert open only
        on the adult gate heads under that condition."""
        head = sel.headline
        if head is None or not isinstance(head.rec.action, DecisionAction) or not self.hits:
            return
        given = {f"labs.{name}" for name in (*self.slots.labs, *self.slots.word_results)}
        own = leaf_fields(head.rec.when, self.kb) | {"labs.serum_b12_ng_l"}
        best = self.hits[0].score
        for hit in self.matched:
            rec = self.kb.recommendations[hit.id]
            act = rec.action
            if hit.score < CAUTION_SHARE * best or rec.id == head.rec.id:
                continue
            if not isinstance(act, AlertAction) or act.severity not in ("warning", "stop"):
                continue
            if not (leaf_fields(rec.when, self.kb) & (given - own)):
                continue
            truth = self.ev.truth(rec.when)
            if truth is True:
                self._heads(sel, rec)
                return
            if truth is None and self.ev.fields(rec.when) <= {"age"}:
                fact = Fact(rec, self.phrases.explain(rec.when))
                if fact.condition:
                    self._heads(sel, rec)
                    sel.headline = fact
                    return

    def answer_with_top_caution(self, sel: Selection) -> None:
        """A question whose results are read ("Hb 58, b12 <50 - start in the community or
        seen today?") but whose best match, by a clear margin, is a warning or stop that
        holds for it: the caution heads, the reading follows in the algorithm section."""
        head = sel.headline
        if head is None or not self.hits:
            return
        top = self.hits[0]
        rec = self.kb.recommendations[top.id]
        act = rec.action
        if rec.id == head.rec.id or not isinstance(act, AlertAction) or not self._usable(rec):
            return
        if act.severity not in ("warning", "stop") or not self.about(rec):
            return
        if top.score < DOMINANT_MARGIN * self.score(head.rec.id):
            return
        if self.ev.truth(rec.when) is True:
            self._heads(sel, rec, clear_depends=False)

    def _true_alert(
        self, head: Fact, look: int, accept: Callable[[Recommendation], bool]
    ) -> Recommendation | None:
        """The first alert among the best ``look`` retrieved items, other than the headline,
        that ``accept`` takes and that holds for the question."""
        for hit in self.matched[:look]:
            rec = self.kb.recommendations[hit.id]
            if rec.id == head.rec.id or not isinstance(rec.action, AlertAction):
                continue
            if self._usable(rec) and accept(rec) and self.ev.truth(rec.when) is True:
                return rec
        return None

    def answer_with_unsourced_route(self, sel: Selection) -> None:
        """ "swap her cyano IM for the nasal spray - how do we convert the dose?": a route no
        source gives a regimen for is answered by the alert that says so (when it holds and
        retrieval ranks it near the top), not by a regimen by another route."""
        head = sel.headline
        if head is None or not set(self.slots.routes) & UNSOURCED_ROUTES:
            return
        found = self._true_alert(head, UNSOURCED_LOOK, _on_unsourced_route)
        if found is not None:
            self._heads(sel, found, clear_branches=True)

    def answer_with_condition_warning(self, sel: Selection) -> None:
        """ "Hives and wheeze after her last jab - what about ongoing treatment?": a decision
        that carries treatment on gives way to a warning or stop that holds because of a
        condition the question names (and the decision does not read), when retrieval ranks
        it near the top."""
        head = sel.headline
        if head is None or not self.slots.conditions or not _continues_course(head.rec):
            return
        if "conditions" in leaf_fields(head.rec.when, self.kb):
            return
        found = self._true_alert(
            head,
            CONDITION_LOOK,
            lambda rec: is_caution(rec) and "conditions" in leaf_fields(rec.when, self.kb),
        )
        if found is not None:
            self._heads(sel, found, clear_branches=True)

    def answer_with_alert_over_normal(self, sel: Selection) -> None:
        """ "Not on supplements, B12 1200 - what does that mean?": a result read as "not
        deficient" gives way to the alert that rests on that same result (a high level to
        look into), when retrieval ranks it near the top; the reading follows."""
        head = sel.headline
        if head is None or not self.slots.labs:
            return
        act = head.rec.action
        if not isinstance(act, ClassifyAction) or act.deficiency != "not_deficient":
            return
        given = {f"labs.{name}" for name in self.slots.labs}
        found = self._true_alert(
            head, RESULT_ALERT_LOOK, lambda rec: bool(leaf_fields(rec.when, self.kb) & given)
        )
        if found is not None:
            self._heads(sel, found)

    def answer_with_medicine_asked(self, sel: Selection) -> None:
        """ "B12 160 on metformin for years - should we stop the metformin?": the alert about
        the medicine asked about answers (when it holds and retrieval ranks it near the
        top); the regimen follows."""
        head = sel.headline
        if head is None or not self.slots.asks_medicine:
            return
        found = self._true_alert(
            head, MEDICINE_LOOK, lambda rec: "medications" in leaf_fields(rec.when, self.kb)
        )
        if found is not None:
            self._heads(sel, found, clear_branches=True)

    def answer_with_reason_for_change(self, sel: Selection) -> None:
        """ "B12 >2000 on her jabs - should we drop her to 6-monthly?": a change proposed
        because of a result is answered by the alert that rests on that result, when
        retrieval ranks it first and it holds; the previous headline follows."""
        slots, head = self.slots, sel.headline
        if head is None or not self.hits or not slots.labs:
            return
        if not (slots.proposes_change or slots.asks_harm):
            return
        rec = self.kb.recommendations[self.hits[0].id]
        if rec.id == head.rec.id or not isinstance(rec.action, AlertAction):
            return
        given = {f"labs.{name}" for name in slots.labs}
        if not self._usable(rec) or not leaf_fields(rec.when, self.kb) & given:
            return
        if self.ev.truth(rec.when) is True:
            self._heads(sel, rec, clear_branches=True)

    def prefer_plan_alert(self, sel: Selection) -> None:
        """An order-only alert heads a question about a product for a patient ("is
        cyanocobalamin OK in LHON?") only when the question tells an order (a dose, a route
        or an interval); otherwise a true plan alert retrieved near it heads (the plan's
        warning about the patient, of which the order alert is the order check's copy)."""
        head, slots = sel.headline, self.slots
        if head is None or slots.dose_ug or slots.interval_days or slots.folic:
            return  # an order is told (a B12 dose or interval, or folic acid); a route alone
            # ("cyanocobalamin shots in LHON?") names the product's form, not an order
        act = head.rec.action
        if not isinstance(act, AlertAction) or act.contexts != ("order",):
            return
        for hit in self.matched[:PLAN_TWIN_LOOK]:
            rec = self.kb.recommendations[hit.id]
            ract = rec.action
            if rec.id == head.rec.id or not isinstance(ract, AlertAction):
                continue
            plan_warning = "plan" in ract.contexts and ract.severity in ("warning", "stop")
            if plan_warning and self.ev.truth(rec.when) is True:
                self._heads(sel, rec, into="pitfalls", unplace=False, clear_depends=False)
                return

    def answer_with_order_check(self, sel: Selection) -> None:
        """A question that describes a B12 or folic acid order with a dose, a route or an
        interval ("Rx hydroxocobalamin 1 mg IV every 3 months - ok?", "script says 100
        micrograms IM monthly") is answered first by what the order check says of it: the
        warning or stop that holds for the order, best retrieved first; the previous
        headline follows in the algorithm section."""
        slots, head = self.slots, sel.headline
        # Folic acid with no B12 ("folic acid now, B12 later", "ok to give folic acid?").
        named_b12 = bool(slots.formulations or slots.routes or slots.dose_ug)
        folic_alone = slots.folic and (
            slots.b12_cover is False or (slots.b12_cover is None and not named_b12)
        )
        if head is None or not (
            slots.dose_ug or slots.interval_days or slots.routes or folic_alone
        ):
            return
        if slots.describes_course or (
            self.asks_regimen() and slots.dose_ug is None and not folic_alone
        ):
            return  # follow-up advice answers a course; a regimen question, the regimen
        if not (slots.formulations or slots.folic or slots.dose_ug or slots.order_timing):
            return  # a route alone ("injections") is not an order; a jab given early is
        act = head.rec.action
        if (
            isinstance(act, AlertAction)
            and act.severity in ("warning", "stop")
            and "order" in act.contexts
        ):
            return  # already the order check's own warning
        found = [
            rec
            for rec in self.kb.usable("others", self.guideline, False)
            if isinstance(rec.action, AlertAction)
            and "order" in rec.action.contexts
            and rec.action.severity in ("warning", "stop")
            and (leaf_fields(rec.when, self.kb) & ORDER_LEAVES or requires_timing(rec.when))
            and self.ev.truth(rec.when) is True
        ]
        if not found:
            return
        found.sort(key=lambda r: (-self.score(r.id), r.id))
        self._heads(sel, found[0], clear_branches=True)

    def answer_with_dominant_alert(self, sel: Selection) -> None:
        """A dose question about a population ("hyperthyroidism and b12 dose") whose best
        match, by a clear margin, is a true alert on that population: the alert heads (it is
        what b12 says about the dose for them); the decision follows with its regimen."""
        head = sel.headline
        if head is None or not isinstance(head.rec.action, DecisionAction) or len(self.hits) < 2:
            return
        top, second = self.hits[0], self.hits[1]
        rec = self.kb.recommendations[top.id]
        if top.score < DOMINANT_MARGIN * second.score or rec.id == head.rec.id:
            return
        if not isinstance(rec.action, AlertAction) or rec.id not in self.index.population_recs:
            return
        if self.ev.truth(rec.when) is True and self.about(rec):
            self._heads(sel, rec)

    def answer_with_conflict(self, sel: Selection) -> None:
        """A stated status that a result given in the question refines or contradicts ("status
        entered as not deficient but serum B12 is 120"): the true alert that says so, when
        retrieved, heads; the previous headline follows in the algorithm section."""
        head = sel.headline
        reading = self.result_classifier()
        measured = (
            reading.action.deficiency
            if reading and isinstance(reading.action, ClassifyAction)
            else None
        )
        if head is None or measured in (None, self.slots.deficiency):
            return  # the result agrees with the stated status (or says nothing on its own)
        # The alerts on the stated status are the question's own facts: retrieved ones first,
        # then, for a stated suspicion (kept against a normal result), a warning that holds
        # although not retrieved.
        retrieved = [self.kb.recommendations[h.id] for h in self.matched]
        pool = self.kb.usable("others", self.guideline, False)
        others = [
            r
            for r in (pool if self.slots.deficiency == "suspected" else ())
            if r.id not in {x.id for x in retrieved}
            and isinstance(r.action, AlertAction)
            and r.action.severity in ("warning", "stop")
        ]
        for rec in [*retrieved, *others]:
            if rec.id == head.rec.id or not isinstance(rec.action, AlertAction):
                continue
            if "stated_deficiency" not in leaf_fields(rec.when, self.kb):
                continue
            if self.ev.truth(rec.when) is True:
                # A stated suspicion is kept against a normal result (as ``plan`` does): the
                # result's reading ("deficiency unlikely") is then not stated as a fact.
                kept = self.slots.deficiency == "suspected"
                self._heads(
                    sel, rec, keep=not (kept and isinstance(head.rec.action, ClassifyAction))
                )
                return


def _on_neuro(rec: Recommendation) -> bool:
    """``rec``'s condition names neurological involvement."""
    return rec.when is not None and any(
        isinstance(node, criteria.Ref) and node.name == NEURO_DEF
        for node in criteria.walk(rec.when)
    )


def second_look(sel_: SecondLook, sel: Selection, slots: Slots) -> None:
    """What the question is about may be a true alert rather than the headline chosen: the
    caution a yes/no question asks about, an alert that outranks the decision, the dominant
    alert of a dose question, or the conflict between a stated status and a result."""
    if slots.form == "yesno" and not (slots.decision_question or slots.regimen_question):
        sel_.answer_with_caution(sel)
    elif not slots.regimen_question:
        # "should we space them out?" with a result or population given: a true alert on
        # what the question gives that retrieval ranks above the decision (clearly, when the
        # question asks for a decision) answers it.
        if slots.decision_question:
            sel_.answer_with_caution(
                sel, outranks=True, margin=DOMINANT_MARGIN, share=DISPLACE_SHARE
            )
            sel_.answer_with_result_warning(sel)
        else:
            sel_.answer_with_caution(sel, outranks=True)
    elif slots.form == "how_much":
        sel_.answer_with_dominant_alert(sel)
    asks_action = (
        slots.decision_question
        or slots.regimen_question
        or slots.form == "what_check"
        or slots.intent == "monitoring"
    )
    if stated_and_measured(slots) and not asks_action:
        sel_.answer_with_conflict(sel)
    if slots.asks_precaution:
        # "K+ 3.1, about to give the first dose - anything to do first?"
        sel_.answer_with_result_warning(sel)
    sel_.answer_with_order_check(sel)
    sel_.prefer_plan_alert(sel)
    sel_.answer_with_do_not_wait(sel)
    sel_.answer_with_population_safety(sel)
    sel_.answer_with_monitoring(sel)
    sel_.answer_with_reason_for_change(sel)
    sel_.answer_with_unsourced_route(sel)
    sel_.answer_with_medicine_asked(sel)
    sel_.answer_with_condition_warning(sel)
