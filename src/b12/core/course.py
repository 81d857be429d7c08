"""Where a patient is in a regimen, given the doses actually given (PRODUCT.md §5, C4).

Conventions:
* Intervals run from the last dose actually given.
* Fixed-length phases end by dose count (a late loading dose does not shorten the loading
  course): the count is the phase's ``count``, or the doses its ``for_days`` holds on schedule.
* An open-ended phase (``until`` an event) ends only when that event is recorded after the
  phase began; it is never ended automatically.
* The due window is [last + shortest interval, last + longest interval]; for a fixed interval
  the window is a single day; three-times-a-week doses are due on the next clinic day.

Courses that begin part-way (PRODUCT.md §9, issue 13).  The walk above assumes the record starts
with the course.  :func:`read_course` says how the phase was read, and which:

* ``declared`` — the caller states the course (:class:`Declaration`): on maintenance since a
  date, loading completed on a date, or a neurological course ended on a date, with the
  patient's maintenance interval when known;
* ``recorded`` — the walk from the first recorded dose agrees with the record;
* ``inferred`` — the walk is contradicted (a pause of four weeks or more inside what it counts
  as loading), and the record is unambiguous: doses at least four weeks apart with no
  loading-pattern doses are maintenance at the observed interval; a loading-pattern run (doses at
  most a few days apart) followed by such doses is a loading course then maintenance;
* ``ambiguous`` — the record fits more than one reading (a single dose long ago, a pause in an
  open-ended loading phase, loading-pattern doses after maintenance began, irregular spacing).
  The position is the walk's (the conservative reading: due now) and the caller is warned.

A declared or inferred maintenance interval (the patient's) dates the next dose inside the
regimen's window; a shorter one is kept (an early dose does no harm); a longer one is never
followed: the regimen's window is used and the caller is warned.  The gap thresholds are
knowledge-base parameters (``course_loading_gap_max_days``, ``course_maintenance_gap_min_days``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from datetime import date as Date
from itertools import pairwise
from typing import TYPE_CHECKING, Literal

from b12.core import criteria
from b12.core.dates import add_days, add_months, next_weekday_on_or_after, weekday_indexes
from b12.core.knowledge import (
    AdviceAction,
    DecisionAction,
    KnowledgeBase,
    Phase,
    Recommendation,
    Regimen,
)
from b12.core.picture import ClinicalPicture, picture_facts, with_facts
from b12.core.plan import PlanOptions, Selection, select_pathway

if TYPE_CHECKING:
    from b12.core.course_input import Dose, EventIn


@dataclass(frozen=True, slots=True)
class Position:
    """The current phase and what has been given in it."""

    phase_index: int
    doses_in_phase: int
    last_dose: date | None
    phase_started: date | None

    def phase(self, regimen: Regimen) -> Phase:
        """The current phase."""
        return regimen.phases[self.phase_index]


@dataclass(frozen=True, slots=True)
class Due:
    """When the next dose is due: a suggested date and the acceptable window."""

    date: Date
    earliest: Date
    latest: Date
    continuous: bool = False


def expected_doses(phase: Phase) -> int | None:
    """How many doses a fixed-length phase holds; ``None`` for an open-ended phase."""
    if phase.count is not None:
        return phase.count
    if phase.for_days is None:
        return None
    if phase.times_per_week is not None:
        return max(1, phase.times_per_week * phase.for_days // 7)
    span = phase.every_days or phase.every_months
    assert span is not None
    # The fewest doses that fill the phase at its longest interval (every 3-4 days for 21 days:
    # 6), so a course given at the longer spacing is not told a dose is missing.
    days = span.max if phase.every_days is not None else span.max * 30
    return max(1, math.ceil(phase.for_days / days))


def _complete(
    phase: Phase,
    doses: int,
    started: date | None,
    end_events: Sequence[tuple[date, str]],
    before: date,
    *,
    inclusive: bool,
) -> bool:
    """Is the phase finished before ``before`` (or on it, when ``inclusive``)?

    An event recorded on the day of a dose counts as after that dose (it is recorded at the
    review that follows the injection).
    """
    expected = expected_doses(phase)
    if expected is not None:
        return doses >= expected
    if phase.until is None or started is None:
        return False
    return any(
        kind == phase.until and started <= day and (day <= before if inclusive else day < before)
        for day, kind in end_events
    )


def walk(
    regimen: Regimen, doses: Sequence[date], events: Sequence[tuple[date, str]], as_of: date
) -> tuple[Position, tuple[int, ...]]:
    """Walk the doses through the phases from the first one; also the phase of each dose."""
    index, count, started, last = 0, 0, None, None
    final = len(regimen.phases) - 1
    phases: list[int] = []
    for day in doses:
        while index < final and _complete(
            regimen.phases[index], count, started, events, day, inclusive=False
        ):
            index, count, started = index + 1, 0, None
        count += 1
        started = started or day
        last = day
        phases.append(index)
    while index < final and _complete(
        regimen.phases[index], count, started, events, as_of, inclusive=True
    ):
        index, count, started = index + 1, 0, None
    return Position(index, count, last, started), tuple(phases)


def locate(
    regimen: Regimen, doses: Sequence[date], events: Sequence[tuple[date, str]], as_of: date
) -> Position:
    """Walk the doses through the phases; ``events`` are (date, kind), sorted."""
    return walk(regimen, doses, events, as_of)[0]


def due_after(
    phase: Phase,
    last: date,
    weekdays: tuple[str, ...],
    *,
    shortest: bool = False,
    patient_months: int | None = None,
) -> Due:
    """The due date and window for the next dose of ``phase`` after a dose on ``last``.

    ``patient_months`` is the patient's own maintenance interval (declared or inferred): inside
    the phase's range it is the suggested date; shorter, it is the whole window; longer, it is
    ignored (the phase's window holds).
    """
    if not phase.list_each_dose:
        return Due(add_days(last, 1), add_days(last, 1), add_days(last, 1), continuous=True)
    if phase.times_per_week is not None:
        days = weekday_indexes(phase.weekdays or weekdays)
        day = next_weekday_on_or_after(add_days(last, 1), days)
        return Due(day, day, day)
    span = phase.every_months or phase.every_days
    assert span is not None
    step = add_months if phase.every_months is not None else add_days
    lo, hi = span.min, (span.min if shortest else span.max)
    pick = lo if phase.suggest == "earliest" or shortest else hi
    own = patient_months if phase.every_months is not None else None
    if own is not None and own < lo:
        return Due(step(last, own), step(last, own), step(last, own))
    if own is not None and own <= hi:
        pick = own
    return Due(step(last, pick), step(last, lo), step(last, hi))


# --- courses that begin part-way ------------------------------------------------------------

Stage = Literal["maintenance", "loading_completed", "neuro_course_completed"]
Basis = Literal["recorded", "declared", "inferred", "ambiguous"]


@dataclass(frozen=True, slots=True)
class Declaration:
    """A course stated by the caller: ``stage`` since ``since``, every ``every_months``."""

    stage: Stage
    since: date
    every_months: int | None = None


@dataclass(frozen=True, slots=True)
class Gaps:
    """Spacing thresholds: loading-pattern doses are at most ``loading_max`` days apart;
    maintenance-pattern doses at least ``maintenance_min`` days apart."""

    loading_max: int
    maintenance_min: int


@dataclass(frozen=True, slots=True)
class Reading:
    """How the course's phase was read, and from what.

    ``pattern`` names what was read: ``no_doses``, ``from_first_dose``, ``single_phase``,
    ``declared_<stage>``, ``spaced_doses``, ``loading_run_then_spaced``, or (ambiguous)
    ``single_dose_long_ago``, ``pause_in_open_loading``, ``incomplete_loading_run``,
    ``loading_after_spaced``, ``irregular_spacing``.
    """

    basis: Basis
    pattern: str
    loading_ended: date | None = None
    maintenance_since: date | None = None
    every_months: int | None = None
    doses_read: int = 0


def settled_index(regimen: Regimen) -> int:
    """The first phase after loading (maintenance or prophylaxis); the last phase if none."""
    return next(
        (i for i, p in enumerate(regimen.phases) if p.kind != "loading"), len(regimen.phases) - 1
    )


def months_between(first: date, second: date) -> int:
    """A gap in whole calendar months (a month counts as 30.44 days), at least 1."""
    return max(1, round((second - first).days / 30.44))


def read_course(
    regimen: Regimen,
    doses: Sequence[date],
    events: Sequence[tuple[date, str]],
    as_of: date,
    declared: Declaration | None,
    gaps: Gaps,
) -> tuple[Position, Reading]:
    """The course's position and how it was read (see the module docstring)."""
    position, phases = walk(regimen, doses, events, as_of)
    if declared is not None:
        return _declared(regimen, doses, declared)
    settled = settled_index(regimen)
    if not doses:
        return position, Reading("recorded", "no_doses")
    if settled == 0:
        return position, Reading("recorded", "single_phase", doses_read=len(doses))
    return _inferred(regimen, doses, position, phases, as_of, gaps)


def _declared(
    regimen: Regimen, doses: Sequence[date], declared: Declaration
) -> tuple[Position, Reading]:
    """Position the course in its settled phase from the declared date."""
    if declared.stage == "maintenance":
        inside = [d for d in doses if d >= declared.since]
        last = doses[-1] if doses else None
    else:  # the declared date is the last dose of the loading (or neurological) course
        inside = [d for d in doses if d > declared.since]
        last = max(doses[-1], declared.since) if doses else declared.since
    started = inside[0] if inside else declared.since
    position = Position(settled_index(regimen), len(inside), last, started)
    reading = Reading(
        "declared",
        f"declared_{declared.stage}",
        loading_ended=None if declared.stage == "maintenance" else declared.since,
        maintenance_since=declared.since if declared.stage == "maintenance" else started,
        every_months=declared.every_months,
        doses_read=len(doses),
    )
    return position, reading


def _inferred(
    regimen: Regimen,
    doses: Sequence[date],
    position: Position,
    phases: tuple[int, ...],
    as_of: date,
    gaps: Gaps,
) -> tuple[Position, Reading]:
    """Check the walk against the spacing of the doses; infer the phase where it is contradicted."""
    settled = settled_index(regimen)
    n = len(doses)
    spacing = [(b - a).days for a, b in pairwise(doses)]
    pauses = [i for i, g in enumerate(spacing) if g >= gaps.maintenance_min]
    contradicted = any(phases[i + 1] < settled for i in pauses)
    recorded = Reading("recorded", "from_first_dose", doses_read=n)
    if not contradicted:
        idle = (as_of - doses[-1]).days >= gaps.maintenance_min
        phase = regimen.phases[position.phase_index]
        if idle and position.phase_index < settled and (n == 1 or phase.until is not None):
            pattern = "single_dose_long_ago" if n == 1 else "pause_in_open_loading"
            return position, Reading("ambiguous", pattern, doses_read=n)
        return position, recorded
    first = pauses[0]
    run, rest = spacing[:first], spacing[first + 1 :]
    if any(g > gaps.loading_max for g in run):
        return position, Reading("ambiguous", "irregular_spacing", doses_read=n)
    is_run = first > 0
    if is_run and regimen.phases[phases[first]].until is None:
        # A fixed-length loading course would have been walked through in full: this run was
        # cut short, and whether the later doses restart it or maintain is not on record.
        return position, Reading("ambiguous", "incomplete_loading_run", doses_read=n)
    if any(g <= gaps.loading_max for g in rest):
        return position, Reading("ambiguous", "loading_after_spaced", doses_read=n)
    inside = list(doses[first + 1 :]) if is_run else list(doses)
    last_pause = pauses[-1]
    reading = Reading(
        "inferred",
        "loading_run_then_spaced" if is_run else "spaced_doses",
        loading_ended=doses[first] if is_run else None,
        maintenance_since=inside[0],
        every_months=months_between(doses[last_pause], doses[last_pause + 1]),
        doses_read=n,
    )
    return Position(settled, len(inside), doses[-1], inside[0]), reading


# --- the course as it stands: one model for the follow-up and the order check ----------------

TREATABLE = ("confirmed", "suspected", "indeterminate")
INJECTION_ROUTES = frozenset({"im", "deep_sc", "sc", "iv"})
ON_TREATMENT_MEDS = frozenset({"hydroxocobalamin", "cyanocobalamin"})
NEURO_PLACEHOLDER = "unspecified_neurological"
SETTLED_KINDS = ("maintenance", "prophylaxis")


def route_family(route: str) -> str:
    """``injection`` or ``oral`` (sublingual and intranasal count with oral)."""
    return "injection" if route in INJECTION_ROUTES else "oral"


@dataclass(frozen=True)
class Course:
    """The regimen being followed, from when, and with which adjustments."""

    picture: ClinicalPicture
    selection: Selection
    since: date | None = None
    shortened: bool = False


@dataclass(frozen=True)
class CourseState:
    """Where a course stands on a day: its regimen, position, how it was read, and the next dose."""

    course: Course
    regimen: Regimen | None
    applied: tuple[Recommendation, ...]
    position: Position | None
    reading: Reading | None
    due: Due | None
    declared: Declaration | None


def gaps_of(kb: KnowledgeBase) -> Gaps:
    """The spacing thresholds from the knowledge base's parameters."""
    return Gaps(
        int(kb.param("course_loading_gap_max_days")),
        int(kb.param("course_maintenance_gap_min_days")),
    )


def regimen_of(selection: Selection, kb: KnowledgeBase) -> Regimen | None:
    """The regimen a selected pathway follows (none unless the outcome is a plan)."""
    act = selection.decision.action
    assert isinstance(act, DecisionAction)
    return kb.regimens[act.regimen] if act.regimen and act.outcome == "plan" else None


def choose_course(
    picture: ClinicalPicture, given: Sequence[Dose], kb: KnowledgeBase, opts: PlanOptions
) -> Course:
    """The pathway of a course.  With doses on record the B12 medicines are shown by the doses,
    not the picture; the stated status is kept, and when none is stated the status is worked out
    from the picture's results exactly as ``plan`` does."""
    base = picture
    if given:
        meds = tuple(m for m in picture.medications if m not in ON_TREATMENT_MEDS)
        base = picture.model_copy(update={"medications": meds})
    classify = not given or picture.deficiency is None
    return Course(base, select_pathway(base, kb, opts, classify=classify))


def _with_neuro(course: Course) -> ClinicalPicture:
    picture = course.picture
    symptoms = picture.neuro_symptoms or (NEURO_PLACEHOLDER,)
    status = course.selection.deficiency or picture.deficiency
    deficiency = status if status in TREATABLE else "suspected"
    return picture.model_copy(update={"neuro_symptoms": symptoms, "deficiency": deficiency})


def match_family(course: Course, family: str, kb: KnowledgeBase, opts: PlanOptions) -> Course:
    """Follow the kind of route actually used (tablets or injections) where the pathway has a
    regimen for it; otherwise the course is unchanged."""
    regimen = regimen_of(course.selection, kb)
    if regimen is None or route_family(regimen.route) == family:
        return course
    prefs = course.picture.preferences.model_copy(
        update={"route": "oral" if family == "oral" else "im"}
    )
    picture = course.picture.model_copy(update={"preferences": prefs})
    candidate = Course(picture, select_pathway(picture, kb, opts, classify=False))
    matched = regimen_of(candidate.selection, kb)
    return candidate if matched is not None and route_family(matched.route) == family else course


def apply_effect(
    course: Course, effect: str, day: date, kb: KnowledgeBase, opts: PlanOptions
) -> Course:
    """A recorded event's declared effect on the course (content says which)."""
    if effect == "shorten_interval":
        return replace(course, shortened=True)
    picture = course.picture
    if effect == "switch_to_injection" and not (picture.neuro_symptoms or picture.severe_neuro):
        prefs = picture.preferences.model_copy(update={"route": "im"})
        picture = picture.model_copy(update={"preferences": prefs})
    else:
        picture = _with_neuro(course)
    return Course(picture, select_pathway(picture, kb, opts, classify=False), since=day)


def course_doses(course: Course, regimen: Regimen, given: Sequence[Dose]) -> list[date]:
    """Doses that belong to the course: since its start, by the regimen's kind of route."""
    family = route_family(regimen.route)
    return [
        d.date
        for d in given
        if (course.since is None or d.date >= course.since) and route_family(d.route) == family
    ]


def course_facts(
    course: Course,
    regimen: Regimen | None,
    phase_kind: str | None,
    events: frozenset[str],
    timing: str | None,
    history_route: str | None,
) -> criteria.Facts:
    """The facts the follow-up's rules see about the course."""
    sel = course.selection
    decision = sel.decision.action
    assert isinstance(decision, DecisionAction)
    scalars: dict[str, str | None] = {
        "pathway": decision.pathway,
        "timing": timing,
        "history_route": history_route,
    }
    until: frozenset[str] = frozenset()
    if regimen is not None:
        scalars.update(regimen_drug=regimen.drug, regimen_route=regimen.route)
        until = frozenset(p.until for p in regimen.phases if p.until)
    lists = {
        "event": events,
        "phase_kind": frozenset({phase_kind} if phase_kind else ()),
        "regimen_until": until,
    }
    return with_facts(picture_facts(course.picture, sel.deficiency), scalars, lists)


def reading_facts(facts: criteria.Facts, state: CourseState) -> criteria.Facts:
    """Add what the course reading says: ``course_basis``, the patient's interval
    (``course.interval_days``) and the flags ``last_dose_unknown`` and
    ``interval_beyond_regimen``."""
    reading, regimen, position = state.reading, state.regimen, state.position
    if reading is None or regimen is None or position is None:
        return facts
    numbers: dict[str, float] = {}
    flags: set[str] = set()
    own = reading.every_months if reading.basis in ("declared", "inferred") else None
    settled = regimen.phases[settled_index(regimen)]
    if own is not None:
        numbers["course.interval_days"] = round(own * 30.44, 2)
        if settled.every_months is not None and own > settled.every_months.max:
            flags.add("interval_beyond_regimen")
    if reading.basis == "declared" and position.last_dose is None:
        flags.add("last_dose_unknown")
    return with_facts(facts, {"course_basis": reading.basis}, None, numbers, frozenset(flags))


def _declaration_in_force(course: Course, declared: Declaration | None) -> Declaration | None:
    """A declaration holds until the course restarts after it (a reload from an event)."""
    if declared is None or (course.since is not None and course.since > declared.since):
        return None
    return declared


def _read(
    course: Course,
    kb: KnowledgeBase,
    given: Sequence[Dose],
    events: Sequence[tuple[date, str]],
    declared: Declaration | None,
    day: date,
) -> tuple[Regimen, Position, Reading] | None:
    regimen = regimen_of(course.selection, kb)
    if regimen is None:
        return None
    doses = course_doses(course, regimen, [d for d in given if d.date <= day])
    in_force = _declaration_in_force(course, declared)
    position, reading = read_course(regimen, doses, events, day, in_force, gaps_of(kb))
    return regimen, position, reading


def _replay(
    course: Course,
    given: Sequence[Dose],
    events: Sequence[EventIn],
    declared: Declaration | None,
    kb: KnowledgeBase,
    opts: PlanOptions,
) -> tuple[Course, tuple[Recommendation, ...]]:
    """Apply each event's declared effect in date order; return the course and the rules used."""
    rules = [
        r
        for r in kb.usable("others", course.picture.guideline, opts.allow_draft)
        if isinstance(r.action, AdviceAction) and r.action.effect != "none"
    ]
    applied: list[Recommendation] = []
    history = [(e.date, e.kind) for e in events]
    for event in events:
        read = _read(course, kb, given, history, declared, event.date)
        phase_kind = read[1].phase(read[0]).kind if read else None
        before = [d for d in given if d.date <= event.date]
        last_route = route_family(before[-1].route) if before else None
        regimen = read[0] if read else None
        facts = course_facts(course, regimen, phase_kind, frozenset({event.kind}), None, last_route)
        for rule in rules:
            assert isinstance(rule.action, AdviceAction)
            if kb.predicates[rule.id](facts):
                applied.append(rule)
                course = apply_effect(course, rule.action.effect, event.date, kb, opts)
    return course, tuple(applied)


def course_due(
    regimen: Regimen,
    position: Position,
    reading: Reading,
    course: Course,
    start: date,
    weekdays: tuple[str, ...],
) -> Due:
    """When the next dose is due: from the last dose given, at the patient's own interval where
    declared or inferred; from ``start`` when no dose is known."""
    phase = position.phase(regimen)
    if position.last_dose is None:
        return Due(start, start, start, continuous=not phase.list_each_dose)
    shortest = course.shortened and phase.kind in SETTLED_KINDS
    own = None
    if reading.basis in ("declared", "inferred") and position.phase_index >= settled_index(regimen):
        own = reading.every_months
    return due_after(phase, position.last_dose, weekdays, shortest=shortest, patient_months=own)


def build_course(
    picture: ClinicalPicture,
    given: Sequence[Dose],
    events: Sequence[EventIn],
    declared: Declaration | None,
    day: date,
    kb: KnowledgeBase,
    opts: PlanOptions,
    *,
    family: str | None = None,
) -> CourseState:
    """The course on ``day`` from the picture, the B12 doses given, the events and the
    declaration; ``family`` is the kind of route to read it in (default: the last dose's)."""
    course = choose_course(picture, given, kb, opts)
    if declared is not None and declared.stage == "neuro_course_completed":
        neuro = _with_neuro(course)
        course = Course(neuro, select_pathway(neuro, kb, opts, classify=False))
    family = family or (route_family(given[-1].route) if given else None)
    if family is not None:
        course = match_family(course, family, kb, opts)
    course, applied = _replay(course, given, events, declared, kb, opts)
    history = [(e.date, e.kind) for e in events if e.date <= day]
    read = _read(course, kb, given, history, declared, day)
    in_force = _declaration_in_force(course, declared)
    if read is None:
        return CourseState(course, None, applied, None, None, None, in_force)
    regimen, position, reading = read
    start = course.since or picture.start or day
    weekdays = opts.clinic_weekdays or kb.vocabulary.clinic_weekdays
    due = course_due(regimen, position, reading, course, start, weekdays)
    return CourseState(course, regimen, applied, position, reading, due, in_force)
