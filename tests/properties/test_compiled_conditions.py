"""The compiled closures the engine uses agree with the reference evaluator on every rule."""

from __future__ import annotations

from typing import Any

from hypothesis import given

from b12.core import criteria
from b12.core.knowledge import KnowledgeBase
from b12.core.picture import parse_picture, picture_facts
from b12.core.plan import select_pathway
from tests.properties.strategies import picture_docs
from tests.properties.test_plan_properties import VOCAB


@given(doc=picture_docs(VOCAB))
def test_compiled_conditions_agree_with_the_evaluator(
    kb: KnowledgeBase, doc: dict[str, Any]
) -> None:
    picture = parse_picture(doc, kb)
    chosen = select_pathway(picture, kb)
    facts = picture_facts(
        picture,
        chosen.deficiency,
        {"pathway": chosen.pathway, "regimen_drug": "cyanocobalamin", "regimen_route": "im"},
        {"phase_kind": frozenset({"loading", "maintenance"})},
    )
    defs = kb.vocabulary.definitions
    for rec in kb.recommendations.values():
        if rec.when is not None:
            expected = criteria.evaluate(rec.when, facts, kb.param, defs)
            assert kb.predicates[rec.id](facts) is expected, rec.id
    for name, cond in defs.items():
        assert kb.predicates[f"def:{name}"](facts) is criteria.evaluate(cond, facts, kb.param, defs)
