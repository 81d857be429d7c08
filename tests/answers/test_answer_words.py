"""Issue 14, second pass: classes of questions found on the dev part, each with questions of our
own (none is in the labelled set).

* a result told in words ("B12 came back low", "bloods were fine", "MMA raised") is read through
  the knowledge base's thresholds (``answering.yaml`` ``results_in_words``), never shown as a
  number; a weak word ("ok") is a result only when reported ("was ok"); "high dose" is not a
  result;
* a negated auxiliary written as one word ("isn't", "doesnt") negates;
* a "when" question that asks for the next dose of a course under way is answered by the rule
  that dates it, not by a loading regimen; a "when … checked?" question by monitoring content;
* "switch from A to B" prefers B's route.
"""

from __future__ import annotations

import pytest

from b12.adapters.knowledge_files import load_knowledge_base
from b12.core.answer import answer, evaluate_facts
from b12.core.answer.extract import Slots
from b12.core.answer.match import is_negation

KB = load_knowledge_base()


def _slots(question: str) -> Slots:
    req, _ = evaluate_facts(question, KB)
    return req.slots


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("her b12 has come back a bit low", {"serum_b12_ng_l": "low"}),
        ("low b12 on routine bloods", {"serum_b12_ng_l": "low"}),
        ("bloods were fine", {"serum_b12_ng_l": "normal"}),
        ("b12 and mma both normal", {"serum_b12_ng_l": "normal", "mma_nmol_l": "normal"}),
        ("holotc came back borderline", {"active_b12_pmol_l": "borderline"}),
        ("is b12 ok in pregnancy?", {}),
        ("is high dose b12 safe?", {}),
        ("b12 not low", {}),
        ("folate level low, what about b12 tablets?", {}),
    ],
)
def test_results_told_in_words(question: str, expected: dict[str, str]) -> None:
    assert _slots(question).word_results == expected


def test_a_low_result_in_words_is_classified_and_never_shown_as_a_number() -> None:
    ans = answer("b12 result came back low - does that confirm deficiency?", KB)
    assert ans.headline is not None
    assert ans.headline.recs[0] == "B12-DX-001"
    assert ans.parameters.labs == {}  # no value is made up for the words


def test_a_normal_result_with_a_stated_suspicion_keeps_the_suspicion() -> None:
    assert _slots("the level was normal but i still suspect b12 deficiency").deficiency == (
        "suspected"
    )


@pytest.mark.parametrize("word", ["isn't", "isnt", "doesn't", "dont", "hasn't", "can't"])
def test_negated_auxiliaries_negate(word: str) -> None:
    assert is_negation(word)
    assert not is_negation("want")
    assert not is_negation("point")


def test_someone_who_is_not_on_supplements_is_not_on_treatment() -> None:
    ans = answer("b12 came back high and she isn't on any supplements", KB)
    used = {r for s in ans.sections for item in s.items for r in item.recs}
    assert ans.headline is not None
    assert "B12-SAFE-015" not in {*ans.headline.recs, *used}  # "expected on treatment"


@pytest.mark.parametrize(
    "question",
    [
        "on 3 monthly hydroxocobalamin, all stable: when is the next injection due?",
        "when's my next jab?",
        "pt stable on b12 jabs - when should the next dose be given?",
    ],
)
def test_when_is_the_next_dose_gets_the_rule_that_dates_it(question: str) -> None:
    slots = _slots(question)
    assert slots.form == "when"
    assert slots.asks_next_dose
    assert slots.on_treatment
    ans = answer(question, KB)
    assert ans.headline is not None
    assert ans.headline.recs[0] in ("B12-TX-015", "B12-TX-100")
    assert ans.headline.regimen is None  # a date rule, not a loading regimen


def test_when_is_a_check_gets_monitoring() -> None:
    ans = answer("after a gastric bypass when should her b12 be checked?", KB)
    assert ans.headline is not None
    kind = KB.recommendations[ans.headline.recs[0]].action.type
    assert kind == "monitor"


def test_when_as_a_conjunction_is_not_the_form() -> None:
    assert _slots("how often are injections needed when breastfeeding?").form != "when"


def test_switch_from_a_to_b_prefers_b() -> None:
    assert _slots("switching from injections to tablets, what dose?").route_preference == "oral"
    assert _slots("switching from tablets to injections, what dose?").route_preference == "im"
