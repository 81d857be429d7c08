"""Server-rendered pages: sign-in, new plan, plan (with downloads), order check, follow-up."""

from __future__ import annotations

import secrets
from datetime import date
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import FormData

from b12.adapters.exports.ics import plan_to_ics
from b12.adapters.exports.patient_pdf import PatientDetails
from b12.adapters.exports.timeline import plan_timeline_svg
from b12.core.errors import FieldProblem, InputError
from b12.core.knowledge import KnowledgeBase
from b12.core.patient_view import patient_view
from b12.core.plan import PlanOptions
from b12.core.plan_models import Plan
from b12.core.requests import follow_up_request, order_check_request, plan_request
from b12.entrypoints.web import form_text, forms
from b12.entrypoints.web.auth import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    PagePrincipal,
    Principal,
    form_csrf,
    require,
    same_secret,
    services,
)
from b12.entrypoints.web.errors import HttpProblem
from b12.entrypoints.web.printout import parse_birth_date, printout_pdf
from b12.entrypoints.web.templating import render

router = APIRouter(include_in_schema=False)

SEVERITY_ORDER = {"stop": 0, "warning": 1, "info": 2}


def _safe_next(target: str | None) -> str:
    """Only a local path may be a redirect target (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


@router.get("/health")
def health() -> dict[str, str]:
    """Liveness for a load balancer (no data, no authentication)."""
    return {"status": "ok"}


@router.get("/", response_class=HTMLResponse)
def home(principal: PagePrincipal) -> Response:
    """Nurses land on the recall list, everyone else on a new plan."""
    target = "/recall" if principal.user.role == "nurse" else "/plan"
    return RedirectResponse(target, status_code=303)


# -- sign in / out ----------------------------------------------------------------------------


def _login_page(request: Request, *, error: str | None, status: int, next_path: str) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(
        request,
        "login.html",
        {"error": error, "login_csrf": token, "next": next_path},
        status=status,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=services(request).config.secure_cookies,
        path="/login",
    )
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> Response:
    """The sign-in page."""
    return _login_page(request, error=None, status=200, next_path=_safe_next(next))


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    """Check the password; on success start a session and go where the user was going."""
    svc = services(request)
    form = await request.form()
    next_path = _safe_next(_str(form, "next"))
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    supplied = _str(form, "login_csrf")
    if not expected or not same_secret(supplied, expected):
        return _login_page(
            request, error="The sign-in form expired; try again.", status=403, next_path=next_path
        )
    client = request.client.host if request.client else "unknown"
    user = svc.accounts.authenticate(
        _str(form, "username"), _str(form, "password"), client=client, now=svc.now()
    )
    if user is None:
        return _login_page(
            request, error="Unknown username or wrong password.", status=401, next_path=next_path
        )
    token, session = svc.accounts.create_session(user, now=svc.now())
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=svc.config.secure_cookies,
        max_age=int((session.expires_at - svc.now()).total_seconds()),
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(request: Request, principal: PagePrincipal) -> Response:
    """End the session (CSRF-checked, so another site cannot sign the user out)."""
    await form_csrf(request, principal)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        services(request).accounts.end_session(token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _str(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


# -- plan -------------------------------------------------------------------------------------


def _picture_form_context(kb: KnowledgeBase, today: date) -> dict[str, Any]:
    return {
        "choices": forms.picture_choices(kb),
        "labs": forms.lab_labels(kb),
        "sexes": forms.SEXES,
        "deficiency_values": forms.DEFICIENCY,
        "diets": forms.DIETS,
        "today": today.isoformat(),
        "labels": forms.field_labels(kb),
        "course_stages": forms.COURSE_STAGES,
        "date_limits": form_text.date_limits(today),
        "main_labs": form_text.MAIN_LABS,
        "number_limits": form_text.number_limits(kb),
        "routes": forms.coded("routes"),
        "sites": forms.coded("sites"),
        "units": forms.coded("units"),
        "event_kinds": forms.choices(kb.vocabulary.events),
    }


#: The fewest rows drawn for each repeating group (one more than the filled ones otherwise):
#: a follow-up is usually a loading course, an order check usually one or two doses back.
MIN_ROWS = {"history": 3, "events": 1}
MIN_ROWS_BY_FORM = {"check_form.html": {"history": 1, "events": 1}}


def _latest(as_of: str, today: date) -> date:
    """The last date a declared course may start from: the form's as_of, else today."""
    return form_text.parse_date(as_of) or today  # a bad as_of reports its own problem


def _form_page(
    request: Request,
    template: str,
    kb: KnowledgeBase,
    *,
    values: dict[str, Any] | None = None,
    problems: list[FieldProblem] | tuple[FieldProblem, ...] = (),
    extra: dict[str, Any] | None = None,
) -> Response:
    """A form page, its problems worded for the clinician (``form_text``), all at once."""
    svc = services(request)
    context = _picture_form_context(kb, svc.today())
    values = values or {}
    shown = form_text.clinical_errors(problems, kb, svc.today(), context["labels"])
    context.update(
        values=values,
        errors=form_text.errors_by_field(shown),
        problems=shown,
        rows={
            group: forms.row_count(
                values, group, minimum=least, requested=_requested(values, group)
            )
            for group, least in MIN_ROWS_BY_FORM.get(template, MIN_ROWS).items()
        },
        **(extra or {}),
    )
    return render(request, template, context, status=422 if problems else 200)


def _requested(values: dict[str, Any], group: str) -> int:
    """The rows the form drew (``rows.<group>``), one more when "Add another" was pressed."""
    text = values.get(f"rows.{group}", "")
    drawn = int(text) if isinstance(text, str) and text.isdigit() and len(text) < 4 else 0
    return drawn + (1 if values.get("add") == group else 0)


def _add_row(request: Request, form: FormData, template: str) -> Response | None:
    """ "Add another dose/event" without JavaScript: the same form, one more row, nothing run."""
    group = _str(form, "add")
    if group not in MIN_ROWS:
        return None
    values = {**forms.raw_values(form), "add": group}
    return _form_page(
        request, template, services(request).kb(), values=values, extra=_course_extra()
    )


@router.get("/plan", response_class=HTMLResponse)
def plan_form(request: Request, principal: PagePrincipal) -> Response:
    """The new-plan form."""
    require(principal, "plan")
    svc = services(request)
    return _form_page(
        request, "plan_form.html", svc.kb(), values={"as_of": svc.today().isoformat()}
    )


def merge_problems(
    reading: list[FieldProblem], core: tuple[FieldProblem, ...]
) -> list[FieldProblem]:
    """The form's own problems first; the core's only for fields not already reported."""
    seen = {p.field for p in reading}
    return [*reading, *(p for p in core if p.field not in seen)]


def _compute_plan(
    request: Request, principal: Principal, doc: dict[str, Any], allow_draft: bool
) -> Plan:
    svc = services(request)
    options = PlanOptions(allow_draft=allow_draft and principal.may("review"))
    _, result = plan_request(doc, svc.kb(), default_as_of=svc.today(), options=options)
    return result


@router.post("/plan", response_class=HTMLResponse)
async def plan_submit(request: Request, principal: PagePrincipal) -> Response:
    """Make the plan from the form (or from the hidden picture, for the audience switch)."""
    require(principal, "plan")
    await form_csrf(request, principal)
    svc = services(request)
    kb = svc.kb()
    form = await request.form()
    allow_draft = bool(_str(form, "allow_draft"))
    if _str(form, "picture"):
        doc = forms.picture_from_json(_str(form, "picture"))
        reading: list[FieldProblem] = []
    else:
        doc, reading = forms.picture_from_form(form, svc.today(), kb)
    values = {**forms.form_from_picture(doc), **forms.raw_values(form)}
    try:
        result = _compute_plan(request, principal, doc, allow_draft)
    except InputError as err:
        problems = merge_problems(reading, err.problems)
        return _form_page(request, "plan_form.html", kb, values=values, problems=problems)
    if reading:
        return _form_page(request, "plan_form.html", kb, values=values, problems=reading)
    audience = "patient" if _str(form, "audience") == "patient" else "clinician"
    return render(
        request,
        "plan.html",
        {
            "plan": result,
            "kb": kb,
            "audience": audience,
            "view": patient_view(result, kb) if audience == "patient" else None,
            "alerts": sorted(result.alerts, key=lambda a: SEVERITY_ORDER.get(a.severity, 9)),
            "timeline": plan_timeline_svg(result),
            "picture_json": forms.picture_json(doc),
            "allow_draft": allow_draft and principal.may("review"),
        },
    )


EXPORTS = {
    "ics": ("text/calendar; charset=utf-8", "b12-plan.ics"),
    "pdf": ("application/pdf", "b12-clinician-copy.pdf"),
    "patient-pdf": ("application/pdf", "b12-patient-printout.pdf"),
    "json": ("application/json", "b12-plan.json"),
}


@router.post("/plan/export/{fmt}")
async def plan_export(request: Request, fmt: str, principal: PagePrincipal) -> Response:
    """Download the plan as an iCalendar file, a printable PDF or the contract JSON."""
    require(principal, "plan")
    await form_csrf(request, principal)
    if fmt not in EXPORTS:
        raise HttpProblem(404, "not_found", f"no export format {fmt!r}")
    form = await request.form()
    doc = forms.picture_from_json(_str(form, "picture"))
    result = _compute_plan(request, principal, doc, bool(_str(form, "allow_draft")))
    media, filename = EXPORTS[fmt]
    if fmt in ("pdf", "patient-pdf"):
        patient = PatientDetails(
            name=_str(form, "patient_name").strip()[:200] or None,
            date_of_birth=parse_birth_date(_str(form, "date_of_birth"), services(request).today()),
            nhs_number=_str(form, "nhs_number").strip()[:40] or None,
        )
        copy = "patient" if fmt == "patient-pdf" else "clinician"
        return printout_pdf(request, result, copy, patient)
    body = plan_to_ics(result) if fmt == "ics" else result.model_dump_json(indent=2).encode()
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# -- order check and follow-up ----------------------------------------------------------------


@router.get("/check", response_class=HTMLResponse)
def check_form(request: Request, principal: PagePrincipal) -> Response:
    """The order-check form."""
    require(principal, "plan")
    svc = services(request)
    values = {"as_of": svc.today().isoformat(), "order.dose.unit": "mg", "order.route": "im"}
    return _form_page(request, "check_form.html", svc.kb(), values=values, extra=_course_extra())


def _course_extra() -> dict[str, Any]:
    return {
        "routes": forms.coded("routes"),
        "sites": forms.coded("sites"),
        "units": forms.coded("units"),
    }


@router.post("/check", response_class=HTMLResponse)
async def check_submit(request: Request, principal: PagePrincipal) -> Response:
    """Judge the proposed order."""
    require(principal, "plan")
    await form_csrf(request, principal)
    svc = services(request)
    kb = svc.kb()
    form = await request.form()
    if (added := _add_row(request, form, "check_form.html")) is not None:
        return added
    today = svc.today()
    latest = _latest(_str(form, "as_of"), today)
    picture, reading = forms.picture_from_form(form, today, kb)
    order, order_problems = forms.order_from_form(form, today)
    history, history_problems = forms.history_from_form(form, today, latest)
    events, event_problems = forms.events_from_form(form, today, latest)
    course, course_problems = forms.course_from_form(form, latest, today)
    reading += order_problems + history_problems + event_problems + course_problems
    doc: dict[str, Any] = {"picture": picture, "order": order, "history": history}
    if events:
        doc["events"] = events
    if course is not None:
        doc["course"] = course
    if as_of := picture.get("as_of"):
        doc["as_of"] = as_of
    values = {**forms.form_from_picture(picture), **forms.raw_values(form)}
    try:
        result = order_check_request(doc, kb, default_as_of=svc.today())
    except InputError as err:
        problems = merge_problems(reading, (*err.problems, *forms.picture_problems(picture, kb)))
        return _form_page(
            request,
            "check_form.html",
            kb,
            values=values,
            problems=problems,
            extra=_course_extra(),
        )
    if reading:
        return _form_page(
            request,
            "check_form.html",
            kb,
            values=values,
            problems=reading,
            extra=_course_extra(),
        )
    return render(request, "check_result.html", {"result": result, "kb": kb})


@router.get("/next", response_class=HTMLResponse)
def next_form(request: Request, principal: PagePrincipal) -> Response:
    """The follow-up form."""
    require(principal, "plan")
    svc = services(request)
    return _form_page(
        request,
        "next_form.html",
        svc.kb(),
        values={"as_of": svc.today().isoformat()},
        extra=_course_extra(),
    )


@router.post("/next", response_class=HTMLResponse)
async def next_submit(request: Request, principal: PagePrincipal) -> Response:
    """Assess the course from the doses given and the events recorded."""
    require(principal, "plan")
    await form_csrf(request, principal)
    svc = services(request)
    kb = svc.kb()
    form = await request.form()
    if (added := _add_row(request, form, "next_form.html")) is not None:
        return added
    today = svc.today()
    latest = _latest(_str(form, "as_of"), today)
    picture, reading = forms.picture_from_form(form, today, kb)
    history, history_problems = forms.history_from_form(form, today, latest)
    events, event_problems = forms.events_from_form(form, today, latest)
    course, course_problems = forms.course_from_form(form, latest, today)
    reading += history_problems + event_problems + course_problems
    doc: dict[str, Any] = {"picture": picture, "history": history, "events": events}
    if course is not None:
        doc["course"] = course
    if as_of := picture.get("as_of"):
        doc["as_of"] = as_of
    values = {**forms.form_from_picture(picture), **forms.raw_values(form)}
    try:
        result = follow_up_request(doc, kb, default_as_of=svc.today())
    except InputError as err:
        problems = merge_problems(reading, (*err.problems, *forms.picture_problems(picture, kb)))
        return _form_page(
            request,
            "next_form.html",
            kb,
            values=values,
            problems=problems,
            extra=_course_extra(),
        )
    if reading:
        return _form_page(
            request,
            "next_form.html",
            kb,
            values=values,
            problems=reading,
            extra=_course_extra(),
        )
    return render(request, "next_result.html", {"result": result, "kb": kb})
