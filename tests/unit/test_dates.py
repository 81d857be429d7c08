from datetime import date

import pytest

from b12.core.dates import add_months, next_weekday_on_or_after, weekday_indexes


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2026, 3, 31), 2, date(2026, 5, 31)),
        (date(2026, 3, 31), 3, date(2026, 6, 30)),
        (date(2026, 11, 15), 3, date(2027, 2, 15)),
        (date(2026, 12, 31), 12, date(2027, 12, 31)),
        (date(2026, 5, 10), 0, date(2026, 5, 10)),
    ],
)
def test_add_months_clamps_to_month_end_when_day_missing(
    start: date, months: int, expected: date
) -> None:
    assert add_months(start, months) == expected


def test_next_weekday_on_or_after_returns_same_day_when_it_is_a_clinic_day() -> None:
    monday = date(2026, 3, 2)
    assert next_weekday_on_or_after(monday, weekday_indexes(("mon", "wed", "fri"))) == monday


def test_next_weekday_on_or_after_skips_to_next_clinic_day_when_started_on_tuesday() -> None:
    assert next_weekday_on_or_after(date(2026, 3, 3), (0, 2, 4)) == date(2026, 3, 4)


def test_next_weekday_on_or_after_rejects_empty_weekdays() -> None:
    with pytest.raises(ValueError, match="empty"):
        next_weekday_on_or_after(date(2026, 3, 3), ())
