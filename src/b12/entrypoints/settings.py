"""Settings read from the environment (the only place that reads it).

``B12_DATABASE_URL``  registry database (default: ``b12.sqlite3`` in the user's data folder,
                     e.g. ``~/.local/share/b12/``, created on first use); PostgreSQL:
                     ``postgresql+psycopg://…``
``B12_USER``         who is recorded in the audit log by the CLI (default: the login name)
``B12_SECURE_COOKIES`` ``1`` when the app is served over HTTPS (adds ``Secure`` and HSTS)
``B12_CDS_TRUSTED_ISSUERS`` path of the JSON object mapping each trusted CDS Hooks token issuer
                     to its JWK Set (a file path or an https URL); unset: every CDS call is 401
``B12_CDS_ALLOWED_ORIGINS`` comma-separated browser origins allowed to call ``/cds-services``
                     (CORS); unset: none
``B12_PUBLIC_BASE_URL`` the app's external base URL (``https://cds.example.org``), used for the
                     JWT ``aud`` check behind a proxy; unset: the URL of the request itself
``B12_PRACTICE_NAME`` / ``B12_PRACTICE_PHONE`` the practice's name and telephone, printed on the
                     patient's printout; unset: left off
``B12_CLINIC_DAYS``  comma-separated weekdays the practice gives injections on
                     (``mon,tue,wed,thu,fri``): the patient's printout moves its dates onto them;
                     unset: the knowledge base's ``patient_printout.open_days``
``B12_VIGNETTES_DIR`` folder of golden vignettes the review pages run to show what approving
                     an item would change; unset: ``tests/vignettes/cases`` of this checkout when
                     present (a deployment without it shows no impact preview, and says so)
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path

import platformdirs


def data_dir() -> Path:
    """The user's b12 data folder (e.g. ``~/.local/share/b12``)."""
    return Path(platformdirs.user_data_dir("b12", appauthor=False))


def default_database_url() -> str:
    """A SQLite file in the user's data folder (the same for the CLI and ``b12 serve``)."""
    return f"sqlite:///{data_dir() / 'b12.sqlite3'}"


def database_url() -> str:
    """The registry database URL."""
    return os.environ.get("B12_DATABASE_URL") or default_database_url()


def actor() -> str:
    """The user recorded in the audit log."""
    return os.environ.get("B12_USER") or getpass.getuser()


def secure_cookies() -> bool:
    """Whether the app sits behind HTTPS."""
    return os.environ.get("B12_SECURE_COOKIES", "") in ("1", "true", "yes")


def cds_trusted_issuers() -> Path | None:
    """The CDS Hooks trusted-issuers file, if configured."""
    value = os.environ.get("B12_CDS_TRUSTED_ISSUERS", "").strip()
    return Path(value).expanduser() if value else None


def cds_allowed_origins() -> tuple[str, ...]:
    """Browser origins allowed to call the CDS Hooks endpoints (CORS allowlist)."""
    value = os.environ.get("B12_CDS_ALLOWED_ORIGINS", "")
    return tuple(part.strip() for part in value.split(",") if part.strip())


def public_base_url() -> str | None:
    """The externally visible base URL of the app, without a trailing slash."""
    value = os.environ.get("B12_PUBLIC_BASE_URL", "").strip().rstrip("/")
    return value or None


def practice_name() -> str | None:
    """The practice's name for the patient's printout."""
    return os.environ.get("B12_PRACTICE_NAME", "").strip() or None


def practice_phone() -> str | None:
    """The practice's telephone number for the patient's printout."""
    return os.environ.get("B12_PRACTICE_PHONE", "").strip() or None


WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FULL_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def clinic_days() -> tuple[str, ...] | None:
    """The weekdays injections are given on; ``None`` (the knowledge base's) when unset.

    Raises ``ValueError`` naming the variable for an unknown day name.
    """
    value = os.environ.get("B12_CLINIC_DAYS", "")
    names = [part.strip().lower() for part in value.split(",") if part.strip()]
    full = {d.lower(): d[:3].lower() for d in FULL_DAY_NAMES}
    bad = [n for n in names if n not in WEEKDAY_NAMES and n not in full]
    if bad:
        raise ValueError(f"B12_CLINIC_DAYS: unknown weekday(s) {bad}; use {WEEKDAY_NAMES}")
    return tuple(full.get(n, n) for n in names) or None


def vignettes_dir() -> Path | None:
    """The golden vignettes the review pages run for the impact preview (``None``: none)."""
    value = os.environ.get("B12_VIGNETTES_DIR", "").strip()
    if value:
        return Path(value)
    checkout = Path(__file__).resolve().parents[3] / "tests" / "vignettes" / "cases"
    return checkout if checkout.is_dir() else None
