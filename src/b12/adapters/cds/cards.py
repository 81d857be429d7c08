"""CDS Hooks cards from the engine's results (order check, follow-up, plan).

Pure apart from ``uuid5``: the same inputs give the same cards (card and suggestion ``uuid``s
are derived from the ``hookInstance``), so feedback can be matched to what was shown.  Every
clinical sentence comes from the knowledge base through the engine's outputs; each card cites
its references by number.  :func:`prune` removes ``null`` and empty values, which CDS Hooks
forbids everywhere except the top-level ``cards: []``.

Card fields (CDS Hooks 2.0): ``summary`` under 140 characters; ``indicator`` stop → critical,
warning → warning, info → info; ``source`` labelled with b12 and the primary source, its
``url`` when the knowledge base has an https one, and a ``topic`` Coding for the alert code;
``overrideReasons`` from ``vocabulary.yaml`` → ``override_reasons``; ``suggestions`` (an
``update`` of the draft order to the guideline regimen) always with ``selectionBehavior``.

Text from the request (an EHR's dose unit, medication or route text, a reason quoting it) is
never Markdown: it goes into ``detail`` only through :func:`untrusted`, which shows it as an
inline code span, where CommonMark and GFM interpret nothing (no link, image, HTML or
autolink).  Summaries and labels hold knowledge-base words and valid FHIR ids only.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from b12.core.course_models import FollowUpResult, OrderCheckResult
from b12.core.knowledge import KnowledgeBase
from b12.core.plan_models import AlertOut, Plan, ReferenceOut

ALERT_SYSTEM = "https://b12.example/fhir/CodeSystem/alert-code"
OVERRIDE_SYSTEM = "https://b12.example/fhir/CodeSystem/override-reason"
TOPIC_SYSTEM = "https://b12.example/fhir/CodeSystem/cds-topic"
INDICATOR = {"stop": "critical", "warning": "warning", "info": "info"}
INDICATOR_RANK = {"critical": 0, "warning": 1, "info": 2}
#: CDS Hooks: "One-sentence, <140-character summary".
MAX_SUMMARY = 139
ELLIPSIS = "…"
GENERIC_LABEL = "b12 clinical decision support"
#: Namespace of every card and suggestion uuid (uuid5 over the hook instance and a key).
UUID_NAMESPACE = uuid.UUID("6f1c2b8e-4d0a-5e7b-9a3c-b12cd5ca4d00")
#: Longest request-supplied text shown on a card (the rest is cut with an ellipsis).
MAX_UNTRUSTED = 300
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_BACKTICKS = re.compile(r"`+")


# -- request text --------------------------------------------------------------------------------


def untrusted(text: str, limit: int = MAX_UNTRUSTED) -> str:
    """Request-supplied ``text`` made safe for a Markdown ``detail``: an inline code span.

    Control characters and line breaks become spaces (a code span cannot hold a block), the
    text is cut at ``limit`` characters, and the fence is one backtick longer than the longest
    run inside, padded with spaces, so nothing in ``text`` can close the span.  Inside a code
    span CommonMark renders every character literally.
    """
    line = " ".join(_CONTROL.sub(" ", text).split())
    if len(line) > limit:
        line = line[: limit - 1] + ELLIPSIS
    if not line:
        return "` `"
    longest = max((len(run) for run in _BACKTICKS.findall(line)), default=0)
    fence = "`" * (longest + 1)
    return f"{fence} {line} {fence}"


# -- JSON hygiene --------------------------------------------------------------------------------


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | list | tuple | dict) and len(value) == 0)


def prune(value: Any) -> Any:
    """``value`` without ``null``, ``""``, ``[]`` or ``{}`` anywhere (removed bottom-up)."""
    if isinstance(value, dict):
        out = {k: prune(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if not _is_empty(v)}
    if isinstance(value, list | tuple):
        items = [prune(v) for v in value]
        return [v for v in items if not _is_empty(v)]
    if isinstance(value, str):
        return value if value.strip() else ""
    return value


def empty_paths(value: Any, path: str = "$", *, allow: Iterable[str] = ("$.cards",)) -> list[str]:
    """Every path in ``value`` holding ``null`` or an empty string, list or object.

    ``allow`` names the paths that may be empty (by default the top-level ``cards``).
    """
    allowed = set(allow)
    found: list[str] = []
    if path not in allowed and (
        value is None or (isinstance(value, str) and not value.strip()) or _is_empty(value)
    ):
        found.append(path)
    if isinstance(value, dict):
        for key, item in value.items():
            found += empty_paths(item, f"{path}.{key}", allow=allowed)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += empty_paths(item, f"{path}[{i}]", allow=allowed)
    return found


def response(cards: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The hook response: pruned cards, most urgent first (``{"cards": []}`` when none)."""
    pruned = [prune(dict(c)) for c in cards]
    pruned.sort(key=lambda c: INDICATOR_RANK.get(str(c.get("indicator")), 3))
    return {"cards": pruned}


# -- small builders ------------------------------------------------------------------------------


def summary(text: str, limit: int = MAX_SUMMARY) -> str:
    """One line of at most ``limit`` characters; cut at a word boundary with an ellipsis."""
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    cut = line[: limit - len(ELLIPSIS)]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-—") + ELLIPSIS


def card_uuid(hook_instance: str, *parts: str) -> str:
    """A uuid stable for one hook call and one card (or suggestion) key."""
    return str(uuid.uuid5(UUID_NAMESPACE, "|".join((hook_instance, *parts))))


def _short_source(kb: KnowledgeBase, source_id: str) -> str:
    """``NICE 2024``; empty for b12's own content (the generic label says it already)."""
    src = kb.sources.get(source_id)
    if src is None or src.kind == "content-team":
        return ""
    return f"{src.publisher} {src.year}"


def source(
    kb: KnowledgeBase,
    refs: Sequence[int],
    references: Sequence[ReferenceOut],
    topic: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """``source``: b12 and the primary (first cited) source, its https URL, and the topic."""
    by_n = {r.n: r for r in references}
    primary = by_n.get(refs[0]) if refs else None
    label, url = GENERIC_LABEL, None
    if primary is not None:
        short = _short_source(kb, primary.source_id)
        if short:
            label = f"b12 — {short}"
        src = kb.sources.get(primary.source_id)
        if src is not None and src.url and src.url.startswith("https://"):
            url = src.url
    return {"label": label, "url": url, "topic": dict(topic) if topic else None}


def alert_topic(alert: AlertOut) -> dict[str, str]:
    """The alert code as a Coding of b12's own alert-code system."""
    return {"system": ALERT_SYSTEM, "code": alert.code, "display": alert.title}


def override_reasons(kb: KnowledgeBase) -> list[dict[str, str]]:
    """The override reasons of the knowledge base as Codings (each with a ``display``)."""
    return [
        {"system": OVERRIDE_SYSTEM, "code": code, "display": term.label}
        for code, term in kb.vocabulary.override_reasons.items()
    ]


def cite(refs: Sequence[int]) -> str:
    """``[1][3]`` for inline citation."""
    return "".join(f"[{n}]" for n in refs)


def references_markdown(refs: Iterable[int], references: Sequence[ReferenceOut]) -> str:
    """The numbered reference list for ``refs`` (keeping the result's own numbers)."""
    wanted = list(dict.fromkeys(refs))
    by_n = {r.n: r for r in references}
    lines = [f"{n}. {by_n[n].citation} — {by_n[n].locator}" for n in sorted(wanted) if n in by_n]
    return "References:\n\n" + "\n".join(lines) if lines else ""


def _detail(
    parts: Iterable[str | None],
    refs: Iterable[int],
    references: Sequence[ReferenceOut],
    banner: str | None,
    disclaimer: str | None,
) -> str:
    blocks = [f"**{banner}**" if banner else None, *parts]
    blocks += [references_markdown(refs, references), f"_{disclaimer}_" if disclaimer else None]
    return "\n\n".join(b for b in blocks if b)


def suggestion(
    hook_instance: str,
    order_ref: str,
    *,
    label: str,
    description: str,
    resource: Mapping[str, Any],
) -> dict[str, Any]:
    """One recommended suggestion: ``update`` the draft order to ``resource`` (the whole one)."""
    return {
        "label": summary(label, 200),
        "uuid": card_uuid(hook_instance, order_ref, "suggestion"),
        "isRecommended": True,
        "actions": [{"type": "update", "description": description, "resource": dict(resource)}],
    }


# -- order hooks -----------------------------------------------------------------------------------


def order_cards(
    result: OrderCheckResult,
    kb: KnowledgeBase,
    *,
    hook_instance: str,
    order_ref: str,
    product_label: str,
    suggestions: Sequence[Mapping[str, Any]] = (),
) -> list[dict[str, Any]]:
    """One card per alert of the order check; suggestions go on the most urgent card.

    ``order_ref`` (``MedicationRequest/<id>``) keeps card uuids distinct between orders.
    """
    cards: list[dict[str, Any]] = []
    reasons = override_reasons(kb)
    disagreements = [
        f"{d.topic}: " + " / ".join(f"{p.says} {cite(p.refs)}" for p in d.positions)
        for d in result.disagreements
    ]
    for i, alert in enumerate(result.alerts):
        indicator = INDICATOR[alert.severity]
        refs = list(alert.refs)
        extra = disagreements if i == 0 else []
        for d in result.disagreements if i == 0 else ():
            refs += [n for p in d.positions for n in p.refs]
        card: dict[str, Any] = {
            "uuid": card_uuid(hook_instance, order_ref, alert.code),
            "summary": summary(f"{alert.title} ({product_label})"),
            "indicator": indicator,
            "detail": _detail(
                [f"{alert.message} {cite(alert.refs)}", *extra],
                refs,
                result.references,
                result.review_banner,
                result.disclaimer,
            ),
            "source": source(kb, alert.refs, result.references, alert_topic(alert)),
            "overrideReasons": reasons if indicator != "info" else None,
        }
        if i == 0 and suggestions:
            card["suggestions"] = [dict(s) for s in suggestions]
            card["selectionBehavior"] = "at-most-one"
        cards.append(card)
    return cards


def regimen_card(
    plan: Plan,
    kb: KnowledgeBase,
    *,
    hook_instance: str,
    order_ref: str,
    product_label: str,
    suggestions: Sequence[Mapping[str, Any]],
) -> dict[str, Any] | None:
    """An info card offering the guideline regimen when the order differs and no alert did."""
    regimen = plan.regimen
    if regimen is None or not suggestions:
        return None
    phases = "\n".join(f"- {p.text}" for p in regimen.phases)
    return {
        "uuid": card_uuid(hook_instance, order_ref, "regimen"),
        "summary": summary(f"{regimen.title} ({product_label})"),
        "indicator": "info",
        "detail": _detail(
            [f"**{regimen.title}** {cite(regimen.refs)}", phases],
            regimen.refs,
            plan.references,
            plan.review_banner,
            plan.disclaimer,
        ),
        "source": source(
            kb,
            regimen.refs,
            plan.references,
            {"system": TOPIC_SYSTEM, "code": "guideline-regimen", "display": regimen.title},
        ),
        "suggestions": [dict(s) for s in suggestions],
        "selectionBehavior": "at-most-one",
        "overrideReasons": override_reasons(kb),
    }


def unchecked_card(
    kb: KnowledgeBase,
    *,
    hook_instance: str,
    order_ref: str,
    product_label: str,
    reasons: str,
    title: str,
) -> dict[str, Any]:
    """A warning card: a B12 or folic acid order b12 could not check (``title``), and why.

    ``reasons`` may quote the request (a unit, a route text): it is shown as :func:`untrusted`.
    """
    return notice_card(
        kb,
        hook_instance=hook_instance,
        key=f"{order_ref}|unchecked",
        title=f"{title} ({product_label})",
        detail=[untrusted(reasons)],
        indicator="warning",
        topic="order-not-checked",
        display=title,
    )


def notice_card(
    kb: KnowledgeBase,
    *,
    hook_instance: str,
    key: str,
    title: str,
    detail: Sequence[str],
    indicator: str,
    topic: str,
    display: str | None = None,
) -> dict[str, Any]:
    """A card about the check itself (not a clinical alert): what b12 could not do, and why.

    ``detail`` blocks are Markdown written by b12; request text in them must be
    :func:`untrusted` already.  Warnings carry the override reasons, like every other card.
    """
    return {
        "uuid": card_uuid(hook_instance, *key.split("|")),
        "summary": summary(title),
        "indicator": indicator,
        "detail": _detail(detail, (), (), None, kb.vocabulary.disclaimer),
        "source": {
            "label": GENERIC_LABEL,
            "topic": {"system": TOPIC_SYSTEM, "code": topic, "display": display or title},
        },
        "overrideReasons": override_reasons(kb) if indicator != "info" else None,
    }


# -- patient-view --------------------------------------------------------------------------------


def _alert_lines(alerts: Iterable[AlertOut]) -> list[str]:
    return [f"- **{a.title}**: {a.message} {cite(a.refs)}" for a in alerts]


def alert_cards(
    alerts: Sequence[AlertOut],
    references: Sequence[ReferenceOut],
    kb: KnowledgeBase,
    *,
    hook_instance: str,
    key: str,
    banner: str | None,
    disclaimer: str,
) -> list[dict[str, Any]]:
    """A card for each stop or warning alert (info alerts stay in the status card)."""
    reasons = override_reasons(kb)
    return [
        {
            "uuid": card_uuid(hook_instance, key, a.code),
            "summary": summary(a.title),
            "indicator": INDICATOR[a.severity],
            "detail": _detail(
                [f"{a.message} {cite(a.refs)}"], a.refs, references, banner, disclaimer
            ),
            "source": source(kb, a.refs, references, alert_topic(a)),
            "overrideReasons": reasons,
        }
        for a in alerts
        if a.severity != "info"
    ]


def follow_up_card(
    result: FollowUpResult,
    kb: KnowledgeBase,
    *,
    hook_instance: str,
    labels: Mapping[str, str],
) -> dict[str, Any]:
    """The registry course: next dose due or overdue, advice, missing data (patient-view).

    ``labels`` holds the few fixed words of the card (``next_due``, ``overdue``,
    ``continuous``, ``missing``) so that the wording lives with the caller's templates.
    """
    regimen = result.regimen
    what = regimen.title if regimen else result.pathway.title
    due = result.next_due
    if due is not None and due.continuous:
        head = f"{what}: {labels['continuous']}"
    elif due is not None and result.overdue_days > 0:
        head = f"{labels['overdue']} {result.overdue_days} d ({due.latest.isoformat()}): {what}"
    elif due is not None:
        head = f"{labels['next_due']} {due.date.isoformat()}: {what}"
    else:
        head = what
    # Stop and warning alerts get cards of their own (alert_cards); this one is the status.
    indicator = "warning" if result.overdue_days > 0 or result.status != "ok" else "info"
    info = [a for a in result.alerts if a.severity == "info"]
    refs = [n for a in result.advice for n in a.refs] + [n for m in result.missing for n in m.refs]
    refs += [n for a in info for n in a.refs]
    window = None
    if due is not None and not due.continuous:
        window = f"{labels['next_due']} {due.date.isoformat()}"
        if due.earliest != due.latest:
            window += f" ({due.earliest.isoformat()} – {due.latest.isoformat()})"
    phase = result.phase
    if phase and result.phase_kind and result.phase_kind != phase:
        phase = f"{phase} ({result.phase_kind})"
    parts = [
        f"**{what}**" + (f" — {phase}" if phase else ""),
        window,
        "\n".join(f"- {a.text} {cite(a.refs)}" for a in result.advice),
        "\n".join(_alert_lines(info)),
        "\n".join(
            f"- {labels['missing']} `{m.field}`: {m.why} {cite(m.refs)}" for m in result.missing
        ),
    ]
    return {
        "uuid": card_uuid(hook_instance, "status"),
        "summary": summary(head),
        "indicator": indicator,
        "detail": _detail(parts, refs, result.references, result.review_banner, result.disclaimer),
        "source": source(
            kb,
            refs,
            result.references,
            {"system": TOPIC_SYSTEM, "code": "b12-status", "display": result.pathway.title},
        ),
    }


def plan_card(
    plan: Plan,
    kb: KnowledgeBase,
    *,
    hook_instance: str,
    observed: Sequence[str],
    labels: Mapping[str, str],
) -> dict[str, Any]:
    """The B12 status from the EHR's data alone: pathway, why, missing data and monitoring.

    ``observed`` lists the results used (already formatted with their dates).
    """
    why = "\n".join(f"- {c.text} {cite(c.refs)}" for c in plan.pathway.why)
    missing = "\n".join(
        f"- {labels['missing']} `{m.field}`: {m.why} {cite(m.refs)}" for m in plan.missing
    )
    monitoring = []
    for m in plan.monitoring[:6]:
        tests = ", ".join(
            kb.vocabulary.tests[t].label if t in kb.vocabulary.tests else t for t in m.tests
        )
        if m.date is not None:
            when = labels["after_start"].format(days=(m.date - plan.start).days)
        else:
            when = m.after or ""
        monitoring.append(f"- {tests} — {when} {cite(m.refs)}")
    # Stop and warning alerts get cards of their own (alert_cards); this one is the status.
    indicator = "warning" if plan.status in ("needs_more_data", "refer") else "info"
    info = [a for a in plan.alerts if a.severity == "info"]
    refs = [n for c in plan.pathway.why for n in c.refs] + [n for m in plan.missing for n in m.refs]
    refs += [n for m in plan.monitoring[:6] for n in m.refs] + [n for a in info for n in a.refs]
    regimen = plan.regimen.title if plan.regimen else None
    parts = [
        f"**{plan.pathway.title}**" + (f" — {regimen}" if regimen else ""),
        why,
        "\n".join(f"- {o}" for o in observed),
        missing,
        f"**{labels['monitoring']}**\n\n" + "\n".join(monitoring) if monitoring else None,
        "\n".join(_alert_lines(info)),
    ]
    return {
        "uuid": card_uuid(hook_instance, "status"),
        "summary": summary(f"{labels['status']}: {plan.pathway.title}"),
        "indicator": indicator,
        "detail": _detail(parts, refs, plan.references, plan.review_banner, plan.disclaimer),
        "source": source(
            kb,
            refs,
            plan.references,
            {"system": TOPIC_SYSTEM, "code": "b12-status", "display": plan.pathway.title},
        ),
    }
