"""Compose: lay out what the facts step selected (step 6; no clinical decision is made here).

Input is a :class:`~b12.core.answer.facts.Selection`: the headline (a fact or a statement under
an open condition), the other branches of an "it depends" headline, and the section items.
This module only writes them out:

* **texts** — each statement is its recommendation's ``clinician_text`` / ``patient_text`` (or a
  regimen phase's text, or one side of a disagreement).  A statement under an open condition
  is written "If <condition>: <text>", the condition in ``answering.yaml`` words; a patient
  text that states its condition as a fact ("Because you have …, you will …") keeps it as a
  condition ("If you have …, you will …").
* **the headline's form** — a yes/no question starts with "Yes.", "No." or "It depends on …"
  (``answer_words``), as ``stance.py`` decided in the facts step.
* **disagreements** — a disagreement headline names each side and its sources.
* **references** — only the sources the answer uses, each source once (its locators joined),
  primary sources (guideline, label, formulary, regulator, trial, systematic review) before
  summaries, then in order of first use; a statement whose citations are all secondary
  summaries, or that rests on the content team's judgement, says so.
* **related questions** — the canonical questions of the answer's other items and of the
  retrieved recommendations that are not false for the question.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from b12.core.answer.extract import Slots
from b12.core.answer.models import (
    Answer,
    AnswerItem,
    AnswerSection,
    Basis,
    Headline,
    LabValue,
    Parameters,
    SectionKey,
    Topic,
)
from b12.core.answer.normalise import Normalised, fold
from b12.core.answer.retrieve import Hit
from b12.core.answer.select import MAX_MATCHED
from b12.core.answer.selection import SECTION_ORDER, Fact, Selection
from b12.core.citing import review_fields_of
from b12.core.knowledge import (
    Citation,
    DecisionAction,
    DisagreementAction,
    KnowledgeBase,
    Recommendation,
)
from b12.core.plan_models import ReferenceOut

MAX_RELATED = 5
MAX_TOPICS = 3
#: Source kinds that are primary (listed before summaries in the references).
PRIMARY_KINDS = frozenset(
    {"guideline", "label", "formulary", "regulator", "trial", "systematic-review"}
)
#: Source kinds that are the content team's own judgement.
TEAM_KINDS = frozenset({"content-team"})
_BECAUSE = re.compile(r"^Because (?P<cond>[^,]+), (?P<rest>.+)$", re.DOTALL)


# -- references ---------------------------------------------------------------------------------


class References:
    """Sources used by the answer: one number per source, primary before summaries."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.order: list[str] = []
        self.locators: dict[str, list[str]] = {}
        self.verified: dict[str, bool] = {}

    def add(self, citations: Iterable[Citation]) -> tuple[str, ...]:
        out: list[str] = []
        for cit in citations:
            if cit.source not in self.locators:
                self.order.append(cit.source)
                self.locators[cit.source] = []
                self.verified[cit.source] = False
            if cit.locator not in self.locators[cit.source]:
                self.locators[cit.source].append(cit.locator)
            self.verified[cit.source] |= cit.verification == "verified"
            if cit.source not in out:
                out.append(cit.source)
        return tuple(out)

    def basis(self, citations: Sequence[Citation], rec: Recommendation | None) -> Basis | None:
        kinds = [self.kb.sources[c.source].kind for c in citations]
        if (rec is not None and rec.evidence == "expert-opinion") or (
            kinds and all(k in TEAM_KINDS for k in kinds)
        ):
            return "content_team"
        if citations and all(
            c.verification == "secondary" or self.kb.sources[c.source].kind not in PRIMARY_KINDS
            for c in citations
        ):
            return "secondary"
        return None

    def numbering(self) -> dict[str, int]:
        ranked = sorted(
            self.order,
            key=lambda s: (self.kb.sources[s].kind not in PRIMARY_KINDS, self.order.index(s)),
        )
        return {s: i + 1 for i, s in enumerate(ranked)}

    def references(self, numbers: dict[str, int]) -> tuple[ReferenceOut, ...]:
        out = []
        for source_id, n in sorted(numbers.items(), key=lambda kv: kv[1]):
            src = self.kb.sources[source_id]
            out.append(
                ReferenceOut(
                    n=n,
                    source_id=src.id,
                    citation=src.citation,
                    locator="; ".join(self.locators[source_id]),
                    evidence=src.evidence,
                    verification="verified" if self.verified[source_id] else "secondary",
                )
            )
        return tuple(out)


# -- texts --------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Line:
    """A statement before its references are numbered."""

    text: str
    sources: tuple[str, ...]
    rec: str
    applies_if: str | None = None
    basis: Basis | None = None


@dataclass(slots=True)
class _Writer:
    kb: KnowledgeBase
    audience: str
    refs: References
    texts: set[str] = field(default_factory=set)

    @property
    def patient(self) -> bool:
        return self.audience == "patient"

    @property
    def words(self) -> dict[str, str]:
        return self.kb.answering.answer_words.get(self.audience, {})

    def text(self, rec: Recommendation) -> str:
        return rec.patient_text if self.patient else rec.clinician_text

    def conditional(self, text: str, condition: str | None, otherwise: bool = False) -> str:
        """``text`` under ``condition`` ("If …: text"); a "Because X, Y" text becomes "If X, Y".

        The default side of an "it depends" answer reads "Otherwise: text"."""
        if condition is None:
            return text
        if otherwise:
            return f"{self.words.get('otherwise', 'Otherwise:')} {text}"
        because = _BECAUSE.match(text)
        lead = self.words.get("if", "If {what}").format(what=condition)
        if because:
            return f"{lead}, {because.group('rest')}"
        return f"{lead}: {text}"

    def line(
        self,
        text: str,
        citations: Sequence[Citation],
        rec: Recommendation,
        condition: str | None = None,
        otherwise: bool = False,
    ) -> _Line | None:
        full = self.conditional(text, condition, otherwise)
        key = " ".join(full.split())
        if not key or key in self.texts:
            return None
        self.texts.add(key)
        return _Line(
            text=full,
            sources=self.refs.add(citations),
            rec=rec.id,
            applies_if=condition,
            basis=self.refs.basis(citations, rec),
        )

    def fact_lines(self, fact: Fact) -> list[_Line]:
        rec = fact.rec
        out = [self.line(self.text(rec), rec.citations, rec, fact.condition, fact.otherwise)]
        act = rec.action
        if isinstance(act, DisagreementAction) and not self.patient:
            for pos in act.positions:
                out.append(self.line(pos.says, pos.citations, rec, fact.condition, fact.otherwise))
        return [i for i in out if i is not None]

    def regimen_lines(self, fact: Fact, regimen_id: str) -> list[_Line]:
        regimen = self.kb.regimens.get(regimen_id)
        if regimen is None:
            return []
        cites = fact.rec.citations + regimen.citations
        out = [
            self.line(
                p.patient_text if self.patient else p.text,
                cites,
                fact.rec,
                fact.condition,
                fact.otherwise,
            )
            for p in regimen.phases
        ]
        return [i for i in out if i is not None]

    def alternative_lines(self, fact: Fact) -> list[_Line]:
        decision = fact.rec
        act = decision.action
        if self.patient or fact.condition or not isinstance(act, DecisionAction):
            return []
        out: list[_Line] = []
        for alt in act.alternatives:
            target = self.kb.pathways.get(alt.pathway)
            if target is None or target.status != "approved":
                continue
            if not set(target.jurisdiction) & set(decision.jurisdiction):
                continue
            tact = target.action
            title = tact.pathway_title if isinstance(tact, DecisionAction) else target.title
            made = self.line(f"{title}: {alt.why_not}", decision.citations, decision)
            if made is not None:
                out.append(made)
        return out

    def sides(self, rec: Recommendation) -> str:
        """A disagreement's sides, each with its sources ("A says … [NICE] B says … [FDA]")."""
        act = rec.action
        assert isinstance(act, DisagreementAction)
        side = self.words.get("side", "{says} [{sources}]")
        parts = []
        for pos in act.positions:
            self.refs.add(pos.citations)
            names = ", ".join(
                dict.fromkeys(self.kb.sources[c.source].publisher for c in pos.citations)
            )
            parts.append(side.format(says=pos.says.rstrip("."), sources=names))
        return self.words.get("sides", "Sources disagree: {sides}").format(sides="; ".join(parts))


# -- the headline ----------------------------------------------------------------------------


def _headline_text(w: _Writer, sel: Selection, head: Fact) -> str:
    words = w.words
    answers = sel.answers
    if sel.states_regimen:
        return w.conditional(w.text(head.rec), head.condition)
    parts: list[str] = []
    if answers in ("yes", "no", "unproven"):
        parts.append(words.get(answers, answers.capitalize() + "."))
    elif answers == "depends" and sel.depends:
        joined = words.get("or_whether", ", or whether ").join(sel.depends)
        parts.append(words.get("depends", "It depends on whether {what}.").format(what=joined))
    elif answers == "depends" and head.condition:
        parts.append(
            words.get("depends", "It depends on whether {what}.").format(what=head.condition)
        )
    elif answers == "depends" and head.rec.depends_on:
        what = head.rec.depends_on.get(w.audience) or head.rec.depends_on["clinician"]
        parts.append(words.get("depends", "It depends on whether {what}.").format(what=what))
    elif answers == "depends":
        parts.append(words.get("depends_source", "It depends on the source."))
    # "Otherwise: …" follows an "It depends on whether …" lead; after a yes or a no the
    # default side is written under its own condition ("No. If the patient is 16 or over: …").
    otherwise = head.otherwise and answers not in ("yes", "no", "unproven")
    parts.append(w.conditional(w.text(head.rec), head.condition, otherwise))
    if isinstance(head.rec.action, DisagreementAction):
        parts.append(w.sides(head.rec))
    return " ".join(parts)


# -- the answer ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Request:
    """One question with everything the pipeline worked out before composing."""

    question: str
    audience: Literal["clinician", "patient"]
    guideline: Literal["uk", "us"]
    norm: Normalised
    slots: Slots
    hits: tuple[Hit, ...]


def parameters(slots: Slots, sel: Selection | None) -> Parameters:
    """The slots as they appear in the answer."""
    serum = LabValue(value=slots.serum_b12[0], unit=slots.serum_b12[1]) if slots.serum_b12 else None
    return Parameters(
        intent=slots.intent,
        neuro=slots.neuro,
        populations=tuple(slots.populations),
        route=slots.route,
        routes=tuple(slots.routes),
        formulations=tuple(slots.formulations),
        interval_days=slots.interval_days,
        serum_b12=serum,
        labs=dict(sorted(slots.labs.items())),
        age=slots.age,
        sex=slots.sex,
        deficiency=slots.deficiency,
        route_preference=slots.route_preference,
        audience_cue=slots.audience_cue,
        guideline_cue=slots.guideline_cue,
        describes_patient=slots.describes_patient,
        picture=sel.picture if sel else None,
        assumed=(),
        form=slots.form,
        depends_on=tuple(sel.depends) if sel else (),
    )


def _disclaimer(kb: KnowledgeBase, audience: str) -> str:
    answering, vocab = kb.answering, kb.vocabulary
    if audience == "patient":
        return answering.patient_disclaimer or vocab.patient_disclaimer
    return answering.disclaimer or vocab.disclaimer


def nearest_topics(kb: KnowledgeBase, hits: Sequence[Hit], guideline: str) -> tuple[Topic, ...]:
    """The closest covered topics: the best matches, else the guideline set's treatment pathways."""
    ids = [h.id for h in hits[:MAX_TOPICS]]
    if len(ids) < MAX_TOPICS:
        for rec in kb.usable("decisions", guideline, False):
            act = rec.action
            if isinstance(act, DecisionAction) and act.regimen and rec.id not in ids:
                ids.append(rec.id)
            if len(ids) >= MAX_TOPICS:
                break
    out = []
    for rid in ids:
        rec = kb.recommendations[rid]
        out.append(
            Topic(id=rid, title=rec.title, question=rec.questions[0] if rec.questions else None)
        )
    return tuple(out)


def no_answer(kb: KnowledgeBase, req: Request) -> Answer:
    """The honest "not covered" answer with the nearest covered topics."""
    answering = kb.answering
    patient = req.audience == "patient"
    return Answer(
        question=req.question,
        status="no_answer",
        audience=req.audience,
        guideline=req.guideline,
        headline=None,
        message=answering.patient_no_answer_text if patient else answering.no_answer_text,
        framing=None,
        sections=(),
        references=(),
        related_questions=(),
        related_questions_title=answering.related_questions_title,
        nearest_topics=nearest_topics(kb, req.hits, req.guideline),
        nearest_topics_title=answering.nearest_topics_title,
        review_status="approved",
        **review_fields_of(kb, req.guideline, ()),
        content_version=kb.content_version,
        normaliser_version=req.norm.version,
        disclaimer=_disclaimer(kb, req.audience),
        matched=tuple(h.id for h in req.hits[: MAX_MATCHED + 1]),
        parameters=parameters(req.slots, None),
        normalised=req.norm.text,
    )


def _related(kb: KnowledgeBase, question: str, sel: Selection) -> tuple[str, ...]:
    """Canonical questions of the answer's other items (the question's own facts first)."""
    asked = " ".join(fold(question).split()).rstrip("?")
    skip = sel.headline.rec.id if sel.headline else None
    out: list[str] = []
    seen: set[str] = set()
    for fact in sel.used():
        rid = fact.rec.id
        if rid == skip or rid in seen:
            continue
        seen.add(rid)
        for q in fact.rec.questions:
            key = " ".join(fold(q).split()).rstrip("?")
            if key != asked and q not in out:
                out.append(q)
                break
        if len(out) >= MAX_RELATED:
            break
    return tuple(out)


def _sections(w: _Writer, sel: Selection) -> dict[SectionKey, list[_Line]]:
    head = sel.headline
    assert head is not None
    lines: dict[SectionKey, list[_Line]] = {k: [] for k in SECTION_ORDER}
    if sel.regimen:
        lines["algorithm"].extend(w.regimen_lines(sel.decision or head, sel.regimen))
    for branch in sel.branches:
        lines["algorithm"].extend(w.fact_lines(branch))
    for key in SECTION_ORDER:
        if key == "alternatives":
            lines[key].extend(w.alternative_lines(sel.decision or head))
        for fact in sel.placed[key]:
            lines[key].extend(w.fact_lines(fact))
    return lines


def _not_covered(w: _Writer, sel: Selection) -> str | None:
    """Names the parts of a question with several that the knowledge base does not cover."""
    if not sel.uncovered:
        return None
    text = w.words.get("part_not_covered", "Not covered: {what}.")
    return text.format(what="; ".join(f"\u201c{p}\u201d" for p in sel.uncovered))


def _item(line: _Line, numbers: dict[str, int]) -> AnswerItem:
    return AnswerItem(
        text=line.text,
        refs=tuple(numbers[s] for s in line.sources),
        recs=(line.rec,),
        applies_if=line.applies_if,
        basis=line.basis,
    )


def compose(kb: KnowledgeBase, req: Request, sel: Selection) -> Answer:
    """The answer for an in-scope question (``no_answer`` when nothing can head it)."""
    head = sel.headline
    if head is None:
        return no_answer(kb, req)
    w = _Writer(kb, req.audience, References(kb))
    head_sources = w.refs.add(head.rec.citations)
    text = _headline_text(w, sel, head)
    answers = sel.answers
    head_basis = w.refs.basis(head.rec.citations, head.rec)
    w.texts.add(" ".join(w.conditional(w.text(head.rec), head.condition, head.otherwise).split()))
    lines = _sections(w, sel)
    numbers = w.refs.numbering()
    not_covered = _not_covered(w, sel)
    headline = Headline(
        text=f"{text} {not_covered}" if not_covered else text,
        refs=tuple(numbers[s] for s in head_sources),
        recs=(head.rec.id,),
        pathway=sel.pathway if sel.named else None,
        regimen=sel.regimen if sel.named else None,
        applies_if=head.condition,
        answers="no" if answers == "unproven" else answers,
        basis=head_basis,
    )
    titles = kb.answering.section_titles[req.audience]
    sections = tuple(
        AnswerSection(key=k, title=titles[k], items=tuple(_item(x, numbers) for x in lines[k]))
        for k in SECTION_ORDER
        if lines[k]
    )
    used = [head.rec, *(kb.recommendations[x.rec] for k in SECTION_ORDER for x in lines[k])]
    pending = any(r.status != "approved" for r in used) or (
        sel.regimen is not None and kb.regimens[sel.regimen].status != "approved"
    )
    answering = kb.answering
    return Answer(
        question=req.question,
        status="answered",
        audience=req.audience,
        guideline=req.guideline,
        headline=headline,
        message=not_covered,
        framing=answering.patient_framing if req.audience == "patient" else None,
        sections=sections,
        references=w.refs.references(numbers),
        related_questions=_related(kb, req.question, sel),
        related_questions_title=answering.related_questions_title,
        review_status="pending_review" if pending else "approved",
        **review_fields_of(
            kb, req.guideline, [*used, *([kb.regimens[sel.regimen]] if sel.regimen else [])]
        ),
        content_version=kb.content_version,
        normaliser_version=req.norm.version,
        disclaimer=_disclaimer(kb, req.audience),
        matched=tuple(dict.fromkeys([head.rec.id, *(h.id for h in req.hits[:MAX_MATCHED])])),
        parameters=parameters(req.slots, sel),
        normalised=req.norm.text,
    )
