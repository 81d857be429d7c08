"""Issue 14: answers say only what is true for the question asked.

* **The property**, over every labelled question (both audiences) and over questions stitched
  from knowledge-base words (Hypothesis): no statement of an answer comes from a
  recommendation whose condition is *false* for what the question says, and a statement whose
  condition is *unknown* (the question leaves it open) is shown only under that condition
  (``applies_if`` set, the text starting "If …" or "Otherwise").
* The three-valued evaluation itself (Kleene logic over the ``criteria`` leaves).
* The classes of the issue, each with questions of our own: no order or follow-up alert
  without an order or a dose history, no assumed deficiency (screening questions get no
  regimen), the domain scope gate (animals, wellness; short paraphrases accepted), the
  question's form (yes / no / it depends), disagreements that name their sides and sources,
  patient text that keeps conditions as conditions, references one per source with primary
  sources first, and related questions chosen for the question's facts.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from b12.core import criteria
from b12.core.answer import answer, evaluate_facts
from b12.core.answer.compose import PRIMARY_KINDS
from b12.core.answer.facts import Evaluator, Known
from b12.core.knowledge import KnowledgeBase
from tests.answers import evaluation as ev

KB = ev.shared_kb()
QUESTIONS = ev.load_questions()
#: Order checks and follow-up advice (contexts other than a plan).
ORDER_ONLY = {
    r.id for r in KB.recommendations.values() if getattr(r.action, "contexts", None) == ("order",)
}
FOLLOW_UP = {r.id for r in KB.recommendations.values() if r.action.type == "advice"}


def _statements(ans: Any) -> list[Any]:
    out = [ans.headline] if ans.headline is not None else []
    return out + [item for section in ans.sections for item in section.items]


def _check_facts(
    question: str, audience: str, guideline: str, *, shared: bool = False
) -> list[str]:
    """Every statement's condition against the question's facts (empty when all hold).

    ``shared``: a labelled question, through the run's shared evaluation (``ev.asked``)."""
    if shared:
        sel, ans = ev.asked(KB, question, audience, guideline)
    else:
        _req, sel = evaluate_facts(question, KB, audience=audience, guideline=guideline)
        ans = answer(question, KB, audience=audience, guideline=guideline)
    if sel is None:
        assert ans.status == "no_answer"
        return []
    evaluator = Evaluator(KB, sel.known)
    problems = []
    for item in _statements(ans):
        for rid in item.recs:
            truth = evaluator.truth(KB.recommendations[rid].when)
            if truth is False:
                problems.append(f"{question!r}: {rid} is false for the question")
            elif truth is None and not item.applies_if:
                problems.append(f"{question!r}: {rid} is open but stated as a fact")
            if item.applies_if and not re.match(r"^(It depends|If |Otherwise|Yes|No)", item.text):
                problems.append(f"{question!r}: {rid} hides its condition: {item.text[:60]!r}")
    return problems


# -- the property -------------------------------------------------------------------------------


@pytest.mark.parametrize("audience", ["clinician", "patient"])
def test_no_statement_is_false_or_open_but_stated_for_any_labelled_question(
    audience: str,
) -> None:
    problems: list[str] = []
    for q in QUESTIONS:
        problems += _check_facts(q.q, audience, q.guideline, shared=True)
    assert problems == [], "\n".join(problems[:30])


WORDS = sorted(
    {w for r in KB.recommendations.values() for text in (r.title, *r.aliases) for w in text.split()}
)
SLOT_WORDS = [
    "no", "not", "new", "tingling", "numbness", "on", "injections", "every", "3", "months",
    "1", "mg", "1000", "mcg", "daily", "oral", "b12", "180", "ng/L", "pregnant", "vegan",
    "pernicious", "anaemia", "ckd", "dialysis", "missed", "late", "early", "buttock", "folic",
    "acid", "alone", "metformin", "stopped", "should", "I", "stop", "?", ",", "-", "72",
    "year", "old", "confirmed", "deficiency", "borderline", "mma", "600", "nmol/L",
]  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    words=st.lists(st.sampled_from(WORDS + SLOT_WORDS), min_size=2, max_size=22),
    audience=st.sampled_from(["clinician", "patient"]),
    guideline=st.sampled_from(["uk", "us"]),
)
def test_no_statement_is_false_or_open_but_stated_for_any_question(
    words: list[str], audience: str, guideline: str
) -> None:
    assert _check_facts(" ".join(words), audience, guideline) == []


# -- three-valued evaluation ------------------------------------------------------------------


def _known(**fields: str | None) -> Known:
    # ``cause`` is a set field since issue 11 (a picture has every cause): set fields go in
    # ``lists`` and are closed (every value known), the others are known scalars.
    sets = {k: frozenset([v] if v else []) for k, v in fields.items() if k in criteria.SET_FIELDS}
    scalars = {k: v for k, v in fields.items() if k not in sets}
    facts = criteria.Facts(
        scalars=scalars, lists=sets, flags=frozenset(), numbers={}, present=frozenset()
    )
    return Known(facts, frozenset(scalars), frozenset(sets), {}, frozenset())


def test_three_valued_logic_follows_kleene() -> None:
    ev3 = Evaluator(KB, _known(cause="dietary"))
    dietary = criteria.Member("cause", ("dietary",))
    pa = criteria.Member("cause", ("autoimmune_gastritis",))
    open_ = criteria.Member("deficiency", ("confirmed",))  # not known
    assert ev3.truth(dietary) is True
    assert ev3.truth(pa) is False
    assert ev3.truth(open_) is None
    assert ev3.truth(criteria.Not(open_)) is None
    assert ev3.truth(criteria.All((dietary, open_))) is None
    assert ev3.truth(criteria.All((pa, open_))) is False
    assert ev3.truth(criteria.AnyOf((dietary, open_))) is True
    assert ev3.truth(criteria.AnyOf((pa, open_))) is None
    assert ev3.truth(criteria.Compare("age", "lt", 16.0, None)) is None  # no age: unknown
    assert ev3.truth(None) is True


def test_a_picture_field_no_question_states_is_unknown_not_absent() -> None:
    """An operation date is never read from a question: whether it is given stays open."""
    ev3 = Evaluator(KB, _known())
    assert ev3.truth(criteria.Present("surgery_date", False)) is None
    assert ev3.truth(criteria.Present("labs.mma_nmol_l", False)) is True  # no result told


def test_every_cause_named_is_a_cause_of_the_picture() -> None:
    """Issue 11: ``cause`` holds every cause; naming two leaves neither open nor false."""
    _req, sel = evaluate_facts("pernicious anaemia and a vegan diet, b12 low: regimen?", KB)
    assert sel is not None
    ev3 = Evaluator(KB, sel.known)
    for cause in ("autoimmune_gastritis", "dietary"):
        assert ev3.truth(criteria.Member("cause", (cause,))) is True, cause
    assert ev3.truth(criteria.Member("cause", ("nitrous_oxide",))) is False


def test_known_leaves_agree_with_the_plan_evaluator() -> None:
    """A leaf whose field is known is evaluated by criteria.evaluate, as plan does."""
    known = _known(cause="dietary", deficiency="confirmed")
    ev3 = Evaluator(KB, known)
    for rec in KB.recommendations.values():
        if rec.when is None:
            continue
        truth = ev3.truth(rec.when)
        if truth is not None:
            plain = criteria.evaluate(rec.when, known.facts, KB.param, KB.vocabulary.definitions)
            assert truth == plain, rec.id


# -- the classes of the issue -----------------------------------------------------------------


def _recs(ans: Any, facts_only: bool = False) -> set[str]:
    return {
        r for item in _statements(ans) if not (facts_only and item.applies_if) for r in item.recs
    }


@pytest.mark.parametrize(
    "question",
    [
        "Serum B12 2400 ng/L a year into injections, is that harmful? should we reduce them?",
        "my b12 level is 1500 and i have jabs, is that too much?",
        "what is the usual treatment once b12 deficiency is confirmed?",
        "pt with pernicious anaemia asks how long treatment lasts",
    ],
)
def test_no_order_or_follow_up_alert_without_an_order_or_a_history(question: str) -> None:
    ans = answer(question, KB)
    assert ans.status == "answered"
    assert not _recs(ans) & ORDER_ONLY, _recs(ans) & ORDER_ONLY
    assert not _recs(ans, facts_only=True) & FOLLOW_UP


def test_an_order_described_in_the_question_is_checked() -> None:
    ans = answer("hydroxocobalamin 1 mg IM every 6 months for maintenance, ok?", KB)
    assert "B12-SAFE-057" in _recs(ans, facts_only=True)
    late = answer("hydroxocobalamin maintenance injection given 5 weeks late, what now?", KB)
    assert _recs(late, facts_only=True) & {"B12-TX-102", "B12-SAFE-056"}


@pytest.mark.parametrize(
    "question",
    [
        "should I check B12 in a patient on metformin for years?",
        "is it worth testing b12 in someone with Crohn's who never had surgery?",
        "long-term lansoprazole: do we need to screen for b12?",
    ],
)
def test_screening_questions_get_no_regimen(question: str) -> None:
    ans = answer(question, KB)
    assert ans.status == "answered"
    assert ans.headline is not None
    assert ans.headline.regimen is None
    assert not {"B12-TX-006", "B12-TX-002", "B12-SAFE-002"} & _recs(ans, facts_only=True)


def test_deficiency_age_and_order_are_never_assumed() -> None:
    ans = answer("hydroxocobalamin injections for a patient with tingling feet", KB)
    assert ans.parameters.assumed == ()
    assert ans.parameters.picture is None  # no age: no picture
    assert ans.headline is not None
    # Deficiency is not stated: the neurological regimen holds only if it is confirmed.
    assert ans.headline.applies_if
    assert "B12-SAFE-020" not in _recs(ans)  # no age: no under-16 alert


@pytest.mark.parametrize(
    ("question", "answered"),
    [
        ("my labrador has low b12, what dose of injections?", False),
        ("cyanocobalamin injections for a cat with pancreatic insufficiency", False),
        ("b12 for my horse's performance", False),
        ("will b12 tablets give me more energy? my levels are fine", False),
        ("b12 shots to help lose weight", False),
        ("vitamin d and b12 both low - how much vitamin d?", False),
        ("is 1 mg every 3 months forever ok", True),
        ("hydroxo every 10 weeks fine?", True),
        ("tired again before my jab is due", True),
    ],
)
def test_the_scope_gate_knows_the_domain(question: str, answered: bool) -> None:
    assert (answer(question, KB).status == "answered") is answered


@pytest.mark.parametrize(
    "question",
    [
        "is it safe to give b12 injections in pregnancy?",
        "can cyanocobalamin be used in leber's disease?",
        "should the injections be stopped when b12 comes back high?",
        "does a b12 of 150 ng/l confirm deficiency?",
        "hydroxo 1mg q3m, ok?",
    ],
)
def test_yes_no_questions_start_with_yes_no_or_it_depends(question: str) -> None:
    ans = answer(question, KB)
    assert ans.headline is not None
    assert ans.parameters.form == "yesno"
    assert re.match(r"^(Yes\.|No\.|It depends)", ans.headline.text), ans.headline.text
    assert ans.headline.answers in ("yes", "no", "depends")


def test_a_disagreement_headline_names_its_sides_and_their_sources() -> None:
    ans = answer("why do the US give b12 monthly but the UK every 2-3 months?", KB)
    assert ans.headline is not None
    rec = KB.recommendations[ans.headline.recs[0]]
    assert rec.action.type == "disagreement"
    for pos in rec.action.positions:
        assert pos.says.rstrip(".") in ans.headline.text
        for cit in pos.citations:
            assert KB.sources[cit.source].publisher in ans.headline.text


def test_patient_text_keeps_conditions_as_conditions() -> None:
    ans = answer(
        "what happens if i get nerve symptoms again on my b12 treatment?", KB, audience="patient"
    )
    for item in _statements(ans):
        if item.applies_if:
            assert not item.text.startswith("Because"), item.text
    told = answer(
        "I'm on b12 jabs every 3 months and now have new tingling in my feet",
        KB,
        audience="patient",
    )
    assert told.headline is not None
    assert told.headline.recs == ("B12-TX-106",)  # told: a fact


def test_references_one_per_source_primary_first_and_basis_said() -> None:
    saw_basis = False
    for q in QUESTIONS[:150]:
        ans = answer(q.q, KB, audience=q.audience, guideline=q.guideline)
        ids = [r.source_id for r in ans.references]
        assert len(ids) == len(set(ids)), q.id
        primary = [KB.sources[s].kind in PRIMARY_KINDS for s in ids]
        assert primary == sorted(primary, reverse=True), q.id
        head = ans.headline
        if head is None:
            continue
        rec = KB.recommendations[head.recs[0]]
        weak = all(
            c.verification == "secondary" or KB.sources[c.source].kind not in PRIMARY_KINDS
            for c in rec.citations
        )
        if rec.evidence == "expert-opinion":
            assert head.basis == "content_team", q.id
        elif weak:
            assert head.basis in ("secondary", "content_team"), q.id
        else:
            assert head.basis is None, q.id
        saw_basis = saw_basis or head.basis is not None
    assert saw_basis


def test_related_questions_follow_the_question_facts() -> None:
    bypass = answer("after gastric bypass, how often b12 injections?", KB)
    vegan = answer("vegan with low b12 and no symptoms, which tablets?", KB)
    assert bypass.related_questions != vegan.related_questions
    asked = {bypass.question, vegan.question}
    assert not asked & set(bypass.related_questions + vegan.related_questions)


def test_the_false_statement_rate_is_zero_and_forms_are_answered(kb: KnowledgeBase) -> None:
    m = ev.metrics(ev.evaluate(ev.engine(), kb, QUESTIONS))
    rates = m.rates()
    assert rates["false_statement"] == 0.0
    assert rates["yesno_form"] == 1.0


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KB


def test_a_question_with_two_parts_answers_both_or_says_which_is_not_covered() -> None:
    both = answer(
        "what dose of hydroxocobalamin with neuro symptoms? and can it go in the buttock?", KB
    )
    assert "B12-SAFE-044" in _recs(both)
    assert both.message is None
    half = answer(
        "how often are b12 injections given in pernicious anaemia? and which foods have b12?", KB
    )
    assert half.status == "answered"
    assert half.message is not None
    assert "foods" in half.message
