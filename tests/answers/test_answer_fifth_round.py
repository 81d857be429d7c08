"""Issue 14, fifth round: classes found by cross-validation over dev (questions of our own).

* "When is she next due?" asks for the next dose even when it does not name the dose
  ("next due", "next appointment"): the answer dates it from the course (carry on), it is not
  a regimen or a missing-data answer.
* "Carry on with the current treatment" (a plan with no regimen of its own, resting only on
  the medicines the patient is on) says least of all: when the question asks about something
  else (a breastfed baby, lifelong treatment) and not when the next dose is due, what it asks
  about heads and "keep going" is not the headline.
"""

from __future__ import annotations

import pytest

from b12.adapters.knowledge_files import load_knowledge_base
from b12.core.answer import answer
from b12.core.answer.extract import Slots, extract
from b12.core.answer.normalise import normalise
from b12.core.answer.retrieve import index_for

KB = load_knowledge_base()
CARRY_ON = "B12-TX-015"
NEXT_DOSE_HEADS = {CARRY_ON, "B12-TX-100"}


def _slots(question: str) -> Slots:
    index = index_for(KB)
    return extract(normalise(question, index.table, index.known, index.common), question, KB)


NEXT_DUE = [
    ("clinician", "3-monthly hydroxo, last given 5 Sept, when is she next due?"),
    ("clinician", "on 3 monthly hydroxo, last one 10 weeks ago, when's the next due?"),
    ("patient", "monthly cyanocobalamin shots, when's my next appointment due?"),
    ("patient", "on b12 jabs every 3 months, when's my next due?"),
]


@pytest.mark.parametrize(("audience", "question"), NEXT_DUE)
def test_next_due_asks_for_the_next_dose_without_naming_it(audience: str, question: str) -> None:
    assert _slots(question).asks_next_dose
    ans = answer(question, KB, audience=audience)
    assert ans.headline is not None
    assert ans.headline.recs[0] in NEXT_DOSE_HEADS, ans.headline.text


ASKS_SOMETHING_ELSE = [
    (
        "patient",
        "I'm breastfeeding and on b12 injections. could my baby get low b12 too? should i keep "
        "having them?",
        {"B12-SAFE-018", "B12-SAFE-019"},
    ),
    (
        "patient",
        "I'm breastfeeding and having B12 injections for low B12. Will my baby be low in B12 as "
        "well? Should I carry on with them?",
        {"B12-SAFE-018", "B12-SAFE-019"},
    ),
    (
        "patient",
        "my dad has pernicious anaemia and feels great on his injections now - does he really "
        "have to keep having them forever?",
        {"B12-TX-108"},
    ),
]


@pytest.mark.parametrize(("audience", "question", "heads"), ASKS_SOMETHING_ELSE)
def test_carrying_on_gives_way_to_what_the_question_asks(
    audience: str, question: str, heads: set[str]
) -> None:
    ans = answer(question, KB, audience=audience)
    assert ans.headline is not None
    assert ans.headline.recs[0] in heads, ans.headline.text
