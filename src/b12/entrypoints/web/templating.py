"""Jinja2 templates (autoescaped) and the one helper every page uses to render."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TEMPLATES.env.trim_blocks = True
TEMPLATES.env.lstrip_blocks = True

NAV = (
    ("/plan", "New plan", "plan"),
    ("/check", "Order check", "plan"),
    ("/next", "Follow-up", "plan"),
    ("/ask", "Ask", "plan"),
    ("/patients", "Patients", "registry"),
    ("/recall", "Recall list", "registry"),
    ("/register", "Register", "registry"),
    ("/kb", "Knowledge base", "kb"),
)


def label(value: str | None) -> str:
    """``total_gastrectomy`` → ``total gastrectomy`` for display."""
    return (value or "").replace("_", " ")


TEMPLATES.env.filters["label"] = label


def day(value: date | str | None) -> str:
    """A date as people read it: ``2026-12-07`` → ``Mon 7 Dec 2026`` (text that is no ISO date
    is shown as it is; ``None`` as nothing)."""
    if value is None or value == "":
        return ""
    if not isinstance(value, date):
        try:
            value = date.fromisoformat(str(value))
        except ValueError:
            return str(value)
    return f"{value:%a} {value.day} {value:%b %Y}"


TEMPLATES.env.filters["day"] = day


class PlainWords:
    """``words(group, code)`` where a page has no knowledge-base words in its context: the code
    with its underscores and hyphens as spaces (result pages pass ``result_view.Words``)."""

    def __call__(self, group: str, code: str | None) -> str:
        return label(code).replace("-", " ")

    def text(self, key: str, group: str = "summary", **values: Any) -> str:
        return label(key)


TEMPLATES.env.globals["words"] = PlainWords()


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render ``name`` with the signed-in principal, navigation and CSRF token available."""
    principal = getattr(request.state, "principal", None)
    base: dict[str, Any] = {
        "principal": principal,
        "csrf_token": principal.csrf_token if principal is not None else "",
        "nav": [(href, text) for href, text, perm in NAV if principal and principal.may(perm)],
        "path": request.url.path,
    }
    base.update(context or {})
    return TEMPLATES.TemplateResponse(
        request, name, base, status_code=status, headers=headers or None
    )
