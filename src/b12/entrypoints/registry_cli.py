"""Registry commands: ``b12 db``, ``b12 patient``, ``b12 dose``, ``b12 event``, ``b12 recall``.

Thin: parse options, call the registry, print.  One module-level function per command; they
share :func:`~b12.entrypoints.cli_common.open_registry` and
:func:`~b12.entrypoints.cli_common.errors`.  Exit codes: 2 bad input, 3 refused by the order
check (a stop without an override reason), 4 not found, 5 database unavailable, 6 conflict (an
idempotency key already used for a different dose).  Every read or export of patient data
writes one audit row.  SQLAlchemy is imported only when a command opens the registry.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from b12.core.errors import FieldProblem, InputError
from b12.entrypoints import settings
from b12.entrypoints.cli_common import (
    JsonFlag,
    audit_view,
    errors,
    now,
    open_registry,
    parse_day,
    read_object,
    terminal,
    today,
)

if TYPE_CHECKING:
    from datetime import date

    from b12.adapters.sql.registry import DoseInput
    from b12.core.course_models import FollowUpResult
    from b12.core.plan_models import Plan

db_app = typer.Typer(
    no_args_is_help=True, help="Create, migrate, back up and restore the registry."
)
patient_app = typer.Typer(no_args_is_help=True, help="Enrol and look up patients.")
dose_app = typer.Typer(no_args_is_help=True, help="Record administered doses.")
event_app = typer.Typer(no_args_is_help=True, help="Record clinical events.")

#: Internal field names → the options the user typed, per command group.  Picture fields keep
#: their own names (they are typed in the picture file).
PATIENT_NAMES = {"id": "--id", "name": "--name", "date_of_birth": "--dob"}
DOSE_NAMES = {
    "date": "--date",
    "start": "--date",  # the order check's order.start is the dose's date
    "as_of": "--date",  # ... and so is its as_of
    "drug": "--drug",
    "dose": "--dose",
    "route": "--route",
    "site": "--site",
    "batch": "--batch",
    "key": "--key",
    "override_reason": "--override-reason",
    "reason": "--reason",
    "given_by": "B12_USER",
    "history": "recorded dose",
}
EVENT_NAMES = {"date": "--date", "kind": "--kind"}
RECALL_NAMES = {"within": "--within", "limit": "--limit", "csv": "--csv"}
AsOfOption = Annotated[
    str | None,
    typer.Option("--as-of", help="Date of the follow-up shown, YYYY-MM-DD (default today)."),
]
ROUTES = ("im", "deep_sc", "sc", "iv", "oral", "sublingual", "intranasal")
SITES = ("deltoid", "vastus_lateralis", "ventrogluteal", "dorsogluteal")


def register(app: typer.Typer) -> None:
    """Attach the registry commands to the main app."""
    app.add_typer(db_app, name="db")
    app.add_typer(patient_app, name="patient")
    app.add_typer(dose_app, name="dose")
    app.add_typer(event_app, name="event")
    app.command("recall")(recall)


def _patient_id(value: str, option: str) -> str:
    """A patient id as typed: one that no patient can have is bad input (exit 2)."""
    from b12.adapters.sql.registry import PATIENT_ID

    if not PATIENT_ID.fullmatch(value):
        message = "expected 1 to 64 letters, digits, '.', '_' or '-'"
        raise InputError([FieldProblem(option, message)])
    return value


def _as_of(value: str | None) -> date:
    return parse_day(value, "--as-of") if value is not None else today()


# -- db -------------------------------------------------------------------------------------


def _shown_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unusable URL is reported by the registry itself
        return "(the configured database)"


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the registry schema (B12_DATABASE_URL; default: the data folder)."""
    url = settings.database_url()
    with errors(), open_registry(migrate=False) as registry:
        before = registry.current_revision()
        registry.upgrade()
        after = registry.current_revision()
        tables = ", ".join(sorted(registry.table_names()))
    where = _shown_url(url)
    if before is None:
        typer.echo(f"created a new registry at {where}: schema revision {after}")
        typer.echo(f"tables: {tables}")
    elif before != after:
        typer.echo(f"migrated the registry at {where} from revision {before} to {after}")
    else:
        typer.echo(f"registry schema up to date (revision {after}): {where}")


@db_app.command("backup")
def db_backup(path: Annotated[Path, typer.Argument(help="Backup file to write.")]) -> None:
    """Online backup of a SQLite registry (for PostgreSQL use pg_dump; see docs)."""
    with errors(), open_registry() as registry:
        registry.backup(path)
    typer.echo(f"backed up to {path}")


@db_app.command("restore")
def db_restore(path: Annotated[Path, typer.Argument(help="Backup file to restore.")]) -> None:
    """Replace a SQLite registry with a backup."""
    with errors(), open_registry(migrate=False) as registry:
        registry.restore(path)
    typer.echo(f"restored from {path}")


# -- patients -------------------------------------------------------------------------------


def _summary(patient_id: str, plan: Plan) -> dict[str, str]:
    return {"id": patient_id, "pathway": plan.pathway.id, "status": plan.status}


def _enrolled(verb: str, patient_id: str, title: str, status: str) -> None:
    typer.echo(f"{verb} {patient_id}: {terminal(title)} ({status})")


@patient_app.command("add")
def patient_add(
    patient_id: Annotated[str, typer.Option("--id", help="Pseudonymous patient id.")],
    picture: Annotated[Path, typer.Option(help="ClinicalPicture JSON file.")],
    name: Annotated[str | None, typer.Option(help="Optional display name.")] = None,
    dob: Annotated[str | None, typer.Option("--dob", help="Date of birth, YYYY-MM-DD.")] = None,
    course: Annotated[
        Path | None,
        typer.Option(
            help="CourseDeclaration JSON file: a course that began before the doses on "
            "record (see `b12 schema CourseDeclaration`)."
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Enrol a patient with a clinical picture; a course is created from its plan."""
    with errors(PATIENT_NAMES):
        document = read_object(str(picture), "picture")
        declared = read_object(str(course), "course") if course is not None else None
        born = parse_day(dob, "--dob") if dob else None
        with open_registry() as registry:
            plan = registry.add_patient(
                patient_id,
                document,
                name=name.strip() if name else None,
                actor=settings.actor(),
                now=now(),
                date_of_birth=born,
                course=declared,
            )
    if as_json:
        typer.echo(json.dumps(_summary(patient_id, plan)))
    else:
        _enrolled("enrolled", patient_id, plan.pathway.title, plan.status)


@patient_app.command("update")
def patient_update(
    patient_id: Annotated[str, typer.Option("--id", help="Patient id.")],
    picture: Annotated[Path, typer.Option(help="The changed ClinicalPicture JSON file.")],
    as_json: JsonFlag = False,
) -> None:
    """Record a changed picture: a new version and a new course; the old ones are kept."""
    with errors(PATIENT_NAMES):
        document = read_object(str(picture), "picture")
        with open_registry() as registry:
            plan = registry.update_picture(
                _patient_id(patient_id, "--id"), document, actor=settings.actor(), now=now()
            )
    if as_json:
        typer.echo(json.dumps(_summary(patient_id, plan)))
    else:
        _enrolled("updated", patient_id, plan.pathway.title, plan.status)


@patient_app.command("show")
def patient_show(
    patient_id: Annotated[str, typer.Argument(help="Patient id.")],
    as_json: JsonFlag = False,
    as_of: AsOfOption = None,
) -> None:
    """Show a patient's picture, course, doses, events and follow-up (audited)."""
    with errors(PATIENT_NAMES):
        day = _as_of(as_of)
        with open_registry() as registry:
            record = registry.show_patient(_patient_id(patient_id, "ID"))
            follow = registry.follow_up(patient_id, day)
            audit_view(registry, "patient", patient_id, command="patient show")
    if as_json:
        typer.echo(json.dumps({**record, "follow_up": follow.model_dump(mode="json")}, indent=2))
        return
    typer.echo(
        f"{patient_id} ({terminal(record['patient']['display_name']) or 'no name'}), "
        f"guideline {record['patient']['guideline']}, {len(record['doses'])} doses, "
        f"{len(record['events'])} events"
    )
    _print_follow_up(follow, day)


@patient_app.command("list")
def patient_list(as_json: JsonFlag = False) -> None:
    """List enrolled patients with their pathway and next due date (audited)."""
    with errors(PATIENT_NAMES), open_registry() as registry:
        rows = registry.list_patients()
        audit_view(registry, "patients", "list", command="patient list", rows=len(rows))
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table()
    for col in ("id", "name", "set", "pathway", "status", "next due"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r["id"],
            terminal(r["display_name"]),
            r["guideline"],
            r["pathway"],
            r["status"],
            r["next_due"] or "",
        )
    Console().print(table)


# -- doses and events -----------------------------------------------------------------------


def _choice(value: str | None, field: str, known: tuple[str, ...]) -> str | None:
    if value is not None and value not in known:
        shown = value if len(value) <= 40 else value[:40] + "…"
        raise InputError(
            [FieldProblem(field, f"unknown {field} {shown!r}; known: {', '.join(known)}")]
        )
    return value


def _dose(options: dict[str, Any], key: str | None, reason: str | None) -> DoseInput:
    from b12.adapters.sql.registry import DoseInput

    return DoseInput(
        date=parse_day(options["date"], "--date"),
        drug=options["drug"].strip(),
        dose=options["dose"].strip(),
        route=_choice(options["route"], "route", ROUTES) or "",
        site=_choice(options["site"], "site", SITES),
        batch=options["batch"],
        key=key,
        override_reason=reason,
        given_by=settings.actor(),
    )


def _print_follow_up(follow: FollowUpResult, day: date) -> None:
    from rich.console import Console

    from b12.entrypoints.report import render_follow_up

    typer.echo(f"follow-up as of {day}:")
    render_follow_up(follow, Console())


@dose_app.command("record")
def dose_record(
    patient: Annotated[str, typer.Option(help="Patient id.")],
    day: Annotated[str, typer.Option("--date", help="Date given, YYYY-MM-DD.")],
    drug: Annotated[str, typer.Option(help="Product, e.g. hydroxocobalamin.")],
    dose: Annotated[str, typer.Option(help="Dose with unit, e.g. 1mg or 1000mcg.")],
    route: Annotated[str, typer.Option(help="Route: im, deep_sc, sc, iv, oral, ...")],
    site: Annotated[str | None, typer.Option(help="Injection site.")] = None,
    batch: Annotated[str | None, typer.Option(help="Batch number.")] = None,
    key: Annotated[
        str | None,
        typer.Option(help="Idempotency key: the same key and dose record one dose."),
    ] = None,
    override_reason: Annotated[
        str | None, typer.Option(help="Reason to record despite a stop.")
    ] = None,
    as_of: AsOfOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Record a dose given; it is checked like an order first.  The follow-up is shown as of
    --as-of (default today), like ``event record``."""
    options = {"date": day, "drug": drug, "dose": dose, "route": route, "site": site}
    with errors(DOSE_NAMES):
        report_day = _as_of(as_of)
        _patient_id(patient, "--patient")
        given = _dose({**options, "batch": batch}, key, override_reason)
        with open_registry() as registry:
            outcome = registry.record_dose(patient, given, actor=settings.actor(), now=now())
            follow = registry.follow_up(patient, report_day)
    if as_json:
        document = {
            "dose_id": outcome.dose_id,
            "duplicate": outcome.duplicate,
            "as_of": report_day.isoformat(),
            "check": outcome.check.model_dump(mode="json") if outcome.check else None,
            "follow_up": follow.model_dump(mode="json"),
        }
        typer.echo(json.dumps(document, indent=2))
        return
    if outcome.duplicate:
        typer.echo(f"already recorded (dose {outcome.dose_id}); nothing changed")
    else:
        typer.echo(f"recorded dose {outcome.dose_id}")
    if outcome.check is not None:
        from rich.console import Console

        from b12.entrypoints.report import render_order_check

        render_order_check(outcome.check, Console())
    _print_follow_up(follow, report_day)


@dose_app.command("correct")
def dose_correct(
    patient: Annotated[str, typer.Option(help="Patient id.")],
    dose_id: Annotated[int, typer.Option("--dose-id", help="The recorded dose to correct.")],
    day: Annotated[str, typer.Option("--date", help="Corrected date, YYYY-MM-DD.")],
    drug: Annotated[str, typer.Option(help="Corrected product.")],
    dose: Annotated[str, typer.Option(help="Corrected dose with unit, e.g. 1mg.")],
    route: Annotated[str, typer.Option(help="Corrected route.")],
    reason: Annotated[str, typer.Option(help="Why the record is corrected.")],
    site: Annotated[str | None, typer.Option(help="Injection site.")] = None,
    batch: Annotated[str | None, typer.Option(help="Batch number.")] = None,
) -> None:
    """Correct a recorded dose; the old record stays, marked as superseded."""
    options = {"date": day, "drug": drug, "dose": dose, "route": route, "site": site}
    with errors(DOSE_NAMES):
        _patient_id(patient, "--patient")
        replacement = _dose({**options, "batch": batch}, None, None)
        with open_registry() as registry:
            new_id = registry.correct_dose(
                patient, dose_id, replacement, reason=reason, actor=settings.actor(), now=now()
            )
    typer.echo(f"dose {dose_id} superseded by dose {new_id}")


@event_app.command("record")
def event_record(
    patient: Annotated[str, typer.Option(help="Patient id.")],
    day: Annotated[str, typer.Option("--date", help="Date of the event, YYYY-MM-DD.")],
    kind: Annotated[str, typer.Option(help="Event kind, e.g. no_further_improvement.")],
    as_of: AsOfOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Record a clinical event; the next due date is recalculated.  The follow-up is shown as
    of --as-of (default today), like ``dose record``."""
    with errors(EVENT_NAMES):
        report_day = _as_of(as_of)
        _patient_id(patient, "--patient")
        when = parse_day(day, "--date")
        with open_registry() as registry:
            registry.record_event(patient, when, kind, actor=settings.actor(), now=now())
            follow = registry.follow_up(patient, report_day)
    if as_json:
        typer.echo(follow.model_dump_json(indent=2))
    else:
        typer.echo(f"recorded {kind} on {when}")
        _print_follow_up(follow, report_day)


# -- recall ---------------------------------------------------------------------------------


def recall(
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Date of the list (default today).")
    ] = None,
    within: Annotated[int, typer.Option(help="Include doses due within this many days.")] = 14,
    limit: Annotated[int, typer.Option(help="Show the most urgent N (the CSV has all).")] = 200,
    csv_path: Annotated[
        Path | None, typer.Option("--csv", help="Write the whole list as CSV.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Who is due or overdue: active courses, most urgent first (audited)."""
    with errors(RECALL_NAMES):
        day = _as_of(as_of)
        with open_registry() as registry:
            total = registry.recall_count(day, within)
            rows = [r.as_dict() for r in registry.recall(day, within, limit=limit)]
            if csv_path is not None:
                _write_csv(csv_path, registry.recall(day, within))
            what = "csv" if csv_path is not None else "list"
            audit_view(registry, "recall", what, command="recall", within=within, rows=total)
    if as_json:
        document = {"as_of": day.isoformat(), "within": within, "total": total, "rows": rows}
        typer.echo(json.dumps(document, indent=2))
        return
    _print_recall(rows, day, within, total)


def _print_recall(rows: list[dict[str, Any]], day: date, within: int, total: int) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"Recall list as of {day} (due within {within} days or overdue): "
        f"{len(rows)} of {total}"
    )
    for col in ("patient", "name", "next due", "window", "overdue", "status", "regimen", "phase"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r["patient_id"],
            terminal(r["display_name"]),
            r["next_due"],
            f"{r['earliest']} → {r['latest']}",
            str(r["overdue_days"]),
            r["status"],
            r["regimen"] or "",
            r["phase"] or "",
        )
    Console().print(table)


def _write_csv(path: Path, rows: Any) -> None:
    from b12.adapters.sql.registry import recall_csv

    try:
        with path.open("w", newline="", encoding="utf-8") as fh:
            fh.write(recall_csv(rows))
    except OSError as exc:
        raise InputError([FieldProblem("csv", f"cannot write {path}: {exc.strerror}")]) from None
