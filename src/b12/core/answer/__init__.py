"""``answer(question, kb)`` — cited answers to free-text questions (PRODUCT.md C6).

Pure and deterministic: the knowledge base is an argument; nothing reads the clock, files,
environment or network, and the same question gives byte-identical JSON.  Pipeline::

    normalise (answering.yaml tables)      normalise.py
    → extract slots                        extract.py, extract_course.py (tables: lexicon.py)
    → retrieve (BM25 over approved content) retrieve.py
    → scope gate                           scope.py (reads the slots and retrieval strength)
    → evaluate facts                       facts.py (three-valued conditions, criteria.py)
                                           select.py (what the answer says: decision or
                                             retrieval path), second_look.py (the alert,
                                             order check or disagreement asked about),
                                             stance.py (what the headline answers),
                                             selection.py (the result: a Selection)
    → compose (layout only)                compose.py
    → Answer                               models.py

Every statement about the patient in the question comes from content whose condition holds
for what the question says; what the question leaves open is unknown, never assumed, and
content that depends on it is shown only as a condition ("If …") or not at all.

Only approved content answers: drafts, content under review and retired content are never
indexed and never used by ``plan()`` here.  See ``docs/answers.md``.
"""

from __future__ import annotations

import re
from typing import Any, Literal, cast

from b12.core.answer.compose import Request, compose, no_answer
from b12.core.answer.extract import extract
from b12.core.answer.models import Answer
from b12.core.answer.normalise import normalise
from b12.core.answer.retrieve import AnswerIndex, build_index, index_for
from b12.core.answer.scope import gate
from b12.core.answer.select import select
from b12.core.answer.selection import Selection
from b12.core.answer.stance import STANCE_FORMS
from b12.core.errors import FieldProblem, InputError
from b12.core.knowledge import KnowledgeBase

MAX_QUESTION_CHARS = 1000
AUDIENCES = ("clinician", "patient")
GUIDELINES = ("uk", "us")

__all__ = [
    "MAX_QUESTION_CHARS",
    "Answer",
    "AnswerIndex",
    "answer",
    "build_index",
    "evaluate_facts",
    "index_for",
]


def _check(question: Any, audience: Any, guideline: Any) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    if not isinstance(question, str):
        problems.append(FieldProblem("question", "expected text"))
    elif not question.strip():
        problems.append(FieldProblem("question", "must not be empty"))
    elif len(question) > MAX_QUESTION_CHARS:
        problems.append(
            FieldProblem("question", f"must be at most {MAX_QUESTION_CHARS} characters")
        )
    elif any(ord(c) < 32 and c not in "\t\n\r" for c in question) or "\ufffd" in question:
        problems.append(FieldProblem("question", "contains control characters"))
    if audience not in AUDIENCES:
        problems.append(FieldProblem("audience", f"expected one of {', '.join(AUDIENCES)}"))
    if guideline not in GUIDELINES:
        problems.append(FieldProblem("guideline", f"expected one of {', '.join(GUIDELINES)}"))
    return problems


def answer(
    question: str,
    kb: KnowledgeBase,
    *,
    audience: str = "clinician",
    guideline: str = "uk",
    index: AnswerIndex | None = None,
) -> Answer:
    """Answer ``question`` from ``kb`` for ``audience`` under the ``guideline`` set.

    A question that names one guideline set ("what does the FDA label say …", "NICE …") is
    answered under that set; ``answer.guideline`` says which was used.  ``index`` defaults to
    the one cached for ``kb`` (:func:`index_for`).  Raises :class:`InputError` naming
    ``question``, ``audience`` or ``guideline`` for bad input; never anything else.
    """
    req, selection = evaluate_facts(
        question, kb, audience=audience, guideline=guideline, index=index
    )
    if selection is None:
        return no_answer(kb, req)
    return compose(kb, req, selection)


def evaluate_facts(
    question: str,
    kb: KnowledgeBase,
    *,
    audience: str = "clinician",
    guideline: str = "uk",
    index: AnswerIndex | None = None,
) -> tuple[Request, Selection | None]:
    """The pipeline up to the facts step: the request and what the answer will say.

    ``None`` for the selection when the scope gate refuses the question.  ``answer`` lays the
    selection out; tests use it to check every statement against the question's facts.
    """
    problems = _check(question, audience, guideline)
    if problems:
        raise InputError(problems)
    if index is None or index.content_version != kb.content_version:
        index = index_for(kb)
    norm = normalise(question, index.table, index.known, index.common)
    slots = extract(norm, question, kb)
    pieces = question_parts(question)
    if len(pieces) > 1 and slots.form not in STANCE_FORMS:
        # A question with several parts is headed by its first part's form ("what dose …,
        # and when should levels be rechecked?" asks for a dose first); the patient it
        # describes is read from the whole question.  A question that asks for a yes or a no
        # anywhere keeps that form (its headline starts with yes, no or "it depends").
        first = extract(normalise(pieces[0], index.table, index.known, index.common), pieces[0], kb)
        for name in FORM_SLOTS:
            setattr(slots, name, getattr(first, name))
    used = slots.guideline_cue or guideline
    terms = index.terms(norm)
    hits = index.search(terms, used)
    req = Request(
        question=question,
        audience=cast(Literal["clinician", "patient"], audience),
        guideline=cast(Literal["uk", "us"], used),
        norm=norm,
        slots=slots,
        hits=hits,
    )
    lead = normalise(pieces[0], index.table, index.known, index.common) if len(pieces) > 1 else None
    if not gate(norm, terms, hits, index, slots, lead).in_scope:
        return req, None
    parts = []
    for text in question_parts(question)[1:]:
        part_norm = normalise(text, index.table, index.known, index.common)
        part_terms = index.terms(part_norm)
        part_hits = index.search(part_terms, used)
        part_slots = extract(part_norm, text, kb)
        # A part the scope gate would refuse on its own is not covered ("can I drive?").
        if not gate(part_norm, part_terms, part_hits, index, part_slots).in_scope:
            part_hits = ()
        parts.append((text, part_hits))
    return req, select(kb, index, slots, hits, used, audience, parts, terms)


#: The slots that say how a question asks (taken from the first part of a question with
#: several).
FORM_SLOTS = (
    "form",
    "intent",
    "regimen_question",
    "decision_question",
    "asks_next_dose",
    "asks_harm",
    "asks_deficiency",
)
#: A part of a question with several needs this many characters to be answered on its own.
MIN_PART_CHARS = 12


#: "…, and how soon …": a clause joined by "and" that asks a question of its own.
_JOINED_QUESTION = re.compile(
    r"[,;]\s*and\s+(?=(?:how|what|when|which|why|where|who|should|can|could|is|are|do|does|"
    r"will|would)\b)",
    re.IGNORECASE,
)

_LEADING_AND = re.compile(r"^(?:and|also|plus)\s+", re.IGNORECASE)


def question_parts(question: str) -> list[str]:
    """The parts of a question that asks several ("… what interval? and is it safe?", "what
    dose …, and how soon should I recheck?")."""
    pieces = [p.strip(" ,;-") for q in question.split("?") for p in _JOINED_QUESTION.split(q)]
    pieces = [_LEADING_AND.sub("", p) for p in pieces]
    return [p for p in pieces if len(p) >= MIN_PART_CHARS]
