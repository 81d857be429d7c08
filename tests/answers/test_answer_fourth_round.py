"""Issue 14, fourth round: classes found with the phrasings and a new blind batch.

Each test uses questions of our own (none is in the labelled set):

* a clinical suspicion stated in words ("classic B12 picture", "pretty sure it's B12") is kept
  against a normal result, as ``plan`` keeps a stated suspicion: "no deficiency" is never
  stated, and the answer is the second-line test (BSH 2014: discordance between a result and
  strong clinical features does not delay treatment).
"""

from __future__ import annotations

import pytest

from b12.adapters.knowledge_files import load_knowledge_base
from b12.core.answer import answer
from b12.core.answer.extract import Slots, extract
from b12.core.answer.normalise import normalise
from b12.core.answer.retrieve import index_for

KB = load_knowledge_base()


def _slots(question: str) -> Slots:
    index = index_for(KB)
    return extract(normalise(question, index.table, index.known, index.common), question, KB)


def _facts(ans: object) -> set[str]:
    """Recommendations the answer states as facts (not under an open condition)."""
    head = getattr(ans, "headline", None)
    out = set(head.recs) if head is not None and not head.applies_if else set()
    for section in getattr(ans, "sections", ()):
        for item in section.items:
            if not item.applies_if:
                out |= set(item.recs)
    return out


SUSPECTED_DESPITE_NORMAL = [
    "classic b12 picture, glossitis and macrocytosis, but level 420 ng/L, no neuro. what next?",
    "I'm pretty sure clinically this is B12 deficiency, but serum B12 is 380 ng/L. "
    "No neurological signs. Do I just leave it?",
    "looks like b12 def to me (mcv 110, sore tongue) but b12 normal at 400, what now",
    "everything fits b12 deficiency but the level is 500 ng/L, no neuro signs. treat anyway?",
    "picture is typical of pernicious anaemia, b12 came back 390 ng/L, no neuro - rule it out?",
    "my gut says b12 deficiency, MCV 112, b12 360 ng/L, neuro exam normal. next step?",
]


@pytest.mark.parametrize("question", SUSPECTED_DESPITE_NORMAL)
def test_a_stated_suspicion_is_kept_against_a_normal_result(question: str) -> None:
    assert _slots(question).deficiency == "suspected", question
    ans = answer(question, KB)
    assert ans.headline is not None
    assert ans.headline.recs[0] in {"B12-DX-025", "B12-SAFE-060"}, (question, ans.headline.recs)
    # The result's own reading may be shown; "no deficiency" never is.
    assert "B12-DX-040" not in _facts(ans), (question, _facts(ans))


@pytest.mark.parametrize(
    "question",
    [
        "b12 420 ng/L, no symptoms, fits with everything else being normal - treat?",
        "having fits, b12 380 ng/L - related?",
        "b12 was low at 120 ng/L, classic features, which regimen?",
    ],
)
def test_suspicion_words_do_not_read_into_other_sentences(question: str) -> None:
    assert _slots(question).deficiency != "suspected", question


@pytest.mark.parametrize(
    "question",
    [
        "folic acid 5mg preconception, diabetic - how long before she starts trying?",
        "planning a pregnancy, should I be on 400mcg folic acid and from when?",
        "ttc for 6 months, what dose of folic acid",
    ],
)
def test_folic_acid_for_pregnancy_planning_alone_is_out_of_scope(question: str) -> None:
    assert answer(question, KB).status == "no_answer", question


@pytest.mark.parametrize(
    "question",
    [
        "on b12 injections every 3 months, planning a pregnancy - carry on as normal?",
        "vegan trying to conceive, b12 140 - which regimen?",
        "pernicious anaemia and planning pregnancy - anything to change?",
    ],
)
def test_pregnancy_planning_with_b12_stays_in_scope(question: str) -> None:
    assert answer(question, KB).status == "answered", question


STILL_THINK = [
    "B12 410 ng/L but she has a sore tongue and MCV 109, I still think she's deficient. "
    "no neuro. what next?",
    "normal b12 (450) but I think he is deficient clinically, macrocytic, no neuro signs",
]


@pytest.mark.parametrize("question", STILL_THINK)
def test_a_clinicians_belief_is_a_stated_suspicion(question: str) -> None:
    assert _slots(question).deficiency == "suspected", question
    assert "B12-DX-040" not in _facts(answer(question, KB))


@pytest.mark.parametrize(
    "question",
    [
        "missed my monthly b12 shot, now 8 weeks since the last. start loading again?",
        "forgot my 3 monthly jab, 4 months since the last one - do I need the loading doses again?",
        "she missed her usual 3-monthly b12 injection, now 5 weeks overdue, restart the course?",
    ],
)
def test_a_missed_dose_of_a_long_interval_is_a_late_maintenance_dose(question: str) -> None:
    slots = _slots(question)
    assert slots.on_treatment, question
    ans = answer(question, KB, audience="patient")
    assert ans.headline is not None
    assert ans.headline.recs[0] in {"B12-TX-102", "B12-SAFE-056"}, (question, ans.headline.recs)
    # A monthly or 3-monthly dose is a maintenance dose: said as a fact, not "if on long-term
    # treatment".
    if slots.interval_days is not None:
        assert not ans.headline.applies_if, (question, ans.headline.applies_if)


@pytest.mark.parametrize(
    "question",
    [
        "maintenance pt, last jab was in March and it's now August (3 monthly). restart loading?",
        "her last b12 injection was 5 months ago, she's meant to be 3 monthly - reload or give?",
        "previous dose given 14 weeks ago on a 12 weekly schedule, give today?",
    ],
)
def test_a_last_dose_told_is_not_an_unknown_last_dose(question: str) -> None:
    ans = answer(question, KB)
    assert ans.headline is not None
    assert ans.headline.recs[0] != "B12-SAFE-093", (question, ans.headline.recs)
    assert "B12-SAFE-093" not in _facts(ans)
    said = [ans.headline.applies_if or ""] + [
        i.applies_if or "" for s in ans.sections for i in s.items
    ]
    assert not any("last dose is not known" in s for s in said), said


def test_a_last_dose_not_known_is_said() -> None:
    question = (
        "new patient on 3 monthly hydroxo, no record of when her last injection was - "
        "when is the next due?"
    )
    assert _slots(question).last_dose == "unknown"
    assert "B12-SAFE-093" in _facts(answer(question, KB))


@pytest.mark.parametrize(
    "question",
    [
        "I'm terrified of needles, do my b12 have to be injections?",
        "im terified of needles does b12 have to be jabs",
        "she panics with needles - any alternative to b12 injections?",
        "petrified of injections, can I have b12 tablets instead",
    ],
)
def test_a_fear_of_needles_told_in_other_words_is_needle_phobia(question: str) -> None:
    ans = answer(question, KB, audience="patient")
    assert ans.status == "answered", question
    assert ans.headline is not None
    assert ans.headline.recs[0] in {"B12-SAFE-071", "B12-DIS-002"}, (question, ans.headline.recs)


@pytest.mark.parametrize(
    "question",
    [
        "pt missed 2 of her 6 loading injections (was in hosp with covid). start loading again?",
        "she had flu and missed her 3 monthly b12 jab, now 4 weeks late - give it now?",
    ],
)
def test_an_illness_told_in_passing_keeps_a_course_question_in_scope(question: str) -> None:
    assert answer(question, KB).status == "answered", question


@pytest.mark.parametrize(
    "question",
    [
        "on b12 jabs with low vitamin d - what dose of vitamin d should she take?",
        "had covid last month, how long before the covid booster?",
    ],
)
def test_a_question_about_the_other_topic_stays_out(question: str) -> None:
    assert answer(question, KB).status == "no_answer", question


@pytest.mark.parametrize(
    ("question", "heads"),
    [
        (
            "long term lansoprazole, b12 normal at 400, no symptoms - prophylactic b12 for him?",
            {"B12-DX-030", "B12-MON-008"},
        ),
        (
            "metformin for 6 years, b12 is normal, no sx. preventive b12 jabs worth it?",
            {"B12-DX-030", "B12-SAFE-026", "B12-MON-008"},
        ),
        (
            "total gastrectomy last year, b12 still normal - does she need prophylactic b12?",
            {"B12-TX-007"},  # the UK set; B12-TX-027 is the US one
        ),
    ],
)
def test_a_normal_level_with_a_risk_asked_about_prophylaxis_is_at_risk(
    question: str, heads: set[str]
) -> None:
    assert _slots(question).deficiency == "at_risk", question
    ans = answer(question, KB)
    assert ans.headline is not None
    assert ans.headline.recs[0] in heads, (question, ans.headline.recs)
    assert "B12-DX-040" not in _facts(ans)


@pytest.mark.parametrize(
    "question",
    [
        "unsteady gait and numb toes, b12 250 ng/L, MMA requested - hold treatment till it's back?",
        "tingling feet and memory going, B12 result still pending. delay the first injection "
        "until it comes back?",
        "paraesthesia, b12 220 ng/L, ?PA - should we wait for the IF antibodies before starting?",
    ],
)
def test_waiting_with_neurological_features_is_answered_by_do_not_wait(question: str) -> None:
    ans = answer(question, KB)
    assert ans.headline is not None
    assert ans.headline.recs[0] in {
        "B12-SAFE-061",
        "B12-SAFE-006",
        "B12-SAFE-062",
        "B12-SAFE-001",
    }, (
        question,
        ans.headline.recs,
    )
    assert ans.headline.text.startswith(("No", "It depends")), ans.headline.text


def test_waiting_without_neurological_features_is_not_forced_to_the_warning() -> None:
    question = "b12 250 ng/L, no neuro symptoms, MMA requested - wait for it before treating?"
    ans = answer(question, KB)
    assert ans.headline is not None
    assert ans.headline.recs[0] not in {"B12-SAFE-061", "B12-SAFE-062"}


def test_a_result_still_pending_is_a_suspicion() -> None:
    question = "numb feet and unsteady, b12 still pending - start hydroxo now?"
    assert _slots(question).deficiency == "suspected"


@pytest.mark.parametrize(
    "question",
    [
        "best vitamin D3 dose for a pregnant pt with 25-OH D of 18 ng/mL?",
        "vit d3 4000 units daily ok in pregnancy?",
        "25-OH vitamin D 20 nmol/L, loading dose?",
    ],
)
def test_vitamin_d_in_other_spellings_is_out_of_scope(question: str) -> None:
    assert answer(question, KB).status == "no_answer", question


@pytest.mark.parametrize(
    "question",
    [
        "67M, incidental serum B12 1850 ng/L, takes no supplements or injections. Meaning?",
        "b12 1600 ng/L, not on any tablets or injections - does it need working up?",
        "B12 2000, never had b12 injections or tablets, worry?",
    ],
)
def test_a_treatment_denied_in_a_list_is_not_a_treatment(question: str) -> None:
    assert not _slots(question).on_treatment, question
    ans = answer(question, KB)
    assert not {"B12-TX-015", "B12-SAFE-015"} & _facts(ans), (question, _facts(ans))


def test_total_homocysteine_written_thcy_is_read() -> None:
    question = "regular nitrous use, B12 410 ng/L, tHcy 45 umol/L, no neuro sx. deficient?"
    assert _slots(question).labs.get("homocysteine_umol_l") == 45.0
    ans = answer(question, KB)
    assert ans.headline is not None
    assert ans.headline.recs[0] == "B12-DX-006"


@pytest.mark.parametrize(
    "question",
    [
        "uses nitrous oxide balloons most weekends, b12 390 ng/L, no neuro. is she deficient?",
        "NOS user, serum b12 normal at 500 ng/L - can I rule out deficiency?",
    ],
)
def test_a_normal_result_under_nitrous_oxide_is_not_read_as_no_deficiency(question: str) -> None:
    ans = answer(question, KB)
    assert not {"B12-DX-003", "B12-DX-040"} & _facts(ans), (question, _facts(ans))
    assert ans.headline is not None
    assert ans.headline.recs[0] in {"B12-SAFE-028", "B12-DX-006", "B12-SAFE-062"}


@pytest.mark.parametrize(
    "question",
    [
        "pt had a sleeve in 2021, b12 fine, asking if she really has to keep the 3 monthly jabs",
        "patient wondering whether she can stop her b12 tablets now her level is normal",
    ],
)
def test_an_indirect_yes_no_question_is_answered_yes_or_no(question: str) -> None:
    assert _slots(question).form == "yesno", question


@pytest.mark.parametrize(
    "question",
    [
        "total gastrectomy 2 years ago, b12 now 450 ng/L - does she still need the injections?",
        "sleeve gastrectomy last year, b12 normal at 500 ng/L, does she need the 3 monthly jabs?",
    ],
)
def test_lifelong_prevention_is_not_undercut_by_a_normal_reading(question: str) -> None:
    ans = answer(question, KB)
    assert ans.headline is not None
    assert ans.headline.recs[0] in {"B12-TX-007", "B12-TX-011"}, (question, ans.headline.recs)
    assert "B12-DX-003" not in _facts(ans)
    assert ans.headline.text.startswith("Yes"), ans.headline.text


@pytest.mark.parametrize(
    ("question", "age"),
    [
        ("my grandson is 11 and his b12 is low, how many injections will he need?", 11),
        ("granddaughter is 9, b12 low on bloods - what treatment?", 9),
        ("my niece is 14 and vegan, b12 120 - tablets or jabs?", 14),
    ],
)
def test_a_child_named_with_an_age_is_under_16(question: str, age: int) -> None:
    assert _slots(question).age == age
    ans = answer(question, KB)
    assert ans.headline is not None
    assert ans.headline.recs[0] in {"B12-DX-010", "B12-SAFE-020"}, (question, ans.headline.recs)


@pytest.mark.parametrize(
    "question",
    [
        "Pt had urticaria and wheeze 10 min after her last hydroxo inj. carry on injecting?",
        "came out in hives after my last b12 jab, lips swelled - what now with my treatment?",
        "anaphylactic reaction to hydroxocobalamin last month, b12 still low - what instead?",
    ],
)
def test_a_reaction_after_an_injection_told_in_words_is_hypersensitivity(question: str) -> None:
    assert "injection_hypersensitivity" in _slots(question).conditions, question
    ans = answer(question, KB)
    assert ans.headline is not None
    assert ans.headline.recs[0] in {"B12-TX-003", "B12-SAFE-012", "B12-SAFE-013"}, (
        question,
        ans.headline.recs,
    )


@pytest.mark.parametrize(
    "question",
    [
        "deficiency was from whippets, he quit nitrous 6 months ago and levels are normal now. "
        "can he stop the b12?",
        "low b12 from nangs, gave up the balloons in march, b12 fine now - stop the jabs?",
    ],
)
def test_nitrous_oxide_given_up_is_a_cause_dealt_with(question: str) -> None:
    assert "cause_resolved" in _slots(question).events, question
    ans = answer(question, KB)
    assert ans.headline is not None
    assert ans.headline.recs[0] in {"B12-TX-107", "B12-DIS-006"}, (question, ans.headline.recs)


@pytest.mark.parametrize(
    "question",
    [
        "on 3 monthly b12 jabs but can't remember when his last one was - when is the next?",
        "she doesn't know when her last injection was, records not through - when to give it?",
    ],
)
def test_a_last_dose_forgotten_is_unknown(question: str) -> None:
    assert _slots(question).last_dose == "unknown", question


@pytest.mark.parametrize(
    ("question", "value"),
    [
        ("my b12 blood test said 410, they said its normal. do i need anything for it?", 410.0),
        ("b12 bloods showed 150 last week - what treatment?", 150.0),
        ("her b12 result reads 95 ng/L, no neuro - regimen?", 95.0),
    ],
)
def test_a_result_told_through_its_test_is_read(question: str, value: float) -> None:
    assert _slots(question).labs.get("serum_b12_ng_l") == value, question


def test_a_normal_result_told_through_its_test_is_answered_by_its_reading() -> None:
    question = (
        "my b12 blood test said 410 . the girl on the phone said its normal . does that mean "
    )
    question += "i dont need to take anything for it ."
    ans = answer(question, KB, audience="patient")
    assert ans.headline is not None
    assert ans.headline.recs[0] in {"B12-DX-003", "B12-DX-040"}, ans.headline.recs


@pytest.mark.parametrize(
    "question",
    [
        "shes on metformin and read it lowers b12 - does she need to come off the metformin?",
        "should he stop the omeprazole because of his low b12?",
        "can she come off the ppi now her b12 is being treated?",
    ],
)
def test_asking_whether_to_stop_a_cause_is_not_a_cause_dealt_with(question: str) -> None:
    assert "cause_resolved" not in _slots(question).events, question


@pytest.mark.parametrize(
    "question",
    [
        "came off the omeprazole in June, b12 normal now - stop the injections?",
        "metformin stopped last year, b12 fine, can we stop the b12?",
    ],
)
def test_a_cause_stopped_is_still_dealt_with(question: str) -> None:
    assert "cause_resolved" in _slots(question).events, question


@pytest.mark.parametrize(
    "question",
    [
        "K+ 3.1 mmol/L on the admission U&E, about to give first hydroxocobalamin dose for PA - "
        "anything to do first?",
        "potassium 3.0, pernicious anaemia, starting hydroxocobalamin today - any precautions?",
    ],
)
def test_a_precaution_asked_before_a_dose_is_the_warning_on_the_given_result(
    question: str,
) -> None:
    ans = answer(question, KB)
    assert ans.headline is not None
    assert ans.headline.recs[0] in {"B12-SAFE-067", "B12-SAFE-002"}, (question, ans.headline.recs)


@pytest.mark.parametrize(
    ("question", "field", "value"),
    [
        ("my active b12 (holotc) was 18 pmol/L is that low?", "active_b12_pmol_l", 18.0),
        (
            "B12 240, active B12 already sent and came back 45 pmol/L. next test?",
            "active_b12_pmol_l",
            45.0,
        ),
        ("MMA sent last week and it came back at 600 nmol/L, b12 250", "mma_nmol_l", 600.0),
    ],
)
def test_a_result_a_few_words_after_its_test_with_its_unit_is_read(
    question: str, field: str, value: float
) -> None:
    assert _slots(question).labs.get(field) == value, (question, _slots(question).labs)


def test_a_number_without_the_tests_unit_far_from_it_is_not_its_result() -> None:
    labs = _slots("active b12 was sent, she is 45 and on metformin 500 mg").labs
    assert "active_b12_pmol_l" not in labs


@pytest.mark.parametrize(
    "question",
    [
        "Serum B12 250 ng/L, MMA came back 620 nmol/L. deficient y/n",
        "new tingling on 3 monthly hydroxo. Just carry on with the usual schedule?",
        "b12 1900 on monthly jabs - keep going as before?",
        "feeling fine on 3 monthly jabs, book the next one as usual?",
    ],
)
def test_more_yes_no_shapes(question: str) -> None:
    assert _slots(question).form == "yesno", question
    ans = answer(question, KB)
    assert ans.headline is not None
    assert ans.headline.text.startswith(("Yes", "No", "It depends")), ans.headline.text


def test_every_it_depends_that_is_not_a_disagreement_says_on_what() -> None:
    """ "It depends on the source" fits a disagreement only: any other item a yes/no answer
    reads as "it depends" names what it depends on (content: ``depends_on``)."""
    from b12.core.answer.stance import stance
    from b12.core.knowledge import DisagreementAction

    missing = [
        rec.id
        for rec in KB.recommendations.values()
        if rec.status == "approved"
        and not isinstance(rec.action, DisagreementAction)
        and stance(rec) == "depends"
        and not rec.depends_on
    ]
    assert not missing


@pytest.mark.parametrize(
    ("question", "guideline"),
    [
        ("on dialysis, b12 low - should we avoid cyanocobalamin? heard DIVINe showed harm", "us"),
        ("CKD stage 4, b12 deficient - is cyanocobalamin safe for her kidneys?", "us"),
    ],
)
def test_a_safety_question_on_a_named_population_is_answered_by_its_item(
    question: str, guideline: str
) -> None:
    ans = answer(question, KB, guideline=guideline)
    assert ans.headline is not None
    assert ans.headline.recs[0] in {"B12-SAFE-024", "B12-DIS-008", "B12-SAFE-013"}, (
        question,
        ans.headline.recs,
    )


@pytest.mark.parametrize(
    "question",
    [
        "Ive had b12 jabs for pernicious anaemia for 6 years and my levels are over 2000. "
        "can I stop them?",
        "my B12 is normal now after a year of shots for pernicious anemia. Can I stop?",
        "resident with PA has had B12 jabs for 10 yrs, levels good - can she come off them?",
    ],
)
def test_a_treatment_that_has_lasted_is_under_way(question: str) -> None:
    assert _slots(question).on_treatment, question
    ans = answer(question, KB, audience="patient")
    assert ans.headline is not None
    assert not (ans.headline.applies_if or "").startswith("you are on long-term treatment")
    assert "long-term treatment" not in (ans.headline.text.split(".")[0]), ans.headline.text


@pytest.mark.parametrize(
    "question",
    [
        "had b12 injections years ago, stopped them, now b12 150 - restart?",
        "she needs injections for 2 weeks then every 3 months?",
    ],
)
def test_a_treatment_in_the_past_or_proposed_is_not_under_way(question: str) -> None:
    assert not _slots(question).on_treatment, question


@pytest.mark.parametrize(
    "question",
    [
        "68 y/o Medicare pt, strict vegan x12 yrs, B12 150 pg/mL, no neuro sx, prefers a pill. "
        "what oral dose?",
        "70M peripheral neuropathy, B12 510, eats meat, no metformin, no alcohol. empiric B12?",
    ],
)
def test_a_word_of_an_uncovered_topic_told_in_passing_does_not_refuse(question: str) -> None:
    assert answer(question, KB, guideline="us").status == "answered", question


@pytest.mark.parametrize(
    "question",
    [
        "does medicare cover monthly b12 shots?",
        "can i drink alcohol after my b12 jab?",
        "is my b12 injection covered by insurance?",
    ],
)
def test_an_uncovered_topic_asked_about_is_still_not_covered(question: str) -> None:
    assert answer(question, KB, guideline="us").status == "no_answer", question


def test_years_ago_is_not_an_age() -> None:
    question = "total gastrectomy for gastric ca 2y ago, nothing for B12 on the chart - need it?"
    assert _slots(question).age is None
    ans = answer(question, KB)
    assert ans.headline is not None
    assert ans.headline.recs[0] == "B12-TX-007"


@pytest.mark.parametrize(
    "question",
    [
        "19M heavy nos/laughing gas use, numb legs, falling over. B12 310 - still treat?",
        "does whippets every weekend, tingling feet, b12 normal - treat?",
    ],
)
def test_nitrous_oxide_in_street_words_is_read(question: str) -> None:
    assert "nitrous_oxide" in _slots(question).medications, question
    ans = answer(question, KB)
    assert ans.headline is not None
    assert ans.headline.recs[0] in {"B12-SAFE-062", "B12-SAFE-028", "B12-SAFE-061", "B12-TX-002"}


@pytest.mark.parametrize(
    "question",
    [
        "long-term hydroxocobalamin for PA, random B12 came back >1500 ng/L. space them out?",
        "resident gets b12 1000mcg q month for pernicious anemia, level came back 1650. "
        "should we hold the next shot?",
        "PA on 3 monthly hydroxo, levels came back at 1800 - reduce to 6 monthly?",
    ],
)
def test_a_high_level_on_treatment_for_life_is_not_a_reason_to_space_out(question: str) -> None:
    slots = _slots(question)
    assert slots.on_treatment, question
    assert (slots.labs.get("serum_b12_ng_l") or 0) >= 1500, (question, slots.labs)
    ans = answer(question, KB)
    assert ans.headline is not None
    # The high level on treatment, or the longer interval asked for (beyond the regimen).
    heads = {"B12-SAFE-015", "B12-SAFE-017", "B12-SAFE-057", "B12-SAFE-094"}
    assert ans.headline.recs[0] in heads, (question, ans.headline.recs)
    assert ans.headline.text.startswith(("No", "It depends")), ans.headline.text


def test_long_term_treatment_asked_about_is_not_under_way() -> None:
    assert not _slots(
        "is long term hydroxocobalamin needed after a partial gastrectomy?"
    ).on_treatment


def test_a_late_dose_given_now_is_not_answered_no() -> None:
    ans = answer("missed her 3 monthly hydroxo, now 5 weeks overdue - ok to give it today?", KB)
    assert ans.headline is not None
    assert not ans.headline.text.startswith("No"), ans.headline.text


@pytest.mark.parametrize(
    "question",
    [
        "on Eliquis, needs B12 injections. IM ok or should we do deep subQ?",
        "resident on warfarin, INR 2.6, due her monthly b12 IM. can it go subq instead?",
        "takes rivaroxaban, b12 jabs - intramuscular or deep subcutaneous?",
    ],
)
def test_a_route_question_on_an_anticoagulant_is_the_bleeding_risk_warning(question: str) -> None:
    ans = answer(question, KB, guideline="us")
    assert ans.headline is not None
    assert ans.headline.recs[0] == "B12-SAFE-069", (question, ans.headline.recs)


@pytest.mark.parametrize(
    ("question", "guideline", "heads"),
    [
        (
            "stable on monthly maintenance shots - how often should we recheck the B12 level?",
            "us",
            {"B12-DIS-007"},
        ),
        (
            "on 3 monthly hydroxo for years - how often do we need to check her b12 levels?",
            "uk",
            {"B12-MON-007", "B12-DIS-007"},
        ),
    ],
)
def test_a_monitoring_question_on_treatment_is_answered_by_the_monitoring_advice(
    question: str, guideline: str, heads: set[str]
) -> None:
    ans = answer(question, KB, guideline=guideline)
    assert ans.headline is not None
    assert ans.headline.recs[0] in heads, (question, ans.headline.recs)


def test_distress_with_needles_is_needle_phobia() -> None:
    question = (
        "my brother has autism and gets extremely distressed with needles, it takes 3 staff to "
        "give his B12 injection. is there another option?"
    )
    assert "needle_phobia" in _slots(question).conditions


@pytest.mark.parametrize(
    "question",
    [
        "Dad had his whole stomach taken out for cancer. Will he need B12 shots?",
        "her stomach was removed in 2019 (cancer) - b12 for life?",
    ],
)
def test_a_stomach_taken_out_is_a_total_gastrectomy(question: str) -> None:
    assert "total_gastrectomy" in _slots(question).conditions, question


@pytest.mark.parametrize(
    "question",
    [
        "rivaroxaban dose in AF if CrCl 28 and weight 48kg?",
        "apixaban 2.5 or 5 mg bd, creatinine 140?",
        "pt on vit D and the b12 jab every 3/12 - what's the vit D loading regimen for 18 nmol/L?",
        "can I get B12 shots to help lose the baby weight? my levels were normal",
    ],
)
def test_another_medicine_or_wellness_asked_about_is_out_of_scope(question: str) -> None:
    assert answer(question, KB).status == "no_answer", question


@pytest.mark.parametrize(
    "question",
    [
        "on apixaban - are IM jabs a problem?",
        "takes warfarin, b12 low - can she have injections?",
        "metformin 2g daily for years, tired - could it be b12?",
    ],
)
def test_another_medicine_with_b12_treatment_stays_in_scope(question: str) -> None:
    assert answer(question, KB).status == "answered", question


@pytest.mark.parametrize(
    "question",
    [
        "88F has had Entonox for dressings 3x a week for months, now numb legs. B12 410. "
        "Could it still be B12?",
        "uses nitrous balloons, b12 normal at 450 ng/L, tingling hands - could this be b12?",
    ],
)
def test_could_it_still_be_b12_under_nitrous_oxide_is_yes(question: str) -> None:
    ans = answer(question, KB)
    assert ans.headline is not None
    assert ans.headline.recs[0] in {"B12-SAFE-062", "B12-SAFE-028", "B12-DX-006"}
    assert ans.headline.text.startswith("Yes"), ans.headline.text


def test_a_symptom_told_beside_a_result_is_not_a_wellness_wish() -> None:
    question = (
        "incidental B12 >2000 ng/L in 78M with weight loss, not on supplements. significance?"
    )
    assert answer(question, KB).status == "answered"


@pytest.mark.parametrize(
    "question",
    [
        "On 1000 mcg PO daily x 3 months, still anemic and B12 still low. Next step?",
        "3 months of Orobalin 1mg daily, symptoms no better - next step?",
    ],
)
def test_not_improving_on_oral_treatment_is_read(question: str) -> None:
    slots = _slots(question)
    assert slots.on_treatment, question
    assert "oral_not_improving" in slots.events, question
    ans = answer(question, KB, guideline="us")
    assert ans.headline is not None
    assert ans.headline.recs[0] == "B12-TX-109", (question, ans.headline.recs)


@pytest.mark.parametrize(
    "question",
    [
        "t2dm metformin 2g x 8y. should i be checking b12? and stop metformin if low?",
        "on omeprazole for 9y, b12 normal - prophylaxis?",
    ],
)
def test_a_length_of_time_is_not_an_age(question: str) -> None:
    assert _slots(question).age is None, question
    ans = answer(question, KB)
    assert ans.headline is not None
    assert ans.headline.recs[0] != "B12-DX-010", question


def test_a_monthly_shot_on_warfarin_moved_to_deep_subq_is_the_bleeding_warning() -> None:
    question = (
        "82M on warfarin, INR 2.8, gets monthly cyanocobalamin shot. Can I give it deep subQ "
        "instead of IM to avoid a hematoma?"
    )
    ans = answer(question, KB, guideline="us")
    assert ans.headline is not None
    assert ans.headline.recs[0] == "B12-SAFE-069", ans.headline.recs
    assert ans.headline.text.startswith("Yes"), ans.headline.text


def test_an_interrupted_loading_course_is_a_late_loading_dose() -> None:
    question = "loading course interrupted after 3 of the 6 doses (admitted 10 days) - restart?"
    ans = answer(question, KB)
    assert ans.headline is not None
    assert ans.headline.recs[0] in {"B12-TX-101", "B12-SAFE-056"}, ans.headline.recs


def test_waiting_for_my_b12_result_with_nerve_symptoms_is_answered_do_not_wait() -> None:
    question = (
        "I have pins and needles in both hands and the doctor wants to wait for my B12 result "
        "before starting any injections. Is that right?"
    )
    ans = answer(question, KB, audience="patient")
    assert ans.headline is not None
    assert ans.headline.recs[0] in {"B12-SAFE-061", "B12-SAFE-006", "B12-SAFE-001"}


@pytest.mark.parametrize(
    "question",
    [
        "74F new PA, B12 112 pg/mL, no numbness/tingling, gait normal. labeled cyano schedule?",
        "b12 95, sensation intact, reflexes normal - which regimen?",
    ],
)
def test_a_sign_reported_normal_is_not_a_neurological_symptom(question: str) -> None:
    assert _slots(question).neuro is not True, question


def test_a_belief_that_she_is_b12_deficient_is_a_suspicion() -> None:
    question = (
        "clinically I really think she's B12 deficient (glossitis, macrocytosis) but the serum "
        "B12 came back 410. no neuro signs. now what?"
    )
    assert _slots(question).deficiency == "suspected"
    assert "B12-DX-040" not in _facts(answer(question, KB))


def test_under_the_skin_instead_on_treatment_replaces_the_intramuscular_injection() -> None:
    question = (
        "on warfarin (INR ~2.5), got a big bruise from my last b12 shot in the arm. can they "
        "give it under the skin instead?"
    )
    assert _slots(question).replaced_route == "im"
    ans = answer(question, KB, audience="patient", guideline="us")
    assert ans.headline is not None
    assert ans.headline.recs[0] == "B12-SAFE-069", ans.headline.recs


@pytest.mark.parametrize(
    "question",
    [
        "I have LHON (leber's) and low b12. pharmacy has cyanocobalamin shots. are those safe?",
        "pt with early Leber disease needs B12 - can we use cyanocobalamin injection as usual?",
    ],
)
def test_a_product_asked_about_in_lebers_is_the_plan_warning(question: str) -> None:
    ans = answer(question, KB)
    assert ans.headline is not None
    assert ans.headline.recs[0] == "B12-SAFE-008", ans.headline.recs
    assert ans.headline.text.startswith("No"), ans.headline.text


@pytest.mark.parametrize(
    "question",
    [
        "b12 120, only other med levothyroxine 75mcg, no neuro - which regimen?",
        "on amlodipine 5mg and b12 low at 140 - regimen?",
    ],
)
def test_a_dose_of_a_medicine_the_knowledge_base_does_not_name_is_not_a_b12_dose(
    question: str,
) -> None:
    assert _slots(question).dose_ug is None, question


@pytest.mark.parametrize(
    ("question", "dose"),
    [
        ("hydroxocobalamin 1mg IM every 3 months ok?", 1000.0),
        ("cyanocobalamin 1000mcg daily by mouth - enough?", 1000.0),
        ("b12 injection 1 mg every 2 months", 1000.0),
    ],
)
def test_a_b12_dose_is_still_read(question: str, dose: float) -> None:
    assert _slots(question).dose_ug == dose, question


def test_cognition_fine_is_not_a_neurological_symptom() -> None:
    question = "B12 128, IF ab positive, no paraesthesia, gait normal, cognition fine - regimen?"
    assert _slots(question).neuro is not True


@pytest.mark.parametrize(
    ("question", "guideline"),
    [
        (
            "my mum is 84 and on apixaban, her b12 is 130 - can the nurse still give the jab in "
            "her arm?",
            "uk",
        ),
        ("on warfarin INR 2.4, ok to give his hydroxocobalamin IM today?", "uk"),
        ("on eliquis - are IM b12 shots ok?", "us"),
    ],
)
def test_an_injection_on_an_anticoagulant_is_allowed_with_precautions(
    question: str, guideline: str
) -> None:
    ans = answer(question, KB, guideline=guideline)
    assert ans.headline is not None
    assert ans.headline.recs[0] in {"B12-SAFE-068", "B12-SAFE-069"}, ans.headline.recs
    assert ans.headline.text.startswith("It depends on whether anticoagulation"), ans.headline.text
