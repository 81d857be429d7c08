"""Benchmark the order check and the follow-up against ``plan()`` (PRODUCT.md §8 Performance).

Run: ``.venv/bin/python bench/course_bench.py [--n 5000] [--seed 12]``

One run generates ``n`` varied, valid order checks and ``n`` follow-ups deterministically (the
pictures come from the plan benchmark's generator; histories follow loading, maintenance,
mixed and irregular patterns; orders use any product, route, site, dose and frequency), loads
the bundled knowledge base once, validates every request up front, and reports, all measured
in this run:

* ``check_order()`` and ``follow_up()``: requests/second, median and p99 microseconds;
* ``plan()`` over the same pictures, and the ratio of each median to the median of ``plan()``;
* validation (``parse_order_check`` / ``parse_follow_up``) for reference.

Each call is timed on its own with ``perf_counter_ns``; the three engines are interleaved per
request so that machine noise affects them alike.  Always exits 0 (a generated request that
fails validation is a bug in this generator and is reported, not timed).
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from b12.adapters.knowledge_files import load_knowledge_base
from b12.core.course_input import (
    FollowUpRequest,
    OrderCheckRequest,
    parse_follow_up,
    parse_order_check,
)
from b12.core.errors import InputError
from b12.core.follow_up import follow_up
from b12.core.knowledge import KnowledgeBase
from b12.core.order_check import check_order
from b12.core.plan import plan
from plan_bench import make_picture

# --- request generator -----------------------------------------------------------------------

B12_PRODUCTS = (
    "hydroxocobalamin",
    "cyanocobalamin",
    "Hydroxocobalamin",
    "hydroxocobalamin acetate",
    "methylcobalamin",
    "mecobalamin",
)
OTHER_PRODUCTS = ("folic_acid", "folate", "Folic acid", "vitamin B12", "Neo-Cytamen")
DOSES: tuple[tuple[float, str], ...] = (
    (1, "mg"),
    (1000, "mcg"),
    (1000, "ug"),
    (1000, "µg"),
    (100, "mcg"),
    (30, "mcg"),
    (200, "mcg"),
    (2, "mg"),
    (50, "mcg"),
    (5, "mg"),
    (1000, "mg"),
    (0.5, "mcg"),
)
ROUTES = ("im", "im", "im", "deep_sc", "sc", "oral", "oral", "iv", "sublingual", "intranasal")
SITES = ("deltoid", "vastus_lateralis", "ventrogluteal", "dorsogluteal")
FREQUENCIES = (
    "once",
    "daily",
    "alternate_days",
    "three_times_weekly",
    "weekly",
    "monthly",
    "every_2_months",
    "every_3_months",
    "every_6_months",
)
EVENTS = (
    "no_further_improvement",
    "symptoms_returned_before_due",
    "new_neuro_symptoms",
    "stable",
    "cause_resolved",
    "oral_not_improving",
)
PATTERNS = ("none", "loading", "maintenance", "loading_then_maintenance", "irregular")


def _gap(rng: random.Random, kind: str) -> int:
    if kind == "loading":
        return rng.choice((1, 2, 2, 2, 3, 3, 4))
    if kind == "maintenance":
        return rng.choice((28, 30, 31, 59, 61, 62, 89, 92)) + rng.randint(-3, 3)
    return rng.choice((rng.randint(1, 14), rng.randint(15, 120), rng.randint(121, 500)))


def _dose_dates(rng: random.Random, as_of: date) -> list[date]:
    """Strictly increasing dates of doses given, the last no later than ``as_of``."""
    pattern = rng.choice(PATTERNS)
    if pattern == "none":
        return []
    if pattern == "loading_then_maintenance":
        gaps = [_gap(rng, "loading") for _ in range(rng.randint(0, 16))]
        gaps += [_gap(rng, "maintenance") for _ in range(rng.randint(1, 6))]
    else:
        gaps = [_gap(rng, pattern) for _ in range(rng.randint(0, 20))]
    day = as_of - timedelta(days=rng.choice((0, 1, 2, 5, 20, 45, 70, 100, 400)))
    out = [day]
    for gap in reversed(gaps):
        day -= timedelta(days=gap)
        out.append(day)
    return out[::-1]


def _dose(rng: random.Random) -> dict[str, Any]:
    value, unit = rng.choice(DOSES)
    return {"value": value, "unit": unit}


def _history(rng: random.Random, as_of: date, guideline: str) -> list[dict[str, Any]]:
    usual = "cyanocobalamin" if guideline == "us" else "hydroxocobalamin"
    route = rng.choice(("im", "im", "im", "oral", "deep_sc"))
    dose = {"value": 1, "unit": "mg"} if rng.random() < 0.7 else _dose(rng)
    out = []
    for day in _dose_dates(rng, as_of):
        given: dict[str, Any] = {"date": day.isoformat(), "drug": usual, "dose": dose}
        given["route"] = route
        if rng.random() < 0.1:  # the odd dose of another product or route
            given["drug"] = rng.choice((*B12_PRODUCTS, "folic_acid"))
            given["route"] = rng.choice(ROUTES)
        if rng.random() < 0.3:
            given["site"] = rng.choice(SITES)
        out.append(given)
    return out


def _events(rng: random.Random, as_of: date, history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    first = date.fromisoformat(history[0]["date"]) if history else as_of - timedelta(days=90)
    span = max(0, (as_of - first).days)
    return [
        {
            "date": (first + timedelta(days=rng.randint(0, span))).isoformat(),
            "kind": rng.choice(EVENTS),
        }
        for _ in range(rng.choice((0, 0, 1, 1, 2, 3)))
    ]


def _order(rng: random.Random, as_of: date, guideline: str) -> dict[str, Any]:
    usual = "cyanocobalamin" if guideline == "us" else "hydroxocobalamin"
    drug = usual if rng.random() < 0.75 else rng.choice((*B12_PRODUCTS, *OTHER_PRODUCTS))
    order: dict[str, Any] = {"drug": drug, "dose": _dose(rng), "route": rng.choice(ROUTES)}
    if rng.random() < 0.5:
        order["site"] = rng.choice(SITES)
    how = rng.random()
    if how < 0.4:
        order["frequency"] = rng.choice(FREQUENCIES)
    elif how < 0.6:
        order["every_days"] = rng.choice((1, 2, 7, 30, 60, 90, 92, 120))
    if rng.random() < 0.6:
        order["start"] = (as_of + timedelta(days=rng.randint(-10, 100))).isoformat()
    return order


def make_requests(rng: random.Random) -> tuple[dict[str, Any], dict[str, Any]]:
    """One OrderCheck and one FollowUp document for the same picture and dose history."""
    picture = make_picture(rng)
    if rng.random() < 0.5 and picture["age"] >= 16:  # most courses are for a known deficiency
        picture["deficiency"] = "confirmed"
    as_of = date.fromisoformat(picture["as_of"])
    guideline = picture.get("guideline", "uk")
    history = _history(rng, as_of, guideline)
    order = _order(rng, as_of, guideline)
    if history and rng.random() < 0.6:  # usually the same route as the doses given
        order["route"] = history[-1]["route"]
    check: dict[str, Any] = {"picture": picture, "order": order}
    check["history"] = history
    if rng.random() < 0.2:
        check["other_orders"] = [_order(rng, as_of, guideline)]
    follow: dict[str, Any] = {"picture": picture, "history": history}
    follow["events"] = _events(rng, as_of, history)
    return check, follow


# --- measurement -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    check: OrderCheckRequest
    follow: FollowUpRequest


def _percentile(sorted_values: list[int], q: float) -> int:
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


def _time(fn: Callable[[], object]) -> int:
    t0 = time.perf_counter_ns()
    fn()
    return time.perf_counter_ns() - t0


def _measure(runs: list[Run], kb: KnowledgeBase) -> dict[str, list[int]]:
    """Nanoseconds per request for check_order(), follow_up() and plan(), interleaved."""
    times: dict[str, list[int]] = {"check_order": [], "follow_up": [], "plan": []}
    gc.collect()
    for run in runs:
        check, follow = run.check, run.follow
        times["check_order"].append(_time(lambda: check_order(check, kb)))  # noqa: B023
        times["follow_up"].append(_time(lambda: follow_up(follow, kb)))  # noqa: B023
        times["plan"].append(_time(lambda: plan(check.picture, kb, check.as_of)))  # noqa: B023
    return times


def _validate(
    docs: list[tuple[dict[str, Any], dict[str, Any]]], kb: KnowledgeBase
) -> tuple[list[Run], dict[str, list[int]], list[str]]:
    """Parse every request (timed); return the runs, the parse times and any failures."""
    runs: list[Run] = []
    times: dict[str, list[int]] = {"parse_order_check": [], "parse_follow_up": []}
    failures: list[str] = []
    for i, (check_doc, follow_doc) in enumerate(docs):
        try:
            t0 = time.perf_counter_ns()
            check = parse_order_check(check_doc, kb)
            t1 = time.perf_counter_ns()
            follow = parse_follow_up(follow_doc, kb)
            t2 = time.perf_counter_ns()
        except InputError as err:
            failures.append(f"request {i}: {err}")
            continue
        times["parse_order_check"].append(t1 - t0)
        times["parse_follow_up"].append(t2 - t1)
        runs.append(Run(check, follow))
    return runs, times, failures


def _line(name: str, ns: list[int], plan_median_us: float | None = None) -> str:
    values = sorted(ns)
    median = statistics.median(values) / 1000
    p99 = _percentile(values, 0.99) / 1000
    rate = len(values) / (sum(values) / 1e9)
    text = f"{name:<24} {rate:9,.0f} req/s   median {median:7.1f} µs   p99 {p99:7.1f} µs"
    if plan_median_us is not None:
        text += f"   median / plan() {median / plan_median_us:5.2f}x"
    return text


def _variety(runs: list[Run], kb: KnowledgeBase) -> None:
    verdicts: Counter[str] = Counter()
    timings: Counter[str] = Counter()
    phases: Counter[str] = Counter()
    overdue = 0
    for run in runs:
        checked = check_order(run.check, kb)
        verdicts[checked.verdict] += 1
        timings[checked.timing.status] += 1
        followed = follow_up(run.follow, kb)
        phases[followed.phase_kind or "none"] += 1
        overdue += followed.overdue_days > 0
    print("verdicts: " + ", ".join(f"{k} {v}" for k, v in sorted(verdicts.items())))
    print("order timing: " + ", ".join(f"{k} {v}" for k, v in sorted(timings.items())))
    print(
        "follow-up phase kinds: "
        + ", ".join(f"{k} {v}" for k, v in sorted(phases.items()))
        + f"; overdue {overdue}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--n", type=int, default=5_000, help="number of requests (5000)")
    parser.add_argument("--seed", type=int, default=12, help="random seed (12)")
    args = parser.parse_args(argv)

    t_load = time.perf_counter()
    kb = load_knowledge_base()
    load_ms = (time.perf_counter() - t_load) * 1000
    rng = random.Random(args.seed)
    docs = [make_requests(rng) for _ in range(args.n)]
    runs, parse_times, failures = _validate(docs, kb)
    print(
        f"b12 course benchmark: {args.n} order checks and {args.n} follow-ups, "
        f"seed {args.seed}, Python {sys.version.split()[0]}"
    )
    print(f"knowledge base {kb.content_version}, loaded once in {load_ms:.0f} ms")
    if failures:
        print(f"NOTE: {len(failures)} generated requests failed validation (not timed):")
        for line in failures[:5]:
            print(f"  {line}")
    _variety(runs, kb)  # also the warm-up
    print()
    times = _measure(runs, kb)
    plan_median = statistics.median(times["plan"]) / 1000
    print(_line("check_order()", times["check_order"], plan_median))
    print(_line("follow_up()", times["follow_up"], plan_median))
    print(_line("plan() (same pictures)", times["plan"]))
    print()
    print("validation, for reference (not part of the ratios):")
    print(_line("parse_order_check()", parse_times["parse_order_check"], plan_median))
    print(_line("parse_follow_up()", parse_times["parse_follow_up"], plan_median))
    return 0


if __name__ == "__main__":
    sys.exit(main())
