"""What every ``b12`` command module shares: the clock, reading documents, errors, the registry.

Command modules (``cli``, ``registry_cli``, ``accounts_cli``, …) import this module and never
each other.  It imports nothing heavy at module level: SQLAlchemy and the registry are imported
by :func:`open_registry` when a command needs the database.

Exit codes (documented in docs/cli.md): 0 success; 1 the knowledge base is invalid or an
internal error; 2 bad input; 3 refused by the order check (a stop without an override reason);
4 not found; 5 database unavailable; 6 conflict (an idempotency key already used for a
different dose).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from b12.adapters.documents import load_document
from b12.core.dates import parse_iso_date
from b12.core.errors import Conflict, FieldProblem, InputError, NotFound, Refused, quoted

if TYPE_CHECKING:
    from b12.adapters.sql.registry import Registry
    from b12.core.knowledge import KnowledgeBase

EXIT_INTERNAL = 1
EXIT_INPUT = 2
EXIT_REFUSED = 3
EXIT_NOT_FOUND = 4
EXIT_UNAVAILABLE = 5
EXIT_CONFLICT = 6

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a report.")]


# -- the clock (the core never reads it) ---------------------------------------------------------


def today() -> date:
    """The shell's today; the core never reads the clock."""
    return date.today()  # noqa: DTZ011 - a calendar date in local time is what clinicians mean


def now() -> datetime:
    """The local wall-clock time of the practice, to the second (stored with each write)."""
    return datetime.now().replace(microsecond=0)  # noqa: DTZ005 - local wall-clock time


# -- the knowledge base ----------------------------------------------------------------------


_kb_loader: list[Callable[[], KnowledgeBase]] = []


def use_knowledge_base(loader: Callable[[], KnowledgeBase]) -> None:
    """Set how commands load the bundled knowledge base (``cli`` does this once)."""
    _kb_loader[:] = [loader]


def knowledge_base() -> KnowledgeBase:
    """The bundled knowledge base, through the loader set by :func:`use_knowledge_base`."""
    if not _kb_loader:  # pragma: no cover - cli sets it at import
        from b12.adapters.knowledge_files import load_knowledge_base

        return load_knowledge_base(None)
    return _kb_loader[0]()


# -- input -----------------------------------------------------------------------------------


def parse_day(text: str, field: str) -> date:
    """A ``YYYY-MM-DD`` option value; anything else is bad input naming ``field``."""
    try:
        return parse_iso_date(text.strip())
    except ValueError as exc:
        raise InputError([FieldProblem(field, f"{exc}, got {quoted(text)}")]) from None


def read_document(source: str) -> Any:
    """A JSON document from a file or ``-`` (stdin); a YAML vignette file gives its input.

    One reading function for every document a command reads: size, depth and alias limits
    (:mod:`b12.adapters.documents`), one clear ``input`` error otherwise.
    """
    doc = load_document(source, field="input")
    if source.endswith((".yaml", ".yml")) and isinstance(doc, dict):
        for part in ("request", "picture"):
            inner = doc.get(part)
            if isinstance(inner, dict) and (part == "request" or "expect" in doc):
                return {**inner, "as_of": inner.get("as_of", doc.get("as_of"))}
    return doc


def read_object(source: str, field: str) -> dict[str, Any]:
    """:func:`read_document` that must be a JSON object."""
    document = read_document(source)
    if not isinstance(document, dict):
        raise InputError([FieldProblem(field, "expected a JSON object")])
    return document


# -- output ----------------------------------------------------------------------------------


def terminal(text: str | None) -> str:
    """Text from the database or the user, safe to print: control characters are shown as
    escapes (``\\x1b``) so they cannot drive the terminal, and Rich markup is escaped."""
    if text is None:
        return ""
    from rich.markup import escape

    shown = "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)
    return escape(shown)


# -- errors ----------------------------------------------------------------------------------


def fail(message: str, code: int) -> NoReturn:
    """Print ``error: message`` on stderr and exit with ``code``."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def fail_input(err: InputError, names: Mapping[str, str] | None = None) -> NoReturn:
    """One ``error: field: message`` line per problem, exit 2; ``names`` renames fields."""
    for problem in err.problems:
        field = option_name(problem.field, names or {})
        typer.echo(f"error: {FieldProblem(field, problem.message).render()}", err=True)
    raise typer.Exit(EXIT_INPUT)


def option_name(field: str, names: Mapping[str, str]) -> str:
    """The name the user typed for an internal field: ``order.start`` → ``--date``."""
    if field in names:
        return names[field]
    if field.startswith("order.dose") or field.startswith("dose."):
        return names.get("dose", field)
    if field.startswith("order."):
        return names.get(field.removeprefix("order."), field)
    if field.startswith("history[") and "history" in names:  # the registry's own records
        number = field[len("history[") :].split("]", 1)[0]
        rest = field.split("]", 1)[1].lstrip(".")
        if number.isdigit():
            return f"{names['history']} {int(number) + 1}" + (f" ({rest})" if rest else "")
    return field


def _print_refused(err: Refused) -> NoReturn:
    typer.echo(f"refused: {err}", err=True)
    for alert in getattr(err.detail, "alerts", ()):
        typer.echo(f"  {alert.severity.upper()} {alert.code}: {alert.message}", err=True)
    raise typer.Exit(EXIT_REFUSED)


def _print_conflict(err: Conflict) -> NoReturn:
    typer.echo(f"conflict: {err}", err=True)
    for label, dose in (("recorded", err.recorded), ("this one", err.submitted)):
        shown = ", ".join(f"{k} {terminal(str(v))}" for k, v in dose.items() if v is not None)
        typer.echo(f"  {label}: {shown}", err=True)
    raise typer.Exit(EXIT_CONFLICT)


@contextmanager
def errors(names: Mapping[str, str] | None = None) -> Iterator[None]:
    """Map b12's errors to one-line messages and exit codes; never a traceback.

    ``names`` maps internal field names to the options the user typed (``date`` → ``--date``).
    """
    try:
        yield
    except InputError as err:
        fail_input(err, names)
    except Refused as err:
        _print_refused(err)
    except Conflict as err:
        _print_conflict(err)
    except NotFound as err:
        fail(terminal(str(err)), EXIT_NOT_FOUND)
    except Exception as err:
        from b12.adapters.sql.transactions import RegistryUnavailable

        if isinstance(err, RegistryUnavailable):
            fail(str(err), EXIT_UNAVAILABLE)
        raise


# -- the registry ----------------------------------------------------------------------------


@contextmanager
def open_registry(*, migrate: bool = True) -> Iterator[Registry]:
    """The registry at ``B12_DATABASE_URL`` (migrated first); its connections closed after."""
    from b12.adapters.sql.registry import Registry
    from b12.entrypoints import settings

    registry = Registry(settings.database_url(), knowledge_base())
    try:
        if migrate:
            registry.upgrade()
        yield registry
    finally:
        registry.engine.dispose()


def audit_view(registry: Registry, what: str, record: str, **detail: Any) -> None:
    """One audit row for a read or an export of patient data by the CLI's user."""
    from b12.entrypoints import settings

    registry.record_view(
        what, record, actor=settings.actor(), now=now(), detail={"endpoint": "cli", **detail}
    )
