"""Streaming a whole list out of the registry: one read transaction, a server-side cursor.

:class:`RecallExport` holds a connection with an open read transaction.  It first counts the
rows (so the caller can audit the export before any row leaves), then, when it is read, streams
them through a server-side cursor (PostgreSQL: a named cursor, ``DECLARE … CURSOR``; SQLite: the
cursor steps through the result as it is read), so memory stays constant and the first row is
available as soon as the database has it.  On PostgreSQL the transaction is ``REPEATABLE READ``
(the count and the rows come from one snapshot) with JIT compilation off (it delays the first
rows and gains nothing on this plan) and ``DateStyle`` ISO (dates read as text are ISO dates).
On SQLite (WAL mode) one read transaction is one snapshot too.

An export is read once, in one of two ways:

* iterating it gives one converted object per row (``convert``), :data:`BATCH` rows a fetch;
* :meth:`RecallExport.text_chunks` (only when opened with a ``text`` query, which the registry
  gives on PostgreSQL) gives CSV text: the header, then one chunk per fetch of
  :data:`TEXT_BATCH` rows, each written by :func:`~b12.adapters.spreadsheet.csv_text_rows` from
  the text cells the database formatted, while a helper thread fetches the next batch (the
  database works while Python writes).  No object is built per row: this is the path that
  streams a million-course list in seconds.

Errors from the driver become ``RegistryUnavailable`` as elsewhere.  Reading to the end or
calling :meth:`RecallExport.close` (also on garbage collection of the iterator, e.g. when the
client goes away) ends the transaction and returns the connection.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import count as counter
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection
from sqlalchemy.sql import Select

from b12.adapters.spreadsheet import csv_text_rows
from b12.adapters.sql.transactions import EngineStore, RegistryUnavailable

#: Rows fetched from the database at a time (rows converted to objects).
BATCH = 5000
#: Rows fetched at a time by the text path (about 1 MB of CSV).
TEXT_BATCH = 10_000

T = TypeVar("T")

_cursor_names = counter(1)


@dataclass(frozen=True)
class TextQuery:
    """A query whose cells are all text, never NULL, in CSV column order; the CSV header; and
    how many clean cells its last cell joins (``tail`` of
    :func:`~b12.adapters.spreadsheet.csv_text_rows`)."""

    query: Select[Any]
    header: str
    tail: int = 1


class RecallExport(Generic[T]):
    """An open, consistent read of a list: ``total`` rows, streamed by reading it once."""

    def __init__(
        self,
        store: EngineStore,
        conn: Connection,
        total: int,
        query: Select[Any],
        convert: Callable[[Any], T],
        text: TextQuery | None,
    ) -> None:
        self._store = store
        self._conn = conn
        self.total = total
        self._query = query
        self._convert = convert
        self._text = text
        self._read = False
        self._closed = False

    @classmethod
    def open(
        cls,
        store: EngineStore,
        query: Select[Any],
        count: Select[Any],
        convert: Callable[[Any], T],
        *,
        text: TextQuery | None = None,
    ) -> RecallExport[T]:
        """Begin the read transaction and count; the rows are read when the export is."""
        with store._guard():
            conn = store.engine.connect()
            try:
                postgres = conn.dialect.name == "postgresql"
                if postgres:
                    conn = conn.execution_options(isolation_level="REPEATABLE READ")
                conn.begin()
                if postgres:  # JIT compiling costs the first rows ~0.1-0.4 s and gains little here
                    conn.exec_driver_sql("SET LOCAL jit = off")
                    conn.exec_driver_sql("SET LOCAL DateStyle = 'ISO, YMD'")
                total = int(conn.execute(count).scalar_one())
            except BaseException:
                conn.close()
                raise
        return cls(store, conn, total, query, convert, text)

    @property
    def has_text(self) -> bool:
        """Whether :meth:`text_chunks` is available (the database formats the cells)."""
        return self._text is not None

    @property
    def text_query(self) -> Select[Any] | None:
        """The query :meth:`text_chunks` reads (for ``EXPLAIN``), if any."""
        return self._text.query if self._text is not None else None

    def _start(self) -> None:
        if self._read or self._closed:
            raise RuntimeError("an export is read once")
        self._read = True

    def __iter__(self) -> Iterator[T]:
        self._start()
        try:
            with self._store._guard():
                result = self._conn.execution_options(stream_results=True, yield_per=BATCH).execute(
                    self._query
                )
                try:
                    for partition in result.partitions():
                        for row in partition:
                            yield self._convert(row)
                finally:
                    result.close()
        finally:
            self.close()

    def text_chunks(self) -> Iterator[str]:
        """The list as CSV text: the header at once, then a chunk per :data:`TEXT_BATCH` rows.

        The rows come straight from a psycopg server-side cursor on this transaction's
        connection (no SQLAlchemy row objects), as tuples of text cells."""
        if self._text is None:
            raise RuntimeError("this export has no text query (PostgreSQL only)")
        text = self._text
        self._start()
        try:
            yield text.header  # the download starts before the database answers
            compiled = text.query.compile(
                dialect=self._conn.dialect, compile_kwargs={"render_postcompile": True}
            )
            with self._store._guard():
                raw: Any = self._conn.connection.driver_connection
            try:
                with (
                    raw.cursor(name=f"b12_export_{next(_cursor_names)}") as cursor,
                    ThreadPoolExecutor(1, thread_name_prefix="b12-export") as fetcher,
                ):
                    cursor.execute(str(compiled), compiled.params)
                    # The database makes the next batch while this one is written; only the
                    # fetcher thread touches the cursor until it is done (leaving the block
                    # waits for it), so the connection is never used by two threads at once.
                    batch = fetcher.submit(cursor.fetchmany, TEXT_BATCH)
                    while rows := batch.result():
                        batch = fetcher.submit(cursor.fetchmany, TEXT_BATCH)
                        yield csv_text_rows(rows, tail=text.tail)
            except self._conn.dialect.loaded_dbapi.Error as exc:  # the driver's own errors
                raise RegistryUnavailable(f"database unavailable: {exc}") from exc
        finally:
            self.close()

    def close(self) -> None:
        """End the read transaction and give the connection back (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._conn.close()

    def __enter__(self) -> RecallExport[T]:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
