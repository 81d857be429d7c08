"""The weak-password policy (a pure function) and its common-password list."""

from __future__ import annotations

from importlib import resources

import pytest

from b12.adapters.sql.accounts import common_passwords, password_problems


def test_a_long_mixed_password_is_accepted() -> None:
    assert password_problems("Tea-kettle Orbit 42", "alice") == []
    assert password_problems("correct horse battery 7", "alice") == []


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ("Short1!", "at least 12 characters"),
        ("x" * 1025 + "A", "at most 1024 characters"),
        ("my-alice-password-1", "must not contain the username"),
        ("MY-ALICE-PASSWORD-1", "must not contain the username"),
        ("onlylowercaseletters", "two kinds of character"),
        ("ONLYUPPERCASELETTERS", "two kinds of character"),
        ("123456789012345", "two kinds of character"),
        ("!!!!!!!!!!!!!!!!", "two kinds of character"),
        ("Password123!", "most common passwords"),
        ("  qwertyuiop 2024", "most common passwords"),
        ("ILOVEYOU.2026", "most common passwords"),
        ("pass\udc80word-long-1", "cannot be stored"),
    ],
)
def test_weak_passwords_are_explained(password: str, expected: str) -> None:
    problems = password_problems(password, "alice")
    assert any(expected in p for p in problems), problems


def test_every_problem_is_listed() -> None:
    problems = password_problems("password", "pass")
    assert len(problems) == 4, problems  # short, has the username, one kind, common


def test_the_common_list_is_a_data_file_of_100_passwords() -> None:
    text = (resources.files("b12.adapters.sql") / "common_passwords.txt").read_text("utf-8")
    entries = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert len(entries) == len(set(entries)) == 100
    assert common_passwords() == frozenset(e.casefold() for e in entries)
    assert {"123456", "password", "qwerty", "iloveyou"} <= common_passwords()
