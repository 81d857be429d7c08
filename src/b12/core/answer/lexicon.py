"""The word tables of slot extraction: phrases a user types → codes of the clinical picture.

Parsing mechanics only (``extract`` reads them; ``retrieve`` adds their words to the known
vocabulary): every clinical decision is still made by the knowledge base.  Phrases are matched
on normalised tokens, so shorthand and misspellings are already expanded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

Phrase = tuple[str, ...]


def phrases(*texts: str) -> tuple[Phrase, ...]:
    return tuple(tuple(t.split()) for t in texts)


# -- neurological involvement ------------------------------------------------------------------

#: phrase → neuro_symptoms code (``kb.vocabulary.neuro_symptoms``).
NEURO_WORDS: dict[Phrase, str] = {
    **dict.fromkeys(
        phrases(
            "tingling",
            "paraesthesia",
            "pins and needles",
            "pins needles",
            "prickling",
            "burning feet",
        ),
        "paraesthesia",
    ),
    **dict.fromkeys(phrases("numbness", "numb"), "numbness"),
    **dict.fromkeys(
        phrases("neuropathy", "peripheral neuropathy", "polyneuropathy", "nerve damage"),
        "peripheral_neuropathy",
    ),
    **dict.fromkeys(
        phrases(
            "ataxia",
            "ataxic",
            "unsteady",
            "unsteadiness",
            "balance",
            "romberg",
            "proprioception",
            "vibration sense",
            "wobbly",
        ),
        "ataxia",
    ),
    **dict.fromkeys(
        phrases("gait", "walking difficulty", "difficulty walking"), "gait_disturbance"
    ),
    **dict.fromkeys(
        phrases("cognitive", "cognition", "confusion", "confused", "concentration"),
        "cognitive_impairment",
    ),
    **dict.fromkeys(phrases("memory", "forgetful", "forgetfulness"), "memory_loss"),
    **dict.fromkeys(phrases("mood", "depression", "psychosis", "irritability"), "mood_change"),
    **dict.fromkeys(
        phrases("visual disturbance", "vision", "blurred vision"), "visual_disturbance"
    ),
    **dict.fromkeys(
        phrases(
            "subacute combined degeneration",
            "spinal cord",
            "myelopathy",
            "posterior column",
            "dorsal column",
            "posterior columns",
            "dorsal columns",
        ),
        "subacute_combined_degeneration",
    ),
    **dict.fromkeys(phrases("weakness", "weak legs"), "weakness"),
    **dict.fromkeys(
        phrases("neurological", "neurology", "nerve", "nerves", "neurologically"),
        "unspecified_neurological",
    ),
}
NEGATIONS = frozenset(
    {"no", "not", "without", "denies", "denied", "deny", "denying", "nil", "never", "free", "non"}
    | {"zero"}
)
POST_NEGATIONS = frozenset({"absent", "none", "negative", "neg", "denied", "excluded"})
#: Words that tell no symptoms at all ("no symptoms", "asymptomatic").
NO_SYMPTOMS = phrases(
    "no symptoms", "asymptomatic", "symptom free", "no sx", "without symptoms", "no complaints"
)
#: Words that report an examination as normal ("neuro exam normal"): no involvement found.
NORMAL_FINDINGS = frozenset(
    {"normal", "unremarkable", "intact", "nad", "nil", "clear", "fine", "ok", "okay"}
)
EXAM_WORDS = frozenset({"exam", "examination", "assessment", "findings", "review", "obs", "status"})
#: Words that end a negation's reach (besides clause punctuation).
SCOPE_BREAKS = frozenset(
    {"but", "however", "although", "though", "except", "yet", "whereas", "while", "now", "then"}
)
NEGATION_WINDOW = 6
BOTH_WAYS = phrases("with or without", "with and without", "with without", "whether or not")

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
        phrases(
            "pernicious anaemia",
            "pernicious",
            "autoimmune gastritis",
            "intrinsic factor antibody",
            "intrinsic factor antibodies",
            "intrinsic factor abs",
            "intrinsic factor ab",
            "if antibody",
            "if antibodies",
            "if abs",
            "anti intrinsic factor",
            "anti if",
            "parietal cell",
        ),
        cause="autoimmune_gastritis",
    ),
    Population(
        "total_gastrectomy",
        phrases(
            *("total gastrectomy", "whole stomach removed", "stomach removed", "full gastrectomy"),
            *("complete gastrectomy", "stomach taken out", "stomach was removed", "stomach out"),
            *("entire stomach removed", "removal of the stomach", "stomach was taken out"),
        ),
        conditions=("total_gastrectomy",),
    ),
    Population(
        "partial_gastrectomy", phrases("partial gastrectomy"), conditions=("partial_gastrectomy",)
    ),
    Population(
        "bariatric",
        phrases(
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
        phrases(
            "ileal resection",
            "ileum resected",
            "ileal resected",
            "resected ileum",
            "resection",
            "ileum removed",
            "ileal removed",
            "removed ileal",
            "ileal removal",
            "removed ileum",
            "ileectomy",
            "ileocaecal resection",
            "ileocecal resection",
            "ileocaecectomy",
            "ileocecectomy",
            "ileocolectomy",
            "ileocolic resection",
            # "ileum" reads as "ileal": "a bit of ileum taken out", "5 cm of ileum cut out"
            "ileal taken out",
            "ileal taken",
            "ileal cut out",
            "ileal was removed",
            "ileal were removed",
            "ileal been removed",
            "ileal out",
            "bit of ileal",
            "piece of ileal",
            "part of ileal",
            "part of the ileal",
            "cm of ileal",
        ),
        conditions=("ileal_resection",),
    ),
    Population("crohn", phrases("crohn", "crohn disease", "inflammatory bowel disease", "ibd")),
    Population(
        "coeliac", phrases("coeliac", "celiac"), conditions=("coeliac",), cause="malabsorption"
    ),
    Population(
        "malabsorption",
        phrases("malabsorption", "malabsorb", "atrophic gastritis"),
        cause="malabsorption",
    ),
    Population(
        "renal",
        phrases(
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
    Population(
        "elderly", phrases("elderly", "older adult", "older adults", "older people", "frail")
    ),
    Population("vegan", phrases("vegan", "vegans", "plant based"), diet="vegan", cause="dietary"),
    Population(
        "vegetarian",
        phrases("vegetarian", "vegetarians", "lacto ovo"),
        diet="vegetarian",
        cause="dietary",
    ),
    Population(
        "dietary",
        phrases("diet", "dietary", "poor intake", "low intake", "dietary intake"),
        cause="dietary",
    ),
    Population(
        "critically_ill",
        phrases("critically ill", "critical illness", "icu", "intensive care"),
        conditions=("critical_illness",),
    ),
    Population("infection", phrases("infection", "sepsis"), conditions=("infection",)),
    Population(
        "hyperthyroidism",
        phrases("hyperthyroidism", "hyperthyroid", "thyrotoxicosis", "overactive thyroid"),
        conditions=("hyperthyroidism",),
    ),
    Population("pregnancy", phrases("pregnant", "pregnancy"), flags=("pregnant",)),
    Population(
        "breastfeeding",
        phrases("breastfeeding", "lactating", "lactation", "nursing mother"),
        flags=("breastfeeding",),
    ),
    Population("metformin", phrases("metformin"), medications=("metformin",), cause="medication"),
    Population(
        "ppi",
        phrases("proton pump inhibitor", "proton pump inhibitors", "omeprazole", "lansoprazole"),
        medications=("ppi",),
        cause="medication",
    ),
    Population(
        "h2ra",
        phrases("h2 receptor antagonist", "ranitidine", "famotidine"),
        medications=("h2ra",),
        cause="medication",
    ),
    Population(
        "colchicine", phrases("colchicine"), medications=("colchicine",), cause="medication"
    ),
    Population(
        "topiramate", phrases("topiramate"), medications=("topiramate",), cause="medication"
    ),
    Population(
        "nitrous_oxide",
        phrases(
            *("nitrous oxide", "nitrous", "laughing gas", "nangs", "whippets", "balloons"),
            *("cream chargers", "nos canisters", "nos balloons", "nos use", "heavy nos"),
        ),
        medications=("nitrous_oxide",),
        cause="nitrous_oxide",
    ),
    Population(
        "leber",
        phrases("leber", "leber disease", "optic atrophy", "optic neuropathy", "lhon"),
        conditions=("leber_disease",),
    ),
    Population(
        "tobacco_amblyopia",
        phrases("tobacco amblyopia", "amblyopia"),
        conditions=("tobacco_amblyopia",),
    ),
    Population("cobalt_allergy", phrases("cobalt"), conditions=("cobalt_allergy",)),
    Population(
        "injection_hypersensitivity",
        phrases(
            "hypersensitivity",
            "anaphylaxis",
            "anaphylactic",
            "allergic reaction",
            "allergy",
            "allergic to",
            "reacted to",
            "severe reaction",
            "bad reaction",
            "reaction to",
            "reaction after",
            "came up in a rash",
            "rash after",
            "hives",
            "urticaria",
            "urticarial",
            "lips swelled",
            "lip swelling",
            "swollen lips",
            "face swelled",
            "swelling after",
            "facial swelling",
            "face swelling",
            "swollen face",
            "throat swelling",
            "swelling and wheeze",
            "wheeze after",
            "wheezy after",
        ),
        conditions=("injection_hypersensitivity",),
    ),
    Population(
        "anticoagulated",
        phrases(
            *("anticoagulant", "anticoagulants", "anticoagulated", "warfarin", "apixaban"),
            *("rivaroxaban", "edoxaban", "dabigatran", "enoxaparin", "lovenox", "clexane"),
            *("dalteparin", "fragmin", "tinzaparin", "heparin", "eliquis", "xarelto", "doac"),
            *("doacs", "lmwh", "blood thinner", "blood thinners", "coumadin"),
        ),
        conditions=("anticoagulated",),
    ),
    Population("dementia", phrases("dementia"), conditions=("dementia",)),
)
BARIATRIC_KINDS: dict[Phrase, str] = {
    **dict.fromkeys(phrases("sleeve"), "sleeve_gastrectomy"),
    **dict.fromkeys(phrases("duodenal switch", "biliopancreatic"), "bpd_ds"),
}
#: A bariatric operation not named more precisely is read as a gastric bypass.
BARIATRIC_DEFAULT = "rygb"
RENAL_DIALYSIS = phrases("dialysis", "haemodialysis", "hemodialysis")
RENAL_NEPHROPATHY = phrases("nephropathy")
ILEAL_WORDS = phrases("ileal", "ileum", "terminal ileum")
#: The small bowel named with a word of removal ("took out 5cm of the end of my small bowel")
#: tells an ileal resection in a patient's words (the end of the small bowel is the ileum).
SMALL_BOWEL = phrases("small bowel", "small intestine", "end of the bowel", "end of my bowel")
REMOVAL_WORDS = phrases(
    "removed",
    "taken out",
    "took out",
    "take out",
    "cut out",
    "resected",
    "resection",
    "removal",
    "chopped out",
)
ELDERLY_AGE = 65

# -- treatment words ----------------------------------------------------------------------------

ROUTE_WORDS: dict[Phrase, str] = {
    **dict.fromkeys(
        phrases(
            "intramuscular", "intramuscularly", "injection", "injections", "injected", "inject"
        ),
        "im",
    ),
    **dict.fromkeys(
        phrases(
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
    **dict.fromkeys(phrases("subcutaneous", "subcutaneously"), "sc"),
    **dict.fromkeys(phrases("deep subcutaneous", "deep subcutaneously"), "deep_sc"),
    **dict.fromkeys(phrases("intravenous", "intravenously", "infusion", "drip"), "iv"),
    **dict.fromkeys(phrases("sublingual", "under the tongue", "lozenge"), "sublingual"),
    **dict.fromkeys(phrases("intranasal", "nasal spray", "nasal"), "intranasal"),
}
ON_TREATMENT_LEAD = frozenset(
    {
        "already",
        "currently",
        "receiving",
        "taking",
        "on",
        "having",
        "gets",
        "getting",
        "takes",
        "after",
        "since",
        "despite",
    }
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
        "b12",
        "jabs",
        "shots",
        "mcg",
        "micrograms",
        "microgram",
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
    {
        *("of", "is", "was", "=", ":", "at", "level", "levels", "result", "results", "reading"),
        *("only", "just", "about", "around", "now", "has", "had", "been", "came", "come", "back"),
        *("returned", "measured", "rose", "risen", "fell", "fallen", "dropped", "down", "up"),
        *("to", "still", "over", "under", "approx", "approximately", "test", "above", ">"),
        *("blood", "bloods", "said", "says", "showed", "shows", "read", "reads", "were"),
        *("which", "that", "it", "its", "it's"),
    }
)
#: phrase → (picture lab field, {unit token: factor to the field's unit}); ``None`` = assumed.
LABS: dict[Phrase, tuple[str, dict[str | None, float]]] = {
    **dict.fromkeys(
        phrases("serum b12", "total b12", "b12", "cobalamin", "serum cobalamin", "b12 level"),
        ("serum_b12_ng_l", {None: 1.0, "ng/l": 1.0, "pg/ml": 1.0, "pmol/l": 1.355}),
    ),
    **dict.fromkeys(
        phrases("active b12", "active b12 holotranscobalamin", "holotranscobalamin"),
        ("active_b12_pmol_l", {None: 1.0, "pmol/l": 1.0}),
    ),
    **dict.fromkeys(
        phrases("methylmalonic acid", "methylmalonic"),
        ("mma_nmol_l", {None: 1.0, "nmol/l": 1.0, "umol/l": 1000.0, "μmol/l": 1000.0}),
    ),
    **dict.fromkeys(
        phrases("homocysteine", "total homocysteine"),
        ("homocysteine_umol_l", {None: 1.0, "umol/l": 1.0, "μmol/l": 1.0}),
    ),
    **dict.fromkeys(phrases("egfr", "kidney function egfr"), ("egfr", {None: 1.0, "ml/min": 1.0})),
    **dict.fromkeys(
        phrases("haemoglobin", "hemoglobin"),
        ("haemoglobin_g_l", {None: 1.0, "g/l": 1.0, "g/dl": 10.0}),
    ),
    **dict.fromkeys(phrases("potassium"), ("potassium_mmol_l", {None: 1.0, "mmol/l": 1.0})),
    **dict.fromkeys(
        phrases("platelets", "platelet", "platelet count", "plt"), ("platelets_10e9_l", {None: 1.0})
    ),
    **dict.fromkeys(phrases("folate", "serum folate"), ("folate_ug_l", {None: 1.0, "ug/l": 1.0})),
    **dict.fromkeys(phrases("mean cell volume", "mcv"), ("mcv_fl", {None: 1.0, "fl": 1.0})),
}

# -- cues ---------------------------------------------------------------------------------------

#: The deficiency statuses a question can state, in the order they are looked for (the words
#: of each are data: ``answering.yaml`` ``vocabulary.deficiency_<status>``).
DEFICIENCY_STATUSES = ("not_deficient", "indeterminate", "suspected", "at_risk", "confirmed")
#: "B12 deficiency" in a question about a patient means a confirmed deficiency, but the word is
#: in nearly every question, so on its own it does not make the question describe a patient.
GENERIC_DEFICIENCY = phrases("deficiency", "deficient", "deficiencies")
#: The question says the B12 status is not known: the engine must not assume a deficiency.
UNKNOWN_STATUS = phrases(
    "not back",
    "not back yet",
    "pending",
    "awaiting the result",
    "never checked",
    "not checked",
    "not been checked",
    "never been checked",
    "never tested",
    "not sent",
    "not yet sent",
    "not been sent",
    "not done yet",
    "not yet done",
    "ever checked",
    "ever tested",
    "ever measured",
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
#: No blood test yet ("before the bloods are taken", "no labs drawn yet"): a deficiency named
#: with these is a suspicion, not a diagnosis.
NO_TEST_YET = phrases(
    # a test still to be sent, or treatment started without one ("start tonight empirically
    # and send the b12 tomorrow")
    "send the b12",
    "send a b12",
    "send b12",
    "send off the b12",
    "send off a b12",
    "b12 tomorrow",
    "bloods tomorrow",
    "empirically",
    "empirical",
    "empiric",
    "no bloods",
    "no bloods done",
    "no labs",
    "no labs drawn",
    "any bloods",
    "before the bloods",
    "before bloods",
    "bloods not done",
    "not had bloods",
    "no blood test",
    "no blood tests",
    "without bloods",
    "without a blood test",
    "before the blood test",
    "before any blood test",
    "before testing",
    "without testing",
    "havent checked",
    "haven't checked",
    "not checked",
    "not been checked",
    "never been tested",
    "never been checked",
    "never tested",
    "never had a blood test",
    "not been tested",
    "not tested",
    "test later",
    "labs later",
    "bloods later",
    "before checking",
)
INTENTS: tuple[tuple[str, tuple[Phrase, ...]], ...] = (
    (
        "monitoring",
        phrases(
            "monitor",
            "monitoring",
            "recheck",
            "rechecked",
            "rechecking",
            "rechecks",
            "doing b12 levels",
            "doing levels",
            "do b12 levels",
            "repeat b12",
            "repeat levels",
            "repeat the b12",
            "retesting",
            "retested",
            "monitored",
            "re check",
            "review",
            "reviewed",
            "check",
            "checked",
            "checking",
            "follow up",
            "seen again",
            "see me again",
            "see her again",
            "see him again",
            "check up",
            "checkup",
            "appointment",
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
            # levels asked for on a rhythm ("should we be requesting B12 levels every year?")
            "requesting b12",
            "request b12",
            "requesting levels",
            "request levels",
            "sending levels",
            "send levels",
            "levels every",
            "level every",
            "levels yearly",
            "levels annually",
            "annual b12",
            "annual bloods",
            "yearly b12",
            "yearly bloods",
        ),
    ),
    (
        "safety",
        phrases(
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
            "watch for",
            "watch out",
            "to watch",
            "look out for",
            "precautions",
        ),
    ),
    (
        "diagnosis",
        phrases(
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
        phrases(
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
        "grandson",
        "granddaughter",
        "grandchild",
        "toddler",
        "infant",
        "nephew",
        "niece",
        "brother",
        "sister",
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
#: An ileal resection is named explicitly (not just "resection").
ILEAL_EXPLICIT = phrases(
    "ileum resected",
    "ileal resection",
    "ileum removed",
    "ileal removed",
    "removed ileal",
    "ileal removal",
    "removed ileum",
    "ileectomy",
    "ileocaecal resection",
    "ileocecal resection",
    "ileocaecectomy",
    "ileocecectomy",
    "ileocolectomy",
    "ileocolic resection",
)

# -- issue 14: doses, course events, the question's form -----------------------------------------

#: Dose unit token → micrograms per unit.
DOSE_UG = {
    **{"microgram": 1.0, "micrograms": 1.0, "milligram": 1000.0, "milligrams": 1000.0},
    **{"g": 1_000_000.0, "gram": 1_000_000.0, "grams": 1_000_000.0},
}
#: Words that say a dose was late or missed (a course under follow-up), or given early.
LATE_WORDS = frozenset(
    {"late", "overdue", "missed", "delayed", "forgot", "forgotten", "interrupted", "disrupted"}
)
EARLY_WORDS = frozenset({"early", "earlier"})
#: Course events told in the question (``criteria`` ``event`` codes).
EVENTS: tuple[tuple[str, tuple[Phrase, ...]], ...] = (
    (
        "symptoms_returned_before_due",
        phrases(
            "before my next",
            "before the next",
            "before next",
            "before each",
            "before every",
            "comes back before",
            "come back before",
            "symptoms return",
            "symptoms returning",
            "symptoms come back",
            "symptoms came back",
            "symptoms back",
            "wears off",
            "wearing off",
            "wear off",
            "return after",
            "returning after",
            "wears off",
            "wearing off",
            "by week",
            "creeping back",
            "creeps back",
            "crept back",
            "come back around",
            "comes back around",
            "came back around",
            "come back about",
            "comes back about",
            "came back about",
            "back around week",
            "back at week",
            "back by week",
            # symptoms told back at a point of the interval ("comes back at 5 to 6 wks",
            # "by about week 9 I'm shattered", "tiredness back about 6 wks before")
            "still comes back",
            "keeps coming back",
            "back about",
            "by about week",
            "by around week",
            "tiredness back",
            "tiredness is back",
            "fatigue back",
            "fatigue is back",
            "fog is back",
            "fog back",
            "flagging by",
            "shattered by",
            "exhausted by",
            "knackered by",
        ),
    ),
    (
        "cause_resolved",
        phrases(
            "cause resolved",
            "cause fixed",
            "cause removed",
            "cause treated",
            "metformin stopped",
            "stopped metformin",
            "stopped the metformin",
            "proton pump inhibitor stopped",
            "stopped proton pump inhibitor",
            "diet now fine",
            "diet is fine",
            "eat better",
            "eating better",
            "stopped drinking",
            "stopped using",
            "no longer vegan",
            "b12 corrected",
        ),
    ),
    (
        "no_further_improvement",
        phrases(
            "no further improvement",
            "stopped improving",
            "improvement stops",
            "improvement has stopped",
            "plateaued",
        ),
    ),
)
#: A neurological symptom told as new during treatment.
NEW_WORDS = frozenset(
    {"new", "now", "developed", "develops", "again", "started", "starting", "worse", "worsening"}
)
PHASE_WORDS: dict[Phrase, str] = {
    **dict.fromkeys(phrases("loading", "loading course", "loading phase"), "loading"),
    **dict.fromkeys(
        phrases("first lot", "first course", "initial course", "first batch", "first set"),
        "loading",
    ),
    # The loading course told by its rhythm ("in the middle of the alternate-day jabs").
    **dict.fromkeys(
        phrases(
            *(
                f"{rhythm} {noun}"
                for rhythm in ("alternate day", "alternate days", "every other day")
                for noun in ("jabs", "injections", "shots", "doses", "phase", "course", "stage")
            )
        ),
        "loading",
    ),
    **dict.fromkeys(phrases("maintenance"), "maintenance"),
}
#: Folic acid named as something given or to give.
FOLIC = phrases("folic acid", "folate tablets", "folic")
FOLIC_ALONE = phrases(
    "on their own", "on its own", "alone", "without b12", "only", "nothing else", "no b12"
)
FOLIC_WITH = phrases("with b12", "together", "and b12", "b12 and folic")
#: B12 put off to later while folic acid starts now ("folic acid now and the B12 shots next
#: week"): folic acid alone until then.
B12_LATER_NAMES = frozenset(
    {"b12", "injection", "injections", "hydroxocobalamin", "cyanocobalamin", "shot", "shots"}
)
LATER_WORDS = phrases(
    "next week",
    "next month",
    "later",
    "in a week",
    "in a few days",
    "in a fortnight",
    "after the results",
    "when the results",
    "once the results",
)

# -- the question's form --------------------------------------------------------------------------

#: A clause starting with one of these asks a yes/no question.
YESNO_LEADS = frozenset(
    {
        "is",
        "are",
        "can",
        "could",
        "should",
        "do",
        "does",
        "did",
        "will",
        "would",
        "must",
        "may",
        "has",
        "have",
        "was",
        "were",
        "shall",
        "any",
        "anything",  # "anything to worry about?"
        "isn't",
        "aren't",
        "don't",
        "doesn't",
        *("isnt", "arent", "dont", "doesnt", "shouldn't", "shouldnt", "can't", "cant"),
        *("won't", "wont", "wouldn't", "wouldnt", "couldn't", "couldnt", "mustn't"),
        *("haven't", "havent", "hasn't", "hasnt", "didn't", "didnt", "surely"),
    }
)
#: An auxiliary then a person anywhere in a question asks for a yes or a no ("terrified of
#: needles do i really need jabs or can i have tablets").
YESNO_PAIRS = frozenset(
    (aux, who)
    for aux in ("do", "does", "can", "could", "should", "must", "is", "are", "will", "would")
    for who in (
        *("i", "we", "you", "he", "she", "they", "it", "my", "our", "his", "her", "their"),
        *("b12", "the", "this", "that"),
    )
) | frozenset(
    # Asked indirectly: "asking if she has to keep the jabs", "wondering whether to stop".
    (verb, link)
    for verb in ("asking", "asks", "ask", "asked", "wondering", "wonders", "know")
    for link in ("if", "whether")
)
WH_WORDS = frozenset({"what", "which", "how", "when", "why", "where", "who", "whats", "what's"})
#: A question ending with one of these, with no question word, asks yes or no ("q3m ok?").
YESNO_TAILS = frozenset(
    {"ok", "okay", "fine", "enough", "safe", "needed", "required", "confirmed", "right", "normal"}
)
#: A last clause that names one of these asks for a value, not yes or no ("oral dose?").
VALUE_NOUNS = frozenset(
    {
        "dose",
        "doses",
        "dosing",
        "regimen",
        "regime",
        "interval",
        "frequency",
        "schedule",
        "plan",
        "recommendation",
        "options",
        "instead",
        "significance",
        "evidence",
        *("step", "steps", "management", "approach", "workup", "work-up", "advice"),
    }
)
FORMS: tuple[tuple[str, tuple[Phrase, ...]], ...] = (
    (
        "switch",
        phrases(
            "switch",
            "switching",
            "change from",
            "change to",
            "changing from",
            "changing to",
            "instead of",
            "instead",
            "convert",
            "converting",
            "swap",
            "swapping",
            "move from",
            "move to",
            "moving from",
            "moving to",
        ),
    ),
    ("should_stop", phrases("stop", "stopping", "come off", "cut back", "reduce", "space out")),
    (
        "how_often",
        phrases("how often", "frequency", "interval", "how frequently", "how many times"),
    ),
    ("how_much", phrases("how much", "what dose", "which dose", "how many")),
    (
        "what_check",
        phrases(
            "what to check",
            "which test",
            "which tests",
            "what test",
            "what tests",
            "what labs",
            "which labs",
            "which bloods",
            "what bloods",
            "what blood tests",
            "which blood tests",
            "what to monitor",
            "next test",
        ),
    ),
    (
        "is_safe",
        phrases(
            "safe",
            "safety",
            "dangerous",
            "toxic",
            "harmful",
            "bad",
            "watch for",
            "watch out",
            "to watch",
            "look out for",
            "precautions",
        ),
    ),
    # A bare "dose" asks for an amount only when no other form is asked ("first dose today -
    # what to watch for?" asks about safety).
    ("how_much?", phrases("dose")),
    # "when" last: it is also a conjunction ("how safe … when breastfeeding").
    ("when", phrases("when", "how soon", "how long")),
)
#: Injection sites (``criteria`` ``order_site`` codes).
SITE_WORDS: dict[Phrase, str] = {
    **dict.fromkeys(
        phrases("buttock", "buttocks", "bum", "bottom", "gluteal", "dorsogluteal", "glute"),
        "dorsogluteal",
    ),
    **dict.fromkeys(phrases("ventrogluteal", "hip"), "ventrogluteal"),
    **dict.fromkeys(phrases("deltoid"), "deltoid"),
    **dict.fromkeys(phrases("thigh", "vastus lateralis"), "vastus_lateralis"),
}
#: "my injections …": the asker is on treatment.
MY_TREATMENT = frozenset(
    {
        "injections",
        "injection",
        "shots",
        "shot",
        "jab",
        "jabs",
        "tablets",
        "tablet",
        "treatment",
        "hydroxocobalamin",
        "cyanocobalamin",
    }
)
#: Words between "my" and the treatment that say which dose ("my monthly b12 shot", "her
#: usual 3 monthly injection").
MY_SCHEDULE = frozenset(
    {"monthly", "weekly", "usual", "regular", "last", "next", "maintenance", "loading", "b12"}
)
#: Words that say a dose was missed: whoever missed it is on treatment.
MISSED_WORDS = frozenset({"missed", "overdue", "forgot", "forgotten"})
#: A last clause starting with one of these proposes an action ("reduce frequency?").
PROPOSAL_VERBS = frozenset(
    {
        "adjust",
        "titrate",
        "alter",
        "skip",
        "delay",
        "hold",
        "omit",
        "reduce",
        "shorten",
        "extend",
        "increase",
        "stop",
        "switch",
        "reload",
        "restart",
        "treat",
        "start",
        "give",
        "supplement",
        "continue",
        "change",
        "lengthen",
        "repeat",
        "carry",
        "keep",
        "book",
        "stick",
    }
)
#: Words that make "suspected" (and the like) about B12, within ``SUSPECT_REACH`` tokens.
B12_WORDS = frozenset(
    {"b12", "deficiency", "deficient", "cobalamin", "pernicious", "low", "anaemia", "anemia"}
)
SUSPECT_REACH = 4
