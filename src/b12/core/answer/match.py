"""Phrase matching on normalised tokens, shared by the extraction modules."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from b12.core.answer.lexicon import (
    NEGATION_WINDOW,
    NEGATIONS,
    NUMBER_WORDS,
    POST_NEGATIONS,
    SCOPE_BREAKS,
    Phrase,
)
from b12.core.answer.normalise import BOUNDARIES


def find(tokens: Sequence[str], phrase: Phrase, start: int = 0) -> Iterable[int]:
    """Every position where ``phrase`` starts (``Sequence.index`` finds the first word fast)."""
    n = len(phrase)
    first = phrase[0]
    i = start
    while True:
        try:
            i = tokens.index(first, i)
        except ValueError:
            return
        if n == 1 or tuple(tokens[i : i + n]) == phrase:
            yield i
        i += 1


def has(tokens: Sequence[str], phrases: Iterable[Phrase]) -> bool:
    return any(next(iter(find(tokens, p)), None) is not None for p in phrases)


def hits(tokens: Sequence[str], table: dict[Phrase, str]) -> list[tuple[int, int, str]]:
    """(start, end, value) of every table phrase, longest match first, non-overlapping."""
    taken: set[int] = set()
    out: list[tuple[int, int, str]] = []
    for phrase in sorted(table, key=lambda p: (-len(p), p)):
        for i in find(tokens, phrase):
            span = set(range(i, i + len(phrase)))
            if span & taken:
                continue
            taken |= span
            out.append((i, i + len(phrase), table[phrase]))
    out.sort()
    return out


def number(token: str) -> float | None:
    """A number token (``150``, ``4.5``; a range gives its lower end) or a number word."""
    if token in NUMBER_WORDS:
        return float(NUMBER_WORDS[token])
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(?:-\d+(?:\.\d+)?)?", token)
    if m is None or len(m.group(1)) > 9:
        return None
    return float(m.group(1))


#: A negated auxiliary written as one word: "isn't", "doesn't", "hasnt", "dont", "can't".
_NOT_CONTRACTION = re.compile(r"[a-z]+n'?t")
_NOT_AUXILIARIES = frozenset(
    {
        "is",
        "are",
        "was",
        "were",
        "do",
        "does",
        "did",
        "has",
        "have",
        "had",
        "ca",
        "wo",
        "should",
        "could",
        "would",
        "must",
        "need",
        "ai",
        "don",
        "doesn",
        "isn",
        "wasn",
    }
)


def is_negation(tok: str) -> bool:
    """A negation word, or a negated auxiliary written as one ("isn't", "dont", "hasnt")."""
    if tok in NEGATIONS:
        return True
    if _NOT_CONTRACTION.fullmatch(tok) is None:
        return False
    stem = tok[:-3] if tok.endswith("n't") else tok[:-2]
    return stem in _NOT_AUXILIARIES


def negated(tokens: Sequence[str], start: int, end: int) -> bool:
    """NegEx-style: a negation word before ``start`` in the same clause, or one right after."""
    for j in range(start - 1, max(-1, start - 1 - NEGATION_WINDOW), -1):
        tok = tokens[j]
        if tok in BOUNDARIES or tok in SCOPE_BREAKS:
            break
        if is_negation(tok):
            return True
    for j in range(end, min(len(tokens), end + 3)):
        tok = tokens[j]
        if (tok in BOUNDARIES and tok != ":") or tok in SCOPE_BREAKS or tok == "and":
            break
        if tok in POST_NEGATIONS:
            return True
    return False
