"""Real plans for the export tests, from pictures like those in ``examples/``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import b12
from b12.core.knowledge import KnowledgeBase
from b12.core.plan import PlanOptions
from b12.core.plan_models import Plan

ROOT = Path(__file__).resolve().parents[2]

PICTURES: dict[str, dict[str, Any]] = {
    # examples/pernicious-anaemia-uk.json: loading three times a week, then every 2-3 months.
    "pa_uk": json.loads((ROOT / "examples" / "pernicious-anaemia-uk.json").read_text("utf-8")),
    # Neurological involvement: alternate-day doses up to the horizon, with review points.
    "neuro_uk": {
        "age": 55,
        "sex": "male",
        "deficiency": "confirmed",
        "cause": "pernicious_anaemia",
        "neuro_symptoms": ["paraesthesia"],
        "as_of": "2026-03-02",
    },
    # Oral dietary replacement: one repeating entry.
    "oral_uk": {
        "age": 40,
        "deficiency": "confirmed",
        "cause": "dietary",
        "diet": "vegan",
        "as_of": "2026-03-02",
    },
    # US label regimen (four phases).
    "pa_us": {
        "age": 50,
        "deficiency": "confirmed",
        "cause": "autoimmune_gastritis",
        "guideline": "us",
        "as_of": "2026-03-02",
    },
    # No labs: needs more data, no schedule.
    "no_labs": {"age": 60, "as_of": "2026-03-02"},
}


def make_plan(kb: KnowledgeBase, name: str, *, allow_draft: bool = False) -> Plan:
    """The plan for one of the named pictures."""
    _, result = b12.plan_request(PICTURES[name], kb, options=PlanOptions(allow_draft=allow_draft))
    return result


@pytest.fixture(scope="session")
def plans(kb: KnowledgeBase) -> dict[str, Plan]:
    return {name: make_plan(kb, name) for name in PICTURES}


@pytest.fixture(scope="session")
def pending_plan(kb: KnowledgeBase) -> Plan:
    """A plan that uses draft content (nitrous oxide alert), so it carries the review banner."""
    doc = {
        "age": 30,
        "deficiency": "confirmed",
        "cause": "nitrous_oxide",
        "medications": ["nitrous_oxide"],
        "as_of": "2026-03-02",
    }
    _, result = b12.plan_request(doc, kb, options=PlanOptions(allow_draft=True))
    assert result.review_status == "pending_review"
    return result
