"""Account commands: ``b12 user add|list``, ``b12 token create|revoke``.

Thin: parse options, call ``Accounts``, print.  Passwords and tokens are read from a hidden
prompt or standard input, never from options (they would land in the shell history and the
process list).  Exit codes as in ``registry_cli``: 2 bad input (one ``error: field: message``
line per problem), 4 not found, 5 database unavailable.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from b12.adapters.sql.accounts import ROLES, Accounts, new_user_problems
from b12.core.errors import FieldProblem, InputError, NotFound
from b12.entrypoints.registry_cli import JsonFlag, _errors, _now, _registry

user_app = typer.Typer(no_args_is_help=True, help="Manage local user accounts.")
token_app = typer.Typer(no_args_is_help=True, help="Create and revoke API tokens.")


@contextmanager
def _accounts(load_kb: Callable[[], Any]) -> Iterator[Accounts]:
    """Accounts on the registry database (migrated first, like every registry command)."""
    registry = _registry(load_kb)
    try:
        yield Accounts(registry.engine)
    finally:
        registry.engine.dispose()


def _stdin_line(field: str) -> str:
    """Exactly one line of standard input without its line ending."""
    line = sys.stdin.readline()
    if not line:
        raise InputError([FieldProblem(field, "expected one line on standard input")])
    return line.removesuffix("\n").removesuffix("\r")


def register(app: typer.Typer, load_kb: Callable[[], Any]) -> None:
    """Attach the account commands to the main app."""
    app.add_typer(user_app, name="user")
    app.add_typer(token_app, name="token")

    @user_app.command("add")
    def user_add(
        username: Annotated[str, typer.Option(help="Login name: 3-64 of A-Z a-z 0-9 . _ -")],
        role: Annotated[str, typer.Option(help=f"One of: {', '.join(ROLES)}.")],
        password_stdin: Annotated[
            bool,
            typer.Option(
                "--password-stdin", help="Read the password as one line of standard input."
            ),
        ] = False,
    ) -> None:
        """Add a user; the password is asked twice (hidden) unless --password-stdin."""
        with _errors():
            if password_stdin:
                password = _stdin_line("password")
            else:
                problems = new_user_problems(username, role)
                if problems:  # say so before asking for a password
                    raise InputError(problems)
                password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
            with _accounts(load_kb) as accounts:
                user = accounts.add_user(username, password, role, now=_now())
        typer.echo(f"added user {user.username} ({user.role})")

    @user_app.command("list")
    def user_list(as_json: JsonFlag = False) -> None:
        """List user accounts with their roles."""
        with _errors(), _accounts(load_kb) as accounts:
            found = accounts.list_users()
        if as_json:
            typer.echo(json.dumps([{"username": u.username, "role": u.role} for u in found]))
            return
        table = Table()
        table.add_column("username")
        table.add_column("role")
        for user in found:
            table.add_row(user.username, user.role)
        Console().print(table)

    @token_app.command("create")
    def token_create(
        user: Annotated[str, typer.Option("--user", help="The user the token acts as.")],
        label: Annotated[
            str | None, typer.Option(help="What the token is for (e.g. the client's name).")
        ] = None,
    ) -> None:
        """Create an API token; it is printed once, as the last line (only a hash is kept)."""
        with _errors(), _accounts(load_kb) as accounts:
            token = accounts.create_token(user, label=label, now=_now())
        typer.echo(f"API token for {user}; it is shown only this once (send it as a Bearer token):")
        typer.echo(token)

    @token_app.command("revoke")
    def token_revoke() -> None:
        """Revoke the API token given as one line of standard input."""
        with _errors():
            token = _stdin_line("token").strip()
            with _accounts(load_kb) as accounts:
                revoked = accounts.revoke_token(token, now=_now())
            if not revoked:
                raise NotFound("no active API token matches")
        typer.echo("token revoked")
