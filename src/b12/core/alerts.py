"""Alerts and disagreements from the rules that hold, shared by plan, order check and follow-up."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from b12.core.citing import ReferenceBook
from b12.core.knowledge import AlertAction, DisagreementAction, KnowledgeBase, Recommendation
from b12.core.plan_models import AlertOut, DisagreementOut, PositionOut

SEVERITY_ORDER = {"stop": 0, "warning": 1, "info": 2}
Context = Literal["plan", "order", "follow_up"]


def collect_alerts(
    book: ReferenceBook, kb: KnowledgeBase, recs: Iterable[Recommendation], context: Context
) -> tuple[AlertOut, ...]:
    """One alert per code: rules raising the same code merge (most severe wins, texts joined)."""
    by_code: dict[str, AlertOut] = {}
    for rec in recs:
        if not (isinstance(rec.action, AlertAction) and context in rec.action.contexts):
            continue
        code = rec.action.code
        alert = AlertOut(
            code=code,
            severity=rec.action.severity,
            title=kb.vocabulary.alert_codes[code].title,
            message=rec.clinician_text,
            refs=book.use(rec),
            recs=(rec.id,),
        )
        by_code[code] = merge_alerts(by_code[code], alert) if code in by_code else alert
    return tuple(sorted(by_code.values(), key=lambda a: (SEVERITY_ORDER[a.severity], a.code)))


def merge_alerts(first: AlertOut, second: AlertOut) -> AlertOut:
    """Combine two alerts with the same code into one."""
    severity = min(first.severity, second.severity, key=SEVERITY_ORDER.__getitem__)
    return first.model_copy(
        update={
            "severity": severity,
            "message": f"{first.message} {second.message}",
            "refs": tuple(dict.fromkeys(first.refs + second.refs)),
            "recs": tuple(dict.fromkeys(first.recs + second.recs)),
        }
    )


def collect_disagreements(
    book: ReferenceBook, recs: Iterable[Recommendation], context: Context
) -> tuple[DisagreementOut, ...]:
    """Every disagreement among ``recs`` shown in ``context``, each side cited."""
    out: list[DisagreementOut] = []
    for rec in recs:
        if isinstance(rec.action, DisagreementAction) and context in rec.action.contexts:
            book.use(rec)
            positions = tuple(
                PositionOut(says=p.says, refs=book.cite(p.citations)) for p in rec.action.positions
            )
            out.append(DisagreementOut(topic=rec.action.topic, positions=positions, recs=(rec.id,)))
    return tuple(out)
