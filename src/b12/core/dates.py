"""Calendar arithmetic used by scheduling (PRODUCT.md §5).

Months are calendar months with day clamping: 31 Jan + 1 month = 28 Feb (29 in a leap year).
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

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
