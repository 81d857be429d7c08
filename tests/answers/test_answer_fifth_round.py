"""Issue 14, fifth round: classes found by cross-validation over dev (questions of our own).

* "When is she next due?" asks for the next dose even when it does not name the dose
  ("next due", "next appointment"): the answer dates it from the course (carry on), it is not
  a regimen or a missing-data answer.
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


#: A topic no item answers is named by its phrase, not by a word that also says something
#: else: "now I feel better" is why the patient asks to stop, not "how long until I feel
#: better?"; "she discontinued her injections" is a course event, not a product withdrawn.
NOT_COVERED_WORDS_IN_ANOTHER_SENSE = [
    ("patient", "can i stop my b12 injections now i feel better? i have pernicious anaemia"),
    ("patient", "i feel better already after 3 jabs, do i still need the other 3?"),
    (
        "clinician",
        "she discontinued her b12 injections 6 months ago and now has tingling again, what now?",
    ),
]
NOT_COVERED_TOPICS = [
    ("patient", "how long until i feel better after starting b12 jabs?"),
    ("patient", "when will i start to feel better on b12 injections?"),
    ("clinician", "hydroxocobalamin has been discontinued by the supplier, what do we use?"),
]


@pytest.mark.parametrize(("audience", "question"), NOT_COVERED_WORDS_IN_ANOTHER_SENSE)
def test_a_not_covered_word_in_another_sense_is_answered(audience: str, question: str) -> None:
    assert answer(question, KB, audience=audience).status == "answered"


@pytest.mark.parametrize(("audience", "question"), NOT_COVERED_TOPICS)
def test_a_not_covered_topic_is_still_refused(audience: str, question: str) -> None:
    assert answer(question, KB, audience=audience).status == "no_answer"
