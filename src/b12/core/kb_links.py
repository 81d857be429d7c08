"""Validators that join sections: citations, rules' references, pathways, review levels, terms.

Each function takes the already-parsed sections (:class:`Parsed`) and a
:class:`~b12.core.kb_sections.Checker`, and records every problem it finds as
``file › field.path: message``; none of them raises.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from b12.core import criteria
from b12.core.kb_sections import VOCABULARY_FILE, Checker, Located
from b12.core.knowledge import (
    AlertAction,
    Answering,
    Citation,
    DecisionAction,
    DisagreementAction,
    MonitorAction,
    Parameter,
    Recommendation,
    Regimen,
    Review,
    Source,
    Vocabulary,
)
from b12.core.picture import PRESENCE_FIELDS

#: Vocabulary sections whose terms a clinical picture can state, and the condition field that
#: reads them.  Every such term must be read by a rule or be marked ``informational``.
PICTURE_TERMS: dict[str, str] = {
    "causes": "cause",
    "conditions": "conditions",
    "medications": "medications",
    "neuro_symptoms": "neuro_symptoms",
}
DEFICIENCY_VALUES = {"confirmed", "indeterminate", "suspected", "at_risk", "not_deficient"}
DRUGS = {"hydroxocobalamin", "cyanocobalamin"}
ROUTES = {"im", "deep_sc", "sc", "iv", "oral", "sublingual", "intranasal"}


@dataclass(frozen=True)
class Parsed:
    """Every section that parsed, ready for the checks that join them."""

    sources: Mapping[str, Source]
    vocab: Vocabulary
    parameters: Located[Parameter]
    regimens: Located[Regimen]
    recs: Located[Recommendation]


# -- citations ---------------------------------------------------------------------------------


def _cites(
    parsed: Parsed, check: Checker, where: tuple[str, str], cits: Iterable[Citation], status: str
) -> None:
    file, path = where
    for j, cit in enumerate(cits):
        src = parsed.sources.get(cit.source)
        if src is None:
            check.add(file, f"{path}[{j}].source", f"unknown source {cit.source!r}")
        elif status == "approved" and src.superseded_by is not None:
            check.add(
                file,
                f"{path}[{j}].source",
                f"approved content cites superseded source {src.id!r}"
                f" (superseded by {src.superseded_by!r})",
            )


def check_citations(parsed: Parsed, check: Checker) -> None:
    """Every citation names a known source; approved content cites no superseded source."""
    pars = parsed.parameters
    for par in pars.items.values():
        _cites(
            parsed, check, (pars.files[par.id], f"{par.id}.citations"), par.citations, par.status
        )
    for reg in parsed.regimens.items.values():
        where = (parsed.regimens.files[reg.id], "citations")
        _cites(parsed, check, where, reg.citations, reg.status)
    for rec in parsed.recs.items.values():
        file = parsed.recs.files[rec.id]
        _cites(parsed, check, (file, "citations"), rec.citations, rec.status)
        if isinstance(rec.action, DisagreementAction):
            for k, pos in enumerate(rec.action.positions):
                where = (file, f"action.positions[{k}].citations")
                _cites(parsed, check, where, pos.citations, rec.status)
    printout = parsed.vocab.patient_printout
    for section in ("missed", "call_us"):
        for k, item in enumerate(getattr(printout, section)):
            where = ("vocabulary.yaml", f"patient_printout.{section}[{k}].citations")
            _cites(parsed, check, where, item.citations, "approved")


# -- conditions --------------------------------------------------------------------------------


def allowed_values(vocab: Vocabulary, recs: Iterable[Recommendation]) -> dict[str, set[str]]:
    """The values a condition may test, by field (vocabulary terms and fixed picture values)."""
    events = set(vocab.events)
    return {
        "cause": set(vocab.causes),
        "conditions": set(vocab.conditions),
        "medications": set(vocab.medications),
        "neuro_symptoms": set(vocab.neuro_symptoms) | {"any"},
        "deficiency": DEFICIENCY_VALUES,
        "stated_deficiency": DEFICIENCY_VALUES,
        "diet": {"omnivore", "vegetarian", "vegan"},
        "sex": {"female", "male", "other", "unknown"},
        "guideline": {"uk", "us"},
        "route_preference": {"im", "oral"},
        "drug_preference": DRUGS,
        "regimen_drug": DRUGS,
        "regimen_route": ROUTES,
        "phase_kind": {"loading", "maintenance", "prophylaxis", "replacement"},
        "order_drug": {*vocab.products, "unknown"},
        "order_kind": {"b12", "folate", "unknown"},
        "order_route": ROUTES,
        "order_site": {"deltoid", "vastus_lateralis", "ventrogluteal", "dorsogluteal"},
        "order_timing": {
            "first_dose",
            "early",
            "on_time",
            "late",
            "not_judged",
            "not_applicable",
        },
        "course_basis": {"recorded", "declared", "inferred", "ambiguous"},
        "event": events,
        "timing": {"not_yet_due", "due", "overdue", "continuous"},
        "regimen_until": events,
        "history_route": {"oral", "injection"},
        "pathway": {r.action.pathway for r in recs if isinstance(r.action, DecisionAction)},
    }


def known_field(name: str, vocab: Vocabulary) -> bool:
    """A field whose presence the engine records (see ``picture.PRESENCE_FIELDS``)."""
    if name in PRESENCE_FIELDS:
        return True
    return name.startswith("labs.") and name[5:] in vocab.labs


def _node_problem(
    node: criteria.Condition, parsed: Parsed, allowed: Mapping[str, set[str]]
) -> list[str]:
    vocab = parsed.vocab
    if isinstance(node, criteria.Member):
        known = allowed.get(node.field, set())
        return [f"unknown {node.field} value {v!r}" for v in node.values if v not in known]
    if isinstance(node, criteria.Compare):
        out = []
        if node.param is not None and node.param not in parsed.parameters.items:
            out.append(f"unknown parameter {node.param!r}")
        if node.field.startswith("labs.") and node.field[5:] not in vocab.labs:
            out.append(f"unknown lab {node.field[5:]!r}")
        return out
    if isinstance(node, criteria.Present) and not known_field(node.field, vocab):
        return [f"unknown field {node.field!r}"]
    if isinstance(node, criteria.Ref) and node.name not in vocab.definitions:
        return [f"unknown definition {node.name!r}"]
    return []


def check_conditions(parsed: Parsed, check: Checker) -> None:
    """Every value, parameter, lab, field and definition a condition names exists."""
    allowed = allowed_values(parsed.vocab, parsed.recs.items.values())
    located: list[tuple[str, str, criteria.Condition]] = [
        (VOCABULARY_FILE, f"definitions.{name}", cond)
        for name, cond in parsed.vocab.definitions.items()
    ]
    located += [
        (parsed.recs.files[rec.id], "when", rec.when)
        for rec in parsed.recs.items.values()
        if rec.when is not None
    ]
    for file, path, cond in located:
        for node in criteria.walk(cond):
            for message in _node_problem(node, parsed, allowed):
                check.add(file, path, message)


def check_unapproved_parameters(parsed: Parsed, check: Checker) -> None:
    """An approved rule may only compare against approved parameters."""
    params = parsed.parameters.items
    for rec in parsed.recs.items.values():
        if rec.status != "approved" or rec.when is None:
            continue
        for node in criteria.walk(rec.when):
            if (
                isinstance(node, criteria.Compare)
                and node.param in params
                and params[node.param].status != "approved"
            ):
                check.add(
                    parsed.recs.files[rec.id],
                    "when",
                    f"approved item uses unapproved parameter {node.param!r}",
                )


# -- actions -----------------------------------------------------------------------------------


def _decision_problems(
    rec: Recommendation, act: DecisionAction, parsed: Parsed, pathways: set[str]
) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if act.regimen is not None:
        reg = parsed.regimens.items.get(act.regimen)
        if reg is None:
            out.append(("action.regimen", f"unknown regimen {act.regimen!r}"))
        else:
            if reg.guideline not in rec.jurisdiction:
                out.append(("action.regimen", "regimen is for another guideline set"))
            if rec.status == "approved" and reg.status != "approved":
                out.append(("action.regimen", f"approved item uses {reg.status} regimen"))
    out += [
        (f"action.alternatives[{k}].pathway", f"unknown pathway {alt.pathway!r}")
        for k, alt in enumerate(act.alternatives)
        if alt.pathway not in pathways
    ]
    out += [
        (f"action.missing[{k}].field", f"unknown field {miss.field!r}")
        for k, miss in enumerate(act.missing)
        if not known_field(miss.field, parsed.vocab)
    ]
    return out


def _action_problems(
    rec: Recommendation, parsed: Parsed, pathways: set[str]
) -> list[tuple[str, str]]:
    act, vocab = rec.action, parsed.vocab
    if isinstance(act, DecisionAction):
        return _decision_problems(rec, act, parsed, pathways)
    if isinstance(act, AlertAction) and act.code not in vocab.alert_codes:
        return [("action.code", f"unknown alert code {act.code!r}")]
    if isinstance(act, MonitorAction):
        return [
            (f"action.items[{k}].tests", f"unknown test {t!r}")
            for k, item in enumerate(act.items)
            for t in item.tests
            if t not in vocab.tests
        ]
    return []


def check_actions(parsed: Parsed, check: Checker) -> None:
    """Regimens, pathways, fields, alert codes and tests named by actions exist and fit."""
    recs = parsed.recs
    pathways = {
        r.action.pathway for r in recs.items.values() if isinstance(r.action, DecisionAction)
    }
    for rec in recs.items.values():
        for path, message in _action_problems(rec, parsed, pathways):
            check.add(recs.files[rec.id], path, message)


def check_pathways(parsed: Parsed, check: Checker) -> None:
    """One decision per pathway, and an approved catch-all decision for each guideline set."""
    recs = parsed.recs
    seen: dict[str, str] = {}
    for rec in recs.items.values():
        if isinstance(rec.action, DecisionAction):
            if rec.action.pathway in seen:
                check.add(
                    recs.files[rec.id],
                    "action.pathway",
                    f"pathway also defined by {seen[rec.action.pathway]}",
                )
            seen[rec.action.pathway] = rec.id
    for juris in ("uk", "us"):
        if not any(
            isinstance(r.action, DecisionAction)
            and r.when is None
            and juris in r.jurisdiction
            and r.status == "approved"
            for r in recs.items.values()
        ):
            check.add(
                "recommendations", "", f"no approved catch-all decision (no 'when') for {juris!r}"
            )


# -- answer phrases ----------------------------------------------------------------------------


def check_answer_phrases(recs: Located[Recommendation], check: Checker) -> None:
    """Aliases and canonical questions: no repeats within an item; a question names one item."""
    asked: dict[str, str] = {}
    for rec in recs.items.values():
        file = recs.files[rec.id]
        for name, phrases in (("aliases", rec.aliases), ("questions", rec.questions)):
            folded = [p.casefold().strip() for p in phrases]
            if len(set(folded)) != len(folded):
                check.add(file, name, "repeated entry")
        for k, question in enumerate(rec.questions):
            key = question.casefold().strip()
            if key in asked and asked[key] != rec.id:
                check.add(file, f"questions[{k}]", f"same question as {asked[key]}")
            asked.setdefault(key, rec.id)


def check_masks(recs: Located[Recommendation], check: Checker) -> None:
    """Every id an item ``masks`` is another recommendation."""
    for rec in recs.items.values():
        for k, other in enumerate(rec.masks):
            if other not in recs.items or other == rec.id:
                check.add(recs.files[rec.id], f"masks[{k}]", f"unknown recommendation {other!r}")


def check_phrasings(recs: Located[Recommendation], answering: Answering, check: Checker) -> None:
    """Every question of ``phrasings.yaml`` names a recommendation (one not approved is never
    indexed, so its questions wait unused until it is)."""
    for rec_id in answering.phrasings:
        if rec_id not in recs.items:
            check.add("phrasings.yaml", f"phrasings.{rec_id}", "not a recommendation")


# -- review levels -----------------------------------------------------------------------------


def _review_problem(status: str, review: Review) -> str | None:
    if status == "approved" and review.level == "none":
        return "approved content must record how far it was reviewed (engineering or clinical)"
    if status in {"draft", "submitted", "in-review"} and review.level == "clinical":
        return f"{status} content cannot be clinically signed off"
    return None


def check_review_levels(parsed: Parsed, check: Checker) -> None:
    """Approved items record their review level; unapproved ones claim no clinical sign-off."""
    located: list[tuple[str, str, Review]] = [
        (parsed.regimens.files[r.id], r.status, r.review) for r in parsed.regimens.items.values()
    ]
    located += [(parsed.recs.files[r.id], r.status, r.review) for r in parsed.recs.items.values()]
    for file, status, review in located:
        problem = _review_problem(status, review)
        if problem is not None:
            check.add(file, "review.level", problem)


# -- terms a picture can state -----------------------------------------------------------------


def terms_read(parsed: Parsed) -> dict[str, dict[str, list[str]]]:
    """For each picture field of :data:`PICTURE_TERMS`: ``{term: [who reads it]}``.

    A reader is a recommendation that is not retired (by id) or a vocabulary definition
    (``def:<name>``); ``neuro_symptoms: [any]`` reads every symptom.
    """
    fields = set(PICTURE_TERMS.values())
    read: dict[str, dict[str, list[str]]] = {f: {} for f in fields}
    conds = [(f"def:{n}", c) for n, c in parsed.vocab.definitions.items()]
    conds += [
        (r.id, r.when)
        for r in parsed.recs.items.values()
        if r.when is not None and r.status != "retired"
    ]
    for who, cond in conds:
        for node in criteria.walk(cond):
            if isinstance(node, criteria.Member) and node.field in fields:
                for value in node.values:
                    read[node.field].setdefault(value, []).append(who)
    return read


def check_terms_read(parsed: Parsed, check: Checker) -> None:
    """A term a picture can state is read by some rule, or marked ``informational``.

    An unread term would be accepted and then change nothing; an informational mark on a
    term some rule reads is stale and must go.
    """
    read = terms_read(parsed)
    for section, fld in PICTURE_TERMS.items():
        readers = read[fld]
        for name, term in getattr(parsed.vocab, section).items():
            who = readers.get(name) or readers.get("any", [])
            path = f"{section}.{name}"
            if term.informational and who:
                check.add(
                    VOCABULARY_FILE,
                    f"{path}.informational",
                    f"read by {', '.join(sorted(set(who)))}: remove the informational mark",
                )
            elif not term.informational and not who:
                check.add(
                    VOCABULARY_FILE,
                    path,
                    "a picture can state this term but no rule reads it: add a rule whose"
                    " conditions use it, or mark it informational: true with a why",
                )
