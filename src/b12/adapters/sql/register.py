"""A practice's register brought into the registry, the register review and recall outreach.

Import: rows are read by :mod:`b12.core.register_import`; each usable row's course is worked
out in the core (``follow_up`` of its picture and doses) before anything is written; a row the
engine cannot take is refused and nothing of it is written.  The real run writes one
transaction per batch of rows: the patients, picture version 1, the courses with their phase
and next-due window, every dose on record, the register entries (identifiers, contact, last
review, the row's digest) and an audit entry per patient.  A batch commits whole or not at all,
so a killed import leaves only whole rows; a row already imported with the same digest is
``unchanged`` (re-importing a file changes nothing); a patient already in the registry with
other details is refused.

Review: every active course with its picture, last dose route and last review (the later of
the last recorded event and the review date brought in), judged by the cited criteria in
``knowledge/register/review``.  Outreach: marks on recall rows (invited, contacted, booked,
declined), each with who and when and an audit entry; the message export pairs each recall row
with the patient's contact and the reminder text from the knowledge base.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Table, and_, func, insert, select

from b12.adapters.sql.registry import RecallRow, Registry
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
from b12.core.course_models import FollowUpResult
from b12.core.errors import FieldProblem, InputError, NotFound
from b12.core.register_import import (
    OUTREACH_STATUSES,
    Enrolment,
    EnrolmentRequest,
    RowProblem,
    RowReport,
    enrolment_request,
)
from b12.core.register_review import (
    CourseSnapshot,
    RegisterContent,
    Reviewer,
    ReviewRow,
    reminder_text,
)
from b12.core.requests import follow_up_request

#: The verdict stored on a dose brought in from a register: history, not an order checked here.
IMPORTED = "imported"
BATCH_SIZE = 200
FROM_FIRST_DOSE = (
    "blank: the course is counted from the first dose on record (as a new course); for a "
    "patient established on treatment give course_stage and stage_since"
)
#: Where an engine error on a request field points in the register file.
COLUMN_OF = {
    "age": "date_of_birth",
    "drug": "product",
    "dose": "dose",
    "route": "route",
    "date": "last_dose_date",
    "cause": "cause",
    "guideline": "guideline",
    "sex": "sex",
    "serum_b12_ng_l": "serum_b12_ng_l",
    "stage": "course_stage",
    "since": "stage_since",
    "every_months": "interval",
}


@dataclass(frozen=True)
class Prepared:
    """A usable row with the course the engine makes of it (computed before any write).

    The follow-up of the row's picture and doses is the course: its pathway, regimen, phase
    and due window are what the course row stores (no separate plan is needed to enrol).
    """

    report: RowReport
    enrolment: Enrolment
    request: EnrolmentRequest
    follow_up: FollowUpResult


def _column(field: str) -> str:
    last = field.split(".")[-1].split("[")[0]
    if field.startswith("history"):
        last = field.split(".")[-1]
    return COLUMN_OF.get(last, field)


def _with(report: RowReport, problem: RowProblem, outcome: str) -> RowReport:
    enrolment = None if problem.refuses else report.enrolment
    return replace(
        report, problems=(*report.problems, problem), enrolment=enrolment, outcome=outcome
    )


class RegisterStore:
    """Import, review and outreach over one registry (its engine and knowledge base)."""

    def __init__(self, registry: Registry, content: RegisterContent) -> None:
        self.registry = registry
        self.kb = registry.kb
        self.content = content

    # -- import -----------------------------------------------------------------------------

    def prepare(self, report: RowReport) -> RowReport | Prepared:
        """Plan and follow up one accepted row in the core; a refusal names the column."""
        if report.enrolment is None:
            return replace(report, outcome="not written")
        enrolment = report.enrolment
        request = enrolment_request(enrolment)
        as_of = request.picture["as_of"]
        try:
            follow = follow_up_request(_follow_up_document(request, as_of), self.kb)
        except InputError as err:
            bad = err.problems[0]
            return _with(report, RowProblem(_column(bad.field), bad.message, True), "not written")
        notes = [
            RowProblem("course_stage", f"{a.code}: {a.message}", False)
            for a in follow.alerts
            if a.severity != "info"
        ]
        if follow.regimen is None:
            why = f"no regimen: b12 says {follow.status} ({follow.pathway.title})"
            notes.append(RowProblem("cause", why, False))
        elif enrolment.declared is None and _course(follow)["phase_read"] in (None, "recorded"):
            notes.append(RowProblem("course_stage", FROM_FIRST_DOSE, False))
        report = replace(report, problems=(*report.problems, *notes), course=_course(follow))
        return Prepared(report, enrolment, request, follow)

    def import_rows(
        self,
        reports: Sequence[RowReport],
        *,
        actor: str,
        now: datetime,
        dry_run: bool,
        batch_size: int = BATCH_SIZE,
    ) -> list[RowReport]:
        """Import (or, with ``dry_run``, only judge) the rows; return each row's report.

        Per batch: rows already in the registry are judged first (unchanged, or refused when
        the details differ) and skip the engine; the others are worked out in the core outside
        any transaction, then judged again and written in one write transaction.
        """
        out: dict[int, RowReport] = {}
        for start in range(0, len(reports), batch_size):
            batch = reports[start : start + batch_size]
            usable = [r for r in batch if r.enrolment is not None]
            with self.registry._read() as conn:
                out.update(self._judge(conn, usable))
            fresh = [self.prepare(r) for r in usable if r.line not in out]
            ready = [p for p in fresh if isinstance(p, Prepared)]
            out.update((p.line, p) for p in fresh if isinstance(p, RowReport))
            if not dry_run and ready:
                with self.registry._write() as conn:
                    raced = self._judge(conn, [p.report for p in ready])  # written meanwhile
                    out.update(raced)
                    todo = [p for p in ready if p.report.line not in raced]
                    if todo:
                        self._enrol(conn, todo, actor, now)
                ready = [p for p in ready if p.report.line not in raced]
            outcome = "would be imported" if dry_run else "imported"
            out.update((p.report.line, replace(p.report, outcome=outcome)) for p in ready)
            out.update(
                (r.line, replace(r, outcome="not written")) for r in batch if r.enrolment is None
            )
        return [out[r.line] for r in reports]

    def _judge(self, conn: Connection, rows: list[RowReport]) -> dict[int, RowReport]:
        """Rows already in the registry: unchanged (same digest) or refused (other details).

        Rows not in the registry are left out of the answer.
        """
        enrolments = [(r, r.enrolment) for r in rows if r.enrolment is not None]
        ids = [e.patient_id for _, e in enrolments]
        nhs = [e.nhs_number for _, e in enrolments if e.nhs_number]
        known = {
            r.id: r.fingerprint
            for r in conn.execute(
                select(patients.c.id, register_entries.c.fingerprint)
                .select_from(patients)
                .outerjoin(register_entries, register_entries.c.patient_id == patients.c.id)
                .where(patients.c.id.in_(ids))
            )
        }
        owners = {
            r.nhs_number: r.patient_id
            for r in conn.execute(
                select(register_entries.c.nhs_number, register_entries.c.patient_id).where(
                    register_entries.c.nhs_number.in_(nhs)
                )
            )
        }
        out: dict[int, RowReport] = {}
        for report, e in enrolments:
            if e.patient_id in known:
                if known[e.patient_id] == e.fingerprint():
                    out[report.line] = replace(report, outcome="unchanged")
                else:
                    why = (
                        "already in the registry with other details; nothing changed "
                        "(update the patient in b12, or fix the file)"
                    )
                    problem = RowProblem("patient_id", why, True)
                    out[report.line] = _with(report, problem, "not written")
            elif e.nhs_number and owners.get(e.nhs_number, e.patient_id) != e.patient_id:
                why = f"already registered for patient {owners[e.nhs_number]!r}"
                out[report.line] = _with(report, RowProblem("nhs_number", why, True), "not written")
        return out

    def _enrol(self, conn: Connection, batch: list[Prepared], actor: str, now: datetime) -> None:
        """Write the batch's rows (inside its transaction): a few multi-row statements.

        The course's next-due window is the follow-up computed in :meth:`prepare` from the
        same picture and doses that are written here, with no events, as of ``now``'s date:
        the request ``Registry._follow`` would build from these rows (``_window`` stores it as
        ``Registry._refresh`` does; the tests check the two agree for imported courses).
        """
        conn.execute(
            insert(patients),
            [
                {
                    "id": p.enrolment.patient_id,
                    "display_name": p.enrolment.name,
                    "date_of_birth": p.enrolment.date_of_birth,
                    "guideline": p.follow_up.guideline,
                    "created_at": now,
                }
                for p in batch
            ],
        )
        picture_ids = self._ids(
            conn,
            pictures,
            [
                {
                    "patient_id": p.enrolment.patient_id,
                    "version": 1,
                    "document": p.request.picture,
                    "created_at": now,
                }
                for p in batch
            ],
        )
        course_ids = self._ids(
            conn,
            courses,
            [
                {
                    "patient_id": p.enrolment.patient_id,
                    "picture_id": picture_id,
                    "guideline": p.follow_up.guideline,
                    "pathway": p.follow_up.pathway.id,
                    "start": date.fromisoformat(p.request.picture["start"]),
                    "content_version": p.follow_up.content_version,
                    "status": "active" if p.follow_up.regimen else "no_regimen",
                    "created_at": now,
                    **_window(p.follow_up),
                    **_declaration(p.request),
                }
                for p, picture_id in zip(batch, picture_ids, strict=True)
            ],
        )
        dose_rows = [
            {
                "course_id": course_id,
                "patient_id": p.enrolment.patient_id,
                "date": date.fromisoformat(h["date"]),
                "drug": h["drug"],
                "dose_value": h["dose"]["value"],
                "dose_unit": h["dose"]["unit"],
                "route": h["route"],
                "recorded_at": now,
                "idempotency_key": f"import:{h['date']}",
                "verdict": IMPORTED,
            }
            for p, course_id in zip(batch, course_ids, strict=True)
            for h in p.request.history
        ]
        if dose_rows:
            conn.execute(insert(doses), dose_rows)
        conn.execute(
            insert(register_entries),
            [
                {
                    "patient_id": p.enrolment.patient_id,
                    "nhs_number": p.enrolment.nhs_number,
                    "mrn": p.enrolment.mrn,
                    "contact": p.enrolment.contact,
                    "last_review": p.enrolment.last_review,
                    "fingerprint": p.enrolment.fingerprint(),
                    "imported_at": now,
                }
                for p in batch
            ],
        )
        conn.execute(
            insert(audit),
            [
                {
                    "at": now,
                    "actor": actor,
                    "action": "import",
                    "table_name": "patients",
                    "record_id": p.enrolment.patient_id,
                    "detail": {
                        "line": p.report.line,
                        "fingerprint": p.enrolment.fingerprint(),
                        "course": course_id,
                    },
                }
                for p, course_id in zip(batch, course_ids, strict=True)
            ],
        )

    @staticmethod
    def _ids(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> list[int]:
        """Insert ``rows``; their new ids in the same order."""
        if not rows:
            return []
        query = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        return [int(i) for i in conn.execute(query, rows).scalars()]

    # -- review -----------------------------------------------------------------------------

    def _snapshots(self, conn: Connection) -> Iterator[CourseSnapshot]:
        last_dose = (
            select(doses.c.patient_id, func.max(doses.c.date).label("day"))
            .where(doses.c.superseded_by.is_(None))
            .group_by(doses.c.patient_id)
            .subquery()
        )
        last_event = (
            select(events.c.patient_id, func.max(events.c.date).label("day"))
            .group_by(events.c.patient_id)
            .subquery()
        )
        # The route of the last dose (of several on that day, the greatest route name).
        route = (
            select(doses.c.patient_id, func.max(doses.c.route).label("route"))
            .join(
                last_dose,
                and_(last_dose.c.patient_id == doses.c.patient_id, last_dose.c.day == doses.c.date),
            )
            .where(doses.c.superseded_by.is_(None))
            .group_by(doses.c.patient_id)
            .subquery()
        )
        query = (
            select(
                courses.c.patient_id,
                patients.c.display_name,
                courses.c.guideline,
                pictures.c.document,
                courses.c.next_due,
                courses.c.due_earliest,
                courses.c.due_latest,
                route.c.route,
                register_entries.c.last_review,
                last_event.c.day.label("last_event"),
            )
            .select_from(courses)
            .join(patients, patients.c.id == courses.c.patient_id)
            .join(pictures, pictures.c.id == courses.c.picture_id)
            .outerjoin(route, route.c.patient_id == courses.c.patient_id)
            .outerjoin(last_event, last_event.c.patient_id == courses.c.patient_id)
            .outerjoin(register_entries, register_entries.c.patient_id == courses.c.patient_id)
            .where(courses.c.status == "active")
            .order_by(courses.c.patient_id)
        )
        for r in conn.execute(query.execution_options(yield_per=2000)):
            reviews = [d for d in (r.last_review, r.last_event) if d is not None]
            yield CourseSnapshot(
                r.patient_id,
                r.display_name,
                r.guideline,
                r.document,
                r.next_due,
                r.due_earliest,
                r.due_latest,
                r.route,
                max(reviews) if reviews else None,
            )

    def review(self, as_of: date, criterion: str | None = None) -> list[ReviewRow]:
        """Every active course meeting a review criterion, by criterion then patient."""
        known = [c.id for c in self.content.criteria]
        if criterion is not None and criterion not in known:
            raise InputError(
                [
                    FieldProblem(
                        "criterion", f"unknown criterion {criterion!r}; known: {', '.join(known)}"
                    )
                ]
            )
        reviewer = Reviewer(self.content, self.kb)
        rows: list[ReviewRow] = []
        with self.registry._read() as conn:
            for snap in self._snapshots(conn):
                rows += reviewer.rows(snap, as_of)
        order = {cid: i for i, cid in enumerate(known)}
        rows.sort(key=lambda r: (order[r.criterion], r.patient_id))
        return [r for r in rows if criterion is None or r.criterion == criterion]

    # -- outreach ---------------------------------------------------------------------------

    def mark(
        self,
        patient_id: str,
        status: str,
        *,
        note: str | None,
        actor: str,
        now: datetime,
    ) -> dict[str, Any]:
        """Mark the patient's recall row (their current due date); audited."""
        if status not in OUTREACH_STATUSES:
            known = ", ".join(OUTREACH_STATUSES)
            raise InputError([FieldProblem("status", f"unknown status {status!r}; known: {known}")])
        if note is not None and len(note) > 1000:
            raise InputError([FieldProblem("note", "longer than 1000 characters")])
        with self.registry._write() as conn:
            course = conn.execute(
                select(courses.c.id, courses.c.next_due)
                .where(courses.c.patient_id == patient_id)
                .order_by(courses.c.id.desc())
                .limit(1)
            ).first()
            if course is None:
                raise NotFound(f"no patient {patient_id!r}")
            mark_id = conn.execute(
                insert(outreach).values(
                    patient_id=patient_id,
                    due_date=course.next_due,
                    status=status,
                    note=note,
                    actor=actor,
                    at=now,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
            detail = {"status": status, "due_date": _iso(course.next_due), "note": note}
            self.registry._audit(conn, actor, "outreach", "outreach", str(mark_id), detail, now)
        return {
            "id": mark_id,
            "patient_id": patient_id,
            "status": status,
            "due_date": _iso(course.next_due),
            "by": actor,
            "at": now.isoformat(),
            "note": note,
        }

    def _latest_marks(self, conn: Connection, ids: list[str]) -> dict[str, Any]:
        newest = (
            select(outreach.c.patient_id, func.max(outreach.c.id).label("id"))
            .where(outreach.c.patient_id.in_(ids))
            .group_by(outreach.c.patient_id)
            .subquery()
        )
        query = select(outreach).join(
            newest, and_(newest.c.id == outreach.c.id, newest.c.patient_id == outreach.c.patient_id)
        )
        return {r.patient_id: r for r in conn.execute(query)}

    def recall_with_outreach(self, as_of: date, within_days: int) -> list[dict[str, Any]]:
        """The recall list, each row with its latest outreach mark for the same due date."""
        rows = self.registry.recall(as_of, within_days)
        out: list[dict[str, Any]] = []
        with self.registry._read() as conn:
            for start in range(0, len(rows), 500):
                chunk = rows[start : start + 500]
                marks = self._latest_marks(conn, [r.patient_id for r in chunk])
                contacts: dict[str, str | None] = {
                    r.patient_id: r.contact
                    for r in conn.execute(
                        select(register_entries.c.patient_id, register_entries.c.contact).where(
                            register_entries.c.patient_id.in_([r.patient_id for r in chunk])
                        )
                    )
                }
                out += [
                    _recall_row(r, marks.get(r.patient_id), contacts.get(r.patient_id))
                    for r in chunk
                ]
        return out

    def messages(self, as_of: date, within_days: int) -> tuple[list[dict[str, str]], list[str]]:
        """Reminder rows for the messaging service, and the ids left out (no contact on file).

        Rows already marked booked or declined for the same due date are left out too.
        """
        out: list[dict[str, str]] = []
        missing: list[str] = []
        for row in self.recall_with_outreach(as_of, within_days):
            if row["outreach"] and row["outreach"]["status"] in ("booked", "declined"):
                continue
            if not row["contact"]:
                missing.append(row["patient_id"])
                continue
            due = date.fromisoformat(
                row["latest"] if row["status"] == "overdue" else row["next_due"]
            )
            out.append(
                {
                    "patient_id": row["patient_id"],
                    "name": row["display_name"] or "",
                    "contact": row["contact"],
                    "due_date": due.isoformat(),
                    "status": row["status"],
                    "message": reminder_text(
                        self.content.reminder, due, row["status"] == "overdue"
                    ),
                }
            )
        return out, missing


def _follow_up_document(request: EnrolmentRequest, as_of: str) -> dict[str, Any]:
    """The FollowUp document of an enrolment: picture, doses and the declared course."""
    document: dict[str, Any] = {
        "picture": request.picture,
        "history": list(request.history),
        "as_of": as_of,
    }
    if request.declared is not None:
        document["course"] = request.declared
    return document


def _course(result: FollowUpResult) -> dict[str, Any]:
    """What the row's course is on import day: pathway, regimen, phase (and how it was read)."""
    due = result.next_due
    reading = getattr(result, "course", None)  # the course model's reading, where it gives one
    return {
        "pathway": result.pathway.id,
        "regimen": result.regimen.id if result.regimen else None,
        "phase": result.phase,
        "phase_read": getattr(reading, "basis", None),
        "next_due": due.date.isoformat() if due and not due.continuous else None,
        "overdue_days": result.overdue_days,
    }


def _declaration(request: EnrolmentRequest) -> dict[str, Any]:
    """The course row's stored declaration (the same document the follow-up was given)."""
    return {"declaration": request.declared}


def _window(result: FollowUpResult) -> dict[str, Any]:
    """The course row's cached window and phase for a follow-up result (as ``_refresh``)."""
    due = result.next_due
    values: dict[str, Any] = {
        "phase": result.phase,
        "regimen": result.regimen.id if result.regimen else None,
    }
    if due is None or due.continuous:
        return {**values, "next_due": None, "due_earliest": None, "due_latest": None,
                "continuous": int(bool(due))}  # fmt: skip
    return {**values, "next_due": due.date, "due_earliest": due.earliest,
            "due_latest": due.latest, "continuous": 0}  # fmt: skip


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _recall_row(r: RecallRow, mark: Any, contact: str | None) -> dict[str, Any]:
    current = mark is not None and mark.due_date == r.next_due
    return {
        **r.as_dict(),
        "contact": contact,
        "outreach": {
            "status": mark.status,
            "by": mark.actor,
            "at": mark.at.isoformat(),
            "note": mark.note,
        }
        if current
        else None,
    }
