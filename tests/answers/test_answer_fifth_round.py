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
    stated = [(ans.headline.recs, ans.headline.applies_if)]
    stated += [(item.recs, item.applies_if) for section in ans.sections for item in section.items]
    assert not any("B12-SAFE-053" in recs and not applies_if for recs, applies_if in stated)


@pytest.mark.parametrize(
    "question",
    [
        "numb feet and unsteady, b12 still pending - start hydroxo now?",
        "pins and needles in both hands, awaiting the b12 result, treat now or wait?",
    ],
)
def test_a_pending_result_with_neurological_features_is_a_suspicion(question: str) -> None:
    assert _slots(question).deficiency == "suspected"


# -- found by the fifth round's blind dev batch (fresh14); questions of our own -------------

SYMPTOMS_BACK_EARLY = [
    "tiredness creeping back at 9 weeks on 3 monthly hydroxo - how often should he have it?",
    "on monthly cyanocobalamin, her brain fog comes back around week 3 each time. dose more often?",
    "pins and needles crept back a few weeks before her 12-weekly jab is due, what now?",
    "his tiredness comes back about 4 weeks before each 3-monthly jab, anything we can do?",
]


@pytest.mark.parametrize("question", SYMPTOMS_BACK_EARLY)
def test_symptoms_back_before_the_dose_is_due_is_a_course_event(question: str) -> None:
    assert "symptoms_returned_before_due" in _slots(question).events
    ans = answer(question, KB)
    assert ans.headline is not None
    assert ans.headline.recs[0] in {"B12-TX-104", "B12-TX-105", "B12-TX-106"}, ans.headline.recs


@pytest.mark.parametrize(
    ("audience", "question"),
    [
        ("patient", "my b12 is 1300 and I've never had injections or tablets, should I worry?"),
        ("clinician", "B12 1800 ng/L, not on any supplements or injections. significance?"),
    ],
)
def test_a_high_result_off_treatment_is_headed_by_its_alert_not_the_normal_reading(
    audience: str, question: str
) -> None:
    """The reading "deficiency unlikely" (total over 350 *or* active over 70) rests on one
    fact of the question, as the high-B12 alert does: it does not outrank it."""
    ans = answer(question, KB, audience=audience)
    assert ans.headline is not None
    assert ans.headline.recs[0] == "B12-SAFE-016", ans.headline.recs


@pytest.mark.parametrize(
    "question",
    [
        "had about 10cm of ileum taken out after an obstruction, do I need b12 for life?",
        "a bit of ileum was removed years ago for a blockage - will I need b12 injections?",
    ],
)
def test_ileum_taken_out_in_plain_words_is_an_ileal_resection(question: str) -> None:
    assert "ileal_resection" in _slots(question).populations
    assert answer(question, KB, audience="patient").status == "answered"


@pytest.mark.parametrize(
    "question",
    [
        "surgery moved all b12 jabs to every 4 months because of staff shortages, is that ok?",
        "our district nurses now do b12 injections every 16 weeks due to staffing pressures - ok?",
    ],
)
def test_a_route_with_a_schedule_is_b12_treatment_described(question: str) -> None:
    assert answer(question, KB, audience="patient").status == "answered"


@pytest.mark.parametrize(
    "question",
    [
        "do b12 jabs help with losing weight? my levels were normal at my last blood test",
        "trying for a baby, b12 is fine - how much folic acid and for how long beforehand?",
        "pregnant and on 5mg folic acid because of my BMI, until what week do I take it?",
    ],
)
def test_folic_acid_for_pregnancy_and_wellness_with_a_normal_level_are_off_topic(
    question: str,
) -> None:
    assert answer(question, KB, audience="patient").status == "no_answer"


@pytest.mark.parametrize(
    "question",
    [
        "he finished the six loading injections on Friday, no neuro symptoms. when is the next "
        "one due, and should his b12 be rechecked later?",
        "finished loading last week, no tingling. when's the next jab, and will they check my "
        "levels again?",
    ],
)
@pytest.mark.parametrize("audience", ["clinician", "patient"])
def test_a_later_part_is_not_answered_as_fact_under_an_open_decision(
    question: str, audience: str
) -> None:
    """The later part of a two-part question is read with the headline decision's regimen only
    when that decision holds; under "it depends on whether …" its items stay conditional."""
    from tests.answers.test_answer_facts import _check_facts

    assert _check_facts(question, audience, "uk") == []


@pytest.mark.parametrize(
    "question",
    [
        "I'm allergic to cobalt. can I still have b12 jabs? I read in America they won't give "
        "them if you are",
        "i heard in the US they give b12 shots monthly, why do i only get mine every 3 months?",
    ],
)
def test_a_set_the_asker_heard_of_is_a_comparison_not_the_set_asked_under(question: str) -> None:
    slots = _slots(question)
    assert slots.guideline_cue is None
    assert slots.compares
    ans = answer(question, KB, audience="patient", guideline="uk")
    assert ans.guideline == "uk"


@pytest.mark.parametrize(
    "question",
    [
        "can i have my b12 jab a week early rather than late because of holiday?",
        "pt away when her hydroxo is due - give it 10 days early instead of late?",
    ],
)
def test_the_timing_turned_down_is_not_the_timing_told(question: str) -> None:
    slots = _slots(question)
    assert slots.order_timing == "early"
    assert slots.timing != "overdue"
    ans = answer(question, KB)
    assert ans.headline is not None
    assert ans.headline.recs[0] == "B12-SAFE-055", ans.headline.recs


@pytest.mark.parametrize(
    "question",
    [
        "had SACD, finished the alternate day loading, now on hydroxo every 3 months - correct?",
        "numb feet at diagnosis, done her alternate-day loading jabs and now booked 3 monthly. "
        "is that the right interval?",
    ],
)
def test_after_loading_the_interval_told_is_the_maintenance_one(question: str) -> None:
    assert _slots(question).interval_days == pytest.approx(91.32)
    ans = answer(question, KB)
    assert ans.headline is not None
    assert ans.headline.recs[0] == "B12-SAFE-095", ans.headline.recs


@pytest.mark.parametrize(
    "question",
    [
        "pt on q3m hydroxo maintenance now has new tingling in her hands. what now?",
        "on every 3 months hydroxocobalamin, new numbness in both feet since last week",
    ],
)
def test_a_schedule_between_on_and_the_product_is_still_treatment_under_way(
    question: str,
) -> None:
    slots = _slots(question)
    assert slots.on_treatment
    assert "new_neuro_symptoms" in slots.events
    ans = answer(question, KB)
    assert ans.headline is not None
    assert ans.headline.recs[0] == "B12-TX-106", ans.headline.recs


@pytest.mark.parametrize(
    "question",
    [
        "on lansoprazole for years, b12 was fine last time. do I need b12 jabs to stop it "
        "dropping?",
        "metformin 10 yrs, b12 normal. should she have injections to stop her going deficient?",
    ],
)
def test_prevention_in_harm_words_is_a_risk_question_answered_no(question: str) -> None:
    """ "to stop it dropping" asks about prevention (at risk), not about stopping treatment:
    the risk-factor item heads and says no routine prophylaxis."""
    slots = _slots(question)
    assert slots.deficiency == "at_risk"
    assert not slots.asks_harm
    ans = answer(question, KB, audience="patient")
    assert ans.headline is not None
    assert ans.headline.recs[0] == "B12-DX-030", ans.headline.recs
    assert ans.headline.text.startswith("No"), ans.headline.text


NO_TEST_YET = [
    ("patient", "my gp wants to give me b12 injections but hasn't done any bloods, I'm just tired "
     "and my sister has pernicious anaemia. shouldn't they test first?"),
    ("clinician", "suspecting b12 deficiency in a 70 yo with glossitis, no labs drawn yet, no "
     "neuro. start IM now?"),
    ("clinician", "pernicious anaemia in the family, pt tired, no bloods done yet, no tingling. "
     "start hydroxo?"),
    ("patient", "GP reckons I'm low in b12 but hasn't done a blood test, no tingling, should I "
     "just buy tablets?"),
]  # fmt: skip


@pytest.mark.parametrize(("audience", "question"), NO_TEST_YET)
def test_with_no_test_yet_a_named_deficiency_is_a_suspicion_tested_first(
    audience: str, question: str
) -> None:
    """No blood test yet: a deficiency named (a relative's pernicious anaemia, "suspecting
    b12 def") is a suspicion, and without neurological features the answer is to test first,
    never "Yes. Confirmed deficiency …"."""
    assert _slots(question).deficiency == "suspected"
    ans = answer(question, KB, audience=audience)
    assert ans.headline is not None
    assert ans.headline.recs[0] == "B12-DX-020", ans.headline.recs
    assert "Confirmed deficiency" not in ans.headline.text


@pytest.mark.parametrize(
    ("question", "reading"),
    [
        ("b12 210 ng/L and MMA 700 nmol/L - is that diagnostic, can I start treatment?", "DX-004"),
        ("holoTC 30 pmol/L, MMA 650: deficient? treat?", "DX-004"),
    ],
)
def test_two_results_read_together_head_a_question_that_also_asks_to_treat(
    question: str, reading: str
) -> None:
    """ "B12 230, MMA 620 - confirms it enough to start?": what the two results mean together
    answers both parts (a confirmed deficiency is treated), not the regimen alone."""
    ans = answer(question, KB)
    assert ans.headline is not None
    assert ans.headline.recs[0] == f"B12-{reading}", ans.headline.recs
    assert ans.headline.text.startswith("Yes"), ans.headline.text


@pytest.mark.parametrize(
    ("question", "head"),
    [
        ("she'd had 4 of the 6 loading injections then went into hospital for a week - start "
         "the loading again?", "B12-TX-101"),
        ("last maint jab 6/12 ago, give now or reload?", "B12-TX-102"),
        ("about 16 weeks since his last hydroxo, he's on 3 monthly - reload?", "B12-TX-102"),
    ],
)  # fmt: skip
def test_a_gap_told_in_other_words_is_a_late_dose(question: str, head: str) -> None:
    """A loading course interrupted (away, in hospital), "N weeks since the last", and a
    maintenance dose longer ago than any guideline's longest interval are late doses."""
    slots = _slots(question)
    assert slots.timing == "overdue"
    ans = answer(question, KB)
    assert ans.headline is not None
    assert ans.headline.recs[0] == head, ans.headline.recs


@pytest.mark.parametrize(
    "question",
    [
        "not on any b12 now, had a sleeve gastrectomy in 2020, level fine. should she stay on b12 "
        "for life?",
        "how do we decide on b12 prophylaxis after an ileal resection of unknown length?",
        "neuropathy and b12 90 pg/mL, can I send him home on oral 1000 mcg daily?",
        "any guidance on b12 injections for a vegan with a low level?",
    ],
)
def test_on_as_a_topic_or_a_proposal_is_not_treatment_under_way(question: str) -> None:
    """ "decide on", "guidance on", "send home on", "stay on": not "already on B12", so the
    answer never says the patient is already on replacement."""
    assert not _slots(question).on_treatment
    ans = answer(question, KB)
    assert ans.headline is not None
    assert ans.headline.recs[0] != "B12-TX-015", ans.headline.text


@pytest.mark.parametrize(
    "question",
    [
        "my b12 came back 190 and the MMA 520, does that mean I have low b12?",
        "Active B12 was 33 so they did an MMA, it was 640 nmol/L. Does this mean I've got low B12?",
    ],
)
def test_a_reading_asked_about_is_not_a_result_told(question: str) -> None:
    """ "does this mean I have low B12?" asks; only the numbers are results, and what they
    mean together heads (never "below the level that confirms deficiency" for a result that
    is not)."""
    assert "serum_b12_ng_l" not in _slots(question).word_results
    ans = answer(question, KB, audience="patient")
    assert ans.headline is not None
    assert ans.headline.recs[0] == "B12-DX-004", ans.headline.recs


# -- found when fresh15 was measured once (its one false statement and one form failure) ----


@pytest.mark.parametrize(
    "question",
    [
        "tired and a sore tongue, GP suspects low b12, no bloods taken yet - start some over the "
        "counter b12 now?",
        "query low B12 in a 75 yo, no neuro, nothing sent to the lab yet. start tablets?",
    ],
)
def test_a_supposed_low_b12_with_no_test_is_a_suspicion_tested_first(question: str) -> None:
    """ "suspects low b12" is a suspicion, not a result ("start over the counter" is not
    "start over"): test first, never "Confirmed deficiency …"."""
    slots = _slots(question)
    assert "serum_b12_ng_l" not in slots.word_results
    assert not slots.asks_harm
    ans = answer(question, KB)
    assert ans.headline is not None
    assert ans.headline.recs[0] == "B12-DX-020", ans.headline.recs
    # no, or it depends on neurological involvement when the question does not say
    assert ans.headline.text.startswith(("No", "It depends")), ans.headline.text
    assert "Confirmed deficiency" not in ans.headline.text


def test_anything_to_worry_about_is_a_yes_no_question() -> None:
    question = "b12 1600 ng/L, never had supplements or jabs - anything to worry about?"
    assert _slots(question).form == "yesno"
    ans = answer(question, KB)
    assert ans.headline is not None
    assert ans.headline.text.lower().startswith(("yes", "no", "it depends")), ans.headline.text
