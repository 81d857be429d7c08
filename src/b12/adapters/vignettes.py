"""Golden clinical vignettes: readable YAML cases, their expected decisions, and KB coverage.

A vignette file holds ``id``, ``title``, ``notes``, ``kind`` (``plan`` by default, ``order`` or
``follow_up``), the input (``picture`` for a plan; ``request``, an OrderCheck or FollowUp
document, otherwise), ``as_of``, optional ``options`` (``horizon``, ``allow_draft``) and
``expect``.  ``expect`` records decisions, not prose:
status, pathway, regimen, dated doses with windows, reviews and tests, alert codes with
severities, disagreements, missing fields, the recommendations used and the sources cited.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

from b12.adapters.documents import parse_yaml, read_bytes
from b12.adapters.yaml_files import read_bundle
from b12.core.course_models import CourseReadingOut, FollowUpResult, NextDue, OrderCheckResult
from b12.core.dates import parse_iso_date
from b12.core.errors import FieldProblem, InputError
from b12.core.knowledge import KnowledgeBase
from b12.core.plan import PlanOptions
from b12.core.plan_models import Plan, ReferenceOut
from b12.core.requests import follow_up_request, order_check_request, parse_horizon, plan_request


@dataclass(frozen=True)
class Vignette:
    """One golden case."""

    id: str
    path: Path
    kind: Literal["plan", "order", "follow_up"]
    guideline: str
    picture: dict[str, Any]
    request: dict[str, Any]
    as_of: date
    options: dict[str, Any]
    expect: dict[str, Any] | None
    title: str = ""


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def load_vignette(path: Path) -> Vignette:
    """Read one vignette file (with the size, depth and alias limits of every document).

    Raises :class:`~b12.core.errors.InputError` naming the file when it cannot be used.
    """
    return _vignette(path, parse_yaml(read_bytes(path, field=str(path)), field=str(path)))


def _vignette(path: Path, doc: Any) -> Vignette:
    if not isinstance(doc, dict) or doc.get("id") != path.stem:
        raise InputError([FieldProblem(str(path), "id must equal the file name")])
    try:
        as_of = parse_iso_date(str(doc.get("as_of")))
    except ValueError as exc:
        raise InputError([FieldProblem(f"{path}: as_of", str(exc))]) from None
    kind = doc.get("kind", "plan")
    if kind not in ("plan", "order", "follow_up"):
        raise InputError([FieldProblem(f"{path}: kind", "must be plan, order or follow_up")])
    part = "picture" if kind == "plan" else "request"
    if not isinstance(doc.get(part), dict):
        raise InputError([FieldProblem(f"{path}: {part}", "required: a mapping")])
    request = _plain(doc["request"]) if kind != "plan" else {}
    picture = _plain(doc["picture"]) if kind == "plan" else dict(request.get("picture") or {})
    return Vignette(
        id=doc["id"],
        path=path,
        kind=kind,
        guideline=picture.get("guideline", "uk"),
        picture=picture,
        request=request,
        as_of=as_of,
        options=_plain(doc.get("options") or {}),
        expect=_plain(doc["expect"]) if doc.get("expect") is not None else None,
        title=str(doc.get("title") or ""),
    )


def load_vignettes(folder: Path) -> list[Vignette]:
    """Every ``*.yaml`` vignette in ``folder``, by id (parsed YAML cached by content hash)."""
    paths = sorted(folder.glob("*.yaml"))
    bundle = read_bundle(folder, paths, label="vignettes")
    if bundle.failures:
        first = bundle.failures[0]
        raise ValueError(f"{folder / first.path}: {first.message}")
    return [_vignette(p, bundle.documents[p.name]) for p in paths]


def run_vignette(v: Vignette, kb: KnowledgeBase) -> Plan | OrderCheckResult | FollowUpResult:
    """Compute the plan, order check or follow-up a vignette describes."""
    opts = PlanOptions(
        horizon_months=parse_horizon(str(v.options["horizon"])) if "horizon" in v.options else None,
        allow_draft=bool(v.options.get("allow_draft", False)),
    )
    if v.kind == "order":
        return order_check_request(v.request, kb, default_as_of=v.as_of, options=opts)
    if v.kind == "follow_up":
        return follow_up_request(v.request, kb, default_as_of=v.as_of, options=opts)
    _, plan = plan_request(v.picture, kb, default_as_of=v.as_of, options=opts)
    return plan


def _sources(references: tuple[ReferenceOut, ...]) -> list[str]:
    return sorted({r.source_id for r in references})


def summarize_result(result: Plan | OrderCheckResult | FollowUpResult) -> dict[str, Any]:
    """The ``expect`` form of any vignette result."""
    if isinstance(result, OrderCheckResult):
        return summarize_order(result)
    if isinstance(result, FollowUpResult):
        return summarize_follow_up(result)
    return summarize(result)


def _due(due: NextDue | None) -> str | None:
    if due is None:
        return None
    if due.continuous:
        return f"{due.date} continuous"
    return f"{due.date} window {due.earliest}..{due.latest}"


def _course(reading: CourseReadingOut | None) -> dict[str, Any]:
    """How the phase was read, when it was not simply counted from the first recorded dose."""
    if reading is None or reading.basis == "recorded":
        return {}
    text = f"{reading.basis} {reading.pattern}"
    if reading.loading_ended:
        text += f" loading ended {reading.loading_ended}"
    if reading.maintenance_since:
        text += f" maintenance since {reading.maintenance_since}"
    if reading.every_months:
        text += f" every {reading.every_months} months"
    return {"course": text}


def summarize_order(result: OrderCheckResult) -> dict[str, Any]:
    """The ``expect`` form of an order check (``course`` only when declared, inferred or
    ambiguous)."""
    t = result.timing
    return {
        "verdict": result.verdict,
        "product": result.product,
        "timing": f"{t.status}"
        + (f" {t.phase}" if t.phase else "")
        + (f" due {_due(t.due)}" if t.due else "")
        + (f" by {t.days_off} days" if t.days_off else ""),
        **_course(result.course),
        "alerts": [f"{a.code} {a.severity}" for a in result.alerts],
        "disagreements": [d.recs[0] for d in result.disagreements],
        "recommendations": [r.id for r in result.recommendations],
        "sources": _sources(result.references),
        "review_status": result.review_status,
    }


def summarize_follow_up(result: FollowUpResult) -> dict[str, Any]:
    """The ``expect`` form of a follow-up (``course`` only when declared, inferred or
    ambiguous)."""
    return {
        "status": result.status,
        "pathway": result.pathway.id,
        "regimen": result.regimen.id if result.regimen else None,
        "phase": result.phase,
        **_course(result.course),
        "doses_in_phase": result.doses_in_phase,
        "next_due": _due(result.next_due),
        "overdue_days": result.overdue_days,
        "advice": [a.code for a in result.advice],
        "alerts": [f"{a.code} {a.severity}" for a in result.alerts],
        "missing": [m.field for m in result.missing],
        "recommendations": [r.id for r in result.recommendations],
        "sources": _sources(result.references),
        "review_status": result.review_status,
    }


def _window(e: Any) -> str:
    return f" window {e.window.earliest}..{e.window.latest}" if e.window else ""


def summarize(plan: Plan) -> dict[str, Any]:
    """The ``expect`` form of a plan: decisions, dates and ids, no prose."""
    refs = {r.n: r.source_id for r in plan.references}
    out: dict[str, Any] = {
        "status": plan.status,
        "deficiency": plan.deficiency.status,
        "pathway": plan.pathway.id,
        "alternatives": [a.id for a in plan.pathway.alternatives],
        "regimen": plan.regimen.id if plan.regimen else None,
        "lifelong": [p.name for p in plan.regimen.phases if p.lifelong] if plan.regimen else [],
        "schedule": [
            f"{e.date} {e.kind}"
            + (f" {e.phase} {e.dose.micrograms}ug {e.route}" if e.kind == "dose" and e.dose else "")
            + (f" {e.repeats}" if e.repeat else f" then {e.repeats}" if e.repeats else "")
            + _window(e)
            + (f" [{', '.join(e.recs)}]" if e.kind != "dose" else "")
            for e in plan.schedule
        ],
        "schedule_continues": plan.schedule_continues,
        "monitoring": [
            f"{m.date or 'when ' + str(m.after)}: {', '.join(m.tests)} [{', '.join(m.recs)}]"
            for m in plan.monitoring
        ],
        "alerts": [f"{a.code} {a.severity}" for a in plan.alerts],
        "disagreements": [d.recs[0] for d in plan.disagreements],
        "missing": [m.field for m in plan.missing],
        "recommendations": [r.id for r in plan.recommendations],
        "sources": sorted({refs[n] for n in refs}),
        "review_status": plan.review_status,
    }
    return out


def coverage_problems(kb: KnowledgeBase, vignettes: list[Vignette]) -> list[str]:
    """Each approved recommendation must fire in one vignette and be silent in one of its set."""
    fired: dict[str, set[str]] = {}
    silent: dict[str, set[str]] = {}
    for v in vignettes:
        used = {r.id for r in run_vignette(v, kb).recommendations}
        for rid, rec in kb.recommendations.items():
            if v.guideline not in rec.jurisdiction:
                continue
            (fired if rid in used else silent).setdefault(rid, set()).add(v.id)
    problems = []
    for rid, rec in kb.recommendations.items():
        if rec.status != "approved":
            continue
        if not fired.get(rid):
            problems.append(f"{rid} is not exercised by any vignette where it fires")
        if not silent.get(rid):
            problems.append(f"{rid} has no vignette where it must not fire")
    return problems
