"""Build a :class:`KnowledgeBase` from already-parsed content, checking every reference.

Input is plain data keyed by file name (the adapter parses YAML); every problem is reported as
``file › field.path: message`` and all problems are collected before raising.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from b12.core import criteria
from b12.core.errors import KnowledgeBaseError, KnowledgeProblem
from b12.core.knowledge import (
    DRAFT_STATUSES,
    AlertAction,
    Answering,
    Citation,
    ClassifyAction,
    DecisionAction,
    DisagreementAction,
    KnowledgeBase,
    MonitorAction,
    Parameter,
    Recommendation,
    Regimen,
    RuleKind,
    Source,
    Vocabulary,
)
from b12.core.picture import PRESENCE_FIELDS, Labs

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class RawContent:
    """Parsed but unvalidated content: ``{file name: data}`` for each kind of file."""

    sources: Mapping[str, Any]
    vocabulary: Mapping[str, Any]
    parameters: Mapping[str, Any]
    regimens: Mapping[str, Any]
    recommendations: Mapping[str, Any]
    content_version: str
    answering: Mapping[str, Any] = field(default_factory=dict)


def _loc(loc: Iterable[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _validate(
    model: type[M], data: Any, file: str, prefix: str, problems: list[KnowledgeProblem]
) -> M | None:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            path = _loc([*([prefix] if prefix else []), *err["loc"]])
            problems.append(KnowledgeProblem(file, path, err["msg"]))
        return None


def _listing(file: str, data: Any, problems: list[KnowledgeProblem]) -> list[Any]:
    if not isinstance(data, list):
        problems.append(KnowledgeProblem(file, "", "expected a list of entries"))
        return []
    return data


class _Checker:
    def __init__(self, problems: list[KnowledgeProblem]) -> None:
        self.problems = problems

    def add(self, file: str, path: str, message: str) -> None:
        self.problems.append(KnowledgeProblem(file, path, message))


def build_knowledge_base(raw: RawContent) -> KnowledgeBase:  # noqa: C901 - linear validation steps
    """Validate shapes and references; raise :class:`KnowledgeBaseError` listing every problem."""
    problems: list[KnowledgeProblem] = []
    check = _Checker(problems)

    sources: dict[str, Source] = {}
    for file, data in raw.sources.items():
        for i, entry in enumerate(_listing(file, data, problems)):
            src = _validate(Source, entry, file, f"[{i}]", problems)
            if src is None:
                continue
            if src.id in sources:
                check.add(file, f"[{i}].id", f"duplicate source id {src.id!r}")
            sources[src.id] = src

    vocab: Vocabulary | None = None
    for file, data in raw.vocabulary.items():
        vocab = _validate(Vocabulary, data, file, "", problems)

    parameters: dict[str, Parameter] = {}
    param_files: dict[str, str] = {}
    for file, data in raw.parameters.items():
        for i, entry in enumerate(_listing(file, data, problems)):
            par = _validate(Parameter, entry, file, f"[{i}]", problems)
            if par is None:
                continue
            if par.id in parameters:
                check.add(file, f"[{i}].id", f"duplicate parameter id {par.id!r}")
            parameters[par.id] = par
            param_files[par.id] = file

    regimens: dict[str, Regimen] = {}
    regimen_files: dict[str, str] = {}
    for file, data in raw.regimens.items():
        reg = _validate(Regimen, data, file, "", problems)
        if reg is None:
            continue
        if _stem(file) != reg.id:
            check.add(file, "id", f"id {reg.id!r} must equal the file name")
        regimens[reg.id] = reg
        regimen_files[reg.id] = file

    recs: dict[str, Recommendation] = {}
    rec_files: dict[str, str] = {}
    for file, data in raw.recommendations.items():
        rec = _validate(Recommendation, data, file, "", problems)
        if rec is None:
            continue
        if _stem(file) != rec.id:
            check.add(file, "id", f"id {rec.id!r} must equal the file name")
        if rec.id in recs:
            check.add(file, "id", f"duplicate recommendation id {rec.id!r}")
        recs[rec.id] = rec
        rec_files[rec.id] = file

    answering: Answering | None = None
    for file, data in raw.answering.items():
        answering = _validate(Answering, data, file, "", problems)
    if not raw.answering:
        check.add("answering.yaml", "", "missing")

    if vocab is None:
        if not raw.vocabulary:
            check.add("vocabulary.yaml", "", "missing")
        raise KnowledgeBaseError(problems)

    def cites(file: str, path: str, cits: Iterable[Citation], status: str) -> None:
        for j, cit in enumerate(cits):
            src = sources.get(cit.source)
            if src is None:
                check.add(file, f"{path}[{j}].source", f"unknown source {cit.source!r}")
            elif status == "approved" and src.superseded_by is not None:
                check.add(
                    file,
                    f"{path}[{j}].source",
                    f"approved content cites superseded source {src.id!r}"
                    f" (superseded by {src.superseded_by!r})",
                )

    for src in sources.values():
        if src.superseded_by is not None and src.superseded_by not in sources:
            check.add(
                "sources.yaml", src.id, f"superseded_by names unknown source {src.superseded_by!r}"
            )

    printout = vocab.patient_printout
    for section in ("missed", "call_us"):
        for k, item in enumerate(getattr(printout, section)):
            cites(
                "vocabulary.yaml",
                f"patient_printout.{section}[{k}].citations",
                item.citations,
                "approved",
            )

    for par in parameters.values():
        cites(param_files[par.id], f"{par.id}.citations", par.citations, par.status)

    for reg in regimens.values():
        file = regimen_files[reg.id]
        cites(file, "citations", reg.citations, reg.status)
        for k, phase in enumerate(reg.phases):
            if phase.until is not None and phase.until not in vocab.events:
                check.add(file, f"phases[{k}].until", f"unknown event {phase.until!r}")

    definitions = vocab.definitions
    vocab_sets: dict[str, set[str]] = {
        "cause": set(vocab.causes),
        "conditions": set(vocab.conditions),
        "medications": set(vocab.medications),
        "neuro_symptoms": set(vocab.neuro_symptoms) | {"any"},
        "deficiency": {"confirmed", "indeterminate", "suspected", "at_risk", "not_deficient"},
        "stated_deficiency": {
            "confirmed",
            "indeterminate",
            "suspected",
            "at_risk",
            "not_deficient",
        },
        "diet": {"omnivore", "vegetarian", "vegan"},
        "sex": {"female", "male", "other", "unknown"},
        "guideline": {"uk", "us"},
        "route_preference": {"im", "oral"},
        "drug_preference": {"hydroxocobalamin", "cyanocobalamin"},
        "regimen_drug": {"hydroxocobalamin", "cyanocobalamin"},
        "regimen_route": {"im", "deep_sc", "sc", "iv", "oral", "sublingual", "intranasal"},
        "phase_kind": {"loading", "maintenance", "prophylaxis", "replacement"},
    }
    vocab_sets.update(
        {
            "order_drug": {*vocab.products, "unknown"},
            "order_kind": {"b12", "folate", "unknown"},
            "order_route": vocab_sets["regimen_route"],
            "order_site": {"deltoid", "vastus_lateralis", "ventrogluteal", "dorsogluteal"},
            "order_timing": {"first_dose", "early", "on_time", "late", "not_applicable"},
            "event": set(vocab.events),
            "timing": {"not_yet_due", "due", "overdue", "continuous"},
            "regimen_until": set(vocab.events),
            "history_route": {"oral", "injection"},
        }
    )
    pathway_names = {
        r.action.pathway for r in recs.values() if isinstance(r.action, DecisionAction)
    }
    vocab_sets["pathway"] = pathway_names

    def condition_refs(file: str, path: str, cond: criteria.Condition) -> None:
        for node in criteria.walk(cond):
            if isinstance(node, criteria.Member):
                allowed = vocab_sets.get(node.field, set())
                for v in node.values:
                    if v not in allowed:
                        check.add(file, path, f"unknown {node.field} value {v!r}")
            elif isinstance(node, criteria.Compare):
                if node.param is not None and node.param not in parameters:
                    check.add(file, path, f"unknown parameter {node.param!r}")
                if node.field.startswith("labs.") and node.field[5:] not in vocab.labs:
                    check.add(file, path, f"unknown lab {node.field[5:]!r}")
            elif isinstance(node, criteria.Present):
                if not _known_field(node.field, vocab):
                    check.add(file, path, f"unknown field {node.field!r}")
            elif isinstance(node, criteria.Ref) and node.name not in definitions:
                check.add(file, path, f"unknown definition {node.name!r}")

    if "irreversible_cause" not in definitions:
        check.add(
            "vocabulary.yaml", "definitions", "the 'irreversible_cause' definition is required"
        )
    for name in vocab.labs:
        if name not in Labs.model_fields:
            check.add("vocabulary.yaml", f"labs.{name}", "no such field in the picture's labs")
    for reg in regimens.values():
        for k, phase in enumerate(reg.phases):
            if (
                phase.times_per_week
                and not phase.weekdays
                and phase.times_per_week != len(set(vocab.clinic_weekdays))
            ):
                check.add(
                    regimen_files[reg.id],
                    f"phases[{k}].weekdays",
                    "required: times_per_week differs from the number of clinic weekdays",
                )
    for name, cond in definitions.items():
        condition_refs("vocabulary.yaml", f"definitions.{name}", cond)
    _check_definition_cycles(definitions, check)

    for rec in recs.values():
        file = rec_files[rec.id]
        cites(file, "citations", rec.citations, rec.status)
        if rec.when is not None:
            condition_refs(file, "when", rec.when)
        act = rec.action
        if isinstance(act, DecisionAction):
            if act.regimen is not None:
                reg = regimens.get(act.regimen)
                if reg is None:
                    check.add(file, "action.regimen", f"unknown regimen {act.regimen!r}")
                else:
                    if reg.guideline not in rec.jurisdiction:
                        check.add(file, "action.regimen", "regimen is for another guideline set")
                    if rec.status == "approved" and reg.status != "approved":
                        check.add(
                            file, "action.regimen", f"approved item uses {reg.status} regimen"
                        )
            for k, alt in enumerate(act.alternatives):
                if alt.pathway not in pathway_names:
                    check.add(
                        file,
                        f"action.alternatives[{k}].pathway",
                        f"unknown pathway {alt.pathway!r}",
                    )
            for k, miss in enumerate(act.missing):
                if not _known_field(miss.field, vocab):
                    check.add(file, f"action.missing[{k}].field", f"unknown field {miss.field!r}")
        elif isinstance(act, AlertAction):
            if act.code not in vocab.alert_codes:
                check.add(file, "action.code", f"unknown alert code {act.code!r}")
        elif isinstance(act, MonitorAction):
            for k, item in enumerate(act.items):
                for t in item.tests:
                    if t not in vocab.tests:
                        check.add(file, f"action.items[{k}].tests", f"unknown test {t!r}")
        elif isinstance(act, DisagreementAction):
            for k, pos in enumerate(act.positions):
                cites(file, f"action.positions[{k}].citations", pos.citations, rec.status)
        if rec.status == "approved" and rec.when is not None:
            for node in criteria.walk(rec.when):
                if (
                    isinstance(node, criteria.Compare)
                    and node.param in parameters
                    and parameters[node.param].status != "approved"
                ):
                    check.add(
                        file, "when", f"approved item uses unapproved parameter {node.param!r}"
                    )

    seen_pathways: dict[str, str] = {}
    for rec in recs.values():
        if isinstance(rec.action, DecisionAction):
            if rec.action.pathway in seen_pathways:
                check.add(
                    rec_files[rec.id],
                    "action.pathway",
                    f"pathway also defined by {seen_pathways[rec.action.pathway]}",
                )
            seen_pathways[rec.action.pathway] = rec.id

    for juris in ("uk", "us"):
        if not any(
            isinstance(r.action, DecisionAction)
            and r.when is None
            and juris in r.jurisdiction
            and r.status == "approved"
            for r in recs.values()
        ):
            check.add(
                "recommendations", "", f"no approved catch-all decision (no 'when') for {juris!r}"
            )

    _check_answer_phrases(recs, rec_files, check)

    if problems or answering is None:
        raise KnowledgeBaseError(problems)

    ordered = sorted(recs.values(), key=lambda r: r.id)
    decisions = tuple(
        sorted(
            (r for r in ordered if isinstance(r.action, DecisionAction)),
            key=lambda r: (_priority(r), r.id),
        )
    )
    classifiers = tuple(
        sorted(
            (r for r in ordered if isinstance(r.action, ClassifyAction)),
            key=lambda r: (_priority(r), r.id),
        )
    )
    others = tuple(r for r in ordered if not isinstance(r.action, DecisionAction | ClassifyAction))
    pathways = {r.action.pathway: r for r in decisions if isinstance(r.action, DecisionAction)}
    resolve = {p.id: p.value for p in parameters.values()}.__getitem__
    predicates = {
        r.id: criteria.compile_condition(r.when, resolve, definitions)
        for r in ordered
        if r.when is not None
    }
    predicates.update(
        {
            f"def:{name}": criteria.compile_condition(cond, resolve, definitions)
            for name, cond in definitions.items()
        }
    )
    kb = KnowledgeBase(
        sources=dict(sorted(sources.items())),
        recommendations={r.id: r for r in ordered},
        regimens=dict(sorted(regimens.items())),
        parameters=dict(sorted(parameters.items())),
        vocabulary=vocab,
        content_version=raw.content_version,
        answering=answering,
        decisions=decisions,
        classifiers=classifiers,
        others=others,
        pathways=pathways,
        predicates=predicates,
    )
    lists: dict[RuleKind, tuple[Recommendation, ...]] = {
        "decisions": decisions,
        "classifiers": classifiers,
        "others": others,
    }
    for kind, recs_list in lists.items():
        for juris in ("uk", "us"):
            for allow in (False, True):
                kb.usable_index[(kind, juris, allow)] = tuple(
                    r
                    for r in recs_list
                    if juris in r.jurisdiction
                    and (r.status == "approved" or (allow and r.status in DRAFT_STATUSES))
                )
    return kb


def _check_answer_phrases(
    recs: Mapping[str, Recommendation], rec_files: Mapping[str, str], check: _Checker
) -> None:
    """Aliases and canonical questions: no repeats within an item; a question names one item."""
    asked: dict[str, str] = {}
    for rec in recs.values():
        file = rec_files[rec.id]
        for name, phrases in (("aliases", rec.aliases), ("questions", rec.questions)):
            folded = [p.casefold().strip() for p in phrases]
            if len(set(folded)) != len(folded):
                check.add(file, name, "repeated entry")
        for k, question in enumerate(rec.questions):
            key = question.casefold().strip()
            if key in asked and asked[key] != rec.id:
                check.add(file, f"questions[{k}]", f"same question as {asked[key]}")
            asked.setdefault(key, rec.id)


def _priority(rec: Recommendation) -> int:
    act = rec.action
    return act.priority if isinstance(act, DecisionAction | ClassifyAction) else 0


def _stem(file: str) -> str:
    name = file.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[0]


def _known_field(name: str, vocab: Vocabulary) -> bool:
    """A field whose presence the engine records (see ``picture.PRESENCE_FIELDS``)."""
    if name in PRESENCE_FIELDS:
        return True
    return name.startswith("labs.") and name[5:] in vocab.labs


def _check_definition_cycles(defs: Mapping[str, criteria.Condition], check: _Checker) -> None:
    def refs(cond: criteria.Condition) -> set[str]:
        return {n.name for n in criteria.walk(cond) if isinstance(n, criteria.Ref)}

    for start in defs:
        stack, seen = [start], set[str]()
        while stack:
            name = stack.pop()
            for nxt in refs(defs[name]) if name in defs else set():
                if nxt == start:
                    check.add(
                        "vocabulary.yaml", f"definitions.{start}", "definition refers to itself"
                    )
                    stack.clear()
                    break
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
