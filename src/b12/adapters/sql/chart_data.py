"""Read what the registry holds about one patient over time, for the patient chart.

Read-only and schema-neutral: the doses in force, the recorded events, and every version of the
clinical picture (its labs and neurological symptoms, dated by the picture's ``as_of`` or, when
it has none, the day the version was saved).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from b12.adapters.exports.patient_chart import ChartData, LabPoint
from b12.adapters.sql.registry import Registry
from b12.adapters.sql.tables import pictures
from b12.adapters.sql.transactions import EngineStore


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _when(document: dict[str, Any], created: Any) -> date:
    raw = document.get("as_of")
    if isinstance(raw, str):
        try:
            return date.fromisoformat(raw)
        except ValueError:
            pass
    return created.date() if hasattr(created, "date") else date.fromisoformat(str(created)[:10])


class PictureVersions(EngineStore):
    """Reads the saved versions of a patient's picture (database errors become
    :class:`~b12.adapters.sql.transactions.RegistryUnavailable`, as in the registry)."""

    def __init__(self, registry: Registry) -> None:
        self.engine = registry.engine

    def of(self, patient_id: str) -> list[tuple[date, dict[str, Any]]]:
        """Every version: (date it applies to, document), oldest first."""
        query = (
            select(pictures.c.document, pictures.c.created_at)
            .where(pictures.c.patient_id == patient_id)
            .order_by(pictures.c.version, pictures.c.id)
        )
        with self._guard(), self.engine.connect() as conn:
            return [(_when(r.document, r.created_at), r.document) for r in conn.execute(query)]


def picture_versions(registry: Registry, patient_id: str) -> list[tuple[date, dict[str, Any]]]:
    """Every saved version of the patient's picture, oldest first (see :class:`PictureVersions`)."""
    return PictureVersions(registry).of(patient_id)


def chart_data(
    record: dict[str, Any],
    versions: list[tuple[date, dict[str, Any]]],
    today: date,
    labels: dict[str, str],
) -> ChartData:
    """The chart's data from ``Registry.show_patient`` and :func:`picture_versions`."""
    labs: list[LabPoint] = []
    symptoms: list[tuple[date, tuple[str, ...]]] = []
    for day, doc in versions:
        raw = doc.get("labs") or {}
        point = LabPoint(
            day,
            _number(raw.get("serum_b12_ng_l")),
            _number(raw.get("haemoglobin_g_l")),
            _number(raw.get("mcv_fl")),
        )
        if (point.b12, point.hb, point.mcv) != (None, None, None):
            labs.append(point)
        names = tuple(str(n) for n in doc.get("neuro_symptoms") or ())
        symptoms.append((day, names))
    return ChartData(
        today=today,
        doses=tuple(date.fromisoformat(d["date"]) for d in record["doses"]),
        labs=tuple(labs),
        events=tuple((date.fromisoformat(e["date"]), e["kind"]) for e in record["events"]),
        symptoms=tuple(symptoms),
        labels=labels,
    )
