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
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from b12.core.answer.extract_course import asked_forms, extract_course, since_last, stopping
from b12.core.answer.extract_results import results_in_words
from b12.core.answer.lexicon import (
    _US_UPPER,
    AGE_WORDS,
    B12_WORDS,
    BARIATRIC_DEFAULT,
    BARIATRIC_KINDS,
    BOTH_WAYS,
    CLINICIAN_WORDS,
    DEFICIENCY_STATUSES,
    DOSE_UG,
    DOSE_UNITS,
    ELDERLY_AGE,
    EXAM_WORDS,
    FIRST_PERSON,
    GENERIC_DEFICIENCY,
    ILEAL_EXPLICIT,
    ILEAL_WORDS,
    INTENTS,
    LAB_FILLERS,
    LAB_UNITS,
    LABS,
    MISSED_WORDS,
    MY_SCHEDULE,
    MY_TREATMENT,
    NEURO_WORDS,
    NO_SYMPTOMS,
    NO_TEST_YET,
    NORMAL_FINDINGS,
    ON_TREATMENT_LEAD,
    ON_TREATMENT_WHAT,
    PER_WORDS,
    PERSON_WORDS,
    POPULATIONS,
    PREFER_WORDS,
    REMOVAL_WORDS,
    RENAL_DIALYSIS,
    RENAL_NEPHROPATHY,
    ROUTE_WORDS,
    SEX_WORDS,
    SMALL_BOWEL,
    START_WORDS,
    SUSPECT_REACH,
    UK_WORDS,
    UNIT_DAYS,
    UNKNOWN_STATUS,
    US_WORDS,
    Phrase,
)
from b12.core.answer.match import find as _find
from b12.core.answer.match import has as _has
from b12.core.answer.match import hits as _hits
from b12.core.answer.match import negated as _negated
from b12.core.answer.match import number
from b12.core.answer.normalise import BOUNDARIES, Normalised, fold, tokenise
from b12.core.knowledge import KnowledgeBase

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
    #: Of two products named, the one proposed ("switch from A to B", "B instead of A").
    proposed_product: str | None = None
    interval_days: float | None = None
    serum_b12: tuple[float, str | None] | None = None
    labs: dict[str, float] = field(default_factory=dict)
    word_results: dict[str, str] = field(default_factory=dict)
    ileal_resection_cm: float | None = None
    age: int | None = None
    sex: str | None = None
    deficiency: str | None = None
    deficiency_generic: bool = False
    status_unknown: bool = False
    on_treatment: bool = False
    #: The course is told as going well ("stable", "all fine"): no course event happened.
    course_well: bool = False
    #: ``deficiency`` was read as confirmed only because a treatment is under way ("taking b12").
    deficiency_from_treatment: bool = False
    regimen_question: bool = False
    decision_question: bool = False
    route_preference: str | None = None
    audience_cue: str | None = None
    guideline_cue: str | None = None
    #: The question proposes a new interval ("can we go to 3 monthly?", "every 2 months
    #: instead?"): change advice that says so answers yes.
    proposes_change: bool = False
    #: The question doubts the interval it tells ("every 3/12 - shouldn't that be 2
    #: monthly?"): a warning on that interval answers yes.
    doubts_current: bool = False
    #: The question asks what to do with another medicine the patient takes ("stop the
    #: metformin?"): the alert about that medicine answers it.
    asks_medicine: bool = False
    #: The question compares guideline sets or sources ("in the US but not here", "UK vs US").
    compares: bool = False
    dose_ug: float | None = None
    events: list[str] = field(default_factory=list)
    timing: str | None = None
    order_timing: str | None = None
    phase_kinds: list[str] = field(default_factory=list)
    folic: bool = False
    b12_cover: bool | None = None
    screening: bool = False
    form: str | None = None
    asks_harm: bool = False
    site: str | None = None
    about_lifelong: bool = False
    #: The question proposes stopping B12 treatment ("can I come off my jabs?"), asked before
    #: any "for life" ("is it for life or can I stop?" asks first whether it is for life).
    proposes_stop: bool = False
    #: ... and asks whether stopping would do harm ("is it dangerous to stop?").
    fears_stopping: bool = False
    asks_deficiency: bool = False
    asks_next_dose: bool = False
    #: ``told`` when the question dates the last dose ("last jab was in March"), ``unknown``
    #: when it says the date is not known; ``None`` when it says neither.
    last_dose: str | None = None
    #: The question asks whether to wait for something before treating ("hold the first
    #: dose until the MMA is back?").
    asks_wait: bool = False
    #: The question asks what to do or watch before a dose ("anything to do first?").
    asks_precaution: bool = False
    #: The question asks whether deficiency is still possible ("could it still be B12?").
    asks_possible: bool = False
    switching: bool = False
    folate_low: bool = False
    #: The question asks whether a result it gives is fine ("450, is that ok?").
    asks_result_fine: bool = False
    #: The route a proposal replaces ("deep subQ instead of IM": ``im``).
    replaced_route: str | None = None
    #: A diagnosis is queried in clinical shorthand ("?PA", "?b12 def").
    queried: bool = False

    @property
    def describes_order(self) -> bool:
        """A treatment given or proposed: a product, route, site, dose, schedule or folic acid."""
        return bool(
            self.dose_ug is not None
            or self.interval_days is not None
            or self.formulations
            or self.routes
            or self.site
            or self.order_timing
            or self.folic
        )

    @property
    def describes_course(self) -> bool:
        """A course under follow-up: an event or a late dose is told."""
        return bool(self.events or self.timing)

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
            or self.word_results
            or self.folate_low
            or (self.deficiency is not None and not self.deficiency_generic)
            or self.on_treatment
        )


#: Words that make "the results" a point in time ("wait for the results", "once the results").
WAITING_WORDS = frozenset({"once", "when", "after", "until", "till", "wait", "awaiting", "before"})


def _normal_finding(tokens: Sequence[str], start: int, end: int) -> bool:
    """A neurological examination or sign reported normal ("neuro exam normal", "normal
    neuro exam", "neurology unremarkable", "gait normal", "sensation intact"): a finding of no
    involvement, not a symptom."""
    if start > 0 and tokens[start - 1] in NORMAL_FINDINGS:
        return True
    after = list(tokens[end : end + 3])
    if after[:1] and after[0] in EXAM_WORDS:
        after = after[1:]
    if after[:1] and after[0] in ("was", "is", "were"):
        after = after[1:]
    return bool(after[:1]) and after[0] in NORMAL_FINDINGS


#: After "confused"/"confusion": what the asker is unsure about ("confused between the NICE
#: and BNF intervals", "some confusion about the dose"), not a patient's symptom.
CONFUSED_ABOUT = frozenset(
    {"between", "about", "by", "over", "whether", "which", "what", "re", "regarding", "as"}
)
#: Before "confused": the asker ("I'm confused", "I am a bit confused").
CONFUSED_ASKER = frozenset({"i", "im", "am", "we", "were", "me"})


def _askers_confusion(tokens: Sequence[str], start: int, end: int) -> bool:
    """ "Getting confused between the new NICE guidance and the old BNF wording": the asker's
    confusion about the advice, not a patient's symptom."""
    if tokens[start] not in ("confused", "confusion"):
        return False
    if end < len(tokens) and tokens[end] in CONFUSED_ABOUT:
        return True
    before = [t for t in tokens[max(0, start - 3) : start] if t not in ("a", "bit", "little")]
    return bool(before) and before[-1] in CONFUSED_ASKER


def _neuro(tokens: Sequence[str], slots: Slots) -> None:
    hits = _hits(tokens, NEURO_WORDS)
    if not hits:
        if _has(tokens, NO_SYMPTOMS):
            slots.neuro = False  # "no symptoms", "asymptomatic": none, nerve symptoms included
        return
    if _has(tokens, BOTH_WAYS):
        return
    positive = [
        code
        for start, end, code in hits
        if not _negated(tokens, start, end)
        and not _normal_finding(tokens, start, end)
        and not _askers_confusion(tokens, start, end)
    ]
    denied = len(positive) < len(hits)
    if denied and set(positive) <= {"unspecified_neurological"}:
        # "I don't have any tingling or numbness" outweighs a loose word ("destroying my
        # nerves", someone else's claim): a symptom denied by name is not read as present.
        positive = []
    if positive:
        slots.neuro = True
        slots.neuro_symptoms = sorted(set(positive))
    else:
        slots.neuro = False


_TERMS: dict[int, tuple[object, tuple[tuple[Phrase, str, str], ...]]] = {}


def _term_phrases(kb: KnowledgeBase) -> tuple[tuple[Phrase, str, str], ...]:
    """(phrase, kind, code) for every vocabulary condition and medication: its code, label
    (without a bracketed gloss), aliases and ``answering.yaml`` ``term_words``."""
    key = id(kb.vocabulary)
    found = _TERMS.get(key)
    if found is not None and found[0] is kb.vocabulary:
        return found[1]
    # Codes the population table reads (with its own rules), and the B12 products and folic
    # acid (a treatment, read as an order or a course), are left to those readers.
    covered = {c for pop in POPULATIONS for c in (*pop.conditions, *pop.medications)}
    covered |= {pop.cause for pop in POPULATIONS if pop.cause}
    covered |= set(kb.vocabulary.products) | {"nitrous_oxide"}
    out: list[tuple[Phrase, str, str]] = []
    for kind, table in (
        ("conditions", kb.vocabulary.conditions),
        ("medications", kb.vocabulary.medications),
    ):
        for code, term in table.items():
            if term.informational or code in covered:
                continue
            label = term.label.split("(", 1)[0]
            texts = [code.replace("_", " "), label, *(a.replace("_", " ") for a in term.aliases)]
            texts += kb.answering.term_words.get(code, ())
            for text in texts:
                phrase = tuple(t for t in tokenise(fold(text)) if t not in BOUNDARIES)
                if phrase:
                    out.append((phrase, kind, code))
    built = tuple(sorted(set(out)))
    _TERMS[key] = (kb.vocabulary, built)
    return built


def _vocabulary_terms(tokens: Sequence[str], slots: Slots, kb: KnowledgeBase) -> None:
    """Conditions and medications named by their vocabulary words ("needle phobic",
    "apixaban") that the population table does not already read."""
    for phrase, kind, code in _term_phrases(kb):
        have = slots.conditions if kind == "conditions" else slots.medications
        if code in have:
            continue
        if any(not _negated(tokens, i, i + len(phrase)) for i in _find(tokens, phrase)):
            have.append(code)
            if code not in slots.populations:
                slots.populations.append(code)


#: Words before a population word that name it as fine ("good diet", "normal kidneys").
REASSURING = frozenset(
    {"good", "normal", "healthy", "balanced", "varied", "adequate", "decent", "omnivorous"}
)


def _populations(tokens: Sequence[str], slots: Slots) -> None:
    for pop in POPULATIONS:
        hits = [
            i
            for phrase in pop.phrases
            for i in _find(tokens, phrase)
            if not _negated(tokens, i, i + len(phrase))
            and not set(tokens[max(0, i - 2) : i]) & REASSURING
        ]
        if not hits and pop.name == "ileal_resection":
            hits = _small_bowel_removed(tokens)
        if not hits:
            continue
        if pop.name == "ileal_resection" and hits == [-1]:
            pass  # told in a patient's words: the small bowel, removed
        elif pop.name == "ileal_resection" and not (
            _has(tokens, ILEAL_WORDS) or _has(tokens, ILEAL_EXPLICIT)
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


def _small_bowel_removed(tokens: Sequence[str]) -> list[int]:
    """``[-1]`` when the question tells the small bowel removed, in words (not negated)."""
    bowel = [i for p in SMALL_BOWEL for i in _find(tokens, p) if not _negated(tokens, i, i + 2)]
    removed = [i for p in REMOVAL_WORDS for i in _find(tokens, p)]
    return [-1] if bowel and removed else []


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


#: Words after which a named product is the one proposed ("switch to", "change over to").
TO_WORDS = frozenset({"to", "onto", "for"})
#: How far before a product a "to" may stand ("switch to the methylcobalamin").
TO_WINDOW = 3


def _proposed(tokens: Sequence[str], found: Sequence[tuple[int, int, str]]) -> str | None:
    """Of two products named, the one the question proposes: the one not after "instead of"
    or "from" ("B instead of A", "switch from A to B"), else the one after "to"."""
    drugs = {d for _, _, d in found}
    if len(drugs) != 2:
        return None
    current = {
        d
        for s, _, d in found
        if tuple(tokens[max(0, s - 2) : s]) == ("instead", "of")
        or "from" in tokens[max(0, s - 2) : s]
    }
    proposed = {
        d
        for s, _, d in found
        if TO_WORDS & set(tokens[max(0, s - TO_WINDOW) : s]) and d not in current
    }
    if len(current) == 1:
        return next(iter(drugs - current))
    if len(proposed) == 1:
        return next(iter(proposed))
    # "prefer hydroxocobalamin over cyano", "would rather have hydroxo than cyano".
    preferred = {d for s, _, d in found if set(tokens[max(0, s - 2) : s]) & PREFER_WORDS}
    return next(iter(preferred)) if len(preferred) == 1 else None


def _routes(tokens: Sequence[str], slots: Slots, kb: KnowledgeBase) -> None:
    for _, _, route in _hits(tokens, ROUTE_WORDS):
        if route not in slots.routes:
            slots.routes.append(route)
    names: dict[Phrase, str] = {}
    for key, term in kb.vocabulary.products.items():
        if term.kind == "b12":
            for text in (key, term.label, *term.aliases):
                names[tuple(text.lower().replace("_", " ").split())] = key
    # A product named as not given ("no hydroxo prescribed") is not part of the order.
    found = [(s, e, d) for s, e, d in _hits(tokens, names) if not _negated(tokens, s, e)]
    for _, _, drug in found:
        if drug not in slots.formulations:
            slots.formulations.append(drug)
    slots.proposed_product = _proposed(tokens, found)
    stops = frozenset(kb.answering.vocabulary.get("on_treatment_stops", ())) | frozenset(
        w for phrase, kind, _ in _term_phrases(kb) if kind == "medications" for w in phrase
    )
    slots.on_treatment = _on_treatment(tokens, stops)
    slots.route_preference = _refused_route(tokens, slots.routes, kb) or _route_preference(
        tokens, slots.routes
    )
    slots.replaced_route = _replaced_route(tokens)
    under_skin = set(slots.routes) & {"sc", "deep_sc"}
    if (
        slots.replaced_route is None
        and "instead" in tokens
        and slots.on_treatment
        and under_skin
        and "oral" not in slots.routes
    ):
        # "bruise from my last shot - can they give it under the skin instead?": the
        # injection under way (intramuscular) is the one to change.
        slots.replaced_route = "im"


def _replaced_route(tokens: Sequence[str]) -> str | None:
    """The route named right after "instead of" ("deep subQ instead of IM"): the treatment
    the question proposes to change."""
    for i in _find(tokens, ("instead", "of")):
        found = [v for _, _, v in _hits(tokens[i + 2 : i + 5], ROUTE_WORDS)]
        if found:
            return found[0]
    return None


#: Before "have", words that make it a need or a proposal ("do I have to have injections").
MODAL_BEFORE_HAVE = frozenset(
    {"to", "will", "would", "should", "must", "need", "can", "could", "might", "may"}
)


#: Words before a number that make it a length of time, not an age ("metformin x 8y").
DURATION_LEADS = frozenset({"x", "for", "over", "past", "last", "since"})
#: Whose treatment: the asker's ("my"), or a patient's when a dose of it was missed.
OWNERS = frozenset({"my", "her", "his", "their"})


def _my_treatment(tokens: Sequence[str]) -> bool:
    """ "my injections are every 12 weeks", "my monthly b12 shot": the asker's own treatment;
    "she missed her usual injection": a patient's."""
    for i, tok in enumerate(tokens):
        if tok not in OWNERS:
            continue
        following = [t for t in tokens[i + 1 : i + 6] if t not in MY_SCHEDULE and not t.isdigit()]
        if following[:1] and following[0] in MY_TREATMENT:
            return tok == "my" or bool(set(tokens) & MISSED_WORDS)
    return False


def _has_scheduled(tokens: Sequence[str]) -> bool:
    """ "I have 3 monthly jabs", "she has monthly injections": a schedule had is a treatment
    (not "do I have to have injections": an obligation)."""
    for i, tok in enumerate(tokens):
        if (
            tok in ("have", "has", "had")
            and not set(tokens[max(0, i - 2) : i]) & MODAL_BEFORE_HAVE
            and tuple(tokens[i + 1 : i + 2]) != ("to",)
        ):
            after = tokens[i + 1 : i + 5]
            scheduled = any(t.endswith("ly") or t[:1].isdigit() or t == "every" for t in after)
            if scheduled and set(after) & ON_TREATMENT_WHAT and not _negated(tokens, i, i + 1):
                return True
    if _treated_for(tokens) or _long_term_product(tokens):
        return True
    # "jab every 12 weeks.", "injections 3 monthly": a schedule told as a fact (in a clause
    # that asks nothing and proposes nothing).
    for clause in _statement_clauses(tokens):
        for i, tok in enumerate(clause[:-1]):
            nxt = clause[i + 1]
            if tok in SCHEDULE_NOUNS and (nxt == "every" or nxt.endswith("ly")):
                return True
    return _product_schedule_told(tokens)


#: Words of a clause that report a plan or an order, or compare, rather than tell a treatment
#: under way.
REPORTING_WORDS = frozenset(
    {"says", "said", "wrote", "written", "letter", "recommends", "recommended", "suggests"}
    | {"suggested", "advises", "advised", "plan", "planned", "vs", "versus", "or"}
)


def _product_schedule_told(tokens: Sequence[str]) -> bool:
    """ "PA 20 yrs, hydroxo IM every 12 wks.": a product with its schedule, told in a
    sentence of its own (ended by a full stop; not "cyano 1 mg daily for malabsorption, ok?",
    not "the letter says hydroxo every 3 months.")."""
    clause: list[str] = []
    for tok in tokens:
        if tok not in BOUNDARIES:
            clause.append(tok)
            continue
        if tok == "." and _product_then_schedule(clause):
            return True
        clause = []
    return False


def _product_then_schedule(clause: Sequence[str]) -> bool:
    if set(clause) & (ASKING_WORDS | REPORTING_WORDS):
        return False
    for i, tok in enumerate(clause[:-1]):
        if tok in LONG_TERM_PRODUCTS:
            rest = [t for t in clause[i + 1 : i + 6] if t not in SCHEDULE_FILLERS]
            if rest[:1] and rest[0][:1].isdigit():
                rest = rest[1:]  # "3 monthly"
            nxt = rest[0] if rest else ""
            if nxt == "every" or (nxt.endswith("ly") and nxt != "only"):
                return True
    return False


#: Words between a product and its schedule ("hydroxo IM 1 mg every 12 weeks").
SCHEDULE_FILLERS = frozenset(
    {"intramuscular", "im", "subcutaneous", "sc", "1", "1mg", "mg", "mcg", "1000", "100"}
    | {"milligram", "microgram", "micrograms"}
    | {"injection", "injections", "jab", "jabs"}
)


#: Units of a length of time a treatment has lasted ("for 6 years", "a year of shots").
DURATION_UNITS = frozenset({"year", "years", "yr", "yrs", "month", "months", "weeks"})
#: Words that count a length of time ("a year", "several months").
DURATION_COUNTS = frozenset({"a", "an", "many", "several", "few", "some"})


def _a_duration_at(tokens: Sequence[str], j: int) -> bool:
    prev = tokens[j - 1] if j > 0 else ""
    return tokens[j] in DURATION_UNITS and (prev[:1].isdigit() or prev in DURATION_COUNTS)


#: B12 products named after "long-term" ("long-term hydroxocobalamin for PA").
LONG_TERM_PRODUCTS = frozenset({"hydroxocobalamin", "cyanocobalamin", "methylcobalamin"})
#: Words before "long-term" that make it a question or a need, not a treatment under way.
LONG_TERM_ASKED = frozenset({"is", "are", "need", "needs", "needed", "should", "will", "does"})


def _long_term_product(tokens: Sequence[str]) -> bool:
    """ "long-term hydroxocobalamin for PA": a treatment under way (not "is long-term
    hydroxocobalamin needed?")."""
    for i in range(len(tokens) - 2):
        if (
            tuple(tokens[i : i + 2]) == ("long", "term")
            and tokens[i + 2] in LONG_TERM_PRODUCTS
            and not set(tokens[max(0, i - 3) : i]) & LONG_TERM_ASKED
        ):
            return True
    return False


def _treated_for(tokens: Sequence[str]) -> bool:
    """ "has had B12 jabs for 10 yrs", "after a year of shots": a treatment that has lasted
    a length of time is under way."""
    for i, tok in enumerate(tokens):
        if (
            tok == "had"
            and not set(tokens[max(0, i - 2) : i]) & MODAL_BEFORE_HAVE
            and set(tokens[i + 1 : i + 4]) & SCHEDULE_NOUNS
            and not _negated(tokens, i, i + 1)
            and any(_a_duration_at(tokens, j) for j in range(i + 2, min(len(tokens), i + 10)))
        ):
            return True
    taken = SCHEDULE_NOUNS | LONG_TERM_PRODUCTS | {"tablet", "tablets", "tabs", "pills", "oral"}
    if any(
        _a_duration_at(tokens, j)
        and tuple(tokens[j + 1 : j + 2]) == ("of",)
        and bool(set(tokens[j + 2 : j + 4]) & taken)
        for j in range(1, len(tokens) - 2)
    ):
        return True
    # "b12 tabs for 2 months and no better": told in a clause that asks nothing.
    return any(
        tok in taken and clause[i + 1 : i + 2] == ["for"] and _a_duration_at(clause, i + 3)
        for clause in _statement_clauses(tokens)
        for i, tok in enumerate(clause[:-3])
    )


#: Treatment nouns a schedule can follow ("jab every 12 weeks").
SCHEDULE_NOUNS = frozenset({"jab", "jabs", "injection", "injections", "shot", "shots"})
#: Words that make a clause a question or a proposal, not a statement.
ASKING_WORDS = frozenset(
    {"should", "would", "could", "can", "will", "need", "needs", "do", "does", "if", "whether"}
    | {"start", "starting", "switch", "change", "move", "go", "want", "wants", "how", "what"}
)


def _needs_treatment(tokens: Sequence[str]) -> bool:
    """ "do I still need the injections?", "does she need her jabs?": whether to treat."""
    treatment = SCHEDULE_NOUNS | {"hydroxocobalamin", "cyanocobalamin"}
    for i, tok in enumerate(tokens):
        if tok not in ("need", "needs"):
            continue
        for nxt in tokens[i + 1 : i + 5]:
            if nxt in treatment:
                return not _negated(tokens, i, i + 1)
            if not (nxt in NEED_FILLERS or nxt[:1].isdigit() or nxt.endswith("ly")):
                break
    return False


#: Words between "need" and the treatment it asks about ("need her 3 monthly hydroxo").
NEED_FILLERS = frozenset(
    {"the", "my", "her", "his", "their", "your", "these", "those", "any", "more", "b12", "to"}
    | {"have", "keep", "having", "getting", "get"}
)


def _statement_clauses(tokens: Sequence[str]) -> list[list[str]]:
    """The clauses that end with a full stop or a comma, not a question mark, and hold no
    word of asking or proposing."""
    out: list[list[str]] = []
    cur: list[str] = []
    for tok in tokens:
        if tok in BOUNDARIES:
            if tok != "?" and cur and not set(cur) & ASKING_WORDS:
                out.append(cur)
            cur = []
        else:
            cur.append(tok)
    return out


#: Words that deny what follows ("takes no supplements", "on nothing").
DENIALS = frozenset({"no", "not", "none", "never", "nothing", "neither", "nor"})


#: Words before "on" that make it a topic or a proposal, not a treatment under way ("decide
#: on B12 prophylaxis", "advice on b12", "hold off on shots", "send her home on tablets",
#: "does she need to stay on B12?", "insisting on b12 shots", "the team want me on jabs").
NOT_UNDER_WAY = frozenset(
    {
        "decide",
        "deciding",
        "decision",
        "advice",
        "guidance",
        "information",
        "info",
        "opinion",
        "thoughts",
        "views",
        "off",
        "home",
        "stay",
        "remain",
        "insist",
        "insists",
        "insisting",
        "keen",
        "want",
        "wants",
        "wanted",
    }
)
#: How many words after "on" / "taking" the treatment may be named.
_ON_REACH = 3


def _schedule_words(tokens: Sequence[str], i: int) -> int:
    """How many words at ``i`` tell a schedule ("every 3 months", "3 monthly"): "on q3m
    hydroxo" names the treatment after them."""
    if i >= len(tokens) or _interval_at(tokens, i) is None:
        return 0
    if tokens[i] == "every" and i + 2 < len(tokens) and number(tokens[i + 1]) is not None:
        return 3
    return 2


#: Words before "on" that make it "about" ("follow up on", "advice on", "thoughts on").
ABOUT_ON = frozenset(
    {"up", "advice", "advise", "guidance", "info", "information", "thoughts", "opinion"}
    | {"views", "question", "questions", "comment", "comments", "based", "depends"}
    | {"depend", "focus", "notes", "update", "help", "clarification", "tips", "reading"}
    | {"check", "checking", "off"}  # "what else to check on the b12 side", "hold off on b12"
)


def _on_treatment(tokens: Sequence[str], stops: frozenset[str] = frozenset()) -> bool:
    """ "already on injections", "taking cyanocobalamin" (not "start on injections", not "on
    warfarin, needs B12": a word of ``stops`` ends the treatment phrase)."""
    for i, tok in enumerate(tokens):
        if tok not in ON_TREATMENT_LEAD:
            continue
        before: set[str] = set()
        for t in reversed(tokens[max(0, i - 3) : i]):
            if t in BOUNDARIES:
                break
            before.add(t)
        # "start on", "should she be on …?": proposed, not under way; "follow up on
        # borderline b12", "advice on b12": "on" is "about"
        about = tok == "on" and i > 0 and tokens[i - 1] in ABOUT_ON
        if about or before & (START_WORDS | {"if", "before", "when", "be"} | NOT_UNDER_WAY):
            continue
        after: list[str] = []
        for t in tokens[i + 1 : i + 1 + _ON_REACH + _schedule_words(tokens, i + 1)]:
            if t in stops or t in BOUNDARIES:
                break  # "on warfarin needs b12 shots": the patient is on something else
            after.append(t)
        named = [k for k, t in enumerate(after) if t in ON_TREATMENT_WHAT]
        if named and set(after[: named[0]]) & DENIALS:
            continue  # "takes no supplements or injections"
        if named and not _negated(tokens, i, i + 1):
            return True
    if _has_scheduled(tokens):
        return True
    # "my injections are every 12 weeks": the asker's own treatment.
    if _my_treatment(tokens):
        return True  # "my injections", "my b12 jabs"
    # "switching from cyanocobalamin to …": treatment has started.
    return any(
        tok == "from" and i > 0 and tokens[i - 1] in START_WORDS for i, tok in enumerate(tokens)
    )


def _refused_route(tokens: Sequence[str], routes: list[str], kb: KnowledgeBase) -> str | None:
    """ "Refuses injections": the other of injection and oral is the one preferred."""
    refusals = _phrases(
        [" ".join(tokenise(fold(p))) for p in kb.answering.vocabulary.get("refuse_route", ())]
    )
    for phrase in refusals:
        for i in _find(tokens, phrase):
            after = tokens[i + len(phrase) : i + len(phrase) + 3]
            named = [v for _, _, v in _hits(after, ROUTE_WORDS)]
            if named and named[0] in ("im", "oral"):
                return "oral" if named[0] == "im" else "im"
    return None


#: Verbs of a change of treatment ("change to oral", "switch her to tablets").
CHANGE_VERBS = frozenset(
    {
        "change",
        "changing",
        "switch",
        "switching",
        "move",
        "moving",
        "swap",
        "swapping",
        "convert",
        "converting",
        "go",
        "going",
        "transfer",
    }
)


def _route_preference(tokens: Sequence[str], routes: list[str]) -> str | None:
    """The one of injection / oral the question names, or the one it prefers of the two."""
    ims = [r for r in routes if r in ("im", "oral")]
    if len(ims) == 1 and len(routes) == 1:
        # A route named alone is the one wanted, unless the question asks whether it is
        # needed ("do I need injections?"): then it is what is asked about, not a preference.
        asked = any(t in ("need", "needs", "require", "requires") for t in tokens)
        return None if asked else ims[0]
    moved = _moved_to(tokens) if len(ims) == 2 else None
    if moved is not None:
        return moved
    if len(ims) == 2:
        # "prefers oral to injections": the route right after the preference word.
        for i, tok in enumerate(tokens):
            if tok in PREFER_WORDS:
                following = [v for _, _, v in _hits(tokens[i + 1 : i + 4], ROUTE_WORDS)]
                if following and following[0] in ("im", "oral"):
                    return following[0]
                break
    return None


def _route_in(tokens: Sequence[str], *, last: bool = False) -> str | None:
    """The first (or ``last``) of injection and oral named in ``tokens``."""
    found = [v for _, _, v in _hits(tokens, ROUTE_WORDS)]
    pick = found[-1] if last and found else found[0] if found else None
    return pick if pick in ("im", "oral") else None


#: Auxiliaries after "or" that open the clause a question asks about ("…, or is oral fine?").
OR_ASKS = frozenset({"is", "are", "can", "could", "would", "will"})


def _moved_to(tokens: Sequence[str]) -> str | None:
    """The route a change of treatment moves to, of injection and oral: the route just before
    "instead" ("tablets instead of injections", "tablets instead?"), the route an "or is …"
    clause asks about ("shots, or is high-dose oral fine?"), the route after "change to"
    ("switch her to tablets"), or after "from … to" ("from injections to tablets")."""
    n = len(tokens)
    for i, tok in enumerate(tokens):
        found: str | None = None
        if tok == "instead":
            found = _route_in(tokens[max(0, i - 4) : i], last=True)
        elif tok == "or" and i + 1 < n and tokens[i + 1] in OR_ASKS:
            found = _route_in(tokens[i + 2 : i + 6])
        elif tok == "to" and set(tokens[max(0, i - 3) : i]) & CHANGE_VERBS:
            found = _route_in(tokens[i + 1 : i + 4])
        if found is not None:
            return found
    if "from" in tokens:
        start = tokens.index("from")
        for i in range(start + 1, n):
            if tokens[i] in ("to", "onto", "into"):
                return _route_in(tokens[i + 1 : i + 4])
    return None


def _interval_at(tokens: Sequence[str], i: int) -> float | None:  # noqa: C901 - one branch per form
    """The interval in days told at token ``i`` ("every 3 months", "alternate days", …)."""
    n = len(tokens)
    tok = tokens[i]
    nxt = tokens[i + 1] if i + 1 < n else ""
    nxt2 = tokens[i + 2] if i + 2 < n else ""
    days: float | None = None
    if tok == "every" and nxt in UNIT_DAYS:
        days = UNIT_DAYS[nxt]
    elif tok == "every" and nxt in ("other", "alternate", "second") and nxt2 in ("day",):
        days = 2.0
    elif tok == "every" and number(nxt) is not None and nxt2 in UNIT_DAYS:
        days = (number(nxt) or 0) * UNIT_DAYS[nxt2]
    elif tok == "every" and number(nxt) is not None and nxt2 in FRACTION_UNIT_DAYS:
        days = (number(nxt) or 0) * FRACTION_UNIT_DAYS[nxt2]  # "every 3/12", "every 8/52"
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
        unit = "week" if unit == "weekly" else unit
        if unit in UNIT_DAYS and (number(tok) or 0) > 0:
            days = round(UNIT_DAYS[unit] / (number(tok) or 1), 2)  # "3 times a week"
    elif tok in ("twice", "thrice") and nxt in ("a", "per", "weekly"):
        unit = "week" if nxt == "weekly" else nxt2
        if unit in UNIT_DAYS:
            days = round(UNIT_DAYS[unit] / (2 if tok == "twice" else 3), 2)  # "twice a year"
    elif tok == "once" and nxt in ("a", "per") and nxt2 in UNIT_DAYS and nxt2 != "day":
        days = UNIT_DAYS[nxt2]  # "once a year"
    elif (
        number(tok) is not None
        and nxt in UNIT_DAYS
        and (
            nxt2 in ("after", "apart", "later", "between")
            or (nxt2 in ("time", "time's") and nxt not in ("day", "days"))
        )
    ):  # "2 weeks apart", "booked the next one for 3 months time"
        days = (number(tok) or 0) * UNIT_DAYS[nxt]
    if days is not None and 0 < days <= 3660:
        return round(days, 2)
    return None


#: An interval this short, told of injections ("the alternate day jabs"), is a loading one.
LOADING_MAX_DAYS = 3.5
_INJECTION_NOUNS = frozenset({"jabs", "injections", "shots", "doses", "jab", "injection"})
#: "3/12" and "8/52" as clinicians write months and weeks (the number after the slash).
FRACTION_UNIT_DAYS = {"12": 30.44, "52": 7.0}
#: Words that, before "to", propose a new interval ("can we go to 3 monthly?").
TO_INTERVAL = frozenset(
    {"go", "move", "change", "switch", "extend", "increase", "reduce", "drop", "space", "stretch"}
    | {"spread", "push", "lengthen", "shorten", "cut", "bump"}
)


#: Words of a test or check: an interval told right after them is how often to check, not
#: how often to inject ("recheck b12 levels every 6-12 months").
CHECK_WORDS = frozenset(
    {
        "check",
        "checked",
        "checking",
        "recheck",
        "rechecked",
        "rechecking",
        "test",
        "tested",
        "testing",
        "retest",
        "monitor",
        "monitored",
        "monitoring",
        "bloods",
        "levels",
        "level",
        "fbc",
    }
)


def _check_interval(tokens: Sequence[str], i: int) -> bool:
    """The interval at ``i`` follows a word of checking in its clause."""
    window = list(tokens[max(0, i - 4) : i])
    if window and window[-1] == ",":
        window.pop()  # "rechecking b12 levels, yearly?"
    for tok in reversed(window):
        if tok in BOUNDARIES:
            return False
        if tok in CHECK_WORDS:
            return True
    return False


def _interval(tokens: Sequence[str], slots: Slots) -> None:
    """The interval the question tells; of two, the one it proposes to move to ("on every 2
    months - can we go to 3 monthly?")."""
    found = [
        (i, d)
        for i in range(len(tokens))
        if (d := _interval_at(tokens, i)) is not None and not _check_interval(tokens, i)
    ]
    if not found:
        return
    slots.interval_days = found[0][1]
    # "finished the alternate-day loading, now 3 monthly": of a loading interval and another,
    # the other is the treatment now.
    loading = {
        i
        for i, d in found
        if "loading" in tokens[max(0, i - 3) : i + 4]
        or (d <= LOADING_MAX_DAYS and set(tokens[i : i + 5]) & _INJECTION_NOUNS)
    }
    if found[0][0] in loading and len(loading) < len(found):
        slots.interval_days = next(d for i, d in found if i not in loading)
    for k, (i, days) in enumerate(found):
        before = tokens[max(0, i - 4) : i]
        if k > 0 and _ought(tokens, i):
            slots.doubts_current = True  # "…every 3/12. shouldnt that be 2 monthly?"
            continue
        if ("to" in before and set(before) & TO_INTERVAL) or "instead" in tokens[i : i + 5]:
            # "go to 3 monthly", "every 2 months instead", and with no interval before it,
            # "on my jabs - can we go to twice a year instead?"
            slots.interval_days = days
            slots.proposes_change = k > 0 or _asks_to(tokens, i)
    slots.doubts_current = slots.doubts_current or any(
        tok == "be"
        and j > found[0][0]
        and bool(set(tokens[max(0, j - 4) : j]) & _OUGHT)
        and tuple(tokens[j + 1 : j + 2]) == ("every",)
        for j, tok in enumerate(tokens)
    )  # "on every 3 months but ive read it should be every 2?"


#: Words of what ought to be ("shouldn't that be", "isn't it meant to be").
_OUGHT = frozenset(
    {"should", "shouldnt", "shouldn't", "meant", "supposed", "ought", "shd", "not", "isnt"}
)


def _ought(tokens: Sequence[str], i: int) -> bool:
    """The interval at ``i`` is what the asker thinks it ought to be ("shouldn't that be 2
    monthly?", "isn't it meant to be every 2 months?")."""
    before = list(tokens[max(0, i - 3) : i])
    if "be" not in before:
        return False
    at = max(k for k, t in enumerate(before) if t == "be") + max(0, i - 3)
    return bool(set(tokens[max(0, at - 4) : at]) & _OUGHT)


#: Words that ask for a change rather than tell one that happened ("can we go to …?").
_ASKING = frozenset({"can", "could", "should", "shall", "may", "ok", "okay", "want", "wants"})


def _asks_to(tokens: Sequence[str], i: int) -> bool:
    """The interval at ``i`` is asked for ("can we go to twice a year?", "GP wants to drop
    her to 6 monthly"), not told as what happened ("was moved to 3 monthly last year")."""
    return bool(set(tokens[max(0, i - 8) : i]) & _ASKING) or "?" in tokens[i : i + 6]


def _dose_follows(tokens: Sequence[str], j: int) -> bool:
    return j + 1 < len(tokens) and tokens[j + 1] in DOSE_UNITS


def _past_fillers(tokens: Sequence[str], end: int) -> int:
    """The index after a test's name and the link words that follow it ("came back", "was",
    "and it came back": "ran an MMA and it came back 610")."""
    j = end
    if tuple(tokens[j : j + 2]) in (
        ("and", "it"),
        ("and", "that"),
        ("and", "its"),
        ("and", "it's"),
    ):
        j += 1
    while j < len(tokens) and j < end + 5 and tokens[j] in LAB_FILLERS:
        j += 1
    return j


def _labs(tokens: Sequence[str], slots: Slots, kb: KnowledgeBase) -> None:
    ranges = kb.vocabulary.labs
    for start, end, key in _hits(tokens, {p: " ".join(p) for p in LABS}):
        phrase = tuple(key.split())
        field_name, units = LABS[phrase]
        if field_name == "serum_b12_ng_l" and start > 0 and tokens[start - 1] == "active":
            continue
        j = _past_fillers(tokens, end)
        if j < len(tokens) and not tokens[j][0].isdigit():
            # "active B12 already sent and came back 45 pmol/L", "active b12 (holotc) was
            # 18 pmol/L": a little further, a number with this test's own unit.
            j = _unit_value(tokens, end, units)
        if j >= len(tokens):
            continue
        value = number(tokens[j]) if tokens[j][0].isdigit() else None
        if value is None or _dose_follows(tokens, j):
            continue
        unit = tokens[j + 1] if j + 1 < len(tokens) and tokens[j + 1] in units else None
        converted = round(value * units[unit], 2)
        term = ranges.get(field_name)
        if term is None:
            continue
        if unit is None and not term.min <= converted <= term.max:
            # No unit, and not a value in the usual one: the one other unit that makes it a
            # possible value ("Hgb 6.1" is 6.1 g/dL, 61 g/L).
            other = {round(value * f, 2) for u, f in units.items() if u is not None}
            fits = [v for v in other if term.min <= v <= term.max]
            converted = fits[0] if len(fits) == 1 else converted
        if not term.min <= converted <= term.max:
            continue
        if field_name in slots.labs:
            continue
        slots.labs[field_name] = converted
        if field_name == "serum_b12_ng_l":
            slots.serum_b12 = (value, unit)


#: How far after a test's name a number with the test's own unit is still its result.
UNIT_REACH = 10
#: Tokens that end the reach (a new sentence or question).
UNIT_STOPS = frozenset({".", "?", ";", "!"})


def _unit_value(tokens: Sequence[str], end: int, units: dict[str | None, float]) -> int:
    """The index of the first number after ``end`` (within ``UNIT_REACH`` tokens, in the
    same sentence, before any other test is named) followed by one of ``units``; else the
    length of ``tokens``."""
    lab_words = {w for phrase in LABS for w in phrase}
    for k in range(end, min(len(tokens) - 1, end + UNIT_REACH)):
        tok = tokens[k]
        if tok in UNIT_STOPS or (tok in lab_words and tok not in ("b12", "active")):
            break
        if tok[:1].isdigit() and tokens[k + 1] in units and tokens[k + 1] is not None:
            return k
    return len(tokens)


#: Words before "level" that make it another test's ("folate level 3", "sugar levels 9").
OTHER_LEVEL_WORDS = frozenset(
    {w for phrase in LABS for w in phrase if w not in ("b12", "serum", "total", "cobalamin")}
    | {"d", "iron", "ferritin", "vitamin", "tsh", "thyroid", "sugar", "glucose", "hba1c"}
    | {"cholesterol", "sodium", "calcium", "magnesium", "vit", "zinc", "copper", "drug"}
)


def _bare_level(tokens: Sequence[str], slots: Slots, kb: KnowledgeBase) -> None:
    """A level with no test named in a question about B12 ("shouldn't I stop this pt's
    hydroxo? level 1900"): the B12 level."""
    if slots.labs or not (slots.formulations or "b12" in tokens):
        return
    term = kb.vocabulary.labs.get("serum_b12_ng_l")
    for i, tok in enumerate(tokens[:-1]):
        if tok not in ("level", "levels") or (i > 0 and tokens[i - 1] in OTHER_LEVEL_WORDS):
            continue
        j = i + 1  # "level came back 1650": link words may stand between
        while j < len(tokens) - 1 and j < i + 4 and tokens[j] in LAB_FILLERS:
            j += 1
        nxt = tokens[j]
        if _dose_follows(tokens, j):
            continue
        value = number(nxt) if nxt[:1].isdigit() else None
        if value is not None and term is not None and term.min <= value <= term.max:
            slots.labs["serum_b12_ng_l"] = value
            slots.serum_b12 = (value, None)
            return


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


#: Lab fields that a result told in words can be about (the others name another test).
B12_TESTS = frozenset({"serum_b12_ng_l", "active_b12_pmol_l", "mma_nmol_l"})


def _word_results(tokens: Sequence[str], slots: Slots, kb: KnowledgeBase) -> None:
    """Results told in words ("B12 came back low"), unless the number is given too."""
    table = {p: field_name for p, (field_name, _) in LABS.items() if field_name not in B12_TESTS}
    others = [(s, e) for s, e, _ in _hits(tokens, table)]
    for name, reading in results_in_words(tokens, kb.answering, others).items():
        if name not in slots.labs:
            slots.word_results[name] = reading


#: Words before a length that make it a threshold or a rule, not the patient's resection
#: ("anyone with more than 20 cm removed", "over 20cm", "the 20 cm rule").
THRESHOLD_WORDS = frozenset(
    {"over", "above", "under", "below", "than", "least", "beyond", "exceeding", "upto"}
)
_COMPARED_LENGTH = re.compile(r"[<>≥≤]\s*\d")


def _ileal_length(tokens: Sequence[str], slots: Slots, folded: str) -> None:
    if "ileal_resection" not in slots.populations:
        return
    if _COMPARED_LENGTH.search(folded):
        return  # ">20cm": a threshold the question quotes, not the patient's length
    for j, tok in enumerate(tokens[:-1]):
        value = number(tok) if tok[:1].isdigit() else None
        if value is not None and tokens[j + 1] in ("cm", "centimetres", "centimeters"):
            before = set(tokens[max(0, j - 2) : j])
            after = tokens[j + 2 : j + 3]
            if before & THRESHOLD_WORDS or after in (["rule"], ["threshold"], ["cut-off"]):
                continue
            if 0 <= value <= 700:
                slots.ileal_resection_cm = value
            return


#: After an age in months, words that make it a child's age ("5 month old", "9 mo breastfed").
_INFANT_WORDS = frozenset(
    {"old", "baby", "infant", "breastfed", "bf", "breastfeeding", "exclusively", "newborn"}
    | {"boy", "girl", "son", "daughter", "formula"}
)


def _an_infant(tokens: Sequence[str], i: int) -> bool:
    """The number at ``i``, then "month(s)", is an age (not "for 9 months", "3 months ago")."""
    prev = tokens[i - 1] if i > 0 else ""
    after = tokens[i + 2 : i + 5]
    if prev in DURATION_LEADS or "ago" in after[:1]:
        return False
    if set(tokens[max(0, i - 4) : i]) & _NURSING:
        return False  # "breastfeeding my 4 month old": the mother is the patient
    return bool(set(after) & _INFANT_WORDS)


_NURSING = frozenset({"breastfeeding", "nursing", "feeding", "bf", "breast", "breastfeed"})


def _age_sex(tokens: Sequence[str], slots: Slots) -> None:
    n = len(tokens)
    for i, tok in enumerate(tokens):
        value = number(tok) if tok[:1].isdigit() else None
        nxt = tokens[i + 1] if i + 1 < n else ""
        prev = tokens[i - 1] if i > 0 else ""
        if value is not None and value == int(value) and slots.age is None:
            if tuple(tokens[i + 2 : i + 3]) == ("ago",) or nxt == "ago" or prev in DURATION_LEADS:
                continue  # "2y ago", "metformin x 8y", "for 8y": a time, not an age
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
            elif nxt in ("month", "months") and _an_infant(tokens, i):
                slots.age = int(value // 12)  # "9 mo exclusively breastfed", "5 month old"
            elif nxt in ("f", "m") and prev not in ("every", "q", "for") and value >= 16:
                slots.age = int(value)
                slots.sex = SEX_WORDS[nxt]
        if slots.sex is None and tok in SEX_WORDS and len(tok) > 1:
            slots.sex = SEX_WORDS[tok]
    if slots.age is not None and not 0 <= slots.age <= 120:
        slots.age = None
    if slots.age is not None and slots.age >= ELDERLY_AGE and "elderly" not in slots.populations:
        slots.populations.append("elderly")


def _near_b12(tokens: Sequence[str], i: int) -> bool:
    """ "suspected" is about B12 only near a B12 word ("if sensitivity is suspected" is not)."""
    window = tokens[max(0, i - SUSPECT_REACH) : i + SUSPECT_REACH + 1]
    return any(t in B12_WORDS for t in window)


def _reports_result(slots: Slots) -> bool:
    """The question gives a B12 result (a number or words): "suspicion" is about B12."""
    return bool(slots.word_results) or "serum_b12_ng_l" in slots.labs


#: A guideline set named as where the patient came from ("from the US", "from a US hospital").
_FROM_SET = re.compile(
    r"\bfrom\s+(?:the\s+|a\s+|an\s+)?(?:US|U\.S\.|USA|America|UK|Britain|England)\b",
    re.IGNORECASE,
)
#: The US named as where something was read or heard ("I've read in America it's banned").
_HEARD_OF_SET = re.compile(
    r"\b(?:read|heard|seen|saw|told|apparently)\b[^.?!]{0,30}?\b(?:in|from)\s+(?:the\s+)?"
    r"(?:US|U\.S\.|USA|America|States)\b",
    re.IGNORECASE,
)
#: Words for where the asker is: a question that names another set beside them compares.
HERE_WORDS = frozenset({"here"})
#: Words that ask how sources compare.
COMPARE_WORDS = frozenset({"vs", "versus", "differ", "differs", "difference", "disagree"})


#: Words for a source's own dose ("the label says 100 mcg", "the leaflet", "the BNF"): told
#: beside another dose, the question sets the source against practice.
LABEL_WORDS = frozenset({"label", "labels", "insert", "leaflet", "spc", "fda", "bnf"})


def _doses_told(tokens: Sequence[str]) -> set[float]:
    """The distinct doses the question tells, in micrograms ("1000 mcg … 100 mcg")."""
    return {
        round(value * DOSE_UG[unit], 3)
        for tok, unit in pairwise(tokens)
        if unit in DOSE_UG and tok[:1].isdigit() and (value := number(tok)) is not None
    }


def label_against_practice(tokens: Sequence[str]) -> bool:
    """ "the insert says 100 mcg but we give 1000": a source's dose set against another."""
    return bool(set(tokens) & LABEL_WORDS) and len(_doses_told(tokens)) > 1


def _cues(question: str, tokens: Sequence[str], slots: Slots, kb: KnowledgeBase) -> None:
    words = set(tokens)
    if words & FIRST_PERSON and not (words & CLINICIAN_WORDS):
        slots.audience_cue = "patient"
    elif words & CLINICIAN_WORDS:
        slots.audience_cue = "clinician"
    # "moved from the US", "transferred from a US hospital": where the patient came from, not
    # the guideline set asked about; "in the US but not here" compares with where one is.
    asked = _FROM_SET.sub(" ", question)
    # "I've read in America it's not allowed": the other set is what the asker heard of, a
    # comparison with their own, not the set they ask under.
    heard = bool(_HEARD_OF_SET.search(asked))
    asked = _HEARD_OF_SET.sub(" ", asked)
    uk = bool(words & UK_WORDS)
    us = bool(set(tokenise(fold(asked))) & US_WORDS) or bool(_US_UPPER.search(asked))
    if uk != us and not words & HERE_WORDS:
        slots.guideline_cue = "uk" if uk else "us"
    # Two sets named, or one beside "here", or words of comparison: where sources differ.
    slots.compares = (
        (uk and us)
        or ((uk or us) and bool(words & HERE_WORDS))
        or bool(words & COMPARE_WORDS)
        or heard
        or label_against_practice(tokens)
    )
    cues = [
        (status, _phrases(kb.answering.vocabulary.get(f"deficiency_{status}", ())))
        for status in DEFICIENCY_STATUSES
    ]
    for status, phrases in cues:
        hit = [
            i
            for p in phrases
            for i in _find(tokens, p)
            if (status == "not_deficient" or not _negated(tokens, i, i + len(p)))
            and (status != "suspected" or _near_b12(tokens, i) or _reports_result(slots))
        ]
        if hit:
            slots.deficiency = status
            if status in ("not_deficient", "indeterminate") and slots.word_results:
                # "B12 normal but I still suspect it": the words are the result; the
                # suspicion is the stated status (a normal result never overrules it).
                # "B12 normal, prophylactic B12?": the question is about prevention.
                for kept in ("suspected", "at_risk"):
                    if any(
                        not _negated(tokens, i, i + len(p))
                        for p in dict(cues)[kept]
                        for i in _find(tokens, p)
                    ):
                        slots.deficiency = kept
                        break
            break
    else:
        if not _has(tokens, _word_lists(kb)["screening"]) and any(
            not _negated(tokens, i, i + 1) for p in GENERIC_DEFICIENCY for i in _find(tokens, p)
        ):
            slots.deficiency = "confirmed"
            slots.deficiency_generic = True
    # A test's own name is not a word of intent ("mean" in "mean cell volume"), nor are the
    # results a time is told by ("once the results are back").
    named = set(_find(tokens, ("mean", "cell")))
    named |= {
        i
        for i, tok in enumerate(tokens)
        if tok in ("result", "results") and set(tokens[max(0, i - 3) : i]) & WAITING_WORDS
    }
    reported = {
        i
        for intent, phrases in INTENTS
        if intent == "monitoring"
        for p in phrases
        for i in _find(tokens, p)
        if _reports_check(tokens, i, i + len(p))
    }
    scores = {
        intent: sum(
            1
            for p in phrases
            for i in _find(tokens, p)
            if i not in named and not (intent == "monitoring" and i in reported)
        )
        for intent, phrases in INTENTS
    }
    best = max(scores.values())
    if best:
        slots.intent = next(i for i, _ in INTENTS if scores[i] == best)
    words_of = kb.answering.vocabulary
    if _has(tokens, _phrases(words_of.get("regimen_questions", ()))) and not scores["monitoring"]:
        slots.regimen_question = True
        slots.intent = "regimen"
    slots.decision_question = (
        slots.regimen_question
        or _has(tokens, _phrases(words_of.get("decision_questions", ())))
        or _needs_treatment(tokens)
    )
    slots.status_unknown = _has(tokens, UNKNOWN_STATUS)


def _read_implied(tokens: Sequence[str], slots: Slots, kb: KnowledgeBase) -> None:
    """What the question implies (``answering.yaml`` ``question_reading``).

    A named diagnosis of the cause (pernicious anaemia) or a patient already on B12 treatment
    (with no result to classify) states a confirmed deficiency.  A question that asks for an
    interval or a dose (also after another form: "switch … what interval?") asks for the
    treatment regimen, unless it compares, asks why or asks to adjust (``not_regimen``).  In
    a regimen question an established-treatment phrase ("maintenance") also states a treated,
    confirmed deficiency (no patient is described).
    """
    reading = kb.answering.question_reading
    if slots.form == "when" and _has(tokens, _phrases(reading.next_dose)):
        # "When is the next injection due?": a course is under way; the question asks for a
        # date (the rule that dates the next dose), not for a regimen.
        slots.asks_next_dose = True
        slots.on_treatment = True
        slots.regimen_question = False
        if slots.intent == "regimen":
            slots.intent = None
    _read_course_words(tokens, slots, kb)
    open_status = slots.deficiency is None or slots.deficiency_generic
    named = any(p in slots.populations for p in reading.deficiency_populations)
    if open_status and (named or (slots.on_treatment and not slots.labs)):
        slots.deficiency = "confirmed"
        slots.deficiency_generic = False
        slots.deficiency_from_treatment = not named
    if _has(tokens, _phrases(reading.not_regimen)) or label_against_practice(tokens):
        slots.regimen_question = False  # "UK vs US: how often?" compares, "why …?" explains
    elif not slots.asks_next_dose and (
        (
            set(asked_forms(tokens)[:1] if slots.form == "when" else asked_forms(tokens))
            & set(reading.regimen_forms)
            or _has(tokens, _phrases(reading.regimen_phrases))
        )
        and slots.form != "yesno"
        and slots.intent != "monitoring"
        and not slots.screening
        and slots.deficiency not in ("at_risk", "not_deficient")
    ):
        slots.regimen_question = True
        slots.decision_question = True
    established = _has(tokens, _phrases(reading.established_deficiency))
    if slots.regimen_question and slots.deficiency is None and established and not slots.labs:
        slots.deficiency = "confirmed"
        slots.deficiency_generic = True


def _read_course_words(tokens: Sequence[str], slots: Slots, kb: KnowledgeBase) -> None:
    """A course told in everyday words (``answering.yaml`` ``vocabulary``): feeling unwell
    again before the dose, a late dose, the cause dealt with, a switch, stopping a treatment."""
    words = kb.answering.vocabulary
    if (
        slots.on_treatment
        and not slots.events
        and _has(tokens, _phrases(words.get("feel_unwell", ())))
        and _has(tokens, _phrases(words.get("feel_unwell_timing", ())))
    ):
        # "on jabs every 3 months but feel rubbish after 2": symptoms back before it is due.
        slots.events = ["symptoms_returned_before_due"]
    if (
        slots.timing is None
        and (slots.on_treatment or slots.routes or slots.phase_kinds)
        and _has(tokens, _phrases(words.get("late_dose", ())))
        and not _has(tokens, _phrases(("early", "earlier")))
    ):
        slots.timing = "overdue"
        slots.order_timing = "late"
    if "cause_resolved" not in slots.events and _cause_resolved(tokens, kb):
        slots.events = sorted({*slots.events, "cause_resolved"})
    # "on my injections - twice a year instead?": the one route told is the treatment under
    # way, and the change asked for is of its interval, not a switch to another treatment.
    current_route = (
        slots.on_treatment
        and slots.proposed_product is None
        and slots.routes == [slots.route_preference]
    )
    if (
        "switch" in asked_forms(tokens)
        and (slots.route_preference is not None or slots.proposed_product is not None)
        and not current_route
    ):
        # "tablets instead of injections", "change from jabs to oral": the question is about
        # the treatment to move to, not about carrying on with the current one.
        slots.switching = True
    high = slots.labs.get("serum_b12_ng_l", 0.0) > kb.param("high_b12_ng_l") or (
        slots.word_results.get("serum_b12_ng_l") == "high"
    )
    stopping(tokens, slots, _word_lists(kb), high)
    if not slots.on_treatment and _stops_treatment(tokens):
        # "can we stop the tablets?": the treatment is under way.
        slots.on_treatment = True
    if slots.on_treatment and slots.deficiency == "not_deficient" and slots.word_results:
        # "B12 normal now" on treatment is a level on treatment, not a status.
        slots.deficiency = None


#: Words that ask to end a treatment ("stop the tablets", "come off my injections").
STOP_WORDS = frozenset({"stop", "stopping", "off", "discontinue", "discontinuing", "cease"})
#: Before "off", words that make it putting off, not coming off ("hold off on b12").
PUT_OFF = frozenset({"hold", "holding", "held", "put", "putting", "wait", "waiting"})


def _cause_resolved(tokens: Sequence[str], kb: KnowledgeBase) -> bool:
    """The cause is told as dealt with ("diet fixed", "came off the omeprazole")."""
    words = kb.answering.vocabulary
    subjects = _phrases(words.get("cause_subjects", ()))
    after = _phrases(words.get("cause_resolved_after", ()))
    before = _phrases(words.get("cause_resolved_before", ()))
    for subject in subjects:
        for i in _find(tokens, subject):
            end = i + len(subject)
            tail = tokens[end : end + 3]
            head = tokens[max(0, i - 3) : i]
            if any(tuple(tail[: len(p)]) == p for p in after) or _stopped_next(tokens, end):
                return True
            for p in before:
                for k in range(len(head)):
                    if tuple(head[k : k + len(p)]) != p or k + len(p) < len(head) - 1:
                        continue
                    start = max(0, i - 3) + k
                    modal = set(tokens[max(0, start - 3) : start]) & MODAL_BEFORE_HAVE
                    denied = set(tokens[start + len(p) : i]) & _DENYING
                    # not "does she need to come off the metformin?", "not eating meat",
                    # "eats no animal products"
                    if not (modal or denied or _negated(tokens, start, start + len(p))):
                        return True
    return False


_DENYING = frozenset({"no", "not", "never", "zero", "any"})
#: Words that may stand between a cause and "stopped" in the next sentence ("nitrous
#: (balloons). I stopped 6 months ago").
_TELLER = frozenset({"i", "she", "he", "they", "we", "have", "has", "had", "since", "then", "if"})
_ENDED = frozenset({"stopped", "quit", "deprescribe", "deprescribed"})


def _stopped_next(tokens: Sequence[str], end: int) -> bool:
    """The cause at ``:end`` is followed, past a full stop, by "I stopped …" with no object
    ("I stopped 6 months ago", not "I stopped my tablets")."""
    k = end
    while k < len(tokens) and k < end + 4 and (tokens[k] in BOUNDARIES or tokens[k] in _TELLER):
        k += 1
    if k >= len(tokens) or k == end or tokens[k] not in _ENDED:
        return False
    nxt = tokens[k + 1] if k + 1 < len(tokens) else ""
    return nxt not in ON_TREATMENT_WHAT and nxt not in OWNERS and nxt not in ("the", "taking")


def _stops_treatment(tokens: Sequence[str]) -> bool:
    """The question asks to stop a treatment word that follows ("stop the tablets")."""
    for i, tok in enumerate(tokens):
        if tok in STOP_WORDS and not (tok == "off" and i > 0 and tokens[i - 1] in PUT_OFF):
            # ("hold off on b12 till the MMA is back" puts starting off; it stops nothing)
            for t in tokens[i + 1 : i + 4]:
                if t in BOUNDARIES:
                    break
                if t in ON_TREATMENT_WHAT:
                    return True
    return False


_WORDS: dict[int, tuple[object, dict[str, tuple[Phrase, ...]]]] = {}


def _word_lists(kb: KnowledgeBase) -> dict[str, tuple[Phrase, ...]]:
    """``answering.yaml`` ``vocabulary`` as phrases (cached per knowledge base); a list the
    file does not have is empty."""
    vocab = kb.answering.vocabulary
    found = _WORDS.get(id(vocab))
    if found is not None and found[0] is vocab:
        return found[1]
    built: dict[str, tuple[Phrase, ...]] = defaultdict(tuple)
    built.update({name: _phrases(words) for name, words in vocab.items()})
    # The names of the other medicines (not B12, not folic acid), one word each: a dose
    # right after one is that medicine's ("omeprazole 20mg", "metformin 2g").
    products = set(kb.vocabulary.products)
    names = {
        w
        for code, term in kb.vocabulary.medications.items()
        if code not in products
        for text in (code, term.label, *term.aliases, *kb.answering.term_words.get(code, ()))
        for w in tokenise(fold(text.replace("_", " ")))
        if len(w) > 3
    }
    built["_other_medicines"] = tuple((w,) for w in sorted(names))
    _WORDS[id(vocab)] = (vocab, built)
    return built


def _phrases(texts: Sequence[str]) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(t.split()) for t in texts)


#: Words after which "confirmed" states a status rather than asks for one ("confirmed low
#: b12", "confirmed PA").
STATED_AFTER = frozenset(
    {"low", "b12", "deficiency", "deficient", "pernicious", "pa", "diagnosis", "autoimmune"}
)


def _asks_confirmation(tokens: Sequence[str], asks: Sequence[Phrase]) -> bool:
    """The question asks whether something is confirmed ("b12 180 - confirms it?"), not
    states that it is ("confirmed low b12 but refuses injections")."""
    for start, end, _ in _hits(tokens, {p: " ".join(p) for p in asks}):
        if tokens[end : end + 1] and tokens[end] in STATED_AFTER:
            continue
        if tokens[start] == "confirmed" and _states_another(tokens, start, end):
            continue  # "patch-test confirmed cobalt sensitivity", "confirmed by patch test"
        return True
    return False


#: After "confirmed", words that end or open the question's own doubt ("confirmed?",
#: "confirmed or not", "confirmed yet").
_STILL_ASKED = frozenset({"?", "or", "yet", "now", "then", "though"})


def _states_another(tokens: Sequence[str], start: int, end: int) -> bool:
    """ "confirmed" told of something the asker knows ("confirmed by patch test", "confirmed
    cobalt sensitivity"): a word follows that is neither a B12 word nor a question."""
    if end >= len(tokens):
        return False
    nxt = tokens[end]
    return nxt not in BOUNDARIES and nxt not in _STILL_ASKED and nxt not in STATED_AFTER


#: Before a word of checking, words that make it a check that happened or none ("on my last
#: bloods", "no follow up here"); after it, words that tell its result ("bloods all normal").
_PAST_CHECK = frozenset({"last", "latest", "recent", "previous", "no", "routine"})
_CHECK_RESULT = frozenset(
    {"normal", "fine", "ok", "okay", "showed", "shows", "show", "came", "were", "was", "all"}
)


def _reports_check(tokens: Sequence[str], start: int, end: int) -> bool:
    """The check at ``start:end`` is told as done (with its result) or as not done, not asked
    about ("b12 was normal on my last bloods", "at her check was 380", "no follow up")."""
    before = set(tokens[max(0, start - 2) : start])
    after = set(tokens[end : end + 2])
    return bool(before & _PAST_CHECK) or bool(after & _CHECK_RESULT)


#: Words of a belief ("I think", "worried", "wonder if"): a low B12 told within
#: :data:`BELIEF_REACH` words after one is what the asker thinks, not a result.
BELIEF_WORDS = frozenset(
    {"think", "thinks", "reckon", "reckons", "worried", "worry", "wonder", "wondering"}
    | {"suspect", "suspects", "convinced"}
)
BELIEF_REACH = 6
_BELIEVED = frozenset({"low", "deficient", "deficiency"})


def _belief(tokens: Sequence[str], slots: Slots) -> None:
    """ "I think my b12 is low", "worried it might be low": a belief, not a result."""
    if _believed_low(tokens) and not slots.labs and not slots.on_treatment:
        slots.word_results.pop("serum_b12_ng_l", None)
        if slots.deficiency in (None, "confirmed"):
            slots.deficiency = "suspected"
            slots.deficiency_generic = False


def _believed_low(tokens: Sequence[str]) -> bool:
    """ "think my b12 is low", "think im b12 deficient": low B12 after a word of belief, with
    no number between them (a number is a result told, "I think it was 110")."""
    for i, tok in enumerate(tokens):
        if tok not in BELIEF_WORDS:
            continue
        window = tokens[i + 1 : i + 1 + BELIEF_REACH]
        if set(window) & _BELIEVED and not any(t[:1].isdigit() for t in window):
            return True
    return False


#: "?b12 def", "?PA": a diagnosis queried (suspected), as clinical notes write it.
_QUERIED = re.compile(
    r"(?:^|[\s,(;:/-])\?(?:b12|pa\b|pernicious|deficien|def\b|low b12|vit(?:amin)? b12)"
)


def _shorthand_marks(folded: str, slots: Slots) -> None:
    """Clinical notation the tokens lose: "?PA", "?b12 def" (queried).  ("28/40" is read
    as weeks pregnant by the tokeniser.)"""
    if _QUERIED.search(folded):
        slots.queried = True
        if slots.deficiency in (None, "not_deficient"):
            # A stated suspicion is kept against a normal result ("?b12 def but level 420").
            slots.deficiency = "suspected"


def _overdue_maintenance(tokens: Sequence[str], slots: Slots, kb: KnowledgeBase) -> None:
    """ "last maint hydroxo 5/12 ago": with no interval told, a maintenance dose longer ago
    than the longest maintenance interval of any guideline set is overdue."""
    if slots.timing is not None or slots.interval_days is not None:
        return
    if "maintenance" not in slots.phase_kinds:
        return
    since = since_last(tokens)
    if since is not None and since > kb.param("uk_maintenance_interval_max_days"):
        slots.timing = "overdue"
        slots.order_timing = "late"


def _pending_suspicion(tokens: Sequence[str], slots: Slots, kb: KnowledgeBase) -> None:
    """A B12 result still to come with neurological features told is a suspected deficiency
    (``vocabulary.deficiency_pending``); without them the status stays unknown."""
    if slots.neuro is not True or not (slots.deficiency is None or slots.deficiency_generic):
        return
    pending = _phrases(kb.answering.vocabulary.get("deficiency_pending", ()))
    if any(not _negated(tokens, i, i + len(p)) for p in pending for i in _find(tokens, p)):
        slots.deficiency = "suspected"
        slots.deficiency_generic = False


def extract(norm: Normalised, question: str, kb: KnowledgeBase) -> Slots:
    """Every slot of the normalised question (``question`` is the original, for case cues)."""
    tokens = norm.tokens
    slots = Slots()
    _neuro(tokens, slots)
    _populations(tokens, slots)
    _vocabulary_terms(tokens, slots, kb)
    _routes(tokens, slots, kb)
    _interval(tokens, slots)
    _labs(tokens, slots, kb)
    _bare_units(tokens, slots, kb)
    _bare_level(tokens, slots, kb)
    _word_results(tokens, slots, kb)
    _ileal_length(tokens, slots, norm.folded)
    _age_sex(tokens, slots)
    _cues(question, tokens, slots, kb)
    _pending_suspicion(tokens, slots, kb)
    extract_course(tokens, norm.folded, slots, _word_lists(kb), kb.answering.common_words)
    _overdue_maintenance(tokens, slots, kb)
    if slots.proposes_change and slots.interval_days and not slots.on_treatment:
        # "…, spread out to 4 monthly?": a change of interval is asked of a course under way
        # (never read as "no supplementation").
        others = set(slots.medications) - {"hydroxocobalamin", "cyanocobalamin"}
        slots.on_treatment = not others
    asks = _phrases(kb.answering.vocabulary.get("asks_diagnosis", ()))
    slots.asks_deficiency = _has(tokens, GENERIC_DEFICIENCY) or _asks_confirmation(tokens, asks)
    words = kb.answering.vocabulary
    if slots.labs and not slots.decision_question:
        fine = _has(tokens, _phrases(words.get("asks_result_fine", ())))
        if fine or _has(tokens, _phrases(words.get("asks_result_low", ()))):
            slots.intent = "diagnosis"  # "b12 came back 450, is that ok?"
            slots.asks_result_fine = fine
    if (
        slots.deficiency == "confirmed"
        and "serum_b12_ng_l" in slots.labs
        and "confirmed" not in tokens  # "recorded as confirmed but B12 600": a stated status
    ):
        # A stated level is classified by the knowledge base, not by the word "deficiency".
        slots.deficiency = None
    if slots.deficiency is None and slots.word_results.get("serum_b12_ng_l") == "normal":
        # "B12 came back normal" states the result is not deficient, as "B12 normal" does;
        # neurological features still make it suspected (select.py, as plan does).
        slots.deficiency = "not_deficient"
    _shorthand_marks(norm.folded, slots)
    _read_implied(tokens, slots, kb)
    if slots.queried and slots.deficiency == "confirmed" and not slots.labs:
        slots.deficiency = "suspected"  # "?PA": a diagnosis queried is not a diagnosis
    if _has(tokens, NO_TEST_YET) and not slots.labs:
        slots.word_results = {}  # no blood test yet: "low B12" is what someone thinks
    _belief(tokens, slots)
    told = slots.labs or slots.word_results
    untested = (slots.status_unknown or _has(tokens, NO_TEST_YET)) and not told
    proposes_b12 = bool(slots.routes or slots.formulations) or bool(
        set(slots.medications) & {"hydroxocobalamin", "cyanocobalamin"}
    )
    if untested and slots.deficiency is None and not slots.on_treatment and proposes_b12:
        # "havent checked b12 yet - can I just start hydroxo and test later?": treating before
        # a test is proposed, so a deficiency is suspected.
        slots.deficiency = "suspected"
    if untested and slots.deficiency == "confirmed" and not slots.on_treatment:
        # "GP thinks it's low B12, start the jabs before the bloods?": with no test yet, a
        # deficiency named is a suspicion, not a diagnosis.
        slots.deficiency = "suspected"
        slots.deficiency_generic = False
    if slots.screening and slots.deficiency is None and not slots.labs and slots.populations:
        # "Should I check B12 in someone on omeprazole?": a risk factor, status not known.
        slots.deficiency = "at_risk"
    if slots.folic and "folic_acid" not in slots.medications:
        slots.medications.append("folic_acid")
    return slots
