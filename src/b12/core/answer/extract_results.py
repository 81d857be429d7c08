"""Results told in words: "B12 came back low", "bloods were fine", "B12 and MMA both normal".

The words are data (``answering.yaml`` ``results_in_words``): the phrases that name a test,
the generic words that stand for the B12 test ("the level", "bloods"), the words that may
stand between a test and its reading, and the readings.  A reading comes right after its test
(with only link words between: "B12 has come back a bit low") or right before it ("low B12",
"borderline active B12"); tests joined by "and" share it ("B12 and MMA both normal").  A
negated reading ("B12 not low") is not read.  A weak reading ("fine", "ok") needs a link that
reports a result ("were fine", "came back ok"), so that "is B12 ok in pregnancy?" is not a
result; a reading followed by a word of ``not_before`` describes something else ("high dose").

Only the reading is recorded (``Slots.word_results``: lab field → reading); ``facts.py`` reads
it through the knowledge base's own thresholds.  Nothing here is a clinical judgement.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

from b12.core.answer.match import hits, negated
from b12.core.answer.normalise import BOUNDARIES, Table, normalise
from b12.core.knowledge import Answering, ResultWords

Phrase = tuple[str, ...]
#: The reading words that need a reporting link ("were fine").
WEAK = "normal_weak"


@dataclass(frozen=True)
class _Tables:
    tests: dict[Phrase, str]
    generic: frozenset[Phrase]
    links: frozenset[str]
    past: frozenset[str]
    readings: dict[Phrase, str]
    not_before: frozenset[str]
    all_tests: dict[Phrase, str]


_CACHE: dict[int, tuple[ResultWords, _Tables]] = {}
_LOCK = threading.Lock()


def _tokens(text: str, table: Table) -> Phrase:
    return tuple(t for t in normalise(text, table).tokens if t not in BOUNDARIES)


def _tables(answering: Answering) -> _Tables:
    words = answering.results_in_words
    with _LOCK:
        found = _CACHE.get(id(words))
        if found is not None and found[0] is words:
            return found[1]
    table = Table.from_answering(answering)
    tests = {_tokens(p, table): name for name, phrases in words.tests.items() for p in phrases}
    generic = frozenset(_tokens(p, table) for p in words.generic)
    readings = {
        _tokens(p, table): name for name, phrases in words.readings.items() for p in phrases
    }
    links = frozenset(w for p in words.links for w in _tokens(p, table))
    past = frozenset(w for p in words.past_links for w in _tokens(p, table))
    built = _Tables(
        tests={k: v for k, v in tests.items() if k},
        generic=frozenset(g for g in generic if g),
        links=links,
        past=past,
        readings={k: v for k, v in readings.items() if k},
        not_before=frozenset(w for p in words.not_before for w in _tokens(p, table)),
        all_tests={
            **{k: v for k, v in tests.items() if k},
            **{g: "_generic" for g in generic if g},
        },
    )
    with _LOCK:
        _CACHE[id(words)] = (words, built)
    return built


def _subject(spans: Sequence[tuple[int, int, str]], default: str) -> list[tuple[int, int, str]]:
    """Generic words stand for the B12 test (``default``)."""
    return [(s, e, default if v == "_generic" else v) for s, e, v in spans]


def results_in_words(
    tokens: Sequence[str], answering: Answering, other_tests: Sequence[tuple[int, int]] = ()
) -> dict[str, str]:
    """Lab field → reading for each test the question reports in words.

    ``other_tests``: spans of tests that are not B12 tests (folate, ferritin, …): a generic
    word right after one ("folate level low") is that test, not B12's.
    """
    t = _tables(answering)
    if not t.readings:
        return {}
    readings = hits(tokens, t.readings)
    if not readings:
        return {}
    subjects = _subject(hits(tokens, t.all_tests), "serum_b12_ng_l")
    other_ends = {e for _, e in other_tests}
    subjects = [
        (s, e, v)
        for s, e, v in subjects
        if not (tuple(tokens[s:e]) in t.generic and (s in other_ends or s - 1 in other_ends))
    ]
    if not subjects:
        return {}
    starts = {s: (s, e, v) for s, e, v in subjects}
    out: dict[str, str] = {}
    n = len(tokens)
    for r_start, r_end, reading in readings:
        if negated(tokens, r_start, r_end):
            continue
        if r_end < n and tokens[r_end] in t.not_before:
            continue
        if _asked(tokens, r_start):
            continue  # "does this mean I have low B12?": asked about, not a result told
        found = _before(tokens, r_start, t, starts, reading)
        if not found:
            found = _after(tokens, r_end, t, starts, reading)
        for name in found:
            out.setdefault(name, "normal" if reading == WEAK else reading)
    return out


#: Words that make a reading after them the thing asked about ("does this mean …") or
#: supposed ("suspect low B12", "thinks it's low B12"), not a result told.
ASKING_WORDS = frozenset(
    {"mean", "means", "meaning", "whether", "suspect", "suspects", "suspected", "suspecting"}
    | {"think", "thinks", "thought", "query", "probably", "maybe", "possibly"}
)
#: "do I have low B12?", "has she got low B12?": the reading is the question.
ASKING_LEADS = (("do", "i", "have"), ("have", "i", "got"), ("does", "she", "have"),
                ("does", "he", "have"), ("has", "she", "got"), ("has", "he", "got"))  # fmt: skip
#: How far back in its clause an asking word reaches.
ASKING_REACH = 6


def _asked(tokens: Sequence[str], start: int) -> bool:
    """The reading at ``start`` is what the question asks about, not a result it tells."""
    window: list[str] = []
    for tok in reversed(tokens[max(0, start - ASKING_REACH) : start]):
        if tok in BOUNDARIES:
            break
        window.insert(0, tok)
    if set(window) & ASKING_WORDS:
        return True
    return any(tuple(window[i : i + 3]) in ASKING_LEADS for i in range(len(window) - 2))


def _before(
    tokens: Sequence[str],
    r_start: int,
    t: _Tables,
    starts: dict[int, tuple[int, int, str]],
    reading: str,
) -> list[str]:
    """The tests before the reading, with only links between ("B12 came back low")."""
    ends = {e: (s, e, v) for s, e, v in starts.values()}
    j = r_start
    gap: list[str] = []
    found: list[str] = []
    while j > 0:
        if j in ends:
            s, _, v = ends[j]
            found.append(v)
            j = s
            continue
        tok = tokens[j - 1]
        if tok in BOUNDARIES or tok not in t.links:
            break
        gap.append(tok)
        j -= 1
        if len(gap) > 6:
            break
    if not found:
        return []
    # ("b12 and folate both normal": two tests told together read as results too)
    both = "both" in gap
    if reading == WEAK and not (set(gap) & t.past) and not both:
        return []
    return found


def _after(
    tokens: Sequence[str],
    r_end: int,
    t: _Tables,
    starts: dict[int, tuple[int, int, str]],
    reading: str,
) -> list[str]:
    """The test right after the reading ("low B12", "borderline active B12 result")."""
    if reading == WEAK or r_end not in starts:
        return []
    _, e, v = starts[r_end]
    if e < len(tokens) and tokens[e] in t.not_before:
        return []
    return [v]
