"""The patient's printout: read back from the PDF as text, and its clinic-day dates."""

from __future__ import annotations

import io
import itertools
import re
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

import b12
from b12.adapters.exports.patient_pdf import PatientDetails, Practice, patient_copy_pdf
from b12.adapters.exports.pdf import plan_to_pdf
from b12.adapters.exports.text import human_date
from b12.adapters.knowledge_files import load_knowledge_base
from b12.core.dates import WEEKDAYS
from b12.core.knowledge import KnowledgeBase
from b12.core.patient_view import PatientPlan, patient_view
from b12.core.plan_models import Plan
from b12.core.printout import PrintedDose, clinic_day_entries, patient_printout, resume_from
from b12.core.schedule import expand_schedule
from tests.exports.conftest import PICTURES
from tests.properties.strategies import picture_docs

KB = load_knowledge_base()
ANN = PatientDetails(name="Ann Example", date_of_birth=date(1958, 4, 2), nhs_number="943 476 5919")
SURGERY = Practice(name="Riverside Surgery", phone="020 7946 0000")
US_SOURCE_NAMES = ("Food and Drug", "FDA", "DailyMed", "American Family Physician", "AFP")
MON_FRI = ("mon", "tue", "wed", "thu", "fri")


def _text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))


def _patient_copy(plan: Plan, kb: KnowledgeBase) -> tuple[str, PatientPlan, list[PrintedDose]]:
    view = patient_view(plan, kb)
    dates = patient_printout(view, kb)
    data = patient_copy_pdf(view, dates, patient=ANN, practice=SURGERY)
    assert data == patient_copy_pdf(view, dates, patient=ANN, practice=SURGERY)
    return _text(data), view, list(dates.entries)


@pytest.mark.parametrize("name", ["pa_uk", "neuro_uk", "pa_us"])
def test_patient_copy_names_the_patient_and_lists_clinic_days(
    kb: KnowledgeBase, plans: dict[str, Plan], name: str
) -> None:
    text, _view, entries = _patient_copy(plans[name], kb)
    content = kb.vocabulary.patient_printout
    assert "Name: Ann Example" in text
    assert "Date of birth: Wed 2 Apr 1958" in text
    assert "NHS number: 943 476 5919" in text
    assert "Riverside Surgery" in text
    assert "020 7946 0000" in text
    assert f"Date What Dose Notes {content.given_label}" in text  # the tick column
    doses = [e for e in entries if e.kind == "dose"]
    assert doses
    for entry in entries:
        assert human_date(entry.date) in text  # every date with its weekday
    assert content.missed_heading in text
    assert content.call_us_heading in text
    for item in (*content.missed, *content.call_us):
        assert re.sub(r"\s+", " ", item.text) in text
    assert "Your first injection is on" in text


@pytest.mark.parametrize("name", ["pa_uk", "neuro_uk", "pa_us"])
def test_patient_copy_has_no_references_hash_or_us_sources(
    kb: KnowledgeBase, plans: dict[str, Plan], name: str
) -> None:
    plan = plans[name]
    text, _, _ = _patient_copy(plan, kb)
    assert not re.search(r"\[\d+(, \d+)*\]", text)
    assert "sha256" not in text
    assert plan.content_version not in text
    assert "References" not in text
    for source in US_SOURCE_NAMES:
        assert source not in text
    # The clinician's copy keeps them (so the checks above can fail).
    clinician = _text(plan_to_pdf(plan, patient_view(plan, kb)))
    assert re.search(r"\[\d+(, \d+)*\]", clinician)
    assert "sha256" in clinician
    if name == "pa_us":
        assert "Food and Drug" in clinician


def test_a_saturday_start_moves_the_first_dose_to_monday_and_says_so(kb: KnowledgeBase) -> None:
    saturday = date(2026, 3, 7)
    doc = {
        "age": 55,
        "deficiency": "confirmed",
        "cause": "pernicious_anaemia",
        "neuro_symptoms": ["paraesthesia"],
        "as_of": "2026-03-06",
        "start": saturday.isoformat(),
    }
    _, plan = b12.plan_request(doc, kb)
    assert plan.schedule[0].date == saturday  # the engine dates every day of the week
    text, _, entries = _patient_copy(plan, kb)
    first = next(e for e in entries if e.kind == "dose")
    assert first.date == date(2026, 3, 9)
    assert "Your first injection is on Monday 9 March 2026" in text
    assert "moved (Sat 7 Mar 2026)" in text
    assert "Sat " not in text.split("Your dates", 1)[1].split("If you miss")[0].replace(
        "moved (Sat", ""
    )


def test_oral_plan_has_no_missed_injection_section(
    kb: KnowledgeBase, plans: dict[str, Plan]
) -> None:
    view = patient_view(plans["oral_uk"], kb)
    dates = patient_printout(view, kb, injections=False)
    text = _text(patient_copy_pdf(view, dates, patient=ANN, practice=SURGERY))
    assert kb.vocabulary.patient_printout.missed_heading not in text
    assert kb.vocabulary.patient_printout.call_us_heading in text
    assert all(not e.moved for e in dates.entries)  # tablets at home are not moved


def test_unknown_details_are_left_off(kb: KnowledgeBase, plans: dict[str, Plan]) -> None:
    view = patient_view(plans["pa_uk"], kb)
    dates = patient_printout(view, kb)
    text = _text(patient_copy_pdf(view, dates, patient=PatientDetails(), practice=Practice()))
    assert "NHS number" not in text
    assert "Date of birth" not in text
    assert "Practice telephone" not in text


OPEN_DAYS = st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=7, unique=True).map(
    lambda days: tuple(d for d in WEEKDAYS if d in days)
)
STARTS = st.dates(min_value=date(2025, 1, 1), max_value=date(2028, 12, 31))


def _first_open(day: date, days: tuple[str, ...]) -> date:
    while WEEKDAYS[day.weekday()] not in days:
        day += timedelta(days=1)
    return day


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(doc=picture_docs(KB.vocabulary), start=STARTS, open_days=OPEN_DAYS)
def test_clinic_days_only_inside_windows_first_on_or_after_start(
    doc: dict[str, Any], start: date, open_days: tuple[str, ...]
) -> None:
    doc = {**doc, "start": start.isoformat(), "as_of": start.isoformat()}
    try:
        _, plan = b12.plan_request(doc, KB)
    except b12.InputError:
        return
    view = patient_view(plan, KB)
    entries = clinic_day_entries(view.schedule, open_days)
    injected = [e for e in entries if e.kind == "dose" and e.repeats is None]
    listed = expand_schedule(view.schedule)  # a repeating entry: one printed row per dose
    planned = [e for e in listed if e.kind == "dose" and e.repeats is None]
    assert len(injected) == len(planned)  # every dose is printed, none added
    for entry in entries:
        if entry.repeats is None:
            assert WEEKDAYS[entry.date.weekday()] in open_days
    if not injected:
        return
    assert injected[0].date >= view.start
    assert injected[0].date == _first_open(planned[0].date, open_days)
    for before, entry in itertools.pairwise(injected):
        assert entry.date > before.date
    for entry in injected:
        assert entry.date >= entry.planned
        if entry.beyond_window:  # no open day in the window: the first one after it
            day = max(entry.planned, entry.earliest)
            while day <= entry.latest:
                assert WEEKDAYS[day.weekday()] not in open_days
                day += timedelta(days=1)
            assert entry.date == _first_open(entry.planned, open_days)
        else:
            assert entry.earliest <= entry.date <= entry.latest


def test_spacing_runs_from_the_printed_dose(kb: KnowledgeBase, plans: dict[str, Plan]) -> None:
    view = patient_view(plans["neuro_uk"], kb)
    planned = [e for e in expand_schedule(view.schedule) if e.kind == "dose"]
    printed = [e for e in clinic_day_entries(view.schedule, MON_FRI) if e.kind == "dose"]
    for k in range(1, len(printed)):
        interval = planned[k].date - planned[k - 1].date
        assert printed[k].planned == printed[k - 1].date + interval


def _plan_from(kb: KnowledgeBase, name: str, start: date) -> PatientPlan:
    doc = {**PICTURES[name], "start": start.isoformat(), "as_of": start.isoformat()}
    _, plan = b12.plan_request(doc, kb)
    return patient_view(plan, kb)


def test_resume_a_fixed_length_phase_drops_the_doses_given_from_its_end(
    kb: KnowledgeBase,
) -> None:
    due = date(2026, 3, 2)  # a Monday
    view = _plan_from(kb, "pa_uk", due)
    first_phase = view.phases[0].name
    planned = [e for e in view.schedule if e.kind == "dose"]
    loading = [e for e in planned if e.phase == first_phase]
    resumed = resume_from(view, first_phase, 2, due)
    doses = [e for e in resumed.schedule if e.kind == "dose"]
    left = [e for e in doses if e.phase == first_phase]
    assert len(left) == len(loading) - 2
    assert [e.date for e in left] == [e.date for e in loading[: len(left)]]  # weekdays kept
    after = [e for e in doses if e.phase != first_phase]
    gap = planned[len(loading)].date - loading[-1].date
    assert after[0].date - left[-1].date == gap  # the next phase follows the last dose left
    assert resumed.start == due
    assert all(e.date >= due for e in resumed.schedule)


def test_resume_an_open_ended_phase_starts_on_the_due_date(kb: KnowledgeBase) -> None:
    view = _plan_from(kb, "neuro_uk", date(2026, 3, 4))
    phase = view.phases[0].name
    resumed = resume_from(view, phase, 0, date(2026, 3, 4))
    first = next(e for e in resumed.schedule if e.kind == "dose")
    assert first.date == date(2026, 3, 4)
    assert resume_from(view, "no-such-phase", 0, date(2026, 3, 4)).schedule == ()


def test_resume_in_a_later_phase_drops_the_earlier_phase(kb: KnowledgeBase) -> None:
    due = date(2026, 6, 1)
    view = _plan_from(kb, "pa_uk", due)
    later = view.phases[1].name
    resumed = resume_from(view, later, 0, due)
    doses = [e for e in resumed.schedule if e.kind == "dose"]
    assert doses[0].date == due
    assert {e.phase for e in doses} == {later}


def test_a_repeating_entry_is_printed_one_row_per_dose_with_a_tick_box(
    kb: KnowledgeBase, plans: dict[str, Plan]
) -> None:
    # Issue 16: the plan shows alternate-day loading as repeating entries; the patient still gets
    # every injection and every review on its own dated row, each with a box to tick.
    plan = plans["neuro_uk"]
    assert any(e.repeat is not None for e in plan.schedule)
    text, view, entries = _patient_copy(plan, kb)
    listed = expand_schedule(view.schedule)
    doses = [e for e in entries if e.kind == "dose"]
    assert len(doses) == sum(1 for e in listed if e.kind == "dose") > 150
    assert len(entries) > 3 * len(view.schedule)
    assert len({e.date for e in doses}) == len(doses)
    assert all(e.repeats is None for e in entries)
    for entry in entries:
        assert human_date(entry.date) in text
    assert "every 2 days from" not in text  # rows, not the summary
