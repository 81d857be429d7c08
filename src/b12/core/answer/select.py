"""Select: what the answer says, from the facts of the question (step 5, second half).

What may appear follows from the three-valued facts (``facts.py``):

* **true** — the content is stated as a fact about the question;
* **unknown** — the content may appear only as a *conditional* ("If there is neurological
  involvement: …"), with its open condition written out; content whose open condition cannot
  be written out, or that is open only on a treatment the answer does not describe, is left out;
* **false** — never shown.

The headline: for a treatment question the decisions are taken in priority order as ``plan``
takes them (what is not said read as absent); earlier decisions that are *unknown* and that the
question points to (retrieved for it, or about neurological involvement) become the other
branches of an "it depends on …" headline ("Otherwise: …").  A course told in the question is
headed by the follow-up advice that holds for it, a result by its classification; otherwise the
best retrieved recommendation that is not false heads (a true one preferred to an open one, and
among true ones the one resting on more of the question's own facts).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Any

from b12.core import criteria
from b12.core.answer.extract import Slots
from b12.core.answer.facts import (
    PICTURE_DRUGS,
    PLAN_ONLY,
    Evaluator,
    Known,
    Phrases,
    causes_of,
    known_facts,
    leaf_fields,
    products,
)
from b12.core.answer.models import SectionKey
from b12.core.answer.retrieve import AnswerIndex, Hit
from b12.core.answer.second_look import (
    DISPLACE_SHARE,
    SecondLook,
    second_look,
    stated_and_measured,
)
from b12.core.answer.selection import SECTION_ORDER, Fact, Selection
from b12.core.answer.stance import decide
from b12.core.errors import InputError
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
from b12.core.picture import parse_picture
from b12.core.plan import CLINICAL_SUSPICION, TREATABLE, plan, safer

#: Matched recommendations considered besides the headline: at most this many …
MAX_MATCHED = 6
#: … each scoring at least this share of the best score.
RELATIVE_SCORE = 0.45
#: True recommendations within this share of the best score compete for the headline …
PREFER_SHARE = 0.6
#: How many of the best matches a comparing question looks at for a disagreement.
COMPARE_LOOK = 2
#: At most this many other branches of an "it depends" headline.
MAX_BRANCHES = 2
#: A generic regimen question keeps the decision headline while the decision scores at least
#: this share of the best match.
GENERIC_MIN_SHARE = 0.15
#: Decision outcomes after which nothing else applies (b12 stops there).
STOP_OUTCOMES = frozenset({"out_of_scope", "refer"})
#: ``plan()`` needs a date; no date from it reaches the answer.
REFERENCE_DAY = date(2000, 1, 3)
FIELDS_FROM_PROBLEM = ("labs.", "preferences.")


def section_for(rec: Recommendation, index: AnswerIndex) -> SectionKey:
    act = rec.action
    if isinstance(act, DisagreementAction):
        return "alternatives"
    if isinstance(act, MonitorAction):
        return "monitoring"
    if rec.id in index.population_recs:
        return "special_populations"
    if isinstance(act, AlertAction):
        return "pitfalls"
    return "algorithm"


#: Open fields that leave an item about the question: the adult gate and the planned treatment.
GATE_ONLY = frozenset({"age", "regimen_route", "regimen_drug"})
#: How deep definitions may nest (as ``facts.leaf_fields`` reads them).
MAX_DEF_DEPTH = 8


def _stems(text: str) -> list[str]:
    """Snowball English stems of the words of ``text`` (as retrieval terms are)."""
    import Stemmer  # type: ignore[import-not-found]

    words = [w for w in re.split(r"[^a-z0-9']+", text.lower()) if w]
    out: list[str] = Stemmer.Stemmer("english").stemWords(words)
    return out


def _matched(hits: Sequence[Hit]) -> list[Hit]:
    if not hits:
        return []
    floor = hits[0].score * RELATIVE_SCORE
    return [h for h in hits[: MAX_MATCHED + 1] if h.score >= floor]


def _deficiency(
    slots: Slots, kb: KnowledgeBase, guideline: str
) -> tuple[tuple[bool, str | None], Recommendation | None]:
    """The deficiency status, worked out as ``plan`` does (:func:`b12.core.plan._classify`).

    The safer of the stated status and what a result says (a stated status is never silently
    replaced); then neurological features with a reason to suspect deficiency make a status
    that would not be treated ``suspected`` (a normal result never overrules them).  The
    classifier is returned when the result's status is the one used.
    """
    stated = slots.deficiency
    ev = Evaluator(kb, known_facts(slots, kb, guideline))
    lab: str | None = None
    classifier: Recommendation | None = None
    for rec in kb.usable("classifiers", guideline, False):
        if ev.truth(rec.when) is True:
            assert isinstance(rec.action, ClassifyAction)
            lab, classifier = rec.action.deficiency, rec
            break
    status = safer(stated, lab)
    # A result told only in words ("low B12") sets the status but is not a result to show
    # classified, unless the question asks what it means (``result_classifier``).
    used = classifier if lab is not None and status == lab and slots.labs else None
    suspicion = criteria.Ref(CLINICAL_SUSPICION)
    if status not in TREATABLE and ev.truth(suspicion) is True:
        status, used = "suspected", None
    if status is not None:
        return (True, status), used
    return ((True, None) if slots.status_unknown else (False, None)), None


def _asks_diagnosis(slots: Slots) -> bool:
    """The question asks whether a result means deficiency ("b12 170 - confirmed?").

    A result told only in words ("low B12") is the question's subject only when the question
    asks what it means ("confirms it?"), not whenever it mentions a result."""
    if slots.regimen_question or slots.decision_question:
        return False
    if not slots.labs:
        return slots.asks_deficiency
    return slots.intent == "diagnosis" or (slots.form == "yesno" and slots.asks_deficiency)


def _reads_together(reading: Recommendation, slots: Slots, kb: KnowledgeBase) -> bool:
    """The question asks whether two or more results it gives mean deficiency, even with
    what to do ("B12 230, MMA 620 - confirms it enough to start?"): their reading together
    answers both."""
    given = {f"labs.{name}" for name in slots.labs}
    return slots.asks_deficiency and len(leaf_fields(reading.when, kb) & given) >= 2


def _regimen_of(rec: Recommendation) -> str | None:
    act = rec.action
    return act.regimen if isinstance(act, DecisionAction) and act.outcome == "plan" else None


def _neuro_decision(rec: Recommendation) -> bool:
    return rec.when is not None and any(
        isinstance(n, criteria.Ref) and n.name == "neuro_involvement"
        for n in criteria.walk(rec.when)
    )


class _Selector(SecondLook):
    def __init__(
        self,
        kb: KnowledgeBase,
        index: AnswerIndex,
        slots: Slots,
        hits: Sequence[Hit],
        guideline: str,
        audience: str,
        terms: Sequence[str] = (),
    ) -> None:
        self.kb, self.index, self.slots, self.hits = kb, index, slots, hits
        self.terms = tuple(terms)
        self.guideline, self.audience = guideline, audience
        self.deficiency, self.classifier = _deficiency(slots, kb, guideline)
        self.matched = [h for h in _matched(hits) if self._usable(kb.recommendations[h.id])]
        self.set_decision(None)
        self.masked = self._masked()
        if self.classifier is not None and self.classifier.id in self.masked:
            self.classifier = None

    def _masked(self) -> frozenset[str]:
        """Items that an item which holds makes misleading (content: ``masks``): "deficiency
        unlikely" beside "nitrous oxide: a normal B12 does not rule it out" or beside
        lifelong prevention after a total gastrectomy."""
        out: set[str] = set()
        for rec in self.kb.recommendations.values():
            if rec.masks and self._usable(rec) and self.ev.truth(rec.when) is True:
                out.update(rec.masks)
        return frozenset(out)

    def result_alerts(self, *, named: bool = False) -> list[Fact]:
        """Alerts that hold because of a result the question gives ("B12 2000 on injections");
        with ``named``, also warnings and stops that hold because of a condition or medicine
        it names ("hives after the last shot - ok to give the next?")."""
        given = {f"labs.{name}" for name in self.slots.labs}
        names = {"conditions"} if self.slots.conditions else set()
        names |= {"medications"} if self.slots.medications else set()
        if not given and not (named and names):
            return []
        out = []
        for rec in self.kb.usable("others", self.guideline, False):
            act = rec.action
            if not isinstance(act, AlertAction) or not self._usable(rec):
                continue
            fields = leaf_fields(rec.when, self.kb)
            rests = bool(fields & given) or (
                named and act.severity in ("warning", "stop") and bool(fields & names)
            )
            if rests and self.ev.truth(rec.when) is True:
                out.append(Fact(rec))
        return out

    def result_classifier(self) -> Recommendation | None:
        """The classification a stated result gets, even when a status is also stated."""
        if not self.slots.labs and not self.slots.word_results:
            return None
        for rec in self.kb.usable("classifiers", self.guideline, False):
            if self.ev.truth(rec.when) is True:
                return None if rec.id in self.masked else rec
        return None

    def set_decision(self, decision: Recommendation | None) -> None:
        known = known_facts(self.slots, self.kb, self.guideline, decision, self.deficiency)
        self.ev = Evaluator(self.kb, known)
        self.phrases = Phrases(self.kb, self.ev, self.audience)

    def use_known(self, known: Known) -> None:
        """Evaluate with ``known`` (the facts another selection settled on)."""
        self.ev = Evaluator(self.kb, known)
        self.phrases = Phrases(self.kb, self.ev, self.audience)

    def _usable(self, rec: Recommendation) -> bool:
        return rec.status == "approved" and self.guideline in rec.jurisdiction

    def fact(self, rec: Recommendation) -> Fact | None:
        """``rec`` as a fact, as a conditional, or ``None`` when it is false or unwritable.

        A decision is also judged by its place in the priority order: the catch-all (no
        condition) holds only when every decision before it is false.
        """
        if rec.id in getattr(self, "masked", ()):
            return None  # an alert that holds makes it misleading (``masks``)
        if isinstance(rec.action, DecisionAction) and self._taken_before(rec):
            return None  # plan takes an earlier decision that holds
        if rec.when is None and isinstance(rec.action, DecisionAction):
            relevant = {h.id for h in self.matched}
            before = [
                r
                for r in self.kb.usable("decisions", self.guideline, False)
                if r.id != rec.id and (r.id in relevant or _neuro_decision(r))
            ]
            return Fact(rec) if all(self.ev.truth(r.when) is False for r in before) else None
        t = self.ev.truth(rec.when)
        if t is True:
            return Fact(rec)
        if t is False:
            return None
        open_fields = self.ev.fields(rec.when)
        if "age" in open_fields and len(open_fields) > 1:
            # The adult gate is written out only when it is all that is open: an alert whose
            # own topic is also unknown is too far from the question to offer.
            return None
        text = self.phrases.explain(rec.when)
        return Fact(rec, text) if text else None

    def stop_decision(self) -> Recommendation | None:
        """The first decision (in ``plan``'s order) that holds, when it stops there: out of
        scope or a referral."""
        for rec in self.kb.usable("decisions", self.guideline, False):
            if rec.when is not None and self.ev.truth(rec.when) is True:
                act = rec.action
                stops = isinstance(act, DecisionAction) and act.outcome in STOP_OUTCOMES
                return rec if stops else None
        return None

    def _taken_before(self, rec: Recommendation) -> bool:
        """A decision earlier in the priority order holds, so ``plan`` never reaches ``rec``."""
        for earlier in self.kb.usable("decisions", self.guideline, False):
            if earlier.id == rec.id:
                return False
            if earlier.when is not None and self.ev.truth(earlier.when) is True:
                return True
        return False

    def specificity(self, rec: Recommendation) -> int:
        """How many of the question's own facts a true condition rests on (course events and
        order facts count double: they are what a follow-up or order question is about)."""
        fields = self._stated_fields(rec.when)
        weight = 0
        for name in fields:
            if name in criteria.COURSE_FIELDS or name in criteria.ORDER_FIELDS:
                weight += 2
            elif name not in ("guideline", "pathway", "regimen_drug", "regimen_route"):
                weight += 1
        return weight

    def _stated_fields(self, cond: criteria.Condition | None, depth: int = 0) -> set[str]:
        """The fields of the leaves of ``cond`` whose truth the question settles ("B12 over
        350 or active B12 over 70" rests on one fact when only the total B12 is told)."""
        out: set[str] = set()
        if cond is None or depth > MAX_DEF_DEPTH:
            return out
        for node in criteria.walk(cond):
            match node:
                case criteria.Member(name) | criteria.Compare(name):
                    if self.ev.truth(node) is not None:
                        out.add(name)
                case criteria.Flag(name):
                    if self.ev.truth(node) is not None:
                        out.add(f"flag:{name}")
                case criteria.Ref(name):
                    out |= self._stated_fields(self.kb.vocabulary.definitions[name], depth + 1)
        return out

    def score(self, rec_id: str) -> float:
        return next((h.score for h in self.hits if h.id == rec_id), 0.0)

    # -- which path ------------------------------------------------------------------------

    def decides(self) -> bool:
        recs = self.kb.recommendations
        top = recs[self.hits[0].id] if self.hits else None
        if top is None:
            return True
        top_decides = isinstance(top.action, DecisionAction)
        slots = self.slots
        if slots.describes_course:
            return False  # follow-up advice answers a course told in the question
        if slots.compares and not slots.regimen_question:
            return False  # "the label says 100 mcg, we give 1000 - which is right?"
        if slots.asks_next_dose:
            return True  # "when is the next dose?": the decision that dates it (carry on)
        kinds = self.form_kinds()
        if any(recs[h.id].action.type in kinds for h in self.matched):
            return False  # "what to check?": the content of that kind answers it
        asks_amount = slots.form in ("how_often", "how_much") and slots.intent != "monitoring"
        if slots.describes_patient and (slots.screening or asks_amount):
            return True
        if any(f not in PICTURE_DRUGS for f in slots.formulations) and not top_decides:
            return False
        if not slots.describes_patient:
            return top_decides or slots.regimen_question
        return slots.regimen_question or slots.decision_question or top_decides

    # -- the decision path -----------------------------------------------------------------

    def decision_headline(self, sel: Selection) -> bool:
        """The decision ``plan`` would take, with the earlier decisions the question leaves open.

        ``plan`` reads what is not said as absent; that choice is the answer *otherwise*.  An
        earlier decision whose condition is open and that the question points to (retrieved for
        it, or about neurological involvement) is another branch: "It depends on whether …".
        """
        chosen, branches = self._choose(self.ev.known.facts, with_regimen=False)
        hypo: Phrases | None = None
        if self.asks_regimen() and self._no_regimen(chosen):
            # "What dose / how often?": the regimen, under the condition it needs.
            known = self._regimen_facts()
            alt, alt_branches = self._choose(known.facts, with_regimen=True)
            if alt is not None and self.ev.truth(alt.when) is not False:
                chosen, branches = alt, alt_branches
                hypo = Phrases(self.kb, Evaluator(self.kb, known), self.audience)
        if chosen is None or self.ev.truth(chosen.when) is False:
            return False
        if (
            self.ev.truth(chosen.when) is None
            and not self.slots.describes_patient
            and not self.asks_regimen()
        ):
            return False  # no patient described: the retrieved content answers, conditionally
        forms = self.kb.answering.question_reading.regimen_forms
        asks_form = self.slots.regimen_question and (
            self.slots.form in forms or self.slots.form == "when"
        )
        if self.hits and not self.slots.describes_patient and not asks_form:
            top = self.kb.recommendations[self.hits[0].id]
            share = self.score(chosen.id) / self.hits[0].score if self.hits[0].score else 0.0
            if not isinstance(top.action, DecisionAction) and share < GENERIC_MIN_SHARE:
                return False
        self._decision(sel, chosen, branches[:MAX_BRANCHES], hypo)
        return True

    def _no_regimen(self, chosen: Recommendation | None) -> bool:
        """The decision gives no regimen to a regimen question: none holds, it is open, or
        (for a question that asks for a dose, an interval or a regimen outright) it says to
        carry on with the current treatment.  A referral or an out-of-scope decision that
        holds is kept ("under 16" answers a dose question for a child), and so is carrying on
        for "when is the next dose?"."""
        if chosen is None:
            return True
        if _regimen_of(chosen):
            return False
        act = chosen.action
        carry_on = isinstance(act, DecisionAction) and act.outcome == "plan"
        if self.ev.truth(chosen.when) is not True:
            return True
        return carry_on and self.slots.regimen_question

    def asks_regimen(self) -> bool:
        return self.slots.regimen_question or self.slots.intent == "regimen"

    def _choose(
        self, facts: criteria.Facts, *, with_regimen: bool
    ) -> tuple[Recommendation | None, list[Recommendation]]:
        """The first decision that holds for ``facts`` (read as ``plan`` reads them), and the
        earlier ones left open that the question points to (retrieved, or neurological).

        ``with_regimen`` considers only decisions that give a regimen (a regimen question)."""
        relevant = {h.id for h in self.matched}
        branches: list[Recommendation] = []
        for rec in self.kb.usable("decisions", self.guideline, False):
            if with_regimen and not _regimen_of(rec):
                continue
            if rec.when is None or criteria.evaluate(rec.when, facts, self.kb.param, self.ev.defs):
                return rec, branches
            if self.ev.truth(rec.when) is None and (rec.id in relevant or _neuro_decision(rec)):
                branches.append(rec)
        return None, branches

    def _regimen_facts(self) -> Known:
        """The question's facts with a confirmed deficiency when its status is open (or only
        suspected): the regimen is then given under that condition, never as a fact."""
        known, status = self.deficiency
        if known and status not in (None, "suspected"):
            return self.ev.known
        return known_facts(self.slots, self.kb, self.guideline, None, (True, "confirmed"))

    def _decision(
        self,
        sel: Selection,
        chosen: Recommendation,
        branches: list[Recommendation],
        hypo: Phrases | None = None,
    ) -> None:
        """Head with ``chosen``, the other ``branches`` as "If …" items.

        ``hypo`` writes the branches' negations when the regimen is given under a confirmed
        deficiency the question does not state (the head's own condition says so)."""
        sides: list[tuple[Recommendation, str, str]] = []
        for rec in branches:
            pos = self.phrases.explain(rec.when, True)
            neg = (hypo or self.phrases).explain(rec.when, False)
            if pos and neg:
                sides.append((rec, pos, neg))
        otherwise = False
        if self.ev.truth(chosen.when) is None:
            own = self.phrases.explain(chosen.when)
            condition = (
                self.phrases.join([own, *(neg for _, _, neg in sides)], "and") if own else None
            )
        elif sides:
            condition = self.phrases.join([neg for _, _, neg in sides], "and")
            otherwise = True
        else:
            condition = None
        options = [(rec, pos, False) for rec, pos, _ in sides] + [(chosen, condition, otherwise)]
        rec_head, head_condition, head_otherwise = options[-1]
        sel.headline = Fact(rec_head, head_condition, head_otherwise)
        sel.decision = sel.headline
        sel.branches = [Fact(r, c, o) for r, c, o in options if r.id != rec_head.id and c]
        if rec_head.id == chosen.id:
            sel.depends = [pos for _, pos, _ in sides] or (
                [head_condition] if head_condition and not head_otherwise else []
            )
        else:
            sel.depends = [head_condition] if head_condition else []
        sel.seen.update(r.id for r, _, _ in options)
        act = rec_head.action
        assert isinstance(act, DecisionAction)
        sel.pathway = act.pathway
        sel.regimen = act.regimen if act.outcome == "plan" else None
        if self.classifier is not None:
            sel.place("algorithm", Fact(self.classifier))
        self.set_decision(rec_head)
        if head_condition is None:
            self._place_true(sel)

    def _place_true(self, sel: Selection) -> None:
        """Every alert, monitoring item and disagreement that is true (what ``plan`` shows)."""
        for rec in self.kb.recommendations.values():
            if not self._usable(rec) or rec.id in sel.seen:
                continue
            if not isinstance(rec.action, AlertAction | MonitorAction | DisagreementAction):
                continue
            if self.ev.truth(rec.when) is True:
                sel.place(section_for(rec, self.index), Fact(rec))
        for key in SECTION_ORDER:
            sel.placed[key].sort(key=lambda f: (-self.score(f.rec.id), f.rec.id))

    # -- the retrieval path ----------------------------------------------------------------

    def retrieval_headline(self, sel: Selection) -> bool:
        if not self.hits:
            return False
        best = self.hits[0].score
        candidates = [(h, self.fact(self.kb.recommendations[h.id])) for h in self.matched]
        course: list[Fact] = []
        if self.slots.describes_course:
            # Follow-up advice that holds for the course the question tells heads it.
            advice = [
                (Hit(rec.id, best), Fact(rec))
                for rec in self.kb.usable("others", self.guideline, False)
                if isinstance(rec.action, AdviceAction) and self.ev.truth(rec.when) is True
            ]
            advice.sort(key=lambda hf: (-self.specificity(hf[1].rec), -self.score(hf[1].rec.id)))
            candidates = advice[:1] + candidates
            course = [f for _, f in advice[:1]]
        shown = [(h, f) for h, f in candidates if f is not None]
        if not shown:
            return False
        form_head = self.form_head(shown)
        if form_head is not None:
            course = [form_head, *course]
        # True statements near the best match compete by how many of the question's facts
        # they rest on; when the best match is itself open, only a close true one displaces it.
        share = PREFER_SHARE if shown[0][1].condition is None else DISPLACE_SHARE
        near = [
            f
            for h, f in shown
            if f.condition is None and h.score >= share * best and self.about(f.rec)
        ]
        first = shown[0][1]
        gated = first.condition is not None and self.ev.fields(first.rec.when) <= {"age"}
        if not near and not gated:
            # (a best match open only on the adult gate is as good as true: it stays first)
            near = self.result_alerts(named=True)
        act = first.rec.action
        warns = isinstance(act, AlertAction) and act.severity in ("warning", "stop")
        asks_reading = self.slots.intent == "diagnosis" or self.slots.asks_deficiency
        if gated and warns and not asks_reading:
            # Nor does the result's reading displace such a warning, unless the question asks
            # what the result means ("Hb 60, plt 25, confused - admit?").
            near = [f for f in near if not isinstance(f.rec.action, ClassifyAction)]
        # (a regimen question: of two equally specific true items, the one with a regimen)
        regimen = self.asks_regimen()
        near.sort(key=lambda f: (-self.specificity(f.rec), not (regimen and _regimen_of(f.rec))))
        near = course + near  # the follow-up advice for the told course heads
        on_topic = [
            f for _, f in shown if self.about(f.rec) and not self.unnamed_population(f)
        ] or [shown[0][1]]
        head = near[0] if near else on_topic[0]
        if self.slots.compares:
            # "why is it contraindicated in the US but not here?": the disagreement that
            # states both sides answers, when retrieval ranks it near the top.
            sides = [
                f
                for h, f in shown[:COMPARE_LOOK]
                if isinstance(f.rec.action, DisagreementAction) and h.score >= share * best
            ]
            head = sides[0] if sides else head
        if (
            head.condition is not None
            and self.classifier is not None
            and self.slots.intent not in ("monitoring", "safety")
            and not self.ev.fields(head.rec.when) <= GATE_ONLY
        ):
            # An open headline gives way to what the stated result means, unless the
            # question asks about checks or safety ("when should I be seen again?").  An item
            # open only on the adult gate or on the treatment still to be planned ("treatment
            # is not oral") is what the question is about, not a neighbour.
            head = Fact(self.classifier)
        sel.headline = head
        sel.seen.add(head.rec.id)
        act = head.rec.action
        if isinstance(act, DecisionAction):
            sel.decision = head
            sel.pathway = act.pathway
            given = head.condition is None or self.asks_regimen()  # asked for: under its condition
            sel.regimen = act.regimen if act.outcome == "plan" and given else None
        if head.condition is None:
            self._place_true(sel)
        return True

    def unnamed_population(self, fact: Fact) -> bool:
        """``fact`` is open only on conditions or medicines the question never names ("if the
        patient has Leber's disease" for "cyanocobalamin deep subq ok?"): a neighbour's
        answer, not the question's."""
        if fact.condition is None:
            return False
        when = fact.rec.when
        open_fields = self.ev.fields(when)
        if when is None or not open_fields or not open_fields <= {"conditions", "medications"}:
            return False
        vocab = {**self.kb.vocabulary.conditions, **self.kb.vocabulary.medications}
        asked = set(self.terms)
        for node in criteria.walk(when):
            if isinstance(node, criteria.Member) and node.field in ("conditions", "medications"):
                for code in node.values:
                    term = vocab.get(code)
                    words = [code, *(term.aliases if term else ()), term.label if term else ""]
                    if asked & set(_stems(" ".join(words).replace("_", " "))):
                        return False
        return True

    def about(self, rec: Recommendation) -> bool:
        """An alert or a check true only because of the population the question names (the
        gastric cancer alert, or the potassium check, for anyone with pernicious anaemia)
        answers only a question that uses a word of its own topic; any other item, always."""
        if not isinstance(rec.action, AlertAction | MonitorAction):
            return True
        if rec.id not in self.index.population_recs or not self.terms:
            return True
        return self.index.on_topic(rec.id, self.terms)

    def form_kinds(self) -> tuple[str, ...]:
        """The kinds of content that answer the question's form first (``form_heads``)."""
        heads = self.kb.answering.question_reading.form_heads
        if self.slots.form == "when" and self.slots.intent != "monitoring":
            return ()  # "when is the next dose?" asks for a date rule, not for a check
        if self.slots.form in ("how_often", "when") and self.slots.intent == "monitoring":
            return heads.get("what_check", ())  # "how often should I recheck it?"
        return heads.get(self.slots.form, ()) if self.slots.form else ()

    def form_head(self, shown: Sequence[tuple[Hit, Fact]]) -> Fact | None:
        """The best retrieved item of the kind the form asks for ("what to check?" → a
        monitoring item): a fact before one under its condition, each in retrieval order."""
        kinds = self.form_kinds()
        fits = [f for _, f in shown if f.rec.action.type in kinds]
        facts = [f for f in fits if f.condition is None]
        # Of those under a condition, one for everyone before one for a population the
        # question does not name ("review at 3 months" before "at 1 month in pregnancy").
        general = [f for f in fits if f.rec.id not in self.index.population_recs]
        best = facts or general or fits
        return best[0] if best else None

    def _points_to(self, rec: Recommendation, *, results_only: bool = False) -> bool:
        """``rec``'s condition rests on a population or a result the question gives (only a
        result, with ``results_only``)."""
        given = {f"labs.{name}" for name in (*self.slots.labs, *self.slots.word_results)}
        fields = leaf_fields(rec.when, self.kb)
        if results_only:
            return bool(fields & given)
        return rec.id in self.index.population_recs or bool(fields & given)

    # -- the rest --------------------------------------------------------------------------

    def cover(self, sel: Selection, part_hits: Sequence[Hit]) -> bool:
        """Answer one part of a question: its best usable match, if it is not false."""
        for hit in _matched(part_hits)[:2]:
            rec = self.kb.recommendations[hit.id]
            if not self._usable(rec):
                continue
            if rec.id in {f.rec.id for f in sel.used()}:
                return True
            found = self.fact(rec)
            if found is not None:
                sel.place(section_for(rec, self.index), found)
                return True
        return False

    def place_matched(self, sel: Selection) -> None:
        for hit in self.matched:
            rec = self.kb.recommendations[hit.id]
            if rec.id in sel.seen:
                continue
            if sel.pathway and isinstance(rec.action, DecisionAction):
                continue  # other pathways are explained by the decision's alternatives
            found = self.fact(rec)
            if found is None:
                continue
            if found.condition and self.ev.fields(rec.when) & PLAN_ONLY:
                continue  # open only on a treatment the answer does not describe
            sel.place(section_for(rec, self.index), found)


def select(
    kb: KnowledgeBase,
    index: AnswerIndex,
    slots: Slots,
    hits: Sequence[Hit],
    guideline: str,
    audience: str,
    parts: Sequence[tuple[str, Sequence[Hit]]] = (),
    terms: Sequence[str] = (),
) -> Selection:
    """Evaluate the facts of the question and choose what the answer says (module docstring).

    ``parts`` are the later parts of a question with several ("…? and …?"), each with its own
    retrieval: each is answered by its best match when that is not false for the question (a
    statement added to its section), or named in ``uncovered``.
    """
    sel = _select(kb, index, slots, hits, guideline, audience, terms)
    if sel.headline is not None and parts:
        sel_ = _Selector(kb, index, slots, hits, guideline, audience, terms)
        # The parts are read with exactly the facts the answer rests on (the headline
        # decision's, when it has one), so no part states what the rest leaves open.
        sel_.use_known(sel.known)
        for text, part_hits in parts:
            if not sel_.cover(sel, part_hits):
                sel.uncovered.append(text)
    decide(slots, sel, kb)
    return sel


def _select(
    kb: KnowledgeBase,
    index: AnswerIndex,
    slots: Slots,
    hits: Sequence[Hit],
    guideline: str,
    audience: str,
    terms: Sequence[str] = (),
) -> Selection:
    sel_ = _Selector(kb, index, slots, hits, guideline, audience, terms)
    sel = Selection(known=sel_.ev.known)
    reading = sel_.classifier or sel_.result_classifier()
    if reading is not None and (_asks_diagnosis(slots) or _reads_together(reading, slots, kb)):
        sel.headline = Fact(reading)
        sel.seen.add(reading.id)
        if stated_and_measured(slots):
            sel_.answer_with_conflict(sel)  # "recorded as confirmed but B12 600"
        elif not slots.asks_deficiency:
            sel_.answer_with_top_caution(sel)  # results read, but an action asked about
        sel_.answer_with_do_not_wait(sel)  # "wait for the MMA or treat now?" (neuro)
        sel_.answer_with_alert_over_normal(sel)  # "B12 1200, no supplements - meaning?"
        sel_._place_true(sel)
        sel_.place_matched(sel)
        sel.picture = picture(slots, kb, guideline, sel_.deficiency[1])
        return sel
    stop = sel_.stop_decision()
    if stop is not None:
        # A decision that holds and stops treatment here (under 16: out of scope; a referral)
        # heads whatever was retrieved: nothing else b12 says applies to this patient.
        sel.headline = sel.decision = Fact(stop)
        sel.seen.add(stop.id)
        act = stop.action
        assert isinstance(act, DecisionAction)
        sel.pathway = act.pathway
        sel_.set_decision(stop)
        sel_._place_true(sel)
        sel_.place_matched(sel)
        sel.known = sel_.ev.known
        sel.picture = picture(slots, kb, guideline, sel_.deficiency[1])
        _name_plan(sel, kb)
        return sel
    done = sel_.decides() and sel_.decision_headline(sel)
    if done:
        _catch_all_gives_way(sel_, sel, reading)
    head = sel.headline
    asks_regimen = slots.regimen_question or slots.intent == "regimen"
    if done and head is not None and head.condition and not head.otherwise and not asks_regimen:
        # A decision open on what the question does not say: a retrieved fact heads instead.
        other = Selection(known=sel_.ev.known)
        sel_.set_decision(None)
        top = hits[0].id if hits else None
        if (
            sel_.retrieval_headline(other)
            and other.headline is not None
            and (not other.headline.condition or other.headline.rec.id == top)
            and other.headline.rec.id != head.rec.id
        ):
            sel = other
        else:
            sel_.set_decision(head.rec)
    if not done:
        sel_.set_decision(None)
        done = sel_.retrieval_headline(sel) or sel_.decision_headline(sel)
    if done:
        second_look(sel_, sel, slots)
        _missing_data_gives_way(sel_, sel)
    if not done and sel_.classifier is not None:
        sel.headline = Fact(sel_.classifier)
        sel.seen.add(sel_.classifier.id)
        done = True
    if done:
        sel_.place_matched(sel)
    sel.known = sel_.ev.known
    sel.picture = picture(slots, kb, guideline, sel_.deficiency[1])
    sel.asks_regimen = sel_.asks_regimen()
    _name_plan(sel, kb)
    return sel


def _catch_all_gives_way(sel_: _Selector, sel: Selection, reading: Recommendation | None) -> None:
    """The catch-all decision ("no deficiency, nothing to plan") says least of all.

    What two or more results the question gives mean together ("borderline B12 with normal
    MMA: deficiency unlikely") heads instead; else a true alert on a result the question gives
    ("B12 1500, not on any B12"), even when retrieval missed it.  The decision follows.
    """
    head = sel.headline
    if head is None or head.rec.when is not None:
        return
    given = {f"labs.{n}" for n in sel_.slots.labs}
    if reading is not None and len(leaf_fields(reading.when, sel_.kb) & given) >= 2:
        sel.placed["algorithm"].insert(0, head)
        sel.headline = Fact(reading)
        sel.seen.add(reading.id)
        return
    alerts = [f for f in sel_.result_alerts() if f.rec.id not in sel.seen]
    if alerts:
        alerts.sort(key=lambda f: (-sel_.specificity(f.rec), -sel_.score(f.rec.id), f.rec.id))
        sel_._heads(sel, alerts[0].rec)


#: How many of the best matches a warning on a named medicine or condition is looked for in.
NAMED_WARNING_LOOK = 3


def _missing_data_gives_way(sel_: _Selector, sel: Selection) -> None:
    """ "Needs a status or a result", or a decision that plans no regimen ("carry on"), says
    nothing about what a question that names a medicine or condition asks ("on warfarin, due
    her b12 IM - can it go subQ?"): a warning on what it names, near the top of retrieval,
    heads (under the adult or treatment gate when that is all that is open); the decision
    follows."""
    head = sel.headline
    slots = sel_.slots
    if head is None or not (slots.medications or slots.conditions) or sel_.asks_regimen():
        return
    act = head.rec.action
    if not isinstance(act, DecisionAction) or (act.outcome != "needs_more_data" and act.regimen):
        return
    for hit in sel_.matched[:NAMED_WARNING_LOOK]:
        rec = sel_.kb.recommendations[hit.id]
        alert = rec.action
        if not isinstance(alert, AlertAction) or alert.severity not in ("warning", "stop"):
            continue
        if not sel_.about(rec):
            continue
        truth = sel_.ev.truth(rec.when)
        if truth is True:
            sel_._heads(sel, rec)
            return
        if truth is None and sel_.ev.fields(rec.when) <= GATE_ONLY:
            text = sel_.phrases.explain(rec.when)
            if text:
                sel_._heads(sel, rec, condition=text)
                return


def _name_plan(sel: Selection, kb: KnowledgeBase) -> None:
    """The headline names a pathway and regimen only when they are ``b12 plan``'s own choice.

    A headline that holds under an open condition names them only when the plan for the
    picture the question describes chooses the same (the plan reads what is not said as
    absent); with no picture, only a headline that is a fact names them.
    """
    head = sel.headline
    if head is None or sel.pathway is None or head is not sel.decision:
        return
    if sel.asks_regimen and sel.regimen is not None and head.condition is not None:
        sel.named = True  # the regimen asked for, under its stated condition (``applies_if``)
    elif sel.picture is not None:
        sel.named = planned(sel.picture, kb) == (sel.pathway, sel.regimen)
    else:
        sel.named = head.condition is None and not sel.branches


# -- the clinical picture (for b12 plan; nothing is assumed) -----------------------------------


def _drop(doc: dict[str, Any], path: str) -> None:
    """Remove the field a validation problem names (``labs.x``, ``conditions[0]``, …)."""
    head = path.split("[", 1)[0]
    if head.startswith(FIELDS_FROM_PROBLEM):
        group, _, name = head.partition(".")
        inner = doc.get(group)
        if isinstance(inner, dict):
            inner.pop(name.split(".", 1)[0], None)
            if not inner:
                doc.pop(group, None)
        return
    doc.pop(head.split(".", 1)[0], None)


def picture(
    slots: Slots, kb: KnowledgeBase, guideline: str, status: str | None = None
) -> dict[str, Any] | None:
    """The ClinicalPicture document the question describes, when it gives an age (else None).

    Only what the question says goes in: no age, deficiency status or treatment is assumed, so
    a question without an age has no picture (``b12 plan`` needs one).  A result told only in
    words ("her B12 came back low") has no value for the picture, so the status it gives
    (``status``, worked out as ``plan`` does) stands for it.
    """
    if slots.age is None or not slots.describes_patient:
        return None
    causes = causes_of(slots)
    drugs = products(slots)
    prefs = {"route": slots.route_preference, "drug": drugs[0] if len(drugs) == 1 else None}
    meds = set(slots.medications)
    if slots.on_treatment:
        meds.update(drugs or PICTURE_DRUGS[:1])
    fields: dict[str, Any] = {
        "age": slots.age,
        "sex": slots.sex,
        "pregnant": "pregnant" in slots.flags or None,
        "breastfeeding": "breastfeeding" in slots.flags or None,
        "deficiency": slots.deficiency or (status if slots.word_results else None),
        "cause": causes[0] if causes else None,
        "causes": causes[1:],
        "conditions": sorted(set(slots.conditions)),
        "medications": sorted(meds),
        "diet": slots.diet,
        "neuro_symptoms": [s for s in slots.neuro_symptoms if s in kb.vocabulary.neuro_symptoms]
        if slots.neuro
        else [],
        "ileal_resection_cm": slots.ileal_resection_cm,
        "labs": dict(sorted(slots.labs.items())),
        "preferences": {k: v for k, v in prefs.items() if v is not None},
        "guideline": guideline,
    }
    doc = {k: v for k, v in fields.items() if v is not None and v != [] and v != {}}
    for _ in range(8):
        try:
            parse_picture(doc, kb)
            return doc
        except InputError as err:
            if "age" in {p.field for p in err.problems}:
                return None
            for problem in err.problems:
                _drop(doc, problem.field)
    return None


def planned(doc: dict[str, Any], kb: KnowledgeBase) -> tuple[str, str | None]:
    """(pathway, regimen) of ``b12 plan`` for a picture document (used to check agreement)."""
    result = plan(parse_picture(doc, kb), kb, REFERENCE_DAY)
    return result.pathway.id, result.regimen.id if result.regimen else None
