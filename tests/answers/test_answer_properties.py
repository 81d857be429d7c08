"""Property tests of ``answer``: any input is answered, refused as out of scope, or an InputError.

* arbitrary text (any Unicode), arbitrary objects, audiences and guideline sets never raise
  anything but :class:`InputError`;
* questions stitched from the knowledge base's own words, numbers and units (the text the
  extractor is most likely to trip on) always give a well-formed answer: every statement names
  an approved recommendation usable under the answer's guideline set, references are numbered
  1..n in order of first use, a patient answer carries the framing, and asking again gives
  byte-identical JSON.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from b12.adapters.knowledge_files import load_knowledge_base
from b12.core.answer import MAX_QUESTION_CHARS, answer
from b12.core.answer.compose import PRIMARY_KINDS
from b12.core.errors import InputError

KB = load_knowledge_base()
WORDS = sorted(
    {
        w
        for r in KB.recommendations.values()
        for text in (r.title, *r.aliases, *r.questions)
        for w in text.split()
    }
    | {w for table in (KB.answering.shorthand, KB.answering.misspellings) for w in table}
)
FILLERS = [
    "no",
    "not",
    "without",
    "denies",
    "every",
    "q3m",
    "mg",
    "mcg",
    "ng/L",
    "pmol/L",
    "pg/mL",
    "year",
    "old",
    "cm",
    "daily",
    "weekly",
    "monthly",
    ",",
    ";",
    "?",
    "-",
    "/",
    "+",
    "I",
    "my",
    "US",
    "NICE",
    "FDA",
    "0",
    "1",
    "12",
    "150",
    "1000",
    "99999999999999999999",
    "2-3",
    "4.5",
]


def _check(ans: Any, audience: str) -> None:
    assert ans.audience == audience
    assert ans.content_version == KB.content_version
    if ans.status == "no_answer":
        assert ans.headline is None
        assert not ans.sections
        assert not ans.references
        assert ans.message
        return
    numbers = [r.n for r in ans.references]
    assert numbers == list(range(1, len(numbers) + 1))
    primary = [KB.sources[r.source_id].kind in PRIMARY_KINDS for r in ans.references]
    assert primary == sorted(primary, reverse=True)  # primary sources before summaries
    assert len({r.source_id for r in ans.references}) == len(numbers)  # each source once
    for item in [ans.headline, *(i for s in ans.sections for i in s.items)]:
        assert item is not None
        assert item.text
        assert item.recs
        assert item.refs
        assert set(item.refs) <= set(numbers)
        for rid in item.recs:
            rec = KB.recommendations[rid]
            assert rec.status == "approved"
            assert ans.guideline in rec.jurisdiction
    assert (ans.framing is not None) == (audience == "patient")


@given(
    question=st.one_of(st.text(max_size=1200), st.none(), st.integers(), st.binary(max_size=20)),
    audience=st.sampled_from(["clinician", "patient", "", "PATIENT", None]),
    guideline=st.sampled_from(["uk", "us", "eu", None]),
)
def test_arbitrary_input_answers_or_raises_input_error_only(
    question: Any, audience: Any, guideline: Any
) -> None:
    try:
        ans = answer(question, KB, audience=audience, guideline=guideline)
    except InputError as err:
        fields = {p.field for p in err.problems}
        ans = None
    if ans is None:
        assert fields <= {"question", "audience", "guideline"}
        return
    assert isinstance(question, str)
    assert 0 < len(question) <= MAX_QUESTION_CHARS
    _check(ans, audience)


@given(
    words=st.lists(st.sampled_from(WORDS + FILLERS), min_size=1, max_size=25),
    audience=st.sampled_from(["clinician", "patient"]),
    guideline=st.sampled_from(["uk", "us"]),
)
def test_questions_made_of_knowledge_base_words_give_well_formed_answers(
    words: list[str], audience: str, guideline: str
) -> None:
    question = " ".join(words)
    ans = answer(question, KB, audience=audience, guideline=guideline)
    _check(ans, audience)
    again = answer(question, KB, audience=audience, guideline=guideline)
    assert again.model_dump_json() == ans.model_dump_json()
