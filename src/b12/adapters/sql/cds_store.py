"""CDS Hooks rows: the JWT replay cache (``cds_jti``) and card feedback (``cds_feedback``).

Both tables come from schema 0003.  The replay cache is shared by every process on the database,
so a token replayed to another ``b12 serve`` worker or host is refused too.

Times: ``now``, ``expires_at`` and ``received_at`` are naive local wall-clock times like the rest
of the registry (an aware value is converted to local time).  ``outcome_timestamp`` is an
instant sent by the EHR (RFC 3339 with an offset); it is stored as naive UTC and read back with
a ``Z``.

Transactions follow ``registry.py``: each write is one transaction that takes SQLite's write
lock at ``BEGIN IMMEDIATE`` (set up by ``make_engine``); driver errors other than integrity
errors become ``RegistryUnavailable``.  Nothing here logs.

The replay cache is written on every CDS Hooks call, so its insert is made cheap (see
docs/deployment.md, "CDS Hooks replay protection"):

* the database's primary key on ``(issuer, jti)`` stays the authority: a token is accepted only
  by the process whose insert succeeded, so a replay to any process or host is refused;
* the insert's commit does not wait for the disk (SQLite ``synchronous=NORMAL`` for that one
  transaction, in WAL mode; PostgreSQL ``SET LOCAL synchronous_commit TO OFF``).  A process
  crash loses nothing; an operating-system crash or power cut may lose the last fraction of a
  second of rows, which could let a token captured in that moment be replayed until it
  expires (at most 5 minutes).  Every other registry write keeps full durability;
* each process remembers the token ids it has seen (at most :data:`SEEN_IN_PROCESS`), so a
  replay to the same process is refused without a database round trip;
* concurrent requests in one process share one transaction (group commit): the first request
  to find no insert running inserts every id waiting, in one ``INSERT … ON CONFLICT DO
  NOTHING RETURNING`` statement, while the others wait for its answer; a request that arrives
  meanwhile joins the next batch.  So one process never has two replay-cache transactions
  waiting on SQLite's write lock (whose busy handler sleeps up to 100 ms between tries), and
  it needs one database connection for them, not one per request.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from b12.adapters.sql.tables import cds_feedback, cds_jti
from b12.adapters.sql.transactions import EngineStore
from b12.core.errors import FieldProblem, InputError

OUTCOMES = ("accepted", "overridden")
MAX_FEEDBACK_ITEMS = 500
MAX_ID_LENGTH = 100  # ``cds_feedback.card_uuid`` and ``service_id``
MAX_ISSUER_LENGTH = 300
MAX_JTI_LENGTH = 200
MAX_TEXT_LENGTH = 4000  # a userComment, a Coding's system/code/display
MAX_SUGGESTIONS = 100
MAX_LIMIT = 1000
#: How often expired replay-cache rows are deleted (by whichever request comes next).
PURGE_EVERY = timedelta(minutes=1)
#: Token ids each process remembers, to refuse a replay to itself without a round trip.
SEEN_IN_PROCESS = 50_000
#: At most this many token ids are inserted in one replay-cache transaction.
MAX_BATCH = 256
# RFC 3339 date-time: full date, time, optional fraction, mandatory offset.
_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})", re.ASCII
)


def _naive(now: datetime) -> datetime:
    return now.astimezone().replace(tzinfo=None) if now.tzinfo is not None else now


def parse_rfc3339(value: object) -> datetime | None:
    """An RFC 3339 date-time (offset required) as an aware datetime, else None."""
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        return None
    text = value.upper().replace("Z", "+00:00")
    whole, dot, rest = text.partition(".")
    if dot:  # Python takes at most 6 fractional digits
        digits = re.match(r"\d+", rest)
        assert digits is not None
        text = f"{whole}.{digits.group()[:6].ljust(6, '0')}{rest[digits.end() :]}"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


class CdsStore(EngineStore):
    """The replay cache and the feedback log on the registry's database (a SQLAlchemy engine)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._last_purge: datetime | None = None
        self._seen: OrderedDict[tuple[str, str], datetime] = OrderedDict()  # -> expires_at
        self._seen_lock = threading.Lock()
        # group commit: ids waiting to be inserted, and whether a request is inserting now
        self._turn = threading.Condition()
        self._waiting: list[_Ticket] = []
        self._inserting = False
        # the same for requests served on an event loop (remember_jti_async)
        self._async_lock = threading.Lock()
        self._async_waiting: list[_Ticket] = []
        self._draining = False
        self._drain_task: asyncio.Task[None] | None = None

    # -- transactions ---------------------------------------------------------------------------

    @contextmanager
    def _relaxed_write(self) -> Iterator[Connection]:
        """A write transaction whose commit does not wait for the disk (replay cache only)."""
        with self._guard(), self.engine.connect() as conn:
            if self.engine.dialect.name != "sqlite":
                with conn.begin():
                    conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
                    yield conn
                return
            raw: Any = conn.connection.dbapi_connection  # outside any transaction here
            before = raw.execute("PRAGMA synchronous").fetchone()[0]
            raw.execute("PRAGMA synchronous=NORMAL")
            try:
                conn.execution_options(b12_write=True)
                with conn.begin():
                    yield conn
            finally:
                raw.execute(f"PRAGMA synchronous={int(before)}")

    def _remember_seen(self, key: tuple[str, str], expires_at: datetime) -> None:
        with self._seen_lock:
            self._seen[key] = expires_at
            while len(self._seen) > SEEN_IN_PROCESS:
                self._seen.popitem(last=False)

    # -- replay cache ---------------------------------------------------------------------------

    def _ticket(self, issuer: str, jti: str, expires_at: datetime, now: datetime) -> _Ticket | None:
        """A ticket for the id, or None when this process has seen it already (a replay)."""
        if not issuer or len(issuer) > MAX_ISSUER_LENGTH or not jti or len(jti) > MAX_JTI_LENGTH:
            raise ValueError("issuer or jti empty or too long")
        now = _naive(now)
        key = (issuer, jti)
        seen_until = self._seen.get(key)
        if seen_until is not None and seen_until >= now:
            return None  # replayed to this process: no round trip needed
        return _Ticket(key, _naive(expires_at), now)

    def remember_jti(self, issuer: str, jti: str, expires_at: datetime, now: datetime) -> bool:
        """Record a token id; False when ``(issuer, jti)`` was already seen (a replay).

        ``expires_at`` is when the row may be forgotten (the token is refused after it anyway).
        Expired rows are deleted at most once every :data:`PURGE_EVERY` per process.  Blocks
        until the id's batch is committed; a database failure is raised to every request of
        the batch (``RegistryUnavailable``).
        """
        ticket = self._ticket(issuer, jti, expires_at, now)
        if ticket is None:
            return False
        with self._turn:
            self._waiting.append(ticket)
            while not ticket.done:
                if not self._inserting:
                    self._inserting = True  # this request inserts its id and those waiting
                    self._waiting.remove(ticket)
                    others, self._waiting = (
                        self._waiting[: MAX_BATCH - 1],
                        self._waiting[MAX_BATCH - 1 :],
                    )
                    batch = [ticket, *others]
                    break
                self._turn.wait()
            else:
                return ticket.answer()
        try:
            self._insert_batch(batch)
        finally:
            with self._turn:
                self._inserting = False
                self._turn.notify_all()
        return ticket.answer()

    async def remember_jti_async(
        self, issuer: str, jti: str, expires_at: datetime, now: datetime
    ) -> bool:
        """:meth:`remember_jti` for a request served on an event loop, without a thread each.

        Requests waiting on the loop are inserted in batches by one task, each batch in one
        transaction on a worker thread (never two at once with :meth:`remember_jti`).
        """
        ticket = self._ticket(issuer, jti, expires_at, now)
        if ticket is None:
            return False
        loop = asyncio.get_running_loop()
        ticket.future = loop.create_future()
        with self._async_lock:
            self._async_waiting.append(ticket)
            start, self._draining = not self._draining, True
        if start:
            self._drain_task = loop.create_task(self._drain())
        await ticket.future
        return ticket.answer()

    async def _drain(self) -> None:
        """Insert the ids waiting on event loops, a batch at a time, until none is left."""
        loop = asyncio.get_running_loop()
        batch: list[_Ticket] = []
        try:
            while True:
                with self._async_lock:
                    batch = self._async_waiting[:MAX_BATCH]
                    self._async_waiting = self._async_waiting[MAX_BATCH:]
                    if not batch:
                        self._draining = False
                        return
                try:
                    await loop.run_in_executor(None, self._insert_in_turn, batch)
                except Exception as exc:  # each request gets the error
                    for ticket in batch:
                        if not ticket.done:
                            ticket.error, ticket.done = exc, True
                for ticket in batch:
                    ticket.wake()
                batch = []
        finally:  # cancelled (the loop is closing): nobody may be left waiting
            with self._async_lock:
                left, self._async_waiting = batch + self._async_waiting, []
                self._draining = False
            for ticket in left:
                if not ticket.done:
                    ticket.error, ticket.done = RuntimeError("replay check interrupted"), True
                ticket.wake()

    def _insert_in_turn(self, batch: list[_Ticket]) -> None:
        """:meth:`_insert_batch` when no :meth:`remember_jti` batch is being inserted."""
        with self._turn:
            while self._inserting:
                self._turn.wait()
            self._inserting = True
        try:
            self._insert_batch(batch)
        finally:
            with self._turn:
                self._inserting = False
                self._turn.notify_all()

    def _insert_batch(self, batch: list[_Ticket]) -> None:
        """Insert every ticket's id in one transaction; each ticket gets its answer."""
        first: dict[tuple[str, str], _Ticket] = {}
        for ticket in batch:
            if ticket.key in first:
                ticket.accepted = False  # the same id twice in one batch: the second replays
                ticket.done = True
            else:
                first[ticket.key] = ticket
        rows = [{"issuer": k[0], "jti": k[1], "expires_at": t.until} for k, t in first.items()]
        try:
            with self._relaxed_write() as conn:
                make = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
                statement = (
                    make(cds_jti)
                    .values(rows)
                    .on_conflict_do_nothing(index_elements=["issuer", "jti"])
                    .returning(cds_jti.c.issuer, cds_jti.c.jti)
                )
                inserted = {(row[0], row[1]) for row in conn.execute(statement)}
        except Exception as exc:
            for ticket in first.values():
                ticket.error, ticket.done = exc, True
            raise
        for key, ticket in first.items():
            ticket.accepted = key in inserted
            if ticket.accepted:
                self._remember_seen(key, ticket.until)
            ticket.done = True
        now = max(t.now for t in batch)
        if self._last_purge is None or now - self._last_purge >= PURGE_EVERY:
            self.purge_expired(now)

    def purge_expired(self, now: datetime) -> int:
        """Delete replay-cache rows whose ``expires_at`` has passed; return how many."""
        now = _naive(now)
        self._last_purge = now
        with self._write() as conn:
            result = conn.execute(delete(cds_jti).where(cds_jti.c.expires_at < now))
        return int(result.rowcount or 0)

    # -- feedback -------------------------------------------------------------------------------

    def record_feedback(
        self, service_id: str, items: list[dict[str, Any]], issuer: str, now: datetime
    ) -> int:
        """Store a ``{"feedback": [...]}`` batch for ``service_id``; return how many items.

        Every item is checked first (CDS Hooks 2.0 feedback; invariants ``cds-fb-1..3``) and
        every problem is reported at once as ``InputError`` on ``feedback.N.field``; nothing is
        stored unless all items are valid (one transaction).
        """
        if not isinstance(service_id, str) or not 0 < len(service_id) <= MAX_ID_LENGTH:
            raise InputError([FieldProblem("service_id", "unknown service")])
        if not isinstance(issuer, str) or not 0 < len(issuer) <= MAX_ISSUER_LENGTH:
            raise ValueError("issuer empty or too long")
        rows = feedback_rows(items)
        received = _naive(now)
        with self._write() as conn:
            conn.execute(
                insert(cds_feedback),
                [
                    {**row, "service_id": service_id, "issuer": issuer, "received_at": received}
                    for row in rows
                ],
            )
        return len(rows)

    def feedback(self, service_id: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Stored feedback, newest first (optionally one service's), at most ``limit`` items.

        Each item uses the CDS Hooks names (``card``, ``outcome``, ``acceptedSuggestions``,
        ``overrideReason``, ``outcomeTimestamp``) plus ``id``, ``serviceId``, ``issuer`` and
        ``receivedAt``; absent optional members are left out (never ``null``).
        """
        limit = max(1, min(int(limit), MAX_LIMIT))
        query = select(cds_feedback).order_by(cds_feedback.c.id.desc()).limit(limit)
        if service_id is not None:
            query = query.where(cds_feedback.c.service_id == service_id)
        with self._read() as conn:
            rows = conn.execute(query).mappings().all()
        return [_feedback_item(row) for row in rows]


@dataclass(eq=False)  # compared by identity (list.remove)
class _Ticket:
    """One token id waiting for its batch (group commit)."""

    key: tuple[str, str]
    until: datetime
    now: datetime
    done: bool = False
    accepted: bool = False
    error: BaseException | None = None
    future: asyncio.Future[None] | None = None

    def wake(self) -> None:
        """Resolve the waiting request's future on its own event loop (any thread)."""
        future = self.future
        if future is not None and not future.done():
            future.get_loop().call_soon_threadsafe(_resolve, future)

    def answer(self) -> bool:
        if self.error is not None:
            raise self.error
        return self.accepted


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _feedback_item(row: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": row["id"],
        "serviceId": row["service_id"],
        "card": row["card_uuid"],
        "outcome": row["outcome"],
    }
    if row["accepted_suggestions"]:
        item["acceptedSuggestions"] = row["accepted_suggestions"]
    if row["override_reason"]:
        item["overrideReason"] = row["override_reason"]
    stamp: datetime = row["outcome_timestamp"]
    item["outcomeTimestamp"] = stamp.isoformat(timespec="milliseconds") + "Z"
    item["issuer"] = row["issuer"]
    item["receivedAt"] = row["received_at"].isoformat(timespec="seconds")
    return item


# -- validation --------------------------------------------------------------------------------


def feedback_rows(items: object) -> list[dict[str, Any]]:
    """The ``cds_feedback`` column values for each item, or ``InputError`` naming every problem.

    Per item (``feedback.N``): ``card`` a non-empty string (the card's ``uuid``); ``outcome``
    ``accepted`` or ``overridden`` (cds-fb-1); ``acceptedSuggestions`` — required when accepted
    (cds-fb-2) — a non-empty array of ``{"id": suggestion uuid}``; ``overrideReason`` optional,
    an object with a ``reason`` Coding (``system`` and ``code``, optional ``display``) and/or a
    ``userComment`` (cds-fb-3); ``outcomeTimestamp`` an RFC 3339 date-time with offset.  Unknown
    members (e.g. ``extension``) are ignored and not stored; ``null`` counts as absent.
    """
    if not isinstance(items, list):
        raise InputError([FieldProblem("feedback", "expected an array of feedback items")])
    if not items:
        raise InputError([FieldProblem("feedback", "expected at least one feedback item")])
    if len(items) > MAX_FEEDBACK_ITEMS:
        raise InputError(
            [FieldProblem("feedback", f"at most {MAX_FEEDBACK_ITEMS} items in one request")]
        )
    problems: list[FieldProblem] = []
    rows = []
    for n, item in enumerate(items):
        row = _feedback_row(item, f"feedback.{n}", problems)
        if row is not None:
            rows.append(row)
    if problems:
        raise InputError(problems)
    return rows


def _text(value: object, limit: int) -> bool:
    return isinstance(value, str) and bool(value.strip()) and len(value) <= limit


def _feedback_row(item: object, where: str, problems: list[FieldProblem]) -> dict[str, Any] | None:
    if not isinstance(item, dict):
        problems.append(FieldProblem(where, "expected an object"))
        return None
    before = len(problems)
    card = item.get("card")
    if card is None:
        problems.append(FieldProblem(f"{where}.card", "required (the card's uuid)"))
    elif not _text(card, MAX_ID_LENGTH):
        problems.append(
            FieldProblem(f"{where}.card", f"expected a card uuid of 1 to {MAX_ID_LENGTH} chars")
        )
    outcome = item.get("outcome")
    if outcome not in OUTCOMES:
        problems.append(
            FieldProblem(f"{where}.outcome", "required: 'accepted' or 'overridden' (cds-fb-1)")
        )
    accepted = _accepted_suggestions(item.get("acceptedSuggestions"), where, problems)
    if outcome == "accepted" and item.get("acceptedSuggestions") is None:
        problems.append(
            FieldProblem(
                f"{where}.acceptedSuggestions", "required when outcome is 'accepted' (cds-fb-2)"
            )
        )
    reason = _override_reason(item.get("overrideReason"), where, problems)
    stamp = item.get("outcomeTimestamp")
    when = parse_rfc3339(stamp)
    if when is None:
        message = "required" if stamp is None else "expected an RFC 3339 date-time with offset"
        problems.append(FieldProblem(f"{where}.outcomeTimestamp", message))
    if len(problems) > before or when is None:
        return None
    return {
        "card_uuid": card,
        "outcome": outcome,
        "accepted_suggestions": accepted,
        "override_reason": reason,
        "outcome_timestamp": when.astimezone(UTC).replace(tzinfo=None),
    }


def _accepted_suggestions(
    value: object, where: str, problems: list[FieldProblem]
) -> list[dict[str, str]] | None:
    if value is None:
        return None
    name = f"{where}.acceptedSuggestions"
    if not isinstance(value, list) or not value or len(value) > MAX_SUGGESTIONS:
        problems.append(
            FieldProblem(name, f'expected 1 to {MAX_SUGGESTIONS} items {{"id": suggestion uuid}}')
        )
        return None
    accepted = []
    for m, suggestion in enumerate(value):
        sid = suggestion.get("id") if isinstance(suggestion, dict) else None
        if not _text(sid, MAX_ID_LENGTH):
            problems.append(FieldProblem(f"{name}.{m}.id", "required: the suggestion's uuid"))
            continue
        accepted.append({"id": str(sid)})
    return accepted


def _override_reason(
    value: object, where: str, problems: list[FieldProblem]
) -> dict[str, Any] | None:
    if value is None:
        return None
    name = f"{where}.overrideReason"
    if not isinstance(value, dict):
        problems.append(FieldProblem(name, "expected an object with reason and/or userComment"))
        return None
    stored: dict[str, Any] = {}
    reason, comment = value.get("reason"), value.get("userComment")
    if reason is None and comment is None:
        problems.append(FieldProblem(name, "needs a reason, a userComment or both (cds-fb-3)"))
        return None
    if reason is not None:
        coding = _coding(reason, f"{name}.reason", problems)
        if coding is not None:
            stored["reason"] = coding
    if comment is not None:
        if _text(comment, MAX_TEXT_LENGTH):
            stored["userComment"] = comment
        else:
            problems.append(
                FieldProblem(f"{name}.userComment", f"expected text of 1 to {MAX_TEXT_LENGTH}")
            )
    return stored


def _coding(value: object, name: str, problems: list[FieldProblem]) -> dict[str, str] | None:
    if not isinstance(value, dict):
        problems.append(FieldProblem(name, "expected a Coding {system, code, display}"))
        return None
    coding: dict[str, str] = {}
    for member in ("system", "code"):
        text = value.get(member)
        if _text(text, MAX_TEXT_LENGTH):
            coding[member] = str(text)
        else:
            problems.append(FieldProblem(f"{name}.{member}", "required in a Coding"))
    display = value.get("display")
    if display is not None:
        if _text(display, MAX_TEXT_LENGTH):
            coding["display"] = str(display)
        else:
            problems.append(FieldProblem(f"{name}.display", "expected text"))
    return coding if len(coding) >= 2 else None
