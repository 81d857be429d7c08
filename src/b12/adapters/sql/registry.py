"""The practice registry on SQLite or PostgreSQL (PRODUCT.md C5).

Every write is one transaction: the rows, the audit entry and the course's cached next-due
window commit together or not at all.  Clinical judgement stays in the core: enrolment calls
``plan``, a dose is checked with ``check_order`` and every write re-runs ``follow_up`` to
refresh the stored window, so the recall list is one indexed query.

Concurrency: on SQLite each write takes the database write lock at ``BEGIN IMMEDIATE``; on
PostgreSQL each write for a patient first locks the patient's row (``SELECT … FOR UPDATE``) and
only then reads the current course and picture version, so writes for one patient run one after
the other and each sees the course the previous one left.  A partial unique index keeps at most
one active course per patient.  The idempotency key is unique per patient: the same key with the
same dose returns the dose already recorded; with a different dose it is a :class:`Conflict`.

Every value is checked (length, control characters, dates) before the database sees it, with
the column sizes below, so bad input is an :class:`InputError` on every backend.
"""

from __future__ import annotations

import copy
import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, TypedDict, Unpack

from alembic import command
from alembic.config import Config
from pydantic import ValidationError
from sqlalchemy import (
    Connection,
    Date,
    Engine,
    Text,
    and_,
    case,
    cast,
    create_engine,
    event,
    func,
    insert,
    literal,
    literal_column,
    select,
    text,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    ArgumentError,
    IntegrityError,
    NoSuchModuleError,
)
from sqlalchemy.sql import ColumnElement, Select

from b12.adapters.spreadsheet import CHUNK_ROWS, csv_chunks, csv_header
from b12.adapters.sql.recall_export import RecallExport, TextQuery
from b12.adapters.sql.tables import (
    audit,
    courses,
    doses,
    events,
    outreach,
    patients,
    pictures,
    register_entries,
)
from b12.adapters.sql.transactions import EngineStore, RegistryUnavailable
from b12.core.course_input import CourseIn, DoseIn, parse_dose_text
from b12.core.course_models import FollowUpResult, OrderCheckResult
from b12.core.errors import Conflict, FieldProblem, InputError, NotFound, Refused, quoted
from b12.core.knowledge import KnowledgeBase
from b12.core.picture import field_problems
from b12.core.plan_models import Plan
from b12.core.requests import follow_up_request, order_check_request, plan_request

MAX_WITHIN_DAYS = 3660
RECALL_STATUSES = ("overdue", "due", "upcoming")
GUIDELINES = ("uk", "us")
MIGRATION_LOCK = 0xB12
PATIENT_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
#: Column sizes of the registry's tables (``tables.py``): free text is checked against them.
MAX_NAME = 200
MAX_DRUG = 200
MAX_DOSE_TEXT = 40
MAX_BATCH = 100
MAX_KEY = 200
MAX_REASON = 2000
MAX_ACTOR = 200
#: The earliest date of birth accepted.
EARLIEST_BIRTH = date(1900, 1, 1)


def text_problem(value: str | None, field: str, max_length: int) -> FieldProblem | None:
    """Why ``value`` cannot be stored as free text (too long, control characters), or None."""
    if value is None:
        return None
    if len(value) > max_length:
        return FieldProblem(field, f"at most {max_length} characters")
    if not value.isprintable():
        return FieldProblem(field, "control characters are not allowed")
    return None


def dose_problems(given: DoseInput) -> list[FieldProblem]:
    """Every free-text field of a dose that cannot be stored as given."""
    checks = (
        (given.drug, "drug", MAX_DRUG),
        (given.dose, "dose", MAX_DOSE_TEXT),
        (given.route, "route", 20),
        (given.site, "site", 40),
        (given.batch, "batch", MAX_BATCH),
        (given.key, "key", MAX_KEY),
        (given.override_reason, "override_reason", MAX_REASON),
        (given.given_by, "given_by", MAX_ACTOR),
    )
    return [p for v, f, n in checks if (p := text_problem(v, f, n)) is not None]


def birth_problems(born: date | None, age: int, as_of: date, today: date) -> list[FieldProblem]:
    """A date of birth in the future, before 1900, or contradicting ``age`` on ``as_of``."""
    if born is None:
        return []
    if born > today:
        return [FieldProblem("date_of_birth", f"{born} is in the future (today is {today})")]
    if born < EARLIEST_BIRTH:
        return [FieldProblem("date_of_birth", f"{born} is before {EARLIEST_BIRTH}")]
    years = as_of.year - born.year - ((as_of.month, as_of.day) < (born.month, born.day))
    if years != age:
        return [
            FieldProblem(
                "date_of_birth",
                f"born {born} makes the patient {years} on {as_of}, but the picture's age is {age}",
            )
        ]
    return []


def _dose_summary(given: DoseInput, amount: DoseIn) -> dict[str, Any]:
    return {
        "date": given.date.isoformat(),
        "drug": given.drug,
        "dose": f"{amount.value:g}{amount.unit}",
        "route": given.route,
        "site": given.site,
        "batch": given.batch,
    }


@dataclass(frozen=True)
class DoseInput:
    """A dose as recorded by a nurse."""

    date: date
    drug: str
    dose: str
    route: str
    site: str | None = None
    batch: str | None = None
    key: str | None = None
    override_reason: str | None = None
    given_by: str | None = None


@dataclass(frozen=True)
class DoseOutcome:
    """The result of recording a dose: the row, whether it was a repeat, and the order check."""

    dose_id: int
    duplicate: bool
    check: OrderCheckResult | None
    follow_up: FollowUpResult | None


@dataclass(frozen=True)
class RecallRow:
    """One line of the recall list."""

    patient_id: str
    display_name: str | None
    pathway: str
    regimen: str | None
    phase: str | None
    next_due: date
    earliest: date
    latest: date
    overdue_days: int
    status: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "patient_id": self.patient_id,
            "display_name": self.display_name,
            "pathway": self.pathway,
            "regimen": self.regimen,
            "phase": self.phase,
            "next_due": self.next_due.isoformat(),
            "earliest": self.earliest.isoformat(),
            "latest": self.latest.isoformat(),
            "overdue_days": self.overdue_days,
            "status": self.status,
        }


#: The recall list's CSV columns (the fields of :class:`RecallRow`).
RECALL_CSV_COLUMNS = tuple(RecallRow.__dataclass_fields__)
RECALL_CSV_HEADER = csv_header(RECALL_CSV_COLUMNS)


class RecallFilters(TypedDict, total=False):
    """What narrows the recall list, the same for the page, its count and the CSV export
    (``Registry.recall``, ``recall_count``, ``open_recall_export``): add a filter here and in
    ``Registry._recall_filter`` and every one of them (and the page passing its filters through
    with ``**filters``) has it.  None (or absent) keeps every row."""

    status: str | None  # overdue, due, upcoming (RECALL_STATUSES)
    guideline: str | None  # uk, us (GUIDELINES)


def recall_csv_chunks(rows: Iterable[RecallRow], *, chunk_rows: int = CHUNK_ROWS) -> Iterator[str]:
    """The recall list as CSV text in chunks, header first: the one writer of the CLI and the
    web, streamed (cells defused for spreadsheets; dates ISO, as in ``RecallRow.as_dict``).

    An unread :class:`RecallExport` that has a text query (PostgreSQL) is written from the
    text cells the database formats (``RecallExport.text_chunks``): the same bytes, about ten
    times faster for a long list."""
    if isinstance(rows, RecallExport) and rows.has_text:
        return rows.text_chunks()
    return csv_chunks(
        RECALL_CSV_COLUMNS,
        (
            (
                r.patient_id,
                r.display_name,
                r.pathway,
                r.regimen,
                r.phase,
                r.next_due.isoformat(),
                r.earliest.isoformat(),
                r.latest.isoformat(),
                r.overdue_days,
                r.status,
            )
            for r in rows
        ),
        chunk_rows=chunk_rows,
    )


def recall_csv(rows: Iterable[RecallRow]) -> str:
    """The recall list as one CSV text (see :func:`recall_csv_chunks`)."""
    return "".join(recall_csv_chunks(rows))


#: How many of the recall CSV's cells :func:`recall_text_cells` joins into its last one.
RECALL_TEXT_TAIL = 5


def recall_text_cells(as_of: date) -> tuple[Any, ...]:
    """The cells of a recall CSV row as PostgreSQL text, in :data:`RECALL_CSV_COLUMNS` order:
    what :func:`recall_row` and :func:`recall_csv_chunks` make of a row, computed in the query.

    The five text cells a person or the knowledge base wrote come one by one, NULL as ``""``
    (as the CSV writer writes None); defusing and quoting them stay in Python
    (``csv_text_rows``), the one place that knows them.  The last :data:`RECALL_TEXT_TAIL`
    cells, which never need either, come joined with commas in one cell: the ISO dates (the
    export sets ``DateStyle`` ISO), ``overdue_days`` and ``status`` with the tests of
    :func:`recall_row`."""
    day = literal(as_of, Date)
    overdue = func.greatest(0, day - courses.c.due_latest)
    status = case(
        (courses.c.due_latest < day, "overdue"),
        (courses.c.due_earliest <= day, "due"),
        else_="upcoming",
    )
    tail = (
        cast(courses.c.next_due, Text),
        cast(courses.c.due_earliest, Text),
        cast(courses.c.due_latest, Text),
        cast(overdue, Text),
        status,
    )
    comma: ColumnElement[str] = literal_column("','", Text)
    joined = [part for cell in tail for part in (comma, cell)][1:]
    return (
        courses.c.patient_id,
        func.coalesce(patients.c.display_name, ""),
        courses.c.pathway,
        func.coalesce(courses.c.regimen, ""),
        func.coalesce(courses.c.phase, ""),
        func.concat(*joined),  # concat: a NULL part is "", as the CSV writer writes None
    )


def recall_row(r: Any, as_of: date) -> RecallRow:
    """A recall-list line from a row of the recall query (status from the stored window)."""
    patient_id, name, pathway, regimen, phase, next_due, earliest, latest = r  # select order
    overdue = max(0, (as_of - latest).days)
    status = "overdue" if overdue else ("due" if earliest <= as_of else "upcoming")
    return RecallRow(
        patient_id, name, pathway, regimen, phase, next_due, earliest, latest, overdue, status
    )


def migrations_dir() -> str:
    """Where the bundled Alembic migrations live."""
    return str(resources.files("b12.adapters.sql") / "migrations")


def _set_sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # let SQLAlchemy's BEGIN (below) control transactions
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _begin(conn: Connection) -> None:
    """Writes take SQLite's write lock at once; reads begin deferred (WAL readers don't wait)."""
    write = conn.get_execution_options().get("b12_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets foreign keys, WAL and write-lock-on-begin."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _set_sqlite_pragmas)
        event.listen(engine, "begin", _begin)
        return engine
    return create_engine(url, pool_pre_ping=True)


class Registry(EngineStore):
    """The practice registry.  ``today`` and ``actor`` always come from the caller."""

    def __init__(self, url: str, kb: KnowledgeBase) -> None:
        self.url = url
        self.kb = kb
        try:
            self.engine = make_engine(url)
        except (ArgumentError, NoSuchModuleError, ImportError) as exc:
            raise InputError(
                [
                    FieldProblem(
                        "B12_DATABASE_URL",
                        f"unusable database URL ({exc}); use "
                        "sqlite:///PATH or postgresql+psycopg://USER@HOST/DB",
                    )
                ]
            ) from None
        except OSError as exc:
            raise RegistryUnavailable(f"cannot create the database folder: {exc}") from exc
        self.is_sqlite = self.engine.dialect.name == "sqlite"

    def with_knowledge_base(self, kb: KnowledgeBase) -> Registry:
        """The same registry (engine and pool shared) judging with another knowledge base."""
        clone = copy.copy(self)
        clone.kb = kb
        return clone

    # -- schema -------------------------------------------------------------------------------

    def _alembic(self, conn: Connection) -> Config:
        cfg = Config()
        cfg.set_main_option("script_location", migrations_dir())
        cfg.attributes["connection"] = conn
        return cfg

    def upgrade(self, revision: str = "head") -> None:
        """Apply migrations up to ``revision``.

        On PostgreSQL a transaction-scoped advisory lock serialises processes that start at the
        same time (several ``b12 serve`` workers on one database); SQLite's write lock does it.
        """
        with self._write() as conn:
            if not self.is_sqlite:
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            command.upgrade(self._alembic(conn), revision)

    def current_revision(self) -> str | None:
        """The schema revision the database is at; None for a database without the schema."""
        from alembic.runtime.migration import MigrationContext

        with self._read() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def table_names(self) -> list[str]:
        """The tables the database holds."""
        from sqlalchemy import inspect

        with self._read() as conn:
            return list(inspect(conn).get_table_names())

    def downgrade(self, revision: str = "base") -> None:
        """Roll migrations back to ``revision``."""
        with self._write() as conn:
            command.downgrade(self._alembic(conn), revision)

    # -- writes -------------------------------------------------------------------------------

    def add_patient(
        self,
        patient_id: str,
        picture: dict[str, Any],
        *,
        name: str | None,
        actor: str,
        now: datetime,
        date_of_birth: date | None = None,
        course: dict[str, Any] | None = None,
    ) -> Plan:
        """Enrol a patient: picture version 1 and a course from its plan, in one transaction.

        ``course`` declares a course that began before the doses on record (a ``CourseIn``
        document: on maintenance since a date every N months, loading completed on a date, or a
        neurological course ended on a date); it is stored with the course and read by every
        follow-up and order check of the course.
        """
        today = now.date()
        problems = (
            []
            if PATIENT_ID.fullmatch(patient_id)
            else [FieldProblem("id", "expected 1 to 64 letters, digits, '.', '_' or '-'")]
        )
        if (problem := text_problem(name, "name", MAX_NAME)) is not None:
            problems.append(problem)
        if problems:
            raise InputError(problems)
        document = {**picture, "as_of": picture.get("as_of") or today.isoformat()}
        document.setdefault("start", document["as_of"])
        declaration = parse_declaration(course, today)
        parsed, plan = plan_request(document, self.kb)
        as_of = parsed.as_of or today
        if problems := birth_problems(date_of_birth, parsed.age, as_of, today):
            raise InputError(problems)
        if "deficiency" not in document and plan.deficiency.status is not None:
            # Record the status worked out from the pre-treatment results: later B12 levels
            # reflect treatment and are never used to classify.
            document["deficiency"] = plan.deficiency.status
        try:
            return self._enrol(
                patient_id,
                document,
                (name, date_of_birth),
                (parsed.guideline, declaration),
                plan,
                actor,
                now,
            )
        except IntegrityError:
            raise InputError(
                [FieldProblem("id", f"patient {patient_id!r} is already enrolled")]
            ) from None

    def _enrol(
        self,
        patient_id: str,
        document: dict[str, Any],
        who: tuple[str | None, date | None],
        how: tuple[str, dict[str, Any] | None],
        plan: Plan,
        actor: str,
        now: datetime,
    ) -> Plan:
        today = now.date()
        guideline, declaration = how
        with self._write() as conn:
            if conn.execute(select(patients.c.id).where(patients.c.id == patient_id)).first():
                raise InputError(
                    [FieldProblem("id", f"patient {patient_id!r} is already enrolled")]
                )
            conn.execute(
                insert(patients).values(
                    id=patient_id,
                    display_name=who[0],
                    date_of_birth=who[1],
                    guideline=guideline,
                    created_at=now,
                )
            )
            picture_id = conn.execute(
                insert(pictures).values(
                    patient_id=patient_id, version=1, document=document, created_at=now
                )
            ).inserted_primary_key[0]  # type: ignore[index]
            course_id = conn.execute(
                insert(courses).values(
                    patient_id=patient_id,
                    picture_id=picture_id,
                    guideline=guideline,
                    pathway=plan.pathway.id,
                    regimen=plan.regimen.id if plan.regimen else None,
                    start=plan.start,
                    content_version=plan.content_version,
                    status="active" if plan.regimen else "no_regimen",
                    continuous=0,
                    created_at=now,
                    declaration=declaration,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
            self._refresh(conn, course_id, today)
            detail: dict[str, Any] = {"course": course_id}
            if declaration is not None:
                detail["declaration"] = declaration
            self._audit(conn, actor, "enrol", "patients", patient_id, detail, now)
        return plan

    def record_dose(
        self, patient_id: str, given: DoseInput, *, actor: str, now: datetime
    ) -> DoseOutcome:
        """Record a dose after an order check; a ``stop`` needs an override reason.

        A dose refused by the check is audited (``refuse_dose``) in its own transaction: the
        refusal shows the patient's history to the caller.  The same idempotency key with the
        same dose returns the dose already recorded; with a different dose it raises
        :class:`Conflict`.
        """
        today = now.date()
        amount = self._valid_dose(given, today)
        try:
            return self._record_dose(patient_id, given, amount, actor, now)
        except Refused as refused:
            detail = {**_dose_summary(given, amount), "refused": str(refused)}
            with self._write() as conn:
                self._audit(conn, actor, "refuse_dose", "patients", patient_id, detail, now)
            raise
        except IntegrityError:
            if given.key is None:
                raise
            with self._guard(), self.engine.connect() as conn:
                existing = self._by_key(conn, patient_id, given, amount)
            if existing is None:  # pragma: no cover - the conflict was not the key
                raise
            return DoseOutcome(existing, True, None, None)

    def _valid_dose(self, given: DoseInput, today: date) -> DoseIn:
        """The dose's amount, after checking every field (before any database access)."""
        if problems := dose_problems(given):
            raise InputError(problems)
        if given.date > today:
            raise InputError(
                [FieldProblem("date", f"{given.date} is in the future (today is {today})")]
            )
        return parse_dose_text(given.dose)

    def _record_dose(
        self, patient_id: str, given: DoseInput, amount: DoseIn, actor: str, now: datetime
    ) -> DoseOutcome:
        today = now.date()
        with self._write() as conn:
            course = self._course(conn, patient_id, lock=True)
            existing = self._by_key(conn, patient_id, given, amount)
            if existing is not None:
                return DoseOutcome(existing, True, None, None)
            check = self._check(conn, course, given, amount)
            if check.verdict == "stop" and not (given.override_reason or "").strip():
                codes = ", ".join(a.code for a in check.alerts if a.severity == "stop")
                raise Refused(f"order check says stop ({codes}); give an override reason", check)
            dose_id = self._insert_dose(
                conn, course, given, amount, now, given.override_reason, check.verdict
            )
            follow = self._refresh(conn, course["id"], today)
            detail = {"verdict": check.verdict, "override_reason": given.override_reason}
            self._audit(conn, actor, "record_dose", "doses", str(dose_id), detail, now)
            return DoseOutcome(dose_id, False, check, follow)

    def preview_dose(
        self, patient_id: str, given: DoseInput, today: date
    ) -> OrderCheckResult | None:
        """The order check ``record_dose`` would make for ``given``, without writing anything.

        ``None`` when ``given.key`` already recorded a dose for this patient (recording it again
        changes nothing).  Raises what ``record_dose`` raises for bad input or an unknown patient.
        """
        amount = self._valid_dose(given, today)
        with self._guard(), self.engine.connect() as conn:
            course = self._course(conn, patient_id, lock=False)
            if self._by_key(conn, patient_id, given, amount) is not None:
                return None
            return self._check(conn, course, given, amount)

    def update_picture(
        self,
        patient_id: str,
        picture: dict[str, Any],
        *,
        actor: str,
        now: datetime,
        reason: str | None = None,
    ) -> Plan:
        """A changed picture is a new version with a new course; the old ones stay, superseded.

        ``reason`` (why the details changed) is kept in the audit entry when given.
        """
        if reason is not None and (problem := text_problem(reason, "reason", MAX_REASON)):
            raise InputError([problem])
        today = now.date()
        with self._write() as conn:
            course = self._course(conn, patient_id, lock=True)
            previous = course["document"]
            document = {**picture, "as_of": picture.get("as_of") or today.isoformat()}
            document.setdefault("start", document["as_of"])
            if "deficiency" not in document and "deficiency" in previous:
                document["deficiency"] = previous["deficiency"]  # as recorded before treatment
            parsed, plan = plan_request(document, self.kb)
            born = conn.execute(
                select(patients.c.date_of_birth).where(patients.c.id == patient_id)
            ).scalar()
            if problems := birth_problems(born, parsed.age, parsed.as_of or today, today):
                raise InputError(problems)
            version = 1 + int(
                conn.execute(
                    select(pictures.c.version)
                    .where(pictures.c.patient_id == patient_id)
                    .order_by(pictures.c.version.desc())
                    .limit(1)
                ).scalar_one()
            )
            picture_id = conn.execute(
                insert(pictures).values(
                    patient_id=patient_id, version=version, document=document, created_at=now
                )
            ).inserted_primary_key[0]  # type: ignore[index]
            conn.execute(
                update(courses).where(courses.c.id == course["id"]).values(status="superseded")
            )
            course_id = conn.execute(
                insert(courses).values(
                    patient_id=patient_id,
                    picture_id=picture_id,
                    guideline=parsed.guideline,
                    pathway=plan.pathway.id,
                    regimen=plan.regimen.id if plan.regimen else None,
                    start=plan.start,
                    content_version=plan.content_version,
                    status="active" if plan.regimen else "no_regimen",
                    continuous=0,
                    created_at=now,
                    declaration=course["declaration"],  # the course's history carries over
                )
            ).inserted_primary_key[0]  # type: ignore[index]
            self._refresh(conn, course_id, today)
            detail: dict[str, Any] = {
                "version": version,
                "course": course_id,
                "supersedes": course["id"],
            }
            if reason is not None:
                detail["reason"] = reason
            self._audit(conn, actor, "update_picture", "pictures", str(picture_id), detail, now)
        return plan

    def correct_dose(
        self,
        patient_id: str,
        dose_id: int,
        replacement: DoseInput,
        *,
        reason: str,
        actor: str,
        now: datetime,
    ) -> int:
        """Correct a recorded dose: a new row supersedes the old one, which stays on record."""
        if not reason.strip():
            raise InputError([FieldProblem("reason", "a correction needs a reason")])
        if (problem := text_problem(reason, "reason", MAX_REASON)) is not None:
            raise InputError([problem])
        today = now.date()
        amount = self._valid_dose(replacement, today)
        with self._write() as conn:
            course = self._course(conn, patient_id, lock=True)
            old = conn.execute(
                select(doses.c.id).where(
                    doses.c.id == dose_id,
                    doses.c.patient_id == patient_id,
                    doses.c.superseded_by.is_(None),
                )
            ).scalar()
            if old is None:
                raise NotFound(f"no dose {dose_id} in force for patient {patient_id!r}")
            check = self._check(conn, course, replacement, amount, exclude=old)
            new_id = self._insert_dose(
                conn, course, replacement, amount, now, reason, check.verdict
            )
            conn.execute(update(doses).where(doses.c.id == old).values(superseded_by=new_id))
            self._refresh(conn, course["id"], today)
            detail = {"supersedes": old, "reason": reason, "verdict": check.verdict}
            self._audit(conn, actor, "correct_dose", "doses", str(new_id), detail, now)
        return int(new_id)

    def void_dose(
        self, patient_id: str, dose_id: int, *, reason: str, actor: str, now: datetime
    ) -> None:
        """Void a dose recorded in error (wrong patient, never given): it stays on record.

        A voided row is superseded by nothing: its ``superseded_by`` names the row itself, so
        every read of the doses in force (``superseded_by IS NULL``) leaves it out, as it leaves
        out a corrected row; who voided it, when and why are in its ``void_dose`` audit entry.
        The course's next-due window is worked out again in the same transaction.
        """
        if not reason.strip():
            raise InputError([FieldProblem("reason", "voiding a dose needs a reason")])
        if (problem := text_problem(reason, "reason", MAX_REASON)) is not None:
            raise InputError([problem])
        today = now.date()
        with self._write() as conn:
            course = self._course(conn, patient_id, lock=True)
            old = conn.execute(
                select(doses.c.id).where(
                    doses.c.id == dose_id,
                    doses.c.patient_id == patient_id,
                    doses.c.superseded_by.is_(None),
                )
            ).scalar()
            if old is None:
                raise NotFound(f"no dose {dose_id} in force for patient {patient_id!r}")
            conn.execute(update(doses).where(doses.c.id == old).values(superseded_by=old))
            self._refresh(conn, course["id"], today)
            detail = {"voids": old, "reason": reason.strip()}
            self._audit(conn, actor, "void_dose", "doses", str(old), detail, now)

    def dose_amendments(self, patient_id: str) -> dict[int, dict[str, Any]]:
        """For each corrected or voided dose of the patient: how, by whom, when and why.

        ``{dose_id: {"kind": "corrected" | "voided", "by", "at", "reason", "replacement"}}``,
        read from the audit entries of ``correct_dose`` and ``void_dose`` (the record of who
        changed the history; the dose rows themselves are never changed otherwise).
        """
        found: dict[int, dict[str, Any]] = {}
        with self._guard(), self.engine.connect() as conn:
            ids = [
                str(i)
                for i in conn.execute(select(doses.c.id).where(doses.c.patient_id == patient_id))
                .scalars()
                .all()
            ]
            query = (
                select(audit.c.action, audit.c.actor, audit.c.at, audit.c.record_id, audit.c.detail)
                .where(
                    audit.c.table_name == "doses",
                    audit.c.action.in_(("correct_dose", "void_dose")),
                    audit.c.record_id.in_(ids),
                )
                .order_by(audit.c.id)
            )
            for row in conn.execute(query) if ids else ():
                detail = row.detail or {}
                if row.action == "correct_dose":
                    old, kind, replacement = detail.get("supersedes"), "corrected", row.record_id
                else:
                    old, kind, replacement = detail.get("voids"), "voided", None
                if not isinstance(old, int):
                    continue
                found[old] = {
                    "kind": kind,
                    "by": row.actor,
                    "at": row.at.isoformat(timespec="minutes"),
                    "reason": detail.get("reason"),
                    "replacement": int(replacement) if replacement else None,
                }
        return found

    def known_patients(self, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` are enrolled patients (to check a list before acting on each)."""
        wanted = [i for i in ids if isinstance(i, str) and PATIENT_ID.fullmatch(i)]
        if not wanted:
            return set()
        query = select(patients.c.id).where(patients.c.id.in_(wanted))
        with self._guard(), self.engine.connect() as conn:
            return set(conn.execute(query).scalars().all())

    def register_entry(self, patient_id: str) -> dict[str, Any] | None:
        """The patient's identifiers and contact from the register brought in (None if none)."""
        query = select(
            register_entries.c.nhs_number, register_entries.c.mrn, register_entries.c.contact
        ).where(register_entries.c.patient_id == patient_id)
        with self._guard(), self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return dict(row) if row is not None else None

    def recall_details(self, as_of: date, rows: Sequence[RecallRow]) -> dict[str, dict[str, Any]]:
        """What a practice's recall screen shows beside each recall row.

        Per patient: date of birth, NHS number, MRN and contact (from the register brought
        in, when there is one), the last dose in force, and the latest outreach mark made for
        the row's current due date (``None`` when the row has not been marked since it fell
        due again).
        """
        ids = [r.patient_id for r in rows]
        due = {r.patient_id: r.next_due for r in rows}
        out: dict[str, dict[str, Any]] = {
            pid: {
                "date_of_birth": None,
                "nhs_number": None,
                "mrn": None,
                "contact": None,
                "last_dose": None,
                "outreach": None,
            }
            for pid in ids
        }
        if not ids:
            return out
        who = (
            select(
                patients.c.id,
                patients.c.date_of_birth,
                register_entries.c.nhs_number,
                register_entries.c.mrn,
                register_entries.c.contact,
            )
            .outerjoin(register_entries, register_entries.c.patient_id == patients.c.id)
            .where(patients.c.id.in_(ids))
        )
        last = (
            select(doses.c.patient_id, func.max(doses.c.date))
            .where(doses.c.patient_id.in_(ids), doses.c.superseded_by.is_(None))
            .group_by(doses.c.patient_id)
        )
        newest = (
            select(outreach.c.patient_id, func.max(outreach.c.id).label("id"))
            .where(outreach.c.patient_id.in_(ids))
            .group_by(outreach.c.patient_id)
            .subquery()
        )
        marks = select(outreach).join(newest, newest.c.id == outreach.c.id)
        with self._guard(), self.engine.connect() as conn:
            for r in conn.execute(who):
                out[r.id].update(
                    date_of_birth=r.date_of_birth,
                    nhs_number=r.nhs_number,
                    mrn=r.mrn,
                    contact=r.contact,
                )
            for pid, day in conn.execute(last):
                out[pid]["last_dose"] = day
            for m in conn.execute(marks):
                if m.due_date == due.get(m.patient_id):
                    out[m.patient_id]["outreach"] = {
                        "status": m.status,
                        "by": m.actor,
                        "at": m.at.isoformat(timespec="minutes"),
                        "note": m.note,
                    }
        return out

    def record_event(
        self, patient_id: str, day: date, kind: str, *, actor: str, now: datetime
    ) -> FollowUpResult:
        """Record a clinical event; the course's next-due window is refreshed with it."""
        today = now.date()
        if day > today:
            raise InputError([FieldProblem("date", f"{day} is in the future (today is {today})")])
        if kind not in self.kb.vocabulary.events:
            known = ", ".join(sorted(self.kb.vocabulary.events))
            raise InputError(
                [FieldProblem("kind", f"unknown event {quoted(kind)}; known: {known}")]
            )
        with self._write() as conn:
            course = self._course(conn, patient_id, lock=True)
            event_id = conn.execute(
                insert(events).values(
                    course_id=course["id"],
                    patient_id=patient_id,
                    date=day,
                    kind=kind,
                    recorded_by=actor,
                    recorded_at=now,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
            follow = self._refresh(conn, course["id"], today)
            self._audit(conn, actor, "record_event", "events", str(event_id), {"kind": kind}, now)
        return follow

    # -- reads --------------------------------------------------------------------------------

    def record_view(
        self, what: str, record_id: str, *, actor: str, now: datetime, detail: dict[str, Any]
    ) -> None:
        """Audit that ``actor`` looked at patient data (``what``: the page or endpoint)."""
        with self._write() as conn:
            self._audit(conn, actor, "view", what, record_id, detail, now)

    def follow_up(self, patient_id: str, as_of: date) -> FollowUpResult:
        """The follow-up result for the patient's active course as of ``as_of``."""
        with self._guard(), self.engine.connect() as conn:
            course = self._course(conn, patient_id, lock=False)
            return self._follow(conn, course, as_of)

    def show_patient(self, patient_id: str) -> dict[str, Any]:
        """Everything the registry holds for one patient."""
        if not PATIENT_ID.fullmatch(patient_id):
            raise NotFound(f"no patient {quoted(patient_id)}")
        with self._guard(), self.engine.connect() as conn:
            row = (
                conn.execute(select(patients).where(patients.c.id == patient_id)).mappings().first()
            )
            if row is None:
                raise NotFound(f"no patient {patient_id!r}")
            course = self._course(conn, patient_id, lock=False)
            return {
                "patient": _jsonable(dict(row)),
                "course": _jsonable({k: v for k, v in course.items() if k != "document"}),
                "picture": course["document"],
                "doses": self._doses(conn, course["patient_id"]),
                "events": self._events(conn, course["patient_id"]),
            }

    def dose_history(self, patient_id: str) -> list[dict[str, Any]]:
        """Every dose row of the patient, corrected ones included (``superseded_by`` set)."""
        query = (
            select(doses).where(doses.c.patient_id == patient_id).order_by(doses.c.date, doses.c.id)
        )
        with self._guard(), self.engine.connect() as conn:
            self._course(conn, patient_id, lock=False)  # NotFound for an unknown patient
            return [_jsonable(dict(r)) for r in conn.execute(query).mappings()]

    def list_patients(self) -> list[dict[str, Any]]:
        """Every patient with their course's pathway and next due date."""
        query = (
            select(
                patients.c.id,
                patients.c.display_name,
                patients.c.guideline,
                courses.c.pathway,
                courses.c.status,
                courses.c.next_due,
            )
            .join(courses, courses.c.patient_id == patients.c.id)
            .order_by(patients.c.id)
        )
        with self._guard(), self.engine.connect() as conn:
            return [_jsonable(dict(r)) for r in conn.execute(query).mappings()]

    def _recall_filter(self, as_of: date, within_days: int, filters: RecallFilters) -> Any:
        """The WHERE clause of the recall list (and its count and export) for these filters."""
        status = filters.get("status")
        guideline = filters.get("guideline")
        if not 0 <= within_days <= MAX_WITHIN_DAYS:
            raise InputError([FieldProblem("within", f"must be 0 to {MAX_WITHIN_DAYS} days")])
        if status is not None and status not in RECALL_STATUSES:
            known = ", ".join(RECALL_STATUSES)
            message = f"unknown status {quoted(status)}; known: {known}"
            raise InputError([FieldProblem("status", message)])
        if guideline is not None and guideline not in GUIDELINES:
            known = ", ".join(GUIDELINES)
            message = f"unknown guideline {quoted(guideline)}; known: {known}"
            raise InputError([FieldProblem("guideline", message)])
        try:
            cutoff = as_of + timedelta(days=within_days)
        except OverflowError:
            raise InputError(
                [FieldProblem("as_of", "too close to the end of the calendar")]
            ) from None
        where = [courses.c.status == "active", courses.c.next_due <= cutoff]
        # The same tests as RecallRow.status, on the stored window.
        if status == "overdue":
            where.append(courses.c.due_latest < as_of)
        elif status == "due":
            where += [courses.c.due_latest >= as_of, courses.c.due_earliest <= as_of]
        elif status == "upcoming":
            where += [courses.c.due_latest >= as_of, courses.c.due_earliest > as_of]
        if guideline is not None:
            where.append(courses.c.guideline == guideline)
        return and_(*where)

    def recall(
        self,
        as_of: date,
        within_days: int,
        *,
        limit: int | None = None,
        offset: int = 0,
        **filters: Unpack[RecallFilters],
    ) -> list[RecallRow]:
        """Active courses due within ``within_days`` of ``as_of`` or overdue, most urgent first.

        Ordered by the latest acceptable date (most overdue first), then the due date and the
        patient id; ``limit``/``offset`` page through it along ``ix_courses_urgency``.
        The filters (:class:`RecallFilters`: ``status`` overdue, due or upcoming; ``guideline``
        uk or us) narrow the list; None keeps every row.
        """
        if limit is not None and limit < 1:
            raise InputError([FieldProblem("limit", "must be 1 or more")])
        if offset < 0:
            raise InputError([FieldProblem("offset", "must be 0 or more")])
        query = self._recall_select(as_of, within_days, filters).offset(offset)
        if limit is not None:
            query = query.limit(limit)
        with self._guard(), self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [recall_row(r, as_of) for r in rows]

    def _recall_select(
        self,
        as_of: date,
        within_days: int,
        filters: RecallFilters,
        columns: tuple[Any, ...] | None = None,
    ) -> Select[Any]:
        """The recall list's query: ``columns`` (by default the ones :func:`recall_row`
        reads) of the filtered courses joined to their patients, most urgent first."""
        return (
            select(
                *(
                    columns
                    or (
                        courses.c.patient_id,
                        patients.c.display_name,
                        courses.c.pathway,
                        courses.c.regimen,
                        courses.c.phase,
                        courses.c.next_due,
                        courses.c.due_earliest,
                        courses.c.due_latest,
                    )
                )
            )
            .select_from(courses)
            .join(patients, patients.c.id == courses.c.patient_id)
            .where(self._recall_filter(as_of, within_days, filters))
            .order_by(courses.c.due_latest, courses.c.next_due, courses.c.patient_id)
        )

    def open_recall_export(
        self, as_of: date, within_days: int, **filters: Unpack[RecallFilters]
    ) -> RecallExport[RecallRow]:
        """The whole recall list (same filters and order as :meth:`recall`), to stream.

        The rows are counted and then read in one read transaction (a consistent snapshot)
        through a server-side cursor, so memory stays constant whatever the list's length;
        close the export (or read it to the end) to end the transaction.  Iterating gives
        :class:`RecallRow` objects; :func:`recall_csv_chunks` gives the CSV, which on
        PostgreSQL the database formats (:func:`recall_text_cells`: the same bytes, without
        an object per row).
        """
        query = self._recall_select(as_of, within_days, filters)
        count = (
            select(func.count())
            .select_from(courses)
            .where(self._recall_filter(as_of, within_days, filters))
        )
        text_query = None
        if not self.is_sqlite:
            cells = recall_text_cells(as_of)
            text_query = TextQuery(
                self._recall_select(as_of, within_days, filters, cells),
                RECALL_CSV_HEADER,
                RECALL_TEXT_TAIL,
            )
        return RecallExport.open(
            self, query, count, lambda r: recall_row(r, as_of), text=text_query
        )

    def recall_count(self, as_of: date, within_days: int, **filters: Unpack[RecallFilters]) -> int:
        """How many courses the recall list holds (all pages), with the same filters."""
        query = (
            select(func.count())
            .select_from(courses)
            .where(self._recall_filter(as_of, within_days, filters))
        )
        with self._guard(), self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    # -- SQLite backup ------------------------------------------------------------------------

    def backup(self, path: Path) -> None:
        """Online backup of a SQLite registry to ``path`` (PostgreSQL: use pg_dump)."""
        source = self._sqlite_path()
        try:
            with sqlite3.connect(source) as src, sqlite3.connect(path) as dst:
                src.backup(dst)
        except sqlite3.Error as exc:
            raise InputError(
                [FieldProblem("path", f"cannot write a backup to {path}: {exc}")]
            ) from None

    def restore(self, path: Path) -> None:
        """Replace the SQLite registry with the backup at ``path``."""
        if not path.is_file():
            raise InputError([FieldProblem("path", f"no backup file at {path}")])
        target = self._sqlite_path()
        try:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as src:
                tables = {
                    r[0] for r in src.execute("SELECT name FROM sqlite_master WHERE type='table'")
                }
        except sqlite3.Error as exc:
            raise InputError(
                [FieldProblem("path", f"{path} is not a SQLite database: {exc}")]
            ) from None
        if not {"patients", "courses", "doses", "alembic_version"} <= tables:
            raise InputError([FieldProblem("path", f"{path} is not a b12 registry backup")])
        self.engine.dispose()
        with sqlite3.connect(path) as src, sqlite3.connect(target) as dst:
            src.backup(dst)

    def _sqlite_path(self) -> str:
        database = make_url(self.url).database
        if not self.is_sqlite or not database or database == ":memory:":
            raise InputError(
                [
                    FieldProblem(
                        "database",
                        "backup and restore need a SQLite file; use pg_dump for PostgreSQL",
                    )
                ]
            )
        return database

    # -- helpers ------------------------------------------------------------------------------

    def _check(
        self,
        conn: Connection,
        course: dict[str, Any],
        given: DoseInput,
        amount: DoseIn,
        exclude: int | None = None,
    ) -> OrderCheckResult:
        """The order check of a dose as given, against the doses recorded before it."""
        day = given.date.isoformat()
        history = [
            h for h in self._doses(conn, course["patient_id"], exclude=exclude) if h["date"] <= day
        ]
        request = {
            "picture": course["document"],
            "order": {
                "drug": given.drug,
                "dose": {"value": amount.value, "unit": amount.unit},
                "route": given.route,
                "site": given.site,
                "start": day,
            },
            "history": history,
            "events": [e for e in self._events(conn, course["patient_id"]) if e["date"] <= day],
            "as_of": day,
            **_declared(course, day),
        }
        return order_check_request(request, self.kb)

    @staticmethod
    def _insert_dose(
        conn: Connection,
        course: dict[str, Any],
        given: DoseInput,
        amount: DoseIn,
        now: datetime,
        reason: str | None,
        verdict: str,
    ) -> int:
        """Insert one dose row for the course's patient; return its id."""
        return int(
            conn.execute(
                insert(doses).values(
                    course_id=course["id"],
                    patient_id=course["patient_id"],
                    date=given.date,
                    drug=given.drug,
                    dose_value=amount.value,
                    dose_unit=amount.unit,
                    route=given.route,
                    site=given.site,
                    batch=given.batch,
                    given_by=given.given_by,
                    recorded_at=now,
                    idempotency_key=given.key,
                    override_reason=reason,
                    verdict=verdict,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
        )

    def _by_key(
        self, conn: Connection, patient_id: str, given: DoseInput, amount: DoseIn
    ) -> int | None:
        """The patient's dose already recorded under ``given.key`` (keys are per patient).

        Raises :class:`Conflict` when that dose is not the one given (another date, product,
        amount, route, site or batch): a reused key must not silently drop a different dose.
        """
        if given.key is None:
            return None
        query = select(doses).where(
            doses.c.patient_id == patient_id, doses.c.idempotency_key == given.key
        )
        row = conn.execute(query).mappings().first()
        if row is None:
            return None
        recorded = {
            "date": row["date"].isoformat(),
            "drug": row["drug"],
            "dose": f"{row['dose_value']:g}{row['dose_unit']}",
            "route": row["route"],
            "site": row["site"],
            "batch": row["batch"],
        }
        submitted = _dose_summary(given, amount)
        if recorded != submitted:
            raise Conflict(
                f"idempotency key {quoted(given.key)} already recorded dose {row['id']}, "
                "which is not this dose; use a new key for a new dose",
                {"dose_id": row["id"], **recorded},
                submitted,
            )
        return int(row["id"])

    def _lock_patient(self, conn: Connection, patient_id: str) -> None:
        """Lock the patient's row for this transaction (PostgreSQL; SQLite's write lock is
        already held), so concurrent writes for one patient run one after the other."""
        if not PATIENT_ID.fullmatch(patient_id):
            raise NotFound(f"no patient {quoted(patient_id)}")
        if self.is_sqlite:
            return
        query = select(patients.c.id).where(patients.c.id == patient_id).with_for_update()
        if conn.execute(query).first() is None:
            raise NotFound(f"no patient {patient_id!r}")

    def _course(self, conn: Connection, patient_id: str, *, lock: bool) -> dict[str, Any]:
        """The patient's current course with its picture; ``lock`` first locks the patient
        (every write passes ``lock=True`` before reading anything of the patient)."""
        if lock:
            self._lock_patient(conn, patient_id)
        elif not PATIENT_ID.fullmatch(patient_id):
            raise NotFound(f"no patient {quoted(patient_id)}")
        query = (
            select(courses, pictures.c.document)
            .join(pictures, pictures.c.id == courses.c.picture_id)
            .where(courses.c.patient_id == patient_id)
            .order_by(courses.c.id.desc())
            .limit(1)
        )
        row = conn.execute(query).mappings().first()
        if row is None:
            raise NotFound(f"no patient {patient_id!r}")
        return dict(row)

    def _doses(
        self, conn: Connection, patient_id: str, exclude: int | None = None
    ) -> list[dict[str, Any]]:
        """The patient's doses in force (corrected ones are left out), in date order."""
        query = (
            select(doses)
            .where(
                doses.c.patient_id == patient_id,
                doses.c.superseded_by.is_(None),
                doses.c.id != (exclude if exclude is not None else -1),
            )
            .order_by(doses.c.date, doses.c.id)
        )
        return [
            {
                "date": r.date.isoformat(),
                "drug": r.drug,
                "dose": {"value": r.dose_value, "unit": r.dose_unit},
                "route": r.route,
                **({"site": r.site} if r.site else {}),
            }
            for r in conn.execute(query)
        ]

    def _events(self, conn: Connection, patient_id: str) -> list[dict[str, Any]]:
        """The patient's recorded events, in date order."""
        query = (
            select(events)
            .where(events.c.patient_id == patient_id)
            .order_by(events.c.date, events.c.id)
        )
        return [{"date": r.date.isoformat(), "kind": r.kind} for r in conn.execute(query)]

    def _follow(self, conn: Connection, course: dict[str, Any], as_of: date) -> FollowUpResult:
        """The follow-up as of ``as_of``, from what had been recorded by then."""
        day = as_of.isoformat()
        request = {
            "picture": course["document"],
            "history": [d for d in self._doses(conn, course["patient_id"]) if d["date"] <= day],
            "events": [e for e in self._events(conn, course["patient_id"]) if e["date"] <= day],
            "as_of": day,
            **_declared(course, day),
        }
        return follow_up_request(request, self.kb)

    def _refresh(self, conn: Connection, course_id: int, today: date) -> FollowUpResult:
        """Recompute and store the course's next-due window (same transaction as the write)."""
        course = dict(
            conn.execute(
                select(courses, pictures.c.document)
                .join(pictures, pictures.c.id == courses.c.picture_id)
                .where(courses.c.id == course_id)
            )
            .mappings()
            .one()
        )
        result = self._follow(conn, course, today)
        due = result.next_due
        values: dict[str, Any] = {
            "phase": result.phase,
            "regimen": result.regimen.id if result.regimen else None,
        }
        if due is None or due.continuous:
            values.update(
                next_due=None, due_earliest=None, due_latest=None, continuous=int(bool(due))
            )
        else:
            values.update(
                next_due=due.date, due_earliest=due.earliest, due_latest=due.latest, continuous=0
            )
        conn.execute(update(courses).where(courses.c.id == course_id).values(**values))
        return result

    @staticmethod
    def _audit(
        conn: Connection,
        actor: str,
        action: str,
        table: str,
        record: str,
        detail: dict[str, Any],
        at: datetime,
    ) -> None:
        conn.execute(
            insert(audit).values(
                at=at, actor=actor, action=action, table_name=table, record_id=record, detail=detail
            )
        )


def parse_declaration(raw: Any, today: date) -> dict[str, Any] | None:
    """Validate a declared course (``CourseIn``) for storage; field errors name ``course.*``."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise InputError([FieldProblem("course", "expected a JSON object")])
    try:
        parsed = CourseIn.model_validate(raw)
    except ValidationError as exc:
        raise InputError(field_problems(exc, "course")) from None
    if parsed.since > today:
        raise InputError([FieldProblem("course.since", f"{parsed.since} is in the future")])
    return parsed.model_dump(mode="json", exclude_none=True)


def _declared(course: dict[str, Any], day: str) -> dict[str, Any]:
    """The ``course`` key of a follow-up or order-check request on ``day`` for a stored course
    (none before the declared date: a dose recorded with an earlier date is judged without it)."""
    declaration = course.get("declaration")
    return {"course": declaration} if declaration and declaration["since"] <= day else {}


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, date | datetime) else v) for k, v in row.items()}
