"""FHIR out of a compact schedule (issue 16): the same resources as the dose-by-dose listing.

Open-ended loading is repeating schedule entries in the plan; the MedicationRequest still says
the phase's rhythm in ``timing.repeat`` (from its first dose, with no end), and every review
point is still a dated ServiceRequest, exactly as for the plan listed dose by dose.
"""

from __future__ import annotations

from datetime import date

import pytest

from b12.adapters.fhir.codes import CodeTable, load_code_table
from b12.adapters.fhir.outbound import plan_bundle
from b12.core.knowledge import KnowledgeBase
from b12.core.picture import parse_picture
from b12.core.plan import PlanOptions, plan

PICTURES = {
    "neuro": {"age": 72, "cause": "pernicious_anaemia", "neuro_symptoms": ["paraesthesia"]},
    "leber": {"age": 40, "conditions": ["leber_disease"], "labs": {"serum_b12_ng_l": 95}},
}


@pytest.fixture(scope="module")
def table() -> CodeTable:
    return load_code_table()


def _review_requests(bundle: dict[str, object], text: str) -> int:
    entries = bundle["entry"]
    assert isinstance(entries, list)
    return sum(1 for r in entries if r["resource"].get("code") == {"text": text})


@pytest.mark.parametrize("name", sorted(PICTURES))
@pytest.mark.parametrize("months", [3, 24])
def test_bundle_of_the_compact_plan_is_the_bundle_of_the_listed_plan(
    kb: KnowledgeBase, table: CodeTable, name: str, months: int
) -> None:
    picture = parse_picture({**PICTURES[name], "deficiency": "confirmed"}, kb)
    as_of = date(2026, 3, 7)
    compact = plan(picture, kb, as_of, PlanOptions(horizon_months=months))
    listed = plan(picture, kb, as_of, PlanOptions(horizon_months=months, compact_schedule=False))
    assert any(e.repeat is not None for e in compact.schedule)
    assert len(compact.schedule) < len(listed.schedule)
    got = plan_bundle(compact, kb, table, patient_ref="Patient/p1")
    want = plan_bundle(listed, kb, table, patient_ref="Patient/p1")
    assert got == want
    phase_reviews = [e for e in listed.schedule if e.kind == "review" and e.phase]
    assert len(phase_reviews) > 1
    assert _review_requests(got, phase_reviews[0].text) == len(phase_reviews)
