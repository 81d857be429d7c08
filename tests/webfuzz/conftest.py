"""The app under fuzzing: in-process (ASGI) on a throw-away SQLite file, a fixed clock.

One admin user (every permission, so every handler is reached past the role check) and an
API token for it.  The database lives for the module: fuzzed writes (enrolments, doses, review
transitions) stay inside it.  ``problems_with_error_body`` says why a body is not the canonical
``{"error": {"code", "message", "fields"}}``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from fastapi import FastAPI

from b12.entrypoints.web.app import create_app
from b12.entrypoints.web.services import WebConfig

NOW = datetime(2026, 3, 2, 9, 0)  # noqa: DTZ001 - the app works in naive local clinic time
USERNAME = "fuzz.admin"
PASSWORD = "a long fuzzing passphrase 7"


@dataclass(frozen=True)
class FuzzApp:
    """The app, its database URL and a bearer token with every permission."""

    app: FastAPI
    database_url: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        """The ``Authorization`` header for the token."""
        return {"Authorization": f"Bearer {self.token}"}


def make_fuzz_app(folder: Path) -> FuzzApp:
    """A migrated app on a new SQLite file in ``folder`` with an admin and a token."""
    url = f"sqlite:///{folder / 'fuzz.sqlite3'}"
    app = create_app(WebConfig(database_url=url, clock=lambda: NOW))
    accounts = app.state.services.accounts
    accounts.add_user(USERNAME, PASSWORD, "admin", now=NOW)
    token = accounts.create_token(USERNAME, label="fuzz", now=NOW)
    return FuzzApp(app, url, token)


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzApp]:
    """One app per test module."""
    made = make_fuzz_app(tmp_path_factory.mktemp("webfuzz"))
    try:
        yield made
    finally:
        made.app.state.services.registry.engine.dispose()


def problems_with_error_body(document: object) -> list[str]:
    """Why ``document`` is not the canonical error body ([] when it is)."""
    if not isinstance(document, dict):
        return ["the body is not a JSON object"]
    extra = set(document) - {"error", "check"}
    out = [f"unexpected top-level keys {sorted(extra)}"] if extra else []
    error = document.get("error")
    if not isinstance(error, dict):
        return [*out, "no 'error' object"]
    if set(error) != {"code", "message", "fields"}:
        out.append(f"'error' has keys {sorted(error)}")
    if not isinstance(error.get("code"), str) or not error.get("code"):
        out.append("'error.code' is not a non-empty string")
    if not isinstance(error.get("message"), str):
        out.append("'error.message' is not a string")
    fields = error.get("fields")
    if not isinstance(fields, list):
        return [*out, "'error.fields' is not a list"]
    for item in fields:
        if not (
            isinstance(item, dict)
            and set(item) == {"field", "message"}
            and all(isinstance(v, str) for v in item.values())
        ):
            out.append(f"bad 'fields' entry {item!r}")
    return out
