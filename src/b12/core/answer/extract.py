"""Slots from a normalised question: lexicons, patterns and a NegEx-style negation window.

No language model: each slot is filled by a small table of token phrases (matched on the
normalised tokens, so shorthand and misspellings are already expanded) or a numeric pattern.
The tables below are *parsing* mechanics: they map words a user types to the codes of the
clinical picture (``kb.vocabulary``); every clinical decision is still made by the knowledge
base (``select_pathway``/``plan``).

Slots: ``neuro`` (True/False/None; "no neuro symptoms", "denies tingling" → False; "with or
without" → None), ``populations``, ``routes`` (``route`` when only one), ``formulations``,
``interval_days``, ``serum_b12`` (value and unit; a number followed by a dose unit or a
frequency is a dose, never a level), other lab values, ``age``, ``sex``, ``deficiency`` (only
when the question says so), ``audience_cue`` and ``guideline_cue``, and ``intent``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from b12.core.answer.normalise import BOUNDARIES, Normalised
from b12.core.knowledge import KnowledgeBase

Phrase = tuple[str, ...]


def _p(*texts: str) -> tuple[Phrase, ...]:
    return tuple(tuple(t.split()) for t in texts)


# -- neurological involvement ------------------------------------------------------------------

#: phrase → neuro_symptoms code (``kb.vocabulary.neuro_symptoms``).
NEURO_WORDS: dict[Phrase, str] = {
    **dict.fromkeys(
        _p("tingling", "paraesthesia", "pins and needles", "prickling", "burning feet"),
        "paraesthesia",
    ),
    **dict.fromkeys(_p("numbness", "numb"), "numbness"),
    **dict.fromkeys(
        _p("neuropathy", "peripheral neuropathy", "polyneuropathy", "nerve damage"),
        "peripheral_neuropathy",
    ),
    **dict.fromkeys(_p("ataxia", "ataxic", "unsteady", "unsteadiness", "balance"), "ataxia"),
    **dict.fromkeys(_p("gait", "walking difficulty", "difficulty walking"), "gait_disturbance"),
    **dict.fromkeys(
        _p("cognitive", "cognition", "confusion", "confused", "concentration"),
        "cognitive_impairment",
    ),
    **dict.fromkeys(_p("memory", "forgetful", "forgetfulness"), "memory_loss"),
    **dict.fromkeys(_p("mood", "depression", "psychosis", "irritability"), "mood_change"),
    **dict.fromkeys(_p("visual disturbance", "vision", "blurred vision"), "visual_disturbance"),
    **dict.fromkeys(
        _p("subacute combined degeneration", "spinal cord", "myelopathy"),
        "subacute_combined_degeneration",
    ),
    **dict.fromkeys(_p("weakness", "weak legs"), "weakness"),
    **dict.fromkeys(
        _p("neurological", "neurology", "nerve", "nerves", "neurologically"),
        "unspecified_neurological",
    ),
}
NEGATIONS = frozenset(
    {"no", "not", "without", "denies", "denied", "deny", "denying", "nil", "never", "free", "non"}
)
POST_NEGATIONS = frozenset({"absent", "none", "negative", "denied", "excluded"})
#: Words that end a negation's reach (besides clause punctuation).
SCOPE_BREAKS = frozenset(
    {"but", "however", "although", "though", "except", "yet", "whereas", "while", "now", "then"}
)
NEGATION_WINDOW = 6
BOTH_WAYS = _p("with or without", "with and without", "with without", "whether or not")

# -- populations --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Population:
    """A population slot and what it adds to the clinical picture."""

    name: str
    phrases: tuple[Phrase, ...]
    conditions: tuple[str, ...] = ()
    medications: tuple[str, ...] = ()
    cause: str | None = None
    diet: str | None = None
    flags: tuple[str, ...] = ()


POPULATIONS: tuple[Population, ...] = (
    Population(
        "pernicious_anaemia",
        _p(
            "pernicious anaemia",
            "pernicious",
            "autoimmune gastritis",
            "intrinsic factor antibody",
            "intrinsic factor antibodies",
            "parietal cell",
        ),
        cause="autoimmune_gastritis",
    ),
    Population("total_gastrectomy", _p("total gastrectomy"), conditions=("total_gastrectomy",)),
    Population(
        "partial_gastrectomy", _p("partial gastrectomy"), conditions=("partial_gastrectomy",)
    ),
    Population(
        "bariatric",
        _p(
            "bariatric",
            "gastric bypass",
            "weight loss surgery",
            "roux",
            "sleeve",
            "duodenal switch",
            "biliopancreatic",
        ),
    ),
    Population(
        "ileal_resection",
        _p("ileal resection", "ileum resected", "ileal resected", "resected ileum", "resection"),
        conditions=("ileal_resection",),
    ),
    Population("crohn", _p("crohn", "crohn disease", "inflammatory bowel disease", "ibd")),
    Population("coeliac", _p("coeliac", "celiac"), conditions=("coeliac",), cause="malabsorption"),
    Population("malabsorption", _p("malabsorption", "malabsorb"), cause="malabsorption"),
    Population(
        "renal",
        _p(
            "chronic kidney disease",
            "kidney disease",
            "kidney failure",
            "kidney impairment",
            "kidney problems",
            "renal",
            "dialysis",
            "haemodialysis",
            "hemodialysis",
            "nephropathy",
        ),
    ),
    Population("elderly", _p("elderly", "older adult", "older adults", "older people", "frail")),
    Population("vegan", _p("vegan", "vegans", "plant based"), diet="vegan", cause="dietary"),
    Population(
        "vegetarian",
        _p("vegetarian", "vegetarians", "lacto ovo"),
        diet="vegetarian",
        cause="dietary",
    ),
    Population(
        "dietary",
        _p("diet", "dietary", "poor intake", "low intake", "dietary intake"),
        cause="dietary",
    ),
    Population(
        "critically_ill",
        _p("critically ill", "critical illness", "icu", "intensive care"),
        conditions=("critical_illness",),
    ),
    Population("infection", _p("infection", "sepsis"), conditions=("infection",)),
    Population(
        "hyperthyroidism",
        _p("hyperthyroidism", "hyperthyroid", "thyrotoxicosis", "overactive thyroid"),
        conditions=("hyperthyroidism",),
    ),
    Population("pregnancy", _p("pregnant", "pregnancy"), flags=("pregnant",)),
    Population(
        "breastfeeding",
        _p("breastfeeding", "lactating", "lactation", "nursing mother"),
        flags=("breastfeeding",),
    ),
    Population("metformin", _p("metformin"), medications=("metformin",), cause="medication"),
    Population(
        "ppi",
        _p("proton pump inhibitor", "proton pump inhibitors", "omeprazole", "lansoprazole"),
        medications=("ppi",),
        cause="medication",
    ),
    Population(
        "h2ra",
        _p("h2 receptor antagonist", "ranitidine", "famotidine"),
        medications=("h2ra",),
        cause="medication",
    ),
    Population("colchicine", _p("colchicine"), medications=("colchicine",), cause="medication"),
    Population("topiramate", _p("topiramate"), medications=("topiramate",), cause="medication"),
    Population(
        "nitrous_oxide",
        _p("nitrous oxide", "nitrous"),
        medications=("nitrous_oxide",),
        cause="nitrous_oxide",
    ),
    Population(
        "leber",
        _p("leber", "leber disease", "optic atrophy", "optic neuropathy", "lhon"),
        conditions=("leber_disease",),
    ),
    Population(
        "tobacco_amblyopia",
        _p("tobacco amblyopia", "amblyopia"),
        conditions=("tobacco_amblyopia",),
    ),
    Population("cobalt_allergy", _p("cobalt"), conditions=("cobalt_allergy",)),
    Population(
        "injection_hypersensitivity",
        _p("hypersensitivity", "anaphylaxis", "anaphylactic", "allergic reaction", "allergy"),
        conditions=("injection_hypersensitivity",),
    ),
    Population(
        "anticoagulated",
        _p("anticoagulant", "anticoagulants", "anticoagulated", "warfarin", "apixaban"),
        conditions=("anticoagulated",),
    ),
    Population("dementia", _p("dementia"), conditions=("dementia",)),
)
BARIATRIC_KINDS: dict[Phrase, str] = {
    **dict.fromkeys(_p("sleeve"), "sleeve_gastrectomy"),
    **dict.fromkeys(_p("duodenal switch", "biliopancreatic"), "bpd_ds"),
}
#: A bariatric operation not named more precisely is read as a gastric bypass.
BARIATRIC_DEFAULT = "rygb"
RENAL_DIALYSIS = _p("dialysis", "haemodialysis", "hemodialysis")
RENAL_NEPHROPATHY = _p("nephropathy")
ILEAL_WORDS = _p("ileal", "ileum", "terminal ileum")
ELDERLY_AGE = 65

# -- treatment words ----------------------------------------------------------------------------

ROUTE_WORDS: dict[Phrase, str] = {
    **dict.fromkeys(
        _p("intramuscular", "intramuscularly", "injection", "injections", "injected", "inject"),
        "im",
    ),
    **dict.fromkeys(
        _p(
            "oral",
            "orally",
            "tablet",
            "tablets",
            "pill",
            "pills",
            "by mouth",
            "capsule",
            "capsules",
        ),
        "oral",
    ),
    **dict.fromkeys(_p("subcutaneous", "subcutaneously"), "sc"),
    **dict.fromkeys(_p("intravenous", "intravenously", "infusion", "drip"), "iv"),
    **dict.fromkeys(_p("sublingual", "under the tongue", "lozenge"), "sublingual"),
    **dict.fromkeys(_p("intranasal", "nasal spray", "nasal"), "intranasal"),
}
ON_TREATMENT_LEAD = frozenset(
    {"already", "currently", "receiving", "taking", "on", "having", "gets", "getting", "takes"}
)
ON_TREATMENT_WHAT = frozenset(
    {
        "hydroxocobalamin",
        "cyanocobalamin",
        "methylcobalamin",
        "injections",
        "injection",
        "supplements",
        "supplement",
        "treatment",
        "replacement",
        "maintenance",
        "tablets",
    }
)
START_WORDS = frozenset({"start", "starting", "started", "switch", "switching", "begin", "put"})
PREFER_WORDS = frozenset({"prefer", "prefers", "preferred", "preference", "wants", "rather"})

# -- numbers ------------------------------------------------------------------------------------

NUMBER_WORDS = {
    "one": 1,
    "a": 1,
    "an": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "once": 1,
    "twice": 2,
}
UNIT_DAYS = {
    "day": 1.0,
    "days": 1.0,
    "week": 7.0,
    "weeks": 7.0,
    "month": 30.44,
    "months": 30.44,
    "year": 365.25,
    "years": 365.25,
}
PER_WORDS = {"daily": 1.0, "weekly": 7.0, "monthly": 30.44, "yearly": 365.25, "annually": 365.25}
DOSE_UNITS = frozenset(
    {
        "microgram",
        "micrograms",
        "milligram",
        "milligrams",
        "mcg",
        "mg",
        "ug",
        "μg",
        "units",
        "unit",
        "iu",
        "ml",
        "tablet",
        "tablets",
        "dose",
        "doses",
        "daily",
        "weekly",
        "monthly",
        "once",
        "twice",
        "every",
        "per",
        "a",
        "injection",
        "injections",
        "x",
        "times",
    }
)
LAB_UNITS = frozenset(
    {"ng/l", "pg/ml", "pmol/l", "nmol/l", "umol/l", "μmol/l", "g/l", "g/dl", "mmol/l", "cm"}
)
LAB_FILLERS = frozenset(
    {"of", "is", "was", "=", "at", "level", "levels", "result", "only", "just", "about", "around"}
)
#: phrase → (picture lab field, {unit token: factor to the field's unit}); ``None`` = assumed.
LABS: dict[Phrase, tuple[str, dict[str | None, float]]] = {
    **dict.fromkeys(
        _p("serum b12", "total b12", "b12", "cobalamin", "serum cobalamin", "b12 level"),
        ("serum_b12_ng_l", {None: 1.0, "ng/l": 1.0, "pg/ml": 1.0, "pmol/l": 1.355}),
    ),
    **dict.fromkeys(
        _p("active b12", "active b12 holotranscobalamin", "holotranscobalamin"),
        ("active_b12_pmol_l", {None: 1.0, "pmol/l": 1.0}),
    ),
    **dict.fromkeys(
        _p("methylmalonic acid", "methylmalonic"),
        ("mma_nmol_l", {None: 1.0, "nmol/l": 1.0, "umol/l": 1000.0, "μmol/l": 1000.0}),
    ),
    **dict.fromkeys(
        _p("homocysteine", "total homocysteine"),
        ("homocysteine_umol_l", {None: 1.0, "umol/l": 1.0, "μmol/l": 1.0}),
    ),
    **dict.fromkeys(_p("egfr", "kidney function egfr"), ("egfr", {None: 1.0, "ml/min": 1.0})),
    **dict.fromkeys(
        _p("haemoglobin", "hemoglobin"),
        ("haemoglobin_g_l", {None: 1.0, "g/l": 1.0, "g/dl": 10.0}),
    ),
    **dict.fromkeys(_p("potassium"), ("potassium_mmol_l", {None: 1.0, "mmol/l": 1.0})),
    **dict.fromkeys(_p("folate", "serum folate"), ("folate_ug_l", {None: 1.0, "ug/l": 1.0})),
    **dict.fromkeys(_p("mean cell volume", "mcv"), ("mcv_fl", {None: 1.0, "fl": 1.0})),
}

# -- cues ---------------------------------------------------------------------------------------

DEFICIENCY_CUES: tuple[tuple[str, tuple[Phrase, ...]], ...] = (
    (
        "not_deficient",
        _p("not deficient", "no deficiency", "not b12 deficient", "not actually deficient"),
    ),
    (
        "indeterminate",
        _p("borderline", "indeterminate", "equivocal", "grey zone", "gray zone", "low normal"),
    ),
    (
        "suspected",
        _p("suspected", "suspect", "suspicion", "possible", "query", "might have", "could be"),
    ),
    (
        "at_risk",
        _p(
            "at risk",
            "prophylaxis",
            "prophylactic",
            "prevent",
            "prevention",
            "preventive",
            "just in case",
        ),
    ),
    (
        "confirmed",
        _p(
            "confirmed",
            "low b12",
            "low serum b12",
            "low level",
            "low levels",
            "low b12 level",
            "b12 low",
            "b12 is low",
            "b12 was low",
        ),
    ),
)
#: "B12 deficiency" in a question about a patient means a confirmed deficiency, but the word is
#: in nearly every question, so on its own it does not make the question describe a patient.
GENERIC_DEFICIENCY = _p("deficiency", "deficient", "deficiencies")
#: The question says the B12 status is not known: the engine must not assume a deficiency.
UNKNOWN_STATUS = _p(
    "no b12 result",
    "no b12 level",
    "no result",
    "no results",
    "not tested",
    "not been tested",
    "not yet tested",
    "no diagnosis",
    "not measured",
    "status unknown",
    "unknown status",
    "nothing known",
)
INTENTS: tuple[tuple[str, tuple[Phrase, ...]], ...] = (
    (
        "monitoring",
        _p(
            "monitor",
            "monitoring",
            "recheck",
            "rechecked",
            "re check",
            "review",
            "reviewed",
            "check",
            "checked",
            "checking",
            "follow up",
            "blood test",
            "blood tests",
            "bloods",
            "measure",
            "measured",
            "retest",
            "test",
            "tests",
            "target",
            "targets",
        ),
    ),
    (
        "safety",
        _p(
            "safe",
            "safety",
            "risk",
            "risks",
            "side effect",
            "side effects",
            "caution",
            "avoid",
            "contraindicated",
            "contraindication",
            "danger",
            "dangerous",
            "harm",
            "too much",
            "site",
            "buttock",
            "gluteal",
        ),
    ),
    (
        "diagnosis",
        _p(
            "diagnose",
            "diagnosis",
            "interpret",
            "interpretation",
            "confirm",
            "result",
            "results",
            "mean",
            "means",
            "unlikely",
            "likely",
            "diagnostic",
            "classify",
            "classified",
        ),
    ),
    (
        "regimen",
        _p(
            "regimen",
            "dose",
            "doses",
            "frequency",
            "schedule",
            "interval",
            "loading",
            "maintenance",
            "treat",
            "treatment",
            "treating",
            "prescribe",
            "give",
            "replace",
            "replacement",
            "manage",
            "management",
            "how many",
            "how long",
            "start",
            "regime",
        ),
    ),
)
#: Phrases that ask for a treatment regimen outright: the plan's decision heads the answer.
REGIMEN_QUESTIONS = _p(
    "regimen",
    "regime",
    "schedule",
    "frequency",
    "how often",
    "how many injections",
    "how much",
    "what dose",
    "which dose",
    "dose for",
    "dose frequency",
    "treatment for",
    "treatment of",
    "treatment regimen",
    "how to treat",
    "how do i treat",
    "how should i treat",
    "first line",
    "which injection",
    "what injection",
)
#: Phrases that ask what to do for the patient described ("does she need injections?").
DECISION_QUESTIONS = _p(
    "need b12",
    "need injections",
    "need treatment",
    "need tablets",
    "need prophylaxis",
    "need prophylactic",
    "needs b12",
    "needs injections",
    "needs treatment",
    "needs prophylaxis",
    "should they have",
    "should he have",
    "should she have",
    "should i give",
    "should i start",
    "should we",
    "what now",
    "what next",
    "what to do",
    "injections or tablets",
    "tablets or injections",
    "oral or",
    "or oral",
    "or injections",
    "or tablets",
)
FIRST_PERSON = frozenset({"i", "i'm", "im", "me", "my", "mine", "myself", "i've", "i'd", "i'll"})
CLINICIAN_WORDS = frozenset(
    {"patient", "patients", "prescribe", "prescribing", "clinician", "clinic", "prescriber"}
)
UK_WORDS = frozenset(
    {"nice", "bnf", "bnfc", "bsh", "mhra", "uk", "nhs", "britain", "british", "england", "ng239"}
)
US_WORDS = frozenset({"fda", "usa", "u.s", "u.s.a", "american", "afp", "america", "usp"})
_US_UPPER = re.compile(r"\bUS\b|\bU\.S\.")
SEX_WORDS = {
    **dict.fromkeys(
        ("woman", "women", "female", "lady", "girl", "she", "her", "mother", "mum", "f"), "female"
    ),
    **dict.fromkeys(("man", "men", "male", "gentleman", "boy", "he", "his", "him", "m"), "male"),
}
AGE_WORDS = frozenset({"year", "years", "yr", "yrs", "y"})
PERSON_WORDS = frozenset(
    {
        "daughter",
        "son",
        "child",
        "kid",
        "boy",
        "girl",
        "baby",
        "teenager",
        "he",
        "she",
        "patient",
        "woman",
        "man",
        "mother",
        "father",
        "mum",
        "dad",
        "husband",
        "wife",
        "i",
        "i'm",
    }
)


# -- the result ---------------------------------------------------------------------------------


@dataclass(slots=True)
class Slots:
    """What the question says (mutable while it is being filled)."""

    intent: str | None = None
    neuro: bool | None = None
    neuro_symptoms: list[str] = field(default_factory=list)
    populations: list[str] = field(default_factory=list)
    conditions: list[str] = field(default_factory=list)
    medications: list[str] = field(default_factory=list)
    causes: list[str] = field(default_factory=list)
    diet: str | None = None
    flags: list[str] = field(default_factory=list)
    routes: list[str] = field(default_factory=list)
    formulations: list[str] = field(default_factory=list)
    interval_days: float | None = None
    serum_b12: tuple[float, str | None] | None = None
    labs: dict[str, float] = field(default_factory=dict)
    ileal_resection_cm: float | None = None
    age: int | None = None
    sex: str | None = None
    deficiency: str | None = None
    deficiency_generic: bool = False
    status_unknown: bool = False
    on_treatment: bool = False
    regimen_question: bool = False
    decision_question: bool = False
    route_preference: str | None = None
    audience_cue: str | None = None
    guideline_cue: str | None = None

    @property
    def route(self) -> str | None:
        """The one route named, or ``None`` when none or several (a comparison)."""
        return self.routes[0] if len(self.routes) == 1 else None

    @property
    def describes_patient(self) -> bool:
        """True when the question describes a patient (so a clinical picture can be built)."""
        return bool(
            self.age is not None
            or self.sex is not None
            or self.populations
            or self.neuro is not None
            or self.labs
            or (self.deficiency is not None and not self.deficiency_generic)
            or self.on_treatment
        )


def _find(tokens: Sequence[str], phrase: Phrase, start: int = 0) -> Iterable[int]:
    """Every position where ``phrase`` starts (``Sequence.index`` finds the first word fast)."""
    n = len(phrase)
    first = phrase[0]
    i = start
    while True:
        try:
            i = tokens.index(first, i)
        except ValueError:
            return
        if n == 1 or tuple(tokens[i : i + n]) == phrase:
            yield i
        i += 1


def _has(tokens: Sequence[str], phrases: Iterable[Phrase]) -> bool:
    return any(next(iter(_find(tokens, p)), None) is not None for p in phrases)


def _hits(tokens: Sequence[str], table: dict[Phrase, str]) -> list[tuple[int, int, str]]:
    """(start, end, value) of every table phrase, longest match first, non-overlapping."""
    taken: set[int] = set()
    out: list[tuple[int, int, str]] = []
    for phrase in sorted(table, key=lambda p: (-len(p), p)):
        for i in _find(tokens, phrase):
            span = set(range(i, i + len(phrase)))
            if span & taken:
                continue
            taken |= span
            out.append((i, i + len(phrase), table[phrase]))
    out.sort()
    return out


def number(token: str) -> float | None:
    """A number token (``150``, ``4.5``; a range gives its lower end) or a number word."""
    if token in NUMBER_WORDS:
        return float(NUMBER_WORDS[token])
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(?:-\d+(?:\.\d+)?)?", token)
    if m is None or len(m.group(1)) > 9:
        return None
    return float(m.group(1))


def _negated(tokens: Sequence[str], start: int, end: int) -> bool:
    """NegEx-style: a negation word before ``start`` in the same clause, or one right after."""
    for j in range(start - 1, max(-1, start - 1 - NEGATION_WINDOW), -1):
        tok = tokens[j]
        if tok in BOUNDARIES or tok in SCOPE_BREAKS:
            break
        if tok in NEGATIONS:
            return True
    for j in range(end, min(len(tokens), end + 3)):
        tok = tokens[j]
        if (tok in BOUNDARIES and tok != ":") or tok in SCOPE_BREAKS or tok == "and":
            break
        if tok in POST_NEGATIONS:
            return True
    return False


def _neuro(tokens: Sequence[str], slots: Slots) -> None:
    hits = _hits(tokens, NEURO_WORDS)
    if not hits:
        return
    if _has(tokens, BOTH_WAYS):
        return
    positive = [code for start, end, code in hits if not _negated(tokens, start, end)]
    if positive:
        slots.neuro = True
        slots.neuro_symptoms = sorted(set(positive))
    else:
        slots.neuro = False


def _populations(tokens: Sequence[str], slots: Slots) -> None:
    for pop in POPULATIONS:
        hits = [
            i
            for phrase in pop.phrases
            for i in _find(tokens, phrase)
            if not _negated(tokens, i, i + len(phrase))
        ]
        if not hits:
            continue
        if pop.name == "ileal_resection" and not (
            _has(tokens, ILEAL_WORDS) or _has(tokens, _p("ileum resected", "ileal resection"))
        ):
            continue
        if pop.name == "crohn" and _has(tokens, ILEAL_WORDS):
            slots.conditions.append("ileal_crohns")
        slots.populations.append(pop.name)
        slots.conditions.extend(pop.conditions)
        slots.medications.extend(pop.medications)
        if pop.cause:
            slots.causes.append(pop.cause)
        if pop.diet:
            slots.diet = pop.diet
        slots.flags.extend(pop.flags)
    _population_details(tokens, slots)


def _population_details(tokens: Sequence[str], slots: Slots) -> None:
    """The picture's exact condition for a bariatric, kidney or gastrectomy mention."""
    if "bariatric" in slots.populations:
        kinds = [v for _, _, v in _hits(tokens, BARIATRIC_KINDS)]
        slots.conditions.append(kinds[0] if kinds else BARIATRIC_DEFAULT)
    if "renal" in slots.populations:
        if _has(tokens, RENAL_DIALYSIS):
            slots.conditions.append("dialysis")
        elif _has(tokens, RENAL_NEPHROPATHY):
            slots.conditions.append("diabetic_nephropathy")
        else:
            slots.conditions.append("ckd")
    if (
        "gastrectomy" in tokens
        and "total_gastrectomy" not in slots.conditions
        and "partial_gastrectomy" not in slots.conditions
        and "sleeve" not in tokens
        and not _negated(tokens, tokens.index("gastrectomy"), tokens.index("gastrectomy") + 1)
    ):
        slots.populations.append("total_gastrectomy")
        slots.conditions.append("total_gastrectomy")
    if "cobalt_allergy" in slots.populations and "injection_hypersensitivity" in slots.populations:
        slots.populations.remove("injection_hypersensitivity")
        slots.conditions.remove("injection_hypersensitivity")
    if "pregnancy" in slots.populations or "breastfeeding" in slots.populations:
        slots.sex = "female"


def _routes(tokens: Sequence[str], slots: Slots, kb: KnowledgeBase) -> None:
    for _, _, route in _hits(tokens, ROUTE_WORDS):
        if route not in slots.routes:
            slots.routes.append(route)
    names: dict[Phrase, str] = {}
    for key, term in kb.vocabulary.products.items():
        if term.kind == "b12":
            for text in (key, term.label, *term.aliases):
                names[tuple(text.lower().replace("_", " ").split())] = key
    for _, _, drug in _hits(tokens, names):
        if drug not in slots.formulations:
            slots.formulations.append(drug)
    slots.on_treatment = _on_treatment(tokens)
    slots.route_preference = _route_preference(tokens, slots.routes)


def _on_treatment(tokens: Sequence[str]) -> bool:
    """ "already on injections", "taking cyanocobalamin" (not "start on injections")."""
    for i, tok in enumerate(tokens):
        if tok not in ON_TREATMENT_LEAD:
            continue
        before: set[str] = set()
        for t in reversed(tokens[max(0, i - 3) : i]):
            if t in BOUNDARIES:
                break
            before.add(t)
        if before & START_WORDS or before & {"if", "before", "when"}:
            continue
        after = tokens[i + 1 : i + 3]
        if any(t in ON_TREATMENT_WHAT for t in after) and not _negated(tokens, i, i + 1):
            return True
    return False


def _route_preference(tokens: Sequence[str], routes: list[str]) -> str | None:
    """The one of injection / oral the question names, or the one it prefers of the two."""
    ims = [r for r in routes if r in ("im", "oral")]
    if len(ims) == 1 and len(routes) == 1:
        return ims[0]
    if len(ims) == 2:
        # "prefers oral to injections": the route right after the preference word.
        for i, tok in enumerate(tokens):
            if tok in PREFER_WORDS:
                following = [v for _, _, v in _hits(tokens[i + 1 : i + 4], ROUTE_WORDS)]
                if following and following[0] in ("im", "oral"):
                    return following[0]
                break
    return None


def _interval(tokens: Sequence[str], slots: Slots) -> None:  # noqa: C901 - one branch per form
    n = len(tokens)
    for i, tok in enumerate(tokens):
        nxt = tokens[i + 1] if i + 1 < n else ""
        nxt2 = tokens[i + 2] if i + 2 < n else ""
        days: float | None = None
        if tok == "every" and nxt in UNIT_DAYS:
            days = UNIT_DAYS[nxt]
        elif tok == "every" and nxt in ("other", "alternate", "second") and nxt2 in ("day",):
            days = 2.0
        elif tok == "every" and number(nxt) is not None and nxt2 in UNIT_DAYS:
            days = (number(nxt) or 0) * UNIT_DAYS[nxt2]
        elif tok == "alternate" and nxt in ("days", "day"):
            days = 2.0
        elif tok in PER_WORDS and not (i > 0 and number(tokens[i - 1]) is not None):
            days = PER_WORDS[tok]
        elif number(tok) is not None and nxt in PER_WORDS and nxt != "daily":
            days = (number(tok) or 0) * PER_WORDS[nxt]
        elif tok in ("once", "one") and nxt == "a" and nxt2 == "day":
            days = 1.0
        elif number(tok) is not None and nxt == "times" and nxt2 in ("a", "per", "weekly"):
            unit = nxt2 if nxt2 == "weekly" else (tokens[i + 3] if i + 3 < n else "")
            if unit in ("week", "weekly") and (number(tok) or 0) > 0:
                days = round(7 / (number(tok) or 1), 2)
        elif tok in ("twice", "thrice") and nxt in ("a", "per", "weekly"):
            unit = nxt if nxt == "weekly" else nxt2
            if unit in ("week", "weekly"):
                days = round(7 / (2 if tok == "twice" else 3), 2)
        elif (
            number(tok) is not None
            and nxt in UNIT_DAYS
            and nxt2 in ("after", "apart", "later", "between")
        ):
            days = (number(tok) or 0) * UNIT_DAYS[nxt]
        if days is not None and 0 < days <= 3660:
            slots.interval_days = round(days, 2)
            return


def _dose_follows(tokens: Sequence[str], j: int) -> bool:
    return j + 1 < len(tokens) and tokens[j + 1] in DOSE_UNITS


def _labs(tokens: Sequence[str], slots: Slots, kb: KnowledgeBase) -> None:
    ranges = kb.vocabulary.labs
    for start, end, key in _hits(tokens, {p: " ".join(p) for p in LABS}):
        phrase = tuple(key.split())
        field_name, units = LABS[phrase]
        if field_name == "serum_b12_ng_l" and start > 0 and tokens[start - 1] == "active":
            continue
        j = end
        while j < len(tokens) and j < end + 3 and tokens[j] in LAB_FILLERS:
            j += 1
        if j >= len(tokens):
            continue
        value = number(tokens[j]) if tokens[j][0].isdigit() else None
        if value is None or _dose_follows(tokens, j):
            continue
        unit = tokens[j + 1] if j + 1 < len(tokens) and tokens[j + 1] in units else None
        converted = round(value * units[unit], 2)
        term = ranges.get(field_name)
        if term is None or not term.min <= converted <= term.max:
            continue
        if field_name in slots.labs:
            continue
        slots.labs[field_name] = converted
        if field_name == "serum_b12_ng_l":
            slots.serum_b12 = (value, unit)


def _bare_units(tokens: Sequence[str], slots: Slots, kb: KnowledgeBase) -> None:
    """A value with a B12 unit but no lab name ("B12 was low at 140 ng/L" is caught above)."""
    if "serum_b12_ng_l" in slots.labs:
        return
    factors = LABS[("b12",)][1]
    term = kb.vocabulary.labs.get("serum_b12_ng_l")
    for j, tok in enumerate(tokens[:-1]):
        unit = tokens[j + 1]
        value = number(tok) if tok[:1].isdigit() else None
        if value is None or unit not in ("ng/l", "pg/ml") or term is None:
            continue
        converted = round(value * factors[unit], 2)
        if term.min <= converted <= term.max:
            slots.labs["serum_b12_ng_l"] = converted
            slots.serum_b12 = (value, unit)
            return


def _ileal_length(tokens: Sequence[str], slots: Slots) -> None:
    if "ileal_resection" not in slots.populations:
        return
    for j, tok in enumerate(tokens[:-1]):
        value = number(tok) if tok[:1].isdigit() else None
        if value is not None and tokens[j + 1] in ("cm", "centimetres", "centimeters"):
            if 0 <= value <= 700:
                slots.ileal_resection_cm = value
            return


def _age_sex(tokens: Sequence[str], slots: Slots) -> None:
    n = len(tokens)
    for i, tok in enumerate(tokens):
        value = number(tok) if tok[:1].isdigit() else None
        nxt = tokens[i + 1] if i + 1 < n else ""
        prev = tokens[i - 1] if i > 0 else ""
        if value is not None and value == int(value) and slots.age is None:
            if (
                (nxt in AGE_WORDS and (i + 2 >= n or tokens[i + 2] in ("old",) or nxt == "y"))
                or prev in ("aged", "age")
                or (
                    (
                        prev in ("am", "i'm")
                        or (
                            prev in ("is", "was")
                            and tokens[i - 2 : i - 1]
                            and tokens[i - 2] in PERSON_WORDS
                        )
                    )
                    and nxt not in UNIT_DAYS
                    and nxt not in DOSE_UNITS
                    and nxt not in LAB_UNITS
                )
            ):
                slots.age = int(value)
            elif nxt in ("f", "m") and prev not in ("every", "q", "for") and value >= 16:
                slots.age = int(value)
                slots.sex = SEX_WORDS[nxt]
        if slots.sex is None and tok in SEX_WORDS and len(tok) > 1:
            slots.sex = SEX_WORDS[tok]
    if slots.age is not None and not 0 <= slots.age <= 120:
        slots.age = None
    if slots.age is not None and slots.age >= ELDERLY_AGE and "elderly" not in slots.populations:
        slots.populations.append("elderly")


def _cues(question: str, tokens: Sequence[str], slots: Slots) -> None:
    words = set(tokens)
    if words & FIRST_PERSON and not (words & CLINICIAN_WORDS):
        slots.audience_cue = "patient"
    elif words & CLINICIAN_WORDS:
        slots.audience_cue = "clinician"
    uk = bool(words & UK_WORDS)
    us = bool(words & US_WORDS) or bool(_US_UPPER.search(question))
    if uk != us:
        slots.guideline_cue = "uk" if uk else "us"
    for status, phrases in DEFICIENCY_CUES:
        hit = [
            i
            for p in phrases
            for i in _find(tokens, p)
            if status == "not_deficient" or not _negated(tokens, i, i + len(p))
        ]
        if hit:
            slots.deficiency = status
            break
    else:
        if any(
            not _negated(tokens, i, i + 1) for p in GENERIC_DEFICIENCY for i in _find(tokens, p)
        ):
            slots.deficiency = "confirmed"
            slots.deficiency_generic = True
    scores = {
        intent: sum(1 for p in phrases for _ in _find(tokens, p)) for intent, phrases in INTENTS
    }
    best = max(scores.values())
    if best:
        slots.intent = next(i for i, _ in INTENTS if scores[i] == best)
    if _has(tokens, REGIMEN_QUESTIONS) and not scores["monitoring"]:
        slots.regimen_question = True
        slots.intent = "regimen"
    slots.decision_question = slots.regimen_question or _has(tokens, DECISION_QUESTIONS)
    slots.status_unknown = _has(tokens, UNKNOWN_STATUS)


def extract(norm: Normalised, question: str, kb: KnowledgeBase) -> Slots:
    """Every slot of the normalised question (``question`` is the original, for case cues)."""
    tokens = norm.tokens
    slots = Slots()
    _neuro(tokens, slots)
    _populations(tokens, slots)
    _routes(tokens, slots, kb)
    _interval(tokens, slots)
    _labs(tokens, slots, kb)
    _bare_units(tokens, slots, kb)
    _ileal_length(tokens, slots)
    _age_sex(tokens, slots)
    _cues(question, tokens, slots)
    if slots.deficiency == "confirmed" and "serum_b12_ng_l" in slots.labs:
        # A stated level is classified by the knowledge base, not by the word "deficiency".
        slots.deficiency = None
    return slots
