"""The rule-based composer: the question's slots choose the headline; retrieval fills sections.

Rules, in order:

1. **A question that describes a patient** (age, sex, a population or cause, neurological
   status, a lab value, a stated deficiency status, or current treatment) gets a clinical
   picture built from its slots, and ``plan()`` is run on it.  When the question asks what to
   do (intent ``regimen`` or none), or the best-matching recommendation is itself a decision,
   the **plan's deciding recommendation is the headline** and its regimen is the plan's regimen
   — so the answer always agrees with ``b12 plan`` for that picture.  When the picture does not
   say whether deficiency is present and the plan therefore asks for more data, deficiency is
   assumed confirmed (a treatment question presupposes it) and the assumption is listed in
   ``parameters.assumed``; so is the age (an adult) when none is given.
2. Otherwise the **best-matching recommendation** is the headline.

Sections, each item one recommendation's text (``patient_text`` for patients):

* **algorithm** — the headline regimen's phases, the reasons the plan gives (for example the
  classification of a B12 result), and matching classification, decision and follow-up items;
* **special populations** — items whose conditions name a population (a cause, condition,
  medication, diet, pregnancy, age, resected length or kidney function);
* **monitoring** — monitoring items (the plan's, then matching ones);
* **pitfalls** — other alerts (the plan's, then matching ones);
* **alternatives** — pathways the decision considered and why not (clinicians), and
  disagreements between sources, each side cited.

A matching item is one of the best ``MAX_MATCHED`` retrieved recommendations scoring at least
``RELATIVE_SCORE`` of the best score.  With a picture, matched decisions for other pathways are
left out (the plan's alternatives explain them).  References are numbered in order of first use,
headline first.  Related questions are the knowledge base's canonical questions of the other
items in the answer and of the other matched recommendations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from b12.core.answer.extract import Slots
from b12.core.answer.models import (
    Answer,
    AnswerItem,
    AnswerSection,
    Headline,
    LabValue,
    Parameters,
    SectionKey,
    Topic,
)
from b12.core.answer.normalise import Normalised, fold
from b12.core.answer.retrieve import AnswerIndex, Hit
from b12.core.citing import ReferenceBook
from b12.core.errors import InputError
from b12.core.knowledge import (
    AlertAction,
    Citation,
    DecisionAction,
    DisagreementAction,
    KnowledgeBase,
    MonitorAction,
    Recommendation,
)
from b12.core.picture import parse_picture
from b12.core.plan import plan
from b12.core.plan_models import Plan

SECTION_ORDER: tuple[SectionKey, ...] = (
    "algorithm",
    "special_populations",
    "monitoring",
    "pitfalls",
    "alternatives",
)
#: Matched recommendations shown besides the headline: at most this many …
MAX_MATCHED = 6
#: … each scoring at least this share of the best score.
RELATIVE_SCORE = 0.45
MAX_RELATED = 5
MAX_TOPICS = 3
#: Age used for the picture when the question gives none (any adult age gives the same plan).
ADULT_AGE = 40
#: ``plan()`` needs a date; no date from it reaches the answer.
REFERENCE_DAY = date(2000, 1, 3)
#: Which cause the picture records when the question suggests several (most specific first).
CAUSE_ORDER = ("autoimmune_gastritis", "nitrous_oxide", "malabsorption", "dietary", "medication")
FIELDS_FROM_PROBLEM = ("labs.", "preferences.")
#: Drugs a clinical picture can prefer (``preferences.drug``).
PICTURE_DRUGS = ("hydroxocobalamin", "cyanocobalamin")
#: A generic regimen question keeps the plan's headline while the plan's deciding item scores
#: at least this share of the best match.
GENERIC_MIN_SHARE = 0.15


# -- the picture --------------------------------------------------------------------------------


@dataclass(slots=True)
class Described:
    """The picture built from the question, and the plan for it."""

    doc: dict[str, Any]
    plan: Plan
    assumed: tuple[str, ...]


def _medications(slots: Slots, kb: KnowledgeBase) -> list[str]:
    """The medications named, plus the B12 product a patient "already on" treatment takes."""
    out = set(slots.medications)
    if slots.on_treatment:
        vocab = kb.vocabulary
        b12 = sorted(
            m for m in vocab.medications if m in vocab.products and vocab.products[m].kind == "b12"
        )
        named = [f for f in slots.formulations if f in b12] or b12
        out.update(named[:1])
    return sorted(out)


def _picture_doc(
    slots: Slots, kb: KnowledgeBase, guideline: str
) -> tuple[dict[str, Any], list[str]]:
    causes = [c for c in CAUSE_ORDER if c in slots.causes]
    drugs = [f for f in slots.formulations if f in PICTURE_DRUGS]
    known_symptoms = kb.vocabulary.neuro_symptoms
    prefs = {
        "route": slots.route_preference,
        "drug": drugs[0] if len(drugs) == 1 else None,
    }
    fields: dict[str, Any] = {
        "age": slots.age if slots.age is not None else ADULT_AGE,
        "sex": slots.sex,
        "pregnant": "pregnant" in slots.flags or None,
        "breastfeeding": "breastfeeding" in slots.flags or None,
        "deficiency": slots.deficiency,
        "cause": causes[0] if causes else None,
        "conditions": sorted(set(slots.conditions)),
        "medications": _medications(slots, kb),
        "diet": slots.diet,
        "neuro_symptoms": [s for s in slots.neuro_symptoms if s in known_symptoms]
        if slots.neuro
        else [],
        "ileal_resection_cm": slots.ileal_resection_cm,
        "labs": dict(sorted(slots.labs.items())),
        "preferences": {k: v for k, v in prefs.items() if v is not None},
        "guideline": guideline,
    }
    doc = {k: v for k, v in fields.items() if v is not None and v != [] and v != {}}
    return doc, ([] if slots.age is not None else ["age"])


def _drop(doc: dict[str, Any], path: str) -> None:
    """Remove the field a validation problem names (``labs.x``, ``conditions[0]``, ``age``)."""
    head = path.split("[", 1)[0]
    if head.startswith(FIELDS_FROM_PROBLEM):
        group, _, name = head.partition(".")
        inner = doc.get(group)
        if isinstance(inner, dict):
            inner.pop(name.split(".", 1)[0], None)
            if not inner:
                doc.pop(group, None)
        return
    if head == "age":
        doc["age"] = ADULT_AGE
    else:
        doc.pop(head.split(".", 1)[0], None)


def describe(slots: Slots, kb: KnowledgeBase, guideline: str) -> Described | None:
    """The picture and plan for a question that describes a patient (``None`` otherwise)."""
    if not (slots.describes_patient or slots.regimen_question):
        return None
    doc, assumed = _picture_doc(slots, kb, guideline)
    picture = None
    for _ in range(8):
        try:
            picture = parse_picture(doc, kb)
            break
        except InputError as err:
            for problem in err.problems:
                _drop(doc, problem.field)
    if picture is None:
        return None
    result = plan(picture, kb, REFERENCE_DAY)
    if (
        result.status == "needs_more_data"
        and any(m.field == "deficiency" for m in result.missing)
        and "deficiency" not in doc
        and "labs" not in doc
        and not slots.status_unknown
    ):
        retry = parse_picture({**doc, "deficiency": "confirmed"}, kb)
        second = plan(retry, kb, REFERENCE_DAY)
        if second.status == "plan":
            doc["deficiency"] = "confirmed"
            assumed.append("deficiency")
            result = second
    return Described(doc, result, tuple(assumed))


# -- composition --------------------------------------------------------------------------------


@dataclass(slots=True)
class _Draft:
    """Which recommendations go where, before texts and numbers are filled in."""

    headline: Recommendation | None = None
    pathway: str | None = None
    regimen: str | None = None
    why: list[Recommendation] = field(default_factory=list)
    placed: dict[SectionKey, list[Recommendation]] = field(
        default_factory=lambda: {k: [] for k in SECTION_ORDER}
    )
    seen: set[str] = field(default_factory=set)

    def place(self, key: SectionKey, rec: Recommendation) -> None:
        if rec.id not in self.seen:
            self.seen.add(rec.id)
            self.placed[key].append(rec)


def _section_for(rec: Recommendation, index: AnswerIndex) -> SectionKey:
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


def _usable(rec: Recommendation, guideline: str) -> bool:
    return rec.status == "approved" and guideline in rec.jurisdiction


def _matched(hits: Sequence[Hit]) -> list[Hit]:
    if not hits:
        return []
    floor = hits[0].score * RELATIVE_SCORE
    return [h for h in hits[: MAX_MATCHED + 1] if h.score >= floor]


def _draft(
    kb: KnowledgeBase,
    index: AnswerIndex,
    slots: Slots,
    hits: Sequence[Hit],
    described: Described | None,
    guideline: str,
) -> _Draft:
    recs = kb.recommendations
    draft = _Draft()
    result = described.plan if described else None
    if result is not None and _plan_heads(slots, hits, result, kb):
        deciding = _deciding(result, kb)
        draft.headline = deciding
        draft.pathway = result.pathway.id
        draft.regimen = result.regimen.id if result.regimen else None
        draft.seen.add(deciding.id)
        draft.why = [recs[i] for w in result.pathway.why for i in w.recs if i != deciding.id]
        draft.seen.update(r.id for r in draft.why)
    elif hits:
        top = recs[hits[0].id]
        draft.headline = top
        draft.seen.add(top.id)
        act = top.action
        if isinstance(act, DecisionAction) and result is None:
            draft.pathway = act.pathway
            draft.regimen = act.regimen if act.outcome == "plan" else None
    if result is not None:
        _place_plan(draft, result, kb, index)
    for hit in _matched(hits):
        rec = recs[hit.id]
        conflicting = (
            result is not None
            and isinstance(rec.action, DecisionAction)
            and rec.action.pathway != result.pathway.id
        )
        if _usable(rec, guideline) and not conflicting:
            draft.place(_section_for(rec, index), rec)
    return draft


def _place_plan(draft: _Draft, result: Plan, kb: KnowledgeBase, index: AnswerIndex) -> None:
    """The plan's decision (when it is not the headline), alerts, monitoring, disagreements."""
    recs = kb.recommendations
    draft.place("algorithm", _deciding(result, kb))
    for alert in result.alerts:
        for rid in alert.recs:
            draft.place(_section_for(recs[rid], index), recs[rid])
    for item in result.monitoring:
        for rid in item.recs:
            draft.place("monitoring", recs[rid])
    for dis in result.disagreements:
        for rid in dis.recs:
            draft.place("alternatives", recs[rid])


def _plan_heads(slots: Slots, hits: Sequence[Hit], result: Plan, kb: KnowledgeBase) -> bool:
    """Whether the plan's decision heads the answer (see the module docstring)."""
    top = kb.recommendations[hits[0].id] if hits else None
    if top is None:
        return True
    top_decides = isinstance(top.action, DecisionAction)
    if not slots.describes_patient:
        # A generic regimen question ("treatment for confirmed deficiency"): the standard
        # pathway, unless the best match is far more specific (its score dwarfs the decision's)
        # or the question is about a product the picture cannot carry.
        if any(f not in PICTURE_DRUGS for f in slots.formulations):
            return False
        if top_decides:
            return True
        deciding = _deciding(result, kb).id
        score = next((h.score for h in hits if h.id == deciding), 0.0)
        return score >= GENERIC_MIN_SHARE * hits[0].score
    return slots.regimen_question or slots.decision_question or top_decides


def _deciding(result: Plan, kb: KnowledgeBase) -> Recommendation:
    """The plan's deciding recommendation (the first reason of its pathway)."""
    first = result.pathway.why[0].recs[0]
    return kb.recommendations[first]


class _Writer:
    """Turns the draft into texts with references numbered in order of first use."""

    def __init__(self, kb: KnowledgeBase, audience: str) -> None:
        self.kb = kb
        self.book = ReferenceBook(kb)
        self.patient = audience == "patient"
        self.texts: set[str] = set()

    def text(self, rec: Recommendation) -> str:
        return rec.patient_text if self.patient else rec.clinician_text

    def item(self, text: str, refs: tuple[int, ...], rec_id: str) -> AnswerItem | None:
        key = " ".join(text.split())
        if not key or key in self.texts:
            return None
        self.texts.add(key)
        return AnswerItem(text=text, refs=refs, recs=(rec_id,))

    def rec_items(self, rec: Recommendation) -> list[AnswerItem]:
        out: list[AnswerItem | None] = [self.item(self.text(rec), self.book.use(rec), rec.id)]
        act = rec.action
        if isinstance(act, DisagreementAction) and not self.patient:
            for pos in act.positions:
                out.append(self.item(pos.says, self.book.cite(pos.citations), rec.id))
        return [i for i in out if i is not None]

    def regimen_items(self, decision: Recommendation, regimen_id: str) -> list[AnswerItem]:
        regimen = self.kb.regimens.get(regimen_id)
        if regimen is None:
            return []
        cites: tuple[Citation, ...] = decision.citations + regimen.citations
        refs = self.book.cite(cites)
        out = [
            self.item(p.patient_text if self.patient else p.text, refs, decision.id)
            for p in regimen.phases
        ]
        return [i for i in out if i is not None]

    def alternative_items(self, decision: Recommendation) -> list[AnswerItem]:
        act = decision.action
        if self.patient or not isinstance(act, DecisionAction):
            return []
        out: list[AnswerItem] = []
        for alt in act.alternatives:
            target = self.kb.pathways.get(alt.pathway)
            if target is None or target.status != "approved":
                continue
            if not set(target.jurisdiction) & set(decision.jurisdiction):
                continue
            tact = target.action
            title = tact.pathway_title if isinstance(tact, DecisionAction) else target.title
            made = self.item(
                f"{title}: {alt.why_not}", self.book.cite(decision.citations), decision.id
            )
            if made is not None:
                out.append(made)
        return out


def _related(
    kb: KnowledgeBase, question: str, draft: _Draft, hits: Sequence[Hit]
) -> tuple[str, ...]:
    asked = " ".join(fold(question).split()).rstrip("?")
    order: list[str] = [r.id for k in SECTION_ORDER for r in draft.placed[k]]
    order += [h.id for h in hits[: MAX_MATCHED + 2]]
    skip = draft.headline.id if draft.headline else None
    out: list[str] = []
    seen: set[str] = set()
    for rid in order:
        if rid == skip or rid in seen:
            continue
        seen.add(rid)
        for q in kb.recommendations[rid].questions:
            key = " ".join(fold(q).split()).rstrip("?")
            if key != asked and q not in out:
                out.append(q)
                break
        if len(out) >= MAX_RELATED:
            break
    return tuple(out)


def parameters(slots: Slots, described: Described | None) -> Parameters:
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
        picture=described.doc if described else None,
        assumed=described.assumed if described else (),
    )


def _disclaimer(kb: KnowledgeBase, audience: str) -> str:
    answering, vocab = kb.answering, kb.vocabulary
    if audience == "patient":
        return answering.patient_disclaimer or vocab.patient_disclaimer
    return answering.disclaimer or vocab.disclaimer


def _titles(kb: KnowledgeBase, audience: str) -> dict[str, str]:
    return kb.answering.section_titles[audience]


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


@dataclass(frozen=True, slots=True)
class Request:
    """One question with everything the pipeline worked out before composing."""

    question: str
    audience: Literal["clinician", "patient"]
    guideline: Literal["uk", "us"]
    norm: Normalised
    slots: Slots
    hits: tuple[Hit, ...]


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
        **ReferenceBook(kb).review_fields(req.guideline),
        content_version=kb.content_version,
        normaliser_version=req.norm.version,
        disclaimer=_disclaimer(kb, req.audience),
        matched=tuple(h.id for h in req.hits[: MAX_MATCHED + 1]),
        parameters=parameters(req.slots, None),
        normalised=req.norm.text,
    )


def compose(kb: KnowledgeBase, index: AnswerIndex, req: Request) -> Answer:
    """The answer for an in-scope question (``no_answer`` when nothing can head it)."""
    described = describe(req.slots, kb, req.guideline)
    draft = _draft(kb, index, req.slots, req.hits, described, req.guideline)
    if draft.headline is None:
        return no_answer(kb, req)
    writer = _Writer(kb, req.audience)
    head = draft.headline
    headline = Headline(
        text=writer.text(head),
        refs=writer.book.use(head),
        recs=(head.id,),
        pathway=draft.pathway,
        regimen=draft.regimen,
    )
    writer.texts.add(" ".join(headline.text.split()))
    items: dict[SectionKey, list[AnswerItem]] = {k: [] for k in SECTION_ORDER}
    if draft.regimen:
        items["algorithm"].extend(writer.regimen_items(head, draft.regimen))
    for rec in draft.why:
        items["algorithm"].extend(writer.rec_items(rec))
    for key in SECTION_ORDER:
        if key == "alternatives":
            items[key].extend(writer.alternative_items(head))
        for rec in draft.placed[key]:
            items[key].extend(writer.rec_items(rec))
    titles = _titles(kb, req.audience)
    sections = tuple(
        AnswerSection(key=k, title=titles[k], items=tuple(items[k]))
        for k in SECTION_ORDER
        if items[k]
    )
    pending = not writer.book.all_approved or (
        draft.regimen is not None and kb.regimens[draft.regimen].status != "approved"
    )
    answering = kb.answering
    return Answer(
        question=req.question,
        status="answered",
        audience=req.audience,
        guideline=req.guideline,
        headline=headline,
        message=None,
        framing=answering.patient_framing if req.audience == "patient" else None,
        sections=sections,
        references=writer.book.references,
        related_questions=_related(kb, req.question, draft, req.hits),
        related_questions_title=answering.related_questions_title,
        review_status="pending_review" if pending else "approved",
        **writer.book.review_fields(
            req.guideline, kb.regimens[draft.regimen] if draft.regimen else None
        ),
        content_version=kb.content_version,
        normaliser_version=req.norm.version,
        disclaimer=_disclaimer(kb, req.audience),
        matched=tuple(dict.fromkeys([head.id, *(h.id for h in req.hits[:MAX_MATCHED])])),
        parameters=parameters(req.slots, described),
        normalised=req.norm.text,
    )
