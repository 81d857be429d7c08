"""``b12 user`` and ``b12 token`` on a temporary SQLite file (Typer's CliRunner)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

import b12.entrypoints.cli as cli
from b12.adapters.knowledge_files import load_knowledge_base
from b12.adapters.sql.accounts import Accounts
from b12.adapters.sql.registry import make_engine
from b12.adapters.sql.tables import api_tokens, users
from b12.core.knowledge import KnowledgeBase
from tests.accounts.conftest import GOOD_PASSWORD, NOW


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kb: KnowledgeBase) -> Path:
    """A fresh database file named by B12_DATABASE_URL; the CLI reuses the session's KB."""
    path = tmp_path / "practice" / "registry.sqlite3"
    monkeypatch.setenv("B12_DATABASE_URL", f"sqlite:///{path}")

    def cached(folder: Path | None = None) -> KnowledgeBase:
        return kb if folder is None else load_knowledge_base(folder)

    monkeypatch.setattr(cli, "load_knowledge_base", cached)
    return path


def b12(*args: str, stdin: str | None = None, code: int = 0) -> Result:
    """Run ``b12 ARGS``; check the exit code and that nothing crashed."""
    result = CliRunner().invoke(cli.app, list(args), input=stdin)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert result.exit_code == code, (result.exit_code, result.output)
    return result


def _accounts(db: Path) -> Accounts:
    return Accounts(make_engine(f"sqlite:///{db}"))


def _add(
    username: str = "alice", role: str = "nurse", password: str = GOOD_PASSWORD, code: int = 0
) -> Result:
    return b12(
        "user",
        "add",
        "--username",
        username,
        "--role",
        role,
        "--password-stdin",
        stdin=password,
        code=code,
    )


def test_user_add_with_password_stdin_reads_exactly_one_line(db: Path) -> None:
    added = b12(
        "user",
        "add",
        "--username",
        "alice",
        "--role",
        "clinician",
        "--password-stdin",
        stdin=GOOD_PASSWORD + "\nsecond line is not read\n",
    )
    assert "added user alice (clinician)" in added.stdout
    assert GOOD_PASSWORD not in added.output
    accounts = _accounts(db)
    try:
        user = accounts.authenticate("alice", GOOD_PASSWORD, client="t", now=NOW)
        assert user is not None
        assert user.role == "clinician"
        with accounts.engine.connect() as conn:
            (stored,) = conn.execute(select(users.c.password_hash)).scalars()
        assert stored.startswith("$argon2id$")
    finally:
        accounts.engine.dispose()


def test_user_add_prompts_twice_with_hidden_input(db: Path) -> None:
    added = b12(
        "user", "add", "--username", "bob", "--role", "admin", stdin=f"{GOOD_PASSWORD}\n" * 2
    )
    assert added.stdout.count("Password") == 1
    assert "Repeat for confirmation" in added.stdout
    assert GOOD_PASSWORD not in added.output  # hidden: not echoed
    assert "added user bob (admin)" in added.stdout


def test_mismatched_prompts_ask_again(db: Path) -> None:
    stdin = f"{GOOD_PASSWORD}\nsomething else\n{GOOD_PASSWORD}\n{GOOD_PASSWORD}\n"
    added = b12("user", "add", "--username", "bob", "--role", "admin", stdin=stdin)
    assert "do not match" in added.output
    assert "added user bob (admin)" in added.stdout


def test_weak_password_exits_2_with_one_line_per_problem(db: Path) -> None:
    result = _add(password="password", code=2)
    lines = result.stderr.splitlines()
    assert lines == [
        "error: password: must be at least 12 characters",
        "error: password: must mix at least two kinds of character "
        "(lower-case, upper-case, digits, spaces or punctuation)",
        "error: password: is one of the most common passwords",
    ]
    assert json.loads(b12("user", "list", "--json").stdout) == []


def test_unknown_role_and_bad_username_exit_2_before_asking_for_a_password(db: Path) -> None:
    result = b12("user", "add", "--username", "x", "--role", "surgeon", code=2)
    assert "Password" not in result.stdout
    assert result.stderr.splitlines() == [
        "error: username: expected 3 to 64 letters, digits, '.', '_' or '-'",
        "error: role: expected one of clinician, nurse, reviewer, safety_officer, admin",
    ]


def test_duplicate_user_and_empty_stdin_exit_2(db: Path) -> None:
    _add()
    assert "already taken" in _add(code=2).stderr
    empty = b12("user", "add", "--username", "carol", "--role", "nurse", "--password-stdin", code=2)
    assert "error: password: expected one line on standard input" in empty.stderr


def test_user_list(db: Path) -> None:
    _add("zoe", "reviewer")
    _add("amy", "nurse")
    assert json.loads(b12("user", "list", "--json").stdout) == [
        {"username": "amy", "role": "nurse"},
        {"username": "zoe", "role": "reviewer"},
    ]
    table = b12("user", "list").stdout
    assert "amy" in table
    assert "reviewer" in table


def test_token_create_prints_the_token_last_and_stores_only_its_hash(db: Path) -> None:
    _add()
    created = b12("token", "create", "--user", "alice", "--label", "lab system")
    token = created.stdout.splitlines()[-1]
    assert token.startswith("b12_")
    assert created.stdout.count(token) == 1
    accounts = _accounts(db)
    try:
        found = accounts.user_for_token(token, now=NOW)
        assert found is not None
        assert found.username == "alice"
        with accounts.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(select(api_tokens)).mappings()]
        assert token not in repr(rows)
        assert rows[0]["label"] == "lab system"
    finally:
        accounts.engine.dispose()

    assert "token revoked" in b12("token", "revoke", stdin=token + "\n").stdout
    accounts = _accounts(db)
    try:
        assert accounts.user_for_token(token, now=NOW) is None
    finally:
        accounts.engine.dispose()
    again = b12("token", "revoke", stdin=token + "\n", code=4)
    assert "error: no active API token matches" in again.stderr


def test_token_for_an_unknown_user_or_bad_input(db: Path) -> None:
    assert "error: no user 'ghost'" in b12("token", "create", "--user", "ghost", code=4).stderr
    bad = b12("token", "create", "--user", "no such user", code=2)
    assert bad.stderr.startswith("error: user: ")
    assert "error: token: " in b12("token", "revoke", stdin="", code=2).stderr


def test_an_unusable_database_url_exits_2(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("B12_DATABASE_URL", "nonsense://")
    assert "error: B12_DATABASE_URL: " in b12("user", "list", code=2).stderr


def test_with_password_stdin_every_problem_is_reported_at_once(db: Path) -> None:
    result = _add("x", "surgeon", "Password123!", code=2)
    assert result.stderr.splitlines() == [
        "error: username: expected 3 to 64 letters, digits, '.', '_' or '-'",
        "error: role: expected one of clinician, nurse, reviewer, safety_officer, admin",
        "error: password: is one of the most common passwords",
    ]
