"""CSV for spreadsheets: the one writer of every CSV b12 produces (CLI and web).

A spreadsheet program runs a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return as a formula (CSV formula injection).  Every text cell starting with one of them
is written with a leading apostrophe, which spreadsheets show as text; ids are text too, so an
id like ``-1+1`` is defused as well.

:func:`csv_chunks` writes any cells with :mod:`csv` (``excel`` dialect: ``,``, ``"`` doubled,
quoted only when needed, ``\\r\\n``).  :func:`csv_text_rows` writes the same bytes for rows whose
cells are all text, a batch at a time: most cells need nothing but the commas between them,
which one regular-expression search and one count of commas over the whole batch show; only a
batch holding a cell that must be defused or quoted is written row by row, and only its rows
that need it go through the :mod:`csv` writer.  It is what keeps a million-row download from
costing seconds of Python.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import chain
from typing import Any

#: Spreadsheet programs run a cell that starts with one of these as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

#: The dialect every b12 CSV is written in (what ``csv.writer`` uses by default).
DIALECT = csv.excel

#: Characters that make the ``csv`` writer quote a cell (``QUOTE_MINIMAL``): the delimiter, the
#: quote character and the characters of the line terminator.
QUOTED_WHEN = frozenset((DIALECT.delimiter, DIALECT.quotechar or "", *DIALECT.lineterminator))

#: A cell (each preceded by NUL, which no database text holds) that starts like a formula or
#: holds a quote or a line break; commas are counted instead (see :func:`csv_text_rows`).
_NEEDS_CARE = re.compile(
    "\x00["
    + "".join(map(re.escape, FORMULA_START))
    + "]|["
    + "".join(map(re.escape, sorted(QUOTED_WHEN - {DIALECT.delimiter})))
    + "]"
)


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
    writer = csv.writer(out, DIALECT)
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


def csv_header(columns: Sequence[str]) -> str:
    """The header line :func:`csv_chunks` starts with."""
    return next(csv_chunks(columns, ()))


def csv_text_rows(rows: Sequence[Sequence[str]], *, tail: int = 1) -> str:
    """Rows whose cells are all text (``str``, never ``None``: pass ``""``) as CSV, byte for byte
    what :func:`csv_chunks` writes for the same cells (without the header), cells defused.

    With ``tail`` > 1 the last cell of each row holds the row's last ``tail`` cells already
    joined with commas, none of them holding a comma, quote or line break or starting like a
    formula (ISO dates, counts, fixed words): fewer cells to fetch and join.

    Fast for a batch of clean rows (one search and one count over the batch, then joins in C);
    exact for the rest, which go through the same :mod:`csv` writer and :func:`safe_cell` as
    :func:`csv_chunks`."""
    if not rows:
        return ""
    end = DIALECT.lineterminator
    comma = DIALECT.delimiter
    flat = "\x00" + "\x00".join(chain.from_iterable(rows))
    if flat.count(comma) == (tail - 1) * len(rows) and _NEEDS_CARE.search(flat) is None:
        return end.join(map(comma.join, rows)) + end
    out = io.StringIO()
    write = csv.writer(out, DIALECT).writerow
    for row in rows:
        flat = "\x00" + "\x00".join(row)
        if flat.count(comma) == tail - 1 and _NEEDS_CARE.search(flat) is None:
            out.write(comma.join(row) + end)
        else:
            cells = [*row[:-1], *row[-1].split(comma)] if tail > 1 else row
            write([safe_cell(v) for v in cells])
    return out.getvalue()


def csv_text(columns: Sequence[str], records: Iterable[Mapping[str, Any]]) -> str:
    """A header row and one row per record (missing keys empty), every text cell defused."""
    return "".join(csv_chunks(columns, ([r.get(c) for c in columns] for r in records)))
