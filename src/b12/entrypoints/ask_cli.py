"""``b12 ask "QUESTION"``: a cited answer from the knowledge base (PRODUCT.md C6).

The readable output follows the shape of a published clinical answer: the headline in bold,
titled sections whose sentences carry superscript reference numbers, the numbered reference
list, related questions, review status, content version and the disclaimer.  ``--json`` prints
the Answer contract (byte-identical for the same question and knowledge base).  A question the
knowledge base does not cover prints the knowledge base's "no answer" text and the nearest
covered topics, and still exits 0.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from b12.core.errors import InputError

if TYPE_CHECKING:  # the answer engine (BM25 index, numpy) and Rich are imported when used
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from b12.core.answer.models import Answer
    from b12.core.knowledge import KnowledgeBase

SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
#: Fixed structural labels of the readable output (the clinical text is the knowledge base's).
LABELS = {
    "references": "References",
    "guideline": "Guideline set",
    "audience": "Audience",
    "review": "Review status",
    "review_level": "Review level",
    "content": "Content version",
    "normaliser": "Normaliser",
    "not_covered": "Not covered",
    "assumed": "Assumed",
}


def superscript(refs: tuple[int, ...]) -> str:
    """``(1, 12)`` → ``¹˒¹²``: reference numbers as superscripts, comma-separated."""
    return ",".join(str(n).translate(SUPERSCRIPT) for n in refs)


def _line(text: str, refs: tuple[int, ...]) -> Text:
    from rich.text import Text

    out = Text(text)
    if refs:
        out.append(" " + superscript(refs), style="cyan")
    return out


def _bullets(rows: list[tuple[str, Text]]) -> Table:
    """A hanging-indent list: marker column, then text that wraps under itself."""
    from rich.table import Table

    grid = Table.grid(padding=(0, 1))
    grid.add_column(justify="right", width=4, no_wrap=True)
    grid.add_column(ratio=1)
    for marker, text in rows:
        grid.add_row(marker, text)
    return grid


def render_answer(ans: Answer, console: Console) -> None:
    """Print the answer in the seeds' shape."""
    from rich.markup import escape
    from rich.panel import Panel
    from rich.text import Text

    meta = Text()
    meta.append(f"{LABELS['guideline']}: {ans.guideline.upper()}   ")
    meta.append(f"{LABELS['audience']}: {ans.audience}   ")
    meta.append(f"{LABELS['review']}: {ans.review_status}\n")
    meta.append(f"{LABELS['review_level']}: {ans.review_label}\n")
    meta.append(f"{LABELS['content']}: {ans.content_version}   ")
    meta.append(f"{LABELS['normaliser']}: v{ans.normaliser_version}", style="dim")
    console.print(Panel(meta, title=escape(ans.question), title_align="left", expand=True))
    if ans.status == "no_answer" or ans.headline is None:
        console.print(Text(LABELS["not_covered"], style="bold"))
        console.print(ans.message or "", markup=False)
        if ans.nearest_topics:
            console.print()
            console.print(Text(ans.nearest_topics_title or "", style="bold"))
            rows = []
            for topic in ans.nearest_topics:
                line = Text(topic.title)
                if topic.question:
                    line.append(f" — {topic.question}", style="dim")
                rows.append(("•", line))
            console.print(_bullets(rows))
        console.print()
        console.print(Text(ans.disclaimer, style="dim"))
        return
    if ans.framing:
        console.print(Text(ans.framing, style="italic"))
        console.print()
    headline = Text(ans.headline.text, style="bold")
    if ans.headline.refs:
        headline.append(" " + superscript(ans.headline.refs), style="cyan")
    console.print(headline)
    for section in ans.sections:
        console.print()
        console.print(Text(section.title, style="bold underline"))
        console.print(_bullets([("•", _line(i.text, i.refs)) for i in section.items]))
    if ans.references:
        console.print()
        console.print(Text(LABELS["references"], style="bold underline"))
        rows = []
        for ref in ans.references:
            line = Text(ref.citation)
            line.append(f" — {ref.locator}", style="dim")
            line.append(f" ({ref.evidence})", style="dim")
            rows.append((f"{ref.n}.", line))
        console.print(_bullets(rows))
    if ans.related_questions:
        console.print()
        console.print(Text(ans.related_questions_title, style="bold underline"))
        console.print(_bullets([("•", Text(q)) for q in ans.related_questions]))
    if ans.parameters.assumed:
        console.print()
        console.print(
            Text(f"{LABELS['assumed']}: {', '.join(ans.parameters.assumed)}", style="dim")
        )
    console.print()
    console.print(Text(ans.disclaimer, style="dim"))


def register(app: typer.Typer, load_kb: Callable[[Path | None], KnowledgeBase]) -> None:
    """Add ``ask`` to the CLI; ``load_kb`` loads the knowledge base (exit 1 when invalid)."""

    @app.command("ask")
    def ask(
        question: Annotated[str, typer.Argument(metavar="QUESTION", help="The question.")],
        audience: Annotated[
            str, typer.Option(help="Who the answer is for: clinician or patient.")
        ] = "clinician",
        guideline: Annotated[
            str, typer.Option(help="Guideline set: uk or us (a question naming one wins).")
        ] = "uk",
        as_json: Annotated[
            bool, typer.Option("--json", help="Print the Answer JSON instead of a report.")
        ] = False,
        kb_path: Annotated[
            Path | None,
            typer.Option("--kb", help="Knowledge-base folder (default: the bundled one)."),
        ] = None,
    ) -> None:
        """Answer a question about B12 deficiency from the reviewed knowledge base, cited."""
        kb = load_kb(kb_path)
        try:
            from b12.core.answer import answer

            result = answer(question, kb, audience=audience, guideline=guideline)
        except InputError as err:
            for problem in err.problems:
                typer.echo(f"error: {problem.render()}", err=True)
            raise typer.Exit(2) from None
        if as_json:
            typer.echo(result.model_dump_json(indent=2))
        else:
            from rich.console import Console

            render_answer(result, Console())
