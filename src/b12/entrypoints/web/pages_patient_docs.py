"""The patient page's chart and its two printouts (patient's copy and clinician's copy).

``GET /patients/{id}/printout/{copy}.pdf`` prints the plan of the patient's current clinical
picture, with the patient's name and date of birth from the registry; viewing it is audited
like the page.  Before any dose is recorded the plan starts on the course's start date.  Once
doses are recorded the patient's plan starts on the next due date the record gives (today when
overdue), and the patient's copy picks up at the dose that is next: the rest of a fixed-length phase
(loading dose 4 of 6 onwards), or the current open-ended phase from its next dose.  The
clinician's copy is always the plan from the course's start date, as it was made.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request, Response

from b12.adapters.exports.ics import plan_to_ics
from b12.adapters.exports.patient_chart import chart_rows, patient_chart_svg
from b12.adapters.exports.patient_pdf import PatientDetails
from b12.adapters.sql.chart_data import chart_data, picture_versions
from b12.adapters.sql.registry import Registry
from b12.core.course import expected_doses
from b12.core.course_models import FollowUpResult
from b12.core.knowledge import KnowledgeBase
from b12.core.patient_view import PatientPlan
from b12.core.plan import PlanOptions
from b12.core.printout import resume_from
from b12.core.requests import plan_request
from b12.entrypoints.web.auth import PagePrincipal, require, services
from b12.entrypoints.web.errors import HttpProblem
from b12.entrypoints.web.printout import COPIES, printout_pdf

router = APIRouter(include_in_schema=False)


def chart_context(
    kb: KnowledgeBase, registry: Registry, record: dict[str, Any], patient_id: str, today: date
) -> dict[str, Any]:
    """``chart`` (the SVG) and ``chart_rows`` (its text alternative) for the patient page."""
    vocab = kb.vocabulary
    labels = {k: t.label for k, t in vocab.events.items()}
    labels.update({k: t.label for k, t in vocab.neuro_symptoms.items()})
    data = chart_data(record, picture_versions(registry, patient_id), today, labels)
    return {"chart": patient_chart_svg(data), "chart_rows": chart_rows(data)}


@router.get("/patients/{patient_id}/printout/{copy}.pdf")
def patient_printout(
    request: Request, patient_id: str, copy: str, principal: PagePrincipal
) -> Response:
    """The patient's printout or the clinician's copy of the patient's plan, as a PDF."""
    require(principal, "registry")
    if copy not in COPIES:
        raise HttpProblem(404, "not_found", f"no printout {copy!r}")
    svc = services(request)
    kb = svc.kb()
    registry = svc.registry_for(kb)
    record = registry.show_patient(patient_id)
    registry.record_view(
        "patient",
        patient_id,
        actor=principal.user.username,
        now=svc.now(),
        detail={"page": "printout", "copy": copy},
    )
    today = svc.today()
    follow = registry.follow_up(patient_id, today)
    start = _next_date(follow, today) if record["doses"] and copy == "patient" else None
    doc = {
        **record["picture"],
        "start": (start or date.fromisoformat(record["course"]["start"])).isoformat(),
        "as_of": today.isoformat(),
    }
    _, plan = plan_request(doc, kb, default_as_of=today, options=PlanOptions())
    patient = record["patient"]
    born = patient.get("date_of_birth")
    details = PatientDetails(
        name=patient.get("display_name") or None,
        date_of_birth=date.fromisoformat(born) if born else None,
        nhs_number=None,
    )
    resume = None
    if start is not None:
        given = follow.doses_in_phase if _fixed_length(kb, follow) else 0
        due = start

        def resume(view: PatientPlan) -> PatientPlan:
            return resume_from(view, follow.phase, given, due)

    return printout_pdf(request, plan, copy, details, resume)


@router.get("/patients/{patient_id}/calendar.ics")
def patient_calendar(request: Request, patient_id: str, principal: PagePrincipal) -> Response:
    """The patient's plan as made (from the course's start date, as the clinician's copy) as an
    iCalendar file; viewing it is audited like the page."""
    require(principal, "registry")
    svc = services(request)
    kb = svc.kb()
    registry = svc.registry_for(kb)
    record = registry.show_patient(patient_id)
    registry.record_view(
        "patient",
        patient_id,
        actor=principal.user.username,
        now=svc.now(),
        detail={"page": "calendar"},
    )
    today = svc.today()
    doc = {**record["picture"], "start": record["course"]["start"], "as_of": today.isoformat()}
    _, plan = plan_request(doc, kb, default_as_of=today, options=PlanOptions())
    filename = f"b12-{patient_id}.ics"
    return Response(
        plan_to_ics(plan, label=patient_id),
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _next_date(follow: FollowUpResult, today: date) -> date | None:
    """When the next dose is to be given: its due date, or today when it is overdue."""
    if follow.next_due is None or follow.next_due.continuous:
        return None
    return max(follow.next_due.date, today)


def _fixed_length(kb: KnowledgeBase, follow: FollowUpResult) -> bool:
    """Does the current phase hold a set number of doses (so the ones given are skipped)?"""
    regimen = kb.regimens.get(follow.regimen.id) if follow.regimen is not None else None
    phases = [p for p in regimen.phases if p.name == follow.phase] if regimen else []
    return bool(phases) and expected_doses(phases[0]) is not None
