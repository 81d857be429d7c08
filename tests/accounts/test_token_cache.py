"""The in-process API-token cache: a bounded staleness for other processes, none for this one.

Two ``Accounts`` objects on one database stand for two processes (a ``b12 serve`` worker and
``b12 token revoke``).  The cache's clock is replaced by a fake one, so no test waits.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from b12.adapters.sql import accounts as accounts_module
from b12.adapters.sql.accounts import TOKEN_CACHE_SECONDS, Accounts
from tests.accounts.conftest import FAST, NOW

PASSWORD = "a long passphrase for tests 42"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(accounts_module, "_clock", fake)
    return fake


def _pair(engine: Engine) -> tuple[Accounts, Accounts, str]:
    server = Accounts(engine, hasher=FAST, token_cache_seconds=TOKEN_CACHE_SECONDS)
    other = Accounts(engine, hasher=FAST)
    server.add_user("cara.clinician", PASSWORD, "clinician", now=NOW)
    return server, other, other.create_token("cara.clinician", label=None, now=NOW)


def test_a_revocation_by_another_process_is_seen_within_the_bound(
    engine: Engine, clock: FakeClock
) -> None:
    server, other, token = _pair(engine)
    user = server.user_for_token(token, now=NOW)
    assert user is not None
    assert user.username == "cara.clinician"
    assert other.revoke_token(token, now=NOW) is True
    assert other.user_for_token(token, now=NOW) is None  # no cache: refused at once
    clock.now += TOKEN_CACHE_SECONDS - 0.5
    assert server.user_for_token(token, now=NOW) == user  # still within the bound
    clock.now += 1.0
    assert server.user_for_token(token, now=NOW) is None


def test_a_revocation_in_this_process_is_seen_at_once(engine: Engine, clock: FakeClock) -> None:
    server, _other, token = _pair(engine)
    assert server.user_for_token(token, now=NOW) is not None
    assert server.revoke_token(token, now=NOW) is True
    assert server.user_for_token(token, now=NOW) is None


def test_disabling_the_user_in_this_process_is_seen_at_once(
    engine: Engine, clock: FakeClock
) -> None:
    server, _other, token = _pair(engine)
    assert server.user_for_token(token, now=NOW) is not None
    assert server.set_disabled("cara.clinician", True) is True
    assert server.user_for_token(token, now=NOW) is None
    assert server.set_disabled("cara.clinician", False) is True
    assert server.user_for_token(token, now=NOW) is not None


def test_unknown_tokens_are_not_cached(engine: Engine, clock: FakeClock) -> None:
    server, _other, token = _pair(engine)
    for n in range(20):
        assert server.user_for_token(f"b12_{'x' * 40}{n:02d}", now=NOW) is None
    assert server._tokens == {}
    assert server.user_for_token(token, now=NOW) is not None
    assert len(server._tokens) == 1


def test_the_cache_is_bounded(
    engine: Engine, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(accounts_module, "TOKEN_CACHE_SIZE", 2)
    server, other, first = _pair(engine)
    tokens = [first] + [other.create_token("cara.clinician", label=None, now=NOW) for _ in "ab"]
    for token in tokens:
        assert server.user_for_token(token, now=NOW) is not None
    assert len(server._tokens) == 2
