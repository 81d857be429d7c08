"""Build a :class:`KnowledgeBase` from already-parsed content, checking every reference.

Input is plain data keyed by file name (the adapter parses YAML); every problem is reported as
``file › field.path: message`` and all problems are collected before raising.  Each section has
its own validator (:mod:`b12.core.kb_sections`: sources, vocabulary, parameters, regimens,
recommendations, answering; :mod:`b12.core.kb_links`: citations, conditions, actions,
pathways, answer phrases, review levels, terms read by no rule); this module only composes
them and indexes the result for the engine.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from b12.core import criteria
from b12.core.errors import KnowledgeBaseError
from b12.core.kb_links import (
    Parsed,
    check_actions,
    check_answer_phrases,
    check_citations,
    check_conditions,
    check_pathways,
    check_review_levels,
    check_terms_read,
    check_unapproved_parameters,
)
from b12.core.kb_sections import (
    Checker,
    check_regimen_vocabulary,
    parse_answering,
    parse_parameters,
    parse_recommendations,
    parse_regimens,
    parse_sources,
    parse_vocabulary,
)
from b12.core.knowledge import (
    DRAFT_STATUSES,
    ClassifyAction,
    DecisionAction,
    KnowledgeBase,
    OutputReviewLevel,
    Recommendation,
    RuleKind,
    lowest_review_level,
    review_level_of,
)


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


#: The checks that join sections, in the order their problems are reported.
LINK_CHECKS = (
    check_citations,
    check_conditions,
    check_actions,
    check_unapproved_parameters,
    check_pathways,
    check_review_levels,
    check_terms_read,
)


def build_knowledge_base(raw: RawContent) -> KnowledgeBase:
    """Validate shapes and references; raise :class:`KnowledgeBaseError` listing every problem."""
    check = Checker()
    sources = parse_sources(raw.sources, check)
    vocab = parse_vocabulary(raw.vocabulary, check)
    parameters = parse_parameters(raw.parameters, check)
    regimens = parse_regimens(raw.regimens, check)
    recs = parse_recommendations(raw.recommendations, check)
    answering = parse_answering(raw.answering, check)
    if vocab is None:
        raise KnowledgeBaseError(check.problems)
    check_regimen_vocabulary(regimens, vocab, check)
    parsed = Parsed(sources, vocab, parameters, regimens, recs)
    for link_check in LINK_CHECKS:
        link_check(parsed, check)
    check_answer_phrases(recs, check)
    if check.problems or answering is None:
        raise KnowledgeBaseError(check.problems)
    ordered, decisions, classifiers, others = _rule_lists(recs.items.values())
    kb = KnowledgeBase(
        sources=dict(sorted(sources.items())),
        recommendations={r.id: r for r in ordered},
        regimens=dict(sorted(regimens.items.items())),
        parameters=dict(sorted(parameters.items.items())),
        vocabulary=vocab,
        content_version=raw.content_version,
        answering=answering,
        decisions=decisions,
        classifiers=classifiers,
        others=others,
        pathways={r.action.pathway: r for r in decisions if isinstance(r.action, DecisionAction)},
    )
    _index(kb)
    return kb


Rules = tuple[Recommendation, ...]


def _rule_lists(recs: Iterable[Recommendation]) -> tuple[Rules, Rules, Rules, Rules]:
    """All rules by id; decisions and classifiers by (priority, id); the others by id."""
    ordered = tuple(sorted(recs, key=lambda r: r.id))
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
    return ordered, decisions, classifiers, others


def _index(kb: KnowledgeBase) -> None:
    """Compile the rules' conditions and precompute the engine's lookups."""
    definitions = kb.vocabulary.definitions
    resolve = {p.id: p.value for p in kb.parameters.values()}.__getitem__
    kb.predicates.update(
        {
            r.id: criteria.compile_condition(r.when, resolve, definitions)
            for r in kb.recommendations.values()
            if r.when is not None
        }
    )
    kb.predicates.update(
        {
            f"def:{name}": criteria.compile_condition(cond, resolve, definitions)
            for name, cond in definitions.items()
        }
    )
    lists: dict[RuleKind, Rules] = {
        "decisions": kb.decisions,
        "classifiers": kb.classifiers,
        "others": kb.others,
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
    for juris in ("uk", "us"):
        kb.review_floor[juris] = _floor(kb, juris)


def _floor(kb: KnowledgeBase, juris: str) -> OutputReviewLevel:
    """The lowest review level among the approved content of one guideline set."""
    levels = [
        review_level_of(r.status, r.review)
        for r in kb.recommendations.values()
        if r.status == "approved" and juris in r.jurisdiction
    ]
    levels += [
        review_level_of(g.status, g.review)
        for g in kb.regimens.values()
        if g.status == "approved" and g.guideline == juris
    ]
    return lowest_review_level(levels) or "unreviewed"


def _priority(rec: Recommendation) -> int:
    act = rec.action
    return act.priority if isinstance(act, DecisionAction | ClassifyAction) else 0
