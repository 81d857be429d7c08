"""Issue 14, third round: classes found on dev misses and a fourth blind batch.

Each test uses questions of our own (none is in the labelled set):

* an alert open only on the adult gate (age 16 or over) is offered under that condition,
  and heads the question about its own topic ("Hb 52, platelets 35 - start in surgery?");
* an item open only on the treatment still to be planned ("if treatment is by injection")
  is what the question asks about, and does not give way to the result's reading;
* a test's own name is not a word of intent ("mean" in "mean cell volume").
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
    return extract(normalise(question, index_for(KB).table), question, KB)


def _used(ans: object) -> set[str]:
    head = getattr(ans, "headline", None)
    out = set(head.recs) if head is not None else set()
    for section in getattr(ans, "sections", ()):
        for item in section.items:
            out |= set(item.recs)
    return out


@pytest.mark.parametrize(
    "question",
    [
        "Hb 52 and platelets 35, b12 60 - can we start the injections at the surgery?",
        "b12 40, haemoglobin 49 g/L, plt 30 - fine to treat as an outpatient?",
    ],
)
def test_an_alert_open_only_on_the_adult_gate_heads_its_own_topic(question: str) -> None:
    ans = answer(question, KB)
    assert ans.headline is not None
    assert ans.headline.recs[0] == "B12-SAFE-066", (question, ans.headline.recs)
    # The age is not stated, so the alert is offered under its condition, never as a fact.
    assert ans.headline.applies_if is not None
    assert "16 or over" in ans.headline.applies_if


def test_the_adult_gate_is_not_offered_beside_an_unrelated_open_topic() -> None:
    ans = answer("b12 low on the bloods, no nerve symptoms, which regimen?", KB)
    assert ans.headline is not None
    assert "B12-SAFE-066" not in _used(ans)


def test_a_stated_age_under_16_still_closes_the_adult_gate() -> None:
    ans = answer("12 year old, Hb 50 and platelets 30, b12 45 - start injections?", KB)
    assert "B12-SAFE-066" not in _used(ans)


@pytest.mark.parametrize(
    "question",
    [
        "tingling hands and unsteady, b12 120 - start hydroxo today or wait for haem advice?",
        "numb feet, falls, b12 70. give the first jab now or hold off till haematology reply?",
    ],
)
def test_an_action_question_is_not_answered_by_the_results_reading(question: str) -> None:
    ans = answer(question, KB)
    assert ans.headline is not None
    kind = KB.recommendations[ans.headline.recs[0]].action.type
    assert kind != "classify", (question, ans.headline.recs)
    assert ans.headline.recs[0] in {"B12-SAFE-001", "B12-TX-002", "B12-SAFE-006"}, (
        question,
        ans.headline.recs,
    )


def test_an_open_route_is_written_as_injection_not_as_a_negation() -> None:
    ans = answer("tingling hands and unsteady, b12 120 - start today or wait for haem?", KB)
    text = " ".join(
        [ans.headline.text if ans.headline else ""]
        + [i.text for s in ans.sections for i in s.items]
    )
    assert "is not oral" not in text


@pytest.mark.parametrize(
    "question",
    [
        "MCV 118, b12 90, potassium 3.1 - starting injections tomorrow, anything to watch for?",
        "mcv 125 hb 60 k 3.0 b12 <50, first IM dose today - what should I watch out for?",
    ],
)
def test_mean_cell_volume_is_not_a_question_about_meaning(question: str) -> None:
    ans = answer(question, KB)
    assert ans.headline is not None
    assert ans.headline.recs[0] in {"B12-SAFE-067", "B12-SAFE-002", "B12-SAFE-066"}, (
        question,
        ans.headline.recs,
    )


@pytest.mark.parametrize(
    "question",
    [
        "b12 140 ng/L, neuro exam normal - which regimen?",
        "new diagnosis, b12 95, normal neuro exam, what dose of hydroxo?",
        "b12 deficient at 110, neurological examination unremarkable. how often to inject?",
    ],
)
def test_a_normal_neurological_examination_is_no_involvement(question: str) -> None:
    ans = answer(question, KB)
    assert ans.parameters.neuro is False, question
    # The neurological regimen is never stated as a fact for a normal examination.
    head = ans.headline
    assert head is not None
    assert not (head.recs[0] == "B12-TX-002" and head.applies_if is None), question


def test_neurological_symptoms_beside_a_normal_result_stay_symptoms() -> None:
    for question in ("neuro symptoms, b12 normal - treat?", "tingling feet but b12 normal"):
        assert answer(question, KB).parameters.neuro is True, question


@pytest.mark.parametrize(
    "question",
    [
        "b12 1500 in someone not taking any b12 or injections - does it matter?",
        "serum b12 2100, never had supplements or jabs. what's the significance?",
    ],
)
def test_a_true_result_alert_heads_over_the_catch_all_decision(question: str) -> None:
    ans = answer(question, KB)
    assert ans.headline is not None
    assert ans.headline.recs[0] == "B12-SAFE-016", (question, ans.headline.recs)


@pytest.mark.parametrize(
    ("question", "start"),
    [
        ("my b12 came back 520, is that ok?", "yes"),
        ("b12 600 is that normal", "yes"),
        ("b12 came back 110, is that normal?", "no"),
        ("b12 is 120 is that low?", "yes"),
    ],
)
def test_a_question_about_a_result_is_answered_by_its_reading(question: str, start: str) -> None:
    ans = answer(question, KB, audience="patient")
    assert ans.headline is not None
    assert KB.recommendations[ans.headline.recs[0]].action.type == "classify", question
    assert ans.headline.text.lower().startswith(start), (question, ans.headline.text)


def test_no_pathway_condition_is_written_as_being_on_treatment_unless_it_is_one() -> None:
    """The plain "pathway" phrase ("the patient is on B12 treatment") is only for treatment
    pathways: every pathway condition that names a pathway with no regimen has its own."""
    from b12.core import criteria
    from b12.core.knowledge import DecisionAction

    no_regimen = {
        a.pathway
        for r in KB.recommendations.values()
        if isinstance(a := r.action, DecisionAction) and not a.regimen
    }
    no_regimen.discard("continue-current-treatment")
    phrases = KB.answering.condition_phrases
    for rec in KB.recommendations.values():
        for node in criteria.walk(rec.when) if rec.when is not None else ():
            if not isinstance(node, criteria.Member) or node.field != "pathway":
                continue
            if set(node.values) & no_regimen:
                key = f"pathway={','.join(node.values)}"
                assert key in phrases, (rec.id, key)


@pytest.mark.parametrize(
    "question",
    [
        "PA, stable on 3 monthly hydroxo for years - how often should we be rechecking levels?",
        "on b12 jabs every 12 weeks, do i need my levels retesting every year?",
    ],
)
def test_a_patient_on_treatment_gets_no_advice_for_the_untreated(question: str) -> None:
    ans = answer(question, KB)
    assert "B12-MON-010" not in _used(ans), question  # checks for an untreated risk factor


@pytest.mark.parametrize(
    ("question", "length"),
    [
        ("they took out 8cm of the end of my small bowel, do i need b12 for life?", 8.0),
        ("part of my small intestine was removed for crohns - b12 jabs forever?", None),
    ],
)
def test_a_small_bowel_removed_in_a_patients_words_is_an_ileal_resection(
    question: str, length: float | None
) -> None:
    slots = _slots(question)
    assert "ileal_resection" in slots.populations, question
    assert slots.ileal_resection_cm == length


def test_a_small_bowel_not_removed_is_no_resection() -> None:
    assert (
        "ileal_resection"
        not in _slots("small bowel crohns, never had surgery - b12 check?").populations
    )


def test_a_haemoglobin_without_unit_in_g_per_dl_is_read_as_such() -> None:
    params = answer("Hgb 6.4, plt 30, b12 undetectable - ok to start outpt shots?", KB).parameters
    assert params.labs.get("haemoglobin_g_l") == 64.0


def test_an_injection_site_question_with_an_unusual_word_stays_in_scope() -> None:
    ans = answer("ok to give b12 IM in the upper outer quadrant of the buttock?", KB)
    assert ans.status == "answered"
    assert ans.headline is not None
    assert ans.headline.recs[0] == "B12-SAFE-044"


def test_information_on_a_named_medicine_answers_when_no_decision_was_asked_for() -> None:
    ans = answer("on metformin 1g bd for 10 years - should I check b12? stop metformin?", KB)
    assert ans.headline is not None
    # Fourth round: with phrasings.yaml retrieval finds the at-risk decision (no routine
    # prophylaxis, test if symptoms), which may head; the metformin information is still
    # stated as a fact, never left out.
    assert ans.headline.recs[0] in {"B12-SAFE-026", "B12-DX-030"}
    assert "B12-SAFE-026" in _used(ans)


@pytest.mark.parametrize(
    "question",
    [
        "pt on Neo-Cytamen every 3 months, b12 1700 - drop to 6 monthly?",
        "b12 2100 on 2 monthly cobalin-h injections. is that too high?",
    ],
)
def test_a_brand_name_tells_the_treatment(question: str) -> None:
    ans = answer(question, KB)
    assert "B12-SAFE-016" not in _used(ans), question  # high B12 *without* treatment


@pytest.mark.parametrize(
    "question",
    [
        "folate 2.1, b12 95 - start folic acid 5mg today and the b12 injections next week?",
        "b12 110 and low folate, giving folic acid now and hydroxo later once the results "
        "are back - ok?",
    ],
)
def test_b12_put_off_while_folic_acid_starts_is_folic_acid_alone(question: str) -> None:
    ans = answer(question, KB)
    assert ans.headline is not None
    assert ans.headline.recs[0] in {"B12-SAFE-053", "B12-SAFE-004"}, (question, ans.headline.recs)
    assert ans.headline.text.startswith("No"), ans.headline.text


@pytest.mark.parametrize(
    "question",
    [
        "pt with past neuro involvement, now on 3 monthly hydroxo - right interval?",
        "b12 pt stable, now taking tablets - enough?",
        "PA, new numbness in both feet. Restart? And how soon?",
        "warfarin pt - hydroxo deep subcut instead of IM?",
        "start folic acid now and b12 jabs later in the week - ok?",
    ],
)
def test_more_yes_no_shapes_start_with_yes_no_or_it_depends(question: str) -> None:
    ans = answer(question, KB)
    assert ans.parameters.form == "yesno", question
    assert ans.headline is not None
    assert ans.headline.text.lower().startswith(("yes", "no", "it depends")), ans.headline.text


def test_now_on_a_treatment_is_not_a_new_symptom() -> None:
    ans = answer("neuro b12 pt now on 3 monthly hydroxo - right interval?", KB)
    assert ans.headline is not None
    assert ans.headline.recs[0] != "B12-TX-106"  # reload for new neurological symptoms


@pytest.mark.parametrize(
    ("question", "guideline", "start"),
    [
        ("on Xarelto - cyanocobalamin deep subQ instead of IM?", "us", "yes"),
        ("on apixaban - can we give the hydroxo deep subcut instead of IM?", "uk", "no"),
    ],
)
def test_a_route_proposed_instead_is_answered_by_what_the_set_allows(
    question: str, guideline: str, start: str
) -> None:
    ans = answer(question, KB, guideline=guideline)
    assert ans.headline is not None
    assert ans.headline.recs[0] in {"B12-SAFE-069", "B12-SAFE-068", "B12-SAFE-041"}, (
        question,
        ans.headline.recs,
    )
    assert ans.headline.text.lower().startswith(start), ans.headline.text


@pytest.mark.parametrize(
    "question",
    [
        "MCV 112, folate 2.0, b12 still pending - can I start folic acid 5 mg today?",
        "big red cells and low folate, b12 never checked - ok to give folic acid?",
    ],
)
def test_folic_acid_alone_with_the_b12_status_unknown_is_answered_no(question: str) -> None:
    ans = answer(question, KB)
    assert ans.headline is not None
    # Fourth round: a B12 result "still pending" is a suspicion (a test was sent for one), so
    # the alert on folic acid alone with possible deficiency (SAFE-053) may answer it.
    heads = {"B12-SAFE-054", "B12-SAFE-004", "B12-SAFE-053"}
    assert ans.headline.recs[0] in heads, (question, ans.headline.recs)
    assert ans.headline.text.startswith("No"), ans.headline.text


@pytest.mark.parametrize(
    "question",
    [
        "should we recheck b12 levels every 6 months in PA patients on injections?",
        "on 3 monthly hydroxo - do I need to check her levels every year?",
    ],
)
def test_how_often_to_check_is_not_an_injection_interval(question: str) -> None:
    ans = answer(question, KB)
    assert "B12-SAFE-057" not in _used(ans), question  # "the ordered interval is longer…"
    assert "B12-SAFE-094" not in _used(ans), question


@pytest.mark.parametrize(
    "question",
    [
        "22M heavy NOS use, numb feet, b12 300 - treat now or wait for MMA?",
        "NOS canisters most weekends, tingling hands, b12 normal - treat?",
    ],
)
def test_nos_slang_is_nitrous_oxide(question: str) -> None:
    ans = answer(question, KB)
    assert ans.headline is not None
    assert ans.headline.recs[0] in {"B12-SAFE-062", "B12-SAFE-028", "B12-SAFE-061"}, question
    assert "B12-DX-040" not in _used(ans)  # "no deficiency" is never stated here


def test_nos_as_not_otherwise_specified_is_not_nitrous_oxide() -> None:
    assert "nitrous_oxide" not in _slots("anaemia nos, b12 90 - which regimen?").causes


@pytest.mark.parametrize(
    "question",
    [
        "b12 test came back over 1800 and i have 3 monthly jabs for PA - should i stop for a bit?",
        "isn't b12 toxic? pt on 2 monthly hydroxo, level 2100 - stop it?",
    ],
)
def test_a_high_level_on_treatment_told_loosely_is_read(question: str) -> None:
    ans = answer(question, KB)
    assert ans.headline is not None
    assert ans.headline.recs[0] in {"B12-SAFE-015", "B12-SAFE-017", "B12-TX-015"}, (
        question,
        ans.headline.recs,
    )
    assert ans.headline.text.startswith("No"), ans.headline.text


@pytest.mark.parametrize(
    ("question", "treated"),
    [
        ("i have 3 monthly jabs for PA and my level is 1500 - too high?", True),
        ("she has monthly b12 injections, b12 now 1900 - stop?", True),
        ("do i have to have injections every month forever?", False),
        ("will she have to have b12 shots every 3 months?", False),
    ],
)
def test_a_schedule_had_is_a_treatment_an_obligation_is_not(question: str, treated: bool) -> None:
    assert _slots(question).on_treatment is treated, question


@pytest.mark.parametrize(
    "question",
    [
        "32/40, b12 120, first hydroxo today - when is her review?",
        "pt 20/40 on b12 injections since last week - when do I see her again?",
    ],
)
def test_weeks_over_forty_is_a_pregnancy(question: str) -> None:
    assert "pregnancy" in _slots(question).populations, question
    ans = answer(question, KB)
    assert ans.headline is not None
    assert ans.headline.recs[0] == "B12-MON-002", (question, ans.headline.recs)


def test_a_ratio_that_is_not_weeks_of_pregnancy_is_not_one() -> None:
    assert "pregnancy" not in _slots("hydroxo every 3/12, b12 400 - ok?").populations
    assert "pregnancy" not in _slots("b12 180/40 - ok?").populations


@pytest.mark.parametrize(
    ("question", "status"),
    [
        ("?b12 def, tingling feet, bloods sent - treat before the result?", "suspected"),
        ("pt ?PA - check IF antibodies?", "suspected"),
        ("what dose? b12 150 ng/L", None),
    ],
)
def test_a_queried_diagnosis_is_suspected(question: str, status: str | None) -> None:
    slots = _slots(question)
    if status is None:
        assert not slots.queried
    else:
        assert slots.deficiency == status, question


@pytest.mark.parametrize(
    "question",
    [
        "b12 90, started hydroxo, also on ferrous sulphate - when is the review?",
        "had my b12 jab late because of flu, do I restart the loading?",
        "b12 came back 600, is it normal? I'm on levothyroxine if that matters",
    ],
)
def test_another_medicine_or_illness_told_in_passing_keeps_the_question(question: str) -> None:
    assert answer(question, KB, audience="patient").status == "answered", question


@pytest.mark.parametrize(
    "question",
    [
        "on methotrexate injections weekly, do I need folic acid with it?",
        "pt has b12 jabs every 3 months - what's the vitamin D loading dose?",
        "on b12 injections, can I take iron tablets too?",
    ],
)
def test_a_question_about_the_other_topic_is_still_refused(question: str) -> None:
    assert answer(question, KB, audience="patient").status == "no_answer", question


@pytest.mark.parametrize(
    "question",
    [
        "romberg positive, b12 70 - IM or oral cyanocobalamin?",
        "b12 88 with dorsal column signs - tablets ok?",
    ],
)
def test_examination_findings_are_neurological_involvement(question: str) -> None:
    assert _slots(question).neuro is True, question


@pytest.mark.parametrize(
    ("question", "treated"),
    [
        ("PA for years, jab every 12 weeks. GP says my levels are too high - stop?", True),
        ("she has injections every 3 months. b12 now 1900 - reduce?", True),
        ("should she have injections every 3 months?", False),
    ],
)
def test_a_schedule_told_as_a_fact_is_a_treatment(question: str, treated: bool) -> None:
    assert _slots(question).on_treatment is treated, question


def test_levels_too_high_in_words_is_a_high_result() -> None:
    slots = _slots("on jabs every 12 weeks and my levels are way too high - stop them?")
    assert slots.word_results.get("serum_b12_ng_l") == "high"


@pytest.mark.parametrize(
    "question",
    [
        "sleeve gastrectomy 2 years ago, b12 fine - do I still need my injections?",
        "gastric bypass, b12 normal now, does he still need his 3 monthly hydroxo?",
    ],
)
def test_whether_a_bariatric_patient_still_needs_injections_is_the_decision(
    question: str,
) -> None:
    ans = answer(question, KB)
    assert ans.headline is not None
    assert ans.headline.recs[0] in {"B12-TX-011", "B12-TX-028", "B12-TX-015"}, question
    assert ans.headline.text.startswith("Yes"), ans.headline.text


@pytest.mark.parametrize(
    "question",
    [
        "do I need to recheck b12 levels every year on maintenance injections?",
        "does potassium need checking after the first hydroxocobalamin dose?",
    ],
)
def test_needing_a_check_is_not_needing_treatment(question: str) -> None:
    assert not _slots(question).decision_question, question


@pytest.mark.parametrize(
    "question",
    [
        "coeliac, b12 fine last year - should she be on prophylactic b12 jabs?",
        "crohn's without surgery, b12 normal - should he be on b12 injections just in case?",
    ],
)
def test_should_she_be_on_is_a_proposal_not_a_treatment(question: str) -> None:
    slots = _slots(question)
    assert not slots.on_treatment, question
    assert slots.decision_question, question
    ans = answer(question, KB)
    assert ans.headline is not None
    assert ans.headline.text.startswith(("No", "It depends")), (question, ans.headline.text)
    assert "B12-TX-015" not in _used(ans)  # "continue the current regimen"


@pytest.mark.parametrize(
    "question",
    [
        "?b12 def clinically but level 430, no neuro - next step?",
        "strongly suspect b12 deficiency but level 400 - MMA?",
    ],
)
def test_a_suspicion_is_kept_against_a_bare_normal_level(question: str) -> None:
    slots = _slots(question)
    assert slots.labs.get("serum_b12_ng_l") in (430.0, 400.0)
    ans = answer(question, KB)
    assert "B12-DX-040" not in _used(ans), question  # "no deficiency" is never stated
    assert ans.headline is not None
    assert ans.headline.recs[0] in {"B12-SAFE-060", "B12-DX-025", "B12-DX-026"}, question


def test_another_tests_level_is_not_a_b12_level() -> None:
    assert "serum_b12_ng_l" not in _slots("on hydroxo, folate level 3 - ok?").labs
    assert "serum_b12_ng_l" not in _slots("b12 jabs, ferritin level 9 - iron?").labs


@pytest.mark.parametrize(
    "question",
    [
        "pt prefers hydroxocobalamin over cyano - US label dose?",
        "she'd rather have hydroxocobalamin than cyanocobalamin, what's the US regimen?",
    ],
)
def test_a_product_preferred_over_another_is_the_preference(question: str) -> None:
    ans = answer(question, KB, guideline="us")
    assert ans.headline is not None
    assert ans.headline.recs[0] == "B12-TX-025", (question, ans.headline.recs)


@pytest.mark.parametrize(
    "question",
    [
        "folate 2.5, MCV 110, b12 not done yet - ok to give folic acid 5mg?",
        "can I hand out folic acid on its own? MCV 118, b12 never checked",
    ],
)
def test_a_folic_acid_order_is_answered_by_the_order_check(question: str) -> None:
    ans = answer(question, KB)
    assert ans.headline is not None
    assert ans.headline.recs[0] == "B12-SAFE-054", (question, ans.headline.recs)


@pytest.mark.parametrize(
    "question",
    [
        "I'm 20 weeks pregnant with PA - do I carry on with my b12 jabs as normal?",
        "just found out I'm pregnant, keep having my b12 injections?",
    ],
)
def test_carrying_on_with_ones_own_injections_is_the_continue_decision(question: str) -> None:
    assert _slots(question).on_treatment, question
    ans = answer(question, KB, audience="patient")
    assert ans.headline is not None
    assert ans.headline.recs[0] == "B12-TX-015", (question, ans.headline.recs)
    assert ans.headline.text.startswith("Yes"), ans.headline.text


@pytest.mark.parametrize(
    "question",
    [
        "what does a course of b12 jabs cost privately?",
        "is hydroxocobalamin covered by my insurance?",
        "can my husband learn to inject myself... I mean inject me, or can I self inject?",
        "should the ampoules be stored in the fridge?",
        "my pee went bright red after the first hydroxocobalamin jab, normal?",
        "is it ok to drink alcohol the night after my b12 injection?",
        "can I give blood while I'm on b12 injections?",
        "which foods are rich in b12 for a vegetarian?",
        "is pernicious anaemia hereditary? will my daughter get it",
        "the chemist says there's a shortage of hydroxocobalamin, what now?",
    ],
)
def test_a_b12_topic_no_item_answers_is_not_covered(question: str) -> None:
    ans = answer(question, KB, audience="patient")
    assert ans.status == "no_answer", (question, ans.headline.recs if ans.headline else None)
    assert ans.nearest_topics, question


@pytest.mark.parametrize(
    "question",
    [
        "Leber's hereditary optic neuropathy - is cyanocobalamin ok?",
        "inherited optic neuropathy (Leber's) and low b12 - which product?",
    ],
)
def test_a_covered_question_sharing_a_word_is_still_answered(question: str) -> None:
    assert answer(question, KB).status == "answered", question


def test_a_later_part_no_item_answers_is_named_the_rest_answered() -> None:
    ans = answer("what dose of hydroxo for PA without nerve symptoms? and what does it cost?", KB)
    assert ans.status == "answered"
    assert ans.message is not None
    assert "cost" in ans.message


def test_condition_phrases_are_written_for_the_pictures_condition_lists() -> None:
    """The phrase table writes "condition=…" and "medication=…"; the picture's fields are
    ``conditions`` and ``medications``: an item open on one is written out, not dropped."""
    ans = answer("where does the 20 cm ileum rule come from?", KB)
    assert ans.status == "answered"
    assert ans.headline is not None
    assert ans.headline.recs[0] == "B12-DIS-011"
    assert ans.headline.applies_if is not None


@pytest.mark.parametrize(
    "question", ["cyanocobalamin deep subq ok?", "is cyanocobalamin 1000 mcg monthly ok?"]
)
def test_an_item_open_on_a_condition_the_question_never_names_does_not_head(
    question: str,
) -> None:
    ans = answer(question, KB, guideline="us")
    assert ans.headline is not None
    assert ans.headline.recs[0] not in {"B12-SAFE-008", "B12-SAFE-052"}, question  # Leber's


@pytest.mark.parametrize(
    ("question", "kept"),
    [
        ("started metformin, should I take b12 tablets to prevent deficiency?", "prevent"),
        ("aluminum in cyanocobalamin vials in dialysis?", None),
    ],
)
def test_a_common_word_is_never_repaired_into_a_knowledge_base_word(
    question: str, kept: str | None
) -> None:
    ans = answer(question, KB)
    if kept is not None:
        assert kept in ans.normalised.split(), ans.normalised
    assert ans.status == "answered"


def test_taking_b12_to_prevent_deficiency_is_the_prophylaxis_decision() -> None:
    ans = answer("started metformin, should I take b12 tablets to prevent deficiency?", KB)
    assert ans.headline is not None
    assert ans.headline.recs[0] == "B12-DX-030"
    assert ans.headline.text.startswith("No"), ans.headline.text


@pytest.mark.parametrize(
    "question",
    [
        "how long do b12 injections take to work?",
        "when will I start to feel better after the loading jabs?",
    ],
)
def test_how_soon_treatment_works_is_not_covered(question: str) -> None:
    assert answer(question, KB, audience="patient").status == "no_answer", question


def test_no_symptoms_at_all_is_no_neurological_involvement() -> None:
    assert _slots("b12 160 and mma 450, no symptoms, treat?").neuro is False


def test_when_to_start_after_bariatric_surgery_is_the_bariatric_regimen() -> None:
    ans = answer("gastric sleeve 6 months ago, b12 fine, when should she start hydroxo?", KB)
    assert ans.headline is not None
    assert ans.headline.recs[0] == "B12-TX-011"


def test_a_results_reading_does_not_displace_a_same_day_warning() -> None:
    ans = answer("b12 60, hb 55, plt 20, confused - admit?", KB)
    assert ans.headline is not None
    assert ans.headline.recs[0] == "B12-SAFE-066", ans.headline.recs


@pytest.mark.parametrize(
    "question",
    [
        "my son is 19 and his b12 came back low, what injections will he have?",
        "45 year old woman, b12 low on bloods, no nerve symptoms - which regimen?",
    ],
)
def test_a_result_told_in_words_reaches_the_picture_plan_reads(question: str) -> None:
    from b12.core.answer.select import planned

    ans = answer(question, KB)
    picture = ans.parameters.picture
    assert picture is not None
    assert picture.get("deficiency") == "confirmed", picture
    assert ans.headline is not None
    if ans.headline.regimen is not None:
        assert ans.headline.regimen == planned(picture, KB)[1], question
