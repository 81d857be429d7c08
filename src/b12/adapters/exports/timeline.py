"""``plan_timeline_svg`` — an accessible inline SVG of the plan from start to horizon.

Layout (a 1000-unit-wide ``viewBox`` that scales to the container's width): a lane of regimen
phases as bands, then one lane each for doses (circles), reviews (diamonds) and tests
(triangles) — distinct shapes, so colour is never the only cue — with each dose's acceptable
window as a bar behind it; a month axis; a legend.  Only presentation attributes are used (no
``style`` attributes or elements), so a strict Content-Security-Policy does not block it.
Markers are bare shapes inside one group per lane, which keeps a year of alternate-day doses
to a few kilobytes.  A repeating entry (an open-ended phase shown as one row, issue 16) still
gets one marker per dose (:func:`b12.core.schedule.expand_schedule`), plus a thin run line under
its markers with the entry's words as a tooltip, and a legend line saying what it stands for
("every 2 days from … to … (N doses)").  All text is escaped; the output depends only on the
plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from html import escape

from b12.adapters.exports.text import human_date, month_label
from b12.core.plan_models import Plan, ScheduleEntry
from b12.core.schedule import expand_schedule

WIDTH = 1000
LEFT = 90
RIGHT = 40
PHASE_Y = 16
PHASE_H = 22
LANES = {"dose": 64, "review": 92, "test": 120}
AXIS_Y = 140
LEGEND_Y = 190
ROW = 20
INK = "#1f2933"
MUTED = "#52606d"
SHAPE_FILL = {"dose": "#1d4ed8", "review": "#b45309", "test": "#047857"}
PHASE_FILLS = ("#dbeafe", "#fde68a", "#d1fae5", "#fce7f3", "#e0e7ff", "#fee2e2")
LANE_NAMES = {"dose": "Doses", "review": "Reviews", "test": "Tests"}
LEGEND_NAMES = {"dose": "Dose", "review": "Review", "test": "Test"}
CHAR_W = 6.2  # average glyph advance at font-size 11, for fitting labels into bands
MONTH_STEPS = (1, 2, 3, 6, 12)


def _e(text: str) -> str:
    return escape(text, quote=True)


def _n(value: float) -> str:
    """A coordinate with at most one decimal, no trailing zeros (small, deterministic)."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


class _Scale:
    def __init__(self, start: date, end: date) -> None:
        self.start = start
        self.days = max((end - start).days, 1)
        self.end = end

    def x(self, day: date) -> float:
        offset = min(max((day - self.start).days, 0), self.days)
        return LEFT + offset * (WIDTH - LEFT - RIGHT) / self.days


def _shape(kind: str, x: float, y: float, r: float = 3.5) -> str:
    if kind == "dose":
        return f'<circle cx="{_n(x)}" cy="{y}" r="{_n(r)}"/>'
    if kind == "review":
        return (
            f'<polygon points="{_n(x)},{y - 6} {_n(x + 6)},{y} {_n(x)},{y + 6} {_n(x - 6)},{y}"/>'
        )
    return f'<polygon points="{_n(x)},{y - 6} {_n(x + 6)},{y + 5} {_n(x - 6)},{y + 5}"/>'


def _radius(xs: list[float], i: int) -> float:
    """A circle shrinks (down to 1.5) where doses are close, so a dense run stays readable."""
    gaps = [abs(xs[j] - xs[i]) for j in (i - 1, i + 1) if 0 <= j < len(xs) and xs[j] != xs[i]]
    return min(3.5, max(1.5, min(gaps) * 0.4)) if gaps else 3.5


def _month_starts(start: date, end: date) -> list[date]:
    out: list[date] = []
    year, month = start.year, start.month
    while True:
        day = date(year, month, 1)
        if day > end:
            return out
        if day >= start:
            out.append(day)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def _axis(scale: _Scale) -> list[str]:
    months = _month_starts(scale.start, scale.end)
    span = WIDTH - LEFT - RIGHT
    per_month = span / max(len(months), 1)
    step = next((s for s in MONTH_STEPS if per_month * s >= 60), MONTH_STEPS[-1] * 5)
    parts = [
        f'<g stroke="{MUTED}" fill="{MUTED}" font-size="11">',
        f'<line x1="{LEFT}" y1="{AXIS_Y}" x2="{WIDTH - RIGHT}" y2="{AXIS_Y}" stroke-width="1"/>',
    ]
    for day in months:
        x = _n(scale.x(day))
        labelled = (day.year * 12 + day.month - 1) % step == 0
        tick = 7 if labelled else 4
        parts.append(f'<line x1="{x}" y1="{AXIS_Y}" x2="{x}" y2="{AXIS_Y + tick}"/>')
        if labelled:
            parts.append(
                f'<text x="{x}" y="{AXIS_Y + 20}" text-anchor="middle" stroke="none">'
                f"{_e(month_label(day))}</text>"
            )
    parts.append("</g>")
    return parts


def _phase_spans(
    plan: Plan, shown: Mapping[str, str] | None = None
) -> list[tuple[str, date, date]]:
    """(phase name, first dated item, last dated item or horizon end) in regimen order; the
    name is ``shown[name]`` when the caller gives people words for it."""
    if plan.regimen is None:
        return []
    spans: list[tuple[str, date, date]] = []
    names = [p.name for p in plan.regimen.phases]
    listed = expand_schedule(plan.schedule)
    for name in names:
        dates = [e.date for e in listed if e.phase == name]
        if dates:
            spans.append(((shown or {}).get(name, name), min(dates), max(dates)))
    # A phase that runs on (open-ended, or cut by the horizon) reaches the end of the axis.
    if spans and plan.schedule_continues:
        name, first, _ = spans[-1]
        spans[-1] = (name, first, plan.horizon_end)
    return spans


def _phases(plan: Plan, scale: _Scale, shown: Mapping[str, str] | None) -> list[str]:
    parts = [f'<g font-size="11" fill="{INK}">']
    for i, (name, first, last) in enumerate(_phase_spans(plan, shown)):
        x1, x2 = scale.x(first), scale.x(last)
        width = max(x2 - x1, 2.0)
        fill = PHASE_FILLS[i % len(PHASE_FILLS)]
        parts.append(
            f'<rect x="{_n(x1)}" y="{PHASE_Y}" width="{_n(width)}" height="{PHASE_H}" '
            f'fill="{fill}" stroke="{MUTED}" stroke-width="0.5"/>'
        )
        if len(name) * CHAR_W + 8 <= width:
            parts.append(f'<text x="{_n(x1 + 4)}" y="{PHASE_Y + 15}">{_e(name)}</text>')
    parts.append("</g>")
    return parts


def _markers(entries: list[ScheduleEntry], kind: str, scale: _Scale) -> list[str]:
    y = LANES[kind]
    parts: list[str] = []
    windows = [e.window for e in entries if e.window is not None]
    if windows:
        parts.append(
            f'<g class="windows" stroke="{SHAPE_FILL[kind]}" stroke-width="2" opacity="0.45">'
        )
        for w in windows:
            parts.append(
                f'<line x1="{_n(scale.x(w.earliest))}" y1="{y}" '
                f'x2="{_n(scale.x(w.latest))}" y2="{y}"/>'
            )
        parts.append("</g>")
    parts.append(
        f'<g class="{kind}s" fill="{SHAPE_FILL[kind]}" stroke="#ffffff" stroke-width="0.8">'
    )
    xs = [scale.x(e.date) for e in entries]
    parts.extend(_shape(kind, x, y, _radius(xs, i)) for i, x in enumerate(xs))
    parts.append("</g>")
    return parts


def _repeat_words(e: ScheduleEntry) -> str:
    """A repeating entry in words with the timeline's dates ("every 2 days from … (7 doses)")."""
    r = e.repeat
    if r is None:  # pragma: no cover - only called for repeating entries
        return e.repeats or ""
    if r.every_days:
        rhythm = "every day" if r.every_days == 1 else f"every {r.every_days} days"
    else:
        days = f" ({', '.join(d.capitalize() for d in r.weekdays)})" if r.weekdays else ""
        rhythm = f"{r.times_per_week} times a week{days}"
    noun = "dose" if e.kind == "dose" else e.kind
    count = f"{r.count} {noun}{'' if r.count == 1 else 's'}"
    return f"{rhythm} from {human_date(e.date)} to {human_date(r.until)} ({count})"


def _runs(entries: list[ScheduleEntry], scale: _Scale) -> list[str]:
    """A thin line under each repeating entry's markers, its words as the tooltip."""
    runs = [e for e in entries if e.repeat is not None]
    if not runs:
        return []
    parts = [f'<g class="runs" stroke="{MUTED}" stroke-width="1">']
    for e in runs:
        assert e.repeat is not None
        y = LANES[e.kind] + 9
        parts.append(
            f'<line x1="{_n(scale.x(e.date))}" y1="{y}" x2="{_n(scale.x(e.repeat.until))}" '
            f'y2="{y}"><title>{_e(f"{LEGEND_NAMES[e.kind]}: {_repeat_words(e)}")}</title></line>'
        )
    parts.append("</g>")
    return parts


def _legend(
    plan: Plan, has_windows: bool, shown: Mapping[str, str] | None
) -> tuple[list[str], int]:
    parts = [f'<g class="legend" font-size="12" fill="{INK}">']
    x = LEFT
    y = LEGEND_Y
    for kind in ("dose", "review", "test"):
        parts.append(
            f'<g fill="{SHAPE_FILL[kind]}" stroke="#ffffff" stroke-width="0.8">'
            f"{_shape(kind, x + 6, y - 4)}</g>"
        )
        parts.append(f'<text x="{x + 16}" y="{y}">{_e(LEGEND_NAMES[kind])}</text>')
        x += 90
    if has_windows:
        parts.append(
            f'<line x1="{x}" y1="{y - 4}" x2="{x + 24}" y2="{y - 4}" '
            f'stroke="{SHAPE_FILL["dose"]}" stroke-width="2" opacity="0.45"/>'
        )
        parts.append(f'<text x="{x + 30}" y="{y}">Window (earliest to latest)</text>')
    for i, (name, first, last) in enumerate(_phase_spans(plan, shown)):
        y += ROW
        fill = PHASE_FILLS[i % len(PHASE_FILLS)]
        ongoing = plan.schedule_continues and last == plan.horizon_end
        when = (
            f"from {human_date(first)} onwards"
            if ongoing
            else (f"{human_date(first)} to {human_date(last)}")
        )
        parts.append(
            f'<rect x="{LEFT}" y="{y - 11}" width="12" height="12" fill="{fill}" '
            f'stroke="{MUTED}" stroke-width="0.5"/>'
        )
        parts.append(f'<text x="{LEFT + 18}" y="{y}">{_e(f"Phase {name}: {when}")}</text>')
    for entry in plan.schedule:
        if entry.repeat is not None:
            y += ROW
            phase = (shown or {}).get(entry.phase or "", entry.phase)
            what = f"{LEGEND_NAMES[entry.kind]}s ({phase}): {_repeat_words(entry)}"
            parts.append(f'<text x="{LEFT + 18}" y="{y}">{_e(what)}</text>')
    parts.append("</g>")
    return parts, y


def _summary(plan: Plan, counts: dict[str, int]) -> str:
    text = (
        f"Treatment timeline from {human_date(plan.start)} to {human_date(plan.horizon_end)}: "
        f"{counts['dose']} doses, {counts['review']} reviews, {counts['test']} tests"
    )
    phases = len(_phase_spans(plan))
    if phases:
        text += f", in {phases} phase{'s' if phases != 1 else ''}"
    if plan.schedule_continues:
        text += "; the schedule continues after the last date shown"
    return text + "."


def plan_timeline_svg(plan: Plan, phase_names: Mapping[str, str] | None = None) -> str:
    """An accessible, width-scaling SVG timeline of the plan (deterministic; text escaped).

    ``phase_names``: people words for the regimen's phase names (the web pages pass the
    knowledge base's); a phase without one is shown by its name."""
    scale = _Scale(plan.start, plan.horizon_end)
    by_kind: dict[str, list[ScheduleEntry]] = {"dose": [], "review": [], "test": []}
    for entry in expand_schedule(plan.schedule):
        by_kind[entry.kind].append(entry)
    counts = {k: len(v) for k, v in by_kind.items()}
    has_windows = any(e.window is not None for e in plan.schedule)
    legend, bottom = _legend(plan, has_windows, phase_names)
    height = bottom + 14
    title = f"Treatment timeline, {plan.pathway.title}"
    body: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="100%" '
        f'role="img" aria-labelledby="b12-timeline-title b12-timeline-desc" '
        f'font-family="system-ui, sans-serif" class="b12-timeline">',
        f'<title id="b12-timeline-title">{_e(title)}</title>',
        f'<desc id="b12-timeline-desc">{_e(_summary(plan, counts))}</desc>',
        f'<g font-size="11" fill="{MUTED}" text-anchor="end">',
        f'<text x="{LEFT - 8}" y="{PHASE_Y + 15}">Phases</text>',
    ]
    for kind, y in LANES.items():
        body.append(f'<text x="{LEFT - 8}" y="{y + 4}">{LANE_NAMES[kind]}</text>')
    body.append("</g>")
    body.extend(_phases(plan, scale, phase_names))
    body.extend(_runs(list(plan.schedule), scale))
    for kind in ("dose", "review", "test"):
        body.extend(_markers(by_kind[kind], kind, scale))
    body.extend(_axis(scale))
    body.extend(legend)
    body.append("</svg>")
    return "\n".join(body) + "\n"
