"""``plan_to_pdf``: the printable patient plan, read back with pypdf."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from b12.adapters.exports.pdf import plan_to_pdf
from b12.adapters.exports.text import human_date, latin1, short_date
from b12.core.knowledge import KnowledgeBase
from b12.core.patient_view import patient_view
from b12.core.plan_models import Plan

FOOTER = re.compile(r"B12 plan - content version \S+\s+Page \d+ of \d+")


def _text(data: bytes) -> tuple[str, PdfReader]:
    """The document's text with the page footers taken out (a paragraph may span a page)."""
    reader = PdfReader(io.BytesIO(data))
    text = " ".join(FOOTER.sub(" ", page.extract_text()) for page in reader.pages)
    return re.sub(r"\s+", " ", text), reader


def _footers(reader: PdfReader) -> list[str]:
    return [m.group(0) for page in reader.pages for m in FOOTER.finditer(page.extract_text())]


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", latin1(text))


@pytest.mark.parametrize("name", ["pa_uk", "neuro_uk", "oral_uk", "pa_us"])
def test_pdf_has_dates_patient_text_and_disclaimer(
    kb: KnowledgeBase, plans: dict[str, Plan], name: str
) -> None:
    plan = plans[name]
    view = patient_view(plan, kb)
    data = plan_to_pdf(plan, view, label="Patient 7")
    assert data.startswith(b"%PDF-")
    text, reader = _text(data)
    assert "Patient 7" in text
    for entry in view.schedule:
        assert human_date(entry.date) in text
        if entry.window is not None:
            assert f"{short_date(entry.window.earliest)} to {short_date(entry.window.latest)}" in (
                text
            )
    for sentence in {e.what for e in view.schedule} | {view.headline.text}:
        assert _flat(sentence) in text
    for alert in view.alerts:
        assert _flat(alert.text) in text
    assert _flat(kb.vocabulary.patient_disclaimer) in text
    assert _flat(kb.vocabulary.patient_dosing_note) in text
    assert view.content_version in text
    assert view.review_level == "engineering_reviewed"
    assert _flat(f"Review level: {view.review_label}") in text
    assert "not clinically signed off" in text
    for ref in view.references:
        assert f"[{ref.n}] {_flat(ref.citation)}" in text
    pages = len(reader.pages)
    footers = _footers(reader)
    assert len(footers) == pages
    assert all(f.endswith(f"Page {i} of {pages}") for i, f in enumerate(footers, 1))
    assert reader.metadata is not None
    assert reader.metadata.title


def test_review_banner_is_printed_when_pending(kb: KnowledgeBase, pending_plan: Plan) -> None:
    text, _ = _text(plan_to_pdf(pending_plan, patient_view(pending_plan, kb)))
    assert pending_plan.review_banner is not None
    assert _flat(pending_plan.review_banner) in text


def test_no_banner_when_approved(kb: KnowledgeBase, plans: dict[str, Plan]) -> None:
    text, _ = _text(plan_to_pdf(plans["pa_uk"], patient_view(plans["pa_uk"], kb)))
    assert "PENDING REVIEW" not in text


def test_deterministic_bytes_and_creation_date(kb: KnowledgeBase, plans: dict[str, Plan]) -> None:
    plan = plans["neuro_uk"]
    view = patient_view(plan, kb)
    first = plan_to_pdf(plan, view, label="x")
    assert first == plan_to_pdf(plan, view, label="x")
    assert b"/CreationDate (D:20260302000000Z" in first or b"D:20260302000000" in first
    reader = PdfReader(io.BytesIO(first))
    assert reader.metadata is not None
    created = reader.metadata.creation_date
    assert created is not None
    assert created.date().isoformat() == "2026-03-02"


def test_plan_without_schedule_still_prints(kb: KnowledgeBase, plans: dict[str, Plan]) -> None:
    plan = plans["no_labs"]
    view = patient_view(plan, kb)
    text, _ = _text(plan_to_pdf(plan, view))
    assert _flat(view.headline.text) in text
    assert _flat(kb.vocabulary.patient_disclaimer) in text


def test_any_character_in_the_label_or_text_prints(
    kb: KnowledgeBase, plans: dict[str, Plan]
) -> None:
    plan = plans["pa_uk"]
    view = patient_view(plan, kb)
    odd = "Zoë – “quoted” ≥ 5 ≤ 6 µg μg … ‘x’ → 漢字 🙂 \x00\x07 \ud800 " + "W" * 300
    weird = view.model_copy(
        update={"headline": view.headline.model_copy(update={"text": odd}), "disclaimer": odd}
    )
    text, _ = _text(plan_to_pdf(plan, weird, label=odd))
    assert "Zoë - \"quoted\" >= 5 <= 6 µg µg ... 'x' -> ?? ? ?" in text
