"""Knowledge-base validation: each broken file is reported by file and field path."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from b12.adapters.knowledge_files import content_hash, default_knowledge_dir, load_knowledge_base
from b12.core.errors import KnowledgeBaseError
from b12.core.knowledge import KnowledgeBase


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    dest = tmp_path / "knowledge"
    shutil.copytree(default_knowledge_dir(), dest)
    return dest


def _edit(path: Path, change: Callable[[str], str]) -> None:
    path.write_text(change(path.read_text(encoding="utf-8")), encoding="utf-8")


def _problems(root: Path) -> list[str]:
    with pytest.raises(KnowledgeBaseError) as info:
        load_knowledge_base(root)
    return [p.render() for p in info.value.problems]


def test_bundled_knowledge_base_loads(kb: KnowledgeBase) -> None:
    assert kb.recommendations
    assert kb.regimens
    assert kb.sources
    assert kb.content_version.startswith("sha256:")


def test_every_recommendation_cites_a_known_source(kb: KnowledgeBase) -> None:
    for rec in kb.recommendations.values():
        assert rec.citations
        assert all(c.source in kb.sources for c in rec.citations)


def test_duplicate_yaml_keys_are_rejected(kb_copy: Path) -> None:
    _edit(kb_copy / "safety/B12-SAFE-001.yaml", lambda t: t + "status: draft\n")
    (problem,) = _problems(kb_copy)
    assert problem.startswith("safety/B12-SAFE-001.yaml")
    assert "duplicate" in problem.lower()


def test_unknown_keys_are_rejected_with_field_path(kb_copy: Path) -> None:
    _edit(
        kb_copy / "regimens/UK-HYDROXO-STANDARD.yaml",
        lambda t: t.replace("  kind: loading\n", "  kind: loading\n  colour: red\n"),
    )
    problems = _problems(kb_copy)
    assert any(
        p.startswith("regimens/UK-HYDROXO-STANDARD.yaml › phases[0].colour") for p in problems
    )


def test_id_must_equal_file_name(kb_copy: Path) -> None:
    shutil.copy(kb_copy / "safety/B12-SAFE-001.yaml", kb_copy / "safety/B12-SAFE-099.yaml")
    problems = _problems(kb_copy)
    assert any("B12-SAFE-099.yaml › id" in p and "file name" in p for p in problems)


def test_unknown_source_is_a_broken_reference(kb_copy: Path) -> None:
    _edit(
        kb_copy / "safety/B12-SAFE-014.yaml",
        lambda t: t.replace("source: nice-ng239-2024", "source: nice-ng999"),
    )
    problems = _problems(kb_copy)
    assert any(
        "B12-SAFE-014.yaml › citations[1].source: unknown source 'nice-ng999'" in p
        for p in problems
    )


def test_approved_item_must_not_use_a_draft_regimen(kb_copy: Path) -> None:
    _edit(
        kb_copy / "regimens/UK-HYDROXO-BARIATRIC.yaml",
        lambda t: t.replace("status: approved", "status: draft"),
    )
    problems = _problems(kb_copy)
    assert any(
        "B12-TX-011.yaml › action.regimen: approved item uses draft regimen" in p for p in problems
    )


def test_approved_item_must_not_cite_a_superseded_source(kb_copy: Path) -> None:
    _edit(
        kb_copy / "safety/B12-SAFE-027.yaml",
        lambda t: t.replace("status: draft", "status: approved"),
    )
    problems = _problems(kb_copy)
    assert any("superseded source 'nice-ng239-draft-2023'" in p for p in problems)


def test_unknown_alert_code_vocabulary_value_and_parameter(kb_copy: Path) -> None:
    _edit(
        kb_copy / "safety/B12-SAFE-014.yaml",
        lambda t: t.replace("code: GASTRIC_CANCER_RISK", "code: GASTRIC_RISK"),
    )
    _edit(
        kb_copy / "safety/B12-SAFE-026.yaml",
        lambda t: t.replace("medication: metformin", "medication: metforminn"),
    )
    _edit(
        kb_copy / "safety/B12-SAFE-016.yaml",
        lambda t: t.replace("param: high_b12_ng_l", "param: high_b12"),
    )
    problems = "\n".join(_problems(kb_copy))
    assert "B12-SAFE-014.yaml › action.code: unknown alert code 'GASTRIC_RISK'" in problems
    assert "B12-SAFE-026.yaml › when: unknown medications value 'metforminn'" in problems
    assert "B12-SAFE-016.yaml › when: unknown parameter 'high_b12'" in problems


def test_condition_syntax_errors_name_the_path(kb_copy: Path) -> None:
    _edit(
        kb_copy / "safety/B12-SAFE-026.yaml",
        lambda t: t.replace("medication: metformin", "medicine: metformin"),
    )
    problems = _problems(kb_copy)
    assert any(
        "B12-SAFE-026.yaml › when" in p and "unknown condition key 'medicine'" in p
        for p in problems
    )


def test_a_catch_all_decision_is_required(kb_copy: Path) -> None:
    (kb_copy / "recommendations/B12-DX-040.yaml").unlink()
    problems = _problems(kb_copy)
    assert any("no approved catch-all decision" in p for p in problems)


def test_content_version_changes_with_content_and_only_with_content(kb_copy: Path) -> None:
    before = content_hash(kb_copy)
    assert content_hash(kb_copy) == before
    _edit(kb_copy / "vocabulary.yaml", lambda t: t + "\n")
    assert content_hash(kb_copy) != before


def test_missing_directory_is_reported(tmp_path: Path) -> None:
    problems = _problems(tmp_path / "nowhere")
    assert "knowledge directory not found" in problems[0]
