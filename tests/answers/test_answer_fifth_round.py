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


#: A B12 result still to come leaves the status unknown unless neurological features are told
#: with it: folic acid for low folate or large red cells with B12 pending is the "B12 status
#: unknown" alert (measure B12 first), not the alert for a deficiency.
PENDING_UNKNOWN = [
    "MCV 109, folate 2.4, b12 still pending - ok to start folic acid 5 mg now?",
    "folate low at 2.0 ug/L, awaiting B12 result. can we give folic acid today?",
    "pt with macrocytosis, B12 pending, GP wants folic acid 5mg od - fine?",
]


@pytest.mark.parametrize("question", PENDING_UNKNOWN)
def test_a_pending_result_without_neurological_features_leaves_the_status_unknown(
    question: str,
) -> None:
    assert _slots(question).deficiency is None
    ans = answer(question, KB)
    assert ans.headline is not None
    # the unknown-status alert, or "folate low: B12 first or together"; never the alert that
    # says the patient has a confirmed or possible deficiency
    assert ans.headline.recs[0] in {"B12-SAFE-054", "B12-SAFE-005"}, ans.headline.recs
    stated = [ans.headline, *(item for section in ans.sections for item in section.items)]
    assert not any("B12-SAFE-053" in item.recs and not item.applies_if for item in stated)


@pytest.mark.parametrize(
    "question",
    [
        "numb feet and unsteady, b12 still pending - start hydroxo now?",
        "pins and needles in both hands, awaiting the b12 result, treat now or wait?",
    ],
)
def test_a_pending_result_with_neurological_features_is_a_suspicion(question: str) -> None:
    assert _slots(question).deficiency == "suspected"
