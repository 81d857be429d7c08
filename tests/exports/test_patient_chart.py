"""``patient_chart_svg``: dates in order, everything inside the viewBox, text escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from b12.adapters.exports.patient_chart import (
    RIGHT,
    WIDTH,
    ChartData,
    LabPoint,
    chart_rows,
    patient_chart_svg,
)

NS = {"s": "http://www.w3.org/2000/svg"}
TODAY = date(2026, 12, 6)


def _tree(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def _viewbox(root: ET.Element) -> tuple[float, float]:
    _, _, width, height = (float(v) for v in root.attrib["viewBox"].split())
    return width, height


def _points(root: ET.Element) -> list[tuple[float, float]]:
    """Every x, y the drawing uses (circles, rects, lines, polygons, polylines, text)."""
    out: list[tuple[float, float]] = []
    for el in root.iter():
        a = el.attrib
        tag = el.tag.split("}")[1]
        if tag == "circle":
            r = float(a["r"])
            cx, cy = float(a["cx"]), float(a["cy"])
            out += [(cx - r, cy - r), (cx + r, cy + r)]
        elif tag == "rect":
            x, y = float(a["x"]), float(a["y"])
            out += [(x, y), (x + float(a["width"]), y + float(a["height"]))]
        elif tag == "line":
            out += [(float(a["x1"]), float(a["y1"])), (float(a["x2"]), float(a["y2"]))]
        elif tag in ("polygon", "polyline"):
            for pair in a["points"].split():
                px, py = pair.split(",")
                out.append((float(px), float(py)))
        elif tag == "text":
            out.append((float(a["x"]), float(a["y"])))
    return out


def test_doses_and_labs_are_placed_in_date_order() -> None:
    data = ChartData(
        today=TODAY,
        doses=(date(2026, 9, 20), date(2026, 9, 1), date(2026, 10, 30)),
        labs=(
            LabPoint(date(2026, 11, 1), b12=480, hb=128, mcv=95),
            LabPoint(date(2026, 9, 1), b12=110, hb=96, mcv=112),
        ),
        events=((date(2026, 10, 1), "no_further_improvement"),),
        symptoms=((date(2026, 9, 1), ("paraesthesia",)), (date(2026, 11, 1), ())),
        labels={"no_further_improvement": "No further improvement"},
    )
    root = _tree(patient_chart_svg(data))
    doses = root.findall(".//s:g[@class='chart-doses']/s:circle", NS)
    xs = [float(c.attrib["cx"]) for c in doses]
    assert len(xs) == 3
    assert xs == sorted(xs)
    assert len(set(xs)) == 3
    line = root.find(".//s:polyline", NS)
    assert line is not None
    lab_xs = [float(p.split(",")[0]) for p in line.attrib["points"].split()]
    assert lab_xs == sorted(lab_xs)
    labels = [t.text for t in root.findall(".//s:g[@class='chart-b12']/s:text", NS)]
    assert labels == ["110", "480"]  # the earlier result first
    # One symptom square (the later picture has none), one event triangle.
    assert len(root.findall(".//s:g[@class='chart-symptoms']/s:rect", NS)) == 1
    assert len(root.findall(".//s:g[@class='chart-events']/s:polygon", NS)) == 1
    rows = chart_rows(data)
    assert [r["date"] for r in rows[:5]] == ["1 Sep 2026"] * 5  # dose, B12, Hb, MCV, symptoms
    assert [r["what"] for r in rows[:5]] == [
        "Dose given",
        "B12",
        "Hb",
        "MCV",
        "Neurological symptoms",
    ]
    assert any(r["value"] == "No further improvement" for r in rows)
    assert any(r["value"] == "480 ng/L" for r in rows)


def test_title_and_description_are_escaped_and_present() -> None:
    svg = patient_chart_svg(ChartData(today=TODAY), title='Ann <b>"&"</b>')
    root = _tree(svg)
    title = root.find("s:title", NS)
    assert title is not None
    assert title.text == 'Ann <b>"&"</b>'
    assert "<b>" not in svg
    desc = root.find("s:desc", NS)
    assert desc is not None
    assert desc.text is not None
    assert "0 doses given" in desc.text
    assert root.attrib["role"] == "img"
    assert root.attrib["aria-labelledby"] == "b12-chart-title b12-chart-desc"


def test_nothing_recorded_says_so() -> None:
    svg = patient_chart_svg(ChartData(today=TODAY))
    assert svg.count("not recorded") == 3
    assert chart_rows(ChartData(today=TODAY)) == []


DAYS = st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31))
VALUES = st.one_of(st.none(), st.floats(min_value=0, max_value=1e6, allow_nan=False))
LABS = st.builds(LabPoint, DAYS, VALUES, VALUES, VALUES)
TEXT = st.text(max_size=20)


@settings(max_examples=80, deadline=None)
@given(
    doses=st.lists(DAYS, max_size=60),
    labs=st.lists(LABS, max_size=12),
    events=st.lists(st.tuples(DAYS, TEXT), max_size=8),
    symptoms=st.lists(st.tuples(DAYS, st.lists(TEXT, max_size=3).map(tuple)), max_size=8),
    today=DAYS,
)
def test_every_shape_stays_inside_the_viewbox(
    doses: list[date],
    labs: list[LabPoint],
    events: list[tuple[date, str]],
    symptoms: list[tuple[date, tuple[str, ...]]],
    today: date,
) -> None:
    data = ChartData(
        today=today,
        doses=tuple(doses),
        labs=tuple(labs),
        events=tuple(events),
        symptoms=tuple(symptoms),
    )
    svg = patient_chart_svg(data)
    assert svg == patient_chart_svg(data)  # deterministic
    root = _tree(svg)  # well formed whatever the labels hold
    width, height = _viewbox(root)
    assert width == WIDTH
    for x, y in _points(root):
        assert 0 <= x <= width
        assert 0 <= y <= height
    assert len(root.findall(".//s:g[@class='chart-doses']/s:circle", NS)) == len(doses)
    dates = [r["date"] for r in chart_rows(data)]
    assert len(dates) >= len(doses)


def test_dates_before_today_fill_the_axis() -> None:
    """A short history still spans two weeks: the axis ends at the right edge, not mid-way."""
    data = ChartData(today=TODAY, doses=(TODAY - timedelta(days=3),))
    root = _tree(patient_chart_svg(data))
    ends = [t for t in root.iter("{http://www.w3.org/2000/svg}text") if t.text == "17 Dec 2026"]
    assert len(ends) == 1
    assert float(ends[0].attrib["x"]) == WIDTH - RIGHT
    assert ends[0].attrib["text-anchor"] == "end"
