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
