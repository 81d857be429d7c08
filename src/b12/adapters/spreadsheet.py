"""CSV for spreadsheets: the one writer of every CSV b12 produces (CLI and web).

A spreadsheet program runs a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return as a formula (CSV formula injection).  Every text cell starting with one of them
is written with a leading apostrophe, which spreadsheets show as text; ids are text too, so an
id like ``-1+1`` is defused as well.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

#: Spreadsheet programs run a cell that starts with one of these as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """``value``, with a leading apostrophe when it is text a spreadsheet would run."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


#: Rows written into one chunk of a streamed CSV.
CHUNK_ROWS = 2000


def csv_chunks(
    columns: Sequence[str], rows: Iterable[Sequence[Any]], *, chunk_rows: int = CHUNK_ROWS
) -> Iterator[str]:
    """A header row, then the rows, as CSV text in chunks of ``chunk_rows`` rows (for a streamed
    download of any length); every text cell is defused with :func:`safe_cell`."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    yield out.getvalue()  # the header leaves at once: a download starts before the first row
    out.seek(0)
    out.truncate()
    write = writer.writerow
    for n, row in enumerate(rows, start=1):
        write([safe_cell(v) for v in row])
        if n % chunk_rows == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


def csv_text(columns: Sequence[str], records: Iterable[Mapping[str, Any]]) -> str:
    """A header row and one row per record (missing keys empty), every text cell defused."""
    return "".join(csv_chunks(columns, ([r.get(c) for c in columns] for r in records)))
