"""Hypothesis strategies for valid ClinicalPicture documents, built from the KB vocabulary.

Every document these strategies produce must pass ``parse_picture``: coded values come from the
vocabulary (names and aliases), lab values lie inside the vocabulary's plausible range, and a
male patient is never pregnant.  Values cluster around the knowledge base's cut-offs (for
example serum B12 180/350 ng/L, active B12 25/70 pmol/L, ileal resection 20 cm) so that every
decision and safety rule is reached often.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from typing import Any

from hypothesis import strategies as st

from b12.core.knowledge import LabTerm, Term, Vocabulary

# Interesting values per lab: cut-offs in parameters.yaml and just either side of them.
LAB_CUTOFFS: dict[str, tuple[float, ...]] = {
    "serum_b12_ng_l": (100, 179.9, 180, 200, 350, 350.1, 400, 1000, 1000.5, 1500),
    "active_b12_pmol_l": (10, 24.9, 25, 40, 70, 70.1, 100),
    "haemoglobin_g_l": (60, 79.9, 80, 120),
    "folate_ug_l": (1, 2.9, 3, 8),
    "egfr": (15, 59.9, 60, 90),
}
ILEAL_CUTOFFS = (5.0, 19.9, 20.0, 50.0, 100.0)

FIRST_DAY = date(1990, 1, 1)
LAST_DAY = date(2099, 12, 31)
DEFICIENCIES = ("confirmed", "indeterminate", "suspected", "at_risk", "not_deficient")
OMIT: Any = object()  # sentinel: leave the key out of the document


def _names(terms: dict[str, Term]) -> list[str]:
    """Canonical names and their aliases."""
    out = list(terms)
    for term in terms.values():
        out.extend(term.aliases)
    return out


def _maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.just(OMIT), strategy)


@st.composite
def month_ends(draw: st.DrawFn) -> date:
    """The last day of a month, including 29 February of leap years."""
    year = draw(st.integers(FIRST_DAY.year, LAST_DAY.year))
    month = draw(st.integers(1, 12))
    return date(year, month, calendar.monthrange(year, month)[1])


@st.composite
def leap_days(draw: st.DrawFn) -> date:
    """29 February of a leap year."""
    year = draw(st.sampled_from([y for y in range(1992, 2099) if calendar.isleap(y)]))
    return date(year, 2, 29)


def plan_dates() -> st.SearchStrategy[date]:
    """Any date in a realistic range, with month ends and leap days drawn often."""
    return st.one_of(
        st.dates(FIRST_DAY, LAST_DAY),
        month_ends(),
        leap_days(),
        st.dates(date(2024, 1, 1), date(2028, 12, 31)),
    )


def lab_values(name: str, term: LabTerm) -> st.SearchStrategy[float]:
    """A plausible value for one lab (inside the vocabulary's min/max), integral or not."""
    lo, hi = term.min, term.max
    cutoffs = [v for v in LAB_CUTOFFS.get(name, ()) if lo <= v <= hi]
    parts: list[st.SearchStrategy[float]] = [
        st.floats(lo, hi, allow_nan=False, allow_infinity=False),
        st.integers(int(lo) if lo == int(lo) else int(lo) + 1, int(hi)).map(float),
        st.sampled_from([lo, hi]),
    ]
    if cutoffs:
        parts.append(st.sampled_from(cutoffs))
    return st.one_of(*parts)


@st.composite
def labs_docs(draw: st.DrawFn, vocab: Vocabulary) -> dict[str, Any]:
    """A ``labs`` object with any subset of the vocabulary's labs (and ``ifab_positive``)."""
    names = sorted(vocab.labs)
    chosen = draw(st.lists(st.sampled_from(names), unique=True, max_size=len(names)))
    out: dict[str, Any] = {}
    for name in sorted(chosen):
        value = draw(lab_values(name, vocab.labs[name]))
        out[name] = int(value) if value == int(value) and draw(st.booleans()) else value
    ifab = draw(_maybe(st.one_of(st.booleans(), st.none())))
    if ifab is not OMIT:
        out["ifab_positive"] = ifab
    return out


@st.composite
def preferences_docs(draw: st.DrawFn) -> dict[str, Any]:
    """A ``preferences`` object; any key may be left out."""
    out: dict[str, Any] = {}
    for key, strategy in (
        ("route", st.sampled_from(["im", "oral", None])),
        ("adherence_concern", st.booleans()),
        ("drug", st.sampled_from(["hydroxocobalamin", "cyanocobalamin", None])),
    ):
        value = draw(_maybe(strategy))
        if value is not OMIT:
            out[key] = value
    return out


def _coded_list(terms: dict[str, Term], max_size: int = 4) -> st.SearchStrategy[list[str]]:
    """A list of coded names (duplicates and aliases allowed: the engine normalises them)."""
    return st.lists(st.sampled_from(_names(terms)), max_size=max_size)


@st.composite
def picture_docs(
    draw: st.DrawFn,
    vocab: Vocabulary,
    *,
    ages: st.SearchStrategy[int] | None = None,
    guidelines: st.SearchStrategy[str] | None = None,
) -> dict[str, Any]:
    """A valid ClinicalPicture JSON document (``as_of`` always given, as the library needs)."""
    doc: dict[str, Any] = {}
    age_lo, age_hi = int(vocab.age.min), int(vocab.age.max)
    doc["age"] = draw(
        ages
        if ages is not None
        else st.one_of(st.integers(age_lo, age_hi), st.sampled_from([0, 15, 16, 17, age_hi]))
    )
    sex = draw(_maybe(st.sampled_from(["female", "male", "other", "unknown"])))
    if sex is not OMIT:
        doc["sex"] = sex
    if sex != "male" and draw(st.booleans()):
        doc["pregnant"] = draw(st.booleans())
    if draw(st.booleans()):
        doc["breastfeeding"] = draw(st.booleans())
    optional: list[tuple[str, st.SearchStrategy[Any]]] = [
        ("deficiency", st.sampled_from(DEFICIENCIES)),
        ("cause", st.sampled_from(_names(vocab.causes))),
        ("conditions", _coded_list(vocab.conditions)),
        (
            "ileal_resection_cm",
            st.one_of(
                st.sampled_from(ILEAL_CUTOFFS),
                st.floats(
                    vocab.ileal_resection_cm.min,
                    vocab.ileal_resection_cm.max,
                    allow_nan=False,
                ),
            ),
        ),
        ("medications", _coded_list(vocab.medications)),
        ("diet", st.sampled_from(["omnivore", "vegetarian", "vegan"])),
        ("neuro_symptoms", _coded_list(vocab.neuro_symptoms, max_size=3)),
        ("severe_neuro", st.booleans()),
        ("labs", labs_docs(vocab)),
        ("preferences", preferences_docs()),
        ("guideline", guidelines if guidelines is not None else st.sampled_from(["uk", "us"])),
    ]
    for key, strategy in optional:
        value = draw(_maybe(strategy) if key != "guideline" or guidelines is None else strategy)
        if value is not OMIT:
            doc[key] = value
    if "ileal_resection_cm" not in doc and draw(st.booleans()):
        # Make the ileal-resection decisions reachable more often.
        conditions = doc.setdefault("conditions", [])
        conditions.append("ileal_resection")
        if draw(st.booleans()):
            doc["ileal_resection_cm"] = draw(st.sampled_from(ILEAL_CUTOFFS))
    as_of = draw(plan_dates())
    doc["as_of"] = as_of.isoformat()
    start = draw(
        _maybe(
            st.one_of(
                st.integers(-400, 400).map(lambda d: as_of + timedelta(days=d)),
                month_ends().filter(lambda d: abs(d.year - as_of.year) <= 50),
                leap_days().filter(lambda d: abs(d.year - as_of.year) <= 50),
            )
        )
    )
    if start is not OMIT:
        doc["start"] = start.isoformat()
    return doc


@st.composite
def shuffled(draw: st.DrawFn, doc: dict[str, Any]) -> dict[str, Any]:
    """The same document with its coded lists (and key order) permuted."""
    out = dict(doc)
    for key in ("conditions", "medications", "neuro_symptoms"):
        if key in out:
            out[key] = draw(st.permutations(out[key]))
    keys = draw(st.permutations(list(out)))
    return {k: out[k] for k in keys}


# Arbitrary JSON-like junk, biased towards the real field names so validation is exercised deeply.
PICTURE_KEYS = (
    "age",
    "sex",
    "pregnant",
    "breastfeeding",
    "deficiency",
    "cause",
    "conditions",
    "ileal_resection_cm",
    "medications",
    "diet",
    "neuro_symptoms",
    "severe_neuro",
    "labs",
    "preferences",
    "guideline",
    "start",
    "as_of",
    "serum_b12_ng_l",
    "egfr",
    "route",
    "drug",
)

json_scalars: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=12),
    st.sampled_from(["2025-02-30", "2026-02-29", "2024-02-29", "9999-12-31", "0001-01-01", "uk"]),
    st.sampled_from(["rygb", "metformin", "paraesthesia", "confirmed", "male", "im", "oral"]),
)


def json_junk() -> st.SearchStrategy[Any]:
    """Arbitrary JSON values: nested dicts (with real and random keys), lists and scalars."""
    keys = st.one_of(st.sampled_from(PICTURE_KEYS), st.text(max_size=8))
    return st.recursive(
        json_scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(keys, children, max_size=6),
        ),
        max_leaves=20,
    )
