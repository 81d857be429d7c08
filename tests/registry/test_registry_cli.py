"""The registry commands of the ``b12`` CLI on a temporary SQLite file.

The CLI stamps each write with the wall clock, so every date here is safely in the past, and the
assertions never depend on what today is.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

import b12.entrypoints.cli as cli
from b12.adapters.knowledge_files import load_knowledge_base
from b12.adapters.sql.registry import Registry
from b12.adapters.sql.tables import audit
from b12.core.knowledge import KnowledgeBase
from tests.registry.conftest import UK_ORAL_DIETARY, UK_PA, table_counts

ENROLLED = "2025-06-02"  # a Monday
LOADING = ["2025-06-02", "2025-06-04", "2025-06-06"]
USER = "nurse.cli"


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kb: KnowledgeBase) -> Path:
    """A fresh registry file named by B12_DATABASE_URL; the CLI reuses the session's KB."""
    path = tmp_path / "practice" / "registry.sqlite3"
    monkeypatch.setenv("B12_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("B12_USER", USER)

    def cached(folder: Path | None = None) -> KnowledgeBase:
        return kb if folder is None else load_knowledge_base(folder)

    monkeypatch.setattr(cli, "load_knowledge_base", cached)
    return path


def b12(*args: str, code: int = 0) -> Result:
    """Run ``b12 ARGS``; check the exit code and that nothing crashed."""
    result = CliRunner().invoke(cli.app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert result.exit_code == code, (result.exit_code, result.output)
    return result


def _picture(tmp_path: Path, doc: Any, name: str = "picture.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return str(path)


def _registry(db: Path, kb: KnowledgeBase) -> Registry:
    return Registry(f"sqlite:///{db}", kb)


def _dose(day: str, *extra: str, patient: str = "P-001", code: int = 0) -> Result:
    return b12(
        "dose",
        "record",
        "--patient",
        patient,
        "--date",
        day,
        "--drug",
        "hydroxocobalamin",
        "--dose",
        "1mg",
        "--route",
        "im",
        *extra,
        code=code,
    )


@pytest.fixture
def enrolled(db: Path, tmp_path: Path) -> Path:
    """P-001 (Ann, UK pernicious anaemia) enrolled on 2 June 2025."""
    b12("db", "upgrade")
    pic = _picture(tmp_path, {**UK_PA, "as_of": ENROLLED})
    result = b12("patient", "add", "--id", "P-001", "--picture", pic, "--name", "Ann")
    assert "enrolled P-001" in result.stdout
    return db


def test_db_upgrade_creates_the_registry_file(db: Path) -> None:
    assert not db.exists()

    result = b12("db", "upgrade")

    assert db.is_file()
    assert "created a new registry" in result.stdout
    assert "patients" in result.stdout
    again = b12("db", "upgrade")  # again: nothing to do
    assert "registry schema up to date" in again.stdout


def test_patient_add_show_and_list(enrolled: Path, tmp_path: Path, kb: KnowledgeBase) -> None:
    oral = _picture(tmp_path, {**UK_ORAL_DIETARY, "as_of": ENROLLED}, "oral.json")
    added = b12("patient", "add", "--id", "P-002", "--picture", oral, "--json")
    assert json.loads(added.stdout) == {
        "id": "P-002",
        "pathway": "uk-oral-dietary",
        "status": "plan",
    }

    shown = json.loads(b12("patient", "show", "P-001", "--json", "--as-of", ENROLLED).stdout)
    assert shown["patient"]["id"] == "P-001"
    assert shown["patient"]["display_name"] == "Ann"
    assert shown["course"]["pathway"] == "uk-im-no-neuro"
    assert shown["course"]["next_due"] == ENROLLED
    assert shown["picture"]["cause"] == "pernicious_anaemia"
    assert shown["doses"] == []
    assert shown["follow_up"]["as_of"] == ENROLLED
    assert shown["follow_up"]["next_due"]["date"] == ENROLLED

    report = b12("patient", "show", "P-001", "--as-of", ENROLLED).stdout
    assert "P-001 (Ann), guideline uk, 0 doses, 0 events" in report

    listed = json.loads(b12("patient", "list", "--json").stdout)
    assert [(p["id"], p["pathway"], p["next_due"]) for p in listed] == [
        ("P-001", "uk-im-no-neuro", ENROLLED),
        ("P-002", "uk-oral-dietary", None),
    ]
    table = b12("patient", "list").stdout
    assert "P-001" in table
    assert "P-002" in table
    audit_actors = {r["actor"] for r in _audit(enrolled, kb)}
    assert audit_actors == {USER}


def _audit(db: Path, kb: KnowledgeBase) -> list[dict[str, Any]]:
    registry = _registry(db, kb)
    try:
        with registry.engine.connect() as conn:
            return [dict(r) for r in conn.execute(select(audit)).mappings()]
    finally:
        registry.engine.dispose()


def test_dose_record_with_every_option_then_the_same_key_again(
    enrolled: Path, kb: KnowledgeBase
) -> None:
    first = _dose(LOADING[0], "--site", "deltoid", "--batch", "B-1", "--key", "visit-1", "--json")
    outcome = json.loads(first.stdout)
    assert outcome["duplicate"] is False
    assert outcome["check"]["verdict"] == "warn"
    assert outcome["follow_up"]["next_due"]["date"] == LOADING[1]

    same = ("--site", "deltoid", "--batch", "B-1", "--key", "visit-1")
    again = json.loads(_dose(LOADING[0], *same, "--json").stdout)
    assert again["dose_id"] == outcome["dose_id"]
    assert again["duplicate"] is True
    assert again["check"] is None
    assert again["follow_up"] == outcome["follow_up"]
    assert "already recorded" in _dose(LOADING[0], *same).stdout

    report = _dose(LOADING[1]).stdout
    assert "recorded dose" in report
    assert "b12 order check" in report

    shown = json.loads(b12("patient", "show", "P-001", "--json", "--as-of", LOADING[1]).stdout)
    assert [d["date"] for d in shown["doses"]] == LOADING[:2]
    assert shown["doses"][0]["site"] == "deltoid"
    assert shown["course"]["next_due"] == LOADING[2]
    registry = _registry(enrolled, kb)
    try:
        assert table_counts(registry)["doses"] == 2
    finally:
        registry.engine.dispose()


def test_a_stop_is_refused_with_exit_3_unless_overridden(enrolled: Path, kb: KnowledgeBase) -> None:
    refused = b12(
        "dose", "record", "--patient", "P-001", "--date", LOADING[0],
        "--drug", "hydroxocobalamin", "--dose", "1000mg", "--route", "im",
        code=3,
    )  # fmt: skip
    assert "DOSE_UNIT_IMPLAUSIBLE" in refused.stderr
    assert refused.stdout == ""

    overridden = b12(
        "dose", "record", "--patient", "P-001", "--date", LOADING[0],
        "--drug", "hydroxocobalamin", "--dose", "1000mg", "--route", "im",
        "--override-reason", "checked with the prescriber", "--json",
    )  # fmt: skip
    assert json.loads(overridden.stdout)["check"]["verdict"] == "stop"
    actions = [(r["action"], r["detail"]) for r in _audit(enrolled, kb)]
    assert actions[-1] == (
        "record_dose",
        {"verdict": "stop", "override_reason": "checked with the prescriber"},
    )


def test_event_record_changes_the_follow_up(enrolled: Path) -> None:
    for day in LOADING:
        _dose(day)

    result = b12(
        "event", "record", "--patient", "P-001", "--date", LOADING[-1],
        "--kind", "stable", "--json",
    )  # fmt: skip

    follow = json.loads(result.stdout)
    assert follow["advice"]
    assert follow["pathway"]["id"] == "uk-im-no-neuro"
    shown = json.loads(b12("patient", "show", "P-001", "--json", "--as-of", LOADING[-1]).stdout)
    assert shown["events"] == [{"date": LOADING[-1], "kind": "stable"}]
    report = b12(
        "event", "record", "--patient", "P-001", "--date", LOADING[-1], "--kind", "stable"
    ).stdout
    assert "b12 follow-up" in report


def test_recall_json_and_csv(enrolled: Path, tmp_path: Path) -> None:
    later = _picture(tmp_path, {**UK_PA, "as_of": ENROLLED, "start": "2025-06-20"}, "later.json")
    b12("patient", "add", "--id", "P-002", "--picture", later)
    oral = _picture(tmp_path, {**UK_ORAL_DIETARY, "as_of": ENROLLED}, "oral.json")
    b12("patient", "add", "--id", "P-003", "--picture", oral)
    out = tmp_path / "recall.csv"

    result = b12("recall", "--as-of", "2025-06-10", "--within", "14", "--csv", str(out), "--json")

    listing = json.loads(result.stdout)
    assert listing["total"] == 2
    rows = listing["rows"]
    assert [(r["patient_id"], r["overdue_days"], r["status"]) for r in rows] == [
        ("P-001", 8, "overdue"),
        ("P-002", 0, "upcoming"),
    ]
    assert rows[0]["display_name"] == "Ann"
    with out.open(encoding="utf-8", newline="") as fh:
        from_csv = list(csv.DictReader(fh))
    assert [r["patient_id"] for r in from_csv] == ["P-001", "P-002"]
    assert from_csv[0]["next_due"] == ENROLLED
    assert from_csv[0]["overdue_days"] == "8"
    assert list(from_csv[0]) == list(rows[0])

    narrow = json.loads(b12("recall", "--as-of", "2025-06-10", "--within", "0", "--json").stdout)
    assert [r["patient_id"] for r in narrow["rows"]] == ["P-001"]
    first = json.loads(b12("recall", "--as-of", "2025-06-10", "--limit", "1", "--json").stdout)
    assert (first["total"], [r["patient_id"] for r in first["rows"]]) == (2, ["P-001"])
    table = b12("recall", "--as-of", "2025-06-10").stdout
    assert "P-001" in table
    assert "P-003" not in table


def test_recall_with_nobody_due_writes_a_header_only_csv(enrolled: Path, tmp_path: Path) -> None:
    out = tmp_path / "empty.csv"

    result = b12("recall", "--as-of", "2025-01-01", "--csv", str(out), "--json")

    assert json.loads(result.stdout)["rows"] == []
    header = out.read_text(encoding="utf-8").strip()
    assert header.startswith("patient_id,display_name,pathway")


def test_db_backup_then_restore_brings_the_registry_back(
    enrolled: Path, tmp_path: Path, kb: KnowledgeBase
) -> None:
    _dose(LOADING[0])
    backup = tmp_path / "backup.sqlite3"

    assert "backed up" in b12("db", "backup", str(backup)).stdout
    assert backup.is_file()

    oral = _picture(tmp_path, {**UK_ORAL_DIETARY, "as_of": ENROLLED}, "oral.json")
    b12("patient", "add", "--id", "P-002", "--picture", oral)
    _dose(LOADING[1])
    assert len(json.loads(b12("patient", "list", "--json").stdout)) == 2

    assert "restored" in b12("db", "restore", str(backup)).stdout

    listed = json.loads(b12("patient", "list", "--json").stdout)
    assert [p["id"] for p in listed] == ["P-001"]
    shown = json.loads(b12("patient", "show", "P-001", "--json", "--as-of", LOADING[0]).stdout)
    assert [d["date"] for d in shown["doses"]] == [LOADING[0]]
    registry = _registry(enrolled, kb)
    try:
        # enrol and dose (restored), then the list and the show after the restore (reads)
        assert table_counts(registry)["audit"] == 4
    finally:
        registry.engine.dispose()


def test_restore_from_a_missing_file_is_bad_input(enrolled: Path, tmp_path: Path) -> None:
    result = b12("db", "restore", str(tmp_path / "nope.sqlite3"), code=2)
    assert "path" in result.stderr


BAD_DOSES = [
    pytest.param(["--date", "2025-13-01"], "date", id="bad-date"),
    pytest.param(["--date", "2 June"], "date", id="not-iso-date"),
    pytest.param(["--date", "2999-01-01"], "date", id="future-date"),
    pytest.param(["--dose", "1 tablet"], "dose", id="dose-in-tablets"),
    pytest.param(["--dose", "plenty"], "dose", id="dose-not-a-number"),
    pytest.param(["--route", "arm"], "route", id="unknown-route"),
    pytest.param(["--site", "forehead"], "site", id="unknown-site"),
]


@pytest.mark.parametrize(("change", "field"), BAD_DOSES)
def test_bad_dose_input_exits_2_naming_the_field_and_writes_nothing(
    enrolled: Path, kb: KnowledgeBase, change: list[str], field: str
) -> None:
    options = {
        "--patient": "P-001",
        "--date": LOADING[0],
        "--drug": "hydroxocobalamin",
        "--dose": "1mg",
        "--route": "im",
    }
    options.update(dict(zip(change[::2], change[1::2], strict=True)))
    registry = _registry(enrolled, kb)
    before = table_counts(registry)

    result = b12("dose", "record", *[x for pair in options.items() for x in pair], code=2)

    assert result.stderr.startswith(f"error: --{field}: ")
    assert result.stdout == ""
    assert table_counts(registry) == before
    registry.engine.dispose()


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["event", "record", "--patient", "P-001", "--date", "2025-06-02",
                      "--kind", "felt_better"], id="unknown-event-kind"),
        pytest.param(["event", "record", "--patient", "P-001", "--date", "June",
                      "--kind", "stable"], id="event-bad-date"),
        pytest.param(["recall", "--as-of", "yesterday"], id="recall-bad-date"),
        pytest.param(["recall", "--within", "-3"], id="recall-negative-within"),
        pytest.param(["patient", "show", "P-001", "--as-of", "2025-02-30"], id="show-bad-date"),
    ],
)  # fmt: skip
def test_other_bad_input_exits_2(enrolled: Path, args: list[str]) -> None:
    result = b12(*args, code=2)
    assert result.stderr.startswith("error: ")


def test_a_bad_picture_exits_2_and_enrols_nobody(db: Path, tmp_path: Path) -> None:
    b12("db", "upgrade")
    bad = _picture(tmp_path, {**UK_PA, "age": "old", "as_of": ENROLLED})

    b12("patient", "add", "--id", "P-001", "--picture", bad, code=2)
    listed = _picture(tmp_path, [UK_PA], "list.json")  # JSON, but not an object
    b12("patient", "add", "--id", "P-001", "--picture", listed, code=2)
    b12("patient", "add", "--id", "P-001", "--picture", str(tmp_path / "missing.json"), code=2)
    b12("patient", "add", "--id", "", "--picture", _picture(tmp_path, UK_PA, "ok.json"), code=2)

    assert json.loads(b12("patient", "list", "--json").stdout) == []


def test_enrolling_an_id_twice_exits_2(enrolled: Path, tmp_path: Path) -> None:
    pic = _picture(tmp_path, {**UK_PA, "as_of": ENROLLED}, "again.json")
    result = b12("patient", "add", "--id", "P-001", "--picture", pic, code=2)
    assert result.stderr.startswith("error: --id:")


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["patient", "show", "P-404"], id="show"),
        pytest.param(["dose", "record", "--patient", "P-404", "--date", "2025-06-02",
                      "--drug", "hydroxocobalamin", "--dose", "1mg", "--route", "im"], id="dose"),
        pytest.param(["event", "record", "--patient", "P-404", "--date", "2025-06-02",
                      "--kind", "stable"], id="event"),
    ],
)  # fmt: skip
def test_an_unknown_patient_exits_4(enrolled: Path, args: list[str]) -> None:
    result = b12(*args, code=4)
    assert "P-404" in result.stderr
    assert result.stdout == ""


def test_an_unreachable_database_exits_5(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("B12_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:1/nowhere")

    result = b12("patient", "list", code=5)

    assert result.stderr.startswith("error: database unavailable")


# -- known defects (see the report on issue #4) ------------------------------------------------


def test_backup_to_a_missing_folder_is_a_clean_error(enrolled: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli.app, ["db", "backup", str(tmp_path / "no" / "b.sqlite3")])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.exit_code == 2


def test_restore_of_a_file_that_is_not_a_database_is_a_clean_error(
    enrolled: Path, tmp_path: Path
) -> None:
    junk = tmp_path / "junk.sqlite3"
    junk.write_text("not a database", encoding="utf-8")
    result = CliRunner().invoke(cli.app, ["db", "restore", str(junk)])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.exit_code == 2


@pytest.mark.parametrize("case", ["not-a-database", "parent-is-a-file", "unparseable-url"])
def test_an_unusable_database_setting_is_a_clean_error(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    junk = tmp_path / "junk.sqlite3"
    junk.write_text("not a database", encoding="utf-8")
    url = {
        "not-a-database": f"sqlite:///{junk}",
        "parent-is-a-file": f"sqlite:///{junk}/registry.sqlite3",
        "unparseable-url": "registry.sqlite3",
    }[case]
    monkeypatch.setenv("B12_DATABASE_URL", url)
    result = CliRunner().invoke(cli.app, ["patient", "list"])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.exit_code in (2, 5)


def test_recall_within_beyond_the_calendar_is_a_clean_error(enrolled: Path) -> None:
    result = CliRunner().invoke(cli.app, ["recall", "--as-of", ENROLLED, "--within", "999999999"])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.exit_code == 2
