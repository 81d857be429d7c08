"""The scope gate: answer only questions about what the reviewed knowledge base covers.

Lexical and deterministic (the optional MiniLM gate of the research notes is not used: see
``docs/answers.md``).  In order:

0. an **animal** (``veterinary``: dog, cat, horse, vet …) → out of scope, always: b12 covers
   human treatment only;
1. a **wellness** use (``wellness``: energy, weight loss, hair, hangover …) → out of scope
   unless the question describes a deficiency (a low result, a cause or risk, a symptom, a
   treatment in progress, but not when it says the level is normal and tells no symptom,
   cause or condition) — B12 as a supplement for well-being is not covered;
1c. **pregnancy planning** (``vocabulary.preconception``), or folic acid in pregnancy with
   no result told, with no B12 treatment described and either no in-scope anchor or a B12
   level said to be normal → out of scope (folic acid for its own sake);
1b. a topic about B12 that no reviewed item answers (``not_covered``: cost, insurance,
   self-injection, storing ampoules, foods, urine colour, alcohol, blood donation, supply) →
   not covered;
2. an **in-scope anchor** (``answering.yaml``: B12, cobalamin, pernicious anaemia, …) in the
   question → in scope, unless it also names an **out-of-scope** topic (iron, vitamin D, …)
   as often as it names B12 (the question is about the other topic) or retrieval is weak, or
   it names a **foreign topic** (a word in neither the knowledge base nor the common English
   words of ``english_words.yaml``: "b12 for rosacea?") and describes no deficiency or
   treatment, nor a patient other than one whose B12 is normal;
3. no anchor but an out-of-scope topic → out of scope;
4. no anchor and no out-of-scope topic → in scope when the question describes B12 treatment
   in its own words (a dose with a unit and a schedule, a B12 product, a B12 course event:
   "is 1 mg every 3 months forever ok"), refused when it names a **foreign topic** and no
   deficiency, nerve symptom or course phase ("prolia due date passed, give it now?"), else
   in scope when retrieval is **strong**: the best BM25 score
   reaches ``MIN_SCORE`` and at least ``MIN_COVERAGE`` of the question's content words occur
   in the knowledge base ("how often do I need my jabs?" passes; "what is the capital of
   France?" does not).

Anchors and out-of-scope words are matched on both the folded question and the normalised one
(so "vitamin K" is out of scope even though the shorthand table reads "K" as potassium).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from b12.core.answer.extract import Slots
from b12.core.answer.normalise import BOUNDARIES, Normalised, tokenise
from b12.core.answer.retrieve import AnswerIndex, Hit

#: Medication codes that are B12 itself or folic acid (read elsewhere).
B12_MEDICINES = frozenset({"hydroxocobalamin", "cyanocobalamin", "methylcobalamin", "folic_acid"})
#: BM25 score a question with no anchor must reach (calibrated on tests/answers/questions.yaml).
MIN_SCORE = 2.0
#: Share of content words the knowledge base must know, for a question with no anchor.
MIN_COVERAGE = 0.75
#: Shorter words (abbreviations such as "ivf" or "hosp") are never read as a topic.
FOREIGN_MIN_LENGTH = 4
#: BM25 score an anchored question that also names another topic must reach.
MIN_SCORE_MIXED = 6.0


@dataclass(frozen=True, slots=True)
class Scope:
    """The gate's decision and why."""

    in_scope: bool
    reason: str
    anchors: tuple[str, ...]
    off_topic: tuple[str, ...]
    coverage: float


def _ngrams(tokens: Sequence[str], longest: int) -> set[tuple[str, ...]]:
    return {
        tuple(tokens[i : i + n]) for n in range(1, longest + 1) for i in range(len(tokens) - n + 1)
    }


def _present(phrases: Sequence[tuple[str, ...]], streams: Sequence[Sequence[str]]) -> list[str]:
    longest = max((len(p) for p in phrases), default=1)
    grams = set().union(*(_ngrams(tokens, longest) for tokens in streams))
    return [" ".join(p) for p in phrases if p in grams]


def _count(phrases: Sequence[str], tokens: Sequence[str]) -> int:
    """How many times the phrases occur in ``tokens`` (non-overlapping per phrase)."""
    text = f" {' '.join(tokens)} "
    return sum(text.count(f" {p} ") for p in phrases)


#: Words of B12 treatment that keep a question naming another medicine in scope.
TREATMENT_NOUNS = frozenset(
    {"injection", "injections", "jab", "jabs", "shot", "shots", "tablet", "tablets", "dose"}
    | {"doses", "loading", "maintenance", "supplement", "supplements", "replacement"}
)


def _other_medicine_only(slots: Slots, raw: Sequence[str]) -> bool:
    """The question names a medicine other than B12 and nothing of B12 treatment or
    deficiency (no anchor is checked by the caller)."""
    others = [m for m in slots.medications if m not in B12_MEDICINES]
    # A medicine that lowers B12 is read as a cause ("medication"); named alone, with no B12
    # word ("metformin max dose with an eGFR of 38?"), the question is about that medicine.
    causes = set(slots.causes) - {"medication"}
    return (
        bool(others)
        and not slots.routes
        and not set(raw) & (TREATMENT_NOUNS - {"dose", "doses"})
        and slots.deficiency in (None, "not_deficient")
        and not (causes or slots.neuro or _told_events(slots) or slots.word_results)
        and "serum_b12_ng_l" not in slots.labs
        and not describes_treatment(slots)
    )


#: Words that keep a clause about B12 ("…, whats the b12 dose", "…, can the jab go IM?").
_B12_CLAUSE = frozenset({"b12", "cobalamin", "hydroxocobalamin", "cyanocobalamin", "hydroxo"})


#: Words that ask for a medicine's dose ("what aciclovir dose?", "valacyclovir dosing").
_DOSE_ASKED = frozenset({"dose", "doses", "dosing", "dosage", "mg", "regimen", "prescribe"})


def _last_clause(folded: str) -> list[str]:
    """The words of the question's last clause (what it ends by asking)."""
    clauses: list[list[str]] = [[]]
    for tok in tokenise(folded):
        if tok in BOUNDARIES:
            clauses.append([])
        else:
            clauses[-1].append(tok)
    return next((c for c in reversed(clauses) if c), [])


def _asks_about_other(folded: str, foreign: Sequence[str]) -> bool:
    """The question's last clause asks for the dose of a medicine the knowledge base never
    mentions, with no B12 word in it ("…on b12 shots, today a shingles rash, whats the
    valacyclovir dose", "dose of aciclovir?")."""
    words = _last_clause(folded)
    kept = _B12_CLAUSE | (TREATMENT_NOUNS - {"dose", "doses"})
    if set(words) & kept:
        return False
    named = set(foreign)
    return any(
        tok in named
        and (
            tuple(words[i + 1 : i + 2]) in {(w,) for w in _DOSE_ASKED}
            or tuple(words[max(0, i - 2) : i]) in (("dose", "of"), ("dosing", "of"))
        )
        for i, tok in enumerate(words)
    )


def _told_events(slots: Slots) -> bool:
    """Course events the question tells ("can I stop?" tells that stopping is considered,
    which alone says nothing of B12: "stop the metformin?" is read elsewhere)."""
    return bool(set(slots.events) - {"stopping_considered"})


def describes_deficiency(slots: Slots) -> bool:
    """The question describes a deficiency, a risk of one, or treatment for one (injections or
    a named B12 product, or a dose of one early or late: "taking b12" alone may be a supplement
    for well-being)."""
    return bool(
        (slots.deficiency not in (None, "not_deficient") and not slots.deficiency_from_treatment)
        or slots.causes
        or slots.neuro
        or (slots.on_treatment and bool(slots.routes or slots.formulations))
        or (
            slots.order_timing is not None
            and bool(slots.routes or slots.formulations or slots.phase_kinds)
        )
        or _told_events(slots)
        or slots.conditions
    )


#: Words before another topic that tell it in passing: a medicine taken, a reason.
INCIDENTAL_LEADS = frozenset(
    {
        "on",
        "taking",
        "takes",
        "cos",
        "because",
        "due",
        "since",
        "after",
        "with",
        "had",
        "has",
        "got",
        "caught",
        "developed",
        "w",
        "bc",
        "coz",
        "cuz",
    }
)
#: "bc of the flu", "because of covid": a reason, told in passing.
BECAUSE_OF = frozenset({"because", "bc", "cos", "coz", "cuz", "due"})


def _because_of(raw: Sequence[str], i: int) -> bool:
    """ "bc of the flu", "because of a chest infection": the words at ``i`` are a reason."""
    window = list(raw[max(0, i - 4) : i])
    return any(window[k] in BECAUSE_OF and window[k + 1] == "of" for k in range(len(window) - 1))


def _incidental(off: Sequence[str], raw: Sequence[str]) -> bool:
    """Every mention of another topic is told in passing ("also on ferrous fumarate",
    "cos of flu"), none asked about."""
    for phrase in off:
        words = phrase.split()
        starts = [i for i in range(len(raw)) if list(raw[i : i + len(words)]) == words]
        if not starts:
            return False
        for i in starts:
            if not (set(raw[max(0, i - 2) : i]) & INCIDENTAL_LEADS or _because_of(raw, i)):
                return False
    return True


def _b12_in_view(slots: Slots) -> bool:
    """The question tells something of B12 itself: a result, a nerve symptom, a deficiency
    status, a B12 treatment or a test asked for."""
    status = slots.deficiency not in (None, "at_risk") and not slots.deficiency_from_treatment
    return bool(
        slots.labs
        or slots.word_results
        or slots.neuro
        or status
        or slots.routes
        or slots.formulations
        or slots.screening
        or slots.asks_deficiency
        or slots.intent in ("monitoring", "diagnosis")
    )


def _normal_and_well(slots: Slots) -> bool:
    """The question says the B12 level is normal and tells no symptom, cause, condition or
    course event ("shots for weight loss at a med spa? my levels are normal"): injections
    named here are a wish, not a treatment of a deficiency."""
    normal = (
        slots.word_results.get("serum_b12_ng_l") == "normal" or slots.deficiency == "not_deficient"
    )
    return normal and not (slots.neuro or slots.causes or slots.conditions or _told_events(slots))


def foreign_words(norm: Normalised, index: AnswerIndex) -> list[str]:
    """Words of the question that name a topic of their own: letters only, at least
    ``FOREIGN_MIN_LENGTH`` long, used nowhere in the knowledge base (as a word or a stem) and
    not a common English word ("rosacea", "tinnitus", "shingrix")."""
    if not index.common:
        return []
    import Stemmer  # type: ignore[import-not-found]

    stem = Stemmer.Stemmer("english").stemWord
    return [
        w
        for w in norm.words
        if w.isalpha()
        and len(w) >= FOREIGN_MIN_LENGTH
        and w not in index.common
        and w not in index.known
        and stem(w) not in index.stems
    ]


def describes_treatment(slots: Slots) -> bool:
    """The question is about B12 treatment in its own words (a paraphrase with no anchor),
    asks when the next dose of a course is due ("when's my next jab?"), or reports a
    B12-specific test in words ("holo tc low", "MMA came back raised")."""
    return bool(
        (slots.dose_ug is not None and slots.interval_days is not None)
        or slots.formulations
        or _told_events(slots)
        or slots.asks_next_dose
        or set(slots.word_results) & {"active_b12_pmol_l", "mma_nmol_l"}
    )


def _folic_for_pregnancy(
    index: AnswerIndex, streams: tuple[list[str], list[str]], slots: Slots
) -> list[str]:
    """Pregnancy-planning words, or folic acid in pregnancy with no result told ("5 mg folic
    acid in pregnancy, until when?"): what scope rule 1c looks at."""
    planning = _present(index.preconception, streams)
    if (
        not planning
        and slots.folic
        and "pregnancy" in slots.populations
        and (not slots.labs or _normal_and_well(slots))
    ):
        planning = ["folic acid in pregnancy"]
    return planning


def _without_anchor(
    norm: Normalised, index: AnswerIndex, slots: Slots, raw: Sequence[str], coverage: float
) -> Scope | None:
    """Rule 4 before retrieval decides: another medicine only, B12 treatment in its own
    words, or a topic the knowledge base never mentions (``None``: retrieval decides)."""
    if _other_medicine_only(slots, raw):
        # "rivaroxaban dose in AF if CrCl 28?": another medicine, no B12 word, no injection or
        # tablet, no deficiency: a question about that medicine.
        return Scope(False, "other_medicine", (), tuple(slots.medications), coverage)
    foreign = foreign_words(norm, index)
    course = slots.formulations or slots.routes or slots.phase_kinds or slots.word_results
    status = slots.deficiency is None or slots.deficiency_from_treatment
    if foreign and not course and status and not slots.neuro:
        # "crohns on ustekinumab q8w flaring by wk 6 - shorten to q4w?": a course of a medicine
        # the knowledge base never mentions, with nothing of B12 in it.
        return Scope(False, "foreign_topic", (), tuple(foreign), coverage)
    if describes_treatment(slots):
        return Scope(True, "treatment_words", (), (), coverage)
    if foreign and slots.deficiency is None and not (slots.neuro or slots.phase_kinds):
        # "15 weeks since her last depo provera, give it today?", "prolia due date passed":
        # no B12 word, and the question names a topic the knowledge base never mentions.
        return Scope(False, "foreign_topic", (), tuple(foreign), coverage)
    return None


def _anchored_elsewhere(
    norm: Normalised, index: AnswerIndex, slots: Slots, anchors: Sequence[str], coverage: float
) -> Scope | None:
    """A question with a B12 word that asks about something else (``None``: not refused)."""
    if anchors and _asks_about_other(norm.folded, foreign_words(norm, index)):
        # "…on b12 shots, cold sores today - what aciclovir dose?": B12 told, another
        # medicine asked about.
        return Scope(False, "other_topic_asked", tuple(anchors), (), coverage)
    if anchors and all("nitrous" in a for a in anchors) and not _b12_in_view(slots):
        # "is entonox ok for the baby in labour?": nitrous oxide for its own sake, with
        # nothing of B12 (no result, nerve symptom, deficiency, treatment or test).
        return Scope(False, "nitrous_only", tuple(anchors), (), coverage)
    return None


def gate(
    norm: Normalised,
    terms: list[str],
    hits: Sequence[Hit],
    index: AnswerIndex,
    slots: Slots,
    first: Normalised | None = None,
) -> Scope:
    """Decide whether the question is in scope (see the module docstring).  ``first`` is the
    first part of a question with several: a topic no item answers is looked for there only
    (a later part on such a topic is named as not covered, the rest is answered)."""
    raw = [t for t in tokenise(norm.folded) if t not in BOUNDARIES]
    streams = (raw, list(norm.words))
    coverage = (sum(1 for t in terms if t in index.stems) / len(terms)) if terms else 0.0
    animals = _present(index.veterinary, streams)
    if animals:
        return Scope(False, "veterinary", (), tuple(animals), coverage)
    lead = first if first is not None else norm
    lead_raw = [t for t in tokenise(lead.folded) if t not in BOUNDARIES]
    uncovered = _present(index.not_covered, (lead_raw, list(lead.words)))
    if uncovered:
        # About B12 treatment, but on a topic no reviewed item answers (cost, self-injection,
        # storage, foods, …): "not covered", not the nearest item.
        return Scope(False, "not_covered", (), tuple(uncovered), coverage)
    wellness = _present(index.wellness, streams)
    told = bool(slots.labs) and _incidental(wellness, raw)  # "78M with weight loss, B12 2000"
    if wellness and (not describes_deficiency(slots) or _normal_and_well(slots)) and not told:
        return Scope(False, "wellness", (), tuple(wellness), coverage)
    anchors = _present(index.anchors, streams)
    planning = _folic_for_pregnancy(index, streams, slots)
    b12_asked = bool(
        set(_last_clause(norm.folded)) & _B12_CLAUSE
    )  # "…, add b12 so it doesnt mask?"
    if (
        planning
        and not describes_treatment(slots)
        and (not anchors or _normal_and_well(slots))
        and not b12_asked
    ):
        # "folic acid 400 mcg, how long before trying for a baby?": pregnancy planning with
        # no B12 word and no B12 treatment is about folic acid for its own sake.
        return Scope(False, "off_topic", (), tuple(planning), coverage)
    off = [w for w in _present(index.off_topic, streams) if not any(w in a for a in anchors)]
    top = hits[0].score if hits else 0.0
    refused = _anchored_elsewhere(norm, index, slots, anchors, coverage)
    if refused is not None:
        return refused
    if anchors and not off:
        foreign = foreign_words(norm, index)
        patient = slots.describes_patient and (
            slots.deficiency != "not_deficient" or bool(slots.labs)
        )
        # An injection site named ("the upper outer quadrant of the buttock") is a question
        # about giving the treatment.
        # A route with a schedule ("b12 jabs every 4 months") is the treatment told, too.
        scheduled = slots.interval_days is not None and bool(slots.routes)
        described = (
            describes_deficiency(slots)
            or describes_treatment(slots)
            or patient
            or bool(slots.site)
            or scheduled
        )
        if foreign and not described:
            # "b12 for rosacea?": B12 named, but about a topic the knowledge base never
            # mentions, and no deficiency, result or treatment is described.
            return Scope(False, "foreign_topic", tuple(anchors), tuple(foreign), coverage)
        return Scope(True, "anchor", tuple(anchors), (), coverage)
    described = describes_deficiency(slots) or describes_treatment(slots) or bool(slots.labs)
    # A dose told late or early by its route ("missed 2 of her loading jabs") is a B12 course.
    timed = slots.order_timing is not None and bool(slots.routes)
    b12_named = bool(anchors) or describes_treatment(slots) or bool(slots.phase_kinds) or timed
    if off and described and b12_named and _incidental(off, raw):
        # "also on ferrous fumarate", "missed a jab cos of flu": another medicine or illness
        # told in passing about a B12 patient; the question is about their B12.
        return Scope(True, "incidental_topic", tuple(anchors), tuple(off), coverage)
    if anchors:
        # Counted in the raw and the normalised question alike ("vit D" is "vitamin d" only
        # once normalised).
        words = list(norm.words)
        led = max(_count(off, raw), _count(off, words)) >= max(
            _count(anchors, raw), _count(anchors, words)
        )
        ok = top >= MIN_SCORE_MIXED and not led
        return Scope(
            ok, "anchor_and_retrieval" if ok else "off_topic", tuple(anchors), tuple(off), coverage
        )
    if off:
        return Scope(False, "off_topic", (), tuple(off), coverage)
    unanchored = _without_anchor(norm, index, slots, raw, coverage)
    if unanchored is not None:
        return unanchored
    ok = top >= MIN_SCORE and coverage >= MIN_COVERAGE
    return Scope(ok, "retrieval" if ok else "weak_retrieval", (), (), coverage)
