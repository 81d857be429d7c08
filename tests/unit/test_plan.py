"""Engine behaviour that vignettes do not pin: options, gating of drafts, determinism."""

from __future__ import annotations

from datetime import date

import pytest

from b12.core.errors import InputError
from b12.core.knowledge import KnowledgeBase
from b12.core.picture import parse_picture
from b12.core.plan import PlanOptions, plan
from b12.core.requests import parse_horizon, plan_request
from tests.conftest import make_picture

AS_OF = date(2026, 3, 2)


def test_drafts_are_not_used_by_default(kb: KnowledgeBase) -> None:
    pic = parse_picture(make_picture(cause="nitrous_oxide"), kb)
    result = plan(pic, kb, AS_OF)
    assert "B12-SAFE-027" not in {r.id for r in result.recommendations}
    assert all(r.status == "approved" for r in result.recommendations)
    assert result.review_status == "approved"
    assert result.review_banner is None


def test_drafts_mark_the_output_pending_review_when_allowed(kb: KnowledgeBase) -> None:
    pic = parse_picture(make_picture(cause="nitrous_oxide"), kb)
    result = plan(pic, kb, AS_OF, PlanOptions(allow_draft=True))
    (alert,) = [a for a in result.alerts if a.code == "NITROUS_OXIDE"]
    assert alert.recs == ("B12-SAFE-027", "B12-SAFE-028")
    assert result.review_status == "pending_review"
    assert result.review_banner
    assert "PENDING REVIEW" in result.review_banner


def test_clinic_weekdays_option_moves_three_times_weekly_doses(kb: KnowledgeBase) -> None:
    pic = parse_picture(make_picture(), kb)
    result = plan(pic, kb, AS_OF, PlanOptions(clinic_weekdays=("tue", "thu", "sat")))
    loading = [e.date for e in result.schedule if e.kind == "dose" and e.phase == "loading"]
    assert loading == [date(2026, 3, d) for d in (3, 5, 7, 10, 12, 14)]


def test_empty_clinic_weekdays_is_an_input_error(kb: KnowledgeBase) -> None:
    pic = parse_picture(make_picture(), kb)
    with pytest.raises(InputError, match="clinic_weekdays"):
        plan(pic, kb, AS_OF, PlanOptions(clinic_weekdays=()))


def test_horizon_limits_the_schedule(kb: KnowledgeBase) -> None:
    pic = parse_picture(make_picture(), kb)
    short = plan(pic, kb, AS_OF, PlanOptions(horizon_months=1))
    assert short.horizon_end == date(2026, 4, 2)
    assert all(e.date <= short.horizon_end for e in short.schedule)
    assert short.schedule_continues


def test_start_date_is_respected_and_recorded(kb: KnowledgeBase) -> None:
    pic = parse_picture(make_picture(start="2026-04-01"), kb)
    result = plan(pic, kb, AS_OF)
    assert result.start == date(2026, 4, 1)
    assert min(e.date for e in result.schedule if e.kind == "dose") >= date(2026, 4, 1)


def test_lifelong_follows_irreversible_cause(kb: KnowledgeBase) -> None:
    ag = plan(parse_picture(make_picture(cause="autoimmune_gastritis"), kb), kb, AS_OF)
    diet = plan(parse_picture(make_picture(cause="medication"), kb), kb, AS_OF)
    assert ag.regimen
    assert diet.regimen
    assert [p.lifelong for p in ag.regimen.phases] == [False, True]
    assert [p.lifelong for p in diet.regimen.phases] == [False, False]


def test_same_input_gives_byte_identical_json(kb: KnowledgeBase) -> None:
    doc = make_picture(neuro_symptoms=["ataxia", "numbness"], conditions=["ckd", "coeliac"])
    first = plan_request(doc, kb)[1].model_dump_json()
    shuffled = make_picture(neuro_symptoms=["numbness", "ataxia"], conditions=["coeliac", "ckd"])
    assert plan_request(shuffled, kb)[1].model_dump_json() == first


def test_as_of_is_required_when_neither_input_nor_caller_gives_it(kb: KnowledgeBase) -> None:
    doc = make_picture()
    del doc["as_of"]
    with pytest.raises(InputError, match="as_of"):
        plan_request(doc, kb)


def test_guideline_override_is_validated(kb: KnowledgeBase) -> None:
    with pytest.raises(InputError, match="guideline"):
        plan_request(make_picture(), kb, guideline="fr")


@pytest.mark.parametrize(("text", "months"), [("12m", 12), ("3", 3), ("2y", 24), (" 6M ", 6)])
def test_parse_horizon_accepts_months_and_years(text: str, months: int) -> None:
    assert parse_horizon(text) == months


@pytest.mark.parametrize("text", ["", "0m", "61m", "six", "12w", "-3m"])
def test_parse_horizon_rejects_nonsense(text: str) -> None:
    with pytest.raises(InputError, match="horizon"):
        parse_horizon(text)


def test_references_are_numbered_in_order_of_first_use(kb: KnowledgeBase) -> None:
    result = plan_request(make_picture(cause="autoimmune_gastritis"), kb)[1]
    assert [r.n for r in result.references] == list(range(1, len(result.references) + 1))
    assert result.pathway.why[0].refs[0] == 1


def test_clinic_weekdays_must_match_doses_per_week(kb: KnowledgeBase) -> None:
    pic = parse_picture(make_picture(), kb)
    with pytest.raises(InputError, match="3 distinct weekdays"):
        plan(pic, kb, AS_OF, PlanOptions(clinic_weekdays=("mon", "thu")))
