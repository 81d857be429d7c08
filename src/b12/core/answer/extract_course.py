"""Slots about treatment in progress and the question's form (step 2 of the pipeline, part 2).

``extract.py`` reads the patient (population, neurological status, labs, age); this module
reads what the question says about treatment that is given or proposed, and how it asks:

* ``dose_ug`` — a dose with a unit ("1 mg", "1000 mcg"), in micrograms;
* ``events`` — course events (``criteria`` ``event`` codes): symptoms back before the next dose,
  new neurological symptoms on treatment, cause dealt with, no improvement on oral treatment,
  no further improvement; ``timing`` ``overdue`` for a late or missed dose; ``order_timing``
  ``early`` / ``late``; ``phase_kinds`` (loading, maintenance) named in the question;
* ``site`` — an injection site (``criteria`` ``order_site`` codes: "buttock" → dorsogluteal);
* ``folic`` — folic acid named as given or to give, and whether B12 is given with it;
* ``screening`` — the question asks whether to test ("should I check B12 in …");
* ``form`` — ``yesno``, ``how_often``, ``how_much``, ``when``, ``what_check``, ``is_safe``,
  ``should_stop``, ``switch`` or ``None``; ``asks_harm`` when a "yes" would mean a concern
  ("is that toxic?", "should I stop?").

None of these is ever defaulted: a slot the question does not fill stays empty (unknown).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from itertools import pairwise
from typing import TYPE_CHECKING

from b12.core.answer.lexicon import (
    B12_LATER_NAMES,
    DOSE_UG,
    EARLY_WORDS,
    EVENTS,
    FOLIC,
    FOLIC_ALONE,
    FOLIC_WITH,
    FORMS,
    LATE_WORDS,
    LATER_WORDS,
    NEURO_WORDS,
    NEW_WORDS,
    PHASE_WORDS,
    PROPOSAL_VERBS,
    SITE_WORDS,
    UNIT_DAYS,
    VALUE_NOUNS,
    WH_WORDS,
    YESNO_LEADS,
    YESNO_PAIRS,
    YESNO_TAILS,
    Phrase,
)
from b12.core.answer.match import find, has, hits, negated, number
from b12.core.answer.normalise import BOUNDARIES, tokenise

#: A short last clause led by one of these asks whether to change something ("higher dose?").
COMPARATIVES = frozenset(
    {"higher", "lower", "more", "less", "shorter", "longer", "bigger", "smaller", "extra"}
)
#: A dash between spaces separates clauses ("after 6 months - is that toxic?").
_DASH = re.compile(r"\s[-\u2013\u2014]+\s")

#: Named word lists (``answering.yaml`` ``vocabulary``), as phrases of normalised tokens.
Words = Mapping[str, tuple[Phrase, ...]]

if TYPE_CHECKING:
    from b12.core.answer.extract import Slots


#: Words after which a dose is folic acid's ("folic acid 5mg").
FOLIC_NAMES = frozenset({"folic", "acid", "folate"})
#: Micrograms in a gram.
GRAM_UG = 1_000_000.0
#: Product words a dose in grams must follow ("hydroxocobalamin 1 g").
B12_NAMES = frozenset(
    {"hydroxocobalamin", "cyanocobalamin", "methylcobalamin", "b12", "cobalamin", "cytamen"}
)


#: Words right before a dose that may stand there in a B12 order though not common English.
DOSE_LEADS = frozenset({"intramuscular", "subcutaneous", "im", "sc", "po", "oral", "iv"})


def _dose(
    tokens: Sequence[str],
    slots: Slots,
    others: frozenset[str] = frozenset(),
    common: frozenset[str] = frozenset(),
) -> None:
    """The B12 dose told (micrograms): not a dose right after folic acid or another
    medicine ("omeprazole 20mg"), nor right after a word that names something else (neither
    a common English word nor a B12 word: "levothyroxine 75mcg"), nor grams unless right
    after a B12 product."""

    for j, tok in enumerate(tokens[:-1]):
        factor = DOSE_UG.get(tokens[j + 1])
        value = number(tok) if tok[:1].isdigit() else None
        if (
            factor is not None
            and factor >= GRAM_UG
            and not set(tokens[max(0, j - 3) : j]) & B12_NAMES
        ):
            continue  # "metformin 2g": grams are a B12 dose only right after a B12 product
        before = set(tokens[max(0, j - 3) : j])
        if factor is not None and before & (FOLIC_NAMES | others) and not before & B12_NAMES:
            continue  # "folic acid 5mg", "omeprazole 20mg": another medicine's dose
        lead = tokens[j - 1] if j > 0 else ""
        if (
            factor is not None
            and common
            and lead.isalpha()
            and len(lead) > 3
            and lead not in common | B12_NAMES | DOSE_LEADS
        ):
            continue  # "levothyroxine 75mcg": a medicine the knowledge base does not name
        if factor is not None and value is not None and value > 0:
            slots.dose_ug = round(value * factor, 3)
            return


#: Words of injected treatment after "onto"/"to" ("moving her onto injections").
_INJECTED = frozenset(
    {"injection", "injections", "jab", "jabs", "shot", "shots", "intramuscular", "im"}
)


def _towards_injections(tokens: Sequence[str]) -> bool:
    """The question moves the patient onto injections ("onto injections", "to IM")."""
    return any(
        tok in ("onto", "to", "into") and set(tokens[i + 1 : i + 3]) & _INJECTED
        for i, tok in enumerate(tokens)
    )


def _told_events(tokens: Sequence[str], slots: Slots) -> None:
    """The course events the question tells in their own words (``EVENTS``)."""
    unwell = _feels_unwell(tokens, slots)
    for code, table in EVENTS:
        if code == "symptoms_returned_before_due" and not unwell:
            continue  # "check my level before the next one": no symptom is told
        if has(tokens, table) and code not in slots.events:
            slots.events.append(code)


def _events(tokens: Sequence[str], slots: Slots, words: Words) -> None:
    _told_events(tokens, slots)
    if has(tokens, words["not_improving"]) or _negated_improving(tokens, words["improving"]):
        # "not helping, switch to IM?", "still low - move her onto injections?"
        moving_to_im = slots.route_preference == "im" or _towards_injections(tokens)
        if "oral" in slots.routes and ("im" not in slots.routes or moving_to_im):
            slots.events.append("oral_not_improving")
            # "…, move her onto injections?" proposes the change the advice allows.
            slots.proposes_change = slots.proposes_change or moving_to_im
        elif "loading" in slots.phase_kinds:
            slots.events.append("symptoms_returned_before_due")
    if slots.neuro and slots.on_treatment and _new_symptom(tokens):
        slots.events.append("new_neuro_symptoms")
    since = since_last(tokens)
    overdue = since is not None and slots.interval_days is not None and since > slots.interval_days
    # "had 3 of her 6 loading jabs, then was away 10 days": a loading course interrupted
    gap = "loading" in slots.phase_kinds and (bool(set(tokens) & GAP_WORDS) or _went_away(tokens))
    if _chosen(tokens, LATE_WORDS) or overdue or (gap and not _chosen(tokens, EARLY_WORDS)):
        # "late", "missed", or "last jab 5 months ago (meant to be 3 monthly)"
        slots.timing = "overdue"
        slots.order_timing = "late"
    elif _chosen(tokens, EARLY_WORDS):
        slots.order_timing = "early"
    elif any(
        tuple(tokens[i : i + 2]) == ("due", "in") and tokens[i + 2] != "the"
        for i in range(len(tokens) - 2)
    ):
        slots.timing = "not_yet_due"  # "next one due in 2 weeks"
    if _back_at_a_time(tokens) and "symptoms_returned_before_due" not in slots.events:
        slots.events.append("symptoms_returned_before_due")  # "comes back at 5 to 6 wks"
    if (
        "symptoms_returned_before_due" in slots.events
        and bool(set(tokens) & SYMPTOM_WORDS)
        and slots.interval_days is not None
        and slots.interval_days >= MAINTENANCE_MIN_DAYS
        and not slots.phase_kinds
    ):
        # "tiredness back at 6 weeks on her 12-weekly hydroxo": a long-term course.
        slots.phase_kinds.append("maintenance")
        slots.on_treatment = True
    slots.events = sorted(set(slots.events))


#: Words of feeling unwell besides the symptoms themselves ("feel rubbish before my next").
FEEL_WORDS = frozenset(
    {"feel", "feels", "feeling", "felt", "worse", "unwell", "rubbish", "awful", "terrible"}
    | {"struggling", "struggle", "crash", "crashing", "dip", "dragging", "sluggish", "weak"}
    | {"lethargic", "lethargy", "weakness", "breathless", "pins", "needles", "symptom", "down"}
    | {"wears", "wearing", "wear", "off", "foggy", "brain", "sore", "tongue", "low"}
    | {"symptomatic", "knackered", "flagging", "tired"}
)


def _feels_unwell(tokens: Sequence[str], slots: Slots) -> bool:
    """The question tells a symptom or feeling unwell (so a phrase like "before the next"
    can tell symptoms that came back early)."""
    return bool(slots.neuro or set(tokens) & (SYMPTOM_WORDS | FEEL_WORDS))


#: An interval at least this long, with symptoms back before the dose, is a long-term course.
MAINTENANCE_MIN_DAYS = 28
#: Words of the symptoms that come back before a dose is due.
SYMPTOM_WORDS = frozenset(
    {"tired", "tiredness", "fatigue", "fatigued", "exhausted", "exhaustion", "shattered"}
    | {"knackered", "fog", "foggy", "flagging", "symptoms", "tingling", "tingly", "drained"}
    | {"wiped", "numb", "numbness", "exhaustion"}
)
_WEEK_UNITS = frozenset({"week", "weeks", "wk", "wks", "month", "months"})


def _back_at_a_time(tokens: Sequence[str]) -> bool:
    """ "the tiredness comes back at 5 to 6 wks": symptoms back at a point of the interval
    (not "B12 came back at 1200", a result)."""
    symptoms = bool(set(tokens) & SYMPTOM_WORDS)
    for i, tok in enumerate(tokens[:-2]):
        if tok in ("week", "weeks", "wk", "wks") and tokens[i + 1] == "before" and symptoms:
            return True  # "wiped out for the 2-3 wks before", "numb the last week before"
        if tok in ("from", "after") and tokens[i + 1] in ("about", "around", "week", "wk"):
            window = tokens[i + 1 : i + 4]
            if set(window) & _WEEK_UNITS and any(t[:1].isdigit() for t in window) and symptoms:
                return True  # "come back from about wk 8"
        if tok != "back" or tokens[i + 1] not in ("at", "by", "around", "about"):
            continue
        window = tokens[i + 2 : i + 6]
        if any(t[:1].isdigit() for t in window) and set(window) & _WEEK_UNITS:
            return symptoms
    return False


#: Words before a timing that make it the alternative not taken ("early instead of late").
_NOT_TAKEN = (("instead", "of"), ("rather", "than"))


def _chosen(tokens: Sequence[str], words: frozenset[str]) -> bool:
    """A word of ``words`` the question uses for what happens, not as the alternative it
    turns down ("a week early instead of late": early, not late)."""
    return any(
        tok in words
        and tuple(tokens[max(0, i - 2) : i]) not in _NOT_TAKEN
        and tuple(tokens[i + 1 : i + 2]) not in _NOT_TIMING
        for i, tok in enumerate(tokens)
    )


#: After "early"/"late": a stage of an illness or of life, not the timing of a dose ("early
#: dementia", "late pregnancy").
_NOT_TIMING = frozenset(
    (w,)
    for w in (
        "dementia",
        "alzheimers",
        "alzheimer's",
        "stage",
        "stages",
        "signs",
        "sign",
        "onset",
        "pregnancy",
        "menopause",
        "teens",
        "twenties",
        "thirties",
        "forties",
        "fifties",
        "sixties",
        "seventies",
        "eighties",
    )
)


#: "5/12 ago", "6/52 ago": months and weeks written as clinicians do.
_FRACTION_DAYS = {"12": 30.44, "52": 7.0}
#: How far after "last" the time since the last dose may be told.
LAST_REACH = 5


#: Words of a stretch without doses during a loading course (away, in hospital, an illness
#: that kept the patient from the surgery).
GAP_WORDS = frozenset(
    {
        "away",
        "holiday",
        "vacation",
        "abroad",
        "trip",
        "hospital",
        "admitted",
        "readmitted",
        "ama",
        "gap",
        "break",
        "poorly",
        "flu",
        "covid",
        "bug",
        "infection",
        "pneumonia",
    }
)
#: Words of leaving ("went to pakistan", "flew to india"): a stretch away unless the place is
#: where the dose is given ("went to the surgery for my 4th jab").
_LEFT = frozenset({"went", "flew", "gone", "travelled", "traveled", "visiting", "visited"})
_DOSE_PLACES = frozenset(
    {"surgery", "gp", "gps", "clinic", "pharmacy", "pharmacist", "nurse", "doctor", "doctors"}
)


def _went_away(tokens: Sequence[str]) -> bool:
    """ "then went to pakistan for 3/52", "flew to india": the patient left for somewhere that
    is not where doses are given."""
    for i, tok in enumerate(tokens):
        if tok not in _LEFT:
            continue
        place = [t for t in tokens[i + 1 : i + 4] if t not in ("to", "the", "my", "her", "his")]
        if place and place[0] not in _DOSE_PLACES:
            return True
    return False


def _since_told(tokens: Sequence[str]) -> float | None:
    """ "14 wks since her last one": a time, then "since" and "last" within a few words."""
    for j in range(len(tokens) - 2):
        value = number(tokens[j]) if tokens[j][:1].isdigit() else None
        unit = tokens[j + 1]
        if value is None or unit not in UNIT_DAYS or tokens[j + 2] != "since":
            continue
        if "last" in tokens[j + 3 : j + 3 + 3]:
            return value * UNIT_DAYS[unit]
    return None


def since_last(tokens: Sequence[str]) -> float | None:
    """Days since the last dose, when the question tells it ("last jab 5 months ago",
    "last maint hydroxo 5/12 ago", "last dose 14 weeks ago", "14 weeks since her last")."""
    told = _since_told(tokens)
    if told is not None:
        return told
    for i, tok in enumerate(tokens):
        if tok != "last":
            continue
        window = tokens[i + 1 : i + 1 + LAST_REACH + 3]
        for j in range(len(window) - 2):
            value = number(window[j]) if window[j][:1].isdigit() else None
            if value is None:
                continue
            unit, then = window[j + 1], window[j + 2]
            if unit in UNIT_DAYS and then == "ago":
                return value * UNIT_DAYS[unit]
            if unit in _FRACTION_DAYS and then == "ago":
                return value * _FRACTION_DAYS[unit]
    return None


#: How near a neurological word a word of newness must stand ("new tingling", "numb again").
NEW_REACH = 3


def _new_symptom(tokens: Sequence[str]) -> bool:
    """A neurological symptom told as new ("new pins and needles", "tingling started again"),
    not a "now" elsewhere in the question ("after neuro involvement - 3 monthly now?")."""
    for start, end, _ in hits(tokens, NEURO_WORDS):
        lo = max(0, start - NEW_REACH)
        for j, tok in enumerate(tokens[lo : end + NEW_REACH], lo):
            if tok not in NEW_WORDS:
                continue
            if tok == "now" and tokens[j + 1 : j + 2] and tokens[j + 1] in TREATMENT_STATE:
                continue  # "neuro pt now on 3 monthly hydroxo": the treatment, not a symptom
            return True
    return False


#: After "now", words that tell the current treatment ("now on", "now taking").
TREATMENT_STATE = frozenset({"on", "taking", "having", "receiving", "getting"})


def _negated_improving(tokens: Sequence[str], improving: Sequence[Phrase]) -> bool:
    """ "do not seem to be making a difference": a word of improvement, negated."""
    return any(negated(tokens, i, i + len(p)) for p in improving for i in find(tokens, p))


#: How far before a phase word a word of starting again is looked for.
RESTART_WINDOW = 4


#: The UK loading course counted in doses ("had 4 of the 6"): six.
_LOADING_COUNT = frozenset({"6", "six"})


def _of_the_six(tokens: Sequence[str]) -> bool:
    """ "had 4 of the 6", "3 of 6 jabs": doses counted out of the six-dose loading course
    (not "2 of 6 months")."""
    for i, tok in enumerate(tokens[1:-1], start=1):
        if tok != "of" or not (tokens[i - 1][:1].isdigit() or tokens[i - 1] in _SMALL):
            continue
        k = i + 2 if tokens[i + 1] == "the" else i + 1
        counted = k < len(tokens) and tokens[k] in _LOADING_COUNT
        if counted and (k + 1 >= len(tokens) or tokens[k + 1] not in UNIT_DAYS):
            return True
    return False


_SMALL = frozenset({"one", "two", "three", "four", "five"})
_FIRST_SPAN = frozenset({"day", "days", "week", "hours", "48", "24", "72", "few", "couple"})
_STARTING = frozenset({"start", "starting", "started", "starts", "begin", "beginning"})


def _first_days(tokens: Sequence[str]) -> bool:
    """ "starting injections tomorrow - what to watch in the first couple of days?": the first
    days of a course that starts (the loading course)."""
    first = any(
        tok == "first" and set(tokens[i + 1 : i + 4]) & _FIRST_SPAN for i, tok in enumerate(tokens)
    )
    return first and bool(set(tokens) & _STARTING)


def _phases(tokens: Sequence[str], slots: Slots, words: Words) -> None:
    """The phases the question says the course is in.  A phase named as something to start
    again ("do I have to start the loading ones all over again?", "restart loading?") is what
    the question asks about, not the phase the patient is in."""
    again = {w for phrase in words.get("phase_again", ()) for w in phrase}
    if (_of_the_six(tokens) or _first_days(tokens)) and "loading" not in slots.phase_kinds:
        # "had 4 of the 6", "3 of 6 jabs"; "starting injections tomorrow - which labs in the
        # first couple of days?"
        slots.phase_kinds.append("loading")
    for start, end, kind in hits(tokens, PHASE_WORDS):
        near = set(tokens[max(0, start - RESTART_WINDOW) : end + RESTART_WINDOW])
        if near & again:
            continue
        if kind not in slots.phase_kinds:
            slots.phase_kinds.append(kind)


def _site(tokens: Sequence[str], slots: Slots) -> None:
    found = [site for _, _, site in hits(tokens, SITE_WORDS)]
    if "dorsogluteal" in found:
        slots.site = "dorsogluteal"  # the one site with a caution, when several are compared
    elif found:
        slots.site = found[0]


def _folic(tokens: Sequence[str], slots: Slots) -> None:

    if not has(tokens, FOLIC):
        return
    slots.folic = True
    if has(tokens, FOLIC_ALONE) or _b12_later(tokens):
        slots.b12_cover = False
    elif has(tokens, FOLIC_WITH):
        slots.b12_cover = True


def _b12_later(tokens: Sequence[str]) -> bool:
    """B12 named with a word that puts it off ("the B12 shots next week")."""
    for p in LATER_WORDS:
        for i in find(tokens, p):
            if set(tokens[max(0, i - 4) : i]) & B12_LATER_NAMES:
                return True
    return False


def _clauses(tokens: Sequence[str]) -> list[list[str]]:
    out: list[list[str]] = [[]]
    for tok in tokens:
        if tok in BOUNDARIES or tok == "-":
            if out[-1]:
                out.append([])
        else:
            out[-1].append(tok)
    return [c for c in out if c]


#: A last part opening with one of these asks whether something is right ("right interval?").
JUDGEMENT_WORDS = frozenset(
    {"right", "correct", "appropriate", "reasonable", "adequate", "sensible", "acceptable"}
)
#: After "or", words of waiting, leaving as it is, or testing again.
NOT_YET = frozenset({"wait", "leave", "repeat", "retest", "recheck", "hold", "delay", "keep"})


def _a_part_asks_yes_no(tokens: Sequence[str], clauses: Sequence[Sequence[str]]) -> bool:
    """A part of the question asks for a yes or a no whatever the rest says."""
    last = clauses[-1]
    asked = "?" in tokens
    if asked and set(last) <= YESNO_TAILS | {"reasonable", "appropriate", "sensible"}:
        return True  # "… when the nurse is in - ok?": the last part asks, whatever came before
    if asked and last[0] in JUDGEMENT_WORDS and not set(last) & WH_WORDS:
        return True  # "… - right interval?", "correct dose?"
    if asked and any(c[0] in PROPOSAL_VERBS and len(c) <= 3 for c in clauses):
        return True  # "Reload? And how urgently?": one part asks whether to do it
    # "hydroxo subcut instead of IM?": whether to do it that way
    return "instead" in last and not set(tokens) & WH_WORDS


#: Words that open a clause without changing what it asks ("just carry on …?").
CLAUSE_OPENERS = frozenset({"just", "so", "then", "and", "or", "but"})
#: Written marks of a yes/no question ("deficient y/n", "yes/no?").
YESNO_MARKS = (("y", "n"), ("yes", "no"), ("yes", "or", "no"), ("or", "no"))


def _marked_yes_no(tokens: Sequence[str]) -> bool:
    """The question ends with a written yes/no mark ("MMA 620, deficient y/n")."""
    words = [t for t in tokens if t not in BOUNDARIES and t != "/"]
    return any(tuple(words[-len(m) :]) == m for m in YESNO_MARKS)


def _question_clauses(folded: str) -> list[list[str]]:
    """The question's clauses, each without an opening word that changes nothing."""
    clauses = [c for part in _DASH.split(folded) for c in _clauses(tokenise(part))]
    return [c[1:] if len(c) > 1 and c[0] in CLAUSE_OPENERS else c for c in clauses]


#: A request to confirm what is planned ("just checking we carry on the same", "want to make
#: sure that's right"): it asks for a yes or a no, even without a question mark.
CONFIRM_ASKS = (
    ("just", "checking"),
    ("checking", "that"),
    ("checking", "we"),
    ("want", "to", "check"),
    ("wanted", "to", "check"),
    ("make", "sure"),
    ("can", "you", "confirm"),
    ("please", "confirm"),
)


def _asks_confirmation(tokens: Sequence[str]) -> bool:
    """A request to confirm, with no "what/how/when …" asked."""
    if set(tokens) & WH_WORDS:
        return False
    return has(tokens, CONFIRM_ASKS)


def _is_yes_no(tokens: Sequence[str], folded: str) -> bool:
    if _asks_confirmation(tokens) or _marked_yes_no(tokens):
        return True
    clauses = _question_clauses(folded)
    if not clauses:
        return False
    if any(c[0] in YESNO_LEADS for c in clauses):
        return True
    if any(c[0] in YESNO_TAILS and c[1:2] == ["to"] for c in clauses):
        return True  # "ok to give the next dose?", "safe to switch to oral instead?"
    last = clauses[-1]
    if _a_part_asks_yes_no(tokens, clauses):
        return True
    if (
        len(clauses) > 1
        and "?" in tokens
        and not set(last) & WH_WORDS
        and (last[0] in PROPOSAL_VERBS or last[0] in ("need", "needs", "worth"))
        and set(clauses[-2]) & WH_WORDS
    ):
        return True  # "b12 260 - what does that mean, need to treat?": the last part asks
    # "who" and "which" ask only at the start of a clause ("for a pt who had SACD - ok?",
    # "an MMA which came back high - deficient or not?" do not).
    asking = {c[0] for c in clauses} | (set(tokens) - {"who", "which"})
    if asking & WH_WORDS:
        return False
    if any((a, b) in YESNO_PAIRS for a, b in pairwise(tokens)):
        return True  # "…needles do i really need jabs or can i have tablets"
    if "or" in tokens:
        return _or_asks_yes_no(tokens)
    if last[-1] in YESNO_TAILS or ("?" in tokens and last[0] in PROPOSAL_VERBS):
        return True
    if "?" in tokens and last[0] in COMPARATIVES and len(last) <= 3:
        return True  # "…, higher dose?", "more often?": whether to change it
    # "…, loading regime?" asks for a value; "…, intradermal test dose before the next one?"
    # names a procedure (a test dose), and asks whether to do it.
    values = [w for i, w in enumerate(last) if w in VALUE_NOUNS and last[i - 1 : i] != ["test"]]
    return "?" in tokens and not values


def _or_asks_yes_no(tokens: Sequence[str]) -> bool:
    """A question with "or" asks for a yes or a no when its other branch is not doing it."""
    joined = f" {' '.join(tokens)} "
    if " or ok " in joined or " or not " in joined:
        return True  # "query with GP or ok?", "treat or not?"
    # "definite def or repeat it?", "treat now or wait?", "reduce or leave it?", "X ok, or Y
    # only?": whether to do the first thing (the other is to wait, test again or keep to the
    # usual); "tablets or jabs?" and "admit or treat?" are choices.
    after = [tokens[i + 1] for i, t in enumerate(tokens[:-1]) if t == "or"]
    first = tokens[: tokens.index("or")]
    return (
        any(w in NOT_YET or w in YESNO_LEADS for w in after)  # "…, or is oral fine?"
        or bool(set(first) & YESNO_TAILS)
    )


def _asks_harm(tokens: Sequence[str], words: Words) -> bool:
    """A word of harm, outside the phrases that use one to mean prevention ("jabs to stop it
    dropping": ``vocabulary.harm_not``)."""
    spared: set[int] = set()
    for phrase in words["harm_not"]:
        for i in find(tokens, phrase):
            spared.update(range(i, i + len(phrase)))
    return _start_again(tokens) or any(
        not spared & set(range(i, i + len(cue)))
        for cue in words["harm_cues"]
        for i in find(tokens, cue)
    )


#: How far after "start" its "again" or "over" may be told ("start the 6 again").
AGAIN_REACH = 4


def _start_again(tokens: Sequence[str]) -> bool:
    """ "do we start the 6 again?", "start her loading over": starting again asked about."""
    for i, tok in enumerate(tokens):
        if tok not in ("start", "begin", "redo") or tokens[i + 1 : i + 2] in (
            ("again",),
            ("over",),
        ):
            continue
        for j in range(i + 2, min(len(tokens), i + 2 + AGAIN_REACH)):
            if tokens[j] == "again" or (tokens[j] == "over" and tokens[j + 1 : j + 2] != ("the",)):
                return True  # (not "start some over the counter b12")
    return False


def _form(tokens: Sequence[str], folded: str, slots: Slots, words: Words) -> None:
    slots.asks_harm = _asks_harm(tokens, words)
    if _is_yes_no(tokens, folded):
        slots.form = "yesno"
        return
    forms = asked_forms(tokens)
    if forms:
        slots.form = forms[0]


def asked_forms(tokens: Sequence[str]) -> list[str]:
    """Every form the question's words ask in, the leading one first ("switch … how often").

    "When" is read last (it is also a conjunction: "how safe … when breastfeeding"), except
    when it opens a clause ("when is the next dose due?", "stable - when is the next dose?"):
    then the question asks for a date, and that form leads.
    """
    forms = [
        form
        for form, table in FORMS
        if any(not _surgery_name(tokens, i) for p in table for i in find(tokens, p))
    ]
    if "how_much?" in forms:
        # A bare "dose" (``how_much?``) asks for an amount when it ends the question ("switch
        # to cyano - dose?") or when nothing else is asked ("first dose today - what to
        # watch for?" asks about safety).
        at = forms.index("how_much?")
        forms.remove("how_much?")
        ends = any(tuple(tokens[i + 1 : i + 2]) in ((), ("?",)) for i in find(tokens, ("dose",)))
        if ends and "how_much" not in forms:
            forms.insert(at, "how_much")
        elif not forms:
            forms.append("how_much")
    if "when" in forms and leads_with_when(tokens):
        forms.remove("when")
        forms.insert(0, "when")
    return forms


#: After "when", these words make it a question ("when is …", "when should …"), not a
#: conjunction ("… when breastfeeding").
WHEN_ASKS = frozenset(
    {
        "is",
        "are",
        "was",
        "do",
        "does",
        "did",
        "should",
        "shall",
        "can",
        "could",
        "will",
        "would",
        "must",
        "to",
        "'s",
        "s",
    }
)


def leads_with_when(tokens: Sequence[str]) -> bool:
    """The question asks "when …?" or "how soon …?" (a date or a time), not "… when …"."""
    for i, tok in enumerate(tokens):
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        if tok == "when" and (nxt in WHEN_ASKS or i == 0):
            return True
        if tok == "how" and nxt == "soon":
            return True
    return False


def _surgery_name(tokens: Sequence[str], i: int) -> bool:
    """ "duodenal switch" names an operation, not a switch of treatment."""
    return tokens[i] == "switch" and i > 0 and tokens[i - 1] == "duodenal"


def extract_course(
    tokens: Sequence[str],
    folded: str,
    slots: Slots,
    words: Words,
    common: frozenset[str] = frozenset(),
) -> None:
    """Fill the treatment, course and form slots (see the module docstring)."""

    _dose(tokens, slots, frozenset(p[0] for p in words.get("_other_medicines", ())), common)
    _phases(tokens, slots, words)
    _events(tokens, slots, words)
    _folic(tokens, slots)
    _site(tokens, slots)
    slots.asks_wait = has(tokens, words.get("asks_wait", ()))
    slots.asks_precaution = has(tokens, words.get("asks_precaution", ()))
    slots.asks_possible = has(tokens, words.get("asks_possible", ()))
    if has(tokens, words.get("last_dose_told", ())):
        # "last jab was in March": the last dose is on record, unless "no record of when".
        unknown = has(tokens, words.get("last_dose_unknown", ()))
        slots.last_dose = "unknown" if unknown else "told"
    slots.about_lifelong = has(tokens, words["lifelong"])
    slots.folate_low = has(tokens, words["folate_low"])
    slots.screening = has(tokens, words["screening"])
    slots.course_well = has(tokens, words.get("course_well", ()))
    _form(tokens, folded, slots, words)


def _asking_positions(tokens: Sequence[str]) -> set[int]:
    """Positions of the words in clauses that end with a question mark ("on hydroxo for life
    - is the interval right?": "for life" is told, not asked)."""
    out: set[int] = set()
    start = 0
    for i, tok in enumerate(tokens):
        if tok in BOUNDARIES:
            if tok == "?":
                out.update(range(start, i))
            start = i + 1
    return out


#: Pronouns before a word ending "-ing" after "stop": prevention ("stop it dropping", "stop
#: her going low"), not stopping treatment.
_PREVENTED = frozenset({"it", "her", "him", "me", "you", "us", "levels", "b12"})


#: Words after "stop …" that make it a switch ("come off IM onto oral tabs").
_SWITCH_AFTER = frozenset({"onto", "oral", "tablets", "tabs", "sublingual", "spray", "instead"})


#: Words that ask what to do with a medicine ("stop the metformin?", "what to do about the
#: omeprazole").
_MEDICINE_ASKED = frozenset(
    {"stop", "stopping", "stopped", "reduce", "reducing", "swap", "change", "about", "continue"}
    | {"deprescribe", "deprescribing", "withdraw", "hold", "off"}
)


def _asks_medicine(tokens: Sequence[str], medicines: frozenset[str]) -> bool:
    """The question asks what to do with another medicine the patient takes ("should we stop
    the metformin?", "GP asking what to do about the metformin")."""
    for i, tok in enumerate(tokens):
        if tok not in _MEDICINE_ASKED:
            continue
        after = [t for t in tokens[i + 1 : i + 4] if t not in _DETERMINERS]
        if after and after[0] in medicines:
            return True
    return False


_DETERMINERS = frozenset({"the", "her", "his", "their", "my", "your", "that", "this"})


def stopping(tokens: Sequence[str], slots: Slots, words: Words, high: bool) -> None:
    """Whether to stop B12 treatment is asked: the course event ``stopping_considered`` (so
    that "treatment is lifelong for a cause that cannot be reversed" holds), and
    ``proposes_stop`` when stopping is what is asked first.  Not for a switch, and not when a
    high B12 level is told (``high``): then the level is what the question is about."""
    others = frozenset(p[0] for p in words.get("_other_medicines", ())) | {"folic", "folate"}
    # (not a medicine already stopped: "I've now come off metformin completely")
    slots.asks_medicine = "cause_resolved" not in slots.events and _asks_medicine(
        tokens, others - {"folic", "folate"}
    )
    if slots.switching or slots.form == "switch" or high:
        return
    stop_at = []
    for phrase in words.get("stopping_asked", ()):
        for i in find(tokens, phrase):
            after = tokens[i + len(phrase) : i + len(phrase) + 3]
            if set(after) & others:
                continue  # "stop the metformin"
            if set(tokens[i : i + len(phrase) + 6]) & _SWITCH_AFTER:
                return  # "come off IM hydroxo onto oral tabs"
            if after[:1] and after[0] in _PREVENTED and any(t.endswith("ing") for t in after[1:]):
                continue  # "to stop it dropping"
            stop_at.append(i)
    asked = _asking_positions(tokens)
    life_at = [i for phrase in words["lifelong"] for i in find(tokens, phrase) if i in asked]
    if not stop_at:
        return
    slots.proposes_stop = bool(stop_at) and (not life_at or min(stop_at) <= min(life_at))
    if slots.proposes_stop and "stopping_considered" not in slots.events:
        slots.events = sorted({*slots.events, "stopping_considered"})
    slots.fears_stopping = slots.proposes_stop and has(tokens, words.get("stopping_feared", ()))
