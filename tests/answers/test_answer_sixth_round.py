"""Issue 14, sixth round: classes the blind batch ``fresh16`` showed (questions of our own).

Each list holds questions written for the class, not the batch's own wording.
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


#: Another medicine's timing or dose, with no B12 word: "give it now?" about a depot or an
#: implant, a dose of metformin or a PPI for its own sake.  The knowledge base answers none.
OTHER_MEDICINE_QUESTIONS = [
    "zoladex implant is 3 weeks late, can I still give it today?",
    "denosumab injection overdue by a month, give now or wait for bloods?",
    "pt due her depo injection last week, was on holiday - ok to give today without a preg test?",
    "metformin - can we keep 1 g bd with an eGFR of 35?",
    "whats the max metformin dose in CKD 3b",
    "omeprazole 40 mg for 2 years, can we step down to 20 mg?",
    "PPI induced hypocalcaemia - oral or IV calcium, and stop the lansoprazole?",
]


@pytest.mark.parametrize("question", OTHER_MEDICINE_QUESTIONS)
def test_another_medicine_with_no_b12_word_is_refused(question: str) -> None:
    assert answer(question, KB).status == "no_answer"


#: The same medicines told as the cause of a B12 problem stay in scope.
B12_QUESTIONS_NAMING_THEM = [
    "on metformin 2 g a day for 10 years and B12 came back 140, start injections?",
    "omeprazole for years, b12 low at 150, does she need jabs?",
    "on lansoprazole long term, tingling feet, should we check B12?",
]


@pytest.mark.parametrize("question", B12_QUESTIONS_NAMING_THEM)
def test_a_b12_question_naming_those_medicines_is_answered(question: str) -> None:
    assert answer(question, KB).status == "answered"


#: Folic acid in pregnancy with a B12 level said to be normal is folic acid for its own sake.
FOLIC_IN_PREGNANCY_B12_NORMAL = [
    (
        "patient",
        "I'm 14 weeks pregnant and my b12 was normal at 520, should I carry on folic acid?",
    ),
    ("clinician", "pregnant 20/40, B12 fine at 400 ng/L - can she stop the folic acid 400 mcg?"),
]


@pytest.mark.parametrize(("audience", "question"), FOLIC_IN_PREGNANCY_B12_NORMAL)
def test_folic_acid_in_pregnancy_with_a_normal_b12_is_refused(audience: str, question: str) -> None:
    assert answer(question, KB, audience=audience).status == "no_answer"


#: "Insisting on b12 shots for energy" is a wish, not a treatment under way.
WISHES = [
    "patient insisting on b12 injections for energy, level 700, nothing else wrong - prescribe?",
    "she's keen on b12 shots to boost her energy, b12 was 610 last month",
]


@pytest.mark.parametrize("question", WISHES)
def test_insisting_on_shots_for_energy_is_wellness(question: str) -> None:
    assert not _slots(question).on_treatment
    assert answer(question, KB).status == "no_answer"


#: A product with its schedule told as a fact is treatment under way, so a high level is the
#: expected result of treatment (not "high B12 without supplements", not "status conflicts").
PRODUCT_WITH_SCHEDULE = [
    ("patient", "PA for years, hydroxo IM every 10 wks. b12 came back over 2000, is that bad?"),
    ("clinician", "cyanocobalamin 1 mg 3 monthly. level 1900 - should we space them out?"),
]
UNTREATED_HIGH_B12 = {"B12-SAFE-016", "B12-SAFE-030", "B12-DX-003"}


@pytest.mark.parametrize(("audience", "question"), PRODUCT_WITH_SCHEDULE)
def test_a_product_with_its_schedule_is_treatment(audience: str, question: str) -> None:
    assert _slots(question).on_treatment
    ans = answer(question, KB, audience=audience)
    used = {r for s in ans.sections for e in s.items for r in e.recs}
    if ans.headline is not None:
        used |= set(ans.headline.recs)
    assert not used & UNTREATED_HIGH_B12


#: "Just checking we …" asks for a yes or a no; so does "…, or no?".
YESNO_WITHOUT_QUESTION_WORDS = [
    "hydroxo every 12 weeks, well, no new symptoms. just checking we carry on as before",
    "pt on monthly cyanocobalamin, all fine. want to make sure we keep the same schedule",
    "had part of her ileum out years ago, no idea how much. jabs for life or no?",
]


@pytest.mark.parametrize("question", YESNO_WITHOUT_QUESTION_WORDS)
def test_confirmation_requests_are_answered_yes_or_no(question: str) -> None:
    assert _slots(question).form == "yesno"
    ans = answer(question, KB)
    assert ans.headline is not None
    assert ans.headline.text.lower().startswith(("yes", "no", "it depends")), ans.headline.text


@pytest.mark.parametrize(
    "question",
    [
        "ileocecectomy for Crohn's 10 years ago, length unknown - B12 injections?",
        "had an ileocaecectomy in 2015, does he need b12 jabs?",
    ],
)
def test_ileocaecectomy_is_an_ileal_resection(question: str) -> None:
    assert "ileal_resection" in _slots(question).populations


#: Clinical features told with a normal-looking result keep the suspicion: the result is
#: not stated as reassurance beside "the suspicion is kept over the result".
FEATURES_WITH_NORMAL_RESULT = [
    "all the features - sore tongue, MCV 108, tired, vegan - but b12 is 400. leave it?",
    "lots of features of b12 deficiency, no neuro, level 380, do we just reassure?",
]


@pytest.mark.parametrize("question", FEATURES_WITH_NORMAL_RESULT)
def test_features_with_a_normal_result_keep_the_suspicion(question: str) -> None:
    assert _slots(question).deficiency == "suspected"
    ans = answer(question, KB)
    used = {r for s in ans.sections for e in s.items if not e.applies_if for r in e.recs}
    if ans.headline is not None:
        used |= set(ans.headline.recs)
    assert "B12-DX-003" not in used
    assert "B12-DX-040" not in used


#: The asker's confusion about the advice is not a patient's confusion (a neurological
#: symptom); a patient's confusion still is.
ASKERS_CONFUSION = [
    "getting confused between NICE and the BNF - PA, no neuro, maintenance every 2 or 3 months?",
    "I'm a bit confused about the loading dose for PA without neuro symptoms, 6 jabs over 2 weeks?",
    "some confusion over whether hydroxo maintenance is 2 or 3 monthly if no neuro involvement",
]
PATIENTS_CONFUSION = [
    "80 yr old, new confusion and b12 110, how often do we load?",
    "mum is getting confused and her b12 came back 130, what injections does she need?",
]


@pytest.mark.parametrize("question", ASKERS_CONFUSION)
def test_the_askers_confusion_is_not_a_symptom(question: str) -> None:
    assert not _slots(question).neuro


@pytest.mark.parametrize("question", PATIENTS_CONFUSION)
def test_a_patients_confusion_is_a_symptom(question: str) -> None:
    assert _slots(question).neuro


@pytest.mark.parametrize(
    "question",
    ["b12 regimen, no neuro symptoms", "loading course for PA without neuro involvement"],
)
def test_a_statement_with_no_request_to_confirm_is_not_yes_no(question: str) -> None:
    assert _slots(question).form != "yesno"


#: "Can she stop?" for a cause that cannot be reversed: treatment is lifelong, answered no
#: (the event "stopping is being considered" makes the lifelong advice hold).
STOP_IRREVERSIBLE = [
    ("patient", "I've got pernicious anaemia and feel loads better, can I come off the jabs now?"),
    ("patient", "my husband had his stomach removed 5 years ago, can he stop his b12 shots now?"),
    ("clinician", "PA for 15 yrs, levels fine, pt asking to discontinue hydroxo - ok?"),
    ("clinician", "total gastrectomy 2018, B12 normal on jabs. can we stop them?"),
]
LIFELONG = "B12-TX-108"


@pytest.mark.parametrize(("audience", "question"), STOP_IRREVERSIBLE)
def test_stopping_for_an_irreversible_cause_is_answered_no(audience: str, question: str) -> None:
    slots = _slots(question)
    assert slots.proposes_stop
    assert "stopping_considered" in slots.events
    ans = answer(question, KB, audience=audience)
    assert ans.headline is not None
    assert ans.headline.recs[0] == LIFELONG, ans.headline.text
    assert ans.headline.text.startswith("No."), ans.headline.text


def test_asking_whether_stopping_is_dangerous_is_answered_yes() -> None:
    ans = answer("is it dangerous to stop my b12 injections? I have PA", KB, audience="patient")
    assert ans.headline is not None
    assert ans.headline.recs[0] == LIFELONG
    assert ans.headline.text.startswith("Yes."), ans.headline.text


#: Not a question about stopping B12 treatment: another medicine, a switch, prevention, a
#: high level (then the level is the question), or "for life" told rather than asked.
NOT_STOPPING_B12 = [
    "PA on hydroxo, should we stop the omeprazole?",
    "PA pt wants to come off IM hydroxo onto oral tablets - ok?",
    "after my gastric bypass do I need jabs to stop it dropping?",
    "pernicious anaemia, b12 1900 on 3 monthly jabs - stop them for a while?",
    "on hydroxo every 3 months for life after a gastrectomy - is the interval right?",
]


@pytest.mark.parametrize("question", NOT_STOPPING_B12)
def test_other_questions_do_not_consider_stopping(question: str) -> None:
    assert "stopping_considered" not in _slots(question).events


def test_stopping_alone_does_not_bring_another_medicine_into_scope() -> None:
    assert answer("metformin 1 g bd, eGFR 35 - cut the dose or stop?", KB).status == "no_answer"


#: The blind batch fresh17: a missed dose "bc of the flu" or "w covid" is told in passing.
ILLNESS_IN_PASSING = [
    "missed her b12 jab bc of the flu, 5 weeks late now, give it today?",
    "pt was poorly w covid and missed 2 of her 6 loading jabs - restart?",
    "hydroxo delayed because of a chest infection, 4 months since the last one. just give it?",
]


@pytest.mark.parametrize("question", ILLNESS_IN_PASSING)
def test_an_illness_told_as_the_reason_for_a_missed_dose_is_answered(question: str) -> None:
    assert answer(question, KB).status == "answered"


#: "IF abs +ve" is pernicious anaemia, "-ve"/"neg" is not.
@pytest.mark.parametrize(
    ("question", "pa"),
    [
        ("IF abs +ve, b12 150, tablets ok?", True),
        ("intrinsic factor ab positive, b12 120 - oral?", True),
        ("IF antibody neg, b12 150, tablets ok?", False),
        ("intrinsic factor abs -ve, b12 170, oral fine?", False),
    ],
)
def test_intrinsic_factor_antibodies_read_with_their_sign(question: str, pa: bool) -> None:
    assert ("pernicious_anaemia" in _slots(question).populations) is pa


#: A cause told as stopped with "now" between ("ppi now stopped") is a cause dealt with.
@pytest.mark.parametrize(
    "question",
    [
        "low b12 put down to omeprazole, ppi now stopped. carry on the jabs for life?",
        "deficiency from metformin, metformin stopped now - do the injections continue?",
    ],
)
def test_a_cause_now_stopped_is_resolved(question: str) -> None:
    assert "cause_resolved" in _slots(question).events


#: Yes/no asked in shorthand ("shd i …?") or after a relative clause ("an MMA which came back
#: high - deficient or not?").
@pytest.mark.parametrize(
    "question",
    [
        "never had bloods, no tingling. shd she see the GP for a b12 test first?",
        "b12 250 and an MMA which came back raised, so is she deficient or not?",
    ],
)
def test_yes_no_in_shorthand_or_after_a_relative_clause(question: str) -> None:
    assert _slots(question).form == "yesno"


#: A normal B12 told as "checked and normal" / "totally normal".
@pytest.mark.parametrize(
    "question",
    [
        "b12 checked and normal, but she is so tired - shall we repeat it?",
        "my b12 is totally normal, do I need to worry about my tingling?",
    ],
)
def test_a_normal_result_told_with_other_words(question: str) -> None:
    assert _slots(question).word_results.get("serum_b12_ng_l") == "normal"


#: Oral treatment not working, "move her onto injections?": the escalation advice, answered
#: yes (the change it allows is what is proposed).
@pytest.mark.parametrize(
    "question",
    [
        "on b12 tablets 1mg daily for 3 months, still tired, b12 still low. move her onto jabs?",
        "b12 tabs for 2 months and no better at all - should we put him onto jabs?",
    ],
)
def test_oral_not_working_and_moving_onto_injections(question: str) -> None:
    assert "oral_not_improving" in _slots(question).events
    ans = answer(question, KB)
    assert ans.headline is not None
    assert ans.headline.recs[0] == "B12-TX-109"
    assert ans.headline.text.startswith("Yes."), ans.headline.text


#: A reaction to an injection in other words is a hypersensitivity.
@pytest.mark.parametrize(
    "question",
    [
        "facial swelling and wheeze after her last b12 jab - what now for her b12?",
        "throat swelling within minutes of his hydroxo injection, what do we use instead?",
    ],
)
def test_a_reaction_in_other_words_is_a_hypersensitivity(question: str) -> None:
    assert "injection_hypersensitivity" in _slots(question).conditions


#: "Start now and test later": treating before any test is proposed, so deficiency is
#: suspected and the answer is to take blood first (not "no status given").
@pytest.mark.parametrize(
    "question",
    [
        "tired, sore tongue, b12 not checked yet - can I start hydroxo today and test later?",
        "never been tested but sure I'm low, can I just start b12 shots from a private clinic?",
        "macrocytosis, no neuro, give a b12 injection now and do the bloods later?",
    ],
)
def test_treating_before_any_test_is_a_suspicion_to_test_first(question: str) -> None:
    assert _slots(question).deficiency == "suspected"
    ans = answer(question, KB)
    assert ans.headline is not None
    assert ans.headline.recs[0] == "B12-DX-020", ans.headline.text


#: "The team want me on jabs" is a proposal, not treatment under way; "early dementia" is a
#: stage of an illness, not an early dose.
@pytest.mark.parametrize(
    "question",
    [
        "bariatric team want me on b12 jabs every 3 months but my level is fine, do I need them?",
        "GP wants her on b12 injections, level 160, how often?",
    ],
)
def test_wanting_someone_on_treatment_is_a_proposal(question: str) -> None:
    assert not _slots(question).on_treatment


@pytest.mark.parametrize(
    "question",
    [
        "86 with early dementia, b12 140, oral or injections?",
        "early stage alzheimers, on 3 monthly hydroxo, next one due - any issues?",
    ],
)
def test_early_as_a_stage_of_illness_is_not_an_early_dose(question: str) -> None:
    assert _slots(question).order_timing != "early"


def test_an_open_threshold_names_its_number() -> None:
    """An open comparison is written with the number it reads, never "above that level"."""
    ans = answer("PA for 15 yrs, levels fine, asking to come off her hydroxo - ok to stop?", KB)
    texts = [e.text for s in ans.sections for e in s.items]
    if ans.headline is not None:
        texts.append(ans.headline.text)
    assert not any("that level" in t for t in texts)
    assert any("above 1000 ng/L" in t for t in texts), texts
