"""Validation of the answer-engine content: ``answering.yaml``, aliases and canonical questions."""

from __future__ import annotations

import copy
import shutil
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from b12.adapters.knowledge_files import default_knowledge_dir, load_knowledge_base, read_raw
from b12.core.errors import KnowledgeBaseError
from b12.core.governance import ReviewState, apply_reviews, item_files, item_fingerprint
from b12.core.kb_build import RawContent, build_knowledge_base
from b12.core.knowledge import ANSWER_AUDIENCES, ANSWER_SECTIONS


@pytest.fixture(scope="module")
def raw() -> RawContent:
    return read_raw(default_knowledge_dir())


def _problems(raw: RawContent) -> list[str]:
    with pytest.raises(KnowledgeBaseError) as info:
        build_knowledge_base(raw)
    return [p.render() for p in info.value.problems]


def _answering(raw: RawContent, **changes: Any) -> RawContent:
    data = copy.deepcopy(dict(raw.answering["answering.yaml"]))
    data.update(changes)
    return replace(raw, answering={"answering.yaml": data})


def _with_item(raw: RawContent, item_id: str, **changes: Any) -> RawContent:
    file = item_files(raw)[item_id]
    recs = dict(raw.recommendations)
    recs[file] = {**raw.recommendations[file], **changes}
    return replace(raw, recommendations=recs)


def test_bundled_answering_loads_into_the_knowledge_base(raw: RawContent) -> None:
    kb = build_knowledge_base(raw)
    ans = kb.answering
    assert ans.version
    assert ans.shorthand["q3m"] == "every 3 months"
    assert ans.shorthand["hydroxo"] == "hydroxocobalamin"
    assert "b12" in ans.stopwords
    assert "b12" in ans.in_scope_anchors
    assert "vitamin d" in ans.out_of_scope
    assert set(ans.section_titles) == set(ANSWER_AUDIENCES)
    for titles in ans.section_titles.values():
        assert set(titles) == set(ANSWER_SECTIONS)
    assert ans.patient_framing
    assert ans.no_answer_text


def test_a_missing_answering_file_is_reported(tmp_path: Path) -> None:
    root = tmp_path / "knowledge"
    shutil.copytree(default_knowledge_dir(), root)
    (root / "answering.yaml").unlink()
    with pytest.raises(KnowledgeBaseError) as info:
        load_knowledge_base(root)
    assert any("answering.yaml" in p.render() for p in info.value.problems)


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"shorthand": {"Inj": "injection"}}, "lower case"),
        ({"shorthand": {"inj": "inj"}}, "lower case"),
        ({"misspellings": {"inj": "injection"}}, "in both shorthand and misspellings"),
        ({"out_of_scope": ["b12"]}, "both in scope and out of scope"),
        ({"stopwords": ["vitamin", "vitamin"]}, "duplicate"),
        ({"in_scope_anchors": []}, "in_scope_anchors"),
        ({"section_titles": {"clinician": {"algorithm": "A"}}}, "section_titles"),
        ({"no_answer_text": None}, "no_answer_text"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_answering_content_is_rejected(
    raw: RawContent, changes: dict[str, Any], needle: str
) -> None:
    problems = _problems(_answering(raw, **changes))
    assert any(needle in p and "answering.yaml" in p for p in problems), problems


def test_a_canonical_question_must_be_a_question(raw: RawContent) -> None:
    problems = _problems(_with_item(raw, "B12-TX-002", questions=["alternate days"]))
    assert any("B12-TX-002" in p and "questions" in p for p in problems), problems


def test_repeated_aliases_and_shared_questions_are_rejected(raw: RawContent) -> None:
    kb = build_knowledge_base(raw)
    taken = kb.recommendations["B12-TX-006"].questions[0]
    changed = _with_item(raw, "B12-TX-002", aliases=["neuro loading", "Neuro loading "])
    changed = _with_item(changed, "B12-TX-011", questions=[taken.upper()])
    problems = _problems(changed)
    assert any("B12-TX-002" in p and "aliases" in p and "repeated" in p for p in problems)
    assert any("B12-TX-011" in p and "same question as B12-TX-006" in p for p in problems)


def test_review_overlays_keep_the_answering_content(raw: RawContent) -> None:
    item = "B12-DX-050"
    assert item in item_files(raw)
    state = ReviewState("approved", "dr.reviewer", date(2026, 6, 1), item_fingerprint(raw, item))
    reviewed = apply_reviews(raw, {item: state})
    assert reviewed.content_version != raw.content_version
    assert reviewed.answering == raw.answering
    assert build_knowledge_base(reviewed).answering == build_knowledge_base(raw).answering
