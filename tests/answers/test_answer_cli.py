"""``b12 ask``: the readable answer, ``--json`` (the Answer contract), no answer, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import b12.entrypoints.cli as cli
from b12.adapters.knowledge_files import load_knowledge_base
from b12.core.answer import answer
from b12.core.answer.models import Answer
from b12.core.knowledge import KnowledgeBase
from b12.core.schemas import json_schema, schema_names
from b12.entrypoints.ask_cli import superscript

QUESTION = "pernicious anaemia with numbness: hydroxocobalamin schedule?"


@pytest.fixture
def runner(kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A runner whose CLI reuses the session's knowledge base."""

    def cached(path: Path | None = None) -> KnowledgeBase:
        return kb if path is None else load_knowledge_base(path)

    monkeypatch.setattr(cli, "load_knowledge_base", cached)
    return CliRunner()


def test_readable_answer_has_the_seed_shape(runner: CliRunner, kb: KnowledgeBase) -> None:
    result = runner.invoke(cli.app, ["ask", QUESTION])
    assert result.exit_code == 0, result.output
    ans = answer(QUESTION, kb)
    assert ans.headline is not None
    out = " ".join(result.output.split())  # the report wraps to the terminal's width

    def flat(text: str) -> str:
        return " ".join(text.split())

    assert flat(ans.headline.text) + " " + superscript(ans.headline.refs) in out
    for section in ans.sections:
        assert flat(section.title) in out
    assert "References" in out
    for ref in ans.references:
        assert f"{ref.n}. " in out
    assert kb.answering.related_questions_title in out
    assert ans.content_version in out
    assert "approved" in out
    assert flat(ans.disclaimer) in out
    positions = [out.index(flat(ans.headline.text)), *(out.index(s.title) for s in ans.sections)]
    assert positions == sorted(positions)


def test_patient_answer_shows_the_framing_first(runner: CliRunner, kb: KnowledgeBase) -> None:
    result = runner.invoke(
        cli.app,
        ["ask", "I have PA, how often will I need my jabs?", "--audience", "patient"],
    )
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    framing = " ".join(kb.answering.patient_framing.split())
    assert framing in flat
    ans = answer("I have PA, how often will I need my jabs?", kb, audience="patient")
    assert ans.headline is not None
    assert flat.index(framing) < flat.index(" ".join(ans.headline.text.split()))


def test_json_is_the_answer_contract_and_byte_identical(runner: CliRunner) -> None:
    first = runner.invoke(cli.app, ["ask", QUESTION, "--json", "--guideline", "us"])
    second = runner.invoke(cli.app, ["ask", QUESTION, "--json", "--guideline", "us"])
    assert first.exit_code == 0, first.output
    assert first.output == second.output
    doc = json.loads(first.output)
    parsed = Answer.model_validate(doc)
    assert parsed.guideline == "us"
    assert parsed.status == "answered"
    assert set(json_schema("Answer")["properties"]) == set(doc)


def test_no_answer_prints_the_knowledge_base_text_and_topics(
    runner: CliRunner, kb: KnowledgeBase
) -> None:
    result = runner.invoke(cli.app, ["ask", "vitamin D loading dose"])
    assert result.exit_code == 0
    flat = " ".join(result.output.split())
    assert " ".join(kb.answering.no_answer_text.split()) in flat
    assert kb.answering.nearest_topics_title in flat
    ans = answer("vitamin D loading dose", kb)
    for topic in ans.nearest_topics:
        assert " ".join(topic.title.split()) in flat


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["ask", ""], "question"),
        (["ask", "x" * 1001], "question"),
        (["ask", "b12 dose", "--audience", "nurse"], "audience"),
        (["ask", "b12 dose", "--guideline", "fr"], "guideline"),
    ],
)
def test_bad_input_is_a_one_line_error_and_exit_2(
    runner: CliRunner, args: list[str], field: str
) -> None:
    result = runner.invoke(cli.app, args)
    assert result.exit_code == 2
    assert f"error: {field}:" in result.output


def test_answer_is_a_schema_name(runner: CliRunner) -> None:
    assert "Answer" in schema_names()
    result = runner.invoke(cli.app, ["schema", "Answer"])
    assert result.exit_code == 0
    assert json.loads(result.output)["title"] == "Answer"


def test_superscript() -> None:
    assert superscript((1, 12, 3)) == "¹,¹²,³"
    assert superscript(()) == ""
