"""Issue 14, seventh round: classes the dev misses and the blind batch ``fresh18`` showed
(questions of our own, not the batch's wording)."""

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


def _head(question: str, audience: str = "clinician", guideline: str = "uk") -> tuple[str, ...]:
    got = answer(question, KB, audience=audience, guideline=guideline)
    assert got.status == "answered", question
    assert got.headline is not None
    return tuple(got.headline.recs)


#: A loading course broken off by travel, illness or a missed appointment: the loading dose
#: is overdue (give it now and carry on; the course is not started again).
INTERRUPTED_LOADING = [
    "did 2 of her 6 loading jabs and then flew to india for a month. start the course again?",
    "mr p had four of the loading injections then caught flu and missed a week, what now?",
    "had 3 loading shots then went to my sisters in scotland for 10 days, do i start again",
    "pt no-showed for the last two loading doses, carry on or restart from the beginning?",
    "loading course halfway done, she DNA'd twice. give the rest or restart?",
    "in the middle of the alternate-day jabs for neuro b12 def, patient was admitted with a"
    " chest infection for a week - pick up where we left off?",
]


@pytest.mark.parametrize("question", INTERRUPTED_LOADING)
def test_an_interrupted_loading_course_is_an_overdue_loading_dose(question: str) -> None:
    slots = _slots(question)
    assert slots.timing == "overdue", question
    assert "loading" in slots.phase_kinds, question
    assert _head(question)[0] == "B12-TX-101"


#: A loading course that simply goes on, or is finished, is not late.
LOADING_NOT_LATE = [
    "had 3 of the 6 loading jabs, when is the next one?",
    "went to the surgery for my 4th loading injection today, how many more?",
    "finished the alternate day injections last week, what happens now?",
]


@pytest.mark.parametrize("question", LOADING_NOT_LATE)
def test_a_loading_course_going_on_is_not_late(question: str) -> None:
    assert _slots(question).timing is None, question


#: A low B12 the asker only believes ("I think my b12 is low"), with no result told, is a
#: suspicion to test, never a diagnosis to treat.
BELIEVED_LOW = [
    "i think my b12 is low, im vegan and always tired. should i start tablets?",
    "worried my b12 might be low as ive been on metformin for years - should i just buy some?",
    "I reckon my mum's B12 is low, she's vegetarian and forgetful, can we give her tablets",
    "wonder if my b12 is low? exhausted, pale, ulcers all the time. what should i take?",
    "think im b12 deficient (tired all the time, no tingling). ok to self treat with 1000mcg?",
]


@pytest.mark.parametrize("question", BELIEVED_LOW)
def test_a_low_b12_believed_not_measured_is_suspected(question: str) -> None:
    assert _slots(question).deficiency == "suspected", question
    got = answer(question, KB, audience="patient")
    if got.headline is not None:
        # Never a treatment for a deficiency taken as known (diet-caused or otherwise).
        assert not {"B12-TX-004", "B12-TX-006", "B12-TX-005"} & set(got.headline.recs)


#: A result told beside the belief is read as a result.
BELIEF_WITH_RESULT = [
    "i think my b12 is low, it was 110 ng/L last week - what dose do i need?",
]


@pytest.mark.parametrize("question", BELIEF_WITH_RESULT)
def test_a_told_result_is_still_read(question: str) -> None:
    assert _slots(question).labs.get("serum_b12_ng_l") == 110.0


#: A source's dose set against the dose given ("the insert says 100 mcg but we give 1000"):
#: the question is the disagreement between label and practice.
LABEL_AGAINST_PRACTICE = [
    "our clinic does 1000 mcg cyano monthly but the FDA label only says 100 mcg - who is right?",
    "the leaflet in the box says 100mcg, my doctor gives me 1000mcg every month. is that wrong?",
    "label dose of cyano is 100 mcg a month, why does everyone use 1000 mcg?",
]


@pytest.mark.parametrize("question", LABEL_AGAINST_PRACTICE)
def test_a_label_dose_against_practice_is_the_disagreement(question: str) -> None:
    assert _slots(question).compares, question
    head = _head(question, guideline="us")
    assert head[0] in ("B12-DIS-009", "B12-SAFE-046"), head


#: One dose told twice in two units is no comparison.
ONE_DOSE = ["cyanocobalamin 1 mg (1000 mcg) IM monthly per the label - how long for?"]


@pytest.mark.parametrize("question", ONE_DOSE)
def test_one_dose_in_two_units_is_no_comparison(question: str) -> None:
    assert not _slots(question).compares


#: "On" that means "about" ("follow up on a borderline B12", "advice on B12 levels") does not
#: put the patient on treatment.
ON_MEANING_ABOUT = [
    "f/u on borderline b12 of 210, MMA came back 610 nmol/L - what does it mean?",
    "any advice on b12 of 190 in a 40 yo with fatigue?",
    "thoughts on b12 200 with normal MMA?",
]


@pytest.mark.parametrize("question", ON_MEANING_ABOUT)
def test_on_meaning_about_is_not_treatment(question: str) -> None:
    assert not _slots(question).on_treatment, question


#: A second-line test told after the first ("the lab added an MMA which is 560", "an MMA
#: that came back raised at 610") is read, and heads the reading of a borderline level.
SECOND_LINE_TOLD = [
    ("total b12 was 200 and the lab added an mma which is 560. is she deficient?", "mma_nmol_l"),
    ("b12 of 210, they sent an MMA that came back 610 - deficient or not?", "mma_nmol_l"),
]


@pytest.mark.parametrize(("question", "lab"), SECOND_LINE_TOLD)
def test_a_second_line_result_told_with_a_relative_clause_is_read(question: str, lab: str) -> None:
    assert lab in _slots(question).labs, question
    assert _head(question)[0] in ("B12-DX-004", "B12-DX-005", "B12-DX-001")


#: How often to test, asked on a treated patient: the interval is the tests', never an
#: ordered dosing interval (no "the ordered interval is longer than …").
TEST_INTERVALS = [
    "pt on lifelong hydroxo for PA, how often should i be rechecking b12 levels, yearly?",
    "on 3 monthly b12 jabs since 2019. should the practice be requesting my b12 levels every year?",
    "hydroxo q3m for pernicious anaemia - do we do annual bloods for b12?",
]


@pytest.mark.parametrize("question", TEST_INTERVALS)
def test_a_testing_interval_is_not_a_dosing_interval(question: str) -> None:
    slots = _slots(question)
    assert slots.intent == "monitoring", question
    assert slots.interval_days is None or slots.interval_days < 100, question
    got = answer(question, KB)
    used = {r for s in got.sections for item in s.items for r in item.recs}
    assert got.headline is not None
    assert "B12-SAFE-057" not in set(got.headline.recs) | used


#: A high level on treatment given as the reason to space out or stop: the answer is the
#: alert on that level, and it is a "No".
HIGH_LEVEL_REASON_TO_CHANGE = [
    "PA on hydroxo every 3 months, b12 came back 1800 - should we move her to every 6 months?",
    "my b12 is over 2000 on my injections, can we go to twice a year instead?",
    "level 1650 on 3 monthly hydroxo for PA, GP wants to cut down to 4 monthly. ok?",
]


@pytest.mark.parametrize("question", HIGH_LEVEL_REASON_TO_CHANGE)
def test_a_high_level_is_no_reason_to_space_out(question: str) -> None:
    got = answer(question, KB)
    assert got.headline is not None
    assert got.headline.recs[0] == "B12-SAFE-015", question
    assert got.headline.text.startswith("No."), got.headline.text


#: "im" that opens a sentence before an age is "I'm" (a teenager's own question).
TEENAGER_AGES = [
    ("im 15 and my b12 came back 130, will i need jabs forever?", 15),
    ("Im 14, vegan, b12 was 140 - what should i take?", 14),
]


@pytest.mark.parametrize(("question", "age"), TEENAGER_AGES)
def test_im_before_an_age_is_i_am(question: str, age: int) -> None:
    assert _slots(question).age == age


ROUTE_IM = ["hydroxo IM 3 times a week for 2 weeks then what?", "im 1 mg every 3 months ok?"]


@pytest.mark.parametrize("question", ROUTE_IM)
def test_im_as_the_route_stays_the_route(question: str) -> None:
    slots = _slots(question)
    assert slots.age is None
    assert "im" in slots.routes


#: A word split in two by a typist ("gastric ectomy") is the word.
def test_a_split_gastrectomy_is_a_gastrectomy() -> None:
    slots = _slots("had a total gastric ectomy last yr. do i need b12 shots and how often")
    assert "gastrectomy" in " ".join(slots.populations) or "total_gastrectomy" in slots.conditions


#: An illness told as why loading doses were missed keeps a B12 question in scope, even
#: with the route mistyped ("loading jobs").
def test_loading_doses_missed_for_an_illness_are_in_scope() -> None:
    q = "first 2 weeks of b12 loading jobs and i missed 2 of them cos i had covid. what now?"
    assert answer(q, KB, audience="patient").status == "answered"


#: After neurological involvement, a 3-monthly interval doubted by the asker ("shouldn't
#: that be 2 monthly?"): the warning heads, and the doubt is answered "Yes".
DOUBTED_NEURO_INTERVAL = [
    (
        "clinician",
        "had SACD 2 yrs ago, finished alt day loading, now on hydroxo 1mg every 3/12 -"
        " isn't it meant to be every 2 months?",
    ),
    (
        "patient",
        "my b12 hit my nerves so i had the every other day jabs, now im on 3 monthly."
        " shouldnt it be 2 monthly?",
    ),
    (
        "clinician",
        "neuro b12 def, loading done, rx says hydroxocobalamin every 12 weeks. should that"
        " not be every 8 weeks?",
    ),
]


@pytest.mark.parametrize(("audience", "question"), DOUBTED_NEURO_INTERVAL)
def test_a_doubted_interval_after_neuro_involvement_is_answered_yes(
    audience: str, question: str
) -> None:
    got = answer(question, KB, audience=audience)
    assert got.headline is not None
    assert got.headline.recs[0] == "B12-SAFE-095", question
    assert got.headline.text.startswith("Yes."), got.headline.text


def test_every_3_12_is_three_months() -> None:
    assert _slots("hydroxo 1mg every 3/12 for PA").interval_days == 91.32


#: A check told as done with its result ("normal on my last bloods", "at her check it was
#: 400") or as not done ("no follow up here") is not a question about monitoring: after
#: bariatric surgery, "do I still need the jabs?" is answered by the lifelong injections.
CHECK_REPORTED_NEED_ASKED = [
    "gastric bypass 3 yrs ago, latest bloods fine, b12 500. do i really need jabs every 3 months?",
    "sleeve in 2021, no follow up since, b12 came back normal at 420 - still need the hydroxo?",
    "RYGB 2 years ago, routine bloods all normal. is the 3 monthly b12 injection still needed?",
]


@pytest.mark.parametrize("question", CHECK_REPORTED_NEED_ASKED)
def test_a_reported_check_is_not_a_monitoring_question(question: str) -> None:
    assert _slots(question).intent != "monitoring", question
    assert _head(question)[0] == "B12-TX-011"


#: A check asked about stays one.
CHECK_ASKED = [
    "post sleeve, when should her next b12 bloods be?",
    "vegan pt 20/40 on hydroxo - when do i book her review?",
]


@pytest.mark.parametrize("question", CHECK_ASKED)
def test_a_check_asked_about_is_monitoring(question: str) -> None:
    assert _slots(question).intent == "monitoring", question


#: Feeling worse or no different part-way through the loading course: carry on with the
#: loading doses (and report new nerve symptoms), with the course counted in doses.
LOADING_NOT_HELPING_YET = [
    "had 3 of the 6 jabs so far and honestly i feel worse, more tired than before. stop them?",
    "mum is on her first course of b12 injections, 4 done, no different at all. keep going?",
    "day 6 of the loading injections and he's feeling worse - should we pause them?",
]


@pytest.mark.parametrize("question", LOADING_NOT_HELPING_YET)
def test_feeling_worse_during_loading_is_carry_on(question: str) -> None:
    slots = _slots(question)
    assert "loading" in slots.phase_kinds, question
    assert _head(question, audience="patient")[0] == "B12-TX-110"


def test_of_six_months_is_not_the_loading_course() -> None:
    assert _slots("2 of 6 months of oral b12 done, recheck when?").phase_kinds == []


#: Symptoms back at a point of a long interval ("comes back at 6 wks", "by about week 10 I'm
#: shattered"): the course is long-term and the symptoms returned before the dose.
SYMPTOMS_BACK_EARLY = [
    ("on 12 weekly hydroxo and the fatigue comes back at about 8 weeks. shorten it?", "B12-TX-104"),
    (
        "by around week 10 of my 3 monthly jabs im knackered again, can they be closer?",
        "B12-TX-104",
    ),
    (
        "already on every 8 weeks and she is flagging by 5 wks every time - monthly allowed?",
        "B12-TX-105",
    ),
]


@pytest.mark.parametrize(("question", "rec"), SYMPTOMS_BACK_EARLY)
def test_symptoms_back_before_the_dose_on_a_long_interval(question: str, rec: str) -> None:
    slots = _slots(question)
    assert "symptoms_returned_before_due" in slots.events, question
    assert "maintenance" in slots.phase_kinds
    assert _head(question)[0] in ("B12-TX-104", "B12-TX-105")
    assert _head(question)[0] == rec


#: A result that "came back at" a value is a result, not symptoms coming back.
def test_a_result_that_came_back_at_a_value_is_no_event() -> None:
    slots = _slots("on 3 monthly jabs, B12 came back at 1200 - spread them out?")
    assert "symptoms_returned_before_due" not in slots.events


#: "Confirmed" told of something else ("patch-test confirmed cobalt allergy", "confirmed by
#: a patch test") is not a question about whether deficiency is confirmed.
CONFIRMED_OTHER = [
    "b12 95, allergy clinic confirmed cobalt sensitivity last year - can we still use cyano?",
    "my cobalt allergy was confirmed by a patch test, b12 is low. are the shots safe for me?",
]


@pytest.mark.parametrize("question", CONFIRMED_OTHER)
def test_confirmed_of_something_else_asks_no_diagnosis(question: str) -> None:
    assert not _slots(question).asks_deficiency, question
    assert _head(question, guideline="us")[0] in ("B12-TX-020", "B12-SAFE-010")


def test_confirmed_as_a_question_still_asks() -> None:
    assert _slots("b12 170 ng/L, is deficiency confirmed?").asks_deficiency


#: A high level on a course named by an abbreviation ("OHB12") or not named at all, with a
#: change of interval asked for: the course is under way, so "high without supplementation"
#: is never stated; the high-level alert on treatment answers "No".
HIGH_ON_UNNAMED_COURSE = [
    "pt on 3 monthly OHB12, B12 1900. spread out to 4 monthly?",
    "B12 2300 on her 12 weekly jabs, can we push her to every 16 weeks?",
    "b12 level 1700, GP asking if we can lengthen to 6 monthly",
]


@pytest.mark.parametrize("question", HIGH_ON_UNNAMED_COURSE)
def test_a_high_level_on_an_unnamed_course_is_not_unsupplemented(question: str) -> None:
    got = answer(question, KB)
    used = {r for s in got.sections for item in s.items if not item.applies_if for r in item.recs}
    assert got.headline is not None
    assert "B12-SAFE-016" not in set(got.headline.recs) | used, question
    assert got.headline.recs[0] == "B12-SAFE-015"


#: Other topics that borrow B12's words: another medicine's course ("flaring by week 6 on
#: ustekinumab"), another medicine asked about after a B12 patient is described, vitamin K
#: (never potassium), nitrous oxide for its own sake, folic acid dosing in pregnancy with
#: B12 and folate both normal.
OTHER_TOPICS = [
    "crohns on infliximab every 8 weeks, flaring by week 5, shorten to 6 weekly?",
    "pt on monthly b12 shots, has cold sores again today - what aciclovir dose?",
    "newborn vit k - oral or IM, and how many doses?",
    "how long can a woman in labour safely use entonox?",
    "b12 and folate both normal at booking, 10 weeks pregnant - folic acid 400mcg or 5mg?",
]


@pytest.mark.parametrize("question", OTHER_TOPICS)
def test_other_topics_are_refused(question: str) -> None:
    assert answer(question, KB).status == "no_answer", question


#: B12 questions that name those things stay in scope.
B12_NAMING_THEM = [
    "on enoxaparin for a DVT and due her hydroxo jab - IM or deep subcut?",
    "on prenatal vitamins with folic acid, b12 normal. does she need b12 added so folate doesn't"
    " mask anything?",
    "heavy nitrous use and tingling hands - b12 level 300, treat?",
    "ohb12 3 monthly, due next week, can she have it early before her holiday?",
]


@pytest.mark.parametrize("question", B12_NAMING_THEM)
def test_b12_questions_naming_them_are_answered(question: str) -> None:
    assert answer(question, KB).status == "answered", question


#: Sublingual or nasal B12 proposed beside injections ("are the under-the-tongue ones as good
#: as the jabs?", "convert her IM dose to the nasal spray"): no source gives a regimen for
#: that route, and the answer says so first.
UNSOURCED_ROUTE_PROPOSED = [
    (
        "patient",
        "uk",
        "can i use b12 under the tongue tablets instead of my jabs? are they as good",
    ),
    (
        "clinician",
        "us",
        "pt prefers nascobal nasal spray to monthly IM cyano - what dose would match?",
    ),
    ("patient", "us", "do sub lingual b12 lozenges work as well as shots for pernicious anemia?"),
]


@pytest.mark.parametrize(("audience", "guideline", "question"), UNSOURCED_ROUTE_PROPOSED)
def test_an_unsourced_route_proposed_is_answered_by_its_alert(
    audience: str, guideline: str, question: str
) -> None:
    assert _head(question, audience=audience, guideline=guideline)[0] == "B12-SAFE-043"


#: What to watch in the first days of a course that starts now is the loading course's
#: monitoring (potassium in the first 48 hours in pernicious anaemia), not the tests before it.
FIRST_DAYS_OF_A_COURSE = [
    "PA pt starting hydroxo loading today, what bloods in the first few days?",
    "starting b12 injections tomorrow for pernicious anaemia - what do we monitor in the first 48"
    " hours?",
]


@pytest.mark.parametrize("question", FIRST_DAYS_OF_A_COURSE)
def test_the_first_days_of_a_starting_course_are_loading(question: str) -> None:
    assert "loading" in _slots(question).phase_kinds
    assert _head(question)[0] in ("B12-MON-005", "B12-SAFE-002")  # potassium, 48 hours


#: An age told in months for a baby who is the patient; a nursing mother's baby is not.
def test_an_infant_age_in_months_is_a_child() -> None:
    q = "6 mo old exclusively breastfed, vegan mum, b12 low and floppy - what dose for baby?"
    assert _slots(q).age == 0
    assert _head(q)[0] == "B12-DX-010"


def test_a_nursing_mothers_baby_is_not_the_patient() -> None:
    q = "im breastfeeding my 3 month old and my b12 came back low, can i keep feeding?"
    assert _slots(q).age is None


#: MMA told as "its 600" or spelt "meth malonic" is read.
@pytest.mark.parametrize(
    ("question", "field", "value"),
    [
        ("b12 230, we sent an MMA and its 610, deficient?", "mma_nmol_l", 610.0),
        ("b12 250 but the meth malonic acid was normal - treat?", "mma_nmol_l", "normal"),
    ],
)
def test_an_mma_told_loosely_is_read(question: str, field: str, value: object) -> None:
    slots = _slots(question)
    assert slots.labs.get(field, slots.word_results.get(field)) == value


#: Treatment proposed before a test is sent ("start tonight empirically and send the b12
#: tomorrow") with no nerve symptoms: a suspicion to test first ("No").
TREAT_BEFORE_THE_TEST = [
    "tired pale 65yo, no neuro. ok to give hydroxo today and send a b12 next week?",
    "can we treat empirically with b12 jabs in a tired 80 yo with no tingling, bloods tomorrow?",
]


@pytest.mark.parametrize("question", TREAT_BEFORE_THE_TEST)
def test_treatment_before_the_test_is_test_first(question: str) -> None:
    assert _slots(question).deficiency == "suspected"
    got = answer(question, KB)
    assert got.headline is not None
    assert got.headline.recs[0] in ("B12-DX-020", "B12-SAFE-007")
    assert got.headline.text.startswith("No.")


#: About B12 treatment but on topics no reviewed item answers: "not covered", never a
#: neighbouring item (giving one's own injections, needles, vials in a hot car, red urine,
#: who may give the jab under a PGD, taking tablets with food, half-life).
NOT_COVERED = [
    "can i be taught to do my own b12 jabs so i dont have to go to the surgery?",
    "which needle size for a hydroxo IM in an obese pt?",
    "left her hydroxo ampoules in a hot car, still usable?",
    "my wee looked reddish after the b12 jab, normal?",
    "can our HCAs give b12 under a PSD?",
    "cyano tablets - take them on an empty stomach or with food?",
    "what is the half life of hydroxocobalamin vs cyanocobalamin?",
]


@pytest.mark.parametrize("question", NOT_COVERED)
def test_uncovered_b12_topics_are_not_covered(question: str) -> None:
    got = answer(question, KB)
    assert got.status == "no_answer", question


def test_starting_injections_at_home_is_still_answered() -> None:
    q = "Hb 60, plts 40, new B12 def - GP wants to start the jabs at home tomorrow, ok?"
    assert answer(q, KB).status == "answered"


#: A reversible cause told as dealt with in everyday words ("eating meat again", "I stopped
#: 6 months ago" after the cause, "if we deprescribe the PPI"): think about reducing or
#: stopping; "can it be stopped?" is answered "Yes".
CAUSE_DEALT_WITH = [
    (
        "patient",
        "was vegetarian when my b12 dropped, now eating fish and eggs daily. still need the jabs?",
    ),
    ("patient", "my low b12 was from whippets. i quit in march. do i need these shots for life?"),
    (
        "clinician",
        "b12 low from long-term lansoprazole - if we deprescribe it, can the jabs be stopped?",
    ),
]


@pytest.mark.parametrize(("audience", "question"), CAUSE_DEALT_WITH)
def test_a_reversible_cause_dealt_with_is_resolved(audience: str, question: str) -> None:
    assert "cause_resolved" in _slots(question).events, question
    assert _head(question, audience=audience)[0] == "B12-TX-107"


def test_can_it_be_stopped_once_the_cause_is_dealt_with_is_yes() -> None:
    q = "b12 low from long-term lansoprazole - if we deprescribe it, can the jabs be stopped?"
    got = answer(q, KB)
    assert got.headline is not None
    assert got.headline.text.startswith("Yes.")


#: A diet that still excludes the food is no resolution.
def test_eating_no_animal_products_is_not_resolved() -> None:
    q = "vegan, eats no animal products at all, b12 140 - what oral dose?"
    assert "cause_resolved" not in _slots(q).events


#: What to do with the medicine that lowered B12 ("stop the metformin?"): the alert about
#: that medicine answers (no source advises stopping metformin for this), "No" to stopping.
METFORMIN_ASKED = [
    "b12 170 after 10 yrs of metformin 2g - should she come off the metformin?",
    "diabetic on metformin, b12 low at 150, do we need to stop his metformin?",
]


@pytest.mark.parametrize("question", METFORMIN_ASKED)
def test_stopping_metformin_is_answered_by_its_alert(question: str) -> None:
    assert _slots(question).asks_medicine
    got = answer(question, KB)
    assert got.headline is not None
    assert got.headline.recs[0] == "B12-SAFE-026"
    assert got.headline.text.startswith("No.")


def test_stopping_b12_when_metformin_stopped_asks_about_b12() -> None:
    assert not _slots("stopping b12 when metformin stopped?").asks_medicine


#: A reaction to the last injection told of a patient on treatment: the warning about
#: further injections answers, never "continue the current regimen".
REACTION_ON_TREATMENT = [
    "she came out in hives and went wheezy after her last b12 jab - what now for her treatment?",
    "on 3 monthly hydroxo, had lip swelling after the last one. do we carry on?",
]


@pytest.mark.parametrize("question", REACTION_ON_TREATMENT)
def test_a_reaction_on_treatment_is_answered_by_the_warning(question: str) -> None:
    assert _head(question)[0] in ("B12-SAFE-012", "B12-TX-003"), question


#: "Start the course again?" told around its words ("do we start the 6 again?") asks whether
#: to restart: the advice not to start again answers "No".
@pytest.mark.parametrize(
    "question",
    [
        "had 2 of her loading jabs then went to wales for a fortnight - do we start the 6 again?",
        "missed 3 loading doses with covid, should we begin the loading course over?",
    ],
)
def test_start_the_course_again_is_no(question: str) -> None:
    got = answer(question, KB)
    assert got.headline is not None
    assert got.headline.recs[0] == "B12-TX-101"
    assert got.headline.text.startswith("No.")


#: Words that look like treatment but are not: "hold off on b12", "what to check on the b12
#: side", "zero neuro findings"; a last dose with "no dates" is not on record.
def test_holding_off_on_b12_is_not_treatment() -> None:
    q = "nitrous user, numb feet, b12 400 - ok to hold off on b12 till the homocysteine is back?"
    slots = _slots(q)
    assert not slots.on_treatment
    assert _head(q)[0] == "B12-SAFE-062"


def test_on_the_b12_side_is_not_treatment() -> None:
    q = "neuropathy work-up, b12 600, mcv normal, no meds - anything else to check on the b12 side?"
    assert not _slots(q).on_treatment


def test_zero_neuro_findings_is_no_involvement() -> None:
    q = "60yo b12 150, zero neuro findings - label cyano IM schedule please"
    assert not _slots(q).neuro


def test_a_last_dose_with_no_dates_is_not_on_record() -> None:
    q = "pt on 3 monthly b12 jabs, notes have no dates for the last injection - when is it due?"
    assert _slots(q).last_dose == "unknown"
    assert _head(q)[0] == "B12-SAFE-093"


#: Symptoms back in the weeks before a dose is due, told in more ways.
@pytest.mark.parametrize(
    "question",
    [
        "on 12 weekly hydroxo and I'm wiped out for the 3 wks before each one. more often?",
        "her tiredness comes back from about week 9 of her 3 monthly jabs - shorten?",
    ],
)
def test_symptoms_in_the_weeks_before_the_dose(question: str) -> None:
    assert "symptoms_returned_before_due" in _slots(question).events
    assert _head(question)[0] in ("B12-TX-104", "B12-TX-105")


def test_methotrexate_and_folic_acid_is_off_topic() -> None:
    assert answer("on weekly mtx - folic acid 5mg once a week ok?", KB).status == "no_answer"


#: "im not …" opening a clause is "I'm not", never the intramuscular route.
@pytest.mark.parametrize(
    "question",
    [
        "im not on any supplements and my b12 came back 1300, should i worry?",
        "b12 1100 but im not taking anything, what could cause that",
    ],
)
def test_im_not_is_i_am_not(question: str) -> None:
    slots = _slots(question)
    assert "im" not in slots.routes
    assert _head(question, audience="patient")[0] == "B12-SAFE-016"


def test_im_as_the_route_at_the_start_stays_the_route() -> None:
    assert "im" in _slots("IM on alternate days or oral for her?").routes


#: "The next one in 3 months time" tells the interval; after the alternate-day course for
#: nerve symptoms, 3-monthly is too long.
def test_months_time_is_an_interval() -> None:
    q = "done the alternate day jabs for tingling feet, next one booked for 3 months time - right?"
    assert _slots(q).interval_days == 91.32
    assert _head(q, audience="patient")[0] == "B12-SAFE-095"


#: "Before the next one" with no symptom told is not symptoms coming back early.
def test_before_the_next_one_without_symptoms_is_no_event() -> None:
    q = "monthly cyano shots for 5 yrs, new doc wants to check my level before the next one - ok?"
    assert "symptoms_returned_before_due" not in _slots(q).events


def test_feeling_rubbish_before_the_next_one_is_the_event() -> None:
    q = "on 3 monthly jabs and i feel rubbish the fortnight before the next one, more often?"
    assert "symptoms_returned_before_due" in _slots(q).events
