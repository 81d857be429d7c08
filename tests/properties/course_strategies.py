"""Hypothesis strategies for valid OrderCheck and FollowUp documents, built from the KB vocabulary.

Every document these strategies produce must pass ``parse_order_check`` / ``parse_follow_up``:
pictures come from :func:`tests.properties.strategies.picture_docs`; product names are the
vocabulary's names and aliases (in any letter case); doses given are plausible B12 doses on
strictly increasing dates no later than ``as_of``; events are dated no later than ``as_of``.
Orders are free: any product (including free text), route, site, dose, unit and frequency.

A quarter of the documents declare the course (a stage since a date, with or without the
patient's interval); order checks carry events as follow-ups do.

Dose histories follow one of a few patterns so that every phase of every regimen is reached:
a loading course (daily, alternate-day or Mon/Wed/Fri doses), maintenance doses every 1–3
months, a mix of the two, or irregular gaps (doses given late, long breaks).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, get_args

from hypothesis import strategies as st

from b12.adapters.knowledge_files import load_knowledge_base
from b12.core.course_input import UNITS
from b12.core.knowledge import Drug, Route, Site, Vocabulary
from tests.properties.strategies import OMIT, PICTURE_KEYS, json_scalars, picture_docs

ROUTES: tuple[str, ...] = get_args(Route)
REGIMEN_DRUGS: tuple[str, ...] = get_args(Drug)  # the drugs regimens may use
SITES: tuple[str, ...] = get_args(Site)
EVENT_KINDS: tuple[str, ...] = tuple(sorted(load_knowledge_base().vocabulary.events))
UNIT_NAMES: tuple[str, ...] = (*sorted(UNITS), "MG", "MCG", "Ug")
FREE_TEXT_PRODUCTS = ("vitamin B12", "B12 injection", "Neo-Cytamen", "cobalamin", "hydroxo")
# Doses a nurse might record or a prescriber might order, as (value, unit); the strategy also
# draws arbitrary positive values so that the implausible-dose rules are reached.
COMMON_DOSES: tuple[tuple[float, str], ...] = (
    (1, "mg"),
    (1000, "mcg"),
    (1000, "ug"),
    (1000, "µg"),
    (100, "mcg"),
    (30, "mcg"),
    (200, "mcg"),
    (500, "mcg"),
    (2, "mg"),
    (50, "mcg"),
    (150, "mcg"),
    (5, "mg"),
    (0.5, "mg"),
    (1, "mcg"),
    (1000, "mg"),
)
# Days from the last dose to an order's start: around loading (daily to twice weekly) and
# maintenance (1-3 months) intervals.
DAYS_AFTER_LAST = (0, 1, 2, 3, 4, 5, 7, 14, 27, 28, 30, 31, 45, 56, 61, 62, 75, 89, 92, 95)
# A restart is an event whose advice rule declares a restart effect (B12-TX-106 restarts the
# neurological course; B12-TX-109 switches an oral course to injections).
RESTART_KINDS = frozenset({"new_neuro_symptoms", "oral_not_improving"})


def _cased(name: str) -> st.SearchStrategy[str]:
    return st.sampled_from([name, name.upper(), name.title(), f" {name} "])


def product_names(vocab: Vocabulary, kinds: tuple[str, ...] = ("b12", "folate")) -> list[str]:
    """Product ids and aliases of the given kinds, the drugs that regimens use first."""
    out: list[str] = []
    terms = sorted(vocab.products.items(), key=lambda kv: (kv[0] not in REGIMEN_DRUGS, kv[0]))
    for pid, term in terms:
        if term.kind in kinds:
            out.extend([pid, *term.aliases])
    return out


def product_strategy(vocab: Vocabulary, kinds: tuple[str, ...]) -> st.SearchStrategy[str]:
    """A product name of the given kinds in any letter case."""
    return st.sampled_from(product_names(vocab, kinds)).flatmap(_cased)


def regimen_drug_strategy(vocab: Vocabulary) -> st.SearchStrategy[str]:
    """A name (or alias, in any letter case) of a drug that some regimen uses."""
    names = [
        name
        for pid in REGIMEN_DRUGS
        if pid in vocab.products
        for name in (pid, *vocab.products[pid].aliases)
    ]
    return st.sampled_from(names).flatmap(_cased)


def b12_product_strategy(vocab: Vocabulary) -> st.SearchStrategy[str]:
    """Mostly a drug some regimen uses; sometimes another B12 form (no regimen uses it)."""
    return st.one_of(
        regimen_drug_strategy(vocab),
        regimen_drug_strategy(vocab),
        regimen_drug_strategy(vocab),
        product_strategy(vocab, ("b12",)),
    )


@st.composite
def dose_docs(draw: st.DrawFn) -> dict[str, Any]:
    """``{value, unit}``: a common dose, or any positive value in any accepted unit."""
    if draw(st.integers(0, 3)):
        value, unit = draw(st.sampled_from(COMMON_DOSES))
    else:
        value = draw(
            st.one_of(
                st.floats(0.001, 1e6, allow_nan=False, allow_infinity=False),
                st.integers(1, 10_000),
            )
        )
        unit = draw(st.sampled_from(UNIT_NAMES))
    return {"value": value, "unit": unit}


# Gaps in days between doses, per history pattern.
GAPS: dict[str, st.SearchStrategy[int]] = {
    "loading": st.sampled_from([1, 2, 2, 2, 3, 3, 4]),
    "maintenance": st.one_of(
        st.sampled_from([28, 30, 31, 59, 61, 62, 89, 92]), st.integers(25, 95)
    ),
    "irregular": st.one_of(st.integers(1, 14), st.integers(15, 120), st.integers(121, 500)),
}
PATTERNS = ("none", "loading", "maintenance", "loading_then_maintenance", "irregular")


@st.composite
def dose_dates(draw: st.DrawFn, as_of: date) -> list[date]:
    """Strictly increasing dates of doses given, the last no later than ``as_of``."""
    pattern = draw(st.sampled_from(PATTERNS))
    if pattern == "none":
        return []
    if pattern == "loading_then_maintenance":
        loading = draw(st.lists(GAPS["loading"], min_size=0, max_size=16))
        gaps = [*loading, *draw(st.lists(GAPS["maintenance"], min_size=1, max_size=6))]
    else:
        gaps = draw(st.lists(GAPS[pattern], min_size=0, max_size=20))
    since_last = draw(
        st.one_of(st.integers(0, 7), st.integers(8, 100), st.sampled_from([0, 1, 2, 3, 400]))
    )
    day = as_of - timedelta(days=since_last)
    out = [day]
    for gap in reversed(gaps):
        day -= timedelta(days=gap)
        out.append(day)
    return out[::-1]


@st.composite
def given_variant(draw: st.DrawFn, vocab: Vocabulary) -> dict[str, Any]:
    """What a dose given was: mostly a B12 product by injection, sometimes folic acid."""
    b12 = draw(st.integers(0, 9)) > 0
    doc: dict[str, Any] = {
        "drug": draw(b12_product_strategy(vocab) if b12 else product_strategy(vocab, ("folate",))),
        "dose": draw(dose_docs()),
        "route": draw(st.sampled_from(["im", "im", "im", "deep_sc", "oral", *ROUTES])),
    }
    site = draw(st.one_of(st.just(OMIT), st.sampled_from(SITES)))
    if site is not OMIT:
        doc["site"] = site
    return doc


@st.composite
def history_docs(draw: st.DrawFn, vocab: Vocabulary, as_of: date) -> list[dict[str, Any]]:
    """Doses given on strictly increasing dates no later than ``as_of``.

    A course mostly repeats one product, dose and route, so each dose is one of one to three
    variants (a cheap draw per dose keeps long histories fast to generate).
    """
    days = draw(dose_dates(as_of))
    if not days:
        return []
    variants = draw(st.lists(given_variant(vocab), min_size=1, max_size=3))
    which = draw(
        st.lists(st.integers(0, len(variants) - 1), min_size=len(days), max_size=len(days))
    )
    return [{"date": day.isoformat(), **variants[i]} for day, i in zip(days, which, strict=True)]


@st.composite
def event_docs(draw: st.DrawFn, as_of: date, history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Zero to three events no later than ``as_of``; often on or near a dose date."""
    first = date.fromisoformat(history[0]["date"]) if history else as_of - timedelta(days=90)
    span = max(0, (as_of - first).days)
    dose_days = [date.fromisoformat(h["date"]) for h in history]
    out = []
    for _ in range(draw(st.integers(0, 3))):
        how = draw(st.sampled_from(["any", "dose_day", "after_last", "as_of"]))
        if how == "dose_day" and dose_days:
            day = draw(st.sampled_from(dose_days))
        elif how == "after_last" and dose_days:
            day = min(as_of, dose_days[-1] + timedelta(days=draw(st.integers(1, 60))))
        elif how == "as_of":
            day = as_of
        else:
            day = first + timedelta(days=draw(st.integers(-30, span)))
        out.append({"date": day.isoformat(), "kind": draw(st.sampled_from(EVENT_KINDS))})
    return out


@st.composite
def order_docs(
    draw: st.DrawFn, vocab: Vocabulary, as_of: date, last: tuple[date, str] | None
) -> dict[str, Any]:
    """Any order: product (or free text), dose, route, site, frequency, start.

    Given the ``last`` B12 dose (date, route), the order often uses the same route and starts
    a few days to a few months after it, so that early, on-time and late orders are all common.
    """
    drug = draw(
        st.one_of(
            b12_product_strategy(vocab),
            b12_product_strategy(vocab),
            b12_product_strategy(vocab),
            product_strategy(vocab, ("folate",)),
            st.sampled_from(FREE_TEXT_PRODUCTS),
        )
    )
    doc: dict[str, Any] = {
        "drug": drug,
        "dose": draw(dose_docs()),
        "route": draw(st.sampled_from(["im", "im", "oral", *ROUTES])),
    }
    if last is not None and draw(st.booleans()):
        doc["route"] = last[1]
    site = draw(st.one_of(st.just(OMIT), st.sampled_from(SITES)))
    if site is not OMIT:
        doc["site"] = site
    how = draw(st.sampled_from(["none", "frequency", "every_days"]))
    if how == "frequency":
        doc["frequency"] = draw(st.sampled_from(sorted(vocab.frequencies)))
    elif how == "every_days":
        doc["every_days"] = draw(
            st.one_of(st.sampled_from([1, 2, 7, 30, 60, 90, 91, 92, 120, 366]), st.integers(1, 366))
        )
    anchor = last[0] if last is not None else as_of
    after_last = st.one_of(st.sampled_from(DAYS_AFTER_LAST), st.integers(0, 120))
    start = draw(
        st.one_of(
            st.just(OMIT),
            st.integers(-30, 120).map(lambda d: as_of + timedelta(days=d)),
            after_last.map(lambda d: anchor + timedelta(days=d)),
            after_last.map(lambda d: anchor + timedelta(days=d)),
        )
    )
    if start is not OMIT:
        doc["start"] = start.isoformat()
    return doc


@st.composite
def _picture_and_as_of(draw: st.DrawFn, vocab: Vocabulary) -> tuple[dict[str, Any], date, Any]:
    """A picture and the as_of the document uses (its own, or the picture's)."""
    picture = draw(picture_docs(vocab))
    as_of = date.fromisoformat(picture["as_of"])
    own = draw(st.one_of(st.just(OMIT), st.integers(0, 60).map(lambda d: as_of + timedelta(d))))
    if own is not OMIT:
        return picture, own, own.isoformat()
    return picture, as_of, OMIT


def _last_b12(vocab: Vocabulary, history: list[dict[str, Any]]) -> tuple[date, str] | None:
    """The date and route of the last B12 dose given."""
    names = {n.lower() for n in product_names(vocab, ("b12",))}
    given = [h for h in history if h["drug"].strip().lower() in names]
    return (date.fromisoformat(given[-1]["date"]), given[-1]["route"]) if given else None


STAGES = ("maintenance", "loading_completed", "neuro_course_completed")


@st.composite
def course_declarations(
    draw: st.DrawFn, as_of: date, history: list[dict[str, Any]]
) -> dict[str, Any]:
    """A declared course: a stage since a date before, among or after the doses on record,
    never after ``as_of``; with or without the patient's interval."""
    first = date.fromisoformat(history[0]["date"]) if history else as_of
    span = max(0, (as_of - first).days)
    since = draw(
        st.one_of(
            st.integers(1, 2000).map(lambda d: first - timedelta(days=d)),
            st.integers(0, span).map(lambda d: first + timedelta(days=d)),
        )
    )
    doc: dict[str, Any] = {"stage": draw(st.sampled_from(STAGES)), "since": since.isoformat()}
    every = draw(st.one_of(st.just(OMIT), st.integers(1, 6), st.sampled_from([2, 3, 12])))
    if every is not OMIT:
        doc["every_months"] = every
    return doc


@st.composite
def order_check_docs(draw: st.DrawFn, vocab: Vocabulary) -> dict[str, Any]:
    """A valid OrderCheck document (with the follow-up's events and declared course)."""
    picture, as_of, own = draw(_picture_and_as_of(vocab))
    history = draw(history_docs(vocab, as_of))
    doc: dict[str, Any] = {
        "picture": picture,
        "order": draw(order_docs(vocab, as_of, _last_b12(vocab, history))),
    }
    keep_empty: bool = draw(st.booleans())  # an empty history may be given or left out
    if history or keep_empty:
        doc["history"] = history
    events = draw(event_docs(as_of, history))
    give_events: bool = draw(st.booleans())
    if events and give_events:
        doc["events"] = events
    if draw(st.integers(0, 3)) == 0:
        doc["course"] = draw(course_declarations(as_of, history))
    others = draw(st.lists(order_docs(vocab, as_of, None), max_size=2))
    if others:
        doc["other_orders"] = others
    if own is not OMIT:
        doc["as_of"] = own
    return doc


@st.composite
def follow_up_docs(draw: st.DrawFn, vocab: Vocabulary) -> dict[str, Any]:
    """A valid FollowUp document."""
    picture, as_of, own = draw(_picture_and_as_of(vocab))
    history = draw(history_docs(vocab, as_of))
    events = draw(event_docs(as_of, history))
    doc: dict[str, Any] = {"picture": picture}
    keep_empty: bool = draw(st.booleans())  # an empty history may be given or left out
    if history or keep_empty:
        doc["history"] = history
    if events:
        doc["events"] = events
    if draw(st.integers(0, 3)) == 0:
        doc["course"] = draw(course_declarations(as_of, history))
    if own is not OMIT:
        doc["as_of"] = own
    return doc


@st.composite
def shuffled_course(draw: st.DrawFn, doc: dict[str, Any]) -> dict[str, Any]:
    """The same document with history, events, other orders, coded lists and keys permuted."""
    out = dict(doc)
    for key in ("history", "events", "other_orders"):
        if key in out:
            out[key] = [
                {k: item[k] for k in draw(st.permutations(list(item)))}
                for item in draw(st.permutations(out[key]))
            ]
    picture = dict(out["picture"])
    for key in ("conditions", "medications", "neuro_symptoms"):
        if key in picture:
            picture[key] = draw(st.permutations(picture[key]))
    out["picture"] = picture
    keys = draw(st.permutations(list(out)))
    return {k: out[k] for k in keys}


# --- junk ------------------------------------------------------------------------------------

COURSE_KEYS = (
    "picture",
    "order",
    "other_orders",
    "history",
    "events",
    "as_of",
    "drug",
    "dose",
    "value",
    "unit",
    "route",
    "site",
    "every_days",
    "frequency",
    "start",
    "date",
    "kind",
    "course",
    "stage",
    "since",
    "every_months",
)
course_scalars: st.SearchStrategy[Any] = st.one_of(
    json_scalars,
    st.sampled_from(["hydroxocobalamin", "folate", "mg", "µg", "tablets", "monthly", "deltoid"]),
    st.sampled_from(["no_further_improvement", "stable", "2026-03-02", "2199-12-31", "1900-01-01"]),
    st.sampled_from(["maintenance", "loading_completed", "neuro_course_completed", 13]),
    st.sampled_from([0, -1, 1e-300, 1e308, 366, 367]),
)


def course_junk() -> st.SearchStrategy[Any]:
    """Arbitrary JSON values biased towards the order-check and follow-up field names."""
    keys = st.one_of(
        st.sampled_from(COURSE_KEYS), st.sampled_from(PICTURE_KEYS), st.text(max_size=6)
    )
    return st.recursive(
        course_scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(keys, children, max_size=6),
        ),
        max_leaves=20,
    )


@st.composite
def mutated_course_docs(draw: st.DrawFn, vocab: Vocabulary) -> dict[str, Any]:
    """A valid order check or follow-up with one field, anywhere in it, replaced by junk."""
    doc: dict[str, Any] = draw(st.one_of(order_check_docs(vocab), follow_up_docs(vocab)))
    junk = draw(course_junk())
    targets: list[tuple[dict[str, Any], list[str]]] = [(doc, [*COURSE_KEYS[:6], "course"])]
    if isinstance(doc.get("course"), dict):
        targets.append((doc["course"], ["stage", "since", "every_months"]))
    if isinstance(doc.get("order"), dict):
        targets.append((doc["order"], list(COURSE_KEYS[6:15])))
        targets.append((doc["order"]["dose"], ["value", "unit"]))
    for key in ("history", "events", "other_orders"):
        for item in doc.get(key, []):
            targets.append((item, sorted({*item, "date", "kind", "drug", "dose", "route"})))
    targets.append((doc["picture"], list(PICTURE_KEYS)))
    where, keys = draw(st.sampled_from(targets))
    where[draw(st.sampled_from(keys))] = junk
    return doc
