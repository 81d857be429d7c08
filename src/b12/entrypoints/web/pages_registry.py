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
from collections.abc import Sequence
from datetime import date
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import FormData

from b12.adapters.sql.registry import GUIDELINES, MAX_WITHIN_DAYS, Registry
from b12.core.course_models import FollowUpResult, OrderCheckResult
from b12.core.dates import parse_iso_date
from b12.core.errors import FieldProblem, InputError, Refused
from b12.core.knowledge import KnowledgeBase
from b12.core.requests import plan_request
from b12.entrypoints.web import forms
from b12.entrypoints.web.auth import PagePrincipal, Principal, form_csrf, require, services
from b12.entrypoints.web.pages import _form_page, merge_problems
from b12.entrypoints.web.pages_patient_docs import chart_context
from b12.entrypoints.web.registry_common import (
    DOSE_FIELDS,
    ROUTES,
    SITES,
    current_courses,
    dose_input,
    order_field,
    patient_fields,
    recall_csv_response,
    recall_status,
    recall_statuses,
)
from b12.entrypoints.web.templating import render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 100
MAX_PAGE_SIZE = 500
DEFAULT_WITHIN = 14


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
        "duplicate": bool(request.query_params.get("duplicate")),
        "today": today.isoformat(),
        "may_record": principal.may("record"),
    }
    return render(request, "patient.html", context, status=status)


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
    _, registry = _bound(request)
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
    if check is not None and check.verdict != "ok" and not (asked and confirmed):
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
    shown = {"recorded": outcome.dose_id, **({"duplicate": 1} if outcome.duplicate else {})}
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


# -- recall list ------------------------------------------------------------------------------


def _whole(
    value: str | None, field: str, default: int, low: int, high: int, problems: list[FieldProblem]
) -> int:
    if value is None or not value.strip():
        return default
    try:
        number = int(value)
    except ValueError:
        problems.append(FieldProblem(field, f"expected a whole number, got {value!r}"))
        return default
    if not low <= number <= high:
        problems.append(FieldProblem(field, f"must be {low} to {high}"))
        return default
    return number


def _recall_query(request: Request) -> tuple[dict[str, Any], list[FieldProblem]]:
    """The recall filters from the query string, with defaults, and their problems."""
    params = request.query_params
    problems: list[FieldProblem] = []
    within = _whole(params.get("within"), "within", DEFAULT_WITHIN, 0, MAX_WITHIN_DAYS, problems)
    limit = _whole(params.get("limit"), "limit", PAGE_SIZE, 1, MAX_PAGE_SIZE, problems)
    offset = _whole(params.get("offset"), "offset", 0, 0, 10**9, problems)
    status = params.get("status") or "all"
    if status not in recall_statuses():
        problems.append(FieldProblem("status", f"unknown status {status!r}"))
        status = "all"
    guideline = params.get("guideline") or ""
    if guideline and guideline not in GUIDELINES:
        problems.append(FieldProblem("guideline", f"unknown guideline {guideline!r}"))
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


@router.get("/recall", response_class=HTMLResponse)
def recall_page(request: Request, principal: PagePrincipal) -> Response:
    """Who is due or overdue, most urgent first, with filters and paging."""
    require(principal, "registry")
    svc = services(request)
    today = svc.today()
    query, problems = _recall_query(request)
    filters = {
        "status": recall_status(query["status"]),
        "guideline": query["guideline"] or None,
    }
    total = svc.registry.recall_count(today, query["within"], **filters)
    rows = svc.registry.recall(
        today, query["within"], limit=query["limit"], offset=query["offset"], **filters
    )
    svc.registry.record_view(
        "recall",
        "list",
        actor=principal.user.username,
        now=svc.now(),
        detail={"page": "recall", **query, "rows": len(rows)},
    )
    limit, offset = query["limit"], query["offset"]
    csv_query = {k: query[k] for k in ("within", "status", "guideline") if query[k] != ""}
    context = {
        "rows": rows,
        "total": total,
        "query": query,
        "today": today.isoformat(),
        "statuses": recall_statuses(),
        "guidelines": GUIDELINES,
        "errors": forms.errors_by_field(problems),
        "problems": problems,
        "first": offset + 1 if rows else 0,
        "last": offset + len(rows),
        "previous": _recall_link(query, offset=max(0, offset - limit)) if offset else None,
        "next": _recall_link(query, offset=offset + limit) if offset + limit < total else None,
        "csv": "/recall.csv?" + urlencode(csv_query),
    }
    return render(request, "recall.html", context, status=422 if problems else 200)


@router.get("/recall.csv")
def recall_csv_download(request: Request, principal: PagePrincipal) -> Response:
    """The whole recall list with the page's filters, as a CSV download."""
    require(principal, "registry")
    svc = services(request)
    today = svc.today()
    query, problems = _recall_query(request)
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
