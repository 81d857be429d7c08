"""What a knowledge-base change would do, shown to the reviewer before they approve it.

A review decision changes every later plan, order check and follow-up.  Before a reviewer
approves, signs off, sends back or retires an item, the review page runs every golden vignette
(tests/vignettes/cases, or the folder named by ``B12_VIGNETTES_DIR``) with the knowledge base
as it is now and as it would be after the move, and lists the cases whose decisions change
(status, pathway, regimen, dated doses, alerts, monitoring, recommendations used, sources) and
the cases that use the item today.  Nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from b12.adapters.vignettes import Vignette, run_vignette, summarize_result
from b12.core.errors import InputError
from b12.core.knowledge import KnowledgeBase

#: Differences listed per key at most (the rest are counted).
MAX_LINES = 6


@dataclass(frozen=True)
class Difference:
    """One part of a case's decisions that the change alters."""

    key: str
    removed: tuple[str, ...]
    added: tuple[str, ...]
    more: int = 0


@dataclass(frozen=True)
class CaseChange:
    """A vignette whose decisions would change."""

    id: str
    title: str
    kind: str
    differences: tuple[Difference, ...]


@dataclass(frozen=True)
class Impact:
    """The vignettes checked, those using the item now, and those that would change."""

    checked: int
    using_now: tuple[tuple[str, str], ...]
    changed: tuple[CaseChange, ...]
    failed: tuple[tuple[str, str], ...]


def _lines(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, dict):
        return [f"{k}: {v}" for k, v in value.items()]
    return [] if value is None else [str(value)]


def _difference(key: str, before: Any, after: Any) -> Difference:
    old, new = _lines(before), _lines(after)
    removed = [line for line in old if line not in new]
    added = [line for line in new if line not in old]
    if not removed and not added:  # same lines, another order
        removed, added = old, new
    more = max(0, len(removed) - MAX_LINES) + max(0, len(added) - MAX_LINES)
    return Difference(key, tuple(removed[:MAX_LINES]), tuple(added[:MAX_LINES]), more)


def _summary(v: Vignette, kb: KnowledgeBase) -> tuple[dict[str, Any], set[str]]:
    result = run_vignette(v, kb)
    return summarize_result(result), {r.id for r in result.recommendations}


def impact(
    item_id: str, before: KnowledgeBase, after: KnowledgeBase, cases: list[Vignette]
) -> Impact:
    """Run every case with ``before`` and ``after``: what uses ``item_id``, and what changes."""
    using: list[tuple[str, str]] = []
    changed: list[CaseChange] = []
    failed: list[tuple[str, str]] = []
    for v in cases:
        try:
            old, used = _summary(v, before)
            new, _ = _summary(v, after)
        except InputError as exc:  # a case the knowledge base can no longer read
            failed.append((v.id, "; ".join(p.render() for p in exc.problems)))
            continue
        if item_id in used:
            using.append((v.id, v.title))
        diffs = tuple(
            _difference(k, old.get(k), new.get(k))
            for k in sorted(set(old) | set(new))
            if old.get(k) != new.get(k)
        )
        if diffs:
            changed.append(CaseChange(v.id, v.title, v.kind, diffs))
    return Impact(len(cases), tuple(using), tuple(changed), tuple(failed))
