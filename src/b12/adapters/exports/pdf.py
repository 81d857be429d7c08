"""``plan_to_pdf`` — the printable patient plan (A4, fpdf2, built-in Helvetica).

The words come from the patient view (:func:`b12.core.patient_view.patient_view`), so every
sentence is knowledge-base content; this module only lays them out: title, who and when, the
review banner, what the treatment is, a table of dated doses, check-ups and tests with their
windows, warnings, monitoring, numbered references with full citations, the content version,
the patient disclaimer and page numbers.

No font file is needed: text outside latin-1 is transliterated (:func:`text.latin1`), so any
character prints as something and never raises.  Deterministic: the creation date is
``plan.as_of`` at 00:00 UTC and the file id is a hash of the content, so the same plan and view
give the same bytes.
"""

from __future__ import annotations

from datetime import UTC, datetime, time

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from b12.adapters.exports.text import dose_text, human_date, latin1, refs_text, short_date
from b12.core.patient_view import PatientPlan, PatientScheduleEntry
from b12.core.plan_models import Plan

FONT = "Helvetica"
MARGIN = 15
TITLE = "Your vitamin B12 treatment plan"
PAGES_ALIAS = "{b12:pages}"
GUIDELINE_NAMES = {"uk": "UK", "us": "US"}
BANNER_RGB = (180, 30, 30)
HEADING_RGB = (20, 50, 110)
TEXT_RGB = (20, 20, 20)
MUTED_RGB = (90, 90, 90)


class _PlanPDF(FPDF):
    """A4 portrait with a footer that carries the content version and page numbers."""

    def __init__(self, footer_text: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self._footer_text = latin1(footer_text)
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(auto=True, margin=18)
        self.alias_nb_pages(PAGES_ALIAS)

    def footer(self) -> None:
        self.set_y(-13)
        self.set_font(FONT, size=8)
        self.set_text_color(*MUTED_RGB)
        self.cell(
            0,
            5,
            f"{self._footer_text}   Page {self.page_no()} of {PAGES_ALIAS}",
            align="C",
        )


def _heading(pdf: FPDF, text: str) -> None:
    pdf.ln(3)
    pdf.set_font(FONT, style="B", size=13)
    pdf.set_text_color(*HEADING_RGB)
    pdf.multi_cell(0, 7, latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(*TEXT_RGB)
    pdf.set_font(FONT, size=10)


def _para(pdf: FPDF, text: str, *, style: str = "", size: float = 10) -> None:
    pdf.set_font(FONT, style=style, size=size)
    pdf.multi_cell(0, 5, latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")


def _bullet(pdf: FPDF, text: str, *, style: str = "") -> None:
    pdf.set_font(FONT, style=style, size=10)
    pdf.cell(5, 5, "-")
    pdf.multi_cell(0, 5, latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")


def _with_refs(text: str, refs: tuple[int, ...]) -> str:
    cited = refs_text(refs)
    return f"{text} {cited}" if cited else text


def _window(entry: PatientScheduleEntry) -> str:
    if entry.window is not None:
        return f"{short_date(entry.window.earliest)} to {short_date(entry.window.latest)}"
    return entry.repeats or ""


def _banner(pdf: FPDF, text: str) -> None:
    pdf.ln(2)
    pdf.set_draw_color(*BANNER_RGB)
    pdf.set_text_color(*BANNER_RGB)
    pdf.set_line_width(0.6)
    pdf.set_font(FONT, style="B", size=10)
    pdf.multi_cell(
        0, 5, latin1(text), border=1, new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L", padding=2
    )
    pdf.set_line_width(0.2)
    pdf.set_draw_color(0, 0, 0)
    pdf.set_text_color(*TEXT_RGB)


def _who_when(pdf: FPDF, plan: Plan, view: PatientPlan, label: str | None) -> None:
    pdf.set_font(FONT, size=10)
    if label:
        _para(pdf, f"For: {label}", style="B")
    lines = [
        f"Plan made on: {human_date(view.as_of)}",
        f"Treatment starts: {human_date(view.start)}",
        f"Dates shown up to: {human_date(view.horizon_end)}",
        f"Guidance followed: {GUIDELINE_NAMES.get(plan.guideline, plan.guideline)}",
    ]
    for line in lines:
        _para(pdf, line)


def _treatment(pdf: FPDF, view: PatientPlan) -> None:
    _heading(pdf, "Your treatment")
    _para(pdf, _with_refs(view.headline.text, view.headline.refs), style="B")
    for reason in view.reasons:
        _para(pdf, _with_refs(reason.text, reason.refs))
    if view.medicine:
        pdf.ln(1)
        _para(pdf, f"Medicine: {view.medicine}")
    for phase in view.phases:
        _bullet(pdf, _with_refs(f"{phase.text} ({dose_text(phase.dose)})", phase.refs))
    if view.dosing_note:
        pdf.ln(1)
        _para(pdf, view.dosing_note, style="I")


COLUMNS = (
    ("Date", 29),
    ("What", 17),
    ("Details", 73),
    ("Dose", 13),
    ("Can be given", 33),
    ("Refs", 15),
)
LINE_H = 4.2
PAD = 1.0
HEAD_FILL = (230, 235, 245)
TICK = 3.5  # the side of a tick box, mm


class _Table:
    """A plain bordered table drawn cell by cell.

    fpdf2's own ``table()`` re-measures every character of every cell, which takes a second for
    a year of alternate-day doses; here each distinct text is wrapped once (the same phase text
    repeats on every dose row) and the lines are drawn with ``text()``.
    """

    def __init__(
        self,
        pdf: FPDF,
        columns: tuple[tuple[str, float], ...] = COLUMNS,
        *,
        tick: int | None = None,
    ) -> None:
        self.pdf = pdf
        self.columns = columns
        self.tick = tick  # a column that gets an empty box to tick on every row
        self.wrapped: dict[tuple[str, float, str], list[str]] = {}

    def wrap(self, text: str, width: float, style: str) -> list[str]:
        key = (text, width, style)
        if key not in self.wrapped:
            self.wrapped[key] = [
                line for para in text.split("\n") for line in self._wrap_para(para, width)
            ]
        return self.wrapped[key]

    def _fits(self, text: str, width: float) -> bool:
        return self.pdf.get_string_width(text) <= width

    def _wrap_para(self, text: str, width: float) -> list[str]:
        lines: list[str] = []
        current = ""
        for word in text.split(" "):
            candidate = f"{current} {word}" if current else word
            if self._fits(candidate, width):
                current = candidate
                continue
            if current:
                lines.append(current)
            while len(word) > 1 and not self._fits(word, width):
                cut = max(
                    (i for i in range(1, len(word)) if self._fits(word[:i], width)), default=1
                )
                lines.append(word[:cut])
                word = word[cut:]
            current = word
        lines.append(current)
        return lines

    def row(self, cells: tuple[str, ...], *, heading: bool = False) -> None:
        pdf = self.pdf
        style = "B" if heading else ""
        pdf.set_font(FONT, style=style, size=9)
        widths = [w for _, w in self.columns]
        lines = [self.wrap(c, w - 2 * PAD, style) for c, w in zip(cells, widths, strict=True)]
        height = max(len(ls) for ls in lines) * LINE_H + 2 * PAD
        if not heading and pdf.get_y() + height > pdf.page_break_trigger:
            pdf.add_page()
            self.row(tuple(name for name, _ in self.columns), heading=True)
            pdf.set_font(FONT, style=style, size=9)
        x, y = pdf.l_margin, pdf.get_y()
        for i, (cell_lines, width) in enumerate(zip(lines, widths, strict=True)):
            if i == self.tick and not heading:
                pdf.rect(x + PAD + 1, y + PAD + 0.5, TICK, TICK)
            if heading:
                pdf.set_fill_color(*HEAD_FILL)
                pdf.rect(x, y, width, height, style="DF")
            else:
                pdf.rect(x, y, width, height)
            for k, line in enumerate(cell_lines):
                if line:
                    pdf.text(x + PAD, y + PAD + k * LINE_H + LINE_H * 0.75, line)
            x += width
        pdf.set_xy(pdf.l_margin, y + height)


def _schedule(pdf: FPDF, view: PatientPlan) -> None:
    if not view.schedule:
        return
    _heading(pdf, "Dates")
    pdf.set_line_width(0.2)
    table = _Table(pdf)
    table.row(tuple(name for name, _ in COLUMNS), heading=True)
    for entry in view.schedule:
        table.row(
            (
                latin1(human_date(entry.date)),
                latin1(entry.label),
                latin1(entry.what),
                latin1(dose_text(entry.dose)),
                latin1(_window(entry)),
                latin1(refs_text(entry.refs)),
            )
        )
    if view.schedule_note:
        pdf.ln(2)
        _para(pdf, view.schedule_note, style="I")


def _alerts(pdf: FPDF, view: PatientPlan) -> None:
    if not view.alerts:
        return
    _heading(pdf, "Important")
    for alert in view.alerts:
        style = "B" if alert.severity in ("stop", "warning") else ""
        _bullet(pdf, _with_refs(alert.text, alert.refs), style=style)


def _monitoring(pdf: FPDF, view: PatientPlan) -> None:
    if not view.monitoring:
        return
    _heading(pdf, "Check-ups and tests")
    for item in view.monitoring:
        text = item.text
        if item.dates:
            text += " (" + ", ".join(human_date(d) for d in item.dates) + ")"
        _bullet(pdf, _with_refs(text, item.refs))


def _references(pdf: FPDF, view: PatientPlan) -> None:
    if not view.references:
        return
    _heading(pdf, "References")
    pdf.set_font(FONT, size=8)
    for ref in view.references:
        pdf.multi_cell(
            0,
            4,
            latin1(f"[{ref.n}] {ref.citation} {ref.locator}."),
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
            align="L",
        )


def plan_to_pdf(plan: Plan, view: PatientPlan, *, label: str | None = None) -> bytes:
    """The printable patient plan as PDF bytes (same plan and view → identical bytes)."""
    pdf = _PlanPDF(f"B12 plan - content version {view.content_version}")
    pdf.set_creation_date(datetime.combine(plan.as_of, time(0, 0), tzinfo=UTC))
    pdf.set_title(TITLE)
    pdf.set_creator("b12")
    pdf.set_lang("en")
    pdf.add_page()
    pdf.set_text_color(*TEXT_RGB)
    pdf.set_font(FONT, style="B", size=18)
    pdf.multi_cell(0, 9, TITLE, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    _who_when(pdf, plan, view, label)
    if view.review_banner:
        _banner(pdf, view.review_banner)
    _treatment(pdf, view)
    _schedule(pdf, view)
    _alerts(pdf, view)
    _monitoring(pdf, view)
    _references(pdf, view)
    _heading(pdf, "About this plan")
    _para(pdf, f"Content version: {view.content_version}", size=9)
    _para(pdf, f"Review level: {view.review_label}", size=9)
    pdf.ln(1)
    _para(pdf, view.disclaimer, style="I")
    return bytes(pdf.output())
