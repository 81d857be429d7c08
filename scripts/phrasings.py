"""Write ``src/b12/knowledge/phrasings.yaml``: questions as users asked them, per item.

The answer engine scores each approved recommendation against its own texts and, from this
file, against questions real users asked that it answers (``core/answer/retrieve.py``).  The
questions are the *dev* part of the labelled set (``tests/answers/questions.yaml``): each
covered dev question is filed under its best headline item (the first of its ``recs``).
Held-out questions are never written here: they measure how the engine does on wording it
has never seen (``tests/answers/test_phrasings.py`` checks both).

Run after labelling new dev questions: ``.venv/bin/python scripts/phrasings.py``;
``--check`` exits 1 when the file is out of date (the test suite runs it).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT / "tests" / "answers" / "questions.yaml"
OUT = ROOT / "src" / "b12" / "knowledge" / "phrasings.yaml"

HEADER = """\
# Questions as users asked them, per approved recommendation (answer-engine retrieval text).
# Written by scripts/phrasings.py from the dev part of tests/answers/questions.yaml (each
# covered dev question under the first item of its recs); never a held-out question.  The
# engine scores an item against these as well as its own texts; they are never shown and are
# never read as facts of a question.  Do not edit by hand: label the question in
# questions.yaml and run the script.
"""


def _quote(text: str) -> str:
    """A YAML double-quoted scalar (JSON's string syntax is a subset of it)."""
    return json.dumps(text, ensure_ascii=False)


def render(questions_path: Path = QUESTIONS) -> str:
    """The file's text for the labelled set at ``questions_path``."""
    raw = YAML(typ="safe", pure=True).load(questions_path.read_text(encoding="utf-8"))
    by_rec: dict[str, list[str]] = {}
    for entry in raw:
        recs = (entry.get("expect") or {}).get("recs") or []
        if entry.get("split") != "dev" or entry.get("kind") != "covered" or not recs:
            continue
        said = by_rec.setdefault(str(recs[0]), [])
        text = " ".join(str(entry["q"]).split())
        if text not in said:
            said.append(text)
    lines = [HEADER, "phrasings:\n"]
    for rec_id in sorted(by_rec):
        lines.append(f"  {rec_id}:\n")
        lines.extend(f"  - {_quote(q)}\n" for q in by_rec[rec_id])
    return "".join(lines)


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        current = OUT.read_text(encoding="utf-8") if OUT.is_file() else ""
        if current != text:
            sys.stdout.write(f"{OUT.relative_to(ROOT)} is out of date: run scripts/phrasings.py\n")
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    sys.stdout.write(f"wrote {OUT.relative_to(ROOT)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
