"""Registry commands with hostile values, on SQLite and PostgreSQL.

Values are checked before the database sees them, with the API's limits, so both backends give
the same answer: exit 2 naming the option typed (``--name``, ``--date``), nothing written, a
short message.  Also: ids with NUL characters are unknown patients (exit 4, not "database
unavailable"), control characters never reach the terminal, the recall CSV is defused, every
read or export writes one audit row, a reused idempotency key with another dose is a conflict
(exit 6), ``--as-of`` on ``dose record`` and ``event record``, and account recovery.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner, Result

import b12.entrypoints.cli as cli
from b12.adapters.knowledge_files import load_knowledge_base
from b12.adapters.sql.accounts import Accounts
from b12.adapters.sql.registry import Registry
from b12.adapters.sql.tables import audit, patients
from b12.core.knowledge import KnowledgeBase
from tests.registry.conftest import UK_PA, table_counts

ENROLLED = "2025-06-02"  # a Monday; the picture's age (68) is on this day
USER = "nurse.values"


@pytest.fixture
def url(db_url: str, monkeypatch: pytest.MonkeyPatch, kb: KnowledgeBase) -> str:
    """``B12_DATABASE_URL`` on each backend; the CLI reuses the session's knowledge base."""
    monkeypatch.setenv("B12_DATABASE_URL", db_url)
    monkeypatch.setenv("B12_USER", USER)

    def cached(folder: Path | None = None) -> KnowledgeBase:
        return kb if folder is None else load_knowledge_base(folder)

    monkeypatch.setattr(cli, "load_knowledge_base", cached)
    return db_url


@pytest.fixture
def registry(url: str, kb: KnowledgeBase) -> Iterator[Registry]:
    """The registry the CLI writes to, with P-001 enrolled through the CLI."""
    b12("db", "upgrade")
    reg = Registry(url, kb)
    try:
        yield reg
    finally:
        reg.engine.dispose()


def b12(*args: str, code: int = 0, stdin: str | None = None) -> Result:
    """Run ``b12 ARGS``; check the exit code and that nothing crashed."""
    result = CliRunner().invoke(cli.app, list(args), input=stdin)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert result.exit_code == code, (result.exit_code, result.output[-600:])
    return result


def _picture(tmp_path: Path, doc: dict[str, Any], name: str = "picture.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return str(path)


def _enrol(tmp_path: Path, patient_id: str = "P-001", *extra: str, code: int = 0) -> Result:
    pic = _picture(tmp_path, {**UK_PA, "as_of": ENROLLED}, f"{patient_id}.json")
    return b12("patient", "add", "--id", patient_id, "--picture", pic, *extra, code=code)


DOSE = {
    "--patient": "P-001",
    "--date": ENROLLED,
    "--drug": "hydroxocobalamin",
    "--dose": "1mg",
    "--route": "im",
}


def _dose(code: int = 0, as_json: str = "", **changes: str) -> Result:
    """``b12 dose record`` with DOSE changed by ``changes``; ``as_json="yes"`` adds --json."""
    options = {**DOSE, **{f"--{k.replace('_', '-')}": v for k, v in changes.items()}}
    flags = ["--json"] if as_json else []
    return b12("dose", "record", *[x for pair in options.items() for x in pair], *flags, code=code)


def _one_error(result: Result, option: str) -> str:
    line: str = result.stderr.strip()
    assert "\n" not in line, line
    assert line.startswith(f"error: {option}: "), line
    assert len(line) < 300, "the error must not echo the input back"
    assert result.stdout == ""
    return line


# -- lengths and control characters ----------------------------------------------------------

LONG_VALUES = [
    pytest.param("--name", "n" * 100_000, "at most 200 characters", id="name-100k"),
    pytest.param("--name", "x" * 201, "at most 200 characters", id="name-201"),
    pytest.param("--name", "Ann\x1b]0;pwned\x07", "control characters", id="name-escape"),
    pytest.param("--name", "Ann\x00Smith", "control characters", id="name-nul"),
]


@pytest.mark.parametrize(("option", "value", "message"), LONG_VALUES)
def test_bad_names_exit_2_before_the_database(
    registry: Registry, tmp_path: Path, option: str, value: str, message: str
) -> None:
    before = table_counts(registry)
    line = _one_error(_enrol(tmp_path, "P-001", option, value, code=2), option)
    assert message in line
    assert table_counts(registry) == before


DOSE_VALUES = [
    pytest.param({"batch": "B" * 101}, "--batch", id="batch-101"),
    pytest.param({"key": "k" * 201}, "--key", id="key-201"),
    pytest.param({"key": "visit\x00one"}, "--key", id="key-nul"),
    pytest.param({"override_reason": "r" * 2001}, "--override-reason", id="reason-2001"),
    pytest.param({"drug": "d" * 100_000}, "--drug", id="drug-100k"),
    pytest.param({"dose": "1" * 100_000 + "mg"}, "--dose", id="dose-100k"),
    pytest.param({"batch": "B1\x1b[2J"}, "--batch", id="batch-escape"),
]


@pytest.mark.parametrize(("change", "option"), DOSE_VALUES)
def test_bad_dose_values_exit_2_before_the_database(
    registry: Registry, tmp_path: Path, change: dict[str, str], option: str
) -> None:
    _enrol(tmp_path)
    before = table_counts(registry)
    _one_error(_dose(code=2, **change), option)
    assert table_counts(registry) == before


@pytest.mark.parametrize(
    "args",
    [
        ["patient", "show", "P\x00001"],
        ["dose", "record", *[x for p in {**DOSE, "--patient": "P\x00"}.items() for x in p]],
        ["event", "record", "--patient", "P-0\x0001", "--date", ENROLLED, "--kind", "stable"],
        ["patient", "show", "P" * 100_000],
    ],
    ids=["show", "dose", "event", "long-id"],
)
def test_an_id_with_a_nul_or_too_long_is_bad_input_on_every_backend(
    registry: Registry, tmp_path: Path, args: list[str]
) -> None:
    _enrol(tmp_path)
    before = table_counts(registry)
    result = b12(*args, code=2)
    assert result.stderr.startswith(("error: ID: expected 1 to 64", "error: --patient: expected"))
    assert len(result.stderr) < 300
    assert table_counts(registry) == before


def test_control_characters_already_stored_are_escaped_on_the_terminal(
    registry: Registry, tmp_path: Path
) -> None:
    """A name stored before the input check (or by another tool) cannot drive the terminal."""
    _enrol(tmp_path)
    with registry.engine.begin() as conn:
        conn.execute(update(patients).values(display_name="Ann\x1b]0;pwned\x07 [bold]x[/bold]"))
    for args in (
        ["patient", "list"],
        ["recall", "--as-of", ENROLLED],
        ["patient", "show", "P-001"],
    ):
        out = b12(*args).stdout
        assert "\x1b" not in out, args
        assert "\x07" not in out, args
        assert "Ann" in out, args


# -- dates -----------------------------------------------------------------------------------

BAD_DATES = [
    pytest.param(["--date", "2025-W23-1"], "--date", id="week-date"),
    pytest.param(["--date", "20250602"], "--date", id="basic-format"),
    pytest.param(["--date", "2025-6-2"], "--date", id="short"),
    pytest.param(["--date", "9" * 1_000_000], "--date", id="megabyte"),
    pytest.param(["--as-of", "2025-W23-1"], "--as-of", id="as-of-week-date"),
]


@pytest.mark.parametrize(("change", "option"), BAD_DATES)
def test_only_yyyy_mm_dd_dates_are_accepted(
    registry: Registry, tmp_path: Path, change: list[str], option: str
) -> None:
    _enrol(tmp_path)
    before = table_counts(registry)
    _one_error(_dose(code=2, **{change[0][2:].replace("-", "_"): change[1]}), option)
    assert table_counts(registry) == before


@pytest.mark.parametrize(
    ("dob", "message"),
    [
        ("2150-01-01", "in the future"),
        ("2999-01-01", "between 1900-01-01"),
        ("1899-12-31", "between 1900-01-01"),
        ("2000-01-01", "the picture's age is 68"),
        ("1957-06-03", "the picture's age is 68"),  # 67 on the enrolment day
        ("1957-W23-1", "YYYY-MM-DD"),
    ],
)
def test_a_date_of_birth_in_the_future_before_1900_or_against_the_age_is_refused(
    registry: Registry, tmp_path: Path, dob: str, message: str
) -> None:
    line = _one_error(_enrol(tmp_path, "P-001", "--dob", dob, code=2), "--dob")
    assert message in line
    assert table_counts(registry)["patients"] == 0


def test_a_date_of_birth_matching_the_age_is_accepted(registry: Registry, tmp_path: Path) -> None:
    _enrol(tmp_path, "P-001", "--dob", "1957-06-02")  # 68 on 2 June 2025
    shown = json.loads(b12("patient", "show", "P-001", "--json", "--as-of", ENROLLED).stdout)
    assert shown["patient"]["date_of_birth"] == "1957-06-02"


def test_a_picture_with_a_week_date_names_as_of(registry: Registry, tmp_path: Path) -> None:
    pic = _picture(tmp_path, {**UK_PA, "as_of": "2025-W23-1"})
    result = b12("patient", "add", "--id", "P-001", "--picture", pic, code=2)
    assert "error: as_of: expected a date as YYYY-MM-DD" in result.stderr


# -- CSV -------------------------------------------------------------------------------------

FORMULAS = {
    "P-001": '=HYPERLINK("https://evil.example","click")',
    "P-002": "+cmd|' /C calc'!A0",
    "P-003": "@SUM(1+1)*cmd|' /C calc'!A0",
    "-2.5": "-2+3",
}


def test_the_recall_csv_defuses_formulas_in_names_and_ids(
    registry: Registry, tmp_path: Path
) -> None:
    for patient_id, name in FORMULAS.items():
        _enrol(tmp_path, patient_id, "--name", name)
    out = tmp_path / "recall.csv"
    b12("recall", "--as-of", ENROLLED, "--csv", str(out))
    with out.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(FORMULAS)
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value
    names = {row["patient_id"]: row["display_name"] for row in rows}
    assert names["'-2.5"] == "'-2+3"
    assert names["P-001"] == "'" + FORMULAS["P-001"]


# -- audit -----------------------------------------------------------------------------------


def _views(registry: Registry) -> list[dict[str, Any]]:
    with registry.engine.connect() as conn:
        rows = conn.execute(select(audit).where(audit.c.action == "view").order_by(audit.c.id))
        return [dict(r) for r in rows.mappings()]


def test_every_read_and_export_writes_one_audit_row(registry: Registry, tmp_path: Path) -> None:
    for patient_id in ("P-001", "P-002", "P-003"):
        _enrol(tmp_path, patient_id)
    reads = [
        ["patient", "show", "P-001"],
        ["patient", "show", "P-002", "--json"],
        ["patient", "list"],
        ["patient", "list", "--json"],
        ["recall", "--as-of", ENROLLED],
        ["recall", "--as-of", ENROLLED, "--json"],
        ["recall", "--as-of", ENROLLED, "--csv", str(tmp_path / "r.csv")],
    ]
    for number, args in enumerate(reads, start=1):
        b12(*args)
        assert len(_views(registry)) == number, args  # one row per read, not one per patient
    views = _views(registry)
    assert {v["actor"] for v in views} == {USER}
    assert [(v["table_name"], v["record_id"]) for v in views] == [
        ("patient", "P-001"),
        ("patient", "P-002"),
        ("patients", "list"),
        ("patients", "list"),
        ("recall", "list"),
        ("recall", "list"),
        ("recall", "csv"),
    ]
    assert views[-1]["detail"]["rows"] == 3


def test_a_refused_dose_is_audited(registry: Registry, tmp_path: Path) -> None:
    _enrol(tmp_path)
    result = _dose(code=3, dose="1000mg")
    assert result.stderr.startswith("refused: ")
    with registry.engine.connect() as conn:
        rows = conn.execute(select(audit).where(audit.c.action == "refuse_dose")).mappings()
        (row,) = list(rows)
    assert (row["actor"], row["record_id"]) == (USER, "P-001")


# -- idempotency -----------------------------------------------------------------------------


def test_a_key_reused_for_another_dose_is_a_conflict(registry: Registry, tmp_path: Path) -> None:
    _enrol(tmp_path)
    first = json.loads(_dose(key="visit-1", site="deltoid", as_json="yes").stdout)
    before = table_counts(registry)

    conflict = _dose(code=6, key="visit-1", date="2025-06-03", site="deltoid")

    assert conflict.stdout == ""
    lines = conflict.stderr.splitlines()
    assert lines[0].startswith("conflict: idempotency key 'visit-1' already recorded dose")
    assert lines[1].strip().startswith("recorded: dose_id ")
    assert "date 2025-06-02" in lines[1]
    assert lines[2].strip().startswith("this one: date 2025-06-03")
    assert table_counts(registry) == before
    again = json.loads(_dose(key="visit-1", site="deltoid", as_json="yes").stdout)
    assert (again["dose_id"], again["duplicate"]) == (first["dose_id"], True)
    for change in (
        {"dose": "2mg"},
        {"route": "deep_sc"},
        {"batch": "B-2"},
        {"site": "ventrogluteal"},
    ):
        _dose(code=6, key="visit-1", **{"site": "deltoid", **change})
    assert table_counts(registry) == before


# -- --as-of and db upgrade ------------------------------------------------------------------


def test_dose_and_event_report_their_follow_up_as_of_the_same_day(
    registry: Registry, tmp_path: Path
) -> None:
    _enrol(tmp_path)
    day = "2025-06-20"
    dose = json.loads(_dose(as_of=day, as_json="yes").stdout)
    event = json.loads(
        b12(
            "event", "record", "--patient", "P-001", "--date", "2025-06-03",
            "--kind", "stable", "--as-of", day, "--json",
        ).stdout
    )  # fmt: skip
    assert dose["as_of"] == day
    assert dose["follow_up"]["as_of"] == day
    assert event["as_of"] == day
    assert f"follow-up as of {day}" in _dose(date="2025-06-04", as_of=day).stdout
    text = b12(
        "event", "record", "--patient", "P-001", "--date", "2025-06-04",
        "--kind", "stable", "--as-of", day,
    ).stdout  # fmt: skip
    assert f"follow-up as of {day}" in text


def test_db_upgrade_says_what_it_created_then_that_it_is_up_to_date(url: str) -> None:
    created = b12("db", "upgrade").stdout
    assert created.startswith("created a new registry at ")
    assert "schema revision" in created
    assert "patients" in created
    assert "courses" in created
    assert "up to date" in b12("db", "upgrade").stdout


# -- account recovery ------------------------------------------------------------------------


def test_set_password_disable_and_enable(registry: Registry) -> None:
    old, new = "an old long passphrase 1", "a brand new passphrase 22"
    b12("user", "add", "--username", "admin.a", "--role", "admin", "--password-stdin", stdin=old)
    accounts = Accounts(registry.engine)
    now = registry_now()

    b12("user", "set-password", "admin.a", "--password-stdin", stdin=new + "\n")
    assert accounts.authenticate("admin.a", new, client="t", now=now) is not None
    assert accounts.authenticate("admin.a", old, client="t2", now=now) is None

    b12("user", "disable", "admin.a")
    assert accounts.authenticate("admin.a", new, client="t3", now=now) is None
    b12("user", "enable", "admin.a")
    assert accounts.authenticate("admin.a", new, client="t4", now=now) is not None

    weak = b12("user", "set-password", "admin.a", "--password-stdin", stdin="short\n", code=2)
    assert weak.stderr.startswith("error: password: ")
    for args in (["set-password", "nobody"], ["disable", "nobody"], ["enable", "nobody"]):
        b12("user", *args, code=4, stdin=new + "\n")


def registry_now() -> Any:
    from datetime import datetime

    return datetime(2026, 3, 2, 9, 0)  # noqa: DTZ001 - naive local time, as the app stores it


# -- hostile picture files -------------------------------------------------------------------

HOSTILE_PICTURES = {
    "nested.json": '{"age": 60, "labs": ' + "[" * 3000 + "]" * 3000 + "}",
    "huge.json": '{"age": ' + "9" * 5000 + "}",
    "bomb.yaml": "\n".join(
        ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
        + [
            f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]"
            for i in range(8)
        ]
    ),
    "big.json": '{"age": 60, "x": "' + "x" * 1_000_001 + '"}',
}


@pytest.mark.parametrize("name", sorted(HOSTILE_PICTURES))
@pytest.mark.parametrize("command", ["add", "update"])
def test_hostile_picture_files_exit_2_and_write_nothing(
    registry: Registry, tmp_path: Path, name: str, command: str
) -> None:
    _enrol(tmp_path)
    before = table_counts(registry)
    path = tmp_path / name
    path.write_text(HOSTILE_PICTURES[name], encoding="utf-8")
    patient = "P-002" if command == "add" else "P-001"
    result = b12("patient", command, "--id", patient, "--picture", str(path), code=2)
    assert result.stderr.startswith("error: input: "), result.stderr[:200]
    assert len(result.stderr) < 300
    assert table_counts(registry) == before
