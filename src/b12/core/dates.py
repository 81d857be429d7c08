"""Calendar arithmetic used by scheduling (PRODUCT.md §5).

Months are calendar months with day clamping: 31 Jan + 1 month = 28 Feb (29 in a leap year).
"""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta

#: The one date format b12 accepts: four-digit year, two-digit month and day (ISO 8601 calendar
#: date, extended form).  Week dates (``2026-W10-1``), ordinal dates and ``20260302`` are refused.
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
#: Dates outside this range are refused: far beyond any clinical use, and safe for arithmetic.
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2199, 12, 31)


def parse_iso_date(text: str) -> date:
    """``YYYY-MM-DD`` → a date between :data:`EARLIEST_DATE` and :data:`LATEST_DATE`.

    Raises ``ValueError`` with a short message that does not quote the input (callers add it,
    shortened, with :func:`~b12.core.errors.quoted`).
    """
    if not ISO_DATE.fullmatch(text):
        raise ValueError("expected a date as YYYY-MM-DD")
    try:
        day = date.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"not a real date ({exc})") from None
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise ValueError(f"must be between {EARLIEST_DATE} and {LATEST_DATE}")
    return day


WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def add_months(day: date, months: int) -> date:
    """Add calendar months, clamping the day to the end of a shorter month."""
    index = day.year * 12 + (day.month - 1) + months
    year, month0 = divmod(index, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last))


def add_days(day: date, days: int) -> date:
    """Add whole days."""
    return day + timedelta(days=days)


def next_weekday_on_or_after(day: date, weekdays: tuple[int, ...]) -> date:
    """The first date on or after ``day`` whose weekday index (0 = Monday) is in ``weekdays``."""
    for offset in range(7):
        candidate = day + timedelta(days=offset)
        if candidate.weekday() in weekdays:
            return candidate
    raise ValueError("weekdays must not be empty")


def weekday_indexes(names: tuple[str, ...]) -> tuple[int, ...]:
    """Map ``("mon", "wed")`` to ``(0, 2)``; names are validated by the knowledge base."""
    return tuple(sorted({WEEKDAYS.index(n) for n in names}))
