"""Build a :class:`KnowledgeBase` from already-parsed content, checking every reference.

Input is plain data keyed by file name (the adapter parses YAML); every problem is reported as
``file › field.path: message`` and all problems are collected before raising.  Each section has
its own validator (:mod:`b12.core.kb_sections`: sources, vocabulary, parameters, regimens,
recommendations, answering; :mod:`b12.core.kb_links`: citations, conditions, actions,
pathways, answer phrases, review levels, terms read by no rule); this module only composes
them and indexes the result for the engine (:mod:`b12.core.kb_index`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from b12.core.errors import KnowledgeBaseError
from b12.core.kb_index import index_knowledge_base
from b12.core.kb_links import (
    Parsed,
    check_actions,
    check_answer_phrases,
    check_citations,
    check_conditions,
    check_masks,
    check_pathways,
    check_phrasings,
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
    ClassifyAction,
    DecisionAction,
    KnowledgeBase,
    Recommendation,
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
    check_masks(recs, check)
    if answering is not None:
        check_phrasings(recs, answering, check)
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
    index_knowledge_base(kb)
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


def _priority(rec: Recommendation) -> int:
    act = rec.action
    return act.priority if isinstance(act, DecisionAction | ClassifyAction) else 0
