"""The register review and recall outreach (issue 13), on SQLite and PostgreSQL.

Each criterion is shown firing for a patient it describes and not firing for a neighbour that
differs in the one fact the criterion reads; every row carries its reason and citations from
``knowledge/register/review``.  Outreach marks are audited, follow the due date they were made
for, and steer the message export.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from b12.adapters.register_content import load_register_content
from b12.adapters.sql.register import RegisterStore
from b12.adapters.sql.registry import Registry
from b12.adapters.sql.tables import audit
from b12.core.errors import InputError, NotFound
from b12.core.register_import import read_rows
from tests.registry.conftest import ACTOR, UK_PA, hydroxo, table_counts
from tests.unit.test_register_import import GOOD

TODAY = date(2026, 3, 2)
NOW = datetime(2026, 3, 2, 9, 30)  # noqa: DTZ001 - naive local wall-clock time, as stored
RECENT = "2026-02-10"  # last dose: not yet due again
LONG_AGO = "2025-06-02"  # last dose: overdue on any interval

PEOPLE: dict[str, dict[str, str]] = {
    # overdue / not overdue
    "late": {"last_dose_date": LONG_AGO, "earlier_doses": ""},
    "on-time": {},
    # no review in 12 months / reviewed / never reviewed
    "unreviewed": {"last_review_date": "2024-12-01"},
    "never-reviewed": {"last_review_date": ""},
    # oral (UK): malabsorption without neuro / with neuro / pernicious anaemia / adherence n/a
    "oral-uk": {"cause": "malabsorption"},
    "oral-uk-neuro": {
        "cause": "malabsorption",
        "neurological_involvement": "yes",
        "interval": "every 2 months",
        "course_stage": "neuro_course_completed",
    },
    # oral (US): malabsorption / pernicious anaemia
    "oral-us": {
        "guideline": "us",
        "cause": "malabsorption",
        "product": "cyanocobalamin",
        "dose": "1000mcg",
        "interval": "monthly",
        "earlier_doses": "2026-01-10",
    },
    "oral-us-pa": {
        "guideline": "us",
        "product": "cyanocobalamin",
        "dose": "1000mcg",
        "interval": "monthly",
        "earlier_doses": "2026-01-10",
    },
    # high B12 / normal B12
    "high-b12": {"serum_b12_ng_l": "1600"},
    "normal-b12": {"serum_b12_ng_l": "600"},
}


@pytest.fixture
def store(registry: Registry) -> RegisterStore:
    s = RegisterStore(registry, load_register_content(registry.kb))
    rows = []
    for line, (pid, changes) in enumerate(PEOPLE.items(), start=2):
        cells = {**GOOD, "nhs_number": "", "mrn": f"M{line}", "patient_id": pid, **changes}
        rows.append((line, cells))
    reports = s.import_rows(read_rows(rows, s.kb, TODAY), actor=ACTOR, now=NOW, dry_run=False)
    assert all(r.outcome == "imported" for r in reports), [r.as_dict() for r in reports]
    return s


def _who(store: RegisterStore, criterion: str, as_of: date = TODAY) -> set[str]:
    return {r.patient_id for r in store.review(as_of, criterion)}


def test_overdue(store: RegisterStore) -> None:
    who = _who(store, "REG-REVIEW-001")
    assert "late" in who
    assert "on-time" not in who
    (row,) = [r for r in store.review(TODAY, "REG-REVIEW-001") if r.patient_id == "late"]
    assert row.facts["overdue_days"] > 0
    assert row.facts["timing"] == "overdue"


def test_no_review_in_12_months(store: RegisterStore, registry: Registry) -> None:
    who = _who(store, "REG-REVIEW-002")
    assert {"unreviewed", "never-reviewed"} <= who
    assert "on-time" not in who  # reviewed 2025-12-01
    # a review recorded in b12 (any clinical event) counts
    registry.record_event("unreviewed", TODAY, "stable", actor=ACTOR, now=NOW)
    assert "unreviewed" not in _who(store, "REG-REVIEW-002")
    # and the 12 months run out
    assert "on-time" in _who(store, "REG-REVIEW-002", date(2026, 12, 2))


def test_may_suit_oral_treatment_under_the_patients_guideline(store: RegisterStore) -> None:
    uk, us = _who(store, "REG-REVIEW-003"), _who(store, "REG-REVIEW-004")
    assert "oral-uk" in uk
    assert "oral-uk-neuro" not in uk  # neurological involvement
    assert "on-time" not in uk  # pernicious anaemia
    assert "oral-us" not in uk  # a US patient is judged by the US criterion
    assert "oral-us" in us
    assert "oral-us-pa" not in us
    assert "oral-uk" not in us


def test_an_adherence_concern_rules_out_oral(store: RegisterStore, registry: Registry) -> None:
    assert "oral-uk" in _who(store, "REG-REVIEW-003")
    picture = registry.show_patient("oral-uk")["picture"]
    registry.update_picture(
        "oral-uk",
        {**picture, "preferences": {"adherence_concern": True}, "as_of": TODAY.isoformat()},
        actor=ACTOR,
        now=NOW,
    )
    assert "oral-uk" not in _who(store, "REG-REVIEW-003")
    assert registry.show_patient("oral-uk")["course"]["status"] == "active"  # still reviewed


def test_high_b12_with_a_question_about_stopping(store: RegisterStore, registry: Registry) -> None:
    assert _who(store, "REG-REVIEW-005") == {"high-b12"}
    # a level recorded later (a new picture version) is read too
    current = registry.show_patient("normal-b12")["picture"]
    registry.update_picture(
        "normal-b12",
        {**current, "labs": {"serum_b12_ng_l": 2100}, "as_of": TODAY.isoformat()},
        actor=ACTOR,
        now=NOW,
    )
    registry.record_dose("normal-b12", hydroxo(TODAY), actor=ACTOR, now=NOW)
    assert _who(store, "REG-REVIEW-005") == {"high-b12", "normal-b12"}


def test_every_row_has_its_reason_and_citations(store: RegisterStore) -> None:
    rows = store.review(TODAY)
    assert {r.criterion for r in rows} == {c.id for c in store.content.criteria}
    for r in rows:
        assert r.reason
        assert r.references
        for ref in r.references:
            assert ref["source_id"] in store.kb.sources
            assert ref["locator"]
            assert ref["citation"] == store.kb.sources[ref["source_id"]].citation


def test_an_unknown_criterion_is_a_field_error(store: RegisterStore) -> None:
    with pytest.raises(InputError) as err:
        store.review(TODAY, "REG-REVIEW-999")
    assert err.value.problems[0].field == "criterion"


def test_outreach_marks_are_audited_and_follow_the_due_date(
    store: RegisterStore, registry: Registry
) -> None:
    def current(pid: str) -> dict[str, str] | None:
        row = next(r for r in store.recall_with_outreach(TODAY, 30) if r["patient_id"] == pid)
        return row["outreach"]  # type: ignore[no-any-return]

    assert current("late") is None
    mark = store.mark("late", "invited", note="text sent", actor=ACTOR, now=NOW)
    later = NOW + timedelta(hours=2)
    store.mark("late", "booked", note=None, actor="reception.lee", now=later)
    now_mark = current("late")
    assert now_mark is not None
    assert (now_mark["status"], now_mark["by"], now_mark["at"]) == (
        "booked",
        "reception.lee",
        later.isoformat(),
    )
    assert mark["status"] == "invited"
    with registry.engine.connect() as conn:
        actions = [
            (r.actor, r.detail["status"])
            for r in conn.execute(select(audit).where(audit.c.action == "outreach"))
        ]
    assert actions == [(ACTOR, "invited"), ("reception.lee", "booked")]
    # once the dose is given the recall row has a new due date: the old mark no longer applies
    registry.record_dose("late", hydroxo(TODAY), actor=ACTOR, now=NOW)
    rows = store.recall_with_outreach(TODAY, 3660)
    assert all(r["outreach"] is None for r in rows if r["patient_id"] == "late")


def test_bad_outreach_marks_write_nothing(store: RegisterStore, registry: Registry) -> None:
    before = table_counts(registry)
    with pytest.raises(InputError):
        store.mark("late", "phoned", note=None, actor=ACTOR, now=NOW)
    with pytest.raises(NotFound):
        store.mark("nobody", "invited", note=None, actor=ACTOR, now=NOW)
    assert table_counts(registry) == before


def test_the_message_export(store: RegisterStore, registry: Registry) -> None:
    enrolled = NOW.replace(year=2025, month=5, day=1)
    registry.add_patient(
        "no-contact", {**UK_PA, "as_of": "2025-05-01"}, name=None, actor=ACTOR, now=enrolled
    )
    registry.record_dose("no-contact", hydroxo(date(2025, 5, 1)), actor=ACTOR, now=NOW)
    messages, missing = store.messages(TODAY, 14)
    by_id = {m["patient_id"]: m for m in messages}
    assert "late" in by_id
    assert by_id["late"]["contact"] == GOOD["contact"]
    assert by_id["late"]["status"] == "overdue"
    assert "was due by" in by_id["late"]["message"]
    assert missing == ["no-contact"]
    store.mark("late", "declined", note="has moved away", actor=ACTOR, now=NOW)
    assert "late" not in {m["patient_id"] for m in store.messages(TODAY, 14)[0]}
