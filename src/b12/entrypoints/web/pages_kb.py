"""Knowledge-base pages: recommendations by status with their sources, and the review workflow.

Reviewers move content through submitted → in review → approved (engineering review, by
someone other than the author; or send it back), and a clinical safety officer signs approved
content off; the decision, who made it and the date are stored in the database and applied to
the knowledge base every request uses.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from b12.core.errors import InputError, Refused
from b12.core.governance import STAGES, allowed_transitions
from b12.entrypoints.web.auth import PagePrincipal, Principal, form_csrf, require, services
from b12.entrypoints.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/kb", response_class=HTMLResponse)
def kb_list(request: Request, principal: PagePrincipal, status: str = "") -> Response:
    """Every recommendation, grouped by effective status, filterable by status."""
    require(principal, "kb")
    svc = services(request)
    chosen = status if status in STAGES else ""
    items = svc.reviews.items(status=chosen or None)
    groups = {s: [i for i in items if i.stage == s] for s in STAGES}
    kb = svc.kb()
    return render(
        request,
        "kb.html",
        {
            "groups": groups,
            "statuses": STAGES,
            "chosen": chosen,
            "content_version": kb.content_version,
            "total": len(items),
        },
    )


def _item_page(
    request: Request, principal: Principal, item_id: str, *, error: str | None, status: int
) -> Response:
    svc = services(request)
    item = svc.reviews.item(item_id)
    kb = svc.kb()
    rec = kb.recommendations[item_id]
    sources = [(c, kb.sources.get(c.source)) for c in rec.citations]
    return render(
        request,
        "kb_item.html",
        {
            "item": item,
            "rec": rec,
            "sources": sources,
            "moves": allowed_transitions(item.stage, principal.user.role),
            "error": error,
        },
        status=status,
    )


@router.get("/kb/{item_id}", response_class=HTMLResponse)
def kb_item(request: Request, item_id: str, principal: PagePrincipal) -> Response:
    """One recommendation: texts, citations, review history and the moves the user may make."""
    require(principal, "kb")
    return _item_page(request, principal, item_id, error=None, status=200)


@router.post("/kb/{item_id}/transition", response_class=HTMLResponse)
async def kb_transition(request: Request, item_id: str, principal: PagePrincipal) -> Response:
    """Move the item to a new status (the state machine decides who may)."""
    require(principal, "kb")
    await form_csrf(request, principal)
    svc = services(request)
    form = await request.form()
    to_status = form.get("to_status")
    comment = form.get("comment")
    try:
        svc.reviews.transition(
            item_id,
            to_status if isinstance(to_status, str) else "",
            actor=principal.user.username,
            role=principal.user.role,
            comment=comment.strip() or None if isinstance(comment, str) else None,
            now=svc.now(),
        )
    except InputError as err:
        message = "; ".join(p.render() for p in err.problems)
        return _item_page(request, principal, item_id, error=message, status=422)
    except Refused as err:
        return _item_page(request, principal, item_id, error=str(err), status=403)
    return RedirectResponse(f"/kb/{item_id}", status_code=303)
