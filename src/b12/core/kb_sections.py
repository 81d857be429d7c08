"""Validators for each section of the content, one per file kind (used by ``kb_build``).

Each ``parse_*`` function checks one kind of file on its own (shape, ids, duplicates and the
references that stay inside the section) and returns what it could read; every problem goes
to a :class:`Checker` as ``file › field.path: message``.  Checks that join sections live in
:mod:`b12.core.kb_links`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from b12.core import criteria
from b12.core.errors import KnowledgeProblem
from b12.core.knowledge import Answering, Parameter, Recommendation, Regimen, Source, Vocabulary
from b12.core.picture import Labs

M = TypeVar("M", bound=BaseModel)
VOCABULARY_FILE = "vocabulary.yaml"


class Checker:
    """Collects problems; a validator adds to it and never raises."""

    def __init__(self) -> None:
        self.problems: list[KnowledgeProblem] = []

    def add(self, file: str, path: str, message: str) -> None:
        """Record one problem at ``file › path``."""
        self.problems.append(KnowledgeProblem(file, path, message))


@dataclass
class Located(Generic[M]):
    """Items of one kind by id, with the file each came from."""

    items: dict[str, M] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)

    def put(self, item_id: str, item: M, file: str) -> None:
        """Keep ``item`` (a later duplicate replaces an earlier one, as before)."""
        self.items[item_id] = item
        self.files[item_id] = file


def loc(parts: Iterable[int | str]) -> str:
    """A pydantic error location as a field path: ``phases[0].dose``."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def validate(model: type[M], data: Any, file: str, prefix: str, check: Checker) -> M | None:
    """``data`` as a ``model``, or ``None`` with each validation error recorded."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            check.add(file, loc([*([prefix] if prefix else []), *err["loc"]]), err["msg"])
        return None


def listing(file: str, data: Any, check: Checker) -> list[Any]:
    """The entries of a list file (a problem, and nothing, when it is not a list)."""
    if not isinstance(data, list):
        check.add(file, "", "expected a list of entries")
        return []
    return data


def stem(file: str) -> str:
    """The file name without folder and extension (an item's id)."""
    return file.rsplit("/", 1)[-1].rsplit(".", 1)[0]


# -- sources -----------------------------------------------------------------------------------


def parse_sources(raw: Mapping[str, Any], check: Checker) -> dict[str, Source]:
    """The bibliography: shapes, unique ids, and ``superseded_by`` naming a known source."""
    sources: dict[str, Source] = {}
    for file, data in raw.items():
        for i, entry in enumerate(listing(file, data, check)):
            src = validate(Source, entry, file, f"[{i}]", check)
            if src is None:
                continue
            if src.id in sources:
                check.add(file, f"[{i}].id", f"duplicate source id {src.id!r}")
            sources[src.id] = src
    for src in sources.values():
        if src.superseded_by is not None and src.superseded_by not in sources:
            check.add(
                "sources.yaml", src.id, f"superseded_by names unknown source {src.superseded_by!r}"
            )
    return sources


# -- vocabulary --------------------------------------------------------------------------------


def parse_vocabulary(raw: Mapping[str, Any], check: Checker) -> Vocabulary | None:
    """The vocabulary: shape, lab names the picture knows, and definitions without cycles."""
    vocab: Vocabulary | None = None
    for file, data in raw.items():
        vocab = validate(Vocabulary, data, file, "", check)
    if not raw:
        check.add(VOCABULARY_FILE, "", "missing")
    if vocab is None:
        return None
    for required in ("irreversible_cause", "clinical_suspicion"):
        if required not in vocab.definitions:
            check.add(VOCABULARY_FILE, "definitions", f"the {required!r} definition is required")
    for name in vocab.labs:
        if name not in Labs.model_fields:
            check.add(VOCABULARY_FILE, f"labs.{name}", "no such field in the picture's labs")
    check_definition_cycles(vocab.definitions, check)
    return vocab


def check_definition_cycles(defs: Mapping[str, criteria.Condition], check: Checker) -> None:
    """A definition may not refer to itself, directly or through others."""

    def refs(cond: criteria.Condition) -> set[str]:
        return {n.name for n in criteria.walk(cond) if isinstance(n, criteria.Ref)}

    for start in defs:
        stack, seen = [start], set[str]()
        while stack:
            name = stack.pop()
            for nxt in refs(defs[name]) if name in defs else set():
                if nxt == start:
                    check.add(
                        VOCABULARY_FILE, f"definitions.{start}", "definition refers to itself"
                    )
                    stack.clear()
                    break
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)


# -- parameters --------------------------------------------------------------------------------


def parse_parameters(raw: Mapping[str, Any], check: Checker) -> Located[Parameter]:
    """Named thresholds: shapes and unique ids."""
    out: Located[Parameter] = Located()
    for file, data in raw.items():
        for i, entry in enumerate(listing(file, data, check)):
            par = validate(Parameter, entry, file, f"[{i}]", check)
            if par is None:
                continue
            if par.id in out.items:
                check.add(file, f"[{i}].id", f"duplicate parameter id {par.id!r}")
            out.put(par.id, par, file)
    return out


# -- regimens ----------------------------------------------------------------------------------


def parse_regimens(raw: Mapping[str, Any], check: Checker) -> Located[Regimen]:
    """Dose protocols: shapes, and each id equal to its file name."""
    out: Located[Regimen] = Located()
    for file, data in raw.items():
        reg = validate(Regimen, data, file, "", check)
        if reg is None:
            continue
        if stem(file) != reg.id:
            check.add(file, "id", f"id {reg.id!r} must equal the file name")
        out.put(reg.id, reg, file)
    return out


def check_regimen_vocabulary(regimens: Located[Regimen], vocab: Vocabulary, check: Checker) -> None:
    """Phases end at known events, and name weekdays when the clinic's do not fit."""
    clinic_days = len(set(vocab.clinic_weekdays))
    for reg in regimens.items.values():
        file = regimens.files[reg.id]
        for k, phase in enumerate(reg.phases):
            if phase.until is not None and phase.until not in vocab.events:
                check.add(file, f"phases[{k}].until", f"unknown event {phase.until!r}")
            if phase.times_per_week and not phase.weekdays and phase.times_per_week != clinic_days:
                check.add(
                    file,
                    f"phases[{k}].weekdays",
                    "required: times_per_week differs from the number of clinic weekdays",
                )


# -- recommendations and answering -------------------------------------------------------------


def parse_recommendations(raw: Mapping[str, Any], check: Checker) -> Located[Recommendation]:
    """Recommendations and safety rules: shapes, ids equal to file names, unique ids."""
    out: Located[Recommendation] = Located()
    for file, data in raw.items():
        rec = validate(Recommendation, data, file, "", check)
        if rec is None:
            continue
        if stem(file) != rec.id:
            check.add(file, "id", f"id {rec.id!r} must equal the file name")
        if rec.id in out.items:
            check.add(file, "id", f"duplicate recommendation id {rec.id!r}")
        out.put(rec.id, rec, file)
    return out


def parse_answering(raw: Mapping[str, Any], check: Checker) -> Answering | None:
    """The answer engine's content (``answering.yaml``, which must exist), with the common
    English words of ``english_words.yaml`` as ``common_words`` and the questions of
    ``phrasings.yaml`` (optional) as ``phrasings``."""
    answering: Answering | None = None
    words = raw.get(ENGLISH_WORDS)
    common = words.get("words", "") if isinstance(words, Mapping) else ""
    said = raw.get(PHRASINGS)
    if PHRASINGS in raw and not (
        isinstance(said, Mapping) and isinstance(said.get("phrasings"), Mapping)
    ):
        check.add(PHRASINGS, "phrasings", "a mapping of recommendation id to questions is required")
    phrasings = said.get("phrasings") if isinstance(said, Mapping) else None
    merged = (ENGLISH_WORDS, PHRASINGS)
    for file, data in raw.items():
        if file in merged:
            continue
        if isinstance(data, Mapping):
            data = {**data, "common_words": common}
            if isinstance(phrasings, Mapping):
                data["phrasings"] = phrasings
        answering = validate(Answering, data, file, "", check)
    if not any(file not in merged for file in raw):
        check.add("answering.yaml", "", "missing")
    return answering


#: The file of common English words merged into ``Answering.common_words``.
ENGLISH_WORDS = "english_words.yaml"
#: The file of questions merged into ``Answering.phrasings`` (``scripts/phrasings.py``).
PHRASINGS = "phrasings.yaml"
