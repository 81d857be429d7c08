"""The answer engine's parts: normaliser, slot extraction (with negation), scope gate, composer.

The whole-set evaluation (floors, citation audit) is ``test_eval_floor.py``; agreement with
``b12 plan`` is ``test_answer_consistency.py``.
"""

from __future__ import annotations

import re

import pytest

from b12.core.answer import AnswerIndex, answer, build_index, index_for
from b12.core.answer.compose import PRIMARY_KINDS
from b12.core.answer.extract import Slots, extract
from b12.core.answer.models import AnswerItem, Headline
from b12.core.answer.normalise import Normalised, fold, normalise, repair, tokenise
from b12.core.answer.scope import gate
from b12.core.errors import InputError
from b12.core.knowledge import DecisionAction, DisagreementAction, KnowledgeBase


@pytest.fixture(scope="module")
def index(kb: KnowledgeBase) -> AnswerIndex:
    return index_for(kb)


def norm(index: AnswerIndex, question: str) -> Normalised:
    return normalise(question, index.table, index.known)


def slots(kb: KnowledgeBase, index: AnswerIndex, question: str) -> Slots:
    return extract(norm(index, question), question, kb)


# -- normaliser ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("b12 inj freq neuro sx", "b12 injection frequency neurological symptoms"),
        ("hydroxo q3m ok?", "hydroxocobalamin every 3 months ok ?"),
        ("IM or PO for PA?", "intramuscular or oral for pernicious anaemia ?"),
        ("check K after first jabs", "check potassium after first injections"),
        ("retics on day 7", "reticulocytes on day 7"),
        ("Pernicous anemia", "pernicious anaemia"),
        (
            "what mma and homocystiene targets on treatmnet",
            "what methylmalonic acid and homocysteine targets on treatment",
        ),
        ("pins and needles in my feet", "tingling pins and needles in my feet"),
        ("B\u201112 1,000 mcg", "b12 1000 microgram"),
        ("Crohn’s disease", "crohn disease"),
    ],
)
def test_normaliser_expands_shorthand_and_repairs_misspellings(
    index: AnswerIndex, question: str, expected: str
) -> None:
    assert norm(index, question).text == expected


def test_normaliser_is_versioned_by_the_knowledge_base(
    kb: KnowledgeBase, index: AnswerIndex
) -> None:
    assert norm(index, "anything").version == kb.answering.version
    assert answer("b12 dose", kb).normaliser_version == kb.answering.version


def test_fold_and_tokenise() -> None:
    assert fold("Anæmia ÉTÉ") == "anæmia ete"
    assert tokenise("b12 150ng/l, k+ i.m.") == ["b12", "150", "ng/l", ",", "k+", "i.m", "."]
    assert tokenise("every 2-3 months") == ["every", "2-3", "months"]


def test_spelling_repair_is_one_edit_and_unambiguous() -> None:
    known = frozenset({"cyanocobalamin", "treatments", "treatmente"})
    assert repair("cyanocobalamn", known) == "cyanocobalamin"
    assert repair("cyanocoblaamin", known) == "cyanocobalamin"  # transposition
    assert repair("treatment", known) is None  # two known words one edit away: ambiguous
    assert repair("short", known) is None  # too short to repair
    assert repair("cyanocobalamin", known) is None  # already known


def test_the_index_has_only_approved_content(kb: KnowledgeBase, index: AnswerIndex) -> None:
    approved = {r.id for r in kb.recommendations.values() if r.status == "approved"}
    assert set(index.ids) == approved
    assert any(r.status != "approved" for r in kb.recommendations.values())


def test_the_index_is_built_once_per_knowledge_base(kb: KnowledgeBase) -> None:
    assert index_for(kb) is index_for(kb)
    assert build_index(kb) is not index_for(kb)


# -- slot extraction -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "neuro"),
    [
        ("b12 deficiency with tingling in the feet", True),
        ("no neuro symptoms, what regimen", False),
        ("pt denies tingling or numbness", False),
        ("without neurological involvement", False),
        ("neuro symptoms: none", False),
        ("no tingling but memory is poor", True),
        ("regimen with or without neurological symptoms", None),
        ("what dose for pernicious anaemia", None),
    ],
)
def test_neuro_slot_with_negation(
    kb: KnowledgeBase, index: AnswerIndex, question: str, neuro: bool | None
) -> None:
    assert slots(kb, index, question).neuro is neuro


def test_reference_examples(kb: KnowledgeBase, index: AnswerIndex) -> None:
    s = slots(
        kb, index, "vegan with low b12 and no neuro symptoms, are supplements by mouth enough?"
    )
    assert (s.neuro, s.populations, s.route) == (False, ["vegan"], "oral")
    s = slots(
        kb, index, "pt denies tingling or numbness, CKD 4 on dialysis, cyanocobalamin q1m ok?"
    )
    assert s.neuro is False
    assert "renal" in s.populations
    assert "dialysis" in s.conditions
    assert s.formulations == ["cyanocobalamin"]
    assert s.interval_days == 30.44


@pytest.mark.parametrize(
    ("question", "population"),
    [
        ("after gastric bypass", "bariatric"),
        ("45 cm ileal resection", "ileal_resection"),
        ("crohn's disease", "crohn"),
        ("on haemodialysis", "renal"),
        ("an 80 year old", "elderly"),
        ("strict vegetarian", "vegetarian"),
        ("critically ill in ICU", "critically_ill"),
        ("pernicious anaemia", "pernicious_anaemia"),
        ("pregnant at 20 weeks", "pregnancy"),
        ("breastfeeding mother", "breastfeeding"),
        ("on metformin", "metformin"),
        ("long-term PPI", "ppi"),
        ("recreational nitrous oxide", "nitrous_oxide"),
    ],
)
def test_population_slots(
    kb: KnowledgeBase, index: AnswerIndex, question: str, population: str
) -> None:
    assert population in slots(kb, index, question).populations


@pytest.mark.parametrize(
    ("question", "days"),
    [
        ("hydroxo q3m", 91.32),
        ("every 2 weeks", 14.0),
        ("fortnightly injections", 14.0),
        ("monthly injections", 30.44),
        ("cyanocobalamin 100 mcg daily", 1.0),
        ("on alternate days", 2.0),
        ("every other day", 2.0),
        ("three times a week", 2.33),
        ("3-weekly", 21.0),
        ("exhausted 3 wks after each injection", 21.0),
    ],
)
def test_interval_slot(kb: KnowledgeBase, index: AnswerIndex, question: str, days: float) -> None:
    assert slots(kb, index, question).interval_days == days


def test_serum_b12_with_units_and_the_dose_guard(kb: KnowledgeBase, index: AnswerIndex) -> None:
    s = slots(kb, index, "serum B12 150 ng/L")
    assert (s.serum_b12, s.labs) == ((150.0, "ng/l"), {"serum_b12_ng_l": 150.0})
    s = slots(kb, index, "b12 of 100 pmol/L")
    assert s.labs == {"serum_b12_ng_l": 135.5}
    assert slots(kb, index, "b12 1000 mcg daily").serum_b12 is None
    assert slots(kb, index, "cyanocobalamin 100 mcg daily, b12 200").labs == {
        "serum_b12_ng_l": 200.0
    }
    assert slots(kb, index, "B12 was 90").labs == {"serum_b12_ng_l": 90.0}
    assert slots(kb, index, "b12 99999999").labs == {}  # implausible: ignored


def test_age_sex_route_formulation_and_cues(kb: KnowledgeBase, index: AnswerIndex) -> None:
    s = slots(kb, index, "68-year-old woman, oral vs IM hydroxocobalamin or cyanocobalamin?")
    assert (s.age, s.sex, s.route) == (68, "female", None)
    assert s.routes == ["oral", "im"]
    assert s.formulations == ["hydroxocobalamin", "cyanocobalamin"]
    assert slots(kb, index, "I have PA, do I need my jabs?").audience_cue == "patient"
    assert slots(kb, index, "my patient has PA").audience_cue == "clinician"
    assert slots(kb, index, "what does NICE say about monitoring").guideline_cue == "uk"
    assert slots(kb, index, "FDA label dose").guideline_cue == "us"
    assert slots(kb, index, "what does the US label say").guideline_cue == "us"
    assert slots(kb, index, "tell us the dose").guideline_cue is None


# -- scope gate ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "in_scope"),
    [
        ("b12 injection frequency", True),
        ("how often do I need my jabs?", True),
        ("vitamin D loading dose", False),
        ("vitamin K for newborns", False),
        ("what is the capital of France?", False),
        ("ferritin 8, how long on ferrous sulfate", False),
        ("thiamine dose in alcohol withdrawal", False),
    ],
)
def test_scope_gate(kb: KnowledgeBase, index: AnswerIndex, question: str, in_scope: bool) -> None:
    n = norm(index, question)
    terms = index.terms(n)
    found = extract(n, question, kb)
    assert gate(n, terms, index.search(terms, "uk"), index, found).in_scope is in_scope
    assert (answer(question, kb).status == "answered") is in_scope


def test_no_answer_names_the_nearest_topics(kb: KnowledgeBase) -> None:
    ans = answer("vitamin D loading dose", kb)
    assert ans.status == "no_answer"
    assert ans.headline is None
    assert ans.sections == ()
    assert ans.references == ()
    assert ans.message == kb.answering.no_answer_text
    assert ans.nearest_topics_title == kb.answering.nearest_topics_title
    assert 1 <= len(ans.nearest_topics) <= 3
    for topic in ans.nearest_topics:
        assert kb.recommendations[topic.id].title == topic.title
    patient = answer("what is the capital of France?", kb, audience="patient")
    assert patient.message == kb.answering.patient_no_answer_text
    assert patient.nearest_topics  # topics even when nothing matched


# -- composer --------------------------------------------------------------------------------


def test_regimen_question_with_neuro_symptoms_heads_with_the_alternate_day_regimen(
    kb: KnowledgeBase,
) -> None:
    ans = answer(
        "What is the recommended methylcobalamin injection regimen for patients with "
        "neurological symptoms due to B12 deficiency?",
        kb,
    )
    assert ans.headline is not None
    assert ans.headline.pathway == "uk-im-neuro"
    assert ans.headline.regimen == "UK-HYDROXO-NEURO"
    assert ans.matched[0] == ans.headline.recs[0]
    # Issue 14: deficiency is not assumed.  Stated, the standard regimen is a fact; not
    # stated, it is given only under that condition: the regimen asked for is named, with the
    # condition in ``applies_if`` and at the head of the text.
    without = answer("b12 regimen for confirmed deficiency, no neuro symptoms", kb)
    assert without.headline is not None
    assert without.headline.pathway == "uk-im-no-neuro"
    assert without.headline.applies_if is None
    open_status = answer("b12 regimen, no neuro symptoms", kb)
    assert open_status.headline is not None
    assert open_status.headline.recs == ("B12-TX-006",)
    assert open_status.headline.applies_if == "deficiency is confirmed"
    assert open_status.headline.text.startswith("If deficiency is confirmed: ")
    assert open_status.headline.regimen == "UK-HYDROXO-STANDARD"


def test_sections_follow_the_fixed_order_with_knowledge_base_titles(kb: KnowledgeBase) -> None:
    for audience in ("clinician", "patient"):
        ans = answer(
            "pernicious anaemia with numbness, hydroxocobalamin schedule", kb, audience=audience
        )
        order = ["algorithm", "special_populations", "monitoring", "pitfalls", "alternatives"]
        keys = [s.key for s in ans.sections]
        assert keys == [k for k in order if k in keys]
        titles = kb.answering.section_titles[audience]
        assert all(s.title == titles[s.key] for s in ans.sections)


def _allowed_sources(kb: KnowledgeBase, rid: str) -> set[str]:
    rec = kb.recommendations[rid]
    out = {c.source for c in rec.citations}
    if isinstance(rec.action, DisagreementAction):
        out |= {c.source for p in rec.action.positions for c in p.citations}
    if isinstance(rec.action, DecisionAction) and rec.action.regimen:
        out |= {c.source for c in kb.regimens[rec.action.regimen].citations}
    return out


QUESTIONS = (
    "b12 inj freq neuro sx",
    "hydroxo q3m ok?",
    "vegan, low b12, tablets enough?",
    "check K after the first injection?",
    "US maintenance cyanocobalamin dose",
    "after gastric bypass, which b12?",
    "folic acid before b12?",
    "I have PA, how often will I need my jabs?",
)


@pytest.mark.parametrize("question", QUESTIONS)
@pytest.mark.parametrize("audience", ["clinician", "patient"])
def test_every_statement_traces_to_an_approved_recommendation_and_its_sources(
    kb: KnowledgeBase, question: str, audience: str
) -> None:
    ans = answer(question, kb, audience=audience)
    assert ans.status == "answered"
    assert ans.headline is not None
    by_n = {r.n: r.source_id for r in ans.references}
    assert list(by_n) == list(range(1, len(by_n) + 1))
    statements: list[Headline | AnswerItem] = [
        ans.headline,
        *(i for s in ans.sections for i in s.items),
    ]
    for item in statements:
        assert item.recs
        assert item.refs
        for rid in item.recs:
            rec = kb.recommendations[rid]
            assert rec.status == "approved"
            assert ans.guideline in rec.jurisdiction
        cited = {by_n[n] for n in item.refs}
        allowed = set().union(*(_allowed_sources(kb, r) for r in item.recs))
        assert cited & allowed, item
        assert cited <= allowed, item
    primary = [kb.sources[r.source_id].kind in PRIMARY_KINDS for r in ans.references]
    assert primary == sorted(primary, reverse=True), "primary sources come before summaries"
    assert len({r.source_id for r in ans.references}) == len(ans.references), "each source once"
    rec = kb.recommendations[ans.headline.recs[0]]
    text = rec.patient_text if audience == "patient" else rec.clinician_text
    because = re.match(r"^Because [^,]+, (.+)$", text, re.DOTALL)
    assert text in ans.headline.text or (because and because.group(1) in ans.headline.text)


def test_patient_answers_use_patient_text_and_always_carry_the_framing(kb: KnowledgeBase) -> None:
    for question in QUESTIONS:
        ans = answer(question, kb, audience="patient")
        assert ans.framing == kb.answering.patient_framing
        clinician_texts = {r.clinician_text for r in kb.recommendations.values()}
        clinician_texts |= {p.text for g in kb.regimens.values() for p in g.phases}
        clinician_texts -= {r.patient_text for r in kb.recommendations.values()}
        for item in [ans.headline, *(i for s in ans.sections for i in s.items)]:
            assert item is not None
            assert item.text not in clinician_texts
        assert ans.disclaimer == (
            kb.answering.patient_disclaimer or kb.vocabulary.patient_disclaimer
        )
        assert answer(question, kb).framing is None


def test_related_questions_come_from_the_knowledge_base(kb: KnowledgeBase) -> None:
    canonical = {q for r in kb.recommendations.values() for q in r.questions}
    for question in QUESTIONS:
        ans = answer(question, kb)
        assert set(ans.related_questions) <= canonical
        assert len(ans.related_questions) == len(set(ans.related_questions)) <= 5
        assert ans.headline is not None
        head = kb.recommendations[ans.headline.recs[0]]
        assert not set(ans.related_questions) & set(head.questions)


def test_a_named_guideline_set_wins(kb: KnowledgeBase) -> None:
    ans = answer("what does the FDA label say about cyanocobalamin maintenance?", kb)
    assert ans.guideline == "us"
    assert (
        answer("what does NICE say about the injection regimen?", kb, guideline="us").guideline
        == "uk"
    )


def test_drafts_never_answer(kb: KnowledgeBase) -> None:
    drafts = {r.id for r in kb.recommendations.values() if r.status != "approved"}
    for rid in sorted(drafts):
        for q in (kb.recommendations[rid].title, *kb.recommendations[rid].questions):
            ans = answer(q, kb)
            used = {
                r
                for i in [ans.headline, *(x for s in ans.sections for x in s.items)]
                if i is not None
                for r in i.recs
            }
            assert not used & drafts
            assert not set(ans.matched) & drafts
            assert ans.review_status == "approved"


def test_asking_twice_gives_byte_identical_json(kb: KnowledgeBase) -> None:
    for question in (*QUESTIONS, "vitamin D loading dose"):
        for audience in ("clinician", "patient"):
            first = answer(question, kb, audience=audience).model_dump_json()
            assert answer(question, kb, audience=audience).model_dump_json() == first


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("",), "question"),
        (("   ",), "question"),
        (("x" * 1001,), "question"),
        ((None,), "question"),
        ((42,), "question"),
        (("bad\x00byte",), "question"),
    ],
)
def test_bad_questions_raise_input_error(
    kb: KnowledgeBase, args: tuple[object], field: str
) -> None:
    with pytest.raises(InputError) as err:
        answer(args[0], kb)  # type: ignore[arg-type]
    assert err.value.problems[0].field == field


def test_bad_audience_and_guideline_raise_input_error(kb: KnowledgeBase) -> None:
    with pytest.raises(InputError) as err:
        answer("b12 dose", kb, audience="nurse", guideline="fr")
    assert [p.field for p in err.value.problems] == ["audience", "guideline"]
    assert answer("x" * 1000, kb).status in ("answered", "no_answer")
