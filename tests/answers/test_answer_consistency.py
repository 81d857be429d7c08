"""The answer agrees with ``b12 plan``: for every pathway, a question describing the patient.

For each pathway of the knowledge base under each guideline set that uses it, one golden
vignette's picture (``tests/vignettes/cases``) is described in words; the answer's headline
must name the same pathway and regimen as ``plan()`` gives for the vignette's picture, and as
``plan()`` gives for the picture the engine built from the question (``parameters.picture``).
A pathway with no vignette under one set borrows the other set's picture (guideline switched).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from b12.adapters.vignettes import load_vignette
from b12.core.answer import answer
from b12.core.knowledge import KnowledgeBase
from b12.core.picture import parse_picture
from b12.core.plan import plan
from tests.answers import evaluation as ev

CASES = Path(__file__).resolve().parents[1] / "vignettes" / "cases"
AS_OF = date(2026, 3, 2)

#: (guideline, vignette id prefix, the question describing that vignette's patient).
QUESTIONS: tuple[tuple[str, str, str], ...] = (
    (
        "uk",
        "V-001",
        "68-year-old woman with pernicious anaemia, B12 110 ng/L, Hb 96 g/L, "
        "no neurological symptoms: which regimen?",
    ),
    (
        "uk",
        "V-002",
        "72 year old man with pernicious anaemia, tingling and an unsteady gait, "
        "B12 95 ng/L: what regimen?",
    ),
    (
        "uk",
        "V-004",
        "26-year-old vegan man, B12 140 ng/L, no neuro symptoms: what treatment regimen?",
    ),
    (
        "uk",
        "V-005",
        "34 yo woman with coeliac disease, B12 150 ng/L, prefers oral treatment: what dose?",
    ),
    (
        "uk",
        "V-008",
        "55 year old woman who had a hypersensitivity reaction to B12 injections, "
        "B12 140 ng/L: what regimen?",
    ),
    (
        "uk",
        "V-009",
        "24 year old man with Leber's optic atrophy and B12 170 ng/L: which B12 regimen?",
    ),
    ("uk", "V-012", "66-year-old man after a total gastrectomy: what B12 prophylaxis regimen?"),
    ("uk", "V-014", "38 yo man with Crohn's and a 45 cm ileal resection: B12 prophylaxis regimen?"),
    (
        "uk",
        "V-015",
        "45 year old woman with a 12 cm ileal resection, B12 420 ng/L: "
        "does she need B12 injections?",
    ),
    (
        "uk",
        "V-016",
        "52 year old man at risk after an ileal resection, length not recorded: what regimen?",
    ),
    ("uk", "V-017", "41 yo woman after sleeve gastrectomy, B12 410 ng/L: what B12 regimen?"),
    ("uk", "V-018", "58 year old man, B12 240 ng/L, no neurological symptoms: what regimen?"),
    (
        "uk",
        "V-020",
        "49 year old woman on a PPI with suspected B12 deficiency, no neuro symptoms: "
        "should I start treatment?",
    ),
    ("uk", "V-021", "60-year-old man, no B12 result and no diagnosis yet: what B12 regimen?"),
    (
        "uk",
        "V-022",
        "71 year old man on metformin, at risk of B12 deficiency: should he have prophylactic B12?",
    ),
    ("uk", "V-023", "35-year-old woman with B12 520 ng/L: does she need B12 treatment?"),
    (
        "uk",
        "V-026",
        "58 year old woman on hydroxocobalamin prophylaxis after total gastrectomy, "
        "B12 1400 ng/L: what now?",
    ),
    ("uk", "V-029", "14-year-old girl with B12 120 ng/L: what dose?"),
    ("uk", "V-073", "39 year old woman, active B12 40 pmol/L, no neuro symptoms: what next?"),
    (
        "uk",
        "V-074",
        "62 year old man, status entered as indeterminate, B12 300 ng/L, MMA 600 nmol/L: "
        "what regimen?",
    ),
    ("us", "V-039", "64-year-old woman with pernicious anaemia, B12 110 pg/mL: which regimen?"),
    ("us", "V-040", "70 yo man with peripheral neuropathy and ataxia, B12 90 pg/mL: regimen?"),
    ("us", "V-041", "31 year old vegan woman, B12 150 pg/mL: what treatment regimen?"),
    (
        "us",
        "V-042",
        "52 year old man with pernicious anaemia, B12 140 pg/mL, prefers oral treatment: "
        "what dose?",
    ),
    ("us", "V-043", "58 year old woman, B12 120 pg/mL, wants hydroxocobalamin: what regimen?"),
    ("us", "V-044", "27 year old man with Leber disease, B12 160 pg/mL: what regimen?"),
    (
        "us",
        "V-045",
        "45 yo woman with pernicious anaemia and a cobalt allergy, B12 100 pg/mL: which regimen?",
    ),
    ("us", "V-049", "62 year old man after total gastrectomy: B12 prophylaxis regimen?"),
    (
        "us",
        "V-053",
        "39 yo man at risk after an 8 cm ileal resection: does he need B12 injections?",
    ),
    (
        "us",
        "V-054",
        "44 year old woman after an ileal resection of unknown length, B12 410 pg/mL: "
        "what regimen?",
    ),
    ("us", "V-055", "37 year old woman after gastric bypass, B12 390 pg/mL: which B12 regimen?"),
    (
        "us",
        "V-056",
        "48 year old man after a duodenal switch, already taking cyanocobalamin, "
        "B12 1250 pg/mL: what now?",
    ),
    ("us", "V-058", "15-year-old boy with B12 95 pg/mL: what dose?"),
    ("us", "V-059", "55 year old woman with B12 290 pg/mL, no neuro symptoms: what regimen?"),
    (
        "us",
        "V-061",
        "61 year old woman with diabetic nephropathy, B12 540 pg/mL, homocysteine 17: "
        "does she need B12 treatment?",
    ),
    (
        "us",
        "V-062",
        "66 yo man on metformin and a PPI, at risk: should he have prophylactic B12?",
    ),
    ("us", "V-063", "45 year old woman, no B12 result and no diagnosis: what regimen?"),
    (
        "us",
        "V-066",
        "71 year old man with suspected B12 deficiency, no neuro symptoms: "
        "should I start treatment?",
    ),
    ("us", "V-073", "39 year old woman, active B12 40 pmol/L, no neuro symptoms: what next?"),
    (
        "us",
        "V-074",
        "62 year old man, status entered as indeterminate, B12 300 pg/mL, MMA 600 nmol/L: "
        "what regimen?",
    ),
    (
        "uk",
        "V-217",
        "52 year old man, status entered as indeterminate, B12 250 ng"
        "/L, MMA 300 nmol/L, no neuro symptoms: what next?",
    ),
    (
        "uk",
        "V-215",
        "40 year old woman with suspected B12 deficiency, B12 420 ng/"
        "L, no neuro symptoms: what next?",
    ),
    (
        "uk",
        "V-216",
        "35 year old man with suspected B12 deficiency, B12 400 ng/L,"
        " MMA 300 nmol/L, no neuro symptoms: what next?",
    ),
    (
        "uk",
        "V-211",
        "55 year old woman with paraesthesia, B12 520 ng/L: what regimen?",
    ),
    (
        "us",
        "V-217",
        "52 year old man, status entered as indeterminate, B12 250 pg"
        "/mL, MMA 300 nmol/L, no neuro symptoms: what next?",
    ),
    (
        "us",
        "V-215",
        "40 year old woman with suspected B12 deficiency, B12 420 pg/"
        "mL, no neuro symptoms: what next?",
    ),
    (
        "us",
        "V-216",
        "35 year old man with suspected B12 deficiency, B12 400 pg/mL"
        ", MMA 300 nmol/L, no neuro symptoms: what next?",
    ),
    (
        "us",
        "V-211",
        "55 year old woman with paraesthesia, B12 520 pg/mL: what regimen?",
    ),
)


def _vignette_picture(prefix: str, guideline: str) -> dict[str, Any]:
    (path,) = sorted(CASES.glob(f"{prefix}-*.yaml"))
    vignette = load_vignette(path)
    picture = dict(vignette.picture)
    picture["guideline"] = guideline
    return picture


def _planned(picture: dict[str, Any], kb: KnowledgeBase) -> tuple[str, str | None]:
    result = plan(parse_picture(picture, kb), kb, AS_OF)
    return result.pathway.id, result.regimen.id if result.regimen else None


@pytest.mark.parametrize(
    ("guideline", "prefix", "question"), QUESTIONS, ids=[f"{g}-{p}" for g, p, _ in QUESTIONS]
)
def test_headline_regimen_equals_the_plan_for_the_described_patient(
    kb: KnowledgeBase, guideline: str, prefix: str, question: str
) -> None:
    expected = _planned(_vignette_picture(prefix, guideline), kb)
    ans = answer(question, kb, guideline=guideline)
    assert ans.status == "answered", question
    assert ans.headline is not None
    assert ans.parameters.picture is not None, f"{question!r} was not read as describing a patient"
    assert (ans.headline.pathway, ans.headline.regimen) == expected, ans.parameters.picture
    assert _planned(ans.parameters.picture, kb) == expected
    decision = kb.pathways[expected[0]]
    assert ans.headline.recs == (decision.id,)


def test_every_pathway_of_both_guideline_sets_has_a_question(kb: KnowledgeBase) -> None:
    covered: set[tuple[str, str]] = set()
    for guideline, prefix, _ in QUESTIONS:
        covered.add((guideline, _planned(_vignette_picture(prefix, guideline), kb)[0]))
    wanted: set[tuple[str, str]] = {
        (str(juris), pathway)
        for pathway, rec in kb.pathways.items()
        if rec.status == "approved"
        for juris in rec.jurisdiction
    }
    assert sorted(wanted - covered) == []


def test_every_answer_with_a_picture_agrees_with_the_plan_for_it() -> None:
    """Over the labelled set: whenever the headline names a regimen for a described patient."""
    checked = 0
    kb = ev.shared_kb()  # the run's shared evaluation of the labelled set
    for q in ev.load_questions():
        for audience in ("clinician", "patient"):
            ans = ev.asked(kb, q.q, audience, q.guideline)[1]
            picture = ans.parameters.picture
            if ans.headline is None or picture is None or ans.headline.pathway is None:
                continue
            pathway, regimen = _planned(picture, kb)
            if ans.headline.recs[0] == kb.pathways[pathway].id:
                assert (ans.headline.pathway, ans.headline.regimen) == (pathway, regimen), q.id
                checked += 1
            else:  # the headline is another item; no regimen may contradict the plan
                assert ans.headline.regimen in (None, regimen), q.id
    assert checked >= 20


#: Issue 11 x issue 14: a stated status and a result that disagree (the safer is followed), and
#: neurological features that a normal result never overrules.  Our own pictures, not vignettes.
STATUS_CONFLICTS = (
    "58 year old man, status recorded as indeterminate, B12 120 ng/L, no neuro symptoms: "
    "what regimen?",
    "47 yo woman, suspected deficiency, B12 480 ng/L, no neurological symptoms: what regimen?",
    "63 year old woman recorded as not deficient, B12 110 ng/L, no neuro symptoms: what regimen?",
    "39 yo man recorded as borderline, B12 250 ng/L, MMA 650 nmol/L, no neuro symptoms: "
    "which regimen?",
    "70 year old vegan woman with numbness in her feet, B12 420 ng/L: what regimen?",
)


@pytest.mark.parametrize("question", STATUS_CONFLICTS)
@pytest.mark.parametrize("guideline", ["uk", "us"])
def test_a_stated_status_and_a_result_that_disagree_give_the_plans_pathway(
    kb: KnowledgeBase, question: str, guideline: str
) -> None:
    ans = answer(question, kb, guideline=guideline)
    picture = ans.parameters.picture
    assert ans.headline is not None, question
    assert picture is not None, question
    assert (ans.headline.pathway, ans.headline.regimen) == _planned(picture, kb), picture


def test_a_headline_decision_is_the_first_in_priority_order_that_can_hold() -> None:
    """``plan`` takes the first decision that holds: no decision before the headline's holds."""
    from b12.core.answer.facts import Evaluator

    checked = 0
    kb = ev.shared_kb()  # the run's shared evaluation of the labelled set
    questions = [(q.q, q.guideline) for q in ev.load_questions()]
    questions += [("neuro sx with a low b12 - refer urgently?", "uk")]
    for text, guideline in questions:
        sel, ans = ev.asked(kb, text, "clinician", guideline)
        if ans.headline is None or ans.headline.pathway is None or ans.headline.applies_if:
            continue  # a headline under an open condition is a branch, not plan's choice
        assert sel is not None
        evaluator = Evaluator(kb, sel.known)
        for rec in kb.usable("decisions", guideline, False):
            if rec.id == ans.headline.recs[0]:
                break
            if getattr(rec.action, "regimen", None) is None and ans.headline.regimen:
                continue  # "carry on" holds, but the regimen asked for is given (issue 14)
            assert rec.when is None or evaluator.truth(rec.when) is not True, (text, rec.id)
        checked += 1
    assert checked >= 20
