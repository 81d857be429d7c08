"""Each section validator alone (``kb_sections``, ``kb_links``), on small or edited content.

``build_knowledge_base`` only composes these; ``test_kb_validation.py`` checks the composition
through the files.  Here each validator gets just the data it needs, and the problems it
reports are read as ``file › field.path: message``.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from b12.adapters.knowledge_files import default_knowledge_dir, read_raw
from b12.core.errors import KnowledgeBaseError
from b12.core.kb_build import RawContent, build_knowledge_base
from b12.core.kb_links import (
    PICTURE_TERMS,
    Parsed,
    check_actions,
    check_answer_phrases,
    check_citations,
    check_conditions,
    check_pathways,
    check_review_levels,
    check_terms_read,
    check_unapproved_parameters,
    terms_read,
)
from b12.core.kb_sections import (
    Checker,
    check_regimen_vocabulary,
    parse_answering,
    parse_parameters,
    parse_recommendations,
    parse_regimens,
    parse_sources,
    parse_vocabulary,
)

REVIEW = {"reviewed_by": ["x"], "reviewed_on": "2026-01-01", "next_review_due": "2027-01-01"}


@functools.cache
def bundled() -> RawContent:
    return read_raw(default_knowledge_dir())


@pytest.fixture
def raw() -> RawContent:
    return bundled()


def rendered(check: Checker) -> list[str]:
    return [p.render() for p in check.problems]


def parse_all(raw: RawContent) -> tuple[Parsed, Checker]:
    """Every section of ``raw`` parsed (their own problems stay in the checker)."""
    check = Checker()
    vocab = parse_vocabulary(raw.vocabulary, check)
    assert vocab is not None
    parsed = Parsed(
        parse_sources(raw.sources, check),
        vocab,
        parse_parameters(raw.parameters, check),
        parse_regimens(raw.regimens, check),
        parse_recommendations(raw.recommendations, check),
    )
    return parsed, check


def with_rec(raw: RawContent, file: str, **changes: Any) -> RawContent:
    recs = dict(raw.recommendations)
    recs[file] = {**recs[file], **changes}
    return replace(raw, recommendations=recs)


def with_vocab(raw: RawContent, change: Any) -> RawContent:
    (file,) = raw.vocabulary
    data = copy.deepcopy(dict(raw.vocabulary[file]))
    change(data)
    return replace(raw, vocabulary={file: data})


# -- sections on their own ---------------------------------------------------------------------


def test_sources_duplicates_and_unknown_successors() -> None:
    entry = {
        "id": "a",
        "citation": "A",
        "publisher": "P",
        "year": 2020,
        "kind": "guideline",
        "evidence": "guideline",
        "jurisdiction": ["uk"],
    }
    check = Checker()
    sources = parse_sources(
        {"sources.yaml": [entry, entry, {**entry, "id": "b", "superseded_by": "zz"}, {"id": 1}]},
        check,
    )
    assert set(sources) == {"a", "b"}
    problems = rendered(check)
    assert "sources.yaml › [1].id: duplicate source id 'a'" in problems
    assert "sources.yaml › b: superseded_by names unknown source 'zz'" in problems
    assert any(p.startswith("sources.yaml › [3].citation: ") for p in problems)
    check = Checker()
    assert parse_sources({"sources.yaml": {"not": "a list"}}, check) == {}
    assert rendered(check) == ["sources.yaml: expected a list of entries"]


def test_vocabulary_labs_cycles_and_required_definition(raw: RawContent) -> None:
    def break_it(data: dict[str, Any]) -> None:
        data["labs"]["shoe_size"] = {"label": "Shoe", "unit": "EU", "min": 1, "max": 60}
        data["definitions"]["loop_a"] = {"def": "loop_b"}
        data["definitions"]["loop_b"] = {"def": "loop_a"}
        del data["definitions"]["irreversible_cause"]

    check = Checker()
    vocab = parse_vocabulary(with_vocab(raw, break_it).vocabulary, check)
    assert vocab is not None
    problems = rendered(check)
    assert "vocabulary.yaml › labs.shoe_size: no such field in the picture's labs" in problems
    assert "vocabulary.yaml › definitions.loop_a: definition refers to itself" in problems
    assert "vocabulary.yaml › definitions.loop_b: definition refers to itself" in problems
    assert any("'irreversible_cause' definition is required" in p for p in problems)
    check = Checker()
    assert parse_vocabulary({}, check) is None
    assert rendered(check) == ["vocabulary.yaml: missing"]


def test_parameters_regimens_recommendations_and_answering(raw: RawContent) -> None:
    check = Checker()
    (pfile,) = raw.parameters
    entries = list(raw.parameters[pfile])
    parse_parameters({pfile: [*entries, entries[0]]}, check)
    assert rendered(check) == [
        f"{pfile} › [{len(entries)}].id: duplicate parameter id {entries[0]['id']!r}"
    ]

    check = Checker()
    reg = dict(raw.regimens["regimens/UK-HYDROXO-STANDARD.yaml"])
    regimens = parse_regimens({"regimens/OTHER.yaml": reg}, check)
    assert rendered(check) == [
        "regimens/OTHER.yaml › id: id 'UK-HYDROXO-STANDARD' must equal the file name"
    ]
    phases = [dict(p) for p in reg["phases"]]
    phases[-1] = {
        **phases[-1],
        "until": "moon_landing",
        "review_every_days": 90,
        "review_text": "x",
        "count": None,
        "for_days": None,
    }
    check = Checker()
    regimens = parse_regimens(
        {"regimens/UK-HYDROXO-STANDARD.yaml": {**reg, "phases": phases}}, check
    )
    parsed, _ = parse_all(raw)
    check_regimen_vocabulary(regimens, parsed.vocab, check)
    assert any("unknown event 'moon_landing'" in p for p in rendered(check)), rendered(check)

    check = Checker()
    rec = raw.recommendations["safety/B12-SAFE-001.yaml"]
    parse_recommendations({"safety/B12-SAFE-001.yaml": rec, "safety/B12-SAFE-002.yaml": rec}, check)
    assert rendered(check) == [
        "safety/B12-SAFE-002.yaml › id: id 'B12-SAFE-001' must equal the file name",
        "safety/B12-SAFE-002.yaml › id: duplicate recommendation id 'B12-SAFE-001'",
    ]
    check = Checker()
    assert parse_answering({}, check) is None
    assert rendered(check) == ["answering.yaml: missing"]


# -- checks that join sections -----------------------------------------------------------------


def test_the_bundled_content_passes_every_joining_check(raw: RawContent) -> None:
    parsed, check = parse_all(raw)
    for validator in (
        check_citations,
        check_conditions,
        check_actions,
        check_unapproved_parameters,
        check_pathways,
        check_review_levels,
        check_terms_read,
    ):
        validator(parsed, check)
    check_answer_phrases(parsed.recs, check)
    assert check.problems == []


def _problems_after(raw: RawContent, validator: Any) -> list[str]:
    parsed, check = parse_all(raw)
    assert check.problems == []
    validator(parsed, check)
    return rendered(check)


def test_citations(raw: RawContent) -> None:
    cits = [{"source": "nice-ng999", "locator": "x"}]
    edited = with_rec(raw, "safety/B12-SAFE-001.yaml", citations=cits)
    assert _problems_after(edited, check_citations) == [
        "safety/B12-SAFE-001.yaml › citations[0].source: unknown source 'nice-ng999'"
    ]


def test_conditions(raw: RawContent) -> None:
    when = {"all": [{"condition": "moonburn"}, {"def": "nope"}, {"present": "shoe"}]}
    edited = with_rec(raw, "safety/B12-SAFE-001.yaml", when=when)
    assert _problems_after(edited, check_conditions) == [
        "safety/B12-SAFE-001.yaml › when: unknown conditions value 'moonburn'",
        "safety/B12-SAFE-001.yaml › when: unknown definition 'nope'",
        "safety/B12-SAFE-001.yaml › when: unknown field 'shoe'",
    ]


def test_actions_and_pathways(raw: RawContent) -> None:
    rec = raw.recommendations["safety/B12-SAFE-001.yaml"]
    edited = with_rec(raw, "safety/B12-SAFE-001.yaml", action={**rec["action"], "code": "NOPE"})
    assert _problems_after(edited, check_actions) == [
        "safety/B12-SAFE-001.yaml › action.code: unknown alert code 'NOPE'"
    ]
    catch_all = next(f for f, d in raw.recommendations.items() if d["id"] == "B12-DX-040")
    retired = with_rec(raw, catch_all, status="retired")
    problems = _problems_after(retired, check_pathways)
    assert "recommendations: no approved catch-all decision (no 'when') for 'uk'" in problems


def test_answer_phrases(raw: RawContent) -> None:
    parsed, check = parse_all(
        with_rec(raw, "safety/B12-SAFE-001.yaml", aliases=["same thing", "Same Thing"])
    )
    check_answer_phrases(parsed.recs, check)
    assert rendered(check) == ["safety/B12-SAFE-001.yaml › aliases: repeated entry"]


def test_review_levels(raw: RawContent) -> None:
    file = "safety/B12-SAFE-001.yaml"
    no_level = {k: v for k, v in raw.recommendations[file]["review"].items() if k != "level"}
    assert _problems_after(with_rec(raw, file, review=no_level), check_review_levels) == [
        f"{file} › review.level: approved content must record how far it was reviewed"
        " (engineering or clinical)"
    ]
    signed = {
        **REVIEW,
        "level": "clinical",
        "signed_off_by": ["cso"],
        "signed_off_on": "2026-02-01",
    }
    draft = "safety/B12-SAFE-027.yaml"
    assert _problems_after(with_rec(raw, draft, review=signed), check_review_levels) == [
        f"{draft} › review.level: draft content cannot be clinically signed off"
    ]


@pytest.mark.parametrize(
    ("review", "message"),
    [
        ({**REVIEW, "level": "clinical"}, "needs signed_off_by and signed_off_on"),
        ({**REVIEW, "signed_off_by": ["cso"]}, "level: clinical only"),
        ({**REVIEW, "level": "engineering", "author": "x"}, "may not also review"),
        (
            {
                **REVIEW,
                "level": "clinical",
                "author": "cso",
                "signed_off_by": ["cso"],
                "signed_off_on": "2026-02-01",
            },
            "may not also review or sign off",
        ),
    ],
)
def test_a_review_block_is_consistent(raw: RawContent, review: Any, message: str) -> None:
    check = Checker()
    rec = raw.recommendations["safety/B12-SAFE-001.yaml"]
    parse_recommendations({"safety/B12-SAFE-001.yaml": {**rec, "review": review}}, check)
    (problem,) = rendered(check)
    assert problem.startswith("safety/B12-SAFE-001.yaml › review: ")
    assert message in problem


# -- terms a picture can state must be read by a rule ------------------------------------------


def test_every_bundled_unread_term_is_marked_informational_with_a_why(raw: RawContent) -> None:
    parsed, _ = parse_all(raw)
    read = terms_read(parsed)
    for section, fld in PICTURE_TERMS.items():
        for name, term in getattr(parsed.vocab, section).items():
            is_read = bool(read[fld].get(name) or read[fld].get("any"))
            assert is_read != term.informational, (section, name)
            assert not term.informational or (term.why or "").strip()


@settings(max_examples=12, deadline=None)
@given(
    # Every neurological symptom is read by the rules that test ``neuro_symptoms: [any]``.
    section=st.sampled_from(sorted(set(PICTURE_TERMS) - {"neuro_symptoms"})),
    name=st.from_regex(r"[a-z][a-z_]{2,20}", fullmatch=True),
)
def test_a_term_no_rule_reads_is_an_error(section: str, name: str) -> None:
    """Property: any new term in a picture section fails ``kb check`` until a rule reads it or
    it is marked informational with a why; the message names the term."""
    raw = bundled()
    parsed, _ = parse_all(raw)
    if name in getattr(parsed.vocab, section):
        return

    def add(data: dict[str, Any], **extra: Any) -> None:
        data[section][name] = {"label": "A new term", **extra}

    with pytest.raises(KnowledgeBaseError) as err:
        build_knowledge_base(with_vocab(raw, add))
    (problem,) = [p.render() for p in err.value.problems]
    assert problem.startswith(f"vocabulary.yaml › {section}.{name}: ")
    assert "no rule reads it" in problem
    assert "informational: true with a why" in problem

    marked = with_vocab(raw, lambda d: add(d, informational=True, why="Recorded only."))
    assert name in getattr(build_knowledge_base(marked).vocabulary, section)


def test_a_new_neurological_symptom_is_read_by_the_any_symptom_rules(raw: RawContent) -> None:
    def add(data: dict[str, Any]) -> None:
        data["neuro_symptoms"]["tremor_new"] = {"label": "Tremor"}

    parsed, _ = parse_all(with_vocab(raw, add))
    assert parsed.vocab.neuro_symptoms["tremor_new"].label == "Tremor"
    assert terms_read(parsed)["neuro_symptoms"]["any"]


def test_a_term_a_rule_reads_may_not_stay_informational(raw: RawContent) -> None:
    def mark(data: dict[str, Any]) -> None:
        data["medications"]["metformin"].update(informational=True, why="stale")

    with pytest.raises(KnowledgeBaseError) as err:
        build_knowledge_base(with_vocab(raw, mark))
    (problem,) = [p.render() for p in err.value.problems]
    assert problem.startswith("vocabulary.yaml › medications.metformin.informational: read by ")
    assert "remove the informational mark" in problem


def test_an_informational_term_needs_a_why(raw: RawContent) -> None:
    def mark(data: dict[str, Any]) -> None:
        data["conditions"]["dementia"]["informational"] = True
        data["conditions"]["dementia"].pop("why", None)

    with pytest.raises(KnowledgeBaseError) as err:
        build_knowledge_base(with_vocab(raw, mark))
    assert any(
        p.render().startswith("vocabulary.yaml › conditions.dementia: ")
        and "needs a why" in p.render()
        for p in err.value.problems
    )


def test_the_composed_knowledge_base_is_indexed_for_the_engine(raw: RawContent) -> None:
    kb = build_knowledge_base(raw)
    assert list(kb.recommendations) == sorted(kb.recommendations)
    assert kb.decisions
    assert kb.classifiers
    assert kb.others
    assert len(kb.decisions) + len(kb.classifiers) + len(kb.others) == len(kb.recommendations)
    keys = [(d.action.priority, d.id) for d in kb.decisions if hasattr(d.action, "priority")]
    assert keys == sorted(keys)
    assert set(kb.pathways) == {getattr(d.action, "pathway", None) for d in kb.decisions}
    assert set(kb.predicates) >= {r.id for r in kb.recommendations.values() if r.when is not None}
    assert all(r.status == "approved" for r in kb.usable("others", "uk", False))
    assert kb.review_floor == {"uk": "engineering_reviewed", "us": "engineering_reviewed"}
