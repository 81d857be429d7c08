"""What a headline answers (part of the facts step): yes, no, "it depends", or a regimen.

A question asked for a yes or a no ("can I…", "is it safe…", "should I stop…") is answered
first with one, from the headline's content: an item's own ``stance`` (content data, for the
items whose kind would mislead: an information alert that says no source shows something is
not a "yes"), else the content team's reading of the item's kind (:func:`stance`).  The
stance is inverted when the question asks about a harm ("is that toxic?": a "yes, this is as
it should be" is a "no" to the harm).  A headline that holds only under an open condition, or
that has other branches, is "it depends".  A question that asks for a regimen in another form
("how often?", "what dose?") is answered by the regimen itself.  ``compose`` only lays out
what this decides.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from b12.core import criteria
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

if TYPE_CHECKING:
    from b12.core.answer.extract import Slots
    from b12.core.answer.selection import Fact, Selection

Stance = Literal["yes", "no", "depends", "unproven"]
#: Forms answered first with yes, no or "it depends" ("is it safe …", "should I stop …").
STANCE_FORMS = ("yesno", "is_safe", "should_stop")
#: The fields of an order (what is asked for), not its timing.
ORDER_FIELDS = frozenset(
    {"order.dose_ug", "order.interval_days", "order_route", "order_drug", "order_kind"}
)
#: Alert severities that mean "not as asked" for a yes/no question.
CONCERN = frozenset({"warning", "stop"})
#: Advice effects that mean "not as it is" (reduce, stop, switch, reload).
CHANGE_CODES = frozenset(
    {"CONSIDER_REDUCE_OR_STOP", "ESCALATE_OR_SWITCH_TO_IM", "NEURO_RELOAD", "SHORTEN_INTERVAL"}
)

#: Alert codes that say a result is no reason to change course ("a high level on treatment
#: is expected"): a proposed change they answer is a no.
HOLD_CODES = frozenset({"HIGH_B12_ON_TREATMENT"})


def stance(rec: Recommendation) -> Stance:
    """Yes or no to "is what the question asks about appropriate?" for the headline's kind.

    A caution (warning or stop alert), a decision that gives no regimen, advice to change
    course, or a classification as not deficient says no; information, a treatment regimen,
    advice to carry on, monitoring and a confirmed deficiency say yes; an indeterminate result
    and a disagreement say "it depends".  This is the content team's reading of each kind
    (docs/answers.md), not a source's; an item's own ``stance`` (content) overrides it.
    """
    if rec.stance is not None:
        return rec.stance
    act = rec.action
    if isinstance(act, DisagreementAction):
        return "depends"
    if isinstance(act, AlertAction):
        return "no" if act.severity in CONCERN else "yes"
    if isinstance(act, DecisionAction):
        return "yes" if act.outcome == "plan" and act.regimen else "no"
    if isinstance(act, AdviceAction):
        return "no" if act.code in CHANGE_CODES else "yes"
    if isinstance(act, ClassifyAction):
        if act.deficiency == "confirmed":
            return "yes"
        return "no" if act.deficiency == "not_deficient" else "depends"
    if isinstance(act, MonitorAction):
        return "yes"
    return "depends"


def states_regimen(slots: Slots, sel: Selection) -> bool:
    """A question that asks for a regimen in a form other than yes/no ("how often?", "what
    dose?") is answered by the regimen first: "If <its condition>: <regimen>", with the other
    branches below (never "it depends" with nothing concrete before it)."""
    return slots.form != "yesno" and sel.asks_regimen and sel.regimen is not None


def answers(slots: Slots, sel: Selection, head: Fact, route: str | None = None) -> Stance | None:
    """The stance the headline starts with, or ``None`` when the question's form takes none.

    ``route`` is the route of the regimen the headline gives: a question that proposes the
    other route ("is high-dose oral fine?" answered by injections) is answered no."""
    if states_regimen(slots, sel):
        return None  # the regimen asked for heads, its condition written out
    proposed = slots.route_preference
    other_route = route is not None and proposed in ("im", "oral") and _kind(route) != proposed
    if (
        other_route
        and slots.form in STANCE_FORMS
        and all(_plans_nothing(b.rec) for b in sel.branches)
    ):
        # "shots, or is high-dose oral fine?" answered by injections, the other branches
        # planning no treatment at all (under 16): no branch gives what is proposed.
        return "no"
    if sel.depends and (head.otherwise or sel.branches):
        return "depends"  # an answer with branches says so, whatever the question's form
    if slots.form not in STANCE_FORMS:
        return None
    if head.condition or sel.branches:
        return "depends"
    if other_route:
        return "no"  # the regimen that answers is by the other route
    act = head.rec.action
    changed = _change_answer(slots, head.rec)
    if changed is not None:
        return changed
    value = stance(head.rec)
    if slots.asks_possible and head.rec.masks:
        return "yes"  # "B12 410 on nitrous oxide - could it still be B12?": it could
    if isinstance(act, ClassifyAction) and slots.asks_result_fine and value in ("yes", "no"):
        return "no" if value == "yes" else "yes"  # "450, is that ok?": normal is a yes
    if value in ("depends", "unproven") or not slots.asks_harm:
        return value
    return "no" if value == "yes" else "yes"


def _change_answer(slots: Slots, rec: Recommendation) -> Stance | None:
    """What a headline answers to a proposed change of course (a new interval, stopping) or
    to a question a warning answers, where its kind alone would mislead."""
    act = rec.action
    proposes = slots.proposes_change or (slots.proposes_stop and act_stops(act))
    if isinstance(act, AdviceAction) and act.code in CHANGE_CODES and proposes:
        # "every 2 months instead?" answered by "shorten the interval"; "can it be stopped
        # once the PPI is deprescribed?" by "think about reducing or stopping"
        return "yes"
    held = isinstance(act, AlertAction) and act.code in HOLD_CODES
    if held and (slots.proposes_change or slots.proposes_stop):
        return "no"  # "B12 1500 - drop her to 6-monthly?": the level is no reason to
    warned = _warning_answer(slots, rec)
    if warned is not None:
        return warned
    if slots.proposes_stop and _continues(rec):
        # "can I come off my jabs?" answered by "treatment continues for life": no (and "is
        # it dangerous to stop?" is a yes).
        return "yes" if slots.fears_stopping else "no"
    return None


#: Change advice that allows stopping.
STOP_CODES = frozenset({"CONSIDER_REDUCE_OR_STOP"})


def act_stops(act: object) -> bool:
    """``act`` is advice that allows stopping treatment."""
    return isinstance(act, AdviceAction) and act.code in STOP_CODES


def _plans_nothing(rec: Recommendation) -> bool:
    """``rec`` is a decision that plans no treatment (no regimen)."""
    act = rec.action
    return isinstance(act, DecisionAction) and not act.regimen


def _continues(rec: Recommendation) -> bool:
    """``rec`` keeps treatment going: advice that is not to change course, or a decision
    that plans treatment."""
    act = rec.action
    if isinstance(act, AdviceAction):
        return act.code not in CHANGE_CODES
    return isinstance(act, DecisionAction) and act.outcome == "plan"


def _warning_answer(slots: Slots, rec: Recommendation) -> Stance | None:
    """What a warning or stop that heads answers, where its kind alone would mislead."""
    act = rec.action
    if not isinstance(act, AlertAction) or act.severity not in CONCERN:
        return None
    if (
        slots.replaced_route is not None
        and _warns_of_route(rec, slots.replaced_route)
        and set(slots.routes) & set(act.safer_routes)
    ):
        # "deep subQ instead of IM?" answered by a warning about IM that names deep
        # subcutaneous injection as the safer route (content: ``safer_routes``).
        return "yes"
    if rec.stance is None and rec.depends_on and slots.replaced_route is None:
        # "can the nurse still give the jab in her arm?" on an anticoagulant: the warning
        # allows it with precautions; whether it is safe depends on what it names.
        return "depends"
    if slots.doubts_current and _on_the_order(rec):
        # "every 3/12 - shouldn't that be 2 monthly?" answered by a warning on that interval:
        # the doubt is right.
        return "yes"
    if rec.stance is None and _on_the_order(rec):
        # "reduce to 6 monthly?" answered by a warning on the interval asked for: the change
        # asked about is what the warning is against, whatever words of harm it uses.
        return "no"
    return None


def _warns_of_route(rec: Recommendation, route: str) -> bool:
    """``rec``'s condition asks for the treatment to be by ``route`` (the warning is about
    that route, so moving away from it is what it advises)."""
    if rec.when is None:
        return False
    return any(
        isinstance(node, criteria.Member) and node.field == "regimen_route" and route in node.values
        for node in criteria.walk(rec.when)
    )


def _on_the_order(rec: Recommendation) -> bool:
    """``rec``'s condition reads the dose, interval, route or product asked about (the
    order), so the warning is about the proposal itself."""
    if rec.when is None:
        return False
    return any(
        isinstance(node, criteria.Member | criteria.Compare) and node.field in ORDER_FIELDS
        for node in criteria.walk(rec.when)
    )


def _kind(route: str) -> str:
    """Injection or mouth, of a regimen's route."""
    return "oral" if route == "oral" else "im"


def decide(slots: Slots, sel: Selection, kb: KnowledgeBase) -> None:
    """Record on ``sel`` what its headline answers (``sel.answers``, ``sel.states_regimen``)."""
    if sel.headline is None:
        return
    sel.states_regimen = states_regimen(slots, sel)
    act = sel.headline.rec.action
    regimen = (
        kb.regimens.get(act.regimen) if isinstance(act, DecisionAction) and act.regimen else None
    )
    route = regimen.route if regimen is not None else None
    sel.answers = answers(slots, sel, sel.headline, route)
