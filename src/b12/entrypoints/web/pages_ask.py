"""The Ask page: a question box (audience and guideline set) and the cited answer below it.

A GET form (nothing is stored), so the answer has a shareable URL; the same engine and the
same effective knowledge base as ``GET /api/ask``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from b12.core.answer import MAX_QUESTION_CHARS
from b12.core.errors import InputError
from b12.entrypoints.web import forms
from b12.entrypoints.web.api_ask import ask
from b12.entrypoints.web.auth import PagePrincipal, require
from b12.entrypoints.web.templating import render

router = APIRouter(include_in_schema=False)

AUDIENCES = (
    {"value": "clinician", "label": "Clinician"},
    {"value": "patient", "label": "Patient (plain language)"},
)
GUIDELINES = ({"value": "uk", "label": "UK"}, {"value": "us", "label": "US"})
LABELS = {"q": "Question", "audience": "Audience", "guideline": "Guideline set"}


@router.get("/ask", response_class=HTMLResponse)
def ask_page(
    request: Request,
    principal: PagePrincipal,
    q: str | None = None,
    audience: str = "clinician",
    guideline: str = "uk",
) -> Response:
    """The form; with ``q``, the answer too."""
    require(principal, "plan")
    values = {"q": q or "", "audience": audience, "guideline": guideline}
    context = {
        "values": values,
        "errors": {},
        "problems": [],
        "labels": LABELS,
        "audiences": AUDIENCES,
        "guidelines": GUIDELINES,
        "max_chars": MAX_QUESTION_CHARS,
        "answer": None,
    }
    if q is None:
        return render(request, "ask.html", context)
    try:
        context["answer"] = ask(request, q, audience, guideline)
    except InputError as err:
        context["problems"] = list(err.problems)
        context["errors"] = forms.errors_by_field(err.problems)
        return render(request, "ask.html", context, status=422)
    return render(request, "ask.html", context)
