"""Lexical retrieval over the approved recommendations: BM25 (``bm25s``) with English stemming.

Each approved recommendation is one document: its title and reviewer-written ``aliases``
(counted twice: they are the strongest signal), ``questions``, ``clinician_text``,
``patient_text``, the pathway title or disagreement topic and positions, and the questions
``phrasings.yaml`` gives for it (users' own wording; scored only, see ``build_index``).
Documents and questions go through the same normaliser, then English and domain stopwords
(``answering.yaml``) are dropped and words are stemmed (PyStemmer, Snowball English).

The index lives in memory only.  ``build_index(kb)`` builds it; ``index_for(kb)`` returns the
one cached for that knowledge-base object (built on first use; a new object, such as the web
app's knowledge base after a review decision, gets its own).  Draft, submitted, in-review and
retired content is never indexed, so it can never answer.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from b12.core import criteria
from b12.core.answer import lexicon
from b12.core.answer.normalise import BOUNDARIES, Normalised, Table, fold, normalise, tokenise
from b12.core.knowledge import (
    DecisionAction,
    DisagreementAction,
    KnowledgeBase,
    Recommendation,
)

TITLE_WEIGHT = 2
#: Index the vocabulary words of the conditions and medications a condition names.
TERM_WORDS = True
ALIAS_WEIGHT = 2
#: A population word used by more than this share of the items is not a word of any one
#: item's topic.
TOPIC_MAX_SHARE = 0.05
#: Picture facts that make a recommendation "population-specific" (special populations).
POPULATION_FIELDS = frozenset({"cause", "diet", "conditions", "medications"})
POPULATION_FLAGS = frozenset({"pregnant", "breastfeeding"})
POPULATION_NUMBERS = frozenset({"age", "ileal_resection_cm", "labs.egfr"})


@dataclass(frozen=True, slots=True)
class Hit:
    """One retrieved recommendation and its BM25 score (rounded, so ties are stable)."""

    id: str
    score: float


@dataclass(frozen=True, eq=False)
class AnswerIndex:
    """Everything the engine precomputes for one knowledge base."""

    content_version: str
    table: Table
    known: frozenset[str]
    ids: tuple[str, ...]
    jurisdictions: tuple[frozenset[str], ...]
    stopwords: frozenset[str]
    stems: frozenset[str]
    population_recs: frozenset[str]
    anchors: tuple[tuple[str, ...], ...]
    off_topic: tuple[tuple[str, ...], ...]
    bm25: Any
    veterinary: tuple[tuple[str, ...], ...] = ()
    wellness: tuple[tuple[str, ...], ...] = ()
    not_covered: tuple[tuple[str, ...], ...] = ()
    #: Pregnancy-planning words (``vocabulary.preconception``): folic acid before conception.
    preconception: tuple[tuple[str, ...], ...] = ()
    #: Per recommendation (aligned with ``ids``): the stems of its own words that are not the
    #: words of the population its condition names ("stomach cancer" for the gastric cancer
    #: alert, not "pernicious anaemia").
    topic_stems: tuple[frozenset[str], ...] = ()
    #: The common English words (``Answering.common_words``).
    common: frozenset[str] = frozenset()

    def on_topic(self, rec_id: str, terms: Sequence[str]) -> bool:
        """The question uses a word of ``rec_id``'s own topic, not only of its population."""
        if not self.topic_stems or rec_id not in self.ids:
            return True
        return bool(self.topic_stems[self.ids.index(rec_id)] & set(terms))

    def terms(self, norm: Normalised) -> list[str]:
        """The stemmed retrieval terms of a normalised text (stopwords and punctuation out)."""
        words = [
            w
            for w in norm.tokens
            if w not in BOUNDARIES and w not in self.stopwords and (len(w) > 1 or w.isdigit())
        ]
        import Stemmer  # type: ignore[import-not-found]

        stemmed: list[str] = Stemmer.Stemmer("english").stemWords(words)
        return stemmed

    def search(self, terms: list[str], guideline: str) -> tuple[Hit, ...]:
        """Recommendations usable for ``guideline`` with a positive score, best first."""
        known = [t for t in terms if t in self.stems]
        if not known:
            return ()
        scores = self.bm25.get_scores(known)
        hits = [
            Hit(rec_id, round(float(scores[i]), 6))
            for i, rec_id in enumerate(self.ids)
            if guideline in self.jurisdictions[i] and scores[i] > 0
        ]
        hits.sort(key=lambda h: (-h.score, h.id))
        return tuple(hits)


class _TermWords:
    """Collects the vocabulary words of the values a condition names (see ``_term_words``)."""

    def __init__(self, kb: KnowledgeBase, every: bool) -> None:
        self.kb, self.every = kb, every
        self.tables = {
            "conditions": kb.vocabulary.conditions,
            "medications": kb.vocabulary.medications,
            "cause": kb.vocabulary.causes,
        }
        self.seen: set[str] = set()
        self.defs: set[str] = set()
        self.out: list[str] = []

    def add(self, value: str, term: Any) -> None:
        if term is None or value in self.seen:
            return
        self.seen.add(value)
        self.out.append(term.label)
        self.out.extend(a.replace("_", " ") for a in term.aliases)
        self.out.extend(self.kb.answering.term_words.get(value, ()))

    def visit(self, cond: criteria.Condition, depth: int) -> None:
        if depth > 8:
            return
        match cond:
            case criteria.All(parts) | criteria.AnyOf(parts):
                for p in parts:
                    self.visit(p, depth + 1)
            case criteria.Not(part):
                self.visit(part, depth + 1)
            case criteria.Member(name, values):
                table = self.tables.get(criteria.LIST_FIELDS.get(name, name)) or {}
                for value in values:
                    self.add(value, table.get(value))
            case criteria.Ref(name):
                definitions = self.kb.vocabulary.definitions
                if name not in self.defs and name in definitions:
                    self.defs.add(name)
                    if not self.every:
                        self.seen.add(name)
                    self.visit(definitions[name], depth + 1)


def _term_words(rec: Recommendation, kb: KnowledgeBase, *, every: bool = False) -> list[str]:
    """The vocabulary words of the conditions and medications ``rec``'s condition names, so
    that a question can name them as users do ("apixaban" for an anticoagulant).

    The index reads a value whose name is also a definition read on the way (``def:
    autoimmune_gastritis`` → ``cause: autoimmune_gastritis``) as already seen, as it was
    tuned; ``every`` gives the words of every value (the population of the item)."""
    words = _TermWords(kb, every)
    if rec.when is not None:
        words.visit(rec.when, 0)
    return words.out


def _document(rec: Recommendation, kb: KnowledgeBase | None = None) -> list[str]:
    parts = [rec.title] * TITLE_WEIGHT + list(rec.aliases) * ALIAS_WEIGHT
    if kb is not None and TERM_WORDS:
        parts += _term_words(rec, kb)
    parts += [*rec.questions, rec.clinician_text, rec.patient_text]
    act = rec.action
    if isinstance(act, DecisionAction):
        parts.append(act.pathway_title)
    elif isinstance(act, DisagreementAction):
        parts.append(act.topic)
        parts.extend(p.says for p in act.positions)
    return parts


def _population_specific(rec: Recommendation, kb: KnowledgeBase) -> bool:
    """True when the recommendation's condition names a population (a cause, condition, …)."""
    if rec.when is None:
        return False
    seen: set[str] = set()

    def visit(cond: criteria.Condition, negated: bool, depth: int) -> bool:
        if depth > 8:
            return False
        match cond:
            case criteria.All(parts) | criteria.AnyOf(parts):
                return any(visit(p, negated, depth + 1) for p in parts)
            case criteria.Not(part):
                return visit(part, not negated, depth + 1)
            case criteria.Member(name, values):
                field = criteria.LIST_FIELDS.get(name, name)
                return not negated and field in POPULATION_FIELDS and values != ("unknown",)
            case criteria.Flag(name):
                return not negated and name in POPULATION_FLAGS
            case criteria.Compare(name):
                return not negated and name in POPULATION_NUMBERS
            case criteria.Ref(name):
                if name in seen or name not in kb.vocabulary.definitions:
                    return False
                seen.add(name)
                return visit(kb.vocabulary.definitions[name], negated, depth + 1)
        return False

    return visit(rec.when, False, 0)


def _phrases(words: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    out = {tuple(t for t in tokenise(fold(w)) if t not in BOUNDARIES) for w in words}
    return tuple(sorted(p for p in out if p))


def _lexicon_words() -> set[str]:
    out: set[str] = set()
    tables: list[Any] = [lexicon.NEURO_WORDS, lexicon.ROUTE_WORDS, lexicon.LABS]
    for table in tables:
        for phrase in table:
            out.update(phrase)
    for pop in lexicon.POPULATIONS:
        for phrase in pop.phrases:
            out.update(phrase)
    return out


def build_index(kb: KnowledgeBase) -> AnswerIndex:
    """Build the retrieval index and lexicons for ``kb`` (approved content only)."""
    # bm25s pulls in NumPy (~0.15 s); imported here so that ``import b12.core`` stays cheap.
    import bm25s  # type: ignore[import-untyped]
    from bm25s.stopwords import STOPWORDS_EN_PLUS  # type: ignore[import-untyped]

    answering = kb.answering
    table = Table.from_answering(answering)
    recs = [r for r in kb.recommendations.values() if r.status == "approved"]
    recs.sort(key=lambda r: r.id)
    stopwords = frozenset(STOPWORDS_EN_PLUS) | frozenset(
        w for s in answering.stopwords for w in tokenise(fold(s))
    )
    anchors = _phrases(answering.in_scope_anchors)
    off_topic = _phrases(answering.out_of_scope)
    known: set[str] = set(_lexicon_words())
    for phrases in (anchors, off_topic):
        for phrase in phrases:
            known.update(phrase)
    for value in (*answering.shorthand.values(), *answering.misspellings.values()):
        known.update(tokenise(fold(value)))
    known.update(stopwords)
    provisional = AnswerIndex(
        content_version=kb.content_version,
        table=table,
        known=frozenset(),
        ids=(),
        jurisdictions=(),
        stopwords=stopwords,
        stems=frozenset(),
        population_recs=frozenset(),
        anchors=anchors,
        off_topic=off_topic,
        bm25=None,
    )
    corpus: list[list[str]] = []
    own: list[list[str]] = []
    topics: list[frozenset[str]] = []
    for rec in recs:
        terms: list[str] = []
        for part in _document(rec, kb):
            norm = normalise(part, table)
            known.update(w for w in norm.words if w.isalpha())
            terms.extend(provisional.terms(norm))
        own.append(list(terms))
        # Questions as users asked them (``phrasings.yaml``) are scored with the item and count
        # as B12 words for the scope gate, but are not the item's own words: they name no
        # topic of it, and their typos never join the spelling-repair vocabulary (``known``).
        for phrasing in answering.phrasings.get(rec.id, ()):
            terms.extend(provisional.terms(normalise(phrasing, table)))
        corpus.append(terms or ["_empty_"])
        population = {
            t
            for part in _term_words(rec, kb, every=True)
            for t in provisional.terms(normalise(part, table))
        }
        topics.append(frozenset(own[-1]) - population)
    # The population's own words belong to the topic when few items use them ("warfarin",
    # "hyperthyroidism"), not when many do ("pernicious anaemia").
    df: dict[str, int] = {}
    for doc in own:
        for t in set(doc):
            df[t] = df.get(t, 0) + 1
    common = {t for t, n in df.items() if n > TOPIC_MAX_SHARE * len(corpus)}
    topics = [t | (frozenset(doc) - t - common) for t, doc in zip(topics, own, strict=True)]
    retriever = bm25s.BM25()
    retriever.index(corpus, show_progress=False)
    return AnswerIndex(
        content_version=kb.content_version,
        table=table,
        known=frozenset(known),
        ids=tuple(r.id for r in recs),
        jurisdictions=tuple(frozenset(r.jurisdiction) for r in recs),
        stopwords=stopwords,
        stems=frozenset(t for doc in corpus for t in doc),
        population_recs=frozenset(r.id for r in recs if _population_specific(r, kb)),
        anchors=anchors,
        off_topic=off_topic,
        bm25=retriever,
        veterinary=_phrases(answering.veterinary),
        wellness=_phrases(answering.wellness),
        not_covered=_phrases(answering.not_covered),
        preconception=_phrases(answering.vocabulary.get("preconception", ())),
        topic_stems=tuple(topics),
        common=answering.common_words,
    )


_CACHE: dict[int, tuple[weakref.ref[KnowledgeBase], AnswerIndex]] = {}
_LOCK = threading.Lock()


def _forget(key: int) -> Callable[[weakref.ref[KnowledgeBase]], None]:
    def drop(_ref: weakref.ref[KnowledgeBase]) -> None:
        _CACHE.pop(key, None)

    return drop


def index_for(kb: KnowledgeBase) -> AnswerIndex:
    """The index of ``kb``, built once per knowledge-base object and kept while it lives."""
    key = id(kb)
    with _LOCK:
        found = _CACHE.get(key)
        if found is not None and found[0]() is kb:
            return found[1]
    built = build_index(kb)
    with _LOCK:
        found = _CACHE.get(key)
        if found is not None and found[0]() is kb:
            return found[1]
        _CACHE[key] = (weakref.ref(kb, _forget(key)), built)
    return built
