"""The register over JSON: import a practice's register, the register review, recall outreach.

* ``POST /api/register/import?dry_run=true|false`` — the register CSV as the request body
  (``text/csv``); admin only.  The per-row report and the summary, as ``b12 registry import``.
* ``GET /api/register/review[?criterion=ID]`` — the review rows with reasons and citations.
* ``GET /api/register/outreach?within=N`` — the recall list with each row's outreach mark.
* ``POST /api/register/outreach/{patient_id}`` — ``{"status", "note"}``: mark the recall row.
* ``GET /api/register/messages.csv?within=N`` — reminders for the practice's messaging service.

Reads need ``registry`` (and are audited as views); marks need ``record``; the import needs
``admin``.  A browser session sends ``X-CSRF-Token`` on writes.
"""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from b12.adapters.register_content import load_register_content
from b12.adapters.spreadsheet import csv_text
from b12.adapters.sql.register import RegisterStore
from b12.adapters.sql.registry import MAX_WITHIN_DAYS
from b12.core.errors import FieldProblem, InputError
from b12.core.register_import import OUTREACH_STATUSES, RowReport, csv_rows, read_rows, summary
from b12.entrypoints.web.api import json_body
from b12.entrypoints.web.auth import ApiPrincipal, Principal, header_csrf, require, services
from b12.entrypoints.web.openapi import ref, responses

router = APIRouter(prefix="/api/register", tags=["register"])

_OBJECT: dict[str, Any] = {"type": "object"}
_CSV: dict[str, Any] = {"text/csv": {"schema": {"type": "string"}}}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {
        "description": "No such patient",
        "content": {"application/json": {"schema": ref("Error")}},
    }
}
IMPORT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The register as CSV (columns of examples/register-template.csv)",
        "content": _CSV,
    }
}
MARK_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["status"],
                    "additionalProperties": False,
                    "properties": {
                        "status": {"type": "string", "enum": list(OUTREACH_STATUSES)},
                        "note": {"type": ["string", "null"], "maxLength": 1000},
                    },
                }
            }
        },
    }
}


def _ok(description: str, content: dict[str, Any] | None = None) -> dict[int | str, dict[str, Any]]:
    body = content or {"application/json": {"schema": _OBJECT}}
    return {200: {"description": description, "content": body}}


MAX_IMPORT_BYTES = 20 * 1024 * 1024


def access(request: Request, principal: Principal, permission: str, *, write: bool) -> None:
    """The role check, and the CSRF header for a browser session's writes."""
    require(principal, permission)
    if write and principal.via == "session":
        header_csrf(request, principal)


def store(request: Request) -> RegisterStore:
    """The register store over the app's registry and current knowledge base (content cached)."""
    svc = services(request)
    kb = svc.kb()
    cache: dict[str, Any] = request.app.state.__dict__.setdefault("register_content", {})
    if kb.content_version not in cache:
        cache.clear()
        cache[kb.content_version] = load_register_content(kb, svc.config.knowledge_dir)
    return RegisterStore(svc.registry_for(kb), cache[kb.content_version])


def import_body(reports: list[RowReport], dry_run: bool) -> dict[str, Any]:
    """The JSON answer of an import: summary and per-row report."""
    counts: dict[str, int] = summary(reports)
    counts["written"] = sum(r.outcome == "imported" for r in reports)
    counts["unchanged"] = sum(r.outcome == "unchanged" for r in reports)
    return {"dry_run": dry_run, "summary": counts, "rows": [r.as_dict() for r in reports]}


async def read_csv_body(request: Request) -> str:
    """The request body as UTF-8 text (size-limited)."""
    raw = await request.body()
    if len(raw) > MAX_IMPORT_BYTES:
        raise InputError([FieldProblem("file", f"larger than {MAX_IMPORT_BYTES} bytes")])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError([FieldProblem("file", "not UTF-8 text")]) from None


def run_import(request: Request, principal: Principal, text: str, dry_run: bool) -> dict[str, Any]:
    """Read and import (or judge) a register text as ``principal``."""
    svc = services(request)
    s = store(request)
    now = svc.now()
    reports = s.import_rows(
        read_rows(csv_rows(io.StringIO(text.removeprefix("\ufeff"), newline="")), s.kb, now.date()),
        actor=principal.user.username,
        now=now,
        dry_run=dry_run,
    )
    return import_body(reports, dry_run)


@router.post(
    "/import",
    summary="Import a practice's register (CSV body); admin only",
    openapi_extra=IMPORT_BODY,
    responses=responses(None, _ok("The per-row report and the summary")),
)
async def api_import(
    request: Request, principal: ApiPrincipal, dry_run: bool = Query(True)
) -> Response:
    """Dry run by default: ``?dry_run=false`` writes the rows."""
    access(request, principal, "admin", write=True)
    text = await read_csv_body(request)
    return JSONResponse(run_import(request, principal, text, dry_run))


def view(request: Request, principal: Principal, what: str, **detail: Any) -> None:
    """Audit a read of patient data."""
    svc = services(request)
    svc.registry.record_view(
        what, "list", actor=principal.user.username, now=svc.now(), detail=detail
    )


def review_rows(request: Request, criterion: str | None) -> tuple[date, list[dict[str, Any]], str]:
    """Today's review rows and the content's review status."""
    s = store(request)
    today = services(request).today()
    return today, [r.as_dict() for r in s.review(today, criterion)], s.content.review_status


@router.get(
    "/review",
    summary="The register review: rows with reasons and citations",
    responses=responses(None, _ok("as_of, review_status and the rows")),
)
def api_review(
    request: Request, principal: ApiPrincipal, criterion: str | None = Query(None, max_length=40)
) -> Response:
    """``{"as_of", "review_status", "rows"}``."""
    access(request, principal, "registry", write=False)
    today, rows, status = review_rows(request, criterion)
    view(request, principal, "register_review", criterion=criterion, rows=len(rows))
    return JSONResponse({"as_of": today.isoformat(), "review_status": status, "rows": rows})


@router.get(
    "/outreach",
    summary="The recall list with each row's outreach mark",
    responses=responses(None, _ok("as_of, within and the rows")),
)
def api_outreach(
    request: Request,
    principal: ApiPrincipal,
    within: int = Query(14, ge=0, le=MAX_WITHIN_DAYS),
) -> Response:
    """``{"as_of", "within", "rows"}``."""
    access(request, principal, "registry", write=False)
    today = services(request).today()
    rows = store(request).recall_with_outreach(today, within)
    view(request, principal, "outreach", within=within, rows=len(rows))
    return JSONResponse({"as_of": today.isoformat(), "within": within, "rows": rows})


@router.post(
    "/outreach/{patient_id}",
    summary="Mark a recall row (invited, contacted, booked, declined)",
    status_code=201,
    openapi_extra=MARK_BODY,
    responses=responses(
        None,
        {
            201: {"description": "The mark", "content": {"application/json": {"schema": _OBJECT}}},
            **NOT_FOUND,
        },
    ),
)
async def api_mark(request: Request, patient_id: str, principal: ApiPrincipal) -> Response:
    """``{"status": one of invited/contacted/booked/declined, "note": optional text}``."""
    access(request, principal, "record", write=True)
    body = await json_body(request)
    if not isinstance(body, dict) or set(body) - {"status", "note"}:
        raise InputError([FieldProblem("body", 'expected {"status", "note"}')])
    status, note = body.get("status"), body.get("note")
    if not isinstance(status, str):
        known = ", ".join(OUTREACH_STATUSES)
        raise InputError([FieldProblem("status", f"required; one of {known}")])
    if note is not None and not isinstance(note, str):
        raise InputError([FieldProblem("note", "expected text")])
    svc = services(request)
    mark = store(request).mark(
        patient_id, status, note=note, actor=principal.user.username, now=svc.now()
    )
    return JSONResponse(mark, status_code=201)


MESSAGE_COLUMNS = ("patient_id", "name", "contact", "due_date", "status", "message")


@router.get(
    "/messages.csv",
    summary="Reminder messages for the practice's messaging service",
    responses=responses(None, _ok("CSV with a header row", _CSV)),
)
def api_messages(
    request: Request,
    principal: ApiPrincipal,
    within: int = Query(14, ge=0, le=MAX_WITHIN_DAYS),
) -> Response:
    """CSV: patient, contact, due date and the reminder text. b12 sends nothing itself."""
    access(request, principal, "registry", write=False)
    today = services(request).today()
    rows, missing = store(request).messages(today, within)
    view(request, principal, "messages", within=within, rows=len(rows), no_contact=len(missing))
    return Response(
        csv_text(MESSAGE_COLUMNS, rows),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="b12-reminders-{today.isoformat()}.csv"',
            "X-B12-No-Contact": str(len(missing)),
        },
    )
