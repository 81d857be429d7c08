"""``b12 check`` and ``b12 next``: reports, contract JSON, standard input, ``--as-of``, schemas,
and bad input (exit code 2, one ``error: field: message`` line per problem, nothing on stdout).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

import b12.entrypoints.cli as cli
from b12.adapters.knowledge_files import load_knowledge_base
from b12.core.course_models import FollowUpResult, OrderCheckResult
from b12.core.knowledge import KnowledgeBase
from b12.core.requests import follow_up_request, order_check_request

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ORDER_CHECK = EXAMPLES / "order-check-uk.json"
FOLLOW_UP = EXAMPLES / "follow-up-uk.json"


@pytest.fixture
def runner(kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A runner whose CLI reuses the session's bundled knowledge base (loading is tested apart)."""

    def cached(path: Path | None = None) -> KnowledgeBase:
        return kb if path is None else load_knowledge_base(path)

    monkeypatch.setattr(cli, "load_knowledge_base", cached)
    return CliRunner()


def _example(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return doc


def _write(tmp_path: Path, doc: Any, name: str = "doc.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return str(path)


def _flat(text: str) -> str:
    """Collapse whitespace: Rich wraps long lines at the terminal width."""
    return " ".join(text.split())


def _ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    return result.stdout


# --- b12 check -------------------------------------------------------------------------------


def test_check_json_parses_as_the_contract_and_matches_the_library(
    runner: CliRunner, kb: KnowledgeBase
) -> None:
    out = _ok(runner.invoke(cli.app, ["check", str(ORDER_CHECK), "--json"]))
    result = OrderCheckResult.model_validate_json(out)
    assert result.verdict == "warn"
    assert str(result.as_of) == "2026-04-01"
    assert result.product == "hydroxocobalamin"
    # Six loading doses (Mon/Wed/Fri from 2 March) end loading on 13 March; maintenance is due
    # 2-3 months later, so a dose on 1 April is 42 days early: a warning, not a stop.
    assert result.timing.status == "early"
    assert result.timing.phase == "maintenance"
    assert result.timing.due is not None
    assert (str(result.timing.due.earliest), str(result.timing.due.latest)) == (
        "2026-05-13",
        "2026-06-13",
    )
    assert result.timing.days_off == 42
    severities = {a.code: a.severity for a in result.alerts}
    assert severities["INTERVAL_EARLY"] == "warning"
    assert severities["GLUTEAL_SITE"] == "warning"
    assert "stop" not in severities.values()
    expected = order_check_request(_example(ORDER_CHECK), kb)
    assert json.loads(out) == json.loads(expected.model_dump_json())


def test_check_report_shows_verdict_timing_alerts_references_and_disclaimer(
    runner: CliRunner, kb: KnowledgeBase
) -> None:
    out = _ok(runner.invoke(cli.app, ["check", str(ORDER_CHECK)]))
    text = _flat(out)
    assert "{" not in out.splitlines()[0]
    for needle in (
        "b12 order check",
        "Verdict: WARN",
        "Product: hydroxocobalamin",
        "Timing: early",
        "phase maintenance",
        "2026-05-13",
        "(42 days)",
        "Alerts",
        "INTERVAL_EARLY",
        "GLUTEAL_SITE",
        "References",
        _flat(kb.vocabulary.disclaimer),
    ):
        assert needle in text, needle


def test_check_reads_standard_input_with_a_dash(runner: CliRunner) -> None:
    text = ORDER_CHECK.read_text(encoding="utf-8")
    out = _ok(runner.invoke(cli.app, ["check", "-", "--json"], input=text))
    from_file = _ok(runner.invoke(cli.app, ["check", str(ORDER_CHECK), "--json"]))
    assert out == from_file


def test_check_as_of_option_sets_today_and_the_default_order_start(
    runner: CliRunner, tmp_path: Path
) -> None:
    doc = _example(ORDER_CHECK)
    del doc["as_of"]
    del doc["order"]["start"]
    path = _write(tmp_path, doc)
    out = _ok(runner.invoke(cli.app, ["check", path, "--json", "--as-of", "2026-05-20"]))
    result = OrderCheckResult.model_validate_json(out)
    assert str(result.as_of) == "2026-05-20"
    assert result.timing.status == "on_time"  # inside the 13 May - 13 June window
    assert "INTERVAL_EARLY" not in {a.code for a in result.alerts}


def test_check_as_of_option_overrides_the_document(runner: CliRunner) -> None:
    out = _ok(
        runner.invoke(cli.app, ["check", str(ORDER_CHECK), "--json", "--as-of", "2026-04-02"])
    )
    assert str(OrderCheckResult.model_validate_json(out).as_of) == "2026-04-02"


def test_check_of_a_free_text_product_reports_it_unsupported(
    runner: CliRunner, tmp_path: Path
) -> None:
    doc = _example(ORDER_CHECK)
    doc["order"]["drug"] = "B12 jab"
    out = _ok(runner.invoke(cli.app, ["check", _write(tmp_path, doc), "--json"]))
    result = OrderCheckResult.model_validate_json(out)
    assert result.product == "unknown"
    assert "UNSUPPORTED_PRODUCT" in {a.code for a in result.alerts}
    assert result.timing.status == "not_applicable"


# --- b12 next --------------------------------------------------------------------------------


def test_next_json_parses_as_the_contract_and_matches_the_library(
    runner: CliRunner, kb: KnowledgeBase
) -> None:
    out = _ok(runner.invoke(cli.app, ["next", str(FOLLOW_UP), "--json"]))
    result = FollowUpResult.model_validate_json(out)
    assert result.status == "ok"
    assert str(result.as_of) == "2026-07-20"
    assert result.regimen is not None
    assert result.regimen.id == "UK-HYDROXO-STANDARD"
    assert (result.phase, result.doses_in_phase) == ("maintenance", 1)
    # Symptoms returned before the dose due: the 2-3 month window shrinks to its shortest
    # interval, 2 months from the last dose given (13 May), so the dose is 7 days overdue.
    assert result.next_due is not None
    assert str(result.next_due.date) == "2026-07-13"
    assert result.next_due.earliest == result.next_due.latest == result.next_due.date
    assert result.overdue_days == 7
    assert {"SHORTEN_INTERVAL", "GIVE_NOW_RESTART_INTERVAL"} <= {a.code for a in result.advice}
    expected = follow_up_request(_example(FOLLOW_UP), kb)
    assert json.loads(out) == json.loads(expected.model_dump_json())


def test_next_report_shows_phase_next_dose_overdue_advice_and_references(
    runner: CliRunner, kb: KnowledgeBase
) -> None:
    out = _ok(runner.invoke(cli.app, ["next", str(FOLLOW_UP)]))
    text = _flat(out)
    assert "{" not in out.splitlines()[0]
    for needle in (
        "b12 follow-up",
        "Status: ok",
        "uk-im-no-neuro",
        "Phase: maintenance (1 dose given in it)",
        "Next dose: 2026-07-13",
        "OVERDUE by 7 days",
        "Advice",
        "References",
        _flat(kb.vocabulary.disclaimer),
    ):
        assert needle in text, needle


def test_next_reads_standard_input_with_a_dash(runner: CliRunner) -> None:
    text = FOLLOW_UP.read_text(encoding="utf-8")
    out = _ok(runner.invoke(cli.app, ["next", "-", "--json"], input=text))
    assert out == _ok(runner.invoke(cli.app, ["next", str(FOLLOW_UP), "--json"]))


def test_next_as_of_option_sets_today(runner: CliRunner, tmp_path: Path) -> None:
    doc = _example(FOLLOW_UP)
    del doc["as_of"]
    path = _write(tmp_path, doc)
    out = _ok(runner.invoke(cli.app, ["next", path, "--json", "--as-of", "2026-07-01"]))
    result = FollowUpResult.model_validate_json(out)
    assert str(result.as_of) == "2026-07-01"
    assert result.overdue_days == 0
    assert result.next_due is not None
    assert str(result.next_due.date) == "2026-07-13"


def test_next_as_of_option_overrides_the_document(runner: CliRunner) -> None:
    out = _ok(runner.invoke(cli.app, ["next", str(FOLLOW_UP), "--json", "--as-of", "2026-07-30"]))
    result = FollowUpResult.model_validate_json(out)
    assert str(result.as_of) == "2026-07-30"
    assert result.overdue_days == 17


# --- b12 schema ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fields"),
    [
        ("OrderCheck", ("picture", "order", "other_orders", "history", "as_of")),
        ("OrderCheckResult", ("verdict", "timing", "alerts", "references", "disclaimer")),
        ("FollowUp", ("picture", "history", "events", "as_of")),
        ("FollowUpResult", ("phase", "next_due", "overdue_days", "advice", "alerts")),
    ],
)
def test_schema_prints_the_contract(runner: CliRunner, name: str, fields: tuple[str, ...]) -> None:
    schema = json.loads(_ok(runner.invoke(cli.app, ["schema", name])))
    assert schema["title"] == name
    assert schema["type"] == "object"
    assert set(fields) <= set(schema["properties"])


@pytest.mark.parametrize(
    ("name", "required"), [("OrderCheck", {"picture", "order"}), ("FollowUp", {"picture"})]
)
def test_input_schemas_require_the_documented_fields_and_refuse_others(
    runner: CliRunner, name: str, required: set[str]
) -> None:
    schema = json.loads(_ok(runner.invoke(cli.app, ["schema", name])))
    assert set(schema["required"]) == required
    assert schema.get("additionalProperties") is False


@pytest.mark.parametrize(
    ("command", "example", "name"),
    [("check", ORDER_CHECK, "OrderCheckResult"), ("next", FOLLOW_UP, "FollowUpResult")],
)
def test_json_output_keys_are_those_the_published_schema_names(
    runner: CliRunner, command: str, example: Path, name: str
) -> None:
    schema = json.loads(_ok(runner.invoke(cli.app, ["schema", name])))
    out = json.loads(_ok(runner.invoke(cli.app, [command, str(example), "--json"])))
    assert set(schema["required"]) <= set(out)
    assert set(out) <= set(schema["properties"])


# --- bad input -------------------------------------------------------------------------------


def _errors(result: Result) -> list[str]:
    """Check the shape of a bad-input result; return the stderr lines."""
    assert result.exit_code == 2, result.output
    assert result.stdout == "", "bad input must not print a partial result"
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), repr(result.exception)
    lines = result.stderr.splitlines()
    assert lines, "no error message"
    for line in lines:
        assert line.startswith("error: "), line
    return lines


def _fields(lines: list[str]) -> list[str]:
    return [line.removeprefix("error: ").split(": ", 1)[0] for line in lines]


Edit = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Edit:
    """An edit that sets ``a.b[0].c`` style paths (list indexes as bare numbers: ``a.0.c``)."""

    def edit(doc: dict[str, Any]) -> None:
        *parents, leaf = path.split(".")
        where: Any = doc
        for part in parents:
            where = where[int(part)] if part.isdigit() else where[part]
        if leaf.isdigit():
            where[int(leaf)] = value
        else:
            where[leaf] = value

    return edit


def _drop(key: str) -> Edit:
    return lambda doc: doc.pop(key)


CHECK_BAD: list[tuple[str, Edit, str]] = [
    ("zero-dose", _set("order.dose.value", 0), "order.dose.value"),
    ("negative-dose", _set("order.dose.value", -1), "order.dose.value"),
    ("dose-a-string", _set("order.dose.value", "one"), "order.dose.value"),
    ("tablets", _set("order.dose.unit", "tablets"), "order.dose.unit"),
    ("rectal", _set("order.route", "rectal"), "order.route"),
    ("buttock", _set("order.site", "buttock"), "order.site"),
    ("unknown-frequency", _set("order.frequency", "hourly"), "order.frequency"),
    ("every-days-zero", _set("order.every_days", 0), "order.every_days"),
    ("impossible-start", _set("order.start", "2026-02-30"), "order.start"),
    ("empty-drug", _set("order.drug", ""), "order.drug"),
    ("unknown-order-field", _set("order.strength", "1mg/ml"), "order.strength"),
    ("no-order", _drop("order"), "order"),
    ("no-picture", _drop("picture"), "picture"),
    ("age-300", _set("picture.age", 300), "picture.age"),
    ("unknown-cause", _set("picture.cause", "bad_luck"), "picture.cause"),
    ("history-after-as-of", _set("history.0.date", "2026-04-02"), "history[0].date"),
    ("history-unknown-drug", _set("history.2.drug", "vitamin b12"), "history[2].drug"),
    ("history-bad-unit", _set("history.1.dose.unit", "ml"), "history[1].dose.unit"),
    ("history-not-a-list", _set("history", {"date": "2026-03-02"}), "history"),
    ("bad-as-of", _set("as_of", "01/04/2026"), "as_of"),
    ("unknown-top-level-field", _set("notes", "urgent"), "notes"),
]

NEXT_BAD: list[tuple[str, Edit, str]] = [
    ("history-after-as-of", _set("history.0.date", "2026-07-21"), "history[0].date"),
    ("history-zero-dose", _set("history.3.dose.value", 0), "history[3].dose.value"),
    ("history-route", _set("history.0.route", "rectal"), "history[0].route"),
    ("history-unknown-drug", _set("history.6.drug", "B12 jab"), "history[6].drug"),
    ("event-unknown-kind", _set("events.0.kind", "feeling_better"), "events[0].kind"),
    ("event-after-as-of", _set("events.0.date", "2026-08-01"), "events[0].date"),
    ("event-no-date", lambda doc: doc["events"][0].pop("date"), "events[0].date"),
    ("age-300", _set("picture.age", 300), "picture.age"),
    (
        "pregnant-male",
        lambda doc: doc["picture"].update(sex="male", pregnant=True),
        "picture.pregnant",
    ),
    ("unknown-top-level-field", _set("order", {}), "order"),
]


def _bad_doc(example: Path, edit: Edit) -> dict[str, Any]:
    doc = copy.deepcopy(_example(example))
    edit(doc)
    return doc


@pytest.mark.parametrize(
    ("edit", "field"), [(e, f) for _, e, f in CHECK_BAD], ids=[n for n, _, _ in CHECK_BAD]
)
def test_check_bad_field_gives_one_line_naming_it(
    runner: CliRunner, tmp_path: Path, edit: Edit, field: str
) -> None:
    path = _write(tmp_path, _bad_doc(ORDER_CHECK, edit))
    for options in ([], ["--json"]):
        lines = _errors(runner.invoke(cli.app, ["check", path, *options]))
        assert len(lines) == 1, lines
        assert lines[0].startswith(f"error: {field}: "), lines[0]


@pytest.mark.parametrize(
    ("edit", "field"), [(e, f) for _, e, f in NEXT_BAD], ids=[n for n, _, _ in NEXT_BAD]
)
def test_next_bad_field_gives_one_line_naming_it(
    runner: CliRunner, tmp_path: Path, edit: Edit, field: str
) -> None:
    path = _write(tmp_path, _bad_doc(FOLLOW_UP, edit))
    for options in ([], ["--json"]):
        lines = _errors(runner.invoke(cli.app, ["next", path, *options]))
        assert len(lines) == 1, lines
        assert lines[0].startswith(f"error: {field}: "), lines[0]


def test_messages_say_what_is_wrong(runner: CliRunner, tmp_path: Path) -> None:
    def line(command: str, example: Path, edit: Edit) -> str:
        (only,) = _errors(
            runner.invoke(cli.app, [command, _write(tmp_path, _bad_doc(example, edit))])
        )
        return only

    assert "greater than 0" in line("check", ORDER_CHECK, _set("order.dose.value", 0))
    assert "unknown unit 'tablets'" in line(
        "check", ORDER_CHECK, _set("order.dose.unit", "tablets")
    )
    assert "'rectal'" in line("check", ORDER_CHECK, _set("order.route", "rectal"))
    assert "after as_of (2026-04-01)" in line(
        "check", ORDER_CHECK, _set("history.0.date", "2026-04-02")
    )
    assert "implausible value 300" in line("next", FOLLOW_UP, _set("picture.age", 300))
    assert "'feeling_better'" in line("next", FOLLOW_UP, _set("events.0.kind", "feeling_better"))


def test_every_problem_gets_its_own_line(runner: CliRunner, tmp_path: Path) -> None:
    doc = _example(ORDER_CHECK)
    doc["order"]["dose"] = {"value": 0, "unit": "tablets"}
    doc["order"]["route"] = "rectal"
    lines = _errors(runner.invoke(cli.app, ["check", _write(tmp_path, doc)]))
    assert sorted(_fields(lines)) == ["order.dose.unit", "order.dose.value", "order.route"]


def test_every_late_history_date_and_event_is_reported(runner: CliRunner, tmp_path: Path) -> None:
    doc = _example(FOLLOW_UP)
    lines = _errors(
        runner.invoke(cli.app, ["next", _write(tmp_path, doc), "--as-of", "2026-03-05"])
    )
    assert _fields(lines) == [f"history[{i}].date" for i in range(2, 7)]


def test_every_days_and_frequency_together_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    doc = _example(ORDER_CHECK)
    doc["order"].update(every_days=60, frequency="every_2_months")
    (line,) = _errors(runner.invoke(cli.app, ["check", _write(tmp_path, doc)]))
    assert line.startswith("error: order.frequency: ")
    assert "not both" in line


@pytest.mark.parametrize("command", ["check", "next"])
@pytest.mark.parametrize(
    ("text", "start"),
    [
        ('{"picture": ', "error: input: invalid JSON at line 1"),
        ("", "error: input: invalid JSON"),
        ("[1, 2, 3]", "error: input: expected a JSON object"),
        ('{"picture": {}, "picture": {}}', "error: picture: duplicate key"),
    ],
)
def test_unreadable_documents(runner: CliRunner, command: str, text: str, start: str) -> None:
    (line,) = _errors(runner.invoke(cli.app, [command, "-"], input=text))
    assert line.startswith(start), line


@pytest.mark.parametrize("command", ["check", "next"])
@pytest.mark.parametrize("as_of", ["2026-02-30", "yesterday", "20/07/2026"])
def test_bad_as_of_option(runner: CliRunner, command: str, as_of: str) -> None:
    example = ORDER_CHECK if command == "check" else FOLLOW_UP
    (line,) = _errors(runner.invoke(cli.app, [command, str(example), "--as-of", as_of]))
    assert line.startswith("error: as_of: ")


@pytest.mark.parametrize("command", ["check", "next"])
def test_missing_file(runner: CliRunner, tmp_path: Path, command: str) -> None:
    (line,) = _errors(runner.invoke(cli.app, [command, str(tmp_path / "nowhere.json")]))
    assert line.startswith("error: input: cannot read ")


def test_a_follow_up_is_not_an_order_check_until_it_names_an_order(
    runner: CliRunner, tmp_path: Path
) -> None:
    """``b12 check`` takes the same history, events and course as ``b12 next``, plus the order."""
    (line,) = _errors(runner.invoke(cli.app, ["check", str(FOLLOW_UP)]))
    assert line == "error: order: Field required"
    doc = json.loads(FOLLOW_UP.read_text(encoding="utf-8"))
    assert doc["events"], "the follow-up example records events"
    doc["order"] = {"drug": "hydroxocobalamin", "dose": {"value": 1, "unit": "mg"}, "route": "im"}
    path = tmp_path / "check.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    result = runner.invoke(cli.app, ["check", str(path), "--json"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("name", ["OrderChecks", "followup", ""])
def test_unknown_schema_name(runner: CliRunner, name: str) -> None:
    (line,) = _errors(runner.invoke(cli.app, ["schema", name]))
    assert line.startswith("error: name: unknown schema")
    assert "OrderCheck" in line
    assert "FollowUpResult" in line


# --- courses that begin part-way: the course vignettes through the CLI ------------------------

COURSE_CASES = sorted(
    (Path(__file__).resolve().parents[1] / "vignettes" / "cases").glob("V-3[0-9][0-9]-*.yaml")
)


@pytest.mark.parametrize("path", COURSE_CASES, ids=[p.stem[:5] for p in COURSE_CASES])
def test_course_vignettes_give_the_same_answer_through_the_cli(
    runner: CliRunner, tmp_path: Path, path: Path
) -> None:
    """Declared, inferred and ambiguous courses: ``b12 next`` / ``b12 check --json`` equal the
    vignette, and the readable report says how the phase was read."""
    from b12.adapters.vignettes import load_vignette, summarize_result

    v = load_vignette(path)
    command = "check" if v.kind == "order" else "next"
    doc = _write(tmp_path, v.request)
    out = _ok(runner.invoke(cli.app, [command, doc, "--json", "--as-of", v.as_of.isoformat()]))
    model = OrderCheckResult if v.kind == "order" else FollowUpResult
    assert summarize_result(model.model_validate_json(out)) == v.expect
    report = _flat(_ok(runner.invoke(cli.app, [command, doc, "--as-of", v.as_of.isoformat()])))
    assert v.expect is not None
    if "course" in v.expect:
        basis = v.expect["course"].split(" ", 1)[0]
        assert "Course: " + {"declared": "as declared", "inferred": "inferred", "ambiguous":
                             "UNCLEAR"}[basis] in report  # fmt: skip
    for alert in v.expect["alerts"]:
        assert alert.split(" ", 1)[0] in report


@pytest.mark.parametrize(
    ("course", "field"),
    [
        ({"stage": "maintenance"}, "course.since"),
        ({"stage": "loading", "since": "2026-01-01"}, "course.stage"),
        (
            {"stage": "maintenance", "since": "2026-01-01", "every_months": 13},
            "course.every_months",
        ),
        ({"stage": "maintenance", "since": "2026-08-01"}, "course.since"),
        ({"stage": "maintenance", "since": "2026-01-01", "every_weeks": 4}, "course.every_weeks"),
    ],
)
@pytest.mark.parametrize("command", ["check", "next"])
def test_a_bad_declared_course_is_a_field_error(
    runner: CliRunner, tmp_path: Path, command: str, course: dict[str, Any], field: str
) -> None:
    doc = _example(ORDER_CHECK if command == "check" else FOLLOW_UP)
    doc["course"] = course
    doc["as_of"] = "2026-07-20"
    result = runner.invoke(cli.app, [command, _write(tmp_path, doc)])
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert any(line.startswith(f"error: {field}: ") for line in result.stderr.splitlines())
