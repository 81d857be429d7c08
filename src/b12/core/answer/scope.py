"""The scope gate: answer only questions about what the reviewed knowledge base covers.

Lexical and deterministic (the optional MiniLM gate of the research notes is not used: see
``docs/answers.md``).  In order:

1. an **in-scope anchor** (``answering.yaml``: B12, cobalamin, pernicious anaemia, …) in the
   question → in scope, unless it also names an **out-of-scope** topic (iron, vitamin D, …)
   and retrieval is weak (the question is about the other topic, mentioning B12 in passing);
2. no anchor but an out-of-scope topic → out of scope;
3. no anchor and no out-of-scope topic → in scope only when retrieval is **strong**: the best
   BM25 score reaches ``MIN_SCORE`` and at least ``MIN_COVERAGE`` of the question's content
   words occur in the knowledge base ("how often do I need my jabs?" passes; "what is the
   capital of France?" does not).

Anchors and out-of-scope words are matched on both the folded question and the normalised one
(so "vitamin K" is out of scope even though the shorthand table reads "K" as potassium).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from b12.core.answer.normalise import BOUNDARIES, Normalised, tokenise
from b12.core.answer.retrieve import AnswerIndex, Hit

#: BM25 score a question with no anchor must reach (calibrated on tests/answers/questions.yaml).
MIN_SCORE = 2.0
#: Share of content words the knowledge base must know, for a question with no anchor.
MIN_COVERAGE = 0.75
#: BM25 score an anchored question that also names another topic must reach.
MIN_SCORE_MIXED = 6.0


@dataclass(frozen=True, slots=True)
class Scope:
    """The gate's decision and why."""

    in_scope: bool
    reason: str
    anchors: tuple[str, ...]
    off_topic: tuple[str, ...]
    coverage: float


def _ngrams(tokens: Sequence[str], longest: int) -> set[tuple[str, ...]]:
    return {
        tuple(tokens[i : i + n]) for n in range(1, longest + 1) for i in range(len(tokens) - n + 1)
    }


def _present(phrases: Sequence[tuple[str, ...]], streams: Sequence[Sequence[str]]) -> list[str]:
    longest = max((len(p) for p in phrases), default=1)
    grams = set().union(*(_ngrams(tokens, longest) for tokens in streams))
    return [" ".join(p) for p in phrases if p in grams]


def gate(norm: Normalised, terms: list[str], hits: Sequence[Hit], index: AnswerIndex) -> Scope:
    """Decide whether the question is in scope (see the module docstring)."""
    raw = [t for t in tokenise(norm.folded) if t not in BOUNDARIES]
    streams = (raw, list(norm.words))
    anchors = _present(index.anchors, streams)
    off = [w for w in _present(index.off_topic, streams) if not any(w in a for a in anchors)]
    coverage = (sum(1 for t in terms if t in index.stems) / len(terms)) if terms else 0.0
    top = hits[0].score if hits else 0.0
    if anchors and not off:
        return Scope(True, "anchor", tuple(anchors), (), coverage)
    if anchors:
        ok = top >= MIN_SCORE_MIXED
        return Scope(
            ok, "anchor_and_retrieval" if ok else "off_topic", tuple(anchors), tuple(off), coverage
        )
    if off:
        return Scope(False, "off_topic", (), tuple(off), coverage)
    ok = top >= MIN_SCORE and coverage >= MIN_COVERAGE
    return Scope(ok, "retrieval" if ok else "weak_retrieval", (), (), coverage)
