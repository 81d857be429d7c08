"""``b12 registry``: bring a practice's register in, review it, and work the recall list.

* ``b12 registry import FILE.csv [--dry-run]`` — the per-row report (accepted, needs attention,
  refused, with the column and the reason) and a summary; without ``--dry-run`` the rows are
  written, one transaction per batch.  Exit 0 when no row was refused, 2 when some were (the
  others are written; the report says which).
* ``b12 registry review`` — overdue, no review in 12 months, may suit oral treatment, high B12
  with a question about stopping: each row with its reason and citations.
* ``b12 registry outreach mark|list`` and ``b12 registry messages --csv FILE`` — outreach marks
  (invited, contacted, booked, declined; audited) and the reminder export for the practice's
  messaging service.  b12 sends nothing.

Exit codes as the other registry commands: 2 bad input, 4 not found, 5 database unavailable.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from b12.core.errors import FieldProblem, InputError
from b12.entrypoints import settings
from b12.entrypoints.cli_common import errors, now, open_registry, parse_day, terminal

if TYPE_CHECKING:  # the register engine, SQLAlchemy and Rich are imported by the commands
    from b12.adapters.sql.register import RegisterStore
    from b12.core.register_import import RowReport

registry_app = typer.Typer(
    no_args_is_help=True, help="Bring a register in, review it, and work the recall list."
)
outreach_app = typer.Typer(no_args_is_help=True, help="Mark recall rows and list the marks.")
registry_app.add_typer(outreach_app, name="outreach")

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a report.")]
AsOf = Annotated[str | None, typer.Option("--as-of", help="Date of the list (default today).")]
Within = Annotated[int, typer.Option(help="Include doses due within this many days.")]

REPORT_COURSE = ("pathway", "phase", "phase_read", "next_due")
#: The outreach statuses named in ``--status`` help: the core's ``OUTREACH_STATUSES`` (which
#: validates the value), spelled here so that building the command imports no core models
#: (``tests/unit/test_import_cost.py`` checks that the two agree).
OUTREACH_HELP = ("invited", "contacted", "booked", "declined")


def register(app: typer.Typer) -> None:
    """Attach ``b12 registry`` to the main app."""
    app.add_typer(registry_app, name="registry")


@contextmanager
def _store() -> Iterator[RegisterStore]:
    """The register store on the configured database (imported when a command needs it)."""
    from b12.adapters.register_content import load_register_content
    from b12.adapters.sql.register import RegisterStore

    with open_registry() as registry:
        yield RegisterStore(registry, load_register_content(registry.kb))


def _viewed(store: RegisterStore, what: str, **detail: Any) -> None:
    """Audit a read or export of patient data by the CLI's user (as the web app does)."""
    store.registry.record_view(what, "list", actor=settings.actor(), now=now(), detail=detail)


def read_register_csv(path: Path) -> list[tuple[int, dict[str, str]]]:
    """The rows of a register file (UTF-8, with or without a byte-order mark)."""
    from b12.core.register_import import csv_rows

    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return list(csv_rows(handle))
    except OSError as exc:
        raise InputError([FieldProblem("file", f"cannot read {path}: {exc.strerror}")]) from None
    except UnicodeDecodeError as exc:
        raise InputError([FieldProblem("file", f"not UTF-8 text: {exc.reason}")]) from None


@registry_app.command("import")
def import_register(
    path: Annotated[Path, typer.Argument(help="The register as CSV (see examples/).")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report on every row; write nothing.")
    ] = False,
    report_path: Annotated[
        Path | None, typer.Option("--report", help="Also write the per-row report as CSV.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Import a practice's register (run with --dry-run first)."""
    from b12.core.register_import import read_rows, summary

    with errors(), _store() as store:
        moment = now()
        rows = read_register_csv(path)
        reports = store.import_rows(
            read_rows(rows, store.kb, moment.date()),
            actor=settings.actor(),
            now=moment,
            dry_run=dry_run,
        )
        if report_path is not None:
            _write_report(report_path, reports)
    counts = summary(reports)
    counts["written"] = sum(r.outcome == "imported" for r in reports)
    counts["unchanged"] = sum(r.outcome == "unchanged" for r in reports)
    if as_json:
        body = {"dry_run": dry_run, "summary": counts, "rows": [r.as_dict() for r in reports]}
        typer.echo(json.dumps(body, indent=2))
    else:
        _print_import(reports, counts, dry_run)
    if counts["refused"]:
        raise typer.Exit(2)


def _print_import(reports: list[RowReport], counts: dict[str, int], dry_run: bool) -> None:
    """Refused rows in full; rows needing attention counted by column (details: --report)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Refused rows (nothing written for them)")
    for col in ("line", "patient", "column", "reason"):
        table.add_column(col)
    attention: dict[str, int] = {}
    for r in reports:
        for p in r.problems:
            if r.status == "refused" and p.refuses:
                table.add_row(str(r.line), r.patient_id or "", p.column, p.reason)
            elif r.status == "needs_attention":
                attention[p.column] = attention.get(p.column, 0) + 1
    if table.row_count:
        Console(width=160).print(table)
    if attention:
        by_column = ", ".join(f"{c} {n}" for c, n in sorted(attention.items()))
        typer.echo(f"needs attention, by column: {by_column} (each row and reason: --report)")
    verb = "would write" if dry_run else "wrote"
    written = sum(r.outcome in ("imported", "would be imported") for r in reports)
    typer.echo(
        f"{counts['rows']} rows: {counts['accepted']} accepted, "
        f"{counts['needs_attention']} need attention, {counts['refused']} refused; "
        f"{verb} {written}, {counts['unchanged']} already imported (unchanged)"
    )


def _write_report(path: Path, reports: list[RowReport]) -> None:
    """One line per problem, and one for each row without any (with its course)."""
    rows = []
    for r in reports:
        course = r.course or {}
        base = {
            "line": r.line,
            "patient_id": r.patient_id or "",
            "status": r.status,
            "outcome": r.outcome or "",
            **{k: course.get(k) or "" for k in REPORT_COURSE},
        }
        rows += [{**base, "column": p.column, "reason": p.reason} for p in r.problems] or [base]
    fields = ["line", "patient_id", "status", "outcome", "column", "reason", *REPORT_COURSE]
    _write_csv(path, rows, fields)


def _write_csv(path: Path, rows: list[dict[str, Any]], fields: list[str]) -> None:
    """Write ``rows`` as CSV, every text cell defused for spreadsheets."""
    from b12.adapters.spreadsheet import csv_text

    try:
        path.write_text(csv_text(fields, rows), encoding="utf-8", newline="")
    except OSError as exc:
        raise InputError([FieldProblem("path", f"cannot write {path}: {exc.strerror}")]) from None


def _day(as_of: str | None) -> date:
    return parse_day(as_of, "--as-of") if as_of else now().date()


@registry_app.command("review")
def review(
    as_of: AsOf = None,
    criterion: Annotated[
        str | None, typer.Option(help="Only this criterion, e.g. REG-REVIEW-003.")
    ] = None,
    csv_path: Annotated[Path | None, typer.Option("--csv", help="Write the rows as CSV.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """The register review: who needs what, each row with its reason and citations."""
    from rich.console import Console
    from rich.table import Table

    with errors(), _store() as store:
        day = _day(as_of)
        rows = [r.as_dict() for r in store.review(day, criterion)]
        _viewed(store, "register_review", endpoint="cli", criterion=criterion, rows=len(rows))
        if csv_path is not None:
            flat = [
                {
                    **{k: v for k, v in r.items() if k not in ("facts", "references")},
                    **r["facts"],
                    "references": "; ".join(
                        f"{ref['source_id']} ({ref['locator']})" for ref in r["references"]
                    ),
                }
                for r in rows
            ]
            fields = ["patient_id", "display_name", "criterion", "title", "reason"]
            fields += ["timing", "next_due", "overdue_days", "last_review", "last_dose_route"]
            _write_csv(csv_path, flat, [*fields, "serum_b12_ng_l", "references"])
    status = store.content.review_status
    if as_json:
        body = {"as_of": day.isoformat(), "review_status": status, "rows": rows}
        typer.echo(json.dumps(body, indent=2))
        return
    if status != "approved":
        typer.echo(f"[{store.kb.vocabulary.pending_review_banner}]")
    table = Table(title=f"Register review as of {day}: {len(rows)} rows")
    for col in ("patient", "name", "criterion", "reason", "sources"):
        table.add_column(col)
    for r in rows:
        refs = ", ".join(ref["source_id"] for ref in r["references"])
        name = terminal(r["display_name"])
        table.add_row(terminal(r["patient_id"]), name, r["title"], r["reason"], refs)
    Console(width=160).print(table)


@outreach_app.command("mark")
def outreach_mark(
    patient: Annotated[str, typer.Argument(help="Patient id.")],
    status: Annotated[str, typer.Option(help=f"One of: {', '.join(OUTREACH_HELP)}.")],
    note: Annotated[str | None, typer.Option(help="Optional note.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Mark a patient's recall row (for their current due date); who and when are recorded."""
    with errors(), _store() as store:
        mark = store.mark(patient, status, note=note, actor=settings.actor(), now=now())
    if as_json:
        typer.echo(json.dumps(mark, indent=2))
    else:
        typer.echo(f"{patient}: {status} by {mark['by']} at {mark['at']} (due {mark['due_date']})")


@outreach_app.command("list")
def outreach_list(as_of: AsOf = None, within: Within = 14, as_json: JsonFlag = False) -> None:
    """The recall list with each row's outreach mark for its current due date."""
    from rich.console import Console
    from rich.table import Table

    with errors(), _store() as store:
        day = _day(as_of)
        rows = store.recall_with_outreach(day, within)
        _viewed(store, "outreach", endpoint="cli", within=within, rows=len(rows))
    if as_json:
        typer.echo(json.dumps({"as_of": day.isoformat(), "rows": rows}, indent=2))
        return
    table = Table(title=f"Recall list with outreach as of {day}: {len(rows)} rows")
    for col in ("patient", "name", "next due", "status", "contact", "outreach"):
        table.add_column(col)
    for r in rows:
        mark = r["outreach"]
        done = f"{mark['status']} by {mark['by']} {mark['at']}" if mark else ""
        table.add_row(
            terminal(r["patient_id"]), terminal(r["display_name"]), r["next_due"], r["status"],
            terminal(r["contact"]), done,
        )  # fmt: skip
    Console(width=160).print(table)


@registry_app.command("messages")
def messages(
    csv_path: Annotated[Path, typer.Option("--csv", help="The CSV file to write.")],
    as_of: AsOf = None,
    within: Within = 14,
) -> None:
    """Export reminder messages (contact, due date, text) for the practice's messaging service."""
    with errors(), _store() as store:
        rows, missing = store.messages(_day(as_of), within)
        _viewed(store, "messages", endpoint="cli", within=within, rows=len(rows))
        fields = ["patient_id", "name", "contact", "due_date", "status", "message"]
        _write_csv(csv_path, rows, fields)
    typer.echo(f"wrote {len(rows)} reminders to {csv_path}; b12 sends nothing itself")
    if missing:
        typer.echo(f"{len(missing)} recall rows have no contact on file: {', '.join(missing[:20])}")
