"""The register page: bring a register in (admin), the register review, recall outreach.

``GET /register`` shows the review (each row with its reason and sources), the recall list
with each row's outreach mark and a form to mark it, the reminder export link, and for an
admin the import form.  ``POST /register/import`` (a CSV file upload; dry run unless the box
is cleared) shows the per-row report on the same page; ``POST /register/outreach/{id}`` marks
a recall row.  Reads are audited as views, as on the other registry pages.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import UploadFile

from b12.core.errors import FieldProblem, InputError
from b12.core.register_import import OUTREACH_STATUSES
from b12.entrypoints.web.api_register import MAX_IMPORT_BYTES, review_rows, run_import, store, view
from b12.entrypoints.web.auth import PagePrincipal, Principal, form_csrf, require, services
from b12.entrypoints.web.templating import render

router = APIRouter(include_in_schema=False)

WITHIN = 14
MAX_ROWS_SHOWN = 500


def _page(
    request: Request,
    principal: Principal,
    *,
    report: dict[str, Any] | None = None,
    problems: list[FieldProblem] | tuple[FieldProblem, ...] = (),
    criterion: str | None = None,
    status: int = 200,
) -> Response:
    today, rows, review_status = review_rows(request, criterion)
    recall = store(request).recall_with_outreach(today, WITHIN)
    view(request, principal, "register_page", criterion=criterion, rows=len(rows))
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["title"]] = counts.get(r["title"], 0) + 1
    context = {
        "today": today.isoformat(),
        "rows": rows[:MAX_ROWS_SHOWN],
        "total": len(rows),
        "counts": counts,
        "criteria": [c.id for c in store(request).content.criteria],
        "criterion": criterion or "",
        "pending": review_status != "approved",
        "banner": services(request).kb().vocabulary.pending_review_banner,
        "recall": recall[:MAX_ROWS_SHOWN],
        "within": WITHIN,
        "statuses": OUTREACH_STATUSES,
        "admin": principal.may("admin"),
        "may_mark": principal.may("record"),
        "report": report,
        "problems": problems,
    }
    return render(request, "register.html", context, status=status)


@router.get("/register", response_class=HTMLResponse)
def register_page(
    request: Request, principal: PagePrincipal, criterion: str | None = None
) -> Response:
    """The register review and recall outreach (and the import form for an admin)."""
    require(principal, "registry")
    try:
        return _page(request, principal, criterion=criterion or None)
    except InputError as err:
        return _page(request, principal, problems=err.problems, status=422)


@router.post("/register/import", response_class=HTMLResponse)
async def register_import(request: Request, principal: PagePrincipal) -> Response:
    """Check (or import) the uploaded register file and show the per-row report."""
    require(principal, "admin")
    await form_csrf(request, principal)
    form = await request.form()
    upload = form.get("file")
    dry_run = form.get("dry_run") == "on"
    try:
        if not isinstance(upload, UploadFile):
            raise InputError([FieldProblem("file", "choose the register CSV file")])
        try:
            raw = await upload.read(MAX_IMPORT_BYTES + 1)
        finally:
            await form.close()
        if len(raw) > MAX_IMPORT_BYTES:
            raise InputError([FieldProblem("file", f"larger than {MAX_IMPORT_BYTES} bytes")])
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError([FieldProblem("file", "not UTF-8 text")]) from None
        report = run_import(request, principal, text, dry_run)
    except InputError as err:
        return _page(request, principal, problems=err.problems, status=422)
    return _page(request, principal, report=report)


@router.post("/register/outreach/{patient_id}", response_class=HTMLResponse)
async def register_mark(request: Request, patient_id: str, principal: PagePrincipal) -> Response:
    """Mark a recall row, then show the page again."""
    require(principal, "record")
    await form_csrf(request, principal)
    form = await request.form()
    status, note = form.get("status"), form.get("note")
    try:
        store(request).mark(
            patient_id,
            status if isinstance(status, str) else "",
            note=(note.strip() or None) if isinstance(note, str) else None,
            actor=principal.user.username,
            now=services(request).now(),
        )
    except InputError as err:
        return _page(request, principal, problems=err.problems, status=422)
    return RedirectResponse(f"/register#row-{quote(patient_id, safe='')}", status_code=303)
