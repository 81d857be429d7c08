"""The register review criteria and reminder (``knowledge/register``): load, cite, fail loudly."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from b12.adapters.knowledge_files import default_knowledge_dir
from b12.adapters.register_content import load_register_content
from b12.core.errors import KnowledgeBaseError
from b12.core.knowledge import KnowledgeBase


def test_the_bundled_content_loads_and_cites_known_sources(kb: KnowledgeBase) -> None:
    content = load_register_content(kb)
    assert [c.id for c in content.criteria] == [f"REG-REVIEW-00{i}" for i in range(1, 6)]
    citations = [c.citations for c in content.criteria] + [content.reminder.citations]
    for cited in citations:
        assert cited
        assert all(c.source in kb.sources for c in cited)
    assert "{due_date}" in content.reminder.message


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    root = tmp_path / "knowledge"
    shutil.copytree(default_knowledge_dir() / "register", root / "register")
    return root


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("source: bnf-hydroxocobalamin", "source: bnf-nowhere", "citations[0].source"),
        ("  - overdue", "  - overdue\n  nonsense: 1", "when"),
        ("without_review_months: 12", "without_review_months: 0", "without_review_months"),
        ("id: REG-REVIEW-002", "id: REG-REVIEW-009", "id"),
    ],
)
def test_a_bad_criterion_names_its_file_and_field(
    kb: KnowledgeBase, copy: Path, old: str, new: str, field: str
) -> None:
    files = sorted((copy / "register" / "review").glob("*.yaml"))
    target = next(f for f in files if old in f.read_text(encoding="utf-8"))
    target.write_text(target.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
    with pytest.raises(KnowledgeBaseError) as err:
        load_register_content(kb, copy)
    problems = err.value.problems
    assert any(p.file.endswith(target.name) and p.field_path.startswith(field) for p in problems), [
        p.render() for p in problems
    ]


def test_an_unknown_parameter_or_definition_is_refused(kb: KnowledgeBase, copy: Path) -> None:
    target = copy / "register" / "review" / "REG-REVIEW-005.yaml"
    text = target.read_text(encoding="utf-8").replace("param: high_b12_ng_l", "param: nope")
    target.write_text(text, encoding="utf-8")
    with pytest.raises(KnowledgeBaseError) as err:
        load_register_content(kb, copy)
    assert "unknown parameter 'nope'" in err.value.problems[0].render()
