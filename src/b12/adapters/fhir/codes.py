"""The versioned code table (``terminology.yaml``): lookups, codes to emit, text matching.

Every code carries a status (verified / corroborated / unverified, from interop.md §4).
Only verified and corroborated codes are ever emitted (:meth:`CodeTable.coding`) or relied on
when reading FHIR (:meth:`CodeTable.meaning`); an unverified code is a candidate only, and the
resource's text is matched instead (:meth:`CodeTable.match_text`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from b12.core.errors import KnowledgeBaseError, KnowledgeProblem
from b12.core.knowledge import KnowledgeBase, Route, Site, Term

Status = Literal["verified", "corroborated", "unverified"]
EMITTABLE: frozenset[str] = frozenset({"verified", "corroborated"})

#: Kinds a ``maps`` entry may use (see the header of terminology.yaml).
MAP_KINDS = frozenset(
    {
        "condition",
        "medication",
        "cause",
        "lab",
        "test",
        "drug",
        "route",
        "site",
        "deficiency",
        "flag",
        "ckd_stage",
        "finding",
        "unit",
        "concept",
    }
)
#: Kinds that only the ``text:`` section uses.
TEXT_ONLY_KINDS = frozenset({"diet", "allergy", "medication_condition"})
DEFICIENCIES = frozenset({"confirmed", "suspected", "indeterminate"})
FLAGS = frozenset({"pregnant", "breastfeeding"})
CKD_STAGES = frozenset({"1", "2", "3", "3a", "3b", "4", "5"})
DIETS = frozenset({"vegan", "vegetarian", "omnivore"})
ROUTES: frozenset[str] = frozenset(Route.__args__)  # type: ignore[attr-defined]
SITES: frozenset[str] = frozenset(Site.__args__)  # type: ignore[attr-defined]
ALLERGY_CONDITIONS = frozenset({"cobalt_allergy", "injection_hypersensitivity"})

TABLE_FILE = "terminology.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CodeEntry(_Strict):
    """One row of the code table; ``system`` is the full URI once loaded."""

    system: str
    code: str = Field(min_length=1)
    display: str = Field(min_length=1)
    status: Status
    source: str = Field(min_length=1)
    maps: dict[str, str | list[str]] = {}

    @field_validator("maps")
    @classmethod
    def _maps(cls, raw: dict[str, str | list[str]]) -> dict[str, str | list[str]]:
        for kind, value in raw.items():
            if kind not in MAP_KINDS:
                raise ValueError(
                    f"unknown maps kind {kind!r}; known: {', '.join(sorted(MAP_KINDS))}"
                )
            if isinstance(value, list) and kind != "concept":
                raise ValueError(f"maps.{kind}: only 'concept' may be a list")
        return raw

    @property
    def emittable(self) -> bool:
        """Verified or corroborated: may be emitted and relied on."""
        return self.status in EMITTABLE

    @property
    def concepts(self) -> tuple[str, ...]:
        """The concepts this code is emitted for (``maps.concept``)."""
        raw = self.maps.get("concept")
        if raw is None:
            return ()
        return tuple(raw) if isinstance(raw, list) else (raw,)

    def meaning(self) -> dict[str, str]:
        """What the code means for b12: ``maps`` without ``concept``."""
        return {k: v for k, v in self.maps.items() if k != "concept" and isinstance(v, str)}

    def as_coding(self) -> dict[str, str]:
        """The FHIR Coding for this row."""
        return {"system": self.system, "code": self.code, "display": self.display}


class TableFile(_Strict):
    """The shape of terminology.yaml."""

    version: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}\.\d+$")
    systems: dict[str, str]
    system_aliases: dict[str, str] = {}
    codes: list[CodeEntry]
    text: dict[str, dict[str, list[str]]] = {}
    negations: dict[str, list[str]] = {}
    completed_within_days: int = Field(ge=0, le=3660)
    permanent_conditions: list[str] = []
    cause_priority: list[str] = []


def normalise_text(text: str) -> tuple[str, ...]:
    """Lower-case word tokens: accents folded, apostrophes dropped, other punctuation a space."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    folded = re.sub(r"['’`]", "", folded.lower())
    return tuple(re.findall(r"[a-z0-9]+", folded))


def _contains(tokens: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    if n == 0 or n > len(tokens):
        return False
    return any(tokens[i : i + n] == phrase for i in range(len(tokens) - n + 1))


@dataclass(frozen=True)
class CodeTable:
    """The loaded, validated code table."""

    version: str
    entries: tuple[CodeEntry, ...]
    systems: Mapping[str, str]
    completed_within_days: int
    permanent_conditions: frozenset[str]
    cause_priority: tuple[str, ...]
    #: plausible range of each lab (from the vocabulary), checked before a value is used
    lab_ranges: Mapping[str, tuple[float, float]]
    #: vocabulary frequencies as (unit, number): ("days", 7), ("months", 3), ("per_week", 2)
    frequencies: Mapping[str, tuple[str, int]]
    _by_key: Mapping[tuple[str, str], CodeEntry] = field(repr=False)
    _by_concept: Mapping[str, CodeEntry] = field(repr=False)
    _aliases: Mapping[str, str] = field(repr=False)
    #: kind → first word → [(phrase words, value)]
    _phrases: Mapping[str, Mapping[str, tuple[tuple[tuple[str, ...], str], ...]]] = field(
        repr=False
    )
    _negations: Mapping[str, tuple[tuple[str, ...], ...]] = field(repr=False)
    _memo: dict[tuple[str, str], str | None] = field(default_factory=dict, repr=False)

    # ------------------------------------------------------------------ codes
    def system_uri(self, system: str) -> str:
        """The canonical URI of a system given as a URI, a known alias (OID) or a short name."""
        s = system.strip()
        if s in self.systems:
            return self.systems[s]
        if s in self._aliases:
            return self.systems[self._aliases[s]]
        return s

    def _code_key(self, system: str, code: str) -> tuple[str, str]:
        uri = self.system_uri(system)
        c = code.strip()
        if uri in (self.systems.get("icd10"), self.systems.get("icd10cm")):
            c = c.upper()
        return uri, c

    def lookup(self, system: str, code: str) -> CodeEntry | None:
        """The table row for ``system|code`` (any status), or None."""
        if not isinstance(system, str) or not isinstance(code, str):
            return None
        return self._by_key.get(self._code_key(system, code))

    def emittable(self, system: str, code: str) -> bool:
        """True when ``system|code`` is in the table as verified or corroborated."""
        entry = self.lookup(system, code)
        return entry is not None and entry.emittable

    def coding(self, concept: str) -> dict[str, str] | None:
        """The FHIR Coding to emit for a concept such as ``"drug:hydroxocobalamin"``, or None
        when the table has no verified or corroborated code for it."""
        entry = self._by_concept.get(concept)
        return entry.as_coding() if entry is not None else None

    def concepts(self) -> tuple[str, ...]:
        """Every concept that has a code to emit."""
        return tuple(sorted(self._by_concept))

    # ------------------------------------------------------------------ text
    def negated(self, kind: str, text: str) -> bool:
        """True when ``text`` holds a negation word for this kind (or for every kind)."""
        return self._negated(kind, normalise_text(text))

    def _negated(self, kind: str, tokens: tuple[str, ...]) -> bool:
        phrases = (*self._negations.get("all", ()), *self._negations.get(kind, ()))
        return any(_contains(tokens, p) for p in phrases)

    def match_text(self, kind: str, text: str) -> str | None:
        """The value of ``kind`` that ``text`` names (e.g. ``("drug", "Hydroxocobalamin 1mg/1ml
        solution for injection ampoules")`` → ``"hydroxocobalamin"``), or None.

        Whole-word phrases from the vocabulary labels and aliases, the table's displays and the
        table's ``text:`` section; the longest phrase wins; a tie between two values, or a
        negation word in the text, is no match."""
        if not isinstance(text, str) or not text.strip():
            return None
        key = (kind, text)
        if key in self._memo:
            return self._memo[key]
        result = self._match(kind, normalise_text(text[:2000]))
        if len(text) <= 300 and len(self._memo) < 50_000:  # bounded memory
            self._memo[key] = result
        return result

    def _match(self, kind: str, tokens: tuple[str, ...]) -> str | None:
        index = self._phrases.get(kind)
        if not index or self._negated(kind, tokens):
            return None
        best_len = 0
        best: set[str] = set()
        for i, tok in enumerate(tokens):
            for phrase, value in index.get(tok, ()):
                n = len(phrase)
                if n < best_len or tokens[i : i + n] != phrase:
                    continue
                if n > best_len:
                    best_len, best = n, {value}
                else:
                    best.add(value)
        return next(iter(best)) if len(best) == 1 else None

    def kinds(self) -> tuple[str, ...]:
        """The kinds :meth:`match_text` knows."""
        return tuple(sorted(self._phrases))


def _index(
    phrases: set[tuple[tuple[str, ...], str]],
) -> dict[str, tuple[tuple[tuple[str, ...], str], ...]]:
    out: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for phrase, value in sorted(phrases):
        out.setdefault(phrase[0], []).append((phrase, value))
    return {k: tuple(v) for k, v in out.items()}


def _vocab_terms(kb: KnowledgeBase | None) -> dict[str, dict[str, list[str]]]:
    """Vocabulary labels and aliases as text phrases, per matching kind."""
    if kb is None:
        return {}
    v = kb.vocabulary
    sections: dict[str, Mapping[str, Term]] = {
        "condition": v.conditions,
        "medication": v.medications,
        "cause": v.causes,
        "drug": v.products,
    }
    out: dict[str, dict[str, list[str]]] = {}
    for kind, terms in sections.items():
        for name, term in terms.items():
            names = [term.label, *term.aliases]
            if kind != "cause":  # cause names like "dietary" or "unknown" are not phrases
                names.append(name.replace("_", " "))
            out.setdefault(kind, {}).setdefault(name, []).extend(names)
    return out


def _lab_ranges(kb: KnowledgeBase | None) -> dict[str, tuple[float, float]]:
    if kb is None:
        return {}
    return {name: (term.min, term.max) for name, term in kb.vocabulary.labs.items()}


def _frequencies(kb: KnowledgeBase | None) -> dict[str, tuple[str, int]]:
    out: dict[str, tuple[str, int]] = {}
    if kb is None:
        return out
    for name, term in kb.vocabulary.frequencies.items():
        if term.every_days is not None:
            out[name] = ("days", term.every_days)
        elif term.every_months is not None:
            out[name] = ("months", term.every_months)
        elif term.times_per_week is not None:
            out[name] = ("per_week", term.times_per_week)
    return out


def _entry_problems(i: int, e: CodeEntry, owners: dict[str, str]) -> list[str]:
    problems: list[str] = []
    if e.system == "dmd" and e.status != "unverified":
        problems.append(f"codes[{i}]: dm+d codes are unverified (no TRUD release checked)")
    for c in e.concepts:
        if not re.fullmatch(r"[a-z_0-9]+:[A-Za-z_0-9/.%*]+", c):
            problems.append(f"codes[{i}]: concept {c!r} is not kind:name")
        if e.emittable and c in owners:
            problems.append(f"codes[{i}]: concept {c!r} already emitted as {owners[c]}")
        if e.emittable:
            owners[c] = f"{e.system}|{e.code}"
    return problems


def _problems(data: TableFile) -> list[str]:
    problems = [
        f"system_aliases.{short}: unknown system {uri!r}"
        for short, uri in data.system_aliases.items()
        if uri not in data.systems
    ]
    seen: set[tuple[str, str]] = set()
    owners: dict[str, str] = {}
    for i, e in enumerate(data.codes):
        if e.system not in data.systems:
            problems.append(f"codes[{i}]: unknown system {e.system!r}")
        if (e.system, e.code) in seen:
            problems.append(f"codes[{i}]: duplicate {e.system}|{e.code}")
        seen.add((e.system, e.code))
        problems += _entry_problems(i, e, owners)
    problems += [
        f"text.{kind}: unknown kind"
        for kind in data.text
        if kind not in MAP_KINDS | TEXT_ONLY_KINDS
    ]
    return problems


#: Kinds whose table displays are also text-matching phrases.
DISPLAY_KINDS = frozenset(
    {"condition", "medication", "cause", "drug", "route", "lab", "deficiency"}
)


def _phrase_index(
    data: TableFile, entries: tuple[CodeEntry, ...], kb: KnowledgeBase | None
) -> dict[str, dict[str, tuple[tuple[tuple[str, ...], str], ...]]]:
    sources: list[tuple[str, str, Iterable[str]]] = [
        (kind, value, texts)
        for kind, values in (*_vocab_terms(kb).items(), *data.text.items())
        for value, texts in values.items()
    ]
    sources += [
        (kind, value, [e.display])
        for e in entries
        for kind, value in e.meaning().items()
        if kind in DISPLAY_KINDS
    ]
    phrases: dict[str, set[tuple[tuple[str, ...], str]]] = {}
    for kind, value, texts in sources:
        for t in texts:
            toks = normalise_text(t)
            if toks:
                phrases.setdefault(kind, set()).add((toks, value))
    return {k: _index(v) for k, v in phrases.items()}


def _concept_index(entries: tuple[CodeEntry, ...]) -> dict[str, CodeEntry]:
    order = {"verified": 0, "corroborated": 1, "unverified": 2}
    by_concept: dict[str, CodeEntry] = {}
    for e in sorted(entries, key=lambda e: order[e.status]):
        if e.emittable:
            for c in e.concepts:
                by_concept.setdefault(c, e)
    return by_concept


def build_code_table(
    raw: Any, kb: KnowledgeBase | None = None, *, where: str = TABLE_FILE
) -> CodeTable:
    """Validate parsed YAML into a :class:`CodeTable`; :class:`KnowledgeBaseError` if invalid.

    ``kb`` adds the vocabulary's labels and aliases to text matching."""
    try:
        data = TableFile.model_validate(raw)
    except ValidationError as exc:
        raise KnowledgeBaseError(
            [
                KnowledgeProblem(where, ".".join(str(p) for p in err["loc"]), err["msg"])
                for err in exc.errors()
            ]
        ) from None
    problems = _problems(data)
    if problems:
        raise KnowledgeBaseError([KnowledgeProblem(where, "", p) for p in problems])
    entries = tuple(e.model_copy(update={"system": data.systems[e.system]}) for e in data.codes)
    negations = {
        kind: tuple(t for t in (normalise_text(w) for w in words) if t)
        for kind, words in data.negations.items()
    }
    return CodeTable(
        version=data.version,
        entries=entries,
        systems=dict(data.systems),
        completed_within_days=data.completed_within_days,
        permanent_conditions=frozenset(data.permanent_conditions),
        cause_priority=tuple(data.cause_priority),
        lab_ranges=_lab_ranges(kb),
        frequencies=_frequencies(kb),
        _by_key={(e.system, e.code): e for e in entries},
        _by_concept=_concept_index(entries),
        _aliases=dict(data.system_aliases),
        _phrases=_phrase_index(data, entries, kb),
        _negations=negations,
    )


def table_path() -> Path:
    """The bundled terminology.yaml."""
    return Path(str(resources.files("b12.adapters.fhir") / TABLE_FILE))


def read_table_file(path: Path) -> Any:
    """Parse a terminology YAML file (duplicate keys are errors)."""
    yaml = YAML(typ="safe", pure=True)
    yaml.allow_duplicate_keys = False
    try:
        return yaml.load(path.read_text(encoding="utf-8"))
    except (YAMLError, UnicodeDecodeError, OSError) as exc:
        raise KnowledgeBaseError([KnowledgeProblem(path.name, "", f"cannot read: {exc}")]) from None


@cache
def _load_default() -> CodeTable:
    from b12.adapters.knowledge_files import load_knowledge_base

    return build_code_table(read_table_file(table_path()), load_knowledge_base())


def load_code_table(path: Path | None = None, kb: KnowledgeBase | None = None) -> CodeTable:
    """Load the bundled code table (cached), or the one at ``path``.

    Text matching also uses the vocabulary of ``kb`` (default: the bundled knowledge base)."""
    if path is None and kb is None:
        return _load_default()
    if kb is None:
        from b12.adapters.knowledge_files import load_knowledge_base

        kb = load_knowledge_base()
    return build_code_table(read_table_file(path or table_path()), kb)


def _domains(kb: KnowledgeBase) -> dict[str, frozenset[str]]:
    from b12.core.picture import Labs

    v = kb.vocabulary
    return {
        "condition": frozenset(v.conditions),
        "medication": frozenset(v.medications),
        "cause": frozenset(v.causes),
        "lab": frozenset(Labs.model_fields),
        "test": frozenset(v.tests),
        "drug": frozenset(v.products),
        "route": ROUTES,
        "site": SITES,
        "deficiency": DEFICIENCIES,
        "flag": FLAGS,
        "ckd_stage": CKD_STAGES,
        "diet": DIETS,
        "allergy": ALLERGY_CONDITIONS & frozenset(v.conditions),
        "medication_condition": frozenset(v.conditions),
    }


def _mapped_values(table: CodeTable) -> list[tuple[str, str, str]]:
    """(where, kind, value) for every value the table maps to, text phrases included."""
    out: list[tuple[str, str, str]] = []
    for e in table.entries:
        where = f"{e.system}|{e.code}"
        out += [(where, kind, value) for kind, value in e.meaning().items()]
        for c in e.concepts:
            kind, _, value = c.partition(":")
            if kind not in ("finding", "unit"):
                out.append((f"{where} concept", kind, value))
    out += [
        (f"text.{kind}", kind, value)
        for kind, index in table._phrases.items()
        for phrases in index.values()
        for _, value in phrases
    ]
    out += [("permanent_conditions", "condition", n) for n in table.permanent_conditions]
    out += [("cause_priority", "cause", n) for n in table.cause_priority]
    return out


def unknown_values(table: CodeTable, kb: KnowledgeBase) -> list[str]:
    """Every ``maps`` value (and ``text:`` value) that the vocabulary or the picture does not
    know; empty when the table is consistent with the knowledge base."""
    from b12.core.picture import Labs

    domains = _domains(kb)
    out = [
        f"{where}: {kind} {value!r} is not known"
        for where, kind, value in _mapped_values(table)
        if kind in domains and value not in domains[kind]
    ]
    out += [
        f"{e.system}|{e.code}: unit {e.maps['unit']!r} differs from the code"
        for e in table.entries
        if "unit" in e.maps and e.maps["unit"] != e.code
    ]
    out += [
        f"vocabulary lab {name!r} is not a Labs field"
        for name in kb.vocabulary.labs
        if name not in Labs.model_fields
    ]
    return sorted(set(out))


def unverified_codings(document: Any, table: CodeTable, *, limit: int = 100) -> list[str]:
    """Every Coding (``{"system", "code"}`` anywhere in ``document``) whose system is one of the
    table's and whose code is not verified or corroborated there, as ``path: system|code``.

    Output checks (tests, F-out, CDS cards) use it: an empty list means no unverified code is
    emitted.  Systems the table does not cover (FHIR's own code systems) are not judged."""
    ours = set(table.systems.values())
    found: list[str] = []
    stack: list[tuple[Any, str]] = [(document, "$")]
    while stack and len(found) < limit:
        node, path = stack.pop()
        if isinstance(node, dict):
            system, code = node.get("system"), node.get("code")
            if isinstance(system, str) and isinstance(code, str):
                uri = table.system_uri(system)
                if uri in ours and not table.emittable(uri, code):
                    found.append(f"{path}: {uri}|{code}")
            stack.extend((v, f"{path}.{k}") for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, f"{path}[{i}]") for i, v in enumerate(node))
    return sorted(found)
