"""CSV for spreadsheets: the one writer of every CSV b12 produces (CLI and web).

A spreadsheet program runs a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return as a formula (CSV formula injection).  Every text cell starting with one of them
is written with a leading apostrophe, which spreadsheets show as text; ids are text too, so an
id like ``-1+1`` is defused as well.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

#: Spreadsheet programs run a cell that starts with one of these as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """``value``, with a leading apostrophe when it is text a spreadsheet would run."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_text(columns: Sequence[str], records: Iterable[Mapping[str, Any]]) -> str:
    """A header row and one row per record; every text cell is defused with :func:`safe_cell`."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns))
    writer.writeheader()
    for record in records:
        writer.writerow({k: safe_cell(v) for k, v in record.items()})
    return out.getvalue()
