"""``phrasings.yaml``: users' questions as retrieval text, from the dev part only.

The held-out questions measure wording the engine has never seen, so none of them may be in
the file; the file is what ``scripts/phrasings.py`` writes from the labelled set; its words
score items but never reach the spelling-repair vocabulary or an item's own topic words.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
from pathlib import Path

import pytest

from b12.adapters.knowledge_files import default_knowledge_dir, load_knowledge_base, read_raw
from b12.core.answer import answer
from b12.core.answer.retrieve import build_index
from b12.core.errors import KnowledgeBaseError
from b12.core.kb_build import RawContent, build_knowledge_base
from tests.answers.evaluation import load_questions

ROOT = Path(__file__).resolve().parents[2]
KB = load_knowledge_base()


def _script() -> object:
    spec = importlib.util.spec_from_file_location(
        "phrasings_script", ROOT / "scripts" / "phrasings.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["phrasings_script"] = module
    spec.loader.exec_module(module)
    return module


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()


def test_no_heldout_question_is_a_phrasing() -> None:
    said = {_fold(q) for qs in KB.answering.phrasings.values() for q in qs}
    heldout = [q for q in load_questions() if q.split == "heldout"]
    leaked = [q.id for q in heldout if _fold(q.q) in said]
    assert not leaked
    assert said, "the bundled knowledge base has phrasings"


def test_every_covered_dev_question_is_filed_under_its_first_item() -> None:
    for q in load_questions():
        if q.split == "dev" and q.kind == "covered":
            assert " ".join(q.q.split()) in KB.answering.phrasings[q.recs[0]], q.id


def test_the_file_is_what_the_script_writes() -> None:
    module = _script()
    text = (ROOT / "src" / "b12" / "knowledge" / "phrasings.yaml").read_text(encoding="utf-8")
    assert text == module.render()  # type: ignore[attr-defined]


def _raw_with(phrasings: object) -> RawContent:
    raw = read_raw(default_knowledge_dir(), use_cache=False)
    answering = dict(raw.answering)
    answering["phrasings.yaml"] = phrasings
    return dataclasses.replace(raw, answering=answering)


@pytest.mark.parametrize(
    ("phrasings", "message"),
    [
        ({"phrasings": {"B12-NOPE-001": ["what is this?"]}}, "not a recommendation"),
        ({"phrasings": {"B12-TX-005": ["same", "same"]}}, "non-empty and unique"),
        ({"phrasings": ["a list"]}, "mapping of recommendation id"),
    ],
)
def test_a_bad_phrasings_file_is_a_field_level_problem(phrasings: object, message: str) -> None:
    with pytest.raises(KnowledgeBaseError) as err:
        build_knowledge_base(_raw_with(phrasings))
    assert any(message in p.message for p in err.value.problems), err.value.problems


def test_phrasings_score_items_but_teach_no_spelling_and_no_topic() -> None:
    """A word only a phrasing uses (a typo) is not a known word, nor the item's topic."""
    bare = dataclasses.replace(KB, answering=KB.answering.model_copy(update={"phrasings": {}}))
    typo = "hydroxocobalamine"
    said = {"B12-TX-005": ("can i take the tablets rather than the jabs zzqx?",)}
    extra = dataclasses.replace(KB, answering=KB.answering.model_copy(update={"phrasings": said}))
    with_index, bare_index = build_index(extra), build_index(bare)
    assert with_index.known == bare_index.known
    assert with_index.topic_stems == bare_index.topic_stems
    assert "zzqx" in with_index.stems
    assert "zzqx" not in bare_index.stems
    assert typo not in with_index.known


def test_a_phrasing_is_never_shown() -> None:
    said = {_fold(q) for qs in KB.answering.phrasings.values() for q in qs}
    for question in ("can i have tablets instead of b12 injections?", "b12 140 what regimen"):
        ans = answer(question, KB)
        assert ans.related_questions
        assert not {_fold(q) for q in ans.related_questions} & said


def test_an_unknown_masked_item_is_a_field_level_problem() -> None:
    raw = read_raw(default_knowledge_dir(), use_cache=False)
    recs = dict(raw.recommendations)
    name = next(n for n in recs if n.endswith("B12-SAFE-028.yaml"))
    recs[name] = {**recs[name], "masks": ["B12-NOPE-404"]}
    with pytest.raises(KnowledgeBaseError) as err:
        build_knowledge_base(dataclasses.replace(raw, recommendations=recs))
    assert any(p.field_path == "masks[0]" for p in err.value.problems), err.value.problems
