"""``csv_text_rows`` (the fast writer of the streamed recall CSV) writes exactly what the one
CSV writer, ``csv_chunks``, writes for the same text cells: defused, quoted, byte for byte."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from b12.adapters.spreadsheet import FORMULA_START, csv_chunks, csv_text_rows

HOSTILE = [
    "",
    "plain",
    "a, b",
    'say "hi"',
    "two\nlines",
    "cr\rinside",
    "crlf\r\nend",
    '=HYPERLINK("http://x")',
    "+cmd|' /C calc'!A0",
    "-1+1",
    "@SUM(A1)",
    "\tTAB",
    "\rCR",
    "'already",
    "Zoë Ødegård-Ñúñez",
    "李小龍, 北京",
    'emoji 🙂 "quoted"',
    " leading space",
    "trailing space ",
    ",",
    '"',
    "\n",
]

# Text a database can hold (no NUL), weighted towards what CSV and spreadsheets treat specially.
SPECIAL = st.sampled_from([*FORMULA_START, ",", '"', "\n", "\r", "'", " ", "é", "🙂", "x"])
CELL = st.lists(
    st.one_of(SPECIAL, st.characters(exclude_categories=["Cs"], exclude_characters="\x00")),
    max_size=8,
).map("".join)


def _reference(rows: list[list[str]]) -> str:
    chunks = list(csv_chunks([f"c{i}" for i in range(len(rows[0]) if rows else 1)], rows))
    return "".join(chunks[1:])  # without the header


def test_hostile_cells_in_every_position_are_written_as_the_csv_writer_writes_them() -> None:
    rows = [[HOSTILE[(i + j) % len(HOSTILE)] for j in range(10)] for i in range(len(HOSTILE))]
    assert csv_text_rows(rows) == _reference(rows)
    for row in rows:  # a batch with one awkward row among clean ones
        batch = [["P1", "Ann", "2026-09-01"], row[:3], ["P3", "Bob", "0"]]
        assert csv_text_rows(batch) == _reference(batch)


def test_a_clean_batch_is_the_cells_joined_with_commas() -> None:
    rows = [
        ["P1", "Ann Smith", "uk-im-no-neuro", "2026-09-01", "0", "due"],
        ["P2", "", "", "", "", ""],
    ]
    assert csv_text_rows(rows) == "P1,Ann Smith,uk-im-no-neuro,2026-09-01,0,due\r\nP2,,,,,\r\n"
    assert csv_text_rows(rows) == _reference(rows)
    assert csv_text_rows([]) == ""


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(CELL, min_size=3, max_size=3), min_size=1, max_size=6))
def test_any_text_cells_are_written_as_the_csv_writer_writes_them(rows: list[list[str]]) -> None:
    assert csv_text_rows(rows) == _reference(rows)


TAIL_CELLS = st.lists(
    st.sampled_from(["2026-09-01", "0999-12-31", "0", "365", "overdue", "due", ""]),
    min_size=3,
    max_size=3,
)


def test_a_tail_of_clean_cells_joined_in_one_is_written_as_the_cells_themselves() -> None:
    for row in [[h, h, "2026-09-01", "12", "due"] for h in HOSTILE]:
        joined = [*row[:2], ",".join(row[2:])]
        assert csv_text_rows([joined], tail=3) == _reference([row])
    clean = [["P1", "Ann", "2026-09-01,0,due"], ["P2", "", "2026-09-02,3,overdue"]]
    assert csv_text_rows(clean, tail=3) == "P1,Ann,2026-09-01,0,due\r\nP2,,2026-09-02,3,overdue\r\n"


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.lists(CELL, min_size=2, max_size=2), TAIL_CELLS), min_size=1, max_size=6)
)
def test_any_cells_before_a_clean_tail_are_written_as_the_csv_writer_writes_them(
    rows: list[tuple[list[str], list[str]]],
) -> None:
    joined = [[*head, ",".join(tail)] for head, tail in rows]
    assert csv_text_rows(joined, tail=3) == _reference([[*head, *tail] for head, tail in rows])
