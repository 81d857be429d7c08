"""``plan_timeline_svg``: accessible, one marker per dose, distinct shapes, small, escaped."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from b12.adapters.exports.timeline import plan_timeline_svg
from b12.core.plan_models import Plan
from b12.core.schedule import expand_schedule

NS = "{http://www.w3.org/2000/svg}"


def _group(root: ET.Element, cls: str) -> list[ET.Element]:
    groups = [g for g in root.iter(f"{NS}g") if g.get("class") == cls]
    assert len(groups) == 1, cls
    return list(groups[0])


@pytest.mark.parametrize("name", ["pa_uk", "neuro_uk", "oral_uk", "pa_us", "no_labs"])
def test_svg_parses_with_title_desc_and_one_marker_per_item(
    plans: dict[str, Plan], name: str
) -> None:
    plan = plans[name]
    root = ET.fromstring(plan_timeline_svg(plan))
    assert root.tag == f"{NS}svg"
    assert root.get("role") == "img"
    assert root.get("width") == "100%"
    assert root.get("viewBox", "").startswith("0 0 1000 ")
    title, desc = root.find(f"{NS}title"), root.find(f"{NS}desc")
    assert title is not None
    assert title.text
    assert plan.pathway.title in title.text
    assert desc is not None
    assert desc.text
    assert set((root.get("aria-labelledby") or "").split()) == {title.get("id"), desc.get("id")}
    listed = expand_schedule(plan.schedule)  # one marker per dose, also of a repeating entry
    counts = {k: sum(1 for e in listed if e.kind == k) for k in ("dose", "review", "test")}
    assert f"{counts['dose']} doses, {counts['review']} reviews, {counts['test']} tests" in (
        desc.text
    )
    doses, reviews, tests = (_group(root, c) for c in ("doses", "reviews", "tests"))
    assert len(doses) == counts["dose"]
    assert len(reviews) == counts["review"]
    assert len(tests) == counts["test"]
    # Distinct shapes, not colour only: circles, four-point and three-point polygons.
    assert all(m.tag == f"{NS}circle" for m in doses)
    assert all(len(m.get("points", "").split()) == 4 for m in reviews)
    assert all(len(m.get("points", "").split()) == 3 for m in tests)


def test_markers_follow_the_dates(plans: dict[str, Plan]) -> None:
    plan = plans["pa_uk"]
    root = ET.fromstring(plan_timeline_svg(plan))
    xs = [float(c.get("cx", "nan")) for c in _group(root, "doses")]
    assert xs == sorted(xs)
    assert len(set(xs)) == len(xs)
    assert 90 <= xs[0] < xs[-1] <= 960
    windows = _group(root, "windows")
    assert len(windows) == sum(1 for e in plan.schedule if e.window is not None)


def test_month_ticks_and_legend(plans: dict[str, Plan]) -> None:
    svg = plan_timeline_svg(plans["pa_uk"])
    root = ET.fromstring(svg)
    texts = [t.text or "" for t in root.iter(f"{NS}text")]
    months = [t for t in texts if t[:3] in ("Apr", "Jun", "Dec", "Jan", "Mar") and t[-4:].isdigit()]
    assert "Apr 2026" in months
    assert "Mar 2027" in months
    legend = [t.text or "" for g in _group(root, "legend") for t in g.iter(f"{NS}text")]
    assert {"Dose", "Review", "Test", "Window (earliest to latest)"} <= set(legend)
    assert any(t.startswith("Phase loading:") for t in texts)
    assert any(t.startswith("Phase maintenance: from") and t.endswith("onwards") for t in texts)
    assert "style=" not in svg
    assert "<style" not in svg


def test_long_neuro_schedule_stays_small(plans: dict[str, Plan]) -> None:
    plan = plans["neuro_uk"]
    doses = sum(1 for e in expand_schedule(plan.schedule) if e.kind == "dose")
    assert doses > 150
    svg = plan_timeline_svg(plan)
    assert len(svg.encode()) < 20_000
    root = ET.fromstring(svg)
    radii = {float(c.get("r", "0")) for c in _group(root, "doses")}
    assert radii
    assert min(radii) >= 1.5
    assert max(radii) <= 3.5


def test_text_is_escaped_and_output_deterministic(plans: dict[str, Plan]) -> None:
    plan = plans["pa_uk"]
    pathway = plan.pathway.model_copy(update={"title": '<script>alert("x")</script> & co'})
    hostile = plan.model_copy(update={"pathway": pathway})
    svg = plan_timeline_svg(hostile)
    assert "<script>" not in svg
    title = ET.fromstring(svg).find(f"{NS}title")
    assert title is not None
    assert title.text is not None
    assert '<script>alert("x")</script> & co' in title.text
    assert plan_timeline_svg(hostile) == svg


def test_a_repeating_entry_gets_a_run_line_and_a_legend_line_saying_what_it_stands_for(
    plans: dict[str, Plan],
) -> None:
    plan = plans["neuro_uk"]
    repeating = [e for e in plan.schedule if e.repeat is not None]
    assert len(repeating) == 3  # doses to the first review, doses from it on, the reviews
    root = ET.fromstring(plan_timeline_svg(plan))
    runs = _group(root, "runs")
    tips = [line.findtext(f"{NS}title") or "" for line in runs]
    legend = [t.text or "" for g in _group(root, "legend") for t in g.iter(f"{NS}text")]
    for entry, tip in zip(repeating, tips, strict=True):
        assert entry.repeat is not None
        said = tip.split(": ", 1)[1]  # "every 2 days from Mon 2 Mar 2026 to … (7 doses)"
        assert said.endswith(f"({entry.repeat.count} {entry.kind}s)")
        assert any(t.endswith(said) for t in legend)
        assert not re.search(r"\d{4}-\d{2}-\d{2}", said)  # dates in words, as on the axis
    assert "every 2 days from Mon 2 Mar 2026 to Sat 14 Mar 2026 (7 doses)" in tips[0]
