"""Picture versions and dose corrections: new rows supersede old ones; nothing is lost."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from b12.adapters.sql.registry import DoseInput, Registry
from b12.adapters.sql.tables import courses, doses, pictures
from b12.core.errors import InputError, NotFound

NOW = datetime.fromisoformat("2026-03-02T09:00")
LATER = datetime.fromisoformat("2026-03-03T09:00")
PA = {
    "age": 68,
    "cause": "pernicious_anaemia",
    "labs": {"serum_b12_ng_l": 110},
    "start": "2026-03-02",
}


def _dose(day: str, amount: str = "1mg") -> DoseInput:
    return DoseInput(date=date.fromisoformat(day), drug="hydroxocobalamin", dose=amount, route="im")


def test_a_changed_picture_is_a_new_version_and_course(registry: Registry) -> None:
    registry.add_patient("V1", PA, name=None, actor="t", now=NOW)
    registry.record_dose("V1", _dose("2026-03-02"), actor="t", now=NOW)
    changed = {**PA, "neuro_symptoms": ["ataxia"]}
    plan = registry.update_picture("V1", changed, actor="t", now=LATER)
    assert plan.pathway.id == "uk-im-neuro"
    with registry.engine.connect() as conn:
        versions = (
            conn.execute(select(pictures.c.version).where(pictures.c.patient_id == "V1"))
            .scalars()
            .all()
        )
        statuses = conn.execute(select(courses.c.status).order_by(courses.c.id)).scalars().all()
    assert sorted(versions) == [1, 2]
    assert statuses == ["superseded", "active"]
    record = registry.show_patient("V1")
    assert record["picture"]["deficiency"] == "confirmed"  # carried over from enrolment
    assert len(record["doses"]) == 1  # doses follow the patient across versions
    follow = registry.follow_up("V1", date(2026, 3, 3))
    assert follow.regimen is not None
    assert follow.regimen.id == "UK-HYDROXO-NEURO"


def test_a_corrected_dose_supersedes_the_old_one(registry: Registry) -> None:
    registry.add_patient("V2", PA, name=None, actor="t", now=NOW)
    first = registry.record_dose("V2", _dose("2026-03-02"), actor="t", now=NOW)
    new_id = registry.correct_dose(
        "V2",
        first.dose_id,
        _dose("2026-03-03"),
        reason="wrong date typed",
        actor="t",
        now=LATER,
    )
    with registry.engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(doses)).scalar_one()
        old = conn.execute(
            select(doses.c.superseded_by).where(doses.c.id == first.dose_id)
        ).scalar_one()
    assert total == 2
    assert old == new_id
    assert [d["date"] for d in registry.show_patient("V2")["doses"]] == ["2026-03-03"]
    with pytest.raises(NotFound):
        registry.correct_dose(
            "V2", first.dose_id, _dose("2026-03-03"), reason="again", actor="t", now=LATER
        )
    with pytest.raises(InputError, match="reason"):
        registry.correct_dose("V2", new_id, _dose("2026-03-03"), reason=" ", actor="t", now=LATER)


def test_recall_pages_follow_the_urgency_order_and_count_everything(registry: Registry) -> None:
    for i, start in enumerate(["2026-01-05", "2026-02-02", "2026-03-02"]):
        registry.add_patient(f"R{i}", {**PA, "start": start}, name=None, actor="t", now=NOW)
    full = registry.recall(date(2026, 3, 2), 14)
    assert [r.patient_id for r in full] == ["R0", "R1", "R2"]
    assert registry.recall_count(date(2026, 3, 2), 14) == 3
    page = registry.recall(date(2026, 3, 2), 14, limit=2, offset=1)
    assert [r.patient_id for r in page] == ["R1", "R2"]
    with pytest.raises(InputError, match="limit"):
        registry.recall(date(2026, 3, 2), 14, limit=0)


def test_a_correction_is_order_checked(registry: Registry) -> None:
    registry.add_patient("V3", PA, name=None, actor="t", now=NOW)
    first = registry.record_dose("V3", _dose("2026-03-02"), actor="t", now=NOW)
    new_id = registry.correct_dose(
        "V3",
        first.dose_id,
        _dose("2026-03-02", "1000mg"),
        reason="as charted",
        actor="t",
        now=LATER,
    )
    with registry.engine.connect() as conn:
        verdict = conn.execute(select(doses.c.verdict).where(doses.c.id == new_id)).scalar_one()
    assert verdict == "stop"
