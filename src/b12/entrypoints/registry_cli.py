"""Registry commands: ``b12 db``, ``b12 patient``, ``b12 dose``, ``b12 event``, ``b12 recall``.

Thin: parse options, call the registry, print.  Exit codes: 2 bad input, 3 refused by the order
check (a stop without an override reason), 4 not found, 5 database unavailable.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from b12.adapters.sql.registry import DoseInput, RecallRow, Registry
from b12.adapters.sql.transactions import RegistryUnavailable
from b12.core.course_models import OrderCheckResult
from b12.core.errors import FieldProblem, InputError, NotFound, Refused
from b12.entrypoints import settings
from b12.entrypoints.report import render_follow_up, render_order_check

db_app = typer.Typer(
    no_args_is_help=True, help="Create, migrate, back up and restore the registry."
)
patient_app = typer.Typer(no_args_is_help=True, help="Enrol and look up patients.")
dose_app = typer.Typer(no_args_is_help=True, help="Record administered doses.")
event_app = typer.Typer(no_args_is_help=True, help="Record clinical events.")

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a report.")]


def _fail(message: str, code: int) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _date(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(
            [FieldProblem(field, f"expected a date as YYYY-MM-DD, got {text!r}")]
        ) from None


@contextmanager
def _errors() -> Iterator[None]:
    """Map registry errors to one-line messages and exit codes; never a traceback."""
    try:
        yield
    except InputError as err:
        for problem in err.problems:
            typer.echo(f"error: {problem.render()}", err=True)
        raise typer.Exit(2) from None
    except Refused as err:
        typer.echo(f"refused: {err}", err=True)
        if isinstance(err.detail, OrderCheckResult):
            for alert in err.detail.alerts:
                typer.echo(f"  {alert.severity.upper()} {alert.code}: {alert.message}", err=True)
        raise typer.Exit(3) from None
    except NotFound as err:
        _fail(str(err), 4)
    except RegistryUnavailable as err:
        _fail(str(err), 5)


def _registry(load_kb: Callable[[], Any]) -> Registry:
    registry = Registry(settings.database_url(), load_kb())
    registry.upgrade()
    return registry


def _now() -> datetime:
    return datetime.now().replace(microsecond=0)  # noqa: DTZ005 - local wall-clock time of the practice


def register(app: typer.Typer, load_kb: Callable[[], Any]) -> None:  # noqa: C901 - one block per command
    """Attach the registry commands to the main app."""
    app.add_typer(db_app, name="db")
    app.add_typer(patient_app, name="patient")
    app.add_typer(dose_app, name="dose")
    app.add_typer(event_app, name="event")

    @db_app.command("upgrade")
    def db_upgrade() -> None:
        """Create or migrate the registry schema (B12_DATABASE_URL; default: the data folder)."""
        with _errors():
            _registry(load_kb)
        typer.echo(f"registry schema up to date: {settings.database_url()}")

    @db_app.command("backup")
    def db_backup(path: Annotated[Path, typer.Argument(help="Backup file to write.")]) -> None:
        """Online backup of a SQLite registry (for PostgreSQL use pg_dump; see docs)."""
        with _errors():
            _registry(load_kb).backup(path)
        typer.echo(f"backed up to {path}")

    @db_app.command("restore")
    def db_restore(path: Annotated[Path, typer.Argument(help="Backup file to restore.")]) -> None:
        """Replace a SQLite registry with a backup."""
        with _errors():
            Registry(settings.database_url(), load_kb()).restore(path)
        typer.echo(f"restored from {path}")

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
        from b12.entrypoints.cli import read_document

        with _errors():
            document = read_document(str(picture))
            if not isinstance(document, dict):
                raise InputError([FieldProblem("picture", "expected a JSON object")])
            declared = read_document(str(course)) if course is not None else None
            born = _date(dob, "dob") if dob else None
            plan = _registry(load_kb).add_patient(
                patient_id,
                document,
                name=name,
                actor=settings.actor(),
                now=_now(),
                date_of_birth=born,
                course=declared,
            )
        if as_json:
            typer.echo(
                json.dumps({"id": patient_id, "pathway": plan.pathway.id, "status": plan.status})
            )
        else:
            typer.echo(f"enrolled {patient_id}: {plan.pathway.title} ({plan.status})")

    @patient_app.command("update")
    def patient_update(
        patient_id: Annotated[str, typer.Option("--id", help="Patient id.")],
        picture: Annotated[Path, typer.Option(help="The changed ClinicalPicture JSON file.")],
        as_json: JsonFlag = False,
    ) -> None:
        """Record a changed picture: a new version and a new course; the old ones are kept."""
        from b12.entrypoints.cli import read_document

        with _errors():
            document = read_document(str(picture))
            if not isinstance(document, dict):
                raise InputError([FieldProblem("picture", "expected a JSON object")])
            plan = _registry(load_kb).update_picture(
                patient_id, document, actor=settings.actor(), now=_now()
            )
        if as_json:
            typer.echo(
                json.dumps({"id": patient_id, "pathway": plan.pathway.id, "status": plan.status})
            )
        else:
            typer.echo(f"updated {patient_id}: {plan.pathway.title} ({plan.status})")

    @patient_app.command("show")
    def patient_show(
        patient_id: Annotated[str, typer.Argument(help="Patient id.")],
        as_json: JsonFlag = False,
        as_of: Annotated[
            str | None, typer.Option("--as-of", help="Date for the follow-up.")
        ] = None,
    ) -> None:
        """Show a patient's picture, course, doses, events and follow-up."""
        with _errors():
            registry = _registry(load_kb)
            day = _date(as_of, "as_of") if as_of else _now().date()
            record = registry.show_patient(patient_id)
            follow = registry.follow_up(patient_id, day)
        if as_json:
            typer.echo(
                json.dumps({**record, "follow_up": follow.model_dump(mode="json")}, indent=2)
            )
            return
        typer.echo(
            f"{patient_id} ({record['patient']['display_name'] or 'no name'}), "
            f"guideline {record['patient']['guideline']}, {len(record['doses'])} doses, "
            f"{len(record['events'])} events"
        )
        render_follow_up(follow, Console())

    @patient_app.command("list")
    def patient_list(as_json: JsonFlag = False) -> None:
        """List enrolled patients with their pathway and next due date."""
        with _errors():
            rows = _registry(load_kb).list_patients()
        if as_json:
            typer.echo(json.dumps(rows, indent=2))
            return
        table = Table()
        for col in ("id", "name", "set", "pathway", "status", "next due"):
            table.add_column(col)
        for r in rows:
            table.add_row(
                r["id"],
                r["display_name"] or "",
                r["guideline"],
                r["pathway"],
                r["status"],
                r["next_due"] or "",
            )
        Console().print(table)

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
            str | None, typer.Option(help="Idempotency key: the same key records one dose.")
        ] = None,
        override_reason: Annotated[
            str | None, typer.Option(help="Reason to record despite a stop.")
        ] = None,
        as_json: JsonFlag = False,
    ) -> None:
        """Record a dose given; it is checked like an order first."""
        with _errors():
            given = DoseInput(
                date=_date(day, "date"),
                drug=drug,
                dose=dose,
                route=_route(route),
                site=_site(site),
                batch=batch,
                key=key,
                override_reason=override_reason,
                given_by=settings.actor(),
            )
            outcome = _registry(load_kb).record_dose(
                patient, given, actor=settings.actor(), now=_now()
            )
        if as_json:
            typer.echo(
                json.dumps(
                    {
                        "dose_id": outcome.dose_id,
                        "duplicate": outcome.duplicate,
                        "check": outcome.check.model_dump(mode="json") if outcome.check else None,
                        "follow_up": outcome.follow_up.model_dump(mode="json")
                        if outcome.follow_up
                        else None,
                    },
                    indent=2,
                )
            )
            return
        if outcome.duplicate:
            typer.echo(f"already recorded (dose {outcome.dose_id}); nothing changed")
            return
        typer.echo(f"recorded dose {outcome.dose_id}")
        if outcome.check is not None:
            render_order_check(outcome.check, Console())
        if outcome.follow_up is not None:
            render_follow_up(outcome.follow_up, Console())

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
        with _errors():
            replacement = DoseInput(
                date=_date(day, "date"),
                drug=drug,
                dose=dose,
                route=_route(route),
                site=_site(site),
                batch=batch,
                given_by=settings.actor(),
            )
            new_id = _registry(load_kb).correct_dose(
                patient, dose_id, replacement, reason=reason, actor=settings.actor(), now=_now()
            )
        typer.echo(f"dose {dose_id} superseded by dose {new_id}")

    @event_app.command("record")
    def event_record(
        patient: Annotated[str, typer.Option(help="Patient id.")],
        day: Annotated[str, typer.Option("--date", help="Date of the event, YYYY-MM-DD.")],
        kind: Annotated[str, typer.Option(help="Event kind, e.g. no_further_improvement.")],
        as_json: JsonFlag = False,
    ) -> None:
        """Record a clinical event; the next due date is recalculated."""
        with _errors():
            follow = _registry(load_kb).record_event(
                patient, _date(day, "date"), kind, actor=settings.actor(), now=_now()
            )
        if as_json:
            typer.echo(follow.model_dump_json(indent=2))
        else:
            render_follow_up(follow, Console())

    @app.command("recall")
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
        """Who is due or overdue: active courses, most urgent first."""
        with _errors():
            day = _date(as_of, "as_of") if as_of else _now().date()
            registry = _registry(load_kb)
            total = registry.recall_count(day, within)
            rows = [r.as_dict() for r in registry.recall(day, within, limit=limit)]
            if csv_path is not None:
                _write_csv(csv_path, [r.as_dict() for r in registry.recall(day, within)])
        if as_json:
            typer.echo(
                json.dumps(
                    {"as_of": day.isoformat(), "within": within, "total": total, "rows": rows},
                    indent=2,
                )
            )
            return
        table = Table(
            title=f"Recall list as of {day} (due within {within} days or overdue): "
            f"{len(rows)} of {total}"
        )
        for col in (
            "patient",
            "name",
            "next due",
            "window",
            "overdue",
            "status",
            "regimen",
            "phase",
        ):
            table.add_column(col)
        for r in rows:
            table.add_row(
                r["patient_id"],
                r["display_name"] or "",
                r["next_due"],
                f"{r['earliest']} → {r['latest']}",
                str(r["overdue_days"]),
                r["status"],
                r["regimen"] or "",
                r["phase"] or "",
            )
        Console().print(table)


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    fields = list(rows[0]) if rows else list(RecallRow.__dataclass_fields__)
    try:
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)
    except OSError as exc:
        raise InputError([FieldProblem("csv", f"cannot write {path}: {exc.strerror}")]) from None


ROUTES = ("im", "deep_sc", "sc", "iv", "oral", "sublingual", "intranasal")
SITES = ("deltoid", "vastus_lateralis", "ventrogluteal", "dorsogluteal")


def _route(value: str) -> str:
    if value not in ROUTES:
        raise InputError(
            [FieldProblem("route", f"unknown route {value!r}; known: {', '.join(ROUTES)}")]
        )
    return value


def _site(value: str | None) -> str | None:
    if value is not None and value not in SITES:
        raise InputError(
            [FieldProblem("site", f"unknown site {value!r}; known: {', '.join(SITES)}")]
        )
    return value
