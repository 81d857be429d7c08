"""Over generated clinical pictures: the exports never raise and are deterministic."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import b12
from b12.adapters.exports import plan_timeline_svg, plan_to_ics, plan_to_pdf
from b12.adapters.knowledge_files import load_knowledge_base
from b12.core.patient_view import patient_view
from tests.properties.strategies import picture_docs

KB = load_knowledge_base()
LABELS = st.one_of(st.none(), st.text(max_size=40))


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(doc=picture_docs(KB.vocabulary), label=LABELS)
def test_exports_never_raise_and_are_deterministic(doc: dict[str, Any], label: str | None) -> None:
    _, plan = b12.plan_request(doc, KB)
    view = patient_view(plan, KB)
    assert view == patient_view(plan, KB)
    ics = plan_to_ics(plan, label=label)
    pdf = plan_to_pdf(plan, view, label=label)
    svg = plan_timeline_svg(plan)
    assert ics == plan_to_ics(plan, label=label)
    assert pdf == plan_to_pdf(plan, view, label=label)
    assert svg == plan_timeline_svg(plan)
    assert ics.startswith(b"BEGIN:VCALENDAR")
    assert pdf.startswith(b"%PDF-")
    assert svg.count("<circle") >= sum(1 for e in plan.schedule if e.kind == "dose")
