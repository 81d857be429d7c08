"""Write ``src/b12/knowledge/english_words.yaml``: the most frequent English words.

The answer engine's scope gate (``core/answer/scope.py``) refuses a question that names B12
but is about a topic the knowledge base never mentions ("b12 for rosacea?"): a word that is
neither a knowledge-base word nor a common English word is read as such a topic.  This list
is the "common English word" half.  It is content data, generated once and committed; the
engine never reads it at run time except through the loaded knowledge base.

Run (needs ``wordfreq``, which the project does not install):
``pip install wordfreq==3.1.1 && python scripts/common_words.py``.
The word list is derived from wordfreq's data (Robyn Speer et al.), CC BY-SA 4.0.
"""

from __future__ import annotations

import sys
from pathlib import Path

#: How many words: about Zipf frequency 3.6 and above (a few uses per million words).
COUNT = 13000
WORDS_PER_LINE = 16
OUT = Path(__file__).resolve().parents[1] / "src" / "b12" / "knowledge" / "english_words.yaml"

HEADER = """\
# The {count} most frequent English words (lower case, letters only), from wordfreq 3.1.1
# (Robyn Speer et al., data CC BY-SA 4.0), written by scripts/common_words.py.  The answer
# engine's scope gate reads a word of a question that names B12 as a topic of its own when it
# is neither a knowledge-base word nor in this list ("b12 for rosacea?"), unless the question
# describes a deficiency or a treatment (docs/answers.md).  Do not edit by hand.
source: wordfreq 3.1.1, English, top {count}
words: |
"""


def main() -> int:
    from wordfreq import top_n_list  # type: ignore[import-not-found]

    words = sorted({w for w in top_n_list("en", COUNT) if w.isalpha() and w.isascii()})
    lines = [
        "  " + " ".join(words[i : i + WORDS_PER_LINE]) for i in range(0, len(words), WORDS_PER_LINE)
    ]
    OUT.write_text(HEADER.format(count=COUNT) + "\n".join(lines) + "\n", encoding="utf-8")
    sys.stdout.write(f"{OUT}: {len(words)} words\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
