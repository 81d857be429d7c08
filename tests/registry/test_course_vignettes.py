"""The course vignettes (declared, inferred and ambiguous courses) through the registry.

Each follow-up vignette V-2xx is enrolled (its picture, with its declared course), its doses and
events are recorded, and the registry's follow-up must equal the vignette's ``expect``; the
stored due window must be that answer's.  Each order vignette's order is previewed as a dose
(``preview_dose``, the check ``record_dose`` makes) and must be timed as the vignette says.
SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from b12.adapters.sql.registry import DoseInput, Registry
from b12.adapters.vignettes import Vignette, load_vignette, summarize_follow_up
from tests.registry.conftest import ACTOR, at, stored_window

CASES = sorted((Path(__file__).parents[1] / "vignettes" / "cases").glob("V-3[0-9][0-9]-*.yaml"))
FOLLOW_UPS = [p for p in CASES if load_vignette(p).kind == "follow_up"]
ORDERS = [p for p in CASES if load_vignette(p).kind == "order"]


def _dose(item: dict[str, Any], *, reason: str | None = None) -> DoseInput:
    dose = item["dose"]
    value = f"{dose['value']:g}" if isinstance(dose["value"], float) else str(dose["value"])
    return DoseInput(
        date=date.fromisoformat(item["date"] if "date" in item else item["start"]),
        drug=item["drug"],
        dose=f"{value}{dose['unit']}",
        route=item["route"],
        override_reason=reason,
    )


def _enrol(registry: Registry, v: Vignette) -> str:
    """Enrol the vignette's patient on its as_of with its course, doses and events."""
    patient_id = v.id[:40]
    now = at(v.as_of)
    registry.add_patient(
        patient_id,
        {**v.picture, "as_of": v.as_of.isoformat()},
        name=None,
        actor=ACTOR,
        now=now,
        course=v.request.get("course"),
    )
    for item in v.request.get("history", []):
        registry.record_dose(patient_id, _dose(item, reason="vignette"), actor=ACTOR, now=now)
    for e in v.request.get("events", []):
        registry.record_event(
            patient_id, date.fromisoformat(e["date"]), e["kind"], actor=ACTOR, now=now
        )
    return patient_id


@pytest.mark.parametrize("path", FOLLOW_UPS, ids=[p.stem[:5] for p in FOLLOW_UPS])
def test_the_registry_follows_the_course_as_the_vignette_says(
    registry: Registry, path: Path
) -> None:
    v = load_vignette(path)
    assert v.expect is not None
    patient_id = _enrol(registry, v)
    result = registry.follow_up(patient_id, v.as_of)
    assert summarize_follow_up(result) == v.expect
    due = result.next_due
    assert due is not None
    assert stored_window(registry, patient_id) == (due.date, due.earliest, due.latest)


@pytest.mark.parametrize("path", ORDERS, ids=[p.stem[:5] for p in ORDERS])
def test_a_dose_recorded_in_the_registry_is_timed_as_the_order_vignette_says(
    registry: Registry, path: Path
) -> None:
    v = load_vignette(path)
    assert v.expect is not None
    patient_id = _enrol(registry, v)
    check = registry.preview_dose(patient_id, _dose(v.request["order"]), v.as_of)
    assert check is not None
    expected = v.expect["timing"].split(" ", 1)[0]
    assert check.timing.status == expected
    basis = check.course.basis if check.course else "recorded"
    assert basis == (v.expect["course"].split(" ", 1)[0] if "course" in v.expect else "recorded")
