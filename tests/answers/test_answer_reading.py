"""Issue 14 (continued): what a question implies, and headlines that answer the question's form.

Questions of our own (none is in the labelled set):

* a named diagnosis of the cause (pernicious anaemia) or a patient already on B12 treatment
  states a confirmed deficiency: the question says so, it is not assumed;
* a question that asks for a dose, an interval or a switch gets the regimen first, under its
  condition written out ("If deficiency is confirmed and there is no neurological
  involvement: …"), never "it depends" with nothing concrete; the other branches follow;
* a decision that holds and gives no regimen on purpose (under 16) still heads a dose question;
* "duodenal switch" names an operation, not a switch of treatment;
* a "what to check" question is headed by monitoring content when retrieval finds one;
* a question with several parts answers each or names the one not covered.
"""

from __future__ import annotations

import pytest

from b12.adapters.knowledge_files import load_knowledge_base
from b12.core.answer import answer, question_parts
from b12.core.knowledge import Answering

KB = load_knowledge_base()


@pytest.mark.parametrize(
    ("question", "rec", "regimen"),
    [
        ("how much oral b12 should a vegan take", "B12-TX-004", "UK-CYANO-ORAL-DIET"),
        ("vegetarian b12 tablets dose?", "B12-TX-004", "UK-CYANO-ORAL-DIET"),
        ("what dose of b12 injection for an adult", "B12-TX-006", "UK-HYDROXO-STANDARD"),
        ("b12 jab frequency", "B12-TX-006", "UK-HYDROXO-STANDARD"),
    ],
)
def test_a_dose_or_interval_question_heads_with_the_regimen_under_its_condition(
    question: str, rec: str, regimen: str
) -> None:
    ans = answer(question, KB)
    head = ans.headline
    assert head is not None
    assert head.recs == (rec,)
    assert head.regimen == regimen
    # The status is open, so the regimen is given under it, with the other branch excluded.
    assert head.applies_if is not None
    assert "deficiency is confirmed" in head.applies_if
    assert "no neurological involvement" in head.applies_if
    assert head.text.startswith(f"If {head.applies_if}: ")
    assert not head.text.startswith("It depends")
    # The other branch (neurological involvement) is still shown, as a condition.
    branch = [
        i for s in ans.sections for i in s.items if i.applies_if and "neurological" in i.applies_if
    ]
    assert branch


@pytest.mark.parametrize(
    "question",
    [
        "pt on hydroxocobalamin injections, what dose should it be",
        "my mum is on b12 jabs, how often should she have them",
        "pernicious anaemia: how often are the injections",
    ],
)
def test_named_diagnosis_or_treatment_states_a_confirmed_deficiency(question: str) -> None:
    ans = answer(question, KB)
    assert ans.parameters.deficiency == "confirmed"
    head = ans.headline
    assert head is not None
    assert head.regimen == "UK-HYDROXO-STANDARD"
    # Only the neurological status is open now: the deficiency is not a condition any more.
    assert head.applies_if == "there is no neurological involvement"


def test_a_switch_question_gets_the_regimen_of_the_drug_switched_to() -> None:
    ans = answer("switching from cyanocobalamin to hydroxocobalamin, what interval?", KB)
    assert ans.parameters.form == "switch"
    head = ans.headline
    assert head is not None
    assert head.regimen == "UK-HYDROXO-STANDARD"
    assert head.applies_if is not None


def test_a_referral_decision_that_holds_still_heads_a_dose_question() -> None:
    ans = answer("b12 injection dose for my 7 year old daughter", KB)
    assert ans.headline is not None
    assert ans.headline.recs == ("B12-DX-010",)
    assert ans.headline.regimen is None


def test_duodenal_switch_is_an_operation_not_a_switch_of_treatment() -> None:
    ans = answer("after a duodenal switch, does she need b12?", KB)
    assert ans.parameters.form != "switch"


def test_a_comparison_is_not_read_as_a_regimen_question() -> None:
    ans = answer("uk versus us: how often are b12 injections given?", KB)
    assert ans.headline is not None
    assert ans.headline.recs[0].startswith("B12-DIS")


def test_question_reading_is_validated() -> None:
    data = KB.answering.model_dump()
    data["question_reading"]["regimen_forms"] = ["how_often", "weekly"]
    with pytest.raises(ValueError, match="unknown forms"):
        Answering.model_validate(data)


@pytest.mark.parametrize(
    "question",
    [
        "which labs after b12 loading in PA?",
        "what blood tests for someone on long-term b12 jabs",
        "pregnant and starting b12 - what to monitor",
    ],
)
def test_a_what_to_check_question_is_headed_by_monitoring(question: str) -> None:
    ans = answer(question, KB)
    assert ans.parameters.form == "what_check"
    assert ans.headline is not None
    assert KB.recommendations[ans.headline.recs[0]].action.type == "monitor"


@pytest.mark.parametrize(
    "question",
    ["how safe are b12 jabs when breastfeeding", "safety of hydroxocobalamin in kidney disease"],
)
def test_a_safety_question_starts_with_yes_no_or_it_depends(question: str) -> None:
    ans = answer(question, KB)
    assert ans.parameters.form == "is_safe"
    head = ans.headline
    assert head is not None
    assert head.answers in ("yes", "no", "depends")
    assert head.text.lower().startswith(("yes", "no", "it depends"))


def test_a_part_joined_by_and_is_answered_or_named() -> None:
    parts = question_parts("what dose of oral b12 for a vegan, and how soon should I recheck?")
    assert parts == ["what dose of oral b12 for a vegan", "how soon should I recheck"]
    ans = answer("how often are hydroxo jabs in PA? and can I drive straight after one?", KB)
    assert ans.headline is not None
    assert ans.headline.regimen == "UK-HYDROXO-STANDARD"
    # The second part is not in the knowledge base: named, not answered with something nearby.
    assert ans.message is not None
    assert "can I drive straight after one" in ans.message
    assert ans.message in ans.headline.text


def test_a_reaction_to_an_injection_reads_as_hypersensitivity() -> None:
    ans = answer("had a bad reaction to her b12 jab last time, what oral dose instead", KB)
    assert "injection_hypersensitivity" in ans.parameters.populations
    assert ans.headline is not None
    assert ans.headline.regimen == "UK-CYANO-ORAL-HYPERSENS"


def test_how_long_a_course_lasts_is_a_regimen_question() -> None:
    ans = answer("how long does the loading course last if there are no nerve symptoms", KB)
    assert ans.headline is not None
    assert ans.headline.recs == ("B12-TX-006",)
    assert ans.headline.regimen == "UK-HYDROXO-STANDARD"
    assert ans.headline.applies_if == "deficiency is confirmed"
