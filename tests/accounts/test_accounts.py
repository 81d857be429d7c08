"""Users, password hashing, sessions and API tokens on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, select, update

from b12.adapters.sql.accounts import Accounts, Session, User, csrf_matches
from b12.adapters.sql.registry import make_engine
from b12.adapters.sql.tables import api_tokens, users, web_sessions
from b12.adapters.sql.transactions import RegistryUnavailable
from b12.core.errors import FieldProblem, InputError, NotFound
from tests.accounts.conftest import FAST, GOOD_PASSWORD, NOW


def _rows(engine: Engine, table: Any) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(table)).mappings()]


def _fields(err: pytest.ExceptionInfo[InputError]) -> list[str]:
    return [p.field for p in err.value.problems]


# -- users and hashing -------------------------------------------------------------------------


def test_password_is_stored_as_an_argon2_hash_with_default_parameters(engine: Engine) -> None:
    accounts = Accounts(engine)  # the real default parameters
    user = accounts.add_user("alice", GOOD_PASSWORD, "clinician", now=NOW)
    assert user == User(user.id, "alice", "clinician")
    (row,) = _rows(engine, users)
    assert row["password_hash"].startswith("$argon2id$")
    assert GOOD_PASSWORD not in row["password_hash"]
    assert not PasswordHasher().check_needs_rehash(row["password_hash"])
    assert accounts.authenticate("alice", GOOD_PASSWORD, client="c", now=NOW) == user
    assert accounts.authenticate("alice", GOOD_PASSWORD + "x", client="c", now=NOW) is None


def test_an_old_hash_is_replaced_at_the_next_login(engine: Engine) -> None:
    Accounts(engine, hasher=FAST).add_user("alice", GOOD_PASSWORD, "nurse", now=NOW)
    (before,) = _rows(engine, users)
    assert "m=1024,t=1,p=1" in before["password_hash"]
    user = Accounts(engine).authenticate("alice", GOOD_PASSWORD, client="c", now=NOW)
    assert user is not None
    (after,) = _rows(engine, users)
    assert after["password_hash"] != before["password_hash"]
    assert not PasswordHasher().check_needs_rehash(after["password_hash"])
    assert Accounts(engine).authenticate("alice", GOOD_PASSWORD, client="c", now=NOW) == user


def test_bad_new_users_are_refused_field_by_field(accounts: Accounts) -> None:
    with pytest.raises(InputError) as err:
        accounts.add_user("a b", "short", "surgeon", now=NOW)
    assert _fields(err) == ["username", "role", "password", "password"]
    assert err.value.problems[1] == FieldProblem(
        "role", "expected one of clinician, nurse, reviewer, safety_officer, admin"
    )
    accounts.add_user("alice", GOOD_PASSWORD, "nurse", now=NOW)
    for name in ("alice", "ALICE"):
        with pytest.raises(InputError, match="already taken") as err:
            accounts.add_user(name, GOOD_PASSWORD, "nurse", now=NOW)
        assert _fields(err) == ["username"]
    assert accounts.list_users() == [User(1, "alice", "nurse")]


def test_users_are_listed_and_looked_up(accounts: Accounts) -> None:
    for name, role in [("zoe", "admin"), ("bob", "reviewer"), ("amy", "nurse")]:
        accounts.add_user(name, GOOD_PASSWORD, role, now=NOW)
    assert [(u.username, u.role) for u in accounts.list_users()] == [
        ("amy", "nurse"),
        ("bob", "reviewer"),
        ("zoe", "admin"),
    ]
    bob = accounts.get_user("bob")
    assert bob is not None
    assert bob.role == "reviewer"
    assert accounts.get_user("BOB") is None
    assert accounts.get_user("nobody") is None


def test_disabled_users_cannot_log_in_or_use_sessions_or_tokens(accounts: Accounts) -> None:
    user = accounts.add_user("alice", GOOD_PASSWORD, "nurse", now=NOW)
    cookie, _ = accounts.create_session(user, now=NOW)
    token = accounts.create_token("alice", label=None, now=NOW)
    assert accounts.set_disabled("alice", True)
    assert accounts.authenticate("alice", GOOD_PASSWORD, client="c", now=NOW) is None
    assert accounts.session(cookie, now=NOW) is None
    assert accounts.user_for_token(token, now=NOW) is None
    with pytest.raises(InputError, match="disabled"):
        accounts.create_token("alice", label=None, now=NOW)
    assert accounts.set_disabled("alice", False)
    assert accounts.authenticate("alice", GOOD_PASSWORD, client="c", now=NOW) == user
    assert accounts.user_for_token(token, now=NOW) == user
    assert accounts.session(cookie, now=NOW) is None  # disabling ended the session for good
    assert not accounts.set_disabled("nobody", True)


# -- sessions ----------------------------------------------------------------------------------


def test_a_session_lives_until_it_expires(engine: Engine) -> None:
    accounts = Accounts(engine, session_hours=8, hasher=FAST)
    user = accounts.add_user("alice", GOOD_PASSWORD, "clinician", now=NOW)
    cookie, session = accounts.create_session(user, now=NOW)
    assert session == Session(user, session.csrf_token, NOW + timedelta(hours=8))
    assert len(cookie) >= 43
    assert len(session.csrf_token) >= 43
    assert accounts.session(cookie, now=NOW) == session
    just_before = NOW + timedelta(hours=8) - timedelta(seconds=1)
    assert accounts.session(cookie, now=just_before) == session
    assert accounts.session(cookie, now=NOW + timedelta(hours=8)) is None
    assert accounts.session(cookie + "x", now=NOW) is None
    assert accounts.session("", now=NOW) is None


def test_sessions_are_stored_hashed_and_each_has_its_own_csrf_token(
    accounts: Accounts, engine: Engine
) -> None:
    user = accounts.add_user("alice", GOOD_PASSWORD, "clinician", now=NOW)
    (cookie_a, a), (cookie_b, b) = (accounts.create_session(user, now=NOW) for _ in range(2))
    assert cookie_a != cookie_b
    assert a.csrf_token != b.csrf_token
    stored = repr(_rows(engine, web_sessions))
    assert cookie_a not in stored
    assert cookie_b not in stored
    assert csrf_matches(a, a.csrf_token)
    assert not csrf_matches(a, b.csrf_token)
    assert not csrf_matches(a, None)
    assert not csrf_matches(a, "")


def test_logout_and_purge(accounts: Accounts, engine: Engine) -> None:
    user = accounts.add_user("alice", GOOD_PASSWORD, "clinician", now=NOW)
    cookie, _ = accounts.create_session(user, now=NOW)
    accounts.create_session(user, now=NOW - timedelta(days=1))
    later, _ = accounts.create_session(user, now=NOW + timedelta(hours=1))
    accounts.end_session(cookie)
    accounts.end_session(cookie)  # twice is harmless
    accounts.end_session("not a token")
    assert accounts.session(cookie, now=NOW) is None
    assert accounts.purge_expired(now=NOW) == 1  # the day-old one
    assert len(_rows(engine, web_sessions)) == 1
    assert accounts.session(later, now=NOW) is not None
    assert accounts.purge_expired(now=NOW + timedelta(days=1)) == 1
    assert _rows(engine, web_sessions) == []


def test_two_processes_share_sessions_through_the_database(
    accounts_url: str, engine: Engine
) -> None:
    """Two Accounts on their own engines, as two app processes would be."""
    first = Accounts(engine, hasher=FAST)
    second_engine = make_engine(accounts_url)
    try:
        second = Accounts(second_engine, hasher=FAST)
        user = first.add_user("alice", GOOD_PASSWORD, "nurse", now=NOW)
        cookie, session = first.create_session(user, now=NOW)
        assert second.session(cookie, now=NOW) == session
        second.end_session(cookie)
        assert first.session(cookie, now=NOW) is None
        token = second.create_token("alice", label="lab", now=NOW)
        assert first.user_for_token(token, now=NOW) == user
    finally:
        second_engine.dispose()


def test_a_session_for_an_unknown_user_is_refused(accounts: Accounts) -> None:
    with pytest.raises(NotFound):
        accounts.create_session(User(99, "ghost", "admin"), now=NOW)


def test_an_aware_now_is_taken_as_local_wall_clock_time(accounts: Accounts) -> None:
    user = accounts.add_user("alice", GOOD_PASSWORD, "clinician", now=NOW)
    aware = NOW.astimezone(UTC)
    cookie, session = accounts.create_session(user, now=aware)
    assert session.expires_at.tzinfo is None
    assert accounts.session(cookie, now=NOW) == session


# -- API tokens --------------------------------------------------------------------------------


def test_api_tokens_are_stored_hashed_and_can_be_revoked(
    accounts: Accounts, engine: Engine
) -> None:
    user = accounts.add_user("alice", GOOD_PASSWORD, "clinician", now=NOW)
    token = accounts.create_token("alice", label="practice system", now=NOW)
    assert token.startswith("b12_")
    assert len(token) >= 40
    (row,) = _rows(engine, api_tokens)
    assert token not in repr(row)
    assert token[4:] not in repr(row)
    assert row["label"] == "practice system"
    assert row["revoked_at"] is None
    assert accounts.user_for_token(token, now=NOW) == user
    assert accounts.user_for_token(token[4:], now=NOW) is None  # the prefix is part of it
    assert accounts.user_for_token(token + "A", now=NOW) is None
    assert accounts.revoke_token(token, now=NOW)
    assert not accounts.revoke_token(token, now=NOW)
    assert accounts.user_for_token(token, now=NOW) is None
    (row,) = _rows(engine, api_tokens)
    assert row["revoked_at"] == NOW


def test_tokens_are_only_made_for_known_users_with_sane_labels(accounts: Accounts) -> None:
    with pytest.raises(NotFound):
        accounts.create_token("ghost", label=None, now=NOW)
    with pytest.raises(InputError) as err:
        accounts.create_token("no such user!", label="x" * 201, now=NOW)
    assert _fields(err) == ["user", "label"]
    accounts.add_user("alice", GOOD_PASSWORD, "clinician", now=NOW)
    with pytest.raises(InputError):
        accounts.create_token("alice", label="bad\nlabel", now=NOW)


def test_a_session_cookie_is_not_an_api_token(accounts: Accounts) -> None:
    user = accounts.add_user("alice", GOOD_PASSWORD, "clinician", now=NOW)
    cookie, _ = accounts.create_session(user, now=NOW)
    token = accounts.create_token("alice", label=None, now=NOW)
    assert accounts.user_for_token(cookie, now=NOW) is None
    assert accounts.user_for_token("b12_" + cookie, now=NOW) is None
    assert accounts.session(token, now=NOW) is None


# -- faults ------------------------------------------------------------------------------------


def test_an_unmigrated_database_is_unavailable_not_a_crash(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    try:
        accounts = Accounts(engine, hasher=FAST)
        with pytest.raises(RegistryUnavailable):
            accounts.list_users()
        with pytest.raises(RegistryUnavailable):
            accounts.authenticate("alice", GOOD_PASSWORD, client="c", now=NOW)
    finally:
        engine.dispose()


def test_a_corrupt_stored_hash_fails_closed(accounts: Accounts, engine: Engine) -> None:
    accounts.add_user("alice", GOOD_PASSWORD, "clinician", now=NOW)
    with engine.begin() as conn:
        conn.execute(update(users).values(password_hash="not-a-hash"))
    assert accounts.authenticate("alice", GOOD_PASSWORD, client="c", now=NOW) is None
