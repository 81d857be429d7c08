"""Account commands: ``b12 user add|list|set-password|disable|enable``, ``b12 token create|revoke``.

Thin: parse options, call ``Accounts``, print.  Passwords and tokens are read from a hidden
prompt or standard input, never from options (they would land in the shell history and the
process list).  Exit codes as in ``cli_common``: 2 bad input (one ``error: field: message``
line per problem), 4 not found, 5 database unavailable.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from b12.core.errors import FieldProblem, InputError, NotFound
from b12.entrypoints.cli_common import JsonFlag, errors, now, open_registry

if TYPE_CHECKING:
    from b12.adapters.sql.accounts import Accounts

user_app = typer.Typer(no_args_is_help=True, help="Manage local user accounts.")
token_app = typer.Typer(no_args_is_help=True, help="Create and revoke API tokens.")

PasswordStdin = Annotated[
    bool,
    typer.Option("--password-stdin", help="Read the password as one line of standard input."),
]
Username = Annotated[str, typer.Argument(help="The login name.")]


def register(app: typer.Typer) -> None:
    """Attach the account commands to the main app."""
    app.add_typer(user_app, name="user")
    app.add_typer(token_app, name="token")


@contextmanager
def _accounts() -> Iterator[Accounts]:
    """Accounts on the registry database (migrated first, like every registry command)."""
    from b12.adapters.sql.accounts import Accounts

    with open_registry() as registry:
        yield Accounts(registry.engine)


def _stdin_line(field: str) -> str:
    """Exactly one line of standard input without its line ending."""
    line = sys.stdin.readline()
    if not line:
        raise InputError([FieldProblem(field, "expected one line on standard input")])
    return line.removesuffix("\n").removesuffix("\r")


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return _stdin_line("password")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Option(help="Login name: 3-64 of A-Z a-z 0-9 . _ -")],
    role: Annotated[str, typer.Option(help="One of: clinician, nurse, reviewer, admin.")],
    password_stdin: PasswordStdin = False,
) -> None:
    """Add a user; the password is asked twice (hidden) unless --password-stdin."""
    from b12.adapters.sql.accounts import new_user_problems

    with errors():
        if not password_stdin:
            problems = new_user_problems(username, role)
            if problems:  # say so before asking for a password
                raise InputError(problems)
        password = _password(password_stdin)
        with _accounts() as accounts:
            user = accounts.add_user(username, password, role, now=now())
    typer.echo(f"added user {user.username} ({user.role})")


@user_app.command("list")
def user_list(as_json: JsonFlag = False) -> None:
    """List user accounts with their roles."""
    with errors(), _accounts() as accounts:
        found = accounts.list_users()
    if as_json:
        typer.echo(json.dumps([{"username": u.username, "role": u.role} for u in found]))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table()
    table.add_column("username")
    table.add_column("role")
    for user in found:
        table.add_row(user.username, user.role)
    Console().print(table)


@user_app.command("set-password")
def user_set_password(username: Username, password_stdin: PasswordStdin = False) -> None:
    """Set a new password (e.g. a lost admin password); the user's sessions end."""
    with errors():
        with _accounts() as accounts:
            if accounts.get_user(username) is None:
                raise NotFound(f"no user {username[:64]!r}")
        password = _password(password_stdin)
        with _accounts() as accounts:
            if not accounts.set_password(username, password):
                raise NotFound(f"no user {username[:64]!r}")
    typer.echo(f"password changed for {username}; their sessions have ended")


def _set_disabled(username: str, disabled: bool) -> None:
    with errors(), _accounts() as accounts:
        if not accounts.set_disabled(username, disabled):
            raise NotFound(f"no user {username[:64]!r}")


@user_app.command("disable")
def user_disable(username: Username) -> None:
    """Disable an account: no sign-in, its API tokens stop working, its sessions end."""
    _set_disabled(username, True)
    typer.echo(f"disabled {username}")


@user_app.command("enable")
def user_enable(username: Username) -> None:
    """Enable a disabled account again (its unrevoked API tokens work again)."""
    _set_disabled(username, False)
    typer.echo(f"enabled {username}")


@token_app.command("create")
def token_create(
    user: Annotated[str, typer.Option("--user", help="The user the token acts as.")],
    label: Annotated[
        str | None, typer.Option(help="What the token is for (e.g. the client's name).")
    ] = None,
) -> None:
    """Create an API token; it is printed once, as the last line (only a hash is kept)."""
    with errors(), _accounts() as accounts:
        token = accounts.create_token(user, label=label, now=now())
    typer.echo(f"API token for {user}; it is shown only this once (send it as a Bearer token):")
    typer.echo(token)


@token_app.command("revoke")
def token_revoke() -> None:
    """Revoke the API token given as one line of standard input."""
    with errors():
        token = _stdin_line("token").strip()
        with _accounts() as accounts:
            revoked = accounts.revoke_token(token, now=now())
        if not revoked:
            raise NotFound("no active API token matches")
    typer.echo("token revoked")
