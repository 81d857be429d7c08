"""Issue 14, second round: the classes found with questions written blind to the engine.

Each test uses questions of our own (none is in the labelled set) for one class of fault the
blind batches showed, so that the fix is a reading of the class, not of one question:

* a topic the knowledge base never mentions, with B12 named ("b12 for rosacea?"), is refused
  unless the question describes a deficiency, a result or a treatment;
* deep subcutaneous injection is its own route (within the US cyanocobalamin label);
* a number quoted as a rule ("anyone with >20 cm removed") is not the patient's;
* a symptom denied by name outweighs a loose word ("destroying my nerves");
* of two products, the one proposed is the order ("switch from A to B", "B instead of A");
* a stated suspicion kept against a normal result is answered by the alert that keeps it;
* yes/no questions asked with a negative auxiliary, "X ok or Y only?", "treat now or wait?";
* an item's own ``stance`` (content) answers a yes/no question it heads.
"""

from __future__ import annotations

import pytest

from b12.adapters.knowledge_files import load_knowledge_base
from b12.core.answer import answer, evaluate_facts

KB = load_knowledge_base()


@pytest.mark.parametrize(
    "question",
    [
        "does b12 help with rosacea",
        "b12 shots for my psoriasis?",
        "is b12 good for vertigo",
        "b12 and restless legs",
        "b12 smoothie with spirulina, good idea?",
        "will b12 help my tinnitus",
        "is b12 vegan",
        "cobalt in tattoo ink and b12 allergy",
    ],
)
def test_a_topic_the_knowledge_base_never_mentions_is_refused(question: str) -> None:
    assert answer(question, KB, audience="patient").status == "no_answer", question


@pytest.mark.parametrize(
    "question",
    [
        "b12 110 and tingling feet, I'm a keen cyclist - start injections now?",
        "19 weeks pregnant, b12 low, midwife says injections - when is the review?",
        "vegan ultramarathoner, b12 130 ng/L - tablets or injections?",
    ],
)
def test_a_deficiency_or_a_treatment_keeps_an_unusual_word_in_scope(question: str) -> None:
    assert answer(question, KB, audience="patient").status == "answered", question


def test_deep_subcutaneous_cyanocobalamin_is_within_the_us_label() -> None:
    for question in ("cyanocobalamin deep subq ok?", "cyano by deep subcutaneous injection?"):
        ans = answer(question, KB, guideline="us")
        assert ans.headline is not None
        used = set(ans.headline.recs) | {r for s in ans.sections for i in s.items for r in i.recs}
        assert "B12-SAFE-042" not in used, question
    plain = answer("can cyanocobalamin go plain subcutaneous, not deep?", KB, guideline="us")
    assert plain.headline is not None
    assert plain.headline.recs == ("B12-SAFE-042",)


@pytest.mark.parametrize(
    "question",
    [
        "since anyone with >20cm of ileum removed needs lifelong b12, should my pt have it? "
        "length not in the op note",
        "isn't it over 20 cm of ileal resection that needs b12? not sure what was removed",
    ],
)
def test_a_length_quoted_as_a_rule_is_not_the_patients(question: str) -> None:
    req, _sel = evaluate_facts(question, KB)
    assert req.slots.ileal_resection_cm is None


def test_a_symptom_denied_by_name_is_not_read_as_present() -> None:
    req, _sel = evaluate_facts(
        "b12 170 on metformin, my friend says it's wrecking my nerves but I have no tingling "
        "or numbness at all - should I stop metformin?",
        KB,
    )
    assert req.slots.neuro is False


@pytest.mark.parametrize(
    ("question", "proposed"),
    [
        ("switch my dad from hydroxocobalamin to methylcobalamin?", "methylcobalamin"),
        ("methylcobalamin instead of hydroxo jabs - ok?", "methylcobalamin"),
        ("wants to change from cyanocobalamin to hydroxocobalamin", "hydroxocobalamin"),
    ],
)
def test_of_two_products_the_proposed_one_is_read(question: str, proposed: str) -> None:
    req, _sel = evaluate_facts(question, KB)
    assert req.slots.proposed_product == proposed


def test_a_stated_suspicion_kept_against_a_normal_result_heads() -> None:
    ans = answer(
        "strongly suspect b12 deficiency clinically, glossitis, but b12 is 420 - what now?", KB
    )
    assert ans.headline is not None
    # The kept suspicion, or the second-line test it leads to (both hold; issue 14 labels).
    assert ans.headline.recs[0] in {"B12-SAFE-060", "B12-DX-025"}
    used = {r for s in ans.sections for i in s.items if i.applies_if is None for r in i.recs}
    assert "B12-DX-003" not in used  # "deficiency unlikely" is not stated as a fact


@pytest.mark.parametrize(
    "question",
    [
        "shouldn't hydroxo be every 2 months after SACD?",
        "isnt the buttock fine for b12 jabs?",
        "Cytamen ok in Leber's or hydroxo only?",
        "b12 150 ng/L, definite deficiency or repeat it?",
        "b12 300 ng/L - what does that mean, need to treat?",
    ],
)
def test_yes_no_questions_in_other_shapes_start_with_yes_no_or_it_depends(question: str) -> None:
    ans = answer(question, KB)
    assert ans.parameters.form == "yesno", question
    assert ans.headline is not None
    assert ans.headline.text.lower().startswith(("yes", "no", "it depends")), ans.headline.text


def test_an_items_own_stance_answers_the_yes_no_question_it_heads() -> None:
    on = answer("pt already on b12 injections, should we continue?", KB)
    assert on.headline is not None
    assert on.headline.answers == "yes"
    sub = answer("do sublingual b12 lozenges work as well as injections?", KB)
    assert sub.headline is not None
    assert sub.headline.recs == ("B12-SAFE-043",)
    assert sub.headline.answers == "no"
    assert sub.headline.text.startswith(KB.answering.answer_words["clinician"]["unproven"])


@pytest.mark.parametrize(
    "question",
    [
        "on 3 monthly jabs for PA, b12 came back 1900 - should the GP cut them down?",
        "b12 2000 on monthly shots, can we space them out?",
        "b12 over 1500 on hydroxo, time to go less often?",
    ],
)
def test_a_question_about_cutting_down_is_answered_no_on_a_high_level(question: str) -> None:
    ans = answer(question, KB)
    assert ans.headline is not None
    assert ans.headline.answers == "no", ans.headline.text


@pytest.mark.parametrize(
    "question",
    [
        "pt on metformin 2g, b12 250, no symptoms - treat?",
        "on omeprazole for years, b12 240, no symptoms - do we treat?",
    ],
)
def test_information_about_a_risk_does_not_answer_whether_to_treat(question: str) -> None:
    ans = answer(question, KB)
    assert ans.headline is not None
    rec = KB.recommendations[ans.headline.recs[0]]
    assert not (rec.action.type == "alert" and getattr(rec.action, "severity", "") == "info")


@pytest.mark.parametrize(
    ("question", "rec"),
    [
        ("Rx: hydroxocobalamin 1mg IV monthly - ok to dispense?", "B12-SAFE-040"),
        ("script reads hydroxocobalamin 2 g IM - typo?", "B12-SAFE-045"),
        (
            "hydroxocobalamin 50 micrograms IM every month on the script, right dose?",
            "B12-SAFE-047",
        ),
    ],
)
def test_an_order_told_in_the_question_is_answered_by_the_order_check(
    question: str, rec: str
) -> None:
    ans = answer(question, KB)
    assert ans.headline is not None
    assert ans.headline.recs == (rec,)


def test_grams_of_another_drug_are_not_a_b12_dose() -> None:
    req, _sel = evaluate_facts("metformin 2g daily for years, b12 200, tingling - start jabs?", KB)
    assert req.slots.dose_ug is None


def test_confirmed_stated_as_a_fact_is_not_a_question_about_the_diagnosis() -> None:
    req, _sel = evaluate_facts(
        "confirmed low b12 with ataxia, pt refuses all injections - is oral ok?", KB
    )
    assert req.slots.asks_deficiency is False


def test_folic_acid_and_nothing_else_is_folic_acid_alone() -> None:
    ans = answer("Rx folic acid 5mg od and nothing else, b12 was 120 - ok to dispense?", KB)
    assert ans.headline is not None
    assert ans.headline.recs == ("B12-SAFE-053",)


def test_a_clear_caution_heads_a_question_whose_results_are_read() -> None:
    ans = answer(
        "79M, Hb 55 g/L, platelets 35, b12 under 50 - start hydroxo at the surgery or send in?",
        KB,
    )
    assert ans.headline is not None
    assert ans.headline.recs == ("B12-SAFE-066",)


def test_a_dose_after_folic_acid_or_a_product_named_as_not_given_is_not_a_b12_order() -> None:
    req, _sel = evaluate_facts(
        "rx folic acid 5mg od only, b12 deficiency confirmed, no hydroxo prescribed - ok?", KB
    )
    assert req.slots.dose_ug is None
    assert req.slots.formulations == []


def test_the_plan_warning_heads_a_product_question_that_tells_no_order() -> None:
    ans = answer("LHON and low b12 - is cyanocobalamin alright?", KB, guideline="us")
    assert ans.headline is not None
    assert ans.headline.recs == ("B12-SAFE-008",)


@pytest.mark.parametrize(
    "question",
    [
        "came up in hives after my last b12 jab - can I have tablets instead?",
        "my face swelled after the injection, could I switch to tablets?",
    ],
)
def test_a_reaction_told_in_words_and_tablets_instead_gets_the_hypersensitivity_regimen(
    question: str,
) -> None:
    ans = answer(question, KB, audience="patient")
    assert ans.headline is not None
    assert ans.headline.recs == ("B12-TX-003",)


def test_a_spaced_dash_separates_a_result_from_the_question() -> None:
    req, _sel = evaluate_facts("vegan, b12 120 - tablets?", KB)
    assert req.slots.labs.get("serum_b12_ng_l") == 120.0


def test_a_diet_changed_back_is_a_cause_dealt_with_but_not_eating_meat_is_not() -> None:
    changed, _ = evaluate_facts("was vegan, now eating fish again, b12 fine - stop tablets?", KB)
    assert "cause_resolved" in changed.slots.events
    vegan, _ = evaluate_facts("vegan, not eating meat or fish for years, b12 120 - tablets?", KB)
    assert "cause_resolved" not in vegan.slots.events


def test_a_risk_named_as_fine_is_not_a_risk() -> None:
    req, _sel = evaluate_facts("neuropathy, b12 470, eats a good diet - give b12 anyway?", KB)
    assert "dietary" not in req.slots.causes


@pytest.mark.parametrize(
    "question",
    [
        "b12 90, tingling feet - can she just have tablets?",
        "B12 100, ataxia. shots, or is high-dose oral fine to start?",
    ],
)
def test_a_proposed_route_the_regimen_does_not_use_is_answered_no(question: str) -> None:
    ans = answer(question, KB)
    assert ans.headline is not None
    assert ans.headline.answers == "no", ans.headline.text


@pytest.mark.parametrize(
    "question",
    [
        "last hydroxo jab 5 months ago, meant to be 3 monthly, no new symptoms - reload?",
        "on 3 monthly hydroxo, last dose 4/12 ago - just give it?",
    ],
)
def test_a_last_dose_longer_ago_than_the_interval_is_overdue(question: str) -> None:
    req, _sel = evaluate_facts(question, KB)
    assert req.slots.timing == "overdue"


def test_a_population_warning_answers_what_to_do_for_that_patient() -> None:
    ans = answer(
        "frail 90yo with dementia on cyanocobalamin tablets, keeps forgetting them - what now?",
        KB,
    )
    assert ans.headline is not None
    assert ans.headline.recs == ("B12-SAFE-070",)


def test_where_a_patient_came_from_is_not_the_guideline_set_asked_about() -> None:
    req, _sel = evaluate_facts(
        "pt moved from the US on cyanocobalamin 1000 mcg monthly - what should we give here?", KB
    )
    assert req.slots.guideline_cue is None


def test_a_question_comparing_sets_is_answered_by_the_disagreement() -> None:
    ans = answer("why is cobalt allergy a contraindication in America but not here?", KB)
    assert ans.headline is not None
    assert ans.headline.recs == ("B12-DIS-004",)


@pytest.mark.parametrize(
    "question",
    [
        "b12 deficiency in a 70 yo on omeprazole 20mg - oral or im?",
        "on metformin 1000mg bd, b12 low - what regimen?",
    ],
)
def test_another_medicines_dose_is_not_a_b12_dose(question: str) -> None:
    req, _sel = evaluate_facts(question, KB)
    assert req.slots.dose_ug is None
    ans = answer(question, KB)
    assert ans.headline is not None
    assert ans.headline.recs != ("B12-SAFE-045",)


def test_a_now_elsewhere_in_the_question_is_not_a_new_symptom() -> None:
    req, _sel = evaluate_facts(
        "pt on hydroxo every 2 months after neuro involvement - can we go to 3 monthly now?", KB
    )
    assert "new_neuro_symptoms" not in req.slots.events
    assert req.slots.interval_days == pytest.approx(91.32)  # the interval proposed
    ans = answer("on 2 monthly hydroxo after SACD, ok to move to every 3 months?", KB)
    assert ans.headline is not None
    assert ans.headline.recs == ("B12-SAFE-095",)
    assert ans.headline.answers == "no"


def test_a_warning_that_allows_treatment_answers_yes_to_giving_it() -> None:
    ans = answer("can i give hydroxo to a pt with cobalt allergy?", KB)
    assert ans.headline is not None
    assert ans.headline.answers == "yes"
    harm = answer("is cobalt allergy a contraindication to b12 jabs?", KB)
    assert harm.headline is not None
    assert harm.headline.answers == "no"


@pytest.mark.parametrize(
    ("question", "stance"),
    [
        ("on b12 jabs every 3 months, can i have them every 2 months instead?", None),
        ("on 3 monthly jabs but symptoms back at 8 weeks, can we go to every 2 months?", "yes"),
        ("i had my b12 jab 2 weeks early by mistake, is that dangerous?", "no"),
        ("im pregnant and my b12 is 170, will the injections hurt my baby?", "no"),
    ],
)
def test_the_stance_follows_what_the_question_proposes(question: str, stance: str | None) -> None:
    ans = answer(question, KB, audience="patient")
    assert ans.headline is not None
    if stance is not None:
        assert ans.headline.answers == stance, ans.headline.text
    else:
        assert ans.headline.answers != "no", ans.headline.text
