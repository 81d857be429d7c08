"""``patient_copy_pdf`` — the printout the patient takes home (A4, fpdf2, Helvetica).

What the patient needs and nothing else: their name, date of birth and NHS number (when
known), the practice's name and telephone, every date on a clinic day with its weekday and a
box to tick when the dose is given, what to do if an injection is missed and when to call.
No reference numbers, content version or source names: those stay on the clinician's copy
(:func:`b12.adapters.exports.pdf.plan_to_pdf`).  Every sentence is knowledge-base content (the
patient view and ``vocabulary.patient_printout``); this module only lays it out.
Deterministic: the same inputs give the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from b12.adapters.exports.pdf import (
    FONT,
    TEXT_RGB,
    _banner,
    _bullet,
    _heading,
    _para,
    _PlanPDF,
    _Table,
)
from b12.adapters.exports.text import dose_text, human_date, latin1
from b12.core.patient_view import PatientPlan
from b12.core.printout import PatientPrintoutDates, PrintedDose

PATIENT_COLUMNS = (("Date", 34), ("What", 22), ("Dose", 16), ("Notes", 90), ("Given", 18))
TICK_COLUMN = 4


@dataclass(frozen=True, slots=True)
class PatientDetails:
    """Who the printout is for (any of them may be unknown)."""

    name: str | None = None
    date_of_birth: date | None = None
    nhs_number: str | None = None


@dataclass(frozen=True, slots=True)
class Practice:
    """The practice that gives the injections (from the settings)."""

    name: str | None = None
    phone: str | None = None


def _who(pdf: FPDF, patient: PatientDetails, practice: Practice) -> None:
    lines = [
        ("Name", patient.name),
        ("Date of birth", human_date(patient.date_of_birth) if patient.date_of_birth else None),
        ("NHS number", patient.nhs_number),
        ("Your practice", practice.name),
        ("Practice telephone", practice.phone),
    ]
    for label, value in lines:
        if value:
            _para(pdf, f"{label}: {value}", style="B" if label == "Name" else "")


def _notes(entry: PrintedDose, previous_phase: str | None, moved_text: str) -> str:
    parts = [f"{moved_text} ({human_date(entry.planned)})"] if entry.moved else []
    if entry.repeats:
        parts.append(entry.repeats)
    if entry.kind != "dose" or entry.phase != previous_phase:
        parts.append(entry.what)
    return "; ".join(parts)


def _dates(pdf: FPDF, view: PatientPlan, dates: PatientPrintoutDates) -> None:
    if not dates.entries:
        return
    _heading(pdf, "Your dates")
    if dates.first_dose_text:
        _para(pdf, dates.first_dose_text, style="B")
        _para(pdf, dates.clinic_days_text)
    pdf.ln(1)
    columns = tuple(
        (dates.given_label if name == "Given" else name, width) for name, width in PATIENT_COLUMNS
    )
    table = _Table(pdf, columns, tick=TICK_COLUMN)
    table.row(tuple(name for name, _ in columns), heading=True)
    phase: str | None = None
    for entry in dates.entries:
        table.row(
            (
                latin1(human_date(entry.date)),
                latin1(entry.label),
                latin1(dose_text(entry.dose)),
                latin1(_notes(entry, phase, dates.moved_text)),
                "",
            )
        )
        if entry.kind == "dose":
            phase = entry.phase
    if view.schedule_note:
        pdf.ln(2)
        _para(pdf, view.schedule_note, style="I")


def _treatment(pdf: FPDF, view: PatientPlan) -> None:
    _heading(pdf, "Your treatment")
    _para(pdf, view.headline.text, style="B")
    for reason in view.reasons:
        _para(pdf, reason.text)
    if view.medicine:
        _para(pdf, f"Medicine: {view.medicine}")
    for phase in view.phases:
        _bullet(pdf, f"{phase.text} ({dose_text(phase.dose)})")


def _sections(pdf: FPDF, view: PatientPlan, dates: PatientPrintoutDates) -> None:
    if view.alerts:
        _heading(pdf, "Important")
        for alert in view.alerts:
            _bullet(pdf, alert.text, style="B" if alert.severity in ("stop", "warning") else "")
    if dates.missed:
        _heading(pdf, dates.missed_heading)
        for item in dates.missed:
            _bullet(pdf, item.text)
    _heading(pdf, dates.call_us_heading)
    for item in dates.call_us:
        _bullet(pdf, item.text)


def patient_copy_pdf(
    view: PatientPlan,
    dates: PatientPrintoutDates,
    *,
    patient: PatientDetails,
    practice: Practice,
) -> bytes:
    """The patient's printout as PDF bytes (no references, hashes or source names)."""
    footer = " - ".join(p for p in (dates.title, practice.name, practice.phone) if p)
    pdf = _PlanPDF(footer)
    pdf.set_creation_date(datetime.combine(view.as_of, time(0, 0), tzinfo=UTC))
    pdf.set_title(dates.title)
    pdf.set_creator("b12")
    pdf.set_lang("en")
    pdf.add_page()
    pdf.set_text_color(*TEXT_RGB)
    pdf.set_font(FONT, style="B", size=18)
    pdf.multi_cell(0, 9, latin1(dates.title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    _who(pdf, patient, practice)
    if view.review_banner:
        _banner(pdf, view.review_banner)
    _treatment(pdf, view)
    _dates(pdf, view, dates)
    _sections(pdf, view, dates)
    pdf.ln(2)
    _para(pdf, view.disclaimer, style="I")
    return bytes(pdf.output())
