"""Reading a register row (core, pure): every class of bad value names its column.

The cases are written for the classes of problem a practice's export has (bad identifiers,
dates in the future or in the wrong order, unknown vocabulary, inconsistent declarations,
duplicates), not only for the examples of issue 13.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from b12.core.knowledge import KnowledgeBase
from b12.core.register_import import (
    enrolment_request,
    header_problems,
    nhs_number_valid,
    read_row,
    read_rows,
)

AS_OF = date(2026, 3, 2)
GOOD: dict[str, str] = {
    "patient_id": "pt-1",
    "nhs_number": "943 476 5919",
    "mrn": "",
    "name": "A. Patel",
    "date_of_birth": "1951-04-12",
    "sex": "female",
    "guideline": "uk",
    "deficiency": "confirmed",
    "cause": "Pernicious anaemia",
    "neurological_involvement": "no",
    "product": "Hydroxocobalamin",
    "dose": "1mg",
    "route": "IM",
    "interval": "Every 3 months",
    "last_dose_date": "2026-02-10",
    "earlier_doses": "2025-11-10; 2025-08-11",
    "course_stage": "maintenance",
    "stage_since": "2019-05-01",
    "last_review_date": "2025-12-01",
    "contact": "07700 900123",
}


def _check_digit(body: list[int]) -> int:
    return 11 - sum(d * w for d, w in zip(body, range(10, 1, -1), strict=True)) % 11


def row(**changes: str) -> dict[str, str]:
    return {**GOOD, **changes}


def refused_columns(kb: KnowledgeBase, **changes: str) -> set[str]:
    report = read_row(2, row(**changes), kb, AS_OF)
    assert report.status == "refused", report
    return {p.column for p in report.problems if p.refuses}


def test_a_good_row_is_accepted_with_the_vocabulary_names(kb: KnowledgeBase) -> None:
    report = read_row(2, GOOD, kb, AS_OF)
    assert report.status == "accepted", report.problems
    e = report.enrolment
    assert e is not None
    assert e.nhs_number == "9434765919"
    assert e.picture["cause"] == "autoimmune_gastritis"  # through the vocabulary's alias
    assert e.picture["age"] == 74
    assert e.product == "hydroxocobalamin"
    assert e.route == "im"
    assert e.dose_dates == (date(2025, 8, 11), date(2025, 11, 10), date(2026, 2, 10))
    assert e.declared is not None
    assert (e.declared.stage, e.declared.since, e.declared.every_months) == (
        "maintenance",
        date(2019, 5, 1),
        3,
    )
    request = enrolment_request(e)
    assert [h["date"] for h in request.history] == ["2025-08-11", "2025-11-10", "2026-02-10"]
    assert request.declared == {"stage": "maintenance", "since": "2019-05-01", "every_months": 3}


@given(st.lists(st.integers(0, 9), min_size=9, max_size=9), st.integers(0, 9), st.data())
def test_the_nhs_check_digit_catches_every_single_digit_error(
    body: list[int], position: int, data: st.DataObject
) -> None:
    check = _check_digit(body)
    if check == 10:  # no NHS number has this body
        assert not any(nhs_number_valid("".join(map(str, body)) + str(d)) for d in range(10))
        return
    digits = [*body, 0 if check == 11 else check]
    assert nhs_number_valid("".join(map(str, digits)))
    wrong = data.draw(st.integers(0, 9).filter(lambda d: d != digits[position]))
    digits[position] = wrong
    assert not nhs_number_valid("".join(map(str, digits)))


@given(st.lists(st.integers(0, 9), min_size=9, max_size=9), st.integers(0, 8))
def test_the_nhs_check_digit_catches_adjacent_swaps(body: list[int], position: int) -> None:
    check = _check_digit(body)
    digits = [*body, 0 if check == 11 else check]
    if check == 10 or digits[position] == digits[position + 1]:
        return
    digits[position], digits[position + 1] = digits[position + 1], digits[position]
    assert not nhs_number_valid("".join(map(str, digits)))


@pytest.mark.parametrize(
    ("changes", "column"),
    [
        ({"nhs_number": "943 476 5918"}, "nhs_number"),  # check digit
        ({"nhs_number": "94347659"}, "nhs_number"),  # too short
        ({"nhs_number": "94347659AB"}, "nhs_number"),
        ({"nhs_number": "", "mrn": ""}, "nhs_number"),  # no identifier at all
        ({"mrn": "MRN 123"}, "mrn"),
        ({"patient_id": ""}, "patient_id"),
        ({"patient_id": "has space"}, "patient_id"),
        ({"date_of_birth": ""}, "date_of_birth"),
        ({"date_of_birth": "31/02/1950"}, "date_of_birth"),
        ({"date_of_birth": "1950-13-01"}, "date_of_birth"),
        ({"date_of_birth": "2027-01-01"}, "date_of_birth"),
        ({"guideline": "fr"}, "guideline"),
        ({"sex": "f"}, "sex"),
        ({"deficiency": "low"}, "deficiency"),
        ({"cause": "anaemia of chronic disease"}, "cause"),
        ({"neurological_involvement": "maybe"}, "neurological_involvement"),
        ({"product": "Neurobion"}, "product"),
        ({"product": "folic acid"}, "product"),  # known, but not a B12 product
        ({"product": ""}, "product"),
        ({"dose": "one ampoule"}, "dose"),
        ({"dose": "1 gram"}, "dose"),
        ({"route": "intramuscular injection"}, "route"),
        ({"interval": "fortnightly"}, "interval"),
        ({"interval": "every 0 months"}, "interval"),
        ({"last_dose_date": ""}, "last_dose_date"),
        ({"last_dose_date": "2026-03-03"}, "last_dose_date"),  # the day after as_of
        ({"last_dose_date": "10 Feb 2026"}, "last_dose_date"),
        ({"earlier_doses": "2026-02-10"}, "earlier_doses"),  # not before the last dose
        ({"earlier_doses": "2025-11-10;yesterday"}, "earlier_doses"),
        ({"course_stage": "loading"}, "course_stage"),
        ({"course_stage": "", "stage_since": "2020-01-01"}, "course_stage"),
        ({"stage_since": "2026-02-11"}, "stage_since"),  # after the last dose
        ({"stage_since": "2027-01-01"}, "stage_since"),
        ({"interval": "12 weeks"}, "interval"),  # maintenance declared without months
        ({"last_review_date": "2026-04-01"}, "last_review_date"),
        ({"contact": "x" * 201}, "contact"),
    ],
)
def test_each_bad_value_refuses_the_row_naming_its_column(
    kb: KnowledgeBase, changes: dict[str, str], column: str
) -> None:
    assert column in refused_columns(kb, **changes)


@pytest.mark.parametrize(
    ("changes", "column"),
    [
        ({"deficiency": ""}, "deficiency"),
        ({"neurological_involvement": ""}, "neurological_involvement"),
        ({"name": ""}, "name"),
        ({"stage_since": ""}, "stage_since"),
    ],
)
def test_gaps_the_row_can_live_with_need_attention(
    kb: KnowledgeBase, changes: dict[str, str], column: str
) -> None:
    report = read_row(2, row(**changes), kb, AS_OF)
    assert report.status == "needs_attention"
    assert [p.column for p in report.problems] == [column]


@pytest.mark.parametrize(
    ("text", "name"),
    [("every_2_months", "every_2_months"), ("MONTHLY", "monthly"), ("4 weeks", "every_4_weeks")],
)
def test_intervals_by_name_label_or_count(kb: KnowledgeBase, text: str, name: str) -> None:
    report = read_row(2, row(interval=text, course_stage="", stage_since=""), kb, AS_OF)
    assert report.enrolment is not None, report.problems
    assert report.enrolment.interval == name


def test_uk_dates_and_neurological_involvement(kb: KnowledgeBase) -> None:
    report = read_row(
        2,
        row(date_of_birth="12/04/1951", neurological_involvement="Yes"),
        kb,
        AS_OF,
    )
    assert report.enrolment is not None
    assert report.enrolment.date_of_birth == date(1951, 4, 12)
    assert report.enrolment.picture["neuro_symptoms"] == ["unspecified_neurological"]


def test_duplicates_refuse_the_later_rows(kb: KnowledgeBase) -> None:
    rows: list[tuple[int, dict[str, Any]]] = [
        (2, GOOD),
        (3, row(nhs_number="4010232137")),  # same id
        (4, row(patient_id="pt-2")),  # same NHS number
        (5, row(patient_id="pt-3", nhs_number="4857773457")),
    ]
    reports = read_rows(rows, kb, AS_OF)
    assert [r.status for r in reports] == ["accepted", "refused", "refused", "accepted"]
    assert "duplicate of line 2" in reports[1].problems[-1].reason
    assert reports[2].problems[-1].column == "nhs_number"


def test_the_digest_is_the_row_not_the_day(kb: KnowledgeBase) -> None:
    one = read_row(2, GOOD, kb, AS_OF).enrolment
    later = read_row(2, GOOD, kb, date(2027, 6, 1)).enrolment
    other = read_row(2, row(contact="07700 900999"), kb, AS_OF).enrolment
    assert one is not None
    assert later is not None
    assert other is not None
    assert one.fingerprint() == later.fingerprint() != other.fingerprint()


def test_header_problems() -> None:
    assert header_problems(None) == ["the file is empty"]
    assert header_problems(list(GOOD)) == []
    problems = header_problems(["patient_id", "dob", "patient_id"])
    assert "missing column 'date_of_birth'" in problems
    assert "unknown column 'dob'" in problems
    assert "column 'patient_id' appears twice" in problems


CELL = st.one_of(
    st.sampled_from(["", " ", "yes", "no", "1mg", "2026-02-30", "31/12/2025", "every 3 months"]),
    st.text(max_size=30),
)


@given(st.dictionaries(st.sampled_from(sorted(GOOD)), CELL, max_size=8))
def test_any_cells_give_a_report_never_an_exception(
    kb: KnowledgeBase, changes: dict[str, str]
) -> None:
    """Whatever the cells hold, the row is reported; only a row without a refusal enrols."""
    report = read_row(2, row(**changes), kb, AS_OF)
    assert (report.status == "refused") == (report.enrolment is None)
    assert all(p.column for p in report.problems)
    if report.enrolment is not None:
        assert report.enrolment.dose_dates
        assert max(report.enrolment.dose_dates) <= AS_OF
