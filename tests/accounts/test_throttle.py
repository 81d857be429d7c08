"""Login rate limiting: failures counted per username and per client, in the database."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from threading import Barrier

import pytest
from sqlalchemy import Engine, select

from b12.adapters.sql.accounts import Accounts, TooManyAttempts
from b12.adapters.sql.registry import make_engine
from b12.adapters.sql.tables import login_attempts
from tests.accounts.conftest import FAST, GOOD_PASSWORD, NOW

WRONG = "Not The Password 1"


@pytest.fixture
def alice(accounts: Accounts) -> Accounts:
    accounts.add_user("alice", GOOD_PASSWORD, "clinician", now=NOW)
    return accounts


def _fail(accounts: Accounts, times: int, *, user: str = "alice", client: str = "10.0.0.1") -> None:
    for i in range(times):
        at = NOW + timedelta(seconds=i)
        assert accounts.authenticate(user, WRONG, client=client, now=at) is None


def test_five_failures_lock_the_username_until_the_window_passes(alice: Accounts) -> None:
    _fail(alice, 5)
    later = NOW + timedelta(minutes=1)
    with pytest.raises(TooManyAttempts) as err:
        alice.authenticate("alice", GOOD_PASSWORD, client="10.0.0.9", now=later)  # right password
    assert err.value.retry_after_seconds == 14 * 60  # the window started at the first failure
    with pytest.raises(TooManyAttempts):
        alice.authenticate("alice", WRONG, client="10.0.0.9", now=later)
    assert alice.failures("user:alice", now=later) == 5  # refused attempts are not counted
    assert alice.failures("user:ALICE", now=later) == 5  # one key whatever the case
    after = NOW + timedelta(minutes=15)
    assert alice.authenticate("alice", GOOD_PASSWORD, client="10.0.0.9", now=after) is not None


def test_four_failures_then_success_clears_the_username_count(alice: Accounts) -> None:
    _fail(alice, 4)
    assert alice.authenticate("alice", GOOD_PASSWORD, client="10.0.0.1", now=NOW) is not None
    assert alice.failures("user:alice", now=NOW) == 0
    assert alice.failures("client:10.0.0.1", now=NOW) == 4  # the client's count stays
    _fail(alice, 1, client="10.0.0.2")
    assert alice.failures("user:alice", now=NOW) == 1


def test_a_window_that_has_passed_starts_again_at_one(alice: Accounts) -> None:
    _fail(alice, 4)
    later = NOW + timedelta(minutes=20)
    assert alice.authenticate("alice", WRONG, client="10.0.0.1", now=later) is None
    assert alice.failures("user:alice", now=later) == 1
    assert alice.failures("client:10.0.0.1", now=later) == 1


def test_one_client_guessing_many_usernames_is_locked_out(alice: Accounts) -> None:
    for i, name in enumerate(["bob", "carol", "dave", "erin", "frank"]):
        assert (
            alice.authenticate(name, WRONG, client="203.0.113.7", now=NOW + timedelta(seconds=i))
            is None
        )
    assert alice.failures("client:203.0.113.7", now=NOW) == 5
    with pytest.raises(TooManyAttempts):
        alice.authenticate("alice", GOOD_PASSWORD, client="203.0.113.7", now=NOW)
    assert alice.authenticate("alice", GOOD_PASSWORD, client="10.0.0.1", now=NOW) is not None


def test_unknown_users_are_counted_and_limited_too(alice: Accounts) -> None:
    _fail(alice, 5, user="mallory")
    with pytest.raises(TooManyAttempts):
        alice.authenticate("mallory", WRONG, client="10.0.0.2", now=NOW)


def test_counters_store_no_usernames_or_addresses(alice: Accounts, engine: Engine) -> None:
    alice.authenticate("Tea-kettle Orbit 42", WRONG, client="198.51.100.23", now=NOW)
    with engine.connect() as conn:
        keys = [r.key for r in conn.execute(select(login_attempts.c.key))]
    assert len(keys) == 2
    assert all(k.startswith(("user:", "client:")) for k in keys)
    assert not any("Tea-kettle" in k or "198.51" in k for k in keys)


def test_purge_drops_stale_counters(alice: Accounts, engine: Engine) -> None:
    _fail(alice, 2)
    alice.purge_expired(now=NOW + timedelta(minutes=14))
    with engine.connect() as conn:
        assert len(conn.execute(select(login_attempts)).all()) == 2
    alice.purge_expired(now=NOW + timedelta(minutes=16))
    with engine.connect() as conn:
        assert conn.execute(select(login_attempts)).all() == []


def test_two_processes_share_the_counters(accounts_url: str, alice: Accounts) -> None:
    other_engine = make_engine(accounts_url)
    try:
        other = Accounts(other_engine, hasher=FAST)
        _fail(alice, 3)
        _fail(other, 2)
        with pytest.raises(TooManyAttempts):
            alice.authenticate("alice", GOOD_PASSWORD, client="10.0.0.5", now=NOW)
    finally:
        other_engine.dispose()


def test_concurrent_failures_are_all_counted(accounts_url: str, engine: Engine) -> None:
    """Eight "processes" (own engines) fail at once; the counters lose nothing."""
    Accounts(engine, hasher=FAST).add_user("alice", GOOD_PASSWORD, "nurse", now=NOW)
    engines = [make_engine(accounts_url) for _ in range(8)]
    per_worker = 10

    def worker(index: int) -> None:
        accounts = Accounts(engines[index], max_failures=1000, hasher=FAST)
        for _ in range(per_worker):
            assert accounts.authenticate("alice", WRONG, client=f"c{index % 2}", now=NOW) is None

    try:
        with ThreadPoolExecutor(len(engines)) as pool:
            list(pool.map(worker, range(len(engines))))
    finally:
        for e in engines:
            e.dispose()
    counted = Accounts(engine, hasher=FAST)
    assert counted.failures("user:alice", now=NOW) == 8 * per_worker
    assert counted.failures("client:c0", now=NOW) == 4 * per_worker
    assert counted.failures("client:c1", now=NOW) == 4 * per_worker


def test_racing_first_failures_on_a_new_key_are_all_counted(
    accounts_url: str, engine: Engine
) -> None:
    """Start together so the inserts of a new counter row collide (PostgreSQL: unique key)."""
    workers = 8
    engines = [make_engine(accounts_url) for _ in range(workers)]
    start = Barrier(workers)

    def worker(index: int) -> None:
        accounts = Accounts(engines[index], max_failures=1000, hasher=FAST)
        start.wait()
        accounts._record_failure(("user:race", f"client:{index}"), NOW)

    try:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(worker, range(workers)))
    finally:
        for e in engines:
            e.dispose()
    with engine.connect() as conn:
        counts = {
            row.key: row.failures
            for row in conn.execute(select(login_attempts.c.key, login_attempts.c.failures))
        }
    assert counts["user:race"] == workers
