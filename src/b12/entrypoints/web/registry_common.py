"""What the registry pages and the registry API share: reading their input, the recall CSV.

Forms send text and JSON bodies send typed values; both are read here into the registry's own
inputs, and every problem names the field as the page or the body names it.  Free text is
checked for length and control characters before it reaches the database (PostgreSQL rejects
NUL characters and over-long values with a database error, which is not the user's fault).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, get_args

from starlette.background import BackgroundTask
from starlette.responses import StreamingResponse

from b12.adapters.sql.recall_export import RecallExport
from b12.adapters.sql.registry import (
    MAX_BATCH,
    MAX_DRUG,
    MAX_KEY,
    MAX_NAME,
    MAX_REASON,
    PATIENT_ID,
    RECALL_STATUSES,
    DoseInput,
    RecallRow,
    recall_csv,
    recall_csv_chunks,
)
from b12.core.course import expected_doses
from b12.core.course_input import parse_dose_text
from b12.core.course_models import FollowUpResult, OrderCheckResult
from b12.core.dates import parse_iso_date
from b12.core.errors import FieldProblem, InputError, quoted
from b12.core.knowledge import AlertAction, KnowledgeBase, Phase, Route, Site, Span
from b12.core.plan_models import AlertOut

ROUTES: tuple[str, ...] = get_args(Route)
SITES: tuple[str, ...] = get_args(Site)
DOSE_FIELDS = ("date", "drug", "dose", "route", "site", "batch", "override_reason", "key")


def text_value(
    value: Any,
    field: str,
    problems: list[FieldProblem],
    *,
    max_length: int,
    required: bool = False,
) -> str | None:
    """A printable, stripped string of at most ``max_length`` characters; '' and None → None."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            problems.append(FieldProblem(field, "required"))
        return None
    if not isinstance(value, str):
        problems.append(FieldProblem(field, "expected text"))
        return None
    text = value.strip()
    if len(text) > max_length:
        problems.append(FieldProblem(field, f"at most {max_length} characters"))
        return None
    if not text.isprintable():
        problems.append(FieldProblem(field, "control characters are not allowed"))
        return None
    return text


def day_value(
    value: Any,
    field: str,
    problems: list[FieldProblem],
    *,
    today: date,
    required: bool = True,
) -> date | None:
    """An ISO date (YYYY-MM-DD) that is not after ``today``."""
    if value is None or value == "":
        if required:
            problems.append(FieldProblem(field, "required"))
        return None
    if not isinstance(value, str):
        problems.append(FieldProblem(field, "expected a date as YYYY-MM-DD"))
        return None
    try:
        day = parse_iso_date(value.strip())
    except ValueError as exc:
        problems.append(FieldProblem(field, f"{exc}, got {quoted(value)}"))
        return None
    if day > today:
        problems.append(FieldProblem(field, f"{day} is in the future (today is {today})"))
        return None
    return day


def _choice(
    value: Any, field: str, known: Sequence[str], problems: list[FieldProblem], *, required: bool
) -> str | None:
    if value is None or value == "":
        if required:
            problems.append(FieldProblem(field, "required"))
        return None
    if not isinstance(value, str) or value not in known:
        problems.append(
            FieldProblem(field, f"unknown {field} {quoted(value)}; known: {', '.join(known)}")
        )
        return None
    return value


def _dose_text(value: Any, problems: list[FieldProblem]) -> str | None:
    """``"1mg"``, or ``{"value": 1, "unit": "mg"}`` from a JSON body, as the registry's text."""
    if isinstance(value, Mapping):
        number, unit = value.get("value"), value.get("unit")
        extra = sorted(set(value) - {"value", "unit"})
        if extra or isinstance(number, bool) or not isinstance(number, int | float):
            problems.append(FieldProblem("dose", "expected {'value': number, 'unit': 'mg'|'mcg'}"))
            return None
        if not isinstance(unit, str):
            problems.append(FieldProblem("dose", "expected a unit: mg or mcg"))
            return None
        value = f"{number}{unit}"
    text = text_value(value, "dose", problems, max_length=40, required=True)
    if text is None:
        return None
    try:
        parse_dose_text(text)
    except InputError as err:  # "dose.unit" and the like: the form has one field for it
        problems.extend(FieldProblem("dose", p.message) for p in err.problems)
        return None
    return text


def dose_input(
    data: Mapping[str, Any], *, today: date, given_by: str
) -> tuple[DoseInput | None, list[FieldProblem]]:
    """A dose from a form or a JSON body (``key`` or ``idempotency_key``), and its problems."""
    problems: list[FieldProblem] = []
    day = day_value(data.get("date"), "date", problems, today=today)
    drug = text_value(data.get("drug"), "drug", problems, max_length=MAX_DRUG, required=True)
    dose = _dose_text(data.get("dose"), problems)
    route = _choice(data.get("route"), "route", ROUTES, problems, required=True)
    site = _choice(data.get("site"), "site", SITES, problems, required=False)
    batch = text_value(data.get("batch"), "batch", problems, max_length=MAX_BATCH)
    reason = text_value(
        data.get("override_reason"), "override_reason", problems, max_length=MAX_REASON
    )
    key_field = "idempotency_key" if "idempotency_key" in data else "key"
    key = text_value(data.get(key_field), key_field, problems, max_length=MAX_KEY)
    if problems or day is None or drug is None or dose is None or route is None:
        return None, problems
    given = DoseInput(
        date=day,
        drug=drug,
        dose=dose,
        route=route,
        site=site,
        batch=batch,
        key=key,
        override_reason=reason,
        given_by=given_by,
    )
    return given, problems


def patient_fields(
    data: Mapping[str, Any], *, today: date
) -> tuple[str | None, str | None, date | None, list[FieldProblem]]:
    """Patient id, display name and date of birth, and their problems."""
    problems: list[FieldProblem] = []
    raw_id = data.get("id")
    patient_id: str | None = None
    if raw_id is None or raw_id == "":
        problems.append(FieldProblem("id", "required"))
    elif not isinstance(raw_id, str) or not PATIENT_ID.fullmatch(raw_id):
        problems.append(FieldProblem("id", "expected 1 to 64 letters, digits, '.', '_' or '-'"))
    else:
        patient_id = raw_id
    name = text_value(data.get("name"), "name", problems, max_length=MAX_NAME)
    born = day_value(
        data.get("date_of_birth"), "date_of_birth", problems, today=today, required=False
    )
    return patient_id, name, born, problems


def current_courses(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """``Registry.list_patients`` rows without superseded courses: one row per patient."""
    return [dict(r) for r in rows if r.get("status") != "superseded"]


def order_field(field: str) -> str:
    """A field of the order check's document, named as the dose form names it."""
    if field.startswith(("order.dose", "dose.")):
        return "dose"
    if field in ("order.start", "as_of"):
        return "date"
    return field.removeprefix("order.")


def recall_status(value: str | None) -> str | None:
    """``all`` (or nothing) → no status filter."""
    return None if value in (None, "", "all") else value


def recall_statuses() -> tuple[str, ...]:
    """The status filter's choices."""
    return ("all", *RECALL_STATUSES)


def recall_csv_response(export: RecallExport[RecallRow], filename: str) -> StreamingResponse:
    """A streamed CSV download of an open recall export (closed when the stream ends)."""
    return StreamingResponse(
        recall_csv_chunks(export),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        background=BackgroundTask(export.close),
    )


# -- reminders and overrides ------------------------------------------------------------------


def is_reminder(alert: AlertOut, kb: KnowledgeBase) -> bool:
    """Is this alert of an order check a reminder (information) rather than a reason to pause?

    Information is always a reminder and a stop never is.  A warning is a reminder when every
    rule that raised it also gives it in the patient's plan (its ``contexts`` include
    ``plan``): it is about the patient and travels with every dose of the course (watch the
    potassium after the first doses, warn about skin reactions with a cobalt allergy), not a
    finding about this order.  Warnings raised only for an order (early, late, outside the
    label, an unusual route or site, a product not supported) are findings: the dose waits
    for "Save anyway".
    """
    if alert.severity != "warning":
        return alert.severity == "info"
    if not alert.recs:
        return False
    for rec_id in alert.recs:
        rec = kb.recommendations.get(rec_id)
        action = rec.action if rec is not None else None
        if not isinstance(action, AlertAction) or "plan" not in action.contexts:
            return False
    return True


def needs_confirmation(check: OrderCheckResult, kb: KnowledgeBase) -> bool:
    """Does the dose wait for "Save anyway"? A stop, or a warning that is not a reminder."""
    if check.verdict == "stop":
        return True
    return any(not is_reminder(a, kb) for a in check.alerts if a.severity != "info")


def reminders(check: OrderCheckResult | None, kb: KnowledgeBase) -> list[AlertOut]:
    """The reminders of an order check (warnings first)."""
    if check is None:
        return []
    found = [a for a in check.alerts if a.severity != "stop" and is_reminder(a, kb)]
    return sorted(found, key=lambda a: a.severity != "warning")


# -- the patient record -----------------------------------------------------------------------


def long_day(value: date | str | None) -> str:
    """``2026-12-07`` → ``Mon 7 Dec 2026`` ('' for nothing)."""
    if value is None or value == "":
        return ""
    day = value if isinstance(value, date) else parse_iso_date(str(value))
    return f"{day:%a} {day.day} {day:%b %Y}"


def pathway_titles(kb: KnowledgeBase) -> dict[str, str]:
    """Each pathway id's title, to show people words rather than ids."""
    titles: dict[str, str] = {}
    for pathway_id, rec in kb.pathways.items():
        title = getattr(rec.action, "pathway_title", None)
        if isinstance(title, str):
            titles[pathway_id] = title
    return titles


def dose_numbers(history: Sequence[Mapping[str, Any]]) -> dict[int, int]:
    """Each dose in force numbered 1, 2, 3… in date order for the patient (database ids and
    corrected or voided rows are not counted)."""
    in_force = [d for d in history if not d.get("superseded_by")]
    in_force.sort(key=lambda d: (str(d["date"]), int(d["id"])))
    return {int(d["id"]): n for n, d in enumerate(in_force, start=1)}


def _span(span: Span, unit: str) -> str:
    plural = unit if span.max == 1 else unit + "s"
    if span.min == span.max:
        return f"every {span.max} {plural}" if span.max != 1 else f"every {unit}"
    return f"every {span.min}–{span.max} {plural}"


def phase_frequency(phase: Phase) -> str:
    """How often the phase's doses come, in words ("every 3 months", "3 times a week")."""
    if phase.every_months is not None:
        return _span(phase.every_months, "month")
    if phase.every_days is not None:
        return _span(phase.every_days, "day")
    times = phase.times_per_week or 1
    return "once a week" if times == 1 else f"{times} times a week"


#: How the course's phase was read (``CourseReadingOut.basis``), said on the record.
COURSE_BASIS = {
    "declared": "as declared: a course already under way",
    "recorded": "counted from the first recorded dose",
    "inferred": "inferred from the spacing of the recorded doses",
    "ambiguous": "unclear from the record (see the alerts below)",
}


def schedule_progress(follow: FollowUpResult, kb: KnowledgeBase) -> dict[str, Any] | None:
    """Where the patient is in the schedule: the phase, how often, and for a fixed-length
    phase how many of its doses are given ("loading: 3 of 6 doses given")."""
    if follow.regimen is None or follow.phase is None:
        return None
    regimen = kb.regimens.get(follow.regimen.id)
    phases = [p for p in regimen.phases if p.name == follow.phase] if regimen else []
    if not phases:
        return None
    phase = phases[0]
    total = expected_doses(phase)
    given = follow.doses_in_phase
    kind = phase.kind.capitalize()
    reading = follow.course
    frequency = phase_frequency(phase)
    if reading is not None and reading.every_months and phase.kind == "maintenance":
        months = reading.every_months  # the interval declared or read from the record
        frequency = "every month" if months == 1 else f"every {months} months"
    if total is not None:
        summary = f"{kind}: {min(given, total)} of {total} doses given"
        if given < total:
            summary += f" (next is dose {given + 1} of {total})"
    elif phase.kind == "loading":  # open-ended loading (until no further improvement)
        summary = f"{kind}, {frequency}: {given} dose{'' if given == 1 else 's'} given so far"
    else:
        summary = f"{kind}, {frequency}"
    return {
        "summary": summary,
        "kind": phase.kind,
        "given": given,
        "total": total,
        "frequency": frequency,
        "text": phase.text,
        "basis": COURSE_BASIS.get(reading.basis) if reading is not None else None,
    }


__all__ = [
    "MAX_BATCH",
    "MAX_DRUG",
    "MAX_KEY",
    "MAX_NAME",
    "MAX_REASON",
    "recall_csv",
]
