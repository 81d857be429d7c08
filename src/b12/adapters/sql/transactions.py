"""Transactions shared by every store on the registry's database.

Each write is one transaction; on SQLite it takes the database write lock at ``BEGIN
IMMEDIATE`` (``make_engine`` sets that up for connections marked ``b12_write``).  Driver errors
other than integrity errors become :class:`RegistryUnavailable`, so callers see one error type
when the database cannot be used.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DatabaseError, IntegrityError, OperationalError

from b12.core.errors import B12Error


class RegistryUnavailable(B12Error):
    """The database cannot be reached or used; wraps the driver's error."""


class EngineStore:
    """Base of the stores: ``_guard``, ``_write`` and ``_read`` over ``self.engine``."""

    engine: Engine

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except (OperationalError, DatabaseError) as exc:
            if isinstance(exc, IntegrityError):
                raise
            raise RegistryUnavailable(f"database unavailable: {exc.orig}") from exc

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A write transaction; on SQLite it takes the write lock at BEGIN (IMMEDIATE)."""
        with self._guard(), self.engine.connect() as conn:
            conn.execution_options(b12_write=True)
            with conn.begin():
                yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        """A connection for reading (no explicit transaction)."""
        with self._guard(), self.engine.connect() as conn:
            yield conn
