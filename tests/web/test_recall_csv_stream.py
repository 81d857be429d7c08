"""The streamed recall CSV writes exactly what the row-by-row ``as_dict`` CSV wrote."""

from __future__ import annotations

import csv
import io
from datetime import date

from b12.adapters.spreadsheet import FORMULA_START
from b12.adapters.sql.registry import RecallRow, recall_csv_chunks


def _reference(rows: list[RecallRow]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(RecallRow.__dataclass_fields__))
    writer.writeheader()
    for row in rows:
        record = row.as_dict()
        for key, value in record.items():
            if isinstance(value, str) and value.startswith(FORMULA_START):
                record[key] = "'" + value
        writer.writerow(record)
    return out.getvalue()


def _rows(n: int) -> list[RecallRow]:
    names = [None, "Ann O'Neil", '=HYPERLINK("x")', "+cmd|x", "a, b", 'say "hi"', "-1", "@SUM(1)"]
    return [
        RecallRow(
            f"P-{i}" if i % 7 else f"-{i}",
            names[i % len(names)],
            "uk-im-no-neuro",
            None if i % 3 == 0 else "UK-HYDROXO-STANDARD",
            None if i % 4 == 0 else "maintenance",
            date(2026, 3, 1 + i % 27),
            date(2026, 3, 1 + i % 27),
            date(2026, 3, 2 + i % 27),
            i % 5,
            ("overdue", "due", "upcoming")[i % 3],
        )
        for i in range(n)
    ]


def test_the_streamed_csv_equals_the_reference_across_chunks() -> None:
    rows = _rows(20)
    chunks = list(recall_csv_chunks(rows, chunk_rows=3))
    assert chunks[0] == _reference([])  # the header leaves first
    assert len(chunks) > 5
    assert "".join(chunks) == _reference(rows)


def test_an_empty_list_is_the_header_alone() -> None:
    assert "".join(recall_csv_chunks([])) == _reference([])
