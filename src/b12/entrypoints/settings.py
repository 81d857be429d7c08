"""Settings read from the environment (the only place that reads it).

``B12_DATABASE_URL``  registry database (default: ``b12.sqlite3`` in the user's data folder,
                     e.g. ``~/.local/share/b12/``, created on first use); PostgreSQL:
                     ``postgresql+psycopg://…``
``B12_USER``         who is recorded in the audit log by the CLI (default: the login name)
``B12_SECURE_COOKIES`` ``1`` when the app is served over HTTPS (adds ``Secure`` and HSTS)
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path

import platformdirs


def default_database_url() -> str:
    """A SQLite file in the user's data folder (the same for the CLI and ``b12 serve``)."""
    folder = Path(platformdirs.user_data_dir("b12", appauthor=False))
    return f"sqlite:///{folder / 'b12.sqlite3'}"


def database_url() -> str:
    """The registry database URL."""
    return os.environ.get("B12_DATABASE_URL") or default_database_url()


def actor() -> str:
    """The user recorded in the audit log."""
    return os.environ.get("B12_USER") or getpass.getuser()


def secure_cookies() -> bool:
    """Whether the app sits behind HTTPS."""
    return os.environ.get("B12_SECURE_COOKIES", "") in ("1", "true", "yes")
