"""``CdsStore`` on SQLite and PostgreSQL: the JWT replay cache and CDS Hooks feedback.

Feedback items follow CDS Hooks 2.0 §feedback and the invariants ``cds-fb-1`` (outcome is
accepted or overridden), ``cds-fb-2`` (accepted ⇒ acceptedSuggestions), ``cds-fb-3`` (an
overrideReason has a reason, a userComment or both).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from b12.adapters.sql.cds_store import CdsStore, parse_rfc3339
from b12.adapters.sql.registry import Registry
from b12.adapters.sql.tables import cds_feedback, cds_jti
from b12.core.errors import InputError
from b12.core.knowledge import KnowledgeBase
from tests.cds.conftest import BACKENDS

NOW = datetime(2026, 3, 2, 9, 0)  # noqa: DTZ001 - the registry's naive local clock
ISSUER = "https://ehr.example.test"
SERVICE = "b12-order-sign"

ACCEPTED: dict[str, Any] = {
    "card": "4c0a4dbd-7e36-4b46-9c59-6f0f0c4e2f01",
    "outcome": "accepted",
    "acceptedSuggestions": [{"id": "e56e1945-20b3-4393-8503-a1a20fd73152"}],
    "outcomeTimestamp": "2026-03-02T09:00:12.345Z",
}
OVERRIDDEN: dict[str, Any] = {
    "card": "9b1f0e5c-8c7a-4f61-9a4e-2a3b3c4d5e6f",
    "outcome": "overridden",
    "overrideReason": {
        "reason": {
            "system": "http://example.org/cds-services/fhir/CodeSystem/override-reasons",
            "code": "patient-refused",
            "display": "Patient refused",
        },
        "userComment": "Prefers oral treatment",
    },
    "outcomeTimestamp": "2026-03-02T10:00:00+01:00",
}


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Every test runs on SQLite and on PostgreSQL."""
    name: str = request.param
    return name


@pytest.fixture
def store(web_db_url: str, kb: KnowledgeBase) -> Iterator[CdsStore]:
    registry = Registry(web_db_url, kb)
    registry.upgrade()
    try:
        yield CdsStore(registry.engine)
    finally:
        registry.engine.dispose()


def count(store: CdsStore, table: Any) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def problems(items: Any, store: CdsStore) -> dict[str, str]:
    with pytest.raises(InputError) as caught:
        store.record_feedback(SERVICE, items, ISSUER, NOW)
    return {p.field: p.message for p in caught.value.problems}


# -- replay cache ------------------------------------------------------------------------------


def test_a_jti_is_remembered_once_per_issuer(store: CdsStore) -> None:
    until = NOW + timedelta(minutes=5)
    assert store.remember_jti(ISSUER, "j1", until, NOW) is True
    assert store.remember_jti(ISSUER, "j1", until, NOW) is False
    assert store.remember_jti("https://other.test", "j1", until, NOW) is True
    assert store.remember_jti(ISSUER, "j2", until, NOW) is True
    assert count(store, cds_jti) == 3


def test_expired_rows_are_purged(store: CdsStore) -> None:
    store.remember_jti(ISSUER, "old", NOW + timedelta(minutes=5), NOW)
    store.remember_jti(ISSUER, "new", NOW + timedelta(hours=2), NOW)
    later = NOW + timedelta(hours=1)
    # The next insert after the purge interval deletes expired rows.
    assert store.remember_jti(ISSUER, "next", later + timedelta(minutes=5), later)
    with store.engine.connect() as conn:
        left = sorted(conn.execute(select(cds_jti.c.jti)).scalars())
    assert left == ["new", "next"]
    assert store.remember_jti(ISSUER, "old", later + timedelta(minutes=5), later) is True
    assert store.purge_expired(NOW + timedelta(days=1)) == 3


def test_aware_times_are_stored_as_local_wall_clock(store: CdsStore) -> None:
    aware = NOW.astimezone()
    assert store.remember_jti(ISSUER, "aware", aware + timedelta(minutes=5), aware)
    with store.engine.connect() as conn:
        stored = conn.execute(select(cds_jti.c.expires_at)).scalar_one()
    assert stored == NOW + timedelta(minutes=5)


def test_concurrent_replays_let_exactly_one_through(store: CdsStore) -> None:
    barrier = threading.Barrier(8)

    def attempt(_n: int) -> bool:
        barrier.wait()
        return store.remember_jti(ISSUER, "race", NOW + timedelta(minutes=5), NOW)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(attempt, range(8)))
    assert results.count(True) == 1


def test_bad_issuer_or_jti_is_a_programming_error(store: CdsStore) -> None:
    for issuer, jti in (("", "j"), (ISSUER, ""), (ISSUER, "j" * 201), ("i" * 301, "j")):
        with pytest.raises(ValueError, match="too long"):
            store.remember_jti(issuer, jti, NOW, NOW)


# -- feedback: valid items ---------------------------------------------------------------------


def test_valid_feedback_is_stored_and_read_back(store: CdsStore) -> None:
    assert store.record_feedback(SERVICE, [ACCEPTED, OVERRIDDEN], ISSUER, NOW) == 2
    stored = store.feedback()
    assert [item["card"] for item in stored] == [OVERRIDDEN["card"], ACCEPTED["card"]]
    newest, oldest = stored
    assert oldest == {
        "id": oldest["id"],
        "serviceId": SERVICE,
        "card": ACCEPTED["card"],
        "outcome": "accepted",
        "acceptedSuggestions": ACCEPTED["acceptedSuggestions"],
        "outcomeTimestamp": "2026-03-02T09:00:12.345Z",
        "issuer": ISSUER,
        "receivedAt": "2026-03-02T09:00:00",
    }
    assert newest["overrideReason"] == OVERRIDDEN["overrideReason"]
    assert newest["outcomeTimestamp"] == "2026-03-02T09:00:00.000Z"  # +01:00 converted to UTC
    assert "acceptedSuggestions" not in newest  # absent, never null or empty


def test_optional_members_may_be_absent_or_null_and_unknown_ones_are_dropped(
    store: CdsStore,
) -> None:
    items: list[Any] = [
        {"card": "c1", "outcome": "overridden", "outcomeTimestamp": "2026-03-02T09:00:00Z"},
        {
            "card": "c2",
            "outcome": "overridden",
            "overrideReason": {"userComment": "not today"},
            "acceptedSuggestions": None,
            "outcomeTimestamp": "2026-03-02t09:00:00.123456789-05:00",
            "extension": {"com.example.x": 1},
        },
        {
            "card": "c3",
            "outcome": "overridden",
            "overrideReason": {"reason": {"system": "urn:s", "code": "c", "extra": 1}},
            "outcomeTimestamp": "2026-03-02T09:00:00Z",
        },
    ]
    assert store.record_feedback(SERVICE, items, ISSUER, NOW) == 3
    by_card = {item["card"]: item for item in store.feedback()}
    assert set(by_card["c1"]) == {
        "id",
        "serviceId",
        "card",
        "outcome",
        "outcomeTimestamp",
        "issuer",
        "receivedAt",
    }
    assert by_card["c2"]["overrideReason"] == {"userComment": "not today"}
    assert by_card["c2"]["outcomeTimestamp"] == "2026-03-02T14:00:00.123Z"
    assert "extension" not in by_card["c2"]
    assert by_card["c3"]["overrideReason"] == {"reason": {"system": "urn:s", "code": "c"}}


def test_feedback_can_be_filtered_by_service_and_limited(store: CdsStore) -> None:
    store.record_feedback(SERVICE, [ACCEPTED, OVERRIDDEN], ISSUER, NOW)
    store.record_feedback("b12-patient-view", [ACCEPTED], ISSUER, NOW + timedelta(minutes=1))
    assert len(store.feedback()) == 3
    assert [f["serviceId"] for f in store.feedback("b12-patient-view")] == ["b12-patient-view"]
    assert len(store.feedback(SERVICE)) == 2
    assert len(store.feedback(limit=1)) == 1
    assert store.feedback("unknown") == []


# -- feedback: invariants and bad items --------------------------------------------------------


@pytest.mark.parametrize("outcome", [None, "declined", "ACCEPTED", "", 1])
def test_cds_fb_1_outcome_is_accepted_or_overridden(store: CdsStore, outcome: Any) -> None:
    item = {**OVERRIDDEN, "outcome": outcome}
    assert "cds-fb-1" in problems([item], store)["feedback.0.outcome"]


def test_cds_fb_2_accepted_needs_accepted_suggestions(store: CdsStore) -> None:
    item = {k: v for k, v in ACCEPTED.items() if k != "acceptedSuggestions"}
    assert "cds-fb-2" in problems([item], store)["feedback.0.acceptedSuggestions"]
    assert (
        "cds-fb-2"
        in problems([{**item, "acceptedSuggestions": None}], store)[
            "feedback.0.acceptedSuggestions"
        ]
    )
    found = problems([{**item, "acceptedSuggestions": []}], store)
    assert "feedback.0.acceptedSuggestions" in found
    found = problems([{**item, "acceptedSuggestions": [{"id": "s"}, {"uuid": "x"}, "s"]}], store)
    assert set(found) == {
        "feedback.0.acceptedSuggestions.1.id",
        "feedback.0.acceptedSuggestions.2.id",
    }


@pytest.mark.parametrize(
    ("reason", "field"),
    [
        ({}, "feedback.0.overrideReason"),
        ("patient refused", "feedback.0.overrideReason"),
        ({"reason": None, "userComment": None}, "feedback.0.overrideReason"),
        ({"reason": {"code": "x"}}, "feedback.0.overrideReason.reason.system"),
        ({"reason": {"system": "urn:s"}}, "feedback.0.overrideReason.reason.code"),
        ({"reason": "x"}, "feedback.0.overrideReason.reason"),
        ({"reason": {"system": "s", "code": "c", "display": ""}}, "feedback.0.overrideReason"),
        ({"userComment": ""}, "feedback.0.overrideReason.userComment"),
        ({"userComment": 5}, "feedback.0.overrideReason.userComment"),
    ],
)
def test_cds_fb_3_override_reason_has_a_coded_reason_or_a_comment(
    store: CdsStore, reason: Any, field: str
) -> None:
    found = problems([{**OVERRIDDEN, "overrideReason": reason}], store)
    assert any(name.startswith(field) for name in found), found
    if (
        field == "feedback.0.overrideReason"
        and isinstance(reason, dict)
        and not any(reason.values())
    ):
        assert "cds-fb-3" in found[field]


@pytest.mark.parametrize(
    "stamp",
    [
        None,
        "",
        "2026-03-02",
        "2026-03-02T09:00:00",  # no offset
        "2026-03-02 09:00:00Z",
        "2026-13-02T09:00:00Z",
        "2026-03-02T25:00:00Z",
        "yesterday",
        1772442000,
    ],
)
def test_outcome_timestamp_must_be_rfc3339(store: CdsStore, stamp: Any) -> None:
    item = {**ACCEPTED, "outcomeTimestamp": stamp}
    if stamp is None:
        del item["outcomeTimestamp"]
    assert "feedback.0.outcomeTimestamp" in problems([item], store)


@pytest.mark.parametrize("card", [None, "", "  ", 7, "c" * 101])
def test_card_is_a_required_uuid(store: CdsStore, card: Any) -> None:
    item = {**ACCEPTED, "card": card}
    if card is None:
        del item["card"]
    assert "feedback.0.card" in problems([item], store)


def test_a_batch_is_all_or_nothing_and_names_every_problem(store: CdsStore) -> None:
    bad = {"card": "c", "outcome": "accepted", "outcomeTimestamp": "now"}
    found = problems([ACCEPTED, bad, "not an object", OVERRIDDEN], store)
    assert set(found) == {
        "feedback.1.acceptedSuggestions",
        "feedback.1.outcomeTimestamp",
        "feedback.2",
    }
    assert count(store, cds_feedback) == 0


@pytest.mark.parametrize("items", [None, {}, "x", [], [ACCEPTED] * 501])
def test_the_feedback_array_itself_is_checked(store: CdsStore, items: Any) -> None:
    assert "feedback" in problems(items, store)
    assert count(store, cds_feedback) == 0


def test_rfc3339_parser() -> None:
    assert parse_rfc3339("2026-03-02T09:00:00Z") == datetime.fromisoformat("2026-03-02T09:00Z")
    assert parse_rfc3339("2026-03-02T09:00:00.5+05:30") is not None
    for bad in ("2026-03-02T09:00Z", "2026-03-02T09:00:00+0100", "2026-02-30T00:00:00Z", None):
        assert parse_rfc3339(bad) is None
