"""Settings read from the environment (the only place that reads it).

``B12_DATABASE_URL``  registry database (default: a SQLite file ``b12.sqlite3`` in the current
                     folder, created on first use); PostgreSQL: ``postgresql+psycopg://…``
``B12_USER``         who is recorded in the audit log (default: the login name)
"""

from __future__ import annotations

import getpass
import os

DEFAULT_DATABASE_URL = "sqlite:///b12.sqlite3"


def database_url() -> str:
    """The registry database URL."""
    return os.environ.get("B12_DATABASE_URL") or DEFAULT_DATABASE_URL


def actor() -> str:
    """The user recorded in the audit log."""
    return os.environ.get("B12_USER") or getpass.getuser()
