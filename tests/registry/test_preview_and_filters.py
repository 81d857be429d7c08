"""Registry reads added for the web app: dose preview, full dose history, recall filters."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from b12.adapters.sql.registry import DoseInput, Registry
from b12.core.errors import InputError, NotFound
from tests.registry.conftest import (
    ACTOR,
    NOW,
    UK_GASTRECTOMY,
    UK_PA,
    US_LABEL,
    at,
    hydroxo,
    picture,
    table_counts,
)

START = NOW.date()  # 2026-03-02


def _enrol(
    registry: Registry,
    patient_id: str,
    template: dict[str, Any] = UK_PA,
    day: date = START,
    **extra: Any,
) -> None:
    registry.add_patient(
        patient_id, picture(template, day, **extra), name=None, actor=ACTOR, now=at(day)
    )


# -- preview_dose ------------------------------------------------------------------------------


def test_preview_gives_the_verdict_record_dose_would_give_and_writes_nothing(
    registry: Registry,
) -> None:
    _enrol(registry, "P-001")
    registry.record_dose("P-001", hydroxo(START), actor=ACTOR, now=NOW)
    before = table_counts(registry)

    preview = registry.preview_dose("P-001", hydroxo(START), START)

    assert preview is not None
    assert preview.verdict == "warn"
    assert "INTERVAL_EARLY" in {a.code for a in preview.alerts}
    assert table_counts(registry) == before
    recorded = registry.record_dose("P-001", hydroxo(START), actor=ACTOR, now=NOW)
    assert recorded.check is not None
    assert recorded.check.model_dump() == preview.model_dump()


def test_preview_of_a_key_already_recorded_is_none(registry: Registry) -> None:
    _enrol(registry, "P-001")
    registry.record_dose("P-001", hydroxo(START, key="visit-1"), actor=ACTOR, now=NOW)

    assert registry.preview_dose("P-001", hydroxo(START, key="visit-1"), START) is None
    assert registry.preview_dose("P-001", hydroxo(START, key="visit-2"), START) is not None


def test_preview_rejects_what_record_dose_rejects(registry: Registry) -> None:
    _enrol(registry, "P-001")
    with pytest.raises(InputError) as future:
        registry.preview_dose("P-001", hydroxo(START + timedelta(days=1)), START)
    with pytest.raises(InputError) as dose:
        registry.preview_dose(
            "P-001", DoseInput(date=START, drug="hydroxocobalamin", dose="lots", route="im"), START
        )
    with pytest.raises(NotFound):
        registry.preview_dose("nobody", hydroxo(START), START)

    assert [p.field for p in future.value.problems] == ["date"]
    assert [p.field for p in dose.value.problems] == ["dose"]


# -- dose_history ------------------------------------------------------------------------------


def test_dose_history_keeps_corrected_doses_marked_superseded(registry: Registry) -> None:
    _enrol(registry, "P-001")
    first = registry.record_dose("P-001", hydroxo(START, batch="B1"), actor=ACTOR, now=NOW)
    new_id = registry.correct_dose(
        "P-001",
        first.dose_id,
        hydroxo(START, batch="B2"),
        reason="wrong batch",
        actor=ACTOR,
        now=NOW,
    )

    history = registry.dose_history("P-001")

    assert [(d["id"], d["batch"], d["superseded_by"]) for d in history] == [
        (first.dose_id, "B1", new_id),
        (new_id, "B2", None),
    ]
    assert history[0]["date"] == START.isoformat()
    assert history[1]["override_reason"] == "wrong batch"
    assert len(registry.show_patient("P-001")["doses"]) == 1


def test_dose_history_of_an_unknown_patient_is_not_found(registry: Registry) -> None:
    with pytest.raises(NotFound):
        registry.dose_history("nobody")


# -- recall filters ----------------------------------------------------------------------------


def _practice(registry: Registry) -> None:
    _enrol(registry, "overdue-10", day=date(2026, 2, 20))
    _enrol(registry, "due-today", day=START)
    _enrol(registry, "due-in-8", start="2026-03-10")
    _enrol(registry, "us-overdue", US_LABEL, day=date(2026, 2, 25))
    # Prophylaxis after gastrectomy: due in a window from 2 March to 2 April.
    _enrol(registry, "window", UK_GASTRECTOMY, day=date(2026, 1, 2))
    registry.record_dose("window", hydroxo(date(2026, 1, 2)), actor=ACTOR, now=at(date(2026, 1, 2)))


def test_recall_without_filters_is_unchanged(registry: Registry) -> None:
    _practice(registry)
    rows = registry.recall(START, 14)
    assert registry.recall(START, 14, status=None, guideline=None) == rows
    assert registry.recall_count(START, 14) == len(rows) == 5


@pytest.mark.parametrize("status", ["overdue", "due", "upcoming"])
def test_recall_status_filter_matches_the_row_status(registry: Registry, status: str) -> None:
    _practice(registry)
    everyone = registry.recall(START, 14)

    rows = registry.recall(START, 14, status=status)

    assert rows == [r for r in everyone if r.status == status]
    assert rows
    assert registry.recall_count(START, 14, status=status) == len(rows)


def test_recall_guideline_filter(registry: Registry) -> None:
    _practice(registry)

    us = registry.recall(START, 14, guideline="us")
    uk_overdue = registry.recall(START, 14, guideline="uk", status="overdue")

    assert [r.patient_id for r in us] == ["us-overdue"]
    assert [r.patient_id for r in uk_overdue] == ["overdue-10"]
    assert registry.recall_count(START, 14, guideline="uk") == 4


def test_recall_filters_page_like_the_full_list(registry: Registry) -> None:
    _practice(registry)
    full = registry.recall(START, 14, guideline="uk")

    pages = [registry.recall(START, 14, guideline="uk", limit=2, offset=n) for n in (0, 2, 4)]

    assert [r for page in pages for r in page] == full


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"status": "late"}, "status"), ({"guideline": "fr"}, "guideline")],
)
def test_unknown_recall_filters_are_input_errors(
    registry: Registry, kwargs: dict[str, Any], field: str
) -> None:
    with pytest.raises(InputError) as listed:
        registry.recall(START, 14, **kwargs)
    with pytest.raises(InputError) as counted:
        registry.recall_count(START, 14, **kwargs)
    assert [p.field for p in listed.value.problems] == [field]
    assert [p.field for p in counted.value.problems] == [field]
