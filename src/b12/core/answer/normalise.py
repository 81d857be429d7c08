"""The question normaliser: fold, tokenise, expand shorthand, repair misspellings.

Versioned by ``kb.answering.version`` (the tables live in ``answering.yaml``; this module only
applies them).  Steps, each deterministic:

1. **fold** — Unicode NFKC, case-folded, accents removed (``anæmia`` stays a word; ``é`` → ``e``),
   typographic quotes and dashes made plain;
2. **tokenise** — words (letters and digits, joined by inner ``' . / + -``), numbers (``1,000``
   → ``1000``; ranges ``2-3``), and clause punctuation (``, ; : . ? !``) kept as boundary
   tokens for the negation window;
3. **expand** — the longest phrase of the shorthand or misspelling table starting at each
   token wins (``pins and needles``, ``q3m``, ``hydroxo``); keys are folded and tokenised the
   same way as the question, so a table entry matches exactly what a user would type;
   a hyphenated or slashed word that is not in a table is split and each part looked up;
4. **repair** (optional) — a word of 7+ letters that the knowledge base never uses and that is
   one edit (insert, delete, substitute, transpose) away from exactly one word it does use is
   replaced by that word.  Conservative by design: ambiguity means no repair.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from b12.core.knowledge import Answering

BOUNDARIES = frozenset({",", ";", ":", ".", "?", "!", "(", ")"})
_TOKEN = re.compile(
    r"\d{1,3}(?:,\d{3})+(?:\.\d+)?"  # 1,000 or 1,000.5
    r"|\d+(?:\.\d+)?(?:-\d+(?:\.\d+)?)?"  # 150, 4.5, 2-3
    r"|[^\W_]+(?:['./+-][^\W_]+)*\+?"  # words: b12, q3m, k+, leber's, ng/l, i.m
    r"|[,;:.?!()]"
)
_PLAIN = str.maketrans(
    {
        "\u2019": "'",
        "\u2018": "'",
        "\u02bc": "'",
        "`": "'",
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
    }
)
#: Words shorter than this are never spelling-repaired.
REPAIR_MIN_LENGTH = 7
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
#: Unit tokens that contain a slash and must stay whole (they are read by extraction).
UNITS_WITH_SLASH = frozenset(
    {"ng/l", "pg/ml", "pmol/l", "nmol/l", "umol/l", "μmol/l", "g/l", "g/dl", "mmol/l", "ml/min"}
)


def fold(text: str) -> str:
    """NFKC, case-folded, accents removed, plain quotes and dashes."""
    text = unicodedata.normalize("NFKC", text).translate(_PLAIN).casefold()
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", stripped)


#: A dash standing between spaces separates clauses ("b12 120 - tablets?"), as a comma does.
_SPACED_DASH = re.compile(r"\s-+\s")
#: "28/40": weeks of pregnancy as obstetric notes write them (read as "28 weeks pregnant").
_GESTATION = re.compile(r"(?<![\d/])([4-9]|[1-3]\d|4[0-2])/40(?![\d/])")


#: "+ve" / "-ve" as notes write a test result ("IF abs +ve"): the sign is the result.
_SIGNED = re.compile(r"([+-])ve\b")


def _signed(match: re.Match[str]) -> str:
    return " positive" if match.group(1) == "+" else " negative"


def tokenise(folded: str) -> list[str]:
    """Tokens of already-folded text (see the module docstring)."""
    out: list[str] = []
    folded = _SIGNED.sub(_signed, folded)
    folded = _SPACED_DASH.sub(" ; ", folded)
    folded = _GESTATION.sub(r"\1 weeks pregnant", folded)
    for match in _TOKEN.finditer(folded):
        tok = match.group(0)
        if tok[0].isdigit() and "," in tok:
            tok = tok.replace(",", "")
        out.append(tok)
    return out


@dataclass(frozen=True, slots=True)
class Table:
    """The shorthand and misspelling tables, keyed by token tuples, built once per KB."""

    version: str
    phrases: Mapping[tuple[str, ...], tuple[str, ...]]
    longest: int
    misspelt: frozenset[tuple[str, ...]]

    @classmethod
    def from_answering(cls, answering: Answering) -> Table:
        """Fold and tokenise every key and expansion the same way as a question."""
        phrases: dict[tuple[str, ...], tuple[str, ...]] = {}
        misspelt: set[tuple[str, ...]] = set()
        for source, is_misspelling in (
            (answering.shorthand, False),
            (answering.misspellings, True),
        ):
            for key, value in sorted(source.items()):
                k = tuple(tokenise(fold(key)))
                v = tuple(t for t in tokenise(fold(value)) if t not in BOUNDARIES)
                if k and k != v:
                    phrases.setdefault(k, v)
                    if is_misspelling:
                        misspelt.add(k)
        longest = max((len(k) for k in phrases), default=1)
        return cls(answering.version, phrases, longest, frozenset(misspelt))


@dataclass(frozen=True, slots=True)
class Normalised:
    """A normalised question: the folded text, the tokens and what was changed."""

    version: str
    folded: str
    tokens: tuple[str, ...]
    repairs: tuple[tuple[str, str], ...]

    @property
    def text(self) -> str:
        """The tokens joined by spaces (boundary tokens included)."""
        return " ".join(self.tokens)

    @property
    def words(self) -> tuple[str, ...]:
        """The tokens without clause punctuation."""
        return tuple(t for t in self.tokens if t not in BOUNDARIES)


def _lookup(table: Table, token: str) -> tuple[str, ...] | None:
    found = table.phrases.get((token,))
    if found is None and token.endswith("'s"):
        base = token[:-2]
        found = table.phrases.get((base,), (base,))
    return found


def _split(table: Table, token: str) -> list[str]:
    """A token not in the tables: split inner hyphens and slashes (not units), look parts up."""
    if token in UNITS_WITH_SLASH or token[0].isdigit():
        return [token]
    found = _lookup(table, token)
    if found is not None:
        return list(found)
    if not re.search(r"[-/]", token):
        return [token]
    out: list[str] = []
    for part in re.split(r"[-/]+", token):
        if part:
            sub = _lookup(table, part)
            out.extend(sub if sub is not None else [part])
    return out


def _expand(table: Table, tokens: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
    out: list[str] = []
    changed: list[tuple[str, str]] = []
    i = 0
    n = len(tokens)
    while i < n:
        for size in range(min(table.longest, n - i), 1, -1):
            key = tuple(tokens[i : i + size])
            found = table.phrases.get(key)
            if found is not None:
                out.extend(found)
                changed.append((" ".join(key), " ".join(found)))
                i += size
                break
        else:
            tok = tokens[i]
            parts = _split(table, tok)
            if parts != [tok]:
                changed.append((tok, " ".join(parts)))
            out.extend(parts)
            i += 1
    return out, changed


def _edits(word: str) -> Iterable[str]:
    """Every string one edit away from ``word`` (lower-case ASCII letters)."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    for left, right in splits:
        if right:
            yield left + right[1:]
            if len(right) > 1:
                yield left + right[1] + right[0] + right[2:]
            for c in _LETTERS:
                if c != right[0]:
                    yield left + c + right[1:]
        for c in _LETTERS:
            yield left + c + right


def repair(word: str, known: frozenset[str]) -> str | None:
    """The single known word one edit from ``word``, or ``None`` (unknown, short or ambiguous)."""
    if len(word) < REPAIR_MIN_LENGTH or word in known or not word.isascii() or not word.isalpha():
        return None
    found = {w for w in _edits(word) if w in known}
    return found.pop() if len(found) == 1 else None


#: After "im" and a number, words that make "im" the route ("IM 3 times a week", "im 1 mg").
_ROUTE_AFTER = frozenset(
    {"times", "x", "mg", "mcg", "ug", "microgram", "micrograms", "milligram", "milligrams"}
    | {"doses", "dose", "injections", "injection", "weekly", "monthly", "daily", "every", "q"}
    | {"units", "ml", "vials", "ampoules"}
)


def _first_person(tokens: list[str]) -> list[str]:
    """ "im 15 and my b12 was 120": "im" that opens a sentence and is followed by an age is
    "I'm", not intramuscular ("IM 3 times a week" and "im 1 mg" stay the route)."""
    out = list(tokens)
    for i, tok in enumerate(tokens[:-1]):
        if tok != "im" or (i > 0 and tokens[i - 1] not in BOUNDARIES | _CLAUSE_LEADS):
            continue
        nxt = tokens[i + 1]
        after = tokens[i + 2] if i + 2 < len(tokens) else ""
        age = nxt.isdigit() and 0 < int(nxt) < 120 and after not in _ROUTE_AFTER
        if age or nxt in _SELF_AFTER:
            out[i] = "i'm"  # "im 15 and …", "im not taking any supplements"
    return out


#: Before "im", words that open a clause of the asker's own ("but im not on anything").
_CLAUSE_LEADS = frozenset({"and", "but", "so", "because", "cos", "coz", "cuz", "now", "also"})
#: After "im", words that make it "I'm" ("im not", "im vegan", "im pregnant", "im worried").
_SELF_AFTER = frozenset(
    {"not", "taking", "vegan", "vegetarian", "pregnant", "breastfeeding", "worried", "so"}
    | {"really", "still", "having", "getting", "confused", "going", "feeling", "tired"}
    | {"exhausted", "scared", "terrified", "currently", "now", "trying", "always"}
    | {"nursing", "diabetic", "allergic", "told", "being"}
)


def normalise(
    question: str,
    table: Table,
    known: frozenset[str] = frozenset(),
    keep: frozenset[str] = frozenset(),
) -> Normalised:
    """Normalise ``question`` with the tables; ``known`` (the KB's own words) enables repair.
    A word of ``keep`` (the commonest English words) is a word, never a typo to repair
    ("prevent" is not "present")."""
    folded = fold(question)
    tokens, changed = _expand(table, _first_person(tokenise(folded)))
    if known:
        for i, tok in enumerate(tokens):
            fixed = None if tok in keep else repair(tok, known)
            if fixed is not None:
                changed.append((tok, fixed))
                tokens[i] = fixed
    return Normalised(table.version, folded, tuple(tokens), tuple(changed))
