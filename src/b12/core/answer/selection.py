"""What an answer says, before layout: the headline fact, its branches and the sections.

The facts step (``select.py``, ``second_look.py``, ``stance.py``) fills a :class:`Selection`;
``compose.py`` only lays it out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from b12.core.answer.facts import Known
from b12.core.answer.models import SectionKey
from b12.core.answer.stance import Stance
from b12.core.knowledge import Recommendation

SECTION_ORDER: tuple[SectionKey, ...] = (
    "algorithm",
    "special_populations",
    "monitoring",
    "pitfalls",
    "alternatives",
)


@dataclass(frozen=True, slots=True)
class Fact:
    """One recommendation to show: as a fact (``condition`` None) or under its open condition.

    ``otherwise`` marks the default side of an "it depends" answer: it holds when none of the
    other branches' conditions does (``condition`` spells that out).
    """

    rec: Recommendation
    condition: str | None = None
    otherwise: bool = False


@dataclass(slots=True)
class Selection:
    """What the answer says, before layout: the headline, its branches, the sections."""

    known: Known
    headline: Fact | None = None
    pathway: str | None = None
    regimen: str | None = None
    depends: list[str] = field(default_factory=list)
    branches: list[Fact] = field(default_factory=list)
    placed: dict[SectionKey, list[Fact]] = field(
        default_factory=lambda: {k: [] for k in SECTION_ORDER}
    )
    seen: set[str] = field(default_factory=set)
    picture: dict[str, Any] | None = None
    named: bool = False
    decision: Fact | None = None
    uncovered: list[str] = field(default_factory=list)
    asks_regimen: bool = False
    #: What the headline answers (``stance.decide``): yes, no, depends, unproven or None.
    answers: Stance | None = None
    #: The headline is the regimen asked for ("how often?"), its condition written out.
    states_regimen: bool = False

    def place(self, key: SectionKey, fact: Fact) -> None:
        if fact.rec.id not in self.seen:
            self.seen.add(fact.rec.id)
            self.placed[key].append(fact)

    def used(self) -> list[Fact]:
        """Every fact of the answer, headline first."""
        out = [self.headline] if self.headline else []
        if self.decision is not None and self.decision is not self.headline:
            out.append(self.decision)
        out += self.branches
        out += [f for k in SECTION_ORDER for f in self.placed[k]]
        return out
