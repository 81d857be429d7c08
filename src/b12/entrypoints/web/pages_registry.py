"""Registry pages: patient list, enrolment, patient page (record a dose or an event), recall list.

A dose is order-checked before it is saved: an early, late or otherwise questionable dose
shows the check's alerts and waits for "Save anyway" (a stop also needs a reason).  "Save
anyway" submits the dose form itself, so what is saved is what is on screen; the form carries
a fingerprint of the values that were checked, and when they differ (the user changed the date
after the check) the values on screen are checked again instead of being saved.  The dose
form carries a random idempotency key made when the form is drawn, so a double submit records
one dose.  Every page showing patient data writes a ``view`` row to the audit log.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import FormData

from b12.adapters.sql.registry import GUIDELINES, MAX_WITHIN_DAYS, RecallRow, Registry
from b12.core.course_models import FollowUpResult, OrderCheckResult
from b12.core.dates import parse_iso_date
from b12.core.errors import FieldProblem, InputError, Refused
from b12.core.knowledge import KnowledgeBase
from b12.core.register_import import OUTREACH_STATUSES
from b12.core.requests import plan_request
from b12.entrypoints.web import forms
from b12.entrypoints.web.api_register import store as register_store
from b12.entrypoints.web.auth import PagePrincipal, Principal, form_csrf, require, services
from b12.entrypoints.web.errors import HttpProblem
from b12.entrypoints.web.pages import _form_page, merge_problems
from b12.entrypoints.web.pages_patient_docs import chart_context
from b12.entrypoints.web.registry_common import (
    DOSE_FIELDS,
    ROUTES,
    SITES,
    current_courses,
    dose_input,
    dose_numbers,
    long_day,
    needs_confirmation,
    order_field,
    pathway_titles,
    patient_fields,
    recall_csv_response,
    recall_status,
    recall_statuses,
    reminders,
    schedule_progress,
)
from b12.entrypoints.web.templating import render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 100
MAX_PAGE_SIZE = 500
DEFAULT_WITHIN = 14
#: The order check's verdict on a recorded dose, in the history's words.
VERDICT_WORDS = {
    "ok": "clear",
    "warn": "warning",
    "stop": "stop, overridden",
    "imported": "brought in",
}


def _str(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _patient_url(patient_id: str) -> str:
    return f"/patients/{quote(patient_id, safe='')}"


def _bound(request: Request) -> tuple[KnowledgeBase, Registry]:
    """The effective knowledge base and the registry judging with it."""
    svc = services(request)
    kb = svc.kb()
    return kb, svc.registry_for(kb)


# -- patient list -----------------------------------------------------------------------------


@router.get("/patients", response_class=HTMLResponse)
def patients_page(request: Request, principal: PagePrincipal) -> Response:
    """Every enrolled patient with their pathway, status and next due date."""
    require(principal, "registry")
    svc = services(request)
    rows = current_courses(svc.registry.list_patients())
    titles = pathway_titles(svc.kb())
    for row in rows:
        row["pathway_title"] = titles.get(row["pathway"], row["pathway"])
        row["next_due_day"] = long_day(row.get("next_due"))
    svc.registry.record_view(
        "patients",
        "list",
        actor=principal.user.username,
        now=svc.now(),
        detail={"page": "patients", "rows": len(rows)},
    )
    return render(request, "patients.html", {"rows": rows})


# -- enrolment --------------------------------------------------------------------------------


def _enrol_page(
    request: Request,
    kb: KnowledgeBase,
    values: dict[str, Any],
    problems: Sequence[FieldProblem] = (),
) -> Response:
    return _form_page(request, "patient_new.html", kb, values=values, problems=list(problems))


@router.get("/patients/new", response_class=HTMLResponse)
def enrol_form(request: Request, principal: PagePrincipal) -> Response:
    """The enrolment form: who the patient is, and their clinical picture."""
    require(principal, "enrol")
    svc = services(request)
    return _enrol_page(request, svc.kb(), {"as_of": svc.today().isoformat()})


@router.post("/patients/new", response_class=HTMLResponse)
async def enrol_submit(request: Request, principal: PagePrincipal) -> Response:
    """Enrol the patient (nothing is saved unless every field is right), then show them."""
    require(principal, "enrol")
    await form_csrf(request, principal)
    svc = services(request)
    kb, registry = _bound(request)
    form = await request.form()
    today = svc.today()
    picture, reading = forms.picture_from_form(form, today, kb)
    who = {name: _str(form, name).strip() for name in ("id", "name", "date_of_birth")}
    patient_id, name, born, own = patient_fields(who, today=today)
    course, course_problems = forms.course_from_form(form, today)
    values = {**forms.form_from_picture(picture), **forms.raw_values(form), **who}
    problems = own + reading + course_problems
    if problems or patient_id is None:
        try:  # report the picture's problems too, all at once
            plan_request(picture, kb, default_as_of=today)
        except InputError as err:
            problems = merge_problems(problems, err.problems)
        return _enrol_page(request, kb, values, problems)
    try:
        registry.add_patient(
            patient_id,
            picture,
            name=name,
            actor=principal.user.username,
            now=svc.now(),
            date_of_birth=born,
            course=course,
        )
    except InputError as err:
        return _enrol_page(request, kb, values, err.problems)
    return RedirectResponse(_patient_url(patient_id), status_code=303)


# -- patient page -----------------------------------------------------------------------------


def _default_dose(kb: KnowledgeBase, follow: FollowUpResult, today: date) -> dict[str, str]:
    """The dose form pre-filled from the course's regimen and current phase."""
    values = {"date": today.isoformat(), "route": "im", "drug": "", "dose": ""}
    if follow.regimen is None:
        return values
    values.update(drug=follow.regimen.drug, route=follow.regimen.route)
    regimen = kb.regimens.get(follow.regimen.id)
    phases = [p for p in regimen.phases if p.name == follow.phase] if regimen else []
    if phases:
        dose = phases[0].dose
        values["dose"] = f"{dose.value:g}{dose.unit}"
    return values


def _patient_page(
    request: Request,
    principal: Principal,
    patient_id: str,
    *,
    dose_values: dict[str, str] | None = None,
    event_values: dict[str, str] | None = None,
    problems: Sequence[FieldProblem] = (),
    check: OrderCheckResult | None = None,
    step: str = "view",
    status: int = 200,
    changed: bool = False,
) -> Response:
    svc = services(request)
    kb, registry = _bound(request)
    today = svc.today()
    record = registry.show_patient(patient_id)
    history = registry.dose_history(patient_id)
    follow = registry.follow_up(patient_id, today)
    registry.record_view(
        "patient",
        patient_id,
        actor=principal.user.username,
        now=svc.now(),
        detail={"page": "patient", "step": step} if step != "view" else {"page": "patient"},
    )
    dose = dose_values or _default_dose(kb, follow, today)
    dose.setdefault("key", "")
    if not dose["key"]:
        dose["key"] = secrets.token_urlsafe(16)
    recorded = request.query_params.get("recorded", "")
    numbers = dose_numbers(history)
    amendments = registry.dose_amendments(patient_id)
    reminded = [
        kb.vocabulary.alert_codes[code].title
        for code in request.query_params.get("reminded", "").split(",")
        if code in kb.vocabulary.alert_codes
    ]
    upcoming = None
    if check is None and principal.may("record"):
        upcoming = _upcoming_check(registry, patient_id, dose, today)
    context = {
        **chart_context(kb, registry, record, patient_id, today),
        "record": record,
        "patient": record["patient"],
        "course": record["course"],
        "history": history,
        "events": record["events"],
        "result": follow,
        "kb": kb,
        "dose": dose,
        "event": event_values or {"event.date": today.isoformat()},
        "errors": forms.errors_by_field(problems),
        "problems": list(problems),
        "check": check,
        "confirming": check is not None,
        "checked": checked_fingerprint(dose, check) if check is not None else "",
        "changed": changed,
        "products": forms.picture_choices(kb)["products"],
        "event_kinds": forms.choices(kb.vocabulary.events),
        "event_labels": {k: t.label for k, t in kb.vocabulary.events.items()},
        "routes": ROUTES,
        "sites": SITES,
        "recorded": recorded if recorded.isdigit() else None,
        "recorded_number": numbers.get(int(recorded)) if recorded.isdigit() else None,
        "reminded": reminded,
        "numbers": numbers,
        "amendments": amendments,
        "corrections": {a["replacement"] for a in amendments.values() if a["replacement"]},
        "verdict_words": VERDICT_WORDS,
        "progress": schedule_progress(follow, kb),
        "upcoming_reminders": reminders(upcoming, kb),
        "check_reminders": reminders(check, kb),
        "needs_override": check is not None and needs_confirmation(check, kb),
        "duplicate": bool(request.query_params.get("duplicate")),
        "today": today.isoformat(),
        "may_record": principal.may("record"),
        "may_edit": principal.may("enrol"),
        "entry": registry.register_entry(patient_id),
        "product_labels": {k: t.label for k, t in kb.vocabulary.products.items()},
        "amended": _amended_banner(request, numbers),
        "day": long_day,
    }
    return render(request, "patient.html", context, status=status)


def _amended_banner(request: Request, numbers: dict[int, int]) -> str | None:
    """What the last correction, void or details change did, for the banner."""
    params = request.query_params
    if params.get("details") == "1":
        return "Clinical details saved as a new version; the course was worked out again."
    corrected, voided = params.get("corrected", ""), params.get("voided", "")
    if corrected.isdigit():
        return "Dose corrected: the entry as first recorded stays in the history, struck through."
    if voided.isdigit():
        return "Dose voided: it stays in the history, struck through, and no longer counts."
    return None


def _upcoming_check(
    registry: Registry, patient_id: str, dose: dict[str, str], today: date
) -> OrderCheckResult | None:
    """The order check of the dose the form is pre-filled with, for its reminders (the
    nurse sees "watch the potassium" before giving the dose, not after); None when the
    pre-filled dose is incomplete."""
    given, problems = dose_input(
        {k: v for k, v in dose.items() if k != "key"}, today=today, given_by="preview"
    )
    if given is None or problems:
        return None
    try:
        return registry.preview_dose(patient_id, given, today)
    except InputError:
        return None


@router.get("/patients/{patient_id}", response_class=HTMLResponse)
def patient_page(request: Request, patient_id: str, principal: PagePrincipal) -> Response:
    """The course, what is due next, the dose history and events, and the record forms."""
    require(principal, "registry")
    return _patient_page(request, principal, patient_id)


#: The dose fields the order check judges (the fingerprint of a check covers exactly these).
CHECKED_FIELDS = ("date", "drug", "dose", "route", "site", "batch")


def checked_fingerprint(values: dict[str, str], check: OrderCheckResult) -> str:
    """A short fingerprint of the dose values an order check judged and what it said (not a
    secret).

    "Save anyway" saves only when the values submitted, checked again now, give the fingerprint
    the user saw: a value changed on screen since, or a check that now says something else
    (another dose was recorded meanwhile), is shown again instead of being saved.
    """
    said = [check.verdict, sorted(a.code for a in check.alerts)]
    canonical = json.dumps([[values.get(name, "") for name in CHECKED_FIELDS], said])
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def _dose_problems(err: InputError) -> list[FieldProblem]:
    return [FieldProblem(order_field(p.field), p.message) for p in err.problems]


@router.post("/patients/{patient_id}/doses", response_class=HTMLResponse)
async def record_dose(request: Request, patient_id: str, principal: PagePrincipal) -> Response:
    """Check the dose; save it if the check is clear or the user confirmed, else show why."""
    require(principal, "record")
    await form_csrf(request, principal)
    svc = services(request)
    kb, registry = _bound(request)
    form = await request.form()
    values = {name: _str(form, name).strip() for name in DOSE_FIELDS}
    asked = _str(form, "confirm") == "1"
    given, problems = dose_input(values, today=svc.today(), given_by=principal.user.username)
    if given is None:
        return _patient_page(
            request, principal, patient_id, dose_values=values, problems=problems, status=422
        )
    try:
        check = registry.preview_dose(patient_id, given, svc.today())
    except InputError as err:
        return _patient_page(
            request,
            principal,
            patient_id,
            dose_values=values,
            problems=_dose_problems(err),
            status=422,
        )
    confirmed = check is not None and _str(form, "checked") == checked_fingerprint(values, check)
    if check is not None and needs_confirmation(check, kb) and not (asked and confirmed):
        return _patient_page(
            request,
            principal,
            patient_id,
            dose_values=values,
            check=check,
            step="dose_check",
            changed=asked,
        )
    try:
        outcome = registry.record_dose(
            patient_id, given, actor=principal.user.username, now=svc.now()
        )
    except Refused as err:
        stop = err.detail if isinstance(err.detail, OrderCheckResult) else check
        reason = FieldProblem(
            "override_reason", "the order check says stop: give a reason to record this dose"
        )
        return _patient_page(
            request,
            principal,
            patient_id,
            dose_values=values,
            check=stop,
            problems=[reason],
            step="dose_check",
            status=422,
        )
    except InputError as err:
        return _patient_page(
            request,
            principal,
            patient_id,
            dose_values=values,
            problems=_dose_problems(err),
            status=422,
        )
    shown: dict[str, Any] = {"recorded": outcome.dose_id}
    if outcome.duplicate:
        shown["duplicate"] = 1
    elif said := reminders(outcome.check, kb):
        shown["reminded"] = ",".join(dict.fromkeys(a.code for a in said))
    target = f"{_patient_url(patient_id)}?{urlencode(shown)}#next"
    return RedirectResponse(target, status_code=303)


@router.post("/patients/{patient_id}/events", response_class=HTMLResponse)
async def record_event(request: Request, patient_id: str, principal: PagePrincipal) -> Response:
    """Record a clinical event; the next due date is worked out again."""
    require(principal, "record")
    await form_csrf(request, principal)
    svc = services(request)
    _, registry = _bound(request)
    form = await request.form()
    values = {name: _str(form, name).strip() for name in ("event.date", "event.kind")}
    problems: list[FieldProblem] = []
    day: date | None = None
    try:
        day = parse_iso_date(values["event.date"])
    except ValueError:
        problems.append(FieldProblem("event.date", "expected a date as YYYY-MM-DD"))
    if not values["event.kind"]:
        problems.append(FieldProblem("event.kind", "required"))
    if not problems and day is not None:
        try:
            registry.record_event(
                patient_id,
                day,
                values["event.kind"],
                actor=principal.user.username,
                now=svc.now(),
            )
        except InputError as err:
            problems = [FieldProblem(f"event.{p.field}", p.message) for p in err.problems]
        else:
            return RedirectResponse(f"{_patient_url(patient_id)}#events", status_code=303)
    return _patient_page(
        request, principal, patient_id, event_values=values, problems=problems, status=422
    )


# -- correcting and voiding a dose, editing the clinical details --------------------------------

#: The correction form's fields (the dose fields, and why).
FIX_FIELDS = ("date", "drug", "dose", "route", "site", "batch")
REASON_REQUIRED = "Give the reason for this change (it is kept with the record)"


def _dose_row(history: Sequence[dict[str, Any]], dose_id: int) -> dict[str, Any] | None:
    return next((d for d in history if int(d["id"]) == dose_id), None)


def _dose_values(row: dict[str, Any]) -> dict[str, str]:
    """A recorded dose as the correction form shows it."""
    return {
        "date": str(row["date"]),
        "drug": row["drug"],
        "dose": f"{row['dose_value']:g}{row['dose_unit']}",
        "route": row["route"],
        "site": row["site"] or "",
        "batch": row["batch"] or "",
    }


def _amend_page(
    request: Request,
    principal: Principal,
    patient_id: str,
    dose_id: int,
    *,
    fix: dict[str, str] | None = None,
    void: dict[str, str] | None = None,
    problems: Sequence[FieldProblem] = (),
    status: int = 200,
) -> Response:
    """The page to correct or void one recorded dose."""
    svc = services(request)
    kb, registry = _bound(request)
    record = registry.show_patient(patient_id)
    history = registry.dose_history(patient_id)
    row = _dose_row(history, dose_id)
    if row is None or row.get("superseded_by"):
        raise HttpProblem(404, "not_found", f"no dose {dose_id} in force for this patient")
    registry.record_view(
        "patient",
        patient_id,
        actor=principal.user.username,
        now=svc.now(),
        detail={"page": "dose_amend", "dose": dose_id},
    )
    context = {
        "patient": record["patient"],
        "row": row,
        "number": dose_numbers(history).get(dose_id),
        "fix": fix or {**_dose_values(row), "fix.reason": ""},
        "void": void or {"void.reason": ""},
        "errors": forms.errors_by_field(problems),
        "problems": list(problems),
        "products": forms.picture_choices(kb)["products"],
        "product_labels": {k: t.label for k, t in kb.vocabulary.products.items()},
        "routes": ROUTES,
        "sites": SITES,
        "today": svc.today().isoformat(),
    }
    return render(request, "dose_amend.html", context, status=status)


@router.get("/patients/{patient_id}/doses/{dose_id}", response_class=HTMLResponse)
def amend_dose_page(
    request: Request, patient_id: str, dose_id: int, principal: PagePrincipal
) -> Response:
    """Correct a recorded dose (a new row replaces it) or void it (entered in error)."""
    require(principal, "record")
    return _amend_page(request, principal, patient_id, dose_id)


def _amended_url(patient_id: str, what: str, dose_id: int) -> str:
    return f"{_patient_url(patient_id)}?{urlencode({what: dose_id})}#doses"


@router.post("/patients/{patient_id}/doses/{dose_id}/correct", response_class=HTMLResponse)
async def correct_dose(
    request: Request, patient_id: str, dose_id: int, principal: PagePrincipal
) -> Response:
    """Save the corrected dose as a new row that supersedes the old one (reason required)."""
    require(principal, "record")
    await form_csrf(request, principal)
    svc = services(request)
    _, registry = _bound(request)
    form = await request.form()
    values = {name: _str(form, name).strip() for name in FIX_FIELDS}
    reason = _str(form, "fix.reason").strip()
    shown = {**values, "fix.reason": reason}
    old = _dose_row(registry.dose_history(patient_id), dose_id)
    given_by = (old or {}).get("given_by") or principal.user.username
    given, problems = dose_input(values, today=svc.today(), given_by=given_by)
    if not reason:
        problems.append(FieldProblem("fix.reason", REASON_REQUIRED))
    if given is None or problems:
        return _amend_page(
            request, principal, patient_id, dose_id, fix=shown, problems=problems, status=422
        )
    try:
        registry.correct_dose(
            patient_id,
            dose_id,
            given,
            reason=reason,
            actor=principal.user.username,
            now=svc.now(),
        )
    except InputError as err:
        fixed = [
            FieldProblem("fix.reason" if p.field == "reason" else order_field(p.field), p.message)
            for p in err.problems
        ]
        return _amend_page(
            request, principal, patient_id, dose_id, fix=shown, problems=fixed, status=422
        )
    return RedirectResponse(_amended_url(patient_id, "corrected", dose_id), status_code=303)


@router.post("/patients/{patient_id}/doses/{dose_id}/void", response_class=HTMLResponse)
async def void_dose(
    request: Request, patient_id: str, dose_id: int, principal: PagePrincipal
) -> Response:
    """Void a dose entered in error (reason required); it stays on record, struck through."""
    require(principal, "record")
    await form_csrf(request, principal)
    svc = services(request)
    _, registry = _bound(request)
    form = await request.form()
    reason = _str(form, "void.reason").strip()
    problems: list[FieldProblem] = []
    if not reason:
        problems.append(FieldProblem("void.reason", REASON_REQUIRED))
    else:
        try:
            registry.void_dose(
                patient_id, dose_id, reason=reason, actor=principal.user.username, now=svc.now()
            )
        except InputError as err:
            problems = [FieldProblem("void.reason", p.message) for p in err.problems]
    if problems:
        return _amend_page(
            request,
            principal,
            patient_id,
            dose_id,
            void={"void.reason": reason},
            problems=problems,
            status=422,
        )
    return RedirectResponse(_amended_url(patient_id, "voided", dose_id), status_code=303)


def _details_page(
    request: Request,
    patient_id: str,
    values: dict[str, Any],
    problems: Sequence[FieldProblem] = (),
) -> Response:
    svc = services(request)
    kb = svc.kb()
    record = svc.registry_for(kb).show_patient(patient_id)
    extra = {"patient": record["patient"], "course": record["course"]}
    return _form_page(
        request, "patient_details.html", kb, values=values, problems=list(problems), extra=extra
    )


@router.get("/patients/{patient_id}/details", response_class=HTMLResponse)
def details_form(request: Request, patient_id: str, principal: PagePrincipal) -> Response:
    """The patient's clinical details (the picture) as a form, to change them."""
    require(principal, "enrol")
    svc = services(request)
    _, registry = _bound(request)
    record = registry.show_patient(patient_id)
    registry.record_view(
        "patient",
        patient_id,
        actor=principal.user.username,
        now=svc.now(),
        detail={"page": "details"},
    )
    values = {**forms.form_from_picture(record["picture"]), "as_of": svc.today().isoformat()}
    return _details_page(request, patient_id, values)


@router.post("/patients/{patient_id}/details", response_class=HTMLResponse)
async def details_submit(request: Request, patient_id: str, principal: PagePrincipal) -> Response:
    """Save changed details as a new version (the old one stays, superseded); reason required."""
    require(principal, "enrol")
    await form_csrf(request, principal)
    svc = services(request)
    kb, registry = _bound(request)
    form = await request.form()
    picture, problems = forms.picture_from_form(form)
    reason = _str(form, "change_reason").strip()
    values = {**forms.raw_values(form), "change_reason": reason}
    if not reason:
        problems.append(FieldProblem("change_reason", REASON_REQUIRED))
    try:
        plan_request(picture, kb, default_as_of=svc.today())
    except InputError as err:
        problems = merge_problems(problems, err.problems)
    if problems:
        return _details_page(request, patient_id, values, problems)
    try:
        registry.update_picture(
            patient_id, picture, actor=principal.user.username, now=svc.now(), reason=reason
        )
    except InputError as err:
        return _details_page(request, patient_id, values, err.problems)
    return RedirectResponse(f"{_patient_url(patient_id)}?details=1#course", status_code=303)


# -- recall list ------------------------------------------------------------------------------


#: Filter messages in the words of the form (the value typed stays in the form).
WITHIN_RULE = f"Enter a whole number of days from 0 to {MAX_WITHIN_DAYS}"


def _whole(
    value: str | None,
    field: str,
    default: int,
    low: int,
    high: int,
    problems: list[FieldProblem],
    rule: str | None = None,
) -> int:
    if value is None or not value.strip():
        return default
    try:
        number = int(value)
    except ValueError:
        problems.append(FieldProblem(field, rule or f"expected a whole number, got {value!r}"))
        return default
    if not low <= number <= high:
        problems.append(FieldProblem(field, rule or f"must be {low} to {high}"))
        return default
    return number


def _recall_query(params: Mapping[str, str]) -> tuple[dict[str, Any], list[FieldProblem]]:
    """The recall filters from the query string, with defaults, and their problems."""
    problems: list[FieldProblem] = []
    within = _whole(
        params.get("within"), "within", DEFAULT_WITHIN, 0, MAX_WITHIN_DAYS, problems, WITHIN_RULE
    )
    limit = _whole(params.get("limit"), "limit", PAGE_SIZE, 1, MAX_PAGE_SIZE, problems)
    offset = _whole(params.get("offset"), "offset", 0, 0, 10**9, problems)
    status = params.get("status") or "all"
    if status not in recall_statuses():
        known = ", ".join(recall_statuses())
        problems.append(FieldProblem("status", f"Choose a status: {known} (got {status!r})"))
        status = "all"
    guideline = params.get("guideline") or ""
    if guideline and guideline not in GUIDELINES:
        known = ", ".join(g.upper() for g in GUIDELINES)
        problems.append(
            FieldProblem("guideline", f"Choose a guideline set: {known} (got {guideline!r})")
        )
        guideline = ""
    query = {
        "within": within,
        "status": status,
        "guideline": guideline,
        "limit": limit,
        "offset": offset,
    }
    return query, problems


def _recall_link(query: dict[str, Any], **changes: Any) -> str:
    merged = {**query, **changes}
    keep = {k: v for k, v in merged.items() if v not in ("", None)}
    return "/recall?" + urlencode(keep)


def _choices(known: Sequence[str], typed: str) -> list[dict[str, str]]:
    """A select's options, with the value typed (not one of them) kept and marked."""
    options = [{"value": k, "label": k.upper() if k in GUIDELINES else k} for k in known]
    if typed and typed not in known:
        options.insert(0, {"value": typed, "label": f"{typed} (not a choice)"})
    return options


def _due_window(row: RecallRow) -> str:
    """The acceptable window: one date when it is one day."""
    if row.earliest == row.latest:
        return long_day(row.earliest)
    return f"{long_day(row.earliest)} to {long_day(row.latest)}"


def _recall_page(
    request: Request,
    principal: Principal,
    params: Mapping[str, str],
    *,
    problems: Sequence[FieldProblem] = (),
    marked: str | None = None,
) -> Response:
    svc = services(request)
    today = svc.today()
    query, filter_problems = _recall_query(params)
    typed = {name: params.get(name, "") for name in ("within", "status", "guideline")}
    shown = {
        "within": typed["within"] if "within" in params else str(query["within"]),
        "status": typed["status"] or query["status"],
        "guideline": typed["guideline"] or query["guideline"],
    }
    rows: list[RecallRow] = []
    total = 0
    details: dict[str, dict[str, Any]] = {}
    if not filter_problems:  # an invalid filter shows no list: it is explained, not guessed
        filters = {
            "status": recall_status(query["status"]),
            "guideline": query["guideline"] or None,
        }
        total = svc.registry.recall_count(today, query["within"], **filters)
        rows = svc.registry.recall(
            today, query["within"], limit=query["limit"], offset=query["offset"], **filters
        )
        details = svc.registry.recall_details(today, rows)
    svc.registry.record_view(
        "recall",
        "list",
        actor=principal.user.username,
        now=svc.now(),
        detail={"page": "recall", **query, "rows": len(rows)},
    )
    limit, offset = query["limit"], query["offset"]
    csv_query = {k: query[k] for k in ("within", "status", "guideline") if query[k] != ""}
    lines = [
        {
            "row": r,
            **details.get(r.patient_id, {}),
            "window": _due_window(r),
            "due_day": long_day(r.next_due),
        }
        for r in rows
    ]
    all_problems = [*filter_problems, *problems]
    context = {
        "rows": lines,
        "total": total,
        "query": query,
        "shown": shown,
        "today": long_day(today),
        "statuses": _choices(recall_statuses(), shown["status"]),
        "guidelines": _choices(GUIDELINES, shown["guideline"]),
        "outreach_statuses": OUTREACH_STATUSES,
        "errors": forms.errors_by_field(all_problems),
        "problems": all_problems,
        "invalid_filter": bool(filter_problems),
        "first": offset + 1 if rows else 0,
        "last": offset + len(rows),
        "previous": _recall_link(query, offset=max(0, offset - limit)) if offset else None,
        "next": _recall_link(query, offset=offset + limit) if offset + limit < total else None,
        "csv": "/recall.csv?" + urlencode(csv_query),
        "here": _recall_link(query),
        "may_mark": principal.may("record"),
        "marked": marked,
        "day": long_day,
    }
    return render(request, "recall.html", context, status=422 if all_problems else 200)


@router.get("/recall", response_class=HTMLResponse)
def recall_page(request: Request, principal: PagePrincipal) -> Response:
    """Who is due or overdue, most urgent first, with filters, paging and outreach marks."""
    require(principal, "registry")
    marked = request.query_params.get("marked", "")
    return _recall_page(
        request, principal, request.query_params, marked=marked if marked.isdigit() else None
    )


@router.post("/recall/outreach", response_class=HTMLResponse)
async def recall_mark(request: Request, principal: PagePrincipal) -> Response:
    """Mark the ticked recall rows (invited, contacted, booked, declined); each mark audited."""
    require(principal, "record")
    await form_csrf(request, principal)
    form = await request.form()
    chosen = [p for p in form.getlist("patient") if isinstance(p, str) and p]
    status = _str(form, "outreach")
    note = _str(form, "note").strip() or None
    back = _str(form, "back")
    if not back.startswith("/recall?"):
        back = "/recall?"
    problems: list[FieldProblem] = []
    if not chosen:
        problems.append(FieldProblem("patient", "Tick at least one patient to mark"))
    elif unknown := set(chosen) - services(request).registry.known_patients(chosen):
        listed = ", ".join(sorted(unknown)[:5])
        problems.append(FieldProblem("patient", f"Not on the register: {listed}"))
    if status not in OUTREACH_STATUSES:
        problems.append(
            FieldProblem("outreach", f"Choose what happened: {', '.join(OUTREACH_STATUSES)}")
        )
    if not problems:
        outreach = register_store(request)
        svc = services(request)
        try:
            for patient_id in dict.fromkeys(chosen):
                outreach.mark(
                    patient_id, status, note=note, actor=principal.user.username, now=svc.now()
                )
        except InputError as err:
            problems = [FieldProblem("outreach" if p.field == "status" else p.field, p.message)
                        for p in err.problems]  # fmt: skip
    if problems:
        params = dict(parse_qsl(back.removeprefix("/recall?")))
        return _recall_page(request, principal, params, problems=problems)
    separator = "&" if back != "/recall?" else ""
    return RedirectResponse(f"{back}{separator}marked={len(set(chosen))}#recall", status_code=303)


@router.get("/recall.csv")
def recall_csv_download(request: Request, principal: PagePrincipal) -> Response:
    """The whole recall list with the page's filters, as a CSV download."""
    require(principal, "registry")
    svc = services(request)
    today = svc.today()
    query, problems = _recall_query(request.query_params)
    if problems:
        raise InputError(problems)
    export = svc.registry.open_recall_export(
        today,
        query["within"],
        status=recall_status(query["status"]),
        guideline=query["guideline"] or None,
    )
    detail = {"export": "csv", **{k: query[k] for k in ("within", "status", "guideline")}}
    try:  # one audit row per export, written before any row leaves
        svc.registry.record_view(
            "recall",
            "csv",
            actor=principal.user.username,
            now=svc.now(),
            detail={**detail, "rows": export.total},
        )
    except BaseException:
        export.close()
        raise
    return recall_csv_response(export, f"b12-recall-{today.isoformat()}.csv")
