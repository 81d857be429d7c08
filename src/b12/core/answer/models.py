"""Output model of ``answer`` (PRODUCT.md §6 Answer).  Frozen; tuples, not lists; stable order.

Every sentence in an answer (headline and section items) is a knowledge-base text: a
recommendation's ``clinician_text`` / ``patient_text``, a regimen phase's text, or one side of a
disagreement.  ``recs`` names the recommendation each sentence came from and ``refs`` the
numbered references (``references``) it cites, numbered in order of first use.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from b12.core.knowledge import OutputReviewLevel
from b12.core.plan_models import Out, ReferenceOut

Audience = Literal["clinician", "patient"]
Guideline = Literal["uk", "us"]
Basis = Literal["secondary", "content_team"]
SectionKey = Literal["algorithm", "special_populations", "monitoring", "pitfalls", "alternatives"]


class Headline(Out):
    """The one-sentence recommendation at the top of the answer.

    ``answers`` is the yes / no / it-depends of a yes/no question (the text starts with it);
    ``applies_if`` the open condition the headline statement holds under.

    ``pathway`` and ``regimen`` are set when the headline is a treatment decision: for a
    question that describes a patient they are exactly what ``b12 plan`` chooses for the
    picture in ``parameters.picture``; for a question that asks for the regimen they may also
    be the regimen given under the headline's stated condition (``applies_if``).
    """

    text: str
    refs: tuple[int, ...]
    recs: tuple[str, ...]
    pathway: str | None = None
    regimen: str | None = None
    applies_if: str | None = None
    answers: Literal["yes", "no", "depends"] | None = None
    basis: Basis | None = None


class AnswerItem(Out):
    """One sentence of a section, with its references and its recommendation.

    ``applies_if`` is set when the statement holds only under a condition the question leaves
    open (the text then starts "If …"); ``basis`` when it rests on a secondary summary or on
    the content team's judgement rather than on a primary source.
    """

    text: str
    refs: tuple[int, ...]
    recs: tuple[str, ...]
    applies_if: str | None = None
    basis: Basis | None = None


class AnswerSection(Out):
    """A titled group of items; ``key`` is stable, ``title`` comes from the knowledge base."""

    key: SectionKey
    title: str
    items: tuple[AnswerItem, ...]


class LabValue(Out):
    """A laboratory value quoted in the question, with the unit if one was given."""

    value: float
    unit: str | None = None


class Parameters(Out):
    """What the engine read from the question (the "slots").

    ``picture`` is the ClinicalPicture document built from the slots when the question
    describes a patient and gives an age (``None`` otherwise).  Nothing is assumed (issue 14):
    ``assumed`` stays empty and is kept for compatibility.  ``form`` is the question's form
    (``yesno``, ``how_often`` …) and ``depends_on`` the open conditions the headline depends on.
    """

    intent: Literal["regimen", "monitoring", "diagnosis", "safety"] | None = None
    neuro: bool | None = None
    populations: tuple[str, ...] = ()
    route: str | None = None
    routes: tuple[str, ...] = ()
    formulations: tuple[str, ...] = ()
    interval_days: float | None = None
    serum_b12: LabValue | None = None
    labs: dict[str, float] = Field(default_factory=dict)
    age: int | None = None
    sex: Literal["female", "male"] | None = None
    deficiency: str | None = None
    route_preference: Literal["im", "oral"] | None = None
    audience_cue: Audience | None = None
    guideline_cue: Guideline | None = None
    describes_patient: bool = False
    picture: dict[str, Any] | None = None
    assumed: tuple[str, ...] = ()
    form: str | None = None
    depends_on: tuple[str, ...] = ()


class Topic(Out):
    """A covered topic near an unanswered question: a recommendation and a question it answers."""

    id: str
    title: str
    question: str | None = None


class Answer(Out):
    """The answer to one question (PRODUCT.md §6 Answer).

    ``status`` is ``no_answer`` when the question is outside what the reviewed knowledge base
    covers: then ``headline`` is ``None``, ``message`` is the knowledge base's no-answer text and
    ``nearest_topics`` lists the closest covered topics.  ``matched`` lists the retrieved
    recommendation ids in rank order (retrieval only; the headline may be chosen by the rules).
    ``framing`` is the knowledge base's "your clinician decides" text, always set on a patient
    answer.  ``normaliser_version`` is ``answering.yaml``'s ``version``.
    """

    question: str
    status: Literal["answered", "no_answer"]
    audience: Audience
    guideline: Guideline
    headline: Headline | None
    message: str | None = None
    framing: str | None = None
    sections: tuple[AnswerSection, ...]
    references: tuple[ReferenceOut, ...]
    related_questions: tuple[str, ...]
    related_questions_title: str
    nearest_topics: tuple[Topic, ...] = ()
    nearest_topics_title: str | None = None
    review_status: Literal["approved", "pending_review"]
    review_level: OutputReviewLevel
    """How far the content behind this answer was reviewed (lowest of the items used)."""
    review_label: str
    content_version: str
    normaliser_version: str
    disclaimer: str
    matched: tuple[str, ...]
    parameters: Parameters
    normalised: str
