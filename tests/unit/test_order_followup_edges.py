"""Edge cases found in review: current-treatment medications with a dose history, under-16s in
follow-up, and unknown event kinds."""

from __future__ import annotations

from typing import Any

import pytest

from b12.core.errors import InputError
from b12.core.knowledge import KnowledgeBase
from b12.core.requests import follow_up_request, order_check_request

LOADING = ["2026-03-02", "2026-03-04", "2026-03-06", "2026-03-09", "2026-03-11", "2026-03-13"]


def _doses(dates: list[str]) -> list[dict[str, Any]]:
    return [
        {"date": d, "drug": "hydroxocobalamin", "dose": {"value": 1, "unit": "mg"}, "route": "im"}
        for d in dates
    ]


def test_order_is_timed_when_the_picture_lists_current_b12_and_doses_are_on_record(
    kb: KnowledgeBase,
) -> None:
    request = {
        "picture": {
            "age": 60,
            "cause": "pernicious_anaemia",
            "deficiency": "confirmed",
            "medications": ["hydroxocobalamin"],
        },
        "order": {
            "drug": "hydroxocobalamin",
            "dose": {"value": 1, "unit": "mg"},
            "route": "im",
            "start": "2026-04-03",
        },
        "history": _doses(LOADING),
        "as_of": "2026-04-03",
    }
    result = order_check_request(request, kb)
    assert result.timing.status == "early"
    assert result.verdict == "warn"
    assert "INTERVAL_EARLY" in {a.code for a in result.alerts}


def test_follow_up_of_an_under_16_is_out_of_scope_with_the_alert(kb: KnowledgeBase) -> None:
    result = follow_up_request({"picture": {"age": 12}, "history": [], "as_of": "2026-04-03"}, kb)
    assert result.status == "out_of_scope"
    assert "PAEDIATRIC_OUT_OF_SCOPE" in {a.code for a in result.alerts}


def test_unknown_event_kind_names_the_field(kb: KnowledgeBase) -> None:
    request = {
        "picture": {"age": 60, "deficiency": "confirmed"},
        "events": [{"date": "2026-03-01", "kind": "felt_better"}],
        "as_of": "2026-04-03",
    }
    with pytest.raises(InputError) as info:
        follow_up_request(request, kb)
    assert info.value.problems[0].field == "events[0].kind"
