"""``patient_chart_svg`` — what happened to one patient over time, as an accessible inline SVG.

Lanes on one date axis: doses given (circles), B12, haemoglobin and MCV (each a small line
chart on its own scale, every point labelled with its value), and symptoms and events
(squares for neurological symptoms recorded with a picture, triangles for events) — distinct
shapes, so colour is never the only cue.  The ``viewBox`` is 360 units wide and the text is
11–12 units, so at a phone's 390 px width the labels are still read at their nominal size; on
a wide screen the stylesheet caps the chart's width.  Presentation attributes only (no
``style``), so a strict Content-Security-Policy does not block it.  All text is escaped; the
output depends only on the data.  :func:`chart_rows` gives the same facts as rows, for the
table that is the chart's text alternative.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from html import escape

from b12.adapters.exports.text import short_date

WIDTH = 360
LEFT = 66
RIGHT = 14
TOP = 8
DOSE_H = 26
LAB_H = 52
EVENT_H = 30
AXIS_GAP = 26
INK = "#1f2933"
MUTED = "#52606d"
DOSE_FILL = "#1d4ed8"
LAB_STROKE = {"b12": "#047857", "hb": "#b91c1c", "mcv": "#7c3aed"}
EVENT_FILL = "#b45309"
SYMPTOM_FILL = "#be185d"
MIN_DAYS = 14


@dataclass(frozen=True, slots=True)
class LabPoint:
    """Results recorded with one version of the clinical picture, on the date they apply."""

    date: date
    b12: float | None = None
    hb: float | None = None
    mcv: float | None = None


@dataclass(frozen=True, slots=True)
class ChartData:
    """What the chart shows: everything carries its own date."""

    today: date
    doses: tuple[date, ...] = ()
    labs: tuple[LabPoint, ...] = ()
    events: tuple[tuple[date, str], ...] = ()
    symptoms: tuple[tuple[date, tuple[str, ...]], ...] = ()
    labels: dict[str, str] = field(default_factory=dict)


LABS = (
    ("b12", "B12", "ng/L"),
    ("hb", "Hb", "g/L"),
    ("mcv", "MCV", "fL"),
)


def _e(text: str) -> str:
    return escape(text, quote=True)


def _n(value: float) -> str:
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _v(value: float) -> str:
    return f"{value:g}"


class _Scale:
    def __init__(self, data: ChartData) -> None:
        days = [
            *data.doses,
            *(p.date for p in data.labs),
            *(d for d, _ in data.events),
            *(d for d, _ in data.symptoms),
        ]
        self.start = min(days, default=data.today)
        self.end = max([*days, data.today, self.start + timedelta(days=MIN_DAYS)])
        self.days = (self.end - self.start).days

    def x(self, day: date) -> float:
        offset = min(max((day - self.start).days, 0), self.days)
        return LEFT + offset * (WIDTH - LEFT - RIGHT) / self.days


def _lane_label(y: float, text: str, unit: str = "") -> list[str]:
    parts = [f'<text x="{LEFT - 6}" y="{_n(y)}" text-anchor="end">{_e(text)}</text>']
    if unit:
        parts.append(
            f'<text x="{LEFT - 6}" y="{_n(y + 12)}" text-anchor="end" font-size="10">'
            f"{_e(unit)}</text>"
        )
    return parts


def _doses(data: ChartData, scale: _Scale, y: float) -> list[str]:
    mid = y + DOSE_H / 2
    parts = [f'<g fill="{MUTED}" font-size="11">', *_lane_label(mid + 4, "Doses"), "</g>"]
    parts.append(f'<g class="chart-doses" fill="{DOSE_FILL}" stroke="#ffffff" stroke-width="0.8">')
    parts.extend(
        f'<circle cx="{_n(scale.x(d))}" cy="{_n(mid)}" r="4"/>' for d in sorted(data.doses)
    )
    parts.append("</g>")
    return parts


def _lab(data: ChartData, scale: _Scale, key: str, name: str, unit: str, y: float) -> list[str]:
    points = sorted(
        ((p.date, getattr(p, key)) for p in data.labs if getattr(p, key) is not None),
        key=lambda pv: pv[0],
    )
    parts = [
        f'<g fill="{MUTED}" font-size="11">',
        *_lane_label(y + 20, name, unit),
        "</g>",
        f'<line x1="{LEFT}" y1="{_n(y + LAB_H - 4)}" x2="{WIDTH - RIGHT}" y2="{_n(y + LAB_H - 4)}"'
        f' stroke="#d9e2ec" stroke-width="0.5"/>',
    ]
    if not points:
        parts.append(
            f'<text x="{LEFT + 4}" y="{_n(y + 26)}" font-size="11" fill="{MUTED}">'
            "not recorded</text>"
        )
        return parts
    values = [v for _, v in points]
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    top, bottom = y + 16, y + LAB_H - 8

    def py(value: float) -> float:
        return bottom - (value - lo) * (bottom - top) / span if hi != lo else (top + bottom) / 2

    coords = [(scale.x(d), py(v)) for d, v in points]
    stroke = LAB_STROKE[key]
    if len(coords) > 1:
        path = " ".join(f"{_n(x)},{_n(yy)}" for x, yy in coords)
        parts.append(
            f'<polyline points="{path}" fill="none" stroke="{stroke}" stroke-width="1.5"/>'
        )
    parts.append(f'<g class="chart-{key}" fill="{stroke}" font-size="10">')
    for (x, yy), (_, value) in zip(coords, points, strict=True):
        anchor = "end" if x > WIDTH - RIGHT - 20 else ("start" if x < LEFT + 20 else "middle")
        parts.append(f'<circle cx="{_n(x)}" cy="{_n(yy)}" r="3"/>')
        parts.append(
            f'<text x="{_n(x)}" y="{_n(yy - 6)}" text-anchor="{anchor}">{_e(_v(value))}</text>'
        )
    parts.append("</g>")
    return parts


def _events(data: ChartData, scale: _Scale, y: float) -> list[str]:
    mid = y + EVENT_H / 2
    parts = [f'<g fill="{MUTED}" font-size="11">', *_lane_label(mid + 4, "Symptoms"), "</g>"]
    parts.append(
        f'<text x="{LEFT - 6}" y="{_n(mid + 16)}" text-anchor="end" font-size="11" '
        f'fill="{MUTED}">events</text>'
    )
    parts.append(f'<g class="chart-symptoms" fill="{SYMPTOM_FILL}">')
    for day, names in sorted(data.symptoms):
        if names:
            x = scale.x(day)
            parts.append(f'<rect x="{_n(x - 4)}" y="{_n(mid - 10)}" width="8" height="8"/>')
    parts.append("</g>")
    parts.append(f'<g class="chart-events" fill="{EVENT_FILL}">')
    for day, _ in sorted(data.events):
        x = scale.x(day)
        parts.append(
            f'<polygon points="{_n(x)},{_n(mid + 2)} {_n(x + 5)},{_n(mid + 11)} '
            f'{_n(x - 5)},{_n(mid + 11)}"/>'
        )
    parts.append("</g>")
    return parts


def _axis(scale: _Scale, y: float) -> list[str]:
    parts = [
        f'<g stroke="{MUTED}" fill="{MUTED}" font-size="11">',
        f'<line x1="{LEFT}" y1="{_n(y)}" x2="{WIDTH - RIGHT}" y2="{_n(y)}" stroke-width="1"/>',
    ]
    ticks = [(scale.start, short_date(scale.start), "start")]
    if scale.end != scale.start:
        ticks.append((scale.end, short_date(scale.end), "end"))
    months = _months(scale)
    for day in months:
        parts.append(
            f'<line x1="{_n(scale.x(day))}" y1="{_n(y)}" x2="{_n(scale.x(day))}" y2="{_n(y + 4)}"/>'
        )
    for day, text, anchor in ticks:
        parts.append(
            f'<text x="{_n(scale.x(day))}" y="{_n(y + 16)}" text-anchor="{anchor}" '
            f'stroke="none">{_e(text)}</text>'
        )
    parts.append("</g>")
    return parts


def _months(scale: _Scale) -> list[date]:
    out: list[date] = []
    year, month = scale.start.year, scale.start.month
    while True:
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        day = date(year, month, 1)
        if day > scale.end:
            return out
        out.append(day)


def _summary(data: ChartData, scale: _Scale) -> str:
    parts = [
        f"From {short_date(scale.start)} to {short_date(scale.end)}: "
        f"{len(data.doses)} dose{'s' if len(data.doses) != 1 else ''} given"
    ]
    for key, name, unit in LABS:
        values = [getattr(p, key) for p in sorted(data.labs, key=lambda p: p.date)]
        values = [v for v in values if v is not None]
        if values:
            parts.append(f"{name} {' then '.join(_v(v) for v in values)} {unit}")
    with_symptoms = sum(1 for _, names in data.symptoms if names)
    parts.append(f"{len(data.events)} event{'s' if len(data.events) != 1 else ''}")
    parts.append(f"neurological symptoms recorded on {with_symptoms} date(s)")
    return "; ".join(parts) + ". The table below lists the same facts."


def patient_chart_svg(data: ChartData, *, title: str = "Treatment and results over time") -> str:
    """The chart (deterministic; every text escaped; every shape inside the ``viewBox``)."""
    scale = _Scale(data)
    body: list[str] = []
    y: float = TOP
    body.extend(_doses(data, scale, y))
    y += DOSE_H
    for key, name, unit in LABS:
        body.extend(_lab(data, scale, key, name, unit, y))
        y += LAB_H
    body.extend(_events(data, scale, y))
    y += EVENT_H + 6
    body.extend(_axis(scale, y))
    height = y + AXIS_GAP
    head = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {_n(height)}" '
        f'width="100%" role="img" aria-labelledby="b12-chart-title b12-chart-desc" '
        f'font-family="system-ui, sans-serif" class="b12-chart">',
        f'<title id="b12-chart-title">{_e(title)}</title>',
        f'<desc id="b12-chart-desc">{_e(_summary(data, scale))}</desc>',
    ]
    return "\n".join([*head, *body, "</svg>"]) + "\n"


def chart_rows(data: ChartData) -> list[dict[str, str]]:
    """The chart's facts as table rows in date order: date, what, value."""
    rows: list[tuple[date, int, str, str]] = []
    for day in data.doses:
        rows.append((day, 0, "Dose given", ""))
    for point in data.labs:
        for key, name, unit in LABS:
            value = getattr(point, key)
            if value is not None:
                rows.append((point.date, 1, name, f"{_v(value)} {unit}"))
    for day, names in data.symptoms:
        if names:
            text = ", ".join(data.labels.get(n, n) for n in names)
            rows.append((day, 2, "Neurological symptoms", text))
    for day, kind in data.events:
        rows.append((day, 3, "Event", data.labels.get(kind, kind)))
    rows.sort(key=lambda r: (r[0], r[1]))
    return [{"date": short_date(d), "what": what, "value": value} for d, _, what, value in rows]
