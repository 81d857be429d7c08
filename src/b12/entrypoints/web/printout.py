"""The two printed copies of a plan: the patient's printout and the clinician's copy.

The patient's copy names the patient (as typed on the plan page, or from the registry) and the
practice (``B12_PRACTICE_NAME`` / ``B12_PRACTICE_PHONE``), lists the dates on clinic days
(``B12_CLINIC_DAYS``) and carries no references; the clinician's copy is the full plan with
numbered references and the content version.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from fastapi import Request, Response

from b12.adapters.exports.patient_pdf import PatientDetails, Practice, patient_copy_pdf
from b12.adapters.exports.pdf import plan_to_pdf
from b12.core.patient_view import PatientPlan, patient_view
from b12.core.plan_models import Plan
from b12.core.printout import patient_printout
from b12.entrypoints.web.auth import services
from b12.entrypoints.web.errors import HttpProblem

COPIES = {
    "patient": "b12-patient-printout.pdf",
    "clinician": "b12-clinician-copy.pdf",
}
INJECTED_ROUTES = ("im", "deep_sc", "sc", "iv")


def printout_pdf(
    request: Request,
    plan: Plan,
    copy: str,
    patient: PatientDetails,
    resume: Callable[[PatientPlan], PatientPlan] | None = None,
) -> Response:
    """The PDF download of one copy (``patient`` or ``clinician``) of ``plan``.

    ``resume`` turns the patient's dates into those of a course under way (the registry).
    """
    svc = services(request)
    kb = svc.kb()
    view = patient_view(plan, kb)
    if copy == "patient":
        if resume is not None:
            view = resume(view)
        config = svc.config
        dates = patient_printout(
            view,
            kb,
            open_days=config.clinic_days,
            injections=plan.regimen is not None and plan.regimen.route in INJECTED_ROUTES,
            resumed=resume is not None,
        )
        practice = Practice(config.practice_name, config.practice_phone)
        body = patient_copy_pdf(view, dates, patient=patient, practice=practice)
    else:
        body = plan_to_pdf(plan, view, label=patient.name)
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{COPIES[copy]}"'},
    )


def parse_birth_date(raw: str, today: date) -> date | None:
    """``YYYY-MM-DD`` or ``dd/mm/yyyy``; ``None`` when empty; HTTP 422 when not a past date."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        if "/" in raw:
            day, month, year = (int(p) for p in raw.split("/"))
            born = date(year, month, day)
        else:
            born = date.fromisoformat(raw)
    except ValueError:
        born = None
    if born is None or not date(1900, 1, 1) <= born <= today:
        raise HttpProblem(
            422, "invalid_input", "Enter the date of birth as dd/mm/yyyy, a date in the past"
        )
    return born
