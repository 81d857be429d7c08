"""Arbitrary strings as usernames, passwords and tokens: only InputError, NotFound or None."""

from __future__ import annotations

import contextlib
from itertools import count

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from b12.adapters.sql.accounts import Accounts, password_problems
from b12.core.errors import InputError, NotFound
from tests.accounts.conftest import FAST, GOOD_PASSWORD, NOW

# Every character Python strings can hold, NUL and lone surrogates included.
ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=80)
SHAPED = st.one_of(
    ANY_TEXT,
    st.from_regex(r"b12_[A-Za-z0-9_-]{0,60}", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9._-]{0,70}", fullmatch=True),
)
CLIENTS = count()


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=SHAPED, secret=SHAPED)
def test_arbitrary_strings_never_raise_anything_else(
    engine: Engine, name: str, secret: str
) -> None:
    accounts = Accounts(engine, max_failures=10**9, hasher=FAST)
    if accounts.get_user("alice") is None:
        accounts.add_user("alice", GOOD_PASSWORD, "nurse", now=NOW)
    assert isinstance(password_problems(secret, name), list)
    try:
        user = accounts.add_user(name, secret, "nurse", now=NOW)
    except InputError:
        pass
    else:  # a valid new username with a strong password: only then is anything stored
        assert user.username == name
        assert not password_problems(secret, name)
    stored = accounts.get_user(name)
    assert stored is None or stored.username == name
    if name != "alice" or secret != GOOD_PASSWORD:
        client = f"hypothesis-{next(CLIENTS)}"
        found = accounts.authenticate(name, secret, client=client, now=NOW)
        assert found is None or found.username == name
    for token in (name, secret):
        assert accounts.session(token, now=NOW) is None
        assert accounts.user_for_token(token, now=NOW) is None
        assert accounts.revoke_token(token, now=NOW) is False
        accounts.end_session(token)
    with contextlib.suppress(InputError, NotFound):
        accounts.create_token(name, label=secret, now=NOW)
