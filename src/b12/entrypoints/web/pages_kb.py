"""Knowledge-base pages: search and filters, one item with its sources, and the review workflow.

Reviewers move content through submitted → in review → approved (engineering review, by
someone other than the author; or send it back), and a clinical safety officer signs approved
content off; the decision, who made it and the date are stored in the database and applied to
the knowledge base every request uses.

A move that changes what clinicians are shown (approve, sign off, withdraw a sign-off, retire)
first opens a confirmation page: it runs the golden vignettes with the knowledge base as it is
and as it would be, lists the cases whose decisions would change, names the author and the
person deciding, and asks for an explicit confirmation.  Without it nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from b12.adapters.kb_impact import impact
from b12.core.errors import FieldProblem, InputError, NotFound, Refused
from b12.core.governance import STAGES, allowed_transitions, transition_between
from b12.core.knowledge import KnowledgeBase
from b12.entrypoints.web.auth import PagePrincipal, Principal, form_csrf, require, services
from b12.entrypoints.web.templating import render

router = APIRouter(include_in_schema=False)

MAX_QUERY = 200
GUIDELINE_SETS = {"uk": "UK (NICE, BNF, BSH)", "us": "US (FDA labels, AFP, BOMSS)"}


@dataclass(frozen=True)
class Filters:
    """What the list is narrowed to, and the problems with what was asked (kept, explained)."""

    q: str
    status: str
    evidence: str
    source: str
    guideline: str
    problems: tuple[FieldProblem, ...]

    @property
    def active(self) -> bool:
        return any((self.q, self.status, self.evidence, self.source, self.guideline))


def _choices(kb: KnowledgeBase) -> dict[str, list[tuple[str, str]]]:
    evidence = sorted({r.evidence for r in kb.recommendations.values()})
    used = sorted({c.source for r in kb.recommendations.values() for c in r.citations})
    return {
        "status": [(s, s) for s in STAGES],
        "evidence": [(e, e) for e in evidence],
        "source": [(s, s) for s in used],
        "guideline": sorted(GUIDELINE_SETS.items()),
    }


def read_filters(request: Request, kb: KnowledgeBase) -> Filters:
    """The list's filters from the query string; an unknown value is kept and explained."""
    params = request.query_params
    choices = _choices(kb)
    labels = {
        "status": "Status",
        "evidence": "Evidence",
        "source": "Source",
        "guideline": "Guideline set",
    }
    values: dict[str, str] = {}
    problems: list[FieldProblem] = []
    for name, label in labels.items():
        value = params.get(name, "").strip()
        values[name] = value
        if value and value not in {v for v, _ in choices[name]}:
            problems.append(
                FieldProblem(
                    name,
                    f"{label} {value!r} is not one of the choices; the list is not narrowed by it",
                )
            )
    q = " ".join(params.get("q", "").split())
    if len(q) > MAX_QUERY:
        problems.append(
            FieldProblem("q", f"Search for at most {MAX_QUERY} characters; the search was cut")
        )
        q = q[:MAX_QUERY]
    return Filters(q=q, problems=tuple(problems), **values)


def _searchable(kb: KnowledgeBase, item_id: str) -> str:
    rec = kb.recommendations[item_id]
    parts = [item_id, rec.title, rec.clinician_text, rec.patient_text]
    for c in rec.citations:
        source = kb.sources.get(c.source)
        parts += [c.source, c.locator, source.citation if source else ""]
    return " ".join(parts).casefold()


def _matches(item: Any, kb: KnowledgeBase, f: Filters) -> bool:
    bad = {p.field for p in f.problems}
    if f.status and "status" not in bad and f.status not in (item.status, item.stage):
        return False
    if f.evidence and "evidence" not in bad and item.evidence != f.evidence:
        return False
    if f.source and "source" not in bad and f.source not in item.sources:
        return False
    if f.guideline and "guideline" not in bad and f.guideline not in item.jurisdiction:
        return False
    if f.q:
        text = _searchable(kb, item.id)
        return all(word.casefold() in text for word in f.q.split())
    return True


@router.get("/kb", response_class=HTMLResponse)
def kb_list(request: Request, principal: PagePrincipal) -> Response:
    """Every recommendation, grouped by effective status; search and filters narrow the list."""
    require(principal, "kb")
    svc = services(request)
    kb = svc.kb()
    filters = read_filters(request, kb)
    everything = svc.reviews.items()
    items = [i for i in everything if _matches(i, kb, filters)]
    groups = {s: [i for i in items if i.stage == s] for s in STAGES}
    return render(
        request,
        "kb.html",
        {
            "groups": groups,
            "filters": filters,
            "choices": _choices(kb),
            "errors": {p.field: p.message for p in filters.problems},
            "content_version": kb.content_version,
            "total": len(items),
            "of": len(everything),
        },
        status=422 if filters.problems else 200,
    )


def _moves(item_stage: str, role: str) -> tuple[list[Any], list[Any]]:
    moves = allowed_transitions(item_stage, role)
    return [m for m in moves if not m.confirm_required], [m for m in moves if m.confirm_required]


def _item_page(
    request: Request, principal: Principal, item_id: str, *, error: str | None, status: int
) -> Response:
    svc = services(request)
    item = svc.reviews.item(item_id)
    kb = svc.kb()
    rec = kb.recommendations[item_id]
    sources = [(c, kb.sources.get(c.source)) for c in rec.citations]
    direct, confirmed = _moves(item.stage, principal.user.role)
    return render(
        request,
        "kb_item.html",
        {
            "item": item,
            "rec": rec,
            "sources": sources,
            "moves": direct,
            "confirm_moves": confirmed,
            "error": error,
        },
        status=status,
    )


@router.get("/kb/{item_id}", response_class=HTMLResponse)
def kb_item(request: Request, item_id: str, principal: PagePrincipal) -> Response:
    """One recommendation: texts, citations, review history and the moves the user may make."""
    require(principal, "kb")
    return _item_page(request, principal, item_id, error=None, status=200)


def _confirm_page(
    request: Request,
    principal: Principal,
    item_id: str,
    to_status: str,
    *,
    comment: str,
    errors: dict[str, str],
    status: int,
) -> Response:
    """What the move would change, who wrote the item and who decides, and the confirmation."""
    svc = services(request)
    item = svc.reviews.item(item_id)
    move = transition_between(item.stage, to_status)
    try:
        before, after = svc.reviews.preview(
            item_id,
            to_status,
            actor=principal.user.username,
            role=principal.user.role,
            now=svc.now(),
            comment=comment,
        )
    except InputError as err:
        message = "; ".join(p.render() for p in err.problems)
        return _item_page(request, principal, item_id, error=message, status=422)
    except Refused as err:
        return _item_page(request, principal, item_id, error=str(err), status=403)
    if move is None or not move.confirm_required:  # pragma: no cover - preview refused it
        raise NotFound(f"no confirmation step for {to_status!r}")
    folder, cases = svc.vignettes()
    report = impact(item_id, before, after, cases) if cases else None
    return render(
        request,
        "kb_confirm.html",
        {
            "item": item,
            "rec": after.recommendations[item_id],
            "move": move,
            "report": report,
            "vignette_folder": folder,
            "comment": comment,
            "errors": errors,
            "actor": principal.user.username,
        },
        status=status,
    )


@router.get("/kb/{item_id}/confirm", response_class=HTMLResponse)
def kb_confirm(
    request: Request, item_id: str, principal: PagePrincipal, to_status: str = ""
) -> Response:
    """The confirmation step of a move that changes what clinicians are shown."""
    require(principal, "kb")
    return _confirm_page(request, principal, item_id, to_status, comment="", errors={}, status=200)


@router.post("/kb/{item_id}/transition", response_class=HTMLResponse)
async def kb_transition(request: Request, item_id: str, principal: PagePrincipal) -> Response:
    """Move the item to a new status (the state machine decides who may)."""
    require(principal, "kb")
    await form_csrf(request, principal)
    svc = services(request)
    form = await request.form()
    raw_to = form.get("to_status")
    to_status = raw_to if isinstance(raw_to, str) else ""
    raw_comment = form.get("comment")
    comment = raw_comment.strip() if isinstance(raw_comment, str) else ""
    item = svc.reviews.item(item_id)
    move = transition_between(item.stage, to_status)
    if move is not None and move.confirm_required and form.get("confirmed") != "yes":
        errors = {"confirmed": f"Tick the box to confirm that you want to {move.name} this item"}
        if move.comment_required and not comment:
            errors["comment"] = f"Say why you {move.name} this item"
        return _confirm_page(
            request, principal, item_id, to_status, comment=comment, errors=errors, status=422
        )
    try:
        svc.reviews.transition(
            item_id,
            to_status,
            actor=principal.user.username,
            role=principal.user.role,
            comment=comment or None,
            now=svc.now(),
        )
    except InputError as err:
        if move is not None and move.confirm_required:
            errors = {p.field: p.message for p in err.problems}
            if set(errors) <= {"comment"}:
                return _confirm_page(
                    request,
                    principal,
                    item_id,
                    to_status,
                    comment=comment,
                    errors={"comment": f"Say why you {move.name} this item"},
                    status=422,
                )
        message = "; ".join(p.render() for p in err.problems)
        return _item_page(request, principal, item_id, error=message, status=422)
    except Refused as err:
        return _item_page(request, principal, item_id, error=str(err), status=403)
    return RedirectResponse(f"/kb/{item_id}", status_code=303)
