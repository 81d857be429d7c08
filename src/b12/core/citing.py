"""Numbering references in order of first use, so every output item can say ``refs: [n]``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypedDict

from b12.core.knowledge import (
    REVIEW_LEVEL_LABELS,
    Citation,
    KnowledgeBase,
    OutputReviewLevel,
    Recommendation,
    Regimen,
    lowest_review_level,
    review_level_of,
)
from b12.core.plan_models import ReferenceOut, UsedRecommendation


class ReviewFields(TypedDict):
    """The review-level fields every output carries."""

    review_level: OutputReviewLevel
    review_label: str


class ReferenceBook:
    """Collects citations and recommendations as an output is assembled."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self._kb = kb
        self._numbers: dict[tuple[str, str], int] = {}
        self._refs: list[ReferenceOut] = []
        self._recs: dict[str, Recommendation] = {}

    def cite(self, citations: Iterable[Citation]) -> tuple[int, ...]:
        """Number each citation (reusing numbers) and return them in order, without repeats."""
        out: list[int] = []
        for cit in citations:
            key = (cit.source, cit.locator)
            n = self._numbers.get(key)
            if n is None:
                n = len(self._refs) + 1
                self._numbers[key] = n
                src = self._kb.sources[cit.source]
                self._refs.append(
                    ReferenceOut(
                        n=n,
                        source_id=src.id,
                        citation=src.citation,
                        locator=cit.locator,
                        evidence=src.evidence,
                        verification=cit.verification,
                    )
                )
            if n not in out:
                out.append(n)
        return tuple(out)

    def use(self, rec: Recommendation) -> tuple[int, ...]:
        """Record that ``rec`` contributed, and cite its sources."""
        self._recs[rec.id] = rec
        return self.cite(rec.citations)

    @property
    def references(self) -> tuple[ReferenceOut, ...]:
        """Every numbered reference, in order."""
        return tuple(self._refs)

    @property
    def used(self) -> tuple[UsedRecommendation, ...]:
        """Every recommendation that contributed, by id."""
        return tuple(
            UsedRecommendation(
                id=r.id, version=r.version, status=r.status, evidence=r.evidence, title=r.title
            )
            for r in sorted(self._recs.values(), key=lambda r: r.id)
        )

    @property
    def all_approved(self) -> bool:
        """True when every contributing recommendation is approved."""
        return all(r.status == "approved" for r in self._recs.values())

    def review_level(self, guideline: str, regimen: Regimen | None = None) -> OutputReviewLevel:
        """The lowest review level of the contributing items and ``regimen`` (see
        :func:`output_review_level`)."""
        items: list[Recommendation | Regimen] = [*self._recs.values()]
        if regimen is not None:
            items.append(regimen)
        return output_review_level(self._kb, guideline, items)

    def review_fields(self, guideline: str, regimen: Regimen | None = None) -> ReviewFields:
        """``review_level`` and ``review_label`` for an output model."""
        level = self.review_level(guideline, regimen)
        return {"review_level": level, "review_label": REVIEW_LEVEL_LABELS[level]}


def output_review_level(
    kb: KnowledgeBase, guideline: str, items: Iterable[Recommendation | Regimen]
) -> OutputReviewLevel:
    """The lowest review level of the items an output used.

    With nothing contributing, the lowest level of the guideline set's approved content
    (the rules that were consulted and stayed silent).
    """
    found = lowest_review_level(review_level_of(i.status, i.review) for i in items)
    return found or kb.review_floor.get(guideline, "unreviewed")


def review_fields_of(
    kb: KnowledgeBase, guideline: str, items: Iterable[Recommendation | Regimen]
) -> ReviewFields:
    """``review_level`` and ``review_label`` for an output built from ``items``."""
    level = output_review_level(kb, guideline, items)
    return {"review_level": level, "review_label": REVIEW_LEVEL_LABELS[level]}
