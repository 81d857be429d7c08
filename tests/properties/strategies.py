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
    "haemoglobin_g_l": (55, 69.9, 70, 79.9, 80, 120),
    "platelets_10e9_l": (20, 49.9, 50, 150, 250),
    "potassium_mmol_l": (3.1, 3.49, 3.5, 4.2),
    "mcv_fl": (85, 100, 100.1, 112),
    "folate_ug_l": (1, 2.9, 3, 8),
    "egfr": (15, 59.9, 60, 90),
    "mma_nmol_l": (200, 450, 450.1, 1000),
    "homocysteine_umol_l": (8, 15, 15.1, 40),
}
ILEAL_CUTOFFS = (5.0, 19.9, 20.0, 50.0, 100.0)
# Conditions that no early, condition-driven decision reacts to (injection hypersensitivity has
# its own decision just before the confirmed-deficiency ones, and is kept to reach it).
PLAIN_CONDITIONS = frozenset(
    {
        "partial_gastrectomy",
        "ileal_crohns",
        "coeliac",
        "ckd",
        "dialysis",
        "diabetic_nephropathy",
        "hyperthyroidism",
        "infection",
        "critical_illness",
        "injection_hypersensitivity",
        "anticoagulated",
        "dementia",
        "frailty",
        "autoimmune_gastritis",
        "short_bowel_syndrome",
        "pancreatic_insufficiency",
        "small_intestinal_bacterial_overgrowth",
        "thrombocytopenia",
        "bleeding_disorder",
        "alcohol_excess",
        "needle_phobia",
    }
)

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
        ("route", st.sampled_from(["oral", "im", "oral", None])),
        ("adherence_concern", st.booleans()),
        ("drug", st.sampled_from(["hydroxocobalamin", "cyanocobalamin", None])),
    ):
        value = draw(_maybe(strategy))
        if value is not OMIT:
            out[key] = value
    return out


def _coded_list(terms: dict[str, Term], max_size: int = 3) -> st.SearchStrategy[list[str]]:
    """A list of coded names (duplicates and aliases allowed: the engine normalises them).

    Half the lists are empty, so that the decisions behind the condition-driven ones (oral
    routes, test first) are reached as often as the early ones.
    """
    return st.one_of(st.just([]), st.lists(st.sampled_from(_names(terms)), max_size=max_size))


SURGERY = ("total_gastrectomy", "rygb", "sleeve_gastrectomy", "bpd_ds")
SPECIAL = ("leber_disease", "tobacco_amblyopia", "cobalt_allergy", "injection_hypersensitivity")
ON_TREATMENT = frozenset({"hydroxocobalamin", "cyanocobalamin"})
NOT_CONFIRMED = ("at_risk", "not_deficient", "suspected", "indeterminate")
# What each scenario pins down after the free draw (see ``picture_docs``).
SCENARIOS = (
    "any",
    "plain",
    "oral",
    "diet",
    "labs",
    "surgery",
    "ileal",
    "special",
    "treated",
    "neuro",
    "neuro_any",
    "discordant",
    "child",
    "risk",
)


def _age(vocab: Vocabulary) -> st.SearchStrategy[int]:
    hi = int(vocab.age.max)
    return st.one_of(st.integers(16, hi), st.sampled_from([16, 17, hi - 1, hi]))


def _optional_fields(vocab: Vocabulary) -> list[tuple[str, st.SearchStrategy[Any]]]:
    rc = vocab.ileal_resection_cm
    return [
        ("sex", st.sampled_from(["female", "male", "other", "unknown"])),
        ("breastfeeding", st.booleans()),
        ("deficiency", st.sampled_from(DEFICIENCIES)),
        ("cause", st.sampled_from(_names(vocab.causes))),
        ("causes", _coded_list(vocab.causes, 2)),
        ("conditions", _coded_list(vocab.conditions)),
        (
            "ileal_resection_cm",
            st.one_of(st.sampled_from(ILEAL_CUTOFFS), st.floats(rc.min, rc.max, allow_nan=False)),
        ),
        ("medications", _coded_list(vocab.medications)),
        ("diet", st.sampled_from(["omnivore", "pescatarian", "vegetarian", "vegan"])),
        ("neuro_symptoms", _coded_list(vocab.neuro_symptoms, 2)),
        ("severe_neuro", st.booleans()),
        ("labs", labs_docs(vocab)),
        ("preferences", preferences_docs()),
    ]


B12_LAB_SETS = (
    ("serum_b12_ng_l",),
    ("active_b12_pmol_l",),
    ("serum_b12_ng_l", "active_b12_pmol_l"),
    ("serum_b12_ng_l", "mma_nmol_l"),
    ("active_b12_pmol_l", "mma_nmol_l"),
    ("serum_b12_ng_l", "homocysteine_umol_l"),
    ("serum_b12_ng_l", "active_b12_pmol_l", "mma_nmol_l", "homocysteine_umol_l"),
)


@st.composite
def _b12_labs(draw: st.DrawFn, vocab: Vocabulary) -> dict[str, Any]:
    """Labs that classify the deficiency: total and/or active B12, maybe MMA and homocysteine."""
    labs: dict[str, Any] = {}
    for name in draw(st.sampled_from(B12_LAB_SETS)):
        if name in vocab.labs:
            cutoffs = LAB_CUTOFFS.get(name)
            labs[name] = draw(
                st.sampled_from(cutoffs) if cutoffs else lab_values(name, vocab.labs[name])
            )
    return labs


@st.composite
def _pin(draw: st.DrawFn, doc: dict[str, Any], vocab: Vocabulary, scenario: str) -> None:
    """Overwrite the fields a scenario is about; everything else stays freely drawn."""
    if scenario == "any":
        return
    if scenario == "child":
        doc["age"] = draw(st.integers(int(vocab.age.min), 15))
        return
    if scenario == "neuro_any":  # neurological features with any status and any results
        symptoms = sorted(vocab.neuro_symptoms)
        doc["neuro_symptoms"] = draw(st.lists(st.sampled_from(symptoms), max_size=2))
        if not doc["neuro_symptoms"]:
            doc["severe_neuro"] = True
        doc["medications"] = [m for m in doc.get("medications", []) if m not in ON_TREATMENT]
        if draw(st.booleans()):
            doc["labs"] = {**draw(_b12_labs(vocab)), **draw(labs_docs(vocab))}
        if draw(st.integers(0, 3)) == 0:  # nothing that points to B12: a normal result alone
            for key in ("cause", "causes", "conditions", "medications", "diet"):
                doc.pop(key, None)
            doc["labs"] = {"serum_b12_ng_l": draw(st.sampled_from([350.1, 400, 1000]))}
            doc.pop("deficiency", None)
            if draw(st.booleans()):
                doc["deficiency"] = "not_deficient"
        return
    if scenario == "discordant":  # a stated status the results do not support, no neuro
        for key in ("neuro_symptoms", "severe_neuro", "cause", "causes", "diet"):
            doc.pop(key, None)
        doc["conditions"] = []
        doc["medications"] = []
        variant = draw(st.sampled_from(["normal", "normal_mma", "interpret", "borderline"]))
        doc["deficiency"] = "indeterminate" if variant == "interpret" else "suspected"
        b12 = 250 if variant == "borderline" else draw(st.sampled_from([350.1, 400, 1000]))
        doc["labs"] = {"serum_b12_ng_l": b12}
        if variant in ("normal_mma", "interpret"):
            doc["labs"]["mma_nmol_l"] = draw(st.sampled_from([200, 450]))
        return
    if scenario == "neuro":
        doc["deficiency"] = draw(st.sampled_from(["confirmed", "suspected", "indeterminate"]))
        symptoms = sorted(vocab.neuro_symptoms)
        doc["neuro_symptoms"] = draw(st.lists(st.sampled_from(symptoms), min_size=1, max_size=2))
        doc["medications"] = [m for m in doc.get("medications", []) if m not in ON_TREATMENT]
        return
    if scenario == "treated":
        doc["medications"] = [
            draw(st.sampled_from(sorted(ON_TREATMENT))),
            *doc.get("medications", []),
        ]
        return
    plain = sorted(c for c in vocab.conditions if c in PLAIN_CONDITIONS)
    doc.pop("neuro_symptoms", None)
    doc.pop("severe_neuro", None)
    doc["conditions"] = draw(st.lists(st.sampled_from(plain), max_size=2))
    doc["medications"] = [m for m in doc.get("medications", []) if m not in ON_TREATMENT]
    if scenario in ("oral", "diet"):
        doc["deficiency"] = "confirmed"
    if scenario == "risk":
        doc["deficiency"] = draw(st.sampled_from(["at_risk", "not_deficient"]))
    if scenario == "oral":
        doc["preferences"] = {
            "route": draw(st.sampled_from(["oral", "oral", None, "im"])),
            "drug": draw(st.sampled_from(["hydroxocobalamin", None, "cyanocobalamin"])),
            "adherence_concern": draw(st.sampled_from([False, False, True])),
        }
    elif scenario == "diet":
        doc["cause"] = "dietary"
    elif scenario == "labs":
        doc.pop("deficiency", None)
        doc["labs"] = draw(_b12_labs(vocab))
        given = draw(st.sampled_from([None, None, "indeterminate", "suspected"]))
        if given is not None:
            doc["deficiency"] = given
        if draw(st.booleans()):  # reach the decisions that need no neurological involvement
            doc.pop("neuro_symptoms", None)
            doc.pop("severe_neuro", None)
    elif scenario in ("surgery", "ileal", "special"):
        pool = {"surgery": SURGERY, "ileal": ("ileal_resection",), "special": SPECIAL}[scenario]
        key = draw(st.sampled_from([c for c in pool if c in vocab.conditions]))
        doc["conditions"] = draw(st.permutations([key, *doc["conditions"]]))
        if scenario == "special":  # the special decisions mostly need a treatable deficiency
            doc["deficiency"] = draw(st.sampled_from(["confirmed", "confirmed", "suspected"]))
    if scenario in ("surgery", "ileal"):
        draw(_not_confirmed(doc, ileal=scenario == "ileal"))


@st.composite
def _not_confirmed(draw: st.DrawFn, doc: dict[str, Any], *, ileal: bool) -> None:
    """No confirmed deficiency (so prophylaxis decisions apply); maybe an ileal length."""
    for key in ("labs", "deficiency", "ileal_resection_cm"):
        doc.pop(key, None)
    deficiency = draw(st.sampled_from([*NOT_CONFIRMED, None]))
    if deficiency is not None:
        doc["deficiency"] = deficiency
    cm = draw(st.sampled_from([None, *ILEAL_CUTOFFS])) if ileal else None
    if cm is not None:
        doc["ileal_resection_cm"] = cm


@st.composite
def picture_docs(
    draw: st.DrawFn,
    vocab: Vocabulary,
    *,
    ages: st.SearchStrategy[int] | None = None,
    guidelines: st.SearchStrategy[str] | None = None,
    scenarios: st.SearchStrategy[str] | None = None,
) -> dict[str, Any]:
    """A valid ClinicalPicture JSON document (``as_of`` always given, as the library needs).

    Every optional field is drawn freely or left out; then a scenario pins the fields that reach
    one group of decisions, so each decision is reached often: ``any`` pins nothing; ``plain``
    has no neurological involvement and only conditions that no early decision reacts to;
    ``oral`` and ``diet`` add a confirmed deficiency with an oral preference or a dietary cause;
    ``labs`` leaves the status to be worked out from B12, MMA and homocysteine results;
    ``surgery`` and ``ileal`` add a gastrectomy, bariatric operation or ileal resection without a
    confirmed deficiency; ``special`` adds Leber's disease, tobacco amblyopia, cobalt allergy or
    injection hypersensitivity; ``treated`` is already on B12; ``neuro`` has neurological
    symptoms and a treatable deficiency; ``neuro_any`` has neurological features with any status
    and any results; ``discordant`` states a suspicion (or an indeterminate status) that the
    results do not support; ``child`` is under 16; ``risk`` is at risk or not
    deficient with no other indication.
    """
    scenario = draw(scenarios if scenarios is not None else st.sampled_from(SCENARIOS))
    doc: dict[str, Any] = {"age": draw(ages if ages is not None else _age(vocab))}
    for key, strategy in _optional_fields(vocab):
        value = draw(_maybe(strategy))
        if value is not OMIT:
            doc[key] = value
    draw(_pin(doc, vocab, scenario if ages is None else "any"))
    if doc.get("sex") != "male" and draw(st.booleans()):
        doc["pregnant"] = draw(st.booleans())
    guideline = draw(
        guidelines if guidelines is not None else _maybe(st.sampled_from(["uk", "us"]))
    )
    if guideline is not OMIT:
        doc["guideline"] = guideline
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
    surgery = draw(_maybe(st.integers(0, 4000).map(lambda d: as_of - timedelta(days=d))))
    if surgery is not OMIT and surgery >= FIRST_DAY:
        doc["surgery_date"] = surgery.isoformat()
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
    "causes",
    "surgery_date",
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
    # Edge numbers a JSON parser can produce: huge integers, infinities, NaN, negative zero.
    st.sampled_from([10**400, -(10**400), 2**63, 2**1024, 1e308, -0.0]),
    st.sampled_from([float("inf"), float("-inf"), float("nan")]),
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


@st.composite
def mutated_pictures(draw: st.DrawFn, vocab: Vocabulary) -> dict[str, Any]:
    """A valid picture with one field (top level, in ``labs`` or ``preferences``) set to junk."""
    doc = draw(picture_docs(vocab))
    junk = draw(json_junk())
    where = draw(st.sampled_from(["top", "labs", "preferences"]))
    if where == "top":
        doc[draw(st.sampled_from(PICTURE_KEYS))] = junk
    elif where == "labs":
        doc["labs"] = {**doc.get("labs", {}), draw(st.sampled_from(sorted(vocab.labs))): junk}
    else:
        key = draw(st.sampled_from(["route", "adherence_concern", "drug"]))
        doc["preferences"] = {**doc.get("preferences", {}), key: junk}
    return doc
