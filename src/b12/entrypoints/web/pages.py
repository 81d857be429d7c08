"""Server-rendered pages: sign-in, new plan, plan (with downloads), order check, follow-up.

A submitted plan, order check or follow-up is saved as its inputs (``result_drafts``) and the
browser is sent (303) to the result's own page, ``/{plan,check,next}/r/<id>``: a GET that
recomputes the result from the stored inputs and as_of, so it can be bookmarked, shared with a
colleague who is signed in, and reloaded or reached with Back without resubmitting a form.
"""

from __future__ import annotations

import secrets
from datetime import date
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import FormData

from b12.adapters.exports.ics import plan_to_ics
from b12.adapters.exports.patient_pdf import PatientDetails
from b12.adapters.exports.timeline import plan_timeline_svg
from b12.adapters.sql.drafts import DraftKind, ResultDraft, ResultDrafts
from b12.core.errors import FieldProblem, InputError, NotFound
from b12.core.knowledge import KnowledgeBase
from b12.core.patient_view import patient_view
from b12.core.plan import PlanOptions
from b12.core.plan_models import Plan
from b12.core.requests import follow_up_request, order_check_request, plan_request
from b12.entrypoints.web import form_text, forms, result_view
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


# -- saved results: POST -> 303 -> GET ---------------------------------------------------------

#: Form fields that are not inputs of the result (the CSRF token, the audience switch).
NOT_INPUTS = ("csrf_token", "audience", "picture")


def _drafts(request: Request) -> ResultDrafts:
    return ResultDrafts(services(request).registry.engine)


def result_url(kind: DraftKind, draft_id: str) -> str:
    """Where the result page of a saved draft is."""
    return f"/{kind}/r/{draft_id}"


def _load_draft(
    request: Request, principal: Principal, kind: DraftKind, draft_id: str
) -> ResultDraft:
    """The saved inputs (404 when unknown or of another kind); the read is audited."""
    svc = services(request)
    draft = _drafts(request).load(draft_id, actor=principal.user.username, now=svc.now())
    if draft is None or draft.kind != kind:
        raise NotFound("no such result; it may have been typed wrongly")
    return draft


def _save_and_redirect(
    request: Request,
    principal: Principal,
    kind: DraftKind,
    doc: dict[str, Any],
    values: dict[str, Any],
    *,
    as_of: date,
    allow_draft: bool = False,
    query: str = "",
) -> Response:
    """Store the inputs that made a result and send the browser to its page (303)."""
    svc = services(request)
    form_values = {k: v for k, v in values.items() if k not in NOT_INPUTS}
    draft_id = _drafts(request).save(
        kind,
        doc,
        form_values,
        as_of=as_of,
        allow_draft=allow_draft,
        patient_id=_known_patient(request, principal, str(values.get("patient") or "")),
        actor=principal.user.username,
        now=svc.now(),
    )
    return RedirectResponse(result_url(kind, draft_id) + query, status_code=303)


def _known_patient(request: Request, principal: Principal, patient_id: str) -> str | None:
    """The registry patient a form was pre-filled from, if it exists and may be seen."""
    if not patient_id or not principal.may("registry"):
        return None
    try:
        services(request).registry.show_patient(patient_id)
    except NotFound:
        return None
    return patient_id


def _fixed_as_of(doc: dict[str, Any], today: date) -> date:
    """Fix the request's as_of (today when the form left it blank), so a later GET recomputes
    the same result; an as_of that is no date is left for the engine to report."""
    doc.setdefault("as_of", today.isoformat())
    try:
        return date.fromisoformat(str(doc["as_of"]))
    except ValueError:
        return today


def _result_top(
    request: Request,
    kind: DraftKind,
    draft: ResultDraft,
    kb: KnowledgeBase,
    guideline: str,
    picture: dict[str, Any],
) -> dict[str, Any]:
    """The context every result page shares: summary line, links, words."""
    summary = result_view.picture_summary(picture, kb, guideline)
    if kind != "plan":
        summary += result_view.history_summary(draft.request, kb, guideline)
    return {
        "summary": summary,
        "words": result_view.Words(kb, guideline),
        "draft": draft,
        "edit_url": f"/{kind}?draft={draft.id}",
        "share_url": str(request.url.replace(query="")),
        "patient_url": f"/patients/{quote(draft.patient_id, safe='')}" if draft.patient_id else "",
    }


# -- pre-filling a form from a saved result or a patient's record ------------------------------


def _patient_values(
    request: Request, principal: Principal, patient_id: str, kind: DraftKind
) -> dict[str, Any]:
    """A form's values from the registry record: picture, dose history, events, declared course.

    Reading the record is audited as a view of the patient, as the patient page is.
    """
    require(principal, "registry")
    svc = services(request)
    registry = svc.registry
    record = registry.show_patient(patient_id)
    registry.record_view(
        "patient",
        patient_id,
        actor=principal.user.username,
        now=svc.now(),
        detail={"page": f"{kind}_form"},
    )
    picture = dict(record["picture"])
    picture.pop("as_of", None)  # the record's enrolment date is not today's
    values: dict[str, Any] = forms.form_from_picture(picture)
    values.update(forms.rows_values(record["doses"], "history"))
    values.update(forms.rows_values(record["events"], "events"))
    declaration = record["course"].get("declaration")
    if isinstance(declaration, dict):
        for name in ("stage", "since", "every_months"):
            if declaration.get(name) is not None:
                values[f"course.{name}"] = str(declaration[name])
    values["patient"] = patient_id
    return values


ORDER_DEFAULTS = {"order.dose.unit": "mg", "order.route": "im"}


def _start_values(
    request: Request, principal: Principal, kind: DraftKind, defaults: dict[str, Any]
) -> dict[str, Any]:
    """A form's first values: from ``?draft=`` (Edit details; ``keep=patient`` clears the
    order), from ``?patient=`` (the registry record), else the defaults."""
    query = request.query_params
    if draft_id := query.get("draft"):
        values = dict(_load_draft(request, principal, kind, draft_id).form)
        if query.get("keep") == "patient":
            values = {k: v for k, v in values.items() if not k.startswith("order.")}
            values.update(ORDER_DEFAULTS)
            values["as_of"] = defaults.get("as_of", values.get("as_of", ""))
        return values
    if patient_id := query.get("patient"):
        return {**defaults, **_patient_values(request, principal, patient_id, kind)}
    return defaults


# -- plan -------------------------------------------------------------------------------------


@router.get("/plan", response_class=HTMLResponse)
def plan_form(request: Request, principal: PagePrincipal) -> Response:
    """The new-plan form (``?draft=ID``: the inputs of that result, to edit them)."""
    require(principal, "plan")
    svc = services(request)
    values = _start_values(request, principal, "plan", {"as_of": svc.today().isoformat()})
    return _form_page(request, "plan_form.html", svc.kb(), values=values)


def merge_problems(
    reading: list[FieldProblem], core: tuple[FieldProblem, ...]
) -> list[FieldProblem]:
    """The form's own problems first; the core's only for fields not already reported."""
    seen = {p.field for p in reading}
    return [*reading, *(p for p in core if p.field not in seen)]


def _compute_plan(
    request: Request,
    principal: Principal,
    doc: dict[str, Any],
    allow_draft: bool,
    default_as_of: date | None = None,
) -> Plan:
    svc = services(request)
    options = PlanOptions(allow_draft=allow_draft and principal.may("review"))
    _, result = plan_request(
        doc, svc.kb(), default_as_of=default_as_of or svc.today(), options=options
    )
    return result


@router.post("/plan", response_class=HTMLResponse)
async def plan_submit(request: Request, principal: PagePrincipal) -> Response:
    """Make the plan from the form, save its inputs and go to its page (303).

    A hidden ``picture`` (the older audience switch) is accepted as the inputs too.
    """
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
        _compute_plan(request, principal, doc, allow_draft)
    except InputError as err:
        problems = merge_problems(reading, err.problems)
        return _form_page(request, "plan_form.html", kb, values=values, problems=problems)
    if reading:
        return _form_page(request, "plan_form.html", kb, values=values, problems=reading)
    as_of = _fixed_as_of(doc, svc.today())
    query = "?audience=patient" if _str(form, "audience") == "patient" else ""
    allowed = allow_draft and principal.may("review")
    return _save_and_redirect(
        request, principal, "plan", doc, values, as_of=as_of, allow_draft=allowed, query=query
    )


@router.get("/plan/r/{draft_id}", response_class=HTMLResponse)
def plan_result(
    request: Request, draft_id: str, principal: PagePrincipal, audience: str = "clinician"
) -> Response:
    """A saved plan: recomputed from its stored inputs and as_of (bookmarkable, shareable)."""
    require(principal, "plan")
    kb = services(request).kb()
    draft = _load_draft(request, principal, "plan", draft_id)
    try:
        result = _compute_plan(request, principal, draft.request, draft.allow_draft, draft.as_of)
    except InputError as err:
        return _form_page(
            request, "plan_form.html", kb, values=draft.form, problems=list(err.problems)
        )
    audience = "patient" if audience == "patient" else "clinician"
    context = _result_top(request, "plan", draft, kb, result.guideline, draft.request)
    return render(
        request,
        "plan.html",
        {
            **context,
            "plan": result,
            "kb": kb,
            "audience": audience,
            "view": patient_view(result, kb) if audience == "patient" else None,
            "alerts": sorted(result.alerts, key=lambda a: SEVERITY_ORDER.get(a.severity, 9)),
            "timeline": plan_timeline_svg(result, result_view.phase_words(kb)),
            "picture_json": forms.picture_json(draft.request),
            "allow_draft": draft.allow_draft and principal.may("review"),
            "do_now": result_view.plan_do_now(result, kb) if audience == "clinician" else None,
            "field_labels": forms.field_labels(kb),
        },
    )


EXPORTS = {
    "ics": ("text/calendar; charset=utf-8", "b12-plan.ics"),
    "ics-each": ("text/calendar; charset=utf-8", "b12-plan-each-dose.ics"),
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
    if fmt in ("ics", "ics-each"):  # ics-each: one event per dose, not a repeating event
        body = plan_to_ics(result, expand=fmt == "ics-each")
    else:
        body = result.model_dump_json(indent=2).encode()
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# -- order check and follow-up ----------------------------------------------------------------


def _course_extra() -> dict[str, Any]:
    return {
        "routes": forms.coded("routes"),
        "sites": forms.coded("sites"),
        "units": forms.coded("units"),
    }


@router.get("/check", response_class=HTMLResponse)
def check_form(request: Request, principal: PagePrincipal) -> Response:
    """The order-check form (``?draft=ID``: edit a check; ``&keep=patient``: another order for
    the same patient; ``?patient=ID``: pre-filled from the registry record)."""
    require(principal, "plan")
    svc = services(request)
    defaults = {"as_of": svc.today().isoformat(), **ORDER_DEFAULTS}
    values = _start_values(request, principal, "check", defaults)
    return _form_page(request, "check_form.html", svc.kb(), values=values, extra=_course_extra())


@router.post("/check", response_class=HTMLResponse)
async def check_submit(request: Request, principal: PagePrincipal) -> Response:
    """Judge the proposed order, save its inputs and go to the result's page (303)."""
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
        order_check_request(doc, kb, default_as_of=svc.today())
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
    fixed = _fixed_as_of(doc, svc.today())
    return _save_and_redirect(request, principal, "check", doc, values, as_of=fixed)


@router.get("/check/r/{draft_id}", response_class=HTMLResponse)
def check_result(request: Request, draft_id: str, principal: PagePrincipal) -> Response:
    """A saved order check, recomputed from its inputs: what was checked, then the verdict."""
    require(principal, "plan")
    kb = services(request).kb()
    draft = _load_draft(request, principal, "check", draft_id)
    try:
        result = order_check_request(draft.request, kb, default_as_of=draft.as_of)
    except InputError as err:
        return _form_page(
            request,
            "check_form.html",
            kb,
            values=draft.form,
            problems=list(err.problems),
            extra=_course_extra(),
        )
    picture = draft.request.get("picture") or {}
    context = _result_top(request, "check", draft, kb, result.guideline, picture)
    return render(
        request,
        "check_result.html",
        {
            **context,
            "result": result,
            "kb": kb,
            "order_facts": result_view.order_facts(draft.request, kb, result.guideline),
            "history_rows": result_view.history_rows(draft.request, kb, result.guideline),
            "do_now": result_view.check_do_now(result, draft.request, kb),
            "another_url": f"/check?draft={draft.id}&keep=patient",
            "field_labels": forms.field_labels(kb),
        },
    )


@router.get("/next", response_class=HTMLResponse)
def next_form(request: Request, principal: PagePrincipal) -> Response:
    """The follow-up form (``?draft=ID`` to edit; ``?patient=ID`` pre-filled from the record)."""
    require(principal, "plan")
    svc = services(request)
    values = _start_values(request, principal, "next", {"as_of": svc.today().isoformat()})
    return _form_page(request, "next_form.html", svc.kb(), values=values, extra=_course_extra())


@router.post("/next", response_class=HTMLResponse)
async def next_submit(request: Request, principal: PagePrincipal) -> Response:
    """Assess the course from the doses given and the events recorded; save, then 303."""
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
        follow_up_request(doc, kb, default_as_of=svc.today())
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
    fixed = _fixed_as_of(doc, svc.today())
    return _save_and_redirect(request, principal, "next", doc, values, as_of=fixed)


@router.get("/next/r/{draft_id}", response_class=HTMLResponse)
def next_result(request: Request, draft_id: str, principal: PagePrincipal) -> Response:
    """A saved follow-up, recomputed from its inputs."""
    require(principal, "plan")
    kb = services(request).kb()
    draft = _load_draft(request, principal, "next", draft_id)
    try:
        result = follow_up_request(draft.request, kb, default_as_of=draft.as_of)
    except InputError as err:
        return _form_page(
            request,
            "next_form.html",
            kb,
            values=draft.form,
            problems=list(err.problems),
            extra=_course_extra(),
        )
    picture = draft.request.get("picture") or {}
    context = _result_top(request, "next", draft, kb, result.guideline, picture)
    return render(
        request,
        "next_result.html",
        {
            **context,
            "result": result,
            "kb": kb,
            "do_now": result_view.follow_up_do_now(result, kb),
            "field_labels": forms.field_labels(kb),
        },
    )
