"""The engine's lookups over a validated knowledge base: compiled conditions, usable rules.

Computed by :func:`b12.core.kb_build.build_knowledge_base` after validation, and again by an
adapter that restores a validated knowledge base from storage (compiled conditions are
closures, so they are never stored; :func:`compile_predicates` rebuilds them).  Imports no
validator, so restoring a stored knowledge base does not load the checking code.
"""

from __future__ import annotations

from b12.core import criteria
from b12.core.knowledge import (
    DRAFT_STATUSES,
    KnowledgeBase,
    OutputReviewLevel,
    Recommendation,
    RuleKind,
    lowest_review_level,
    review_level_of,
)

Rules = tuple[Recommendation, ...]


def index_knowledge_base(kb: KnowledgeBase) -> None:
    """Compile the rules' conditions and precompute the engine's lookups (in place)."""
    compile_predicates(kb)
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


def compile_predicates(kb: KnowledgeBase) -> None:
    """(Re)compile every rule's and definition's condition into ``kb.predicates``."""
    definitions = kb.vocabulary.definitions
    resolve = {p.id: p.value for p in kb.parameters.values()}.__getitem__
    kb.predicates.clear()
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
