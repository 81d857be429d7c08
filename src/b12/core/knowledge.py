"""Knowledge-base models: the shape of every content file, and cross-reference checks.

The models are the source of truth for the content format; ``docs/knowledge-authoring.md``
explains each field for clinical authors.  Loading files is the adapters' job
(:mod:`b12.adapters.knowledge_files`); this module only validates what it is given.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date as Date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from b12.core import criteria
from b12.core.dates import WEEKDAYS

Status = Literal["draft", "submitted", "in-review", "approved", "retired"]
Evidence = Literal[
    "guideline", "label", "systematic-review", "trial", "review", "expert-opinion", "local-practice"
]
Jurisdiction = Literal["uk", "us"]
Drug = Literal["hydroxocobalamin", "cyanocobalamin"]
Route = Literal["im", "deep_sc", "sc", "iv", "oral", "sublingual", "intranasal"]
Severity = Literal["stop", "warning", "info"]
Outcome = Literal["plan", "needs_more_data", "refer", "out_of_scope"]
Verification = Literal["verified", "secondary", "inferred", "not-found"]
DeficiencyClass = Literal["confirmed", "indeterminate", "not_deficient"]
RuleKind = Literal["decisions", "classifiers", "others"]
Site = Literal["deltoid", "vastus_lateralis", "ventrogluteal", "dorsogluteal"]
DRAFT_STATUSES = frozenset({"draft", "submitted", "in-review"})


def _parse_condition(raw: Any) -> criteria.Condition:
    try:
        return criteria.parse_any(raw, "")
    except criteria.ConditionSyntaxError as exc:
        raise ValueError(str(exc)) from exc


ConditionField = Annotated[Any, BeforeValidator(_parse_condition)]


class Model(BaseModel):
    """Frozen, strict base: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(Model):
    """One entry of the bibliography (``sources.yaml``)."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    citation: str
    publisher: str
    year: int = Field(ge=1900, le=2100)
    kind: Literal[
        "guideline",
        "label",
        "formulary",
        "systematic-review",
        "trial",
        "review",
        "regulator",
        "local-guidance",
        "patient-organisation",
        "qa-service",
        "content-team",
        "reference-data",
    ]
    evidence: Evidence
    jurisdiction: tuple[Jurisdiction, ...]
    url: str | None = None
    superseded_by: str | None = None
    note: str | None = None


class Citation(Model):
    """A pointer into a source: ``source`` id plus the source's own section locator."""

    source: str
    locator: str
    verification: Verification = "secondary"
    note: str | None = None


ReviewLevelName = Literal["none", "engineering", "clinical"]
"""How far an item's review went: ``none`` (not reviewed yet), ``engineering`` (checked
against its sources by the engineering/content team), ``clinical`` (signed off by the
deployment's clinical safety officer)."""

OutputReviewLevel = Literal["unreviewed", "engineering_reviewed", "clinically_signed_off"]
#: The review levels an output can report, lowest first.
OUTPUT_REVIEW_LEVELS: tuple[OutputReviewLevel, ...] = (
    "unreviewed",
    "engineering_reviewed",
    "clinically_signed_off",
)
#: How each output review level is shown to people (plan, report, pages, PDF).
REVIEW_LEVEL_LABELS: dict[OutputReviewLevel, str] = {
    "unreviewed": "Not reviewed: uses draft content",
    "engineering_reviewed": "Engineering-reviewed; not clinically signed off",
    "clinically_signed_off": "Clinically signed off",
}


class Review(Model):
    """Who reviewed the item, to which level, when, and when it is next due.

    ``level`` says how far the review went (see :data:`ReviewLevelName`); ``author`` is who
    wrote the current version, and may not also be its reviewer or signer; a ``clinical``
    level needs ``signed_off_by`` and ``signed_off_on``.
    """

    level: ReviewLevelName = "none"
    author: str | None = None
    reviewed_by: tuple[str, ...] = Field(min_length=1)
    reviewed_on: Date
    signed_off_by: tuple[str, ...] = ()
    signed_off_on: Date | None = None
    next_review_due: Date

    @model_validator(mode="after")
    def _consistent(self) -> Review:
        signed = bool(self.signed_off_by) or self.signed_off_on is not None
        if self.level == "clinical" and not (self.signed_off_by and self.signed_off_on):
            raise ValueError("a clinical sign-off needs signed_off_by and signed_off_on")
        if self.level != "clinical" and signed:
            raise ValueError("signed_off_by and signed_off_on belong to level: clinical only")
        reviewers = {*self.reviewed_by, *self.signed_off_by}
        if self.level != "none" and self.author is not None and self.author in reviewers:
            raise ValueError(f"the author {self.author!r} may not also review or sign off the item")
        return self


def review_level_of(status: str, review: Review) -> OutputReviewLevel:
    """The output level one item gives: drafts are unreviewed; approved items by their level."""
    if status != "approved" or review.level == "none":
        return "unreviewed"
    return "clinically_signed_off" if review.level == "clinical" else "engineering_reviewed"


def lowest_review_level(levels: Iterable[OutputReviewLevel]) -> OutputReviewLevel | None:
    """The lowest of ``levels`` (``None`` when there are none)."""
    ranked = [OUTPUT_REVIEW_LEVELS.index(v) for v in levels]
    return OUTPUT_REVIEW_LEVELS[min(ranked)] if ranked else None


class Change(Model):
    """One changelog line."""

    version: int = Field(ge=1)
    date: Date
    note: str


class Dose(Model):
    """A dose as written in the source: a value (or a ``value``-``max`` range) and a unit."""

    value: float = Field(gt=0)
    max: float | None = Field(default=None, gt=0)
    unit: Literal["mcg", "mg"]

    @property
    def micrograms(self) -> int:
        """The dose (lower bound of a range) in whole micrograms."""
        return round(self.value * (1000 if self.unit == "mg" else 1))

    @property
    def max_micrograms(self) -> int:
        """The upper bound of a range in micrograms (the value itself when not a range)."""
        top = self.max if self.max is not None else self.value
        return round(top * (1000 if self.unit == "mg" else 1))

    @model_validator(mode="after")
    def _range_order(self) -> Dose:
        if self.max is not None and self.max < self.value:
            raise ValueError("max must not be below value")
        return self


class Span(Model):
    """An inclusive range; ``min == max`` is a fixed value."""

    min: int = Field(ge=1)
    max: int = Field(ge=1)

    @model_validator(mode="before")
    @classmethod
    def _from_int(cls, raw: Any) -> Any:
        return (
            {"min": raw, "max": raw} if isinstance(raw, int) and not isinstance(raw, bool) else raw
        )

    @model_validator(mode="after")
    def _order(self) -> Span:
        if self.max < self.min:
            raise ValueError("max must not be below min")
        return self


class Phase(Model):
    """One phase of a regimen: dose, frequency, and how long it lasts."""

    name: str
    kind: Literal["loading", "maintenance", "prophylaxis", "replacement"]
    dose: Dose
    every_days: Span | None = None
    every_months: Span | None = None
    times_per_week: int | None = Field(default=None, ge=1, le=7)
    count: int | None = Field(default=None, ge=1)
    for_days: int | None = Field(default=None, ge=1)
    until: str | None = None
    lifelong: bool | Literal["if_irreversible_cause"] = False
    suggest: Literal["earliest", "latest"] = "earliest"
    review_every_days: int | None = Field(default=None, ge=1)
    review_text: str | None = None
    weekdays: tuple[str, ...] | None = None
    list_each_dose: bool = True
    text: str
    patient_text: str

    @model_validator(mode="after")
    def _one_frequency(self) -> Phase:
        given = [f for f in ("every_days", "every_months", "times_per_week") if getattr(self, f)]
        if len(given) != 1:
            raise ValueError("give exactly one of every_days, every_months, times_per_week")
        lengths = [f for f in ("count", "for_days", "until") if getattr(self, f) is not None]
        if len(lengths) > 1:
            raise ValueError("give at most one of count, for_days, until")
        if not self.list_each_dose and not self.is_open_ended:
            raise ValueError("list_each_dose: false is only for a phase that does not end")
        if self.until is not None and (self.review_every_days is None or not self.review_text):
            raise ValueError("an open-ended phase (until) needs review_every_days and review_text")
        if self.weekdays is not None and (
            self.times_per_week != len(set(self.weekdays))
            or any(d not in WEEKDAYS for d in self.weekdays)
        ):
            raise ValueError("weekdays must name times_per_week distinct days (mon … sun)")
        return self

    @property
    def is_open_ended(self) -> bool:
        """True when the phase lasts until a clinical event, or for ever."""
        return self.count is None and self.for_days is None


class Regimen(Model):
    """A dose protocol for one guideline set: drug, route and ordered phases."""

    id: str = Field(pattern=r"^[A-Z0-9][A-Z0-9-]*$")
    version: int = Field(ge=1)
    status: Status
    title: str
    guideline: Jurisdiction
    drug: Drug
    route: Route
    phases: tuple[Phase, ...] = Field(min_length=1)
    citations: tuple[Citation, ...] = Field(min_length=1)
    review: Review

    @model_validator(mode="after")
    def _only_last_open(self) -> Regimen:
        for phase in self.phases[:-1]:
            if phase.count is None and phase.for_days is None and phase.until is None:
                raise ValueError(f"phase {phase.name!r} never ends but is not the last phase")
        return self


class Alternative(Model):
    """Another pathway a clinician might consider, and why b12 did not choose it."""

    pathway: str
    why_not: str


class Missing(Model):
    """A picture field the decision needs, and why."""

    field: str
    why: str


class DecisionAction(Model):
    """Selects the plan's status and pathway; the first matching decision (by priority) wins."""

    type: Literal["decision"]
    priority: int = Field(ge=0)
    outcome: Outcome
    pathway: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    pathway_title: str
    regimen: str | None = None
    missing: tuple[Missing, ...] = ()
    alternatives: tuple[Alternative, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> DecisionAction:
        if self.outcome == "needs_more_data" and not self.missing:
            raise ValueError("a needs_more_data decision must list what is missing")
        if self.outcome != "plan" and self.regimen is not None:
            raise ValueError("only a plan decision may name a regimen")
        return self


class ClassifyAction(Model):
    """Works out the deficiency status from labs when the picture does not give it."""

    type: Literal["classify"]
    priority: int = Field(ge=0)
    deficiency: DeficiencyClass


class AlertAction(Model):
    """Raises a stable alert code with a severity."""

    type: Literal["alert"]
    code: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")
    severity: Severity
    contexts: tuple[Literal["plan", "order", "follow_up"], ...] = ("plan",)
    #: Routes the alert names as the safer way to give the treatment it warns about (the US
    #: bleeding-risk alert: deep subcutaneous instead of intramuscular).  The answer engine
    #: answers yes when a question proposes one of them instead of the route warned about.
    safer_routes: tuple[Route, ...] = ()


class Offset(Model):
    """A time after the plan's start."""

    days: int | None = Field(default=None, ge=0)
    months: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _one(self) -> Offset:
        if (self.days is None) == (self.months is None):
            raise ValueError("give exactly one of days or months")
        return self


class MonitorItem(Model):
    """A dated test or review (``at``), or an undated one (``after`` text).

    ``at`` counts from the first dose of the plan, or from the operation date when ``anchor`` is
    ``surgery_date`` and the picture gives one (dates before the plan start are left out).
    """

    kind: Literal["test", "review"]
    at: Offset | None = None
    anchor: Literal["start", "surgery_date"] = "start"
    repeat_every_months: int | None = Field(default=None, ge=1)
    after: str | None = None
    tests: tuple[str, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _when(self) -> MonitorItem:
        if (self.at is None) == (self.after is None):
            raise ValueError("give exactly one of at or after")
        if self.repeat_every_months is not None and self.at is None:
            raise ValueError("repeat_every_months needs at")
        return self


class MonitorAction(Model):
    """Adds items to the monitoring plan."""

    type: Literal["monitor"]
    items: tuple[MonitorItem, ...] = Field(min_length=1)


class Position(Model):
    """One side of a disagreement between sources."""

    says: str
    citations: tuple[Citation, ...] = Field(min_length=1)


class DisagreementAction(Model):
    """Shows where sources disagree, each side cited."""

    type: Literal["disagreement"]
    topic: str
    positions: tuple[Position, ...] = Field(min_length=2)
    contexts: tuple[Literal["plan", "order"], ...] = ("plan",)


class AdviceAction(Model):
    """Follow-up advice; ``effect`` names what the engine does to the course when it applies.

    Effects: ``none`` (advice only); ``shorten_interval`` (use the shortest interval of the
    labelled range from now on); ``restart_neuro`` (start the neurological loading regimen
    again from the event); ``switch_to_injection`` (start the injection regimen of the set
    from the event).
    """

    type: Literal["advice"]
    code: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")
    effect: Literal["none", "shorten_interval", "restart_neuro", "switch_to_injection"] = "none"


Action = Annotated[
    DecisionAction
    | ClassifyAction
    | AlertAction
    | MonitorAction
    | DisagreementAction
    | AdviceAction,
    Field(discriminator="type"),
]


class Recommendation(Model):
    """One reviewed, cited unit of clinical content (one file, named by its id)."""

    id: str = Field(pattern=r"^B12-(DX|TX|MON|SAFE|DIS|EDU)-[0-9]{3}$")
    version: int = Field(ge=1)
    status: Status
    evidence: Evidence
    jurisdiction: tuple[Jurisdiction, ...] = Field(min_length=1)
    title: str
    clinician_text: str
    patient_text: str
    when: ConditionField | None = None
    action: Action
    citations: tuple[Citation, ...] = Field(min_length=1)
    review: Review
    note: str | None = None
    changelog: tuple[Change, ...] = ()
    aliases: tuple[Annotated[str, Field(min_length=2)], ...] = ()
    """Reviewer-written synonyms (clinician shorthand, lay words) the answer engine indexes."""
    questions: tuple[Annotated[str, Field(min_length=8, pattern=r"\?$")], ...] = ()
    """Canonical questions this item answers; shown as "related questions" by the engine."""
    stance: Literal["yes", "no", "depends", "unproven"] | None = None
    """How the answer engine answers a yes/no question this item heads, where the default for
    its kind would mislead (an information alert that says no source shows something is not
    a "yes"): ``unproven`` is headed "no source b12 uses shows that" (docs/answers.md)."""
    masks: tuple[str, ...] = ()
    """Ids of items this one makes misleading when it holds (nitrous oxide: "a normal B12 does
    not rule deficiency out" masks "deficiency unlikely"): the answer engine does not state
    them.  ``b12 kb check`` checks each id exists."""
    depends_on: dict[str, str] | None = None
    """Per audience (``clinician``, ``patient``), what a ``depends`` stance depends on ("the
    clinical features are strong"): the headline reads "It depends on whether …"; without
    it, "It depends on the source"."""

    @model_validator(mode="after")
    def _depends_on(self) -> Recommendation:
        if self.depends_on is not None and sorted(self.depends_on) != ["clinician", "patient"]:
            raise ValueError("depends_on needs exactly the audiences clinician and patient")
        return self


class Parameter(Model):
    """A named threshold used by conditions (``{param: id}``), with its evidence."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    value: float
    unit: str
    status: Status
    evidence: Evidence
    text: str
    citations: tuple[Citation, ...] = Field(min_length=1)


class Term(Model):
    """A vocabulary entry: a label, aliases and codes.

    A term a picture can state must be read by some rule; ``informational: true`` (with a
    ``why``) marks one that is accepted on purpose although no rule reads it yet.
    """

    label: str
    aliases: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()
    informational: bool = False
    why: str | None = None

    @model_validator(mode="after")
    def _why(self) -> Term:
        if self.informational and not (self.why or "").strip():
            raise ValueError("an informational term needs a why")
        if self.why is not None and not self.informational:
            raise ValueError("why is only for an informational term")
        return self


class ProductTerm(Term):
    """A product name an order may use; ``kind`` says whether it is a B12 form or folate."""

    kind: Literal["b12", "folate"]


class FrequencyTerm(Model):
    """A named order frequency and the interval it means."""

    label: str
    every_days: int | None = Field(default=None, ge=1)
    every_months: int | None = Field(default=None, ge=1)
    times_per_week: int | None = Field(default=None, ge=1, le=7)

    @model_validator(mode="after")
    def _one(self) -> FrequencyTerm:
        given = [self.every_days, self.every_months, self.times_per_week]
        if sum(v is not None for v in given) > 1:
            raise ValueError("give at most one of every_days, every_months, times_per_week")
        return self

    @property
    def interval_days(self) -> float | None:
        """Approximate days between doses (a month counts as 30.44 days)."""
        if self.every_days is not None:
            return float(self.every_days)
        if self.every_months is not None:
            return round(self.every_months * 30.44, 2)
        if self.times_per_week is not None:
            return round(7 / self.times_per_week, 2)
        return None


class LabTerm(Model):
    """A laboratory result the picture may carry, with its unit and plausible range."""

    label: str
    unit: str
    min: float
    max: float
    codes: tuple[str, ...] = ()


class AlertCode(Model):
    """A stable alert identifier (never renamed)."""

    title: str


class ScheduleKindLabels(Model):
    """Plain-language names of the schedule's kinds of entry, for patients."""

    dose: str
    review: str
    test: str


class PrintoutItem(Model):
    """One plain-language sentence of the patient's printout, with its evidence and citations."""

    text: str
    evidence: Evidence
    citations: tuple[Citation, ...] = Field(min_length=1)


class PatientPrintout(Model):
    """The framing texts of the patient's printout (``vocabulary.patient_printout``).

    ``open_days`` are the weekdays the practice gives injections (a dated dose on another day is
    moved to the next open day); ``clinic_days_text`` takes ``{days}``; ``first_dose_text``
    (a new course) and ``next_dose_text`` (a course under way) take ``{date}``.  ``missed``
    and ``call_us`` are the "If you miss an injection" and "Call us if" sections; each
    sentence is cited.
    """

    title: str
    open_days: tuple[str, ...]
    clinic_days_text: str
    first_dose_text: str
    next_dose_text: str
    moved_text: str
    given_label: str
    missed_heading: str
    missed: tuple[PrintoutItem, ...] = Field(min_length=1)
    call_us_heading: str
    call_us: tuple[PrintoutItem, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _days(self) -> PatientPrintout:
        if not self.open_days or any(d not in WEEKDAYS for d in self.open_days):
            raise ValueError(f"open_days must be names from {WEEKDAYS}")
        return self


class DoNowContent(Model):
    """Which alerts fill the result pages' "Do now" box (issue 15), by alert code.

    ``urgent_alerts``: alerts whose message is urgent advice; ``potassium_alerts``: alerts that
    ask for a potassium check, dated by the plan's monitoring entries for ``potassium_test``.
    """

    urgent_alerts: tuple[str, ...]
    potassium_alerts: tuple[str, ...]
    potassium_test: str


class DisplayContent(Model):
    """People words for the codes shown on result pages (issue 15): ``words[group][code]``.

    Groups are named by what they label (``phases``, ``routes``, ``verdicts``, ``units`` ...);
    a code without words is shown with its underscores and hyphens as spaces.  ``same_number``
    gives, per guideline set, a unit's other name with the same number (ng/L == pg/mL).
    """

    words: dict[str, dict[str, str]]
    same_number: dict[str, dict[str, str]] = Field(default_factory=dict)
    do_now: DoNowContent


class Vocabulary(Model):
    """Allowed values for the picture's coded fields, and named conditions."""

    causes: dict[str, Term]
    conditions: dict[str, Term]
    medications: dict[str, Term]
    neuro_symptoms: dict[str, Term]
    events: dict[str, Term]
    tests: dict[str, Term]
    products: dict[str, ProductTerm]
    frequencies: dict[str, FrequencyTerm]
    labs: dict[str, LabTerm]
    alert_codes: dict[str, AlertCode]
    override_reasons: dict[str, Term] = Field(default_factory=dict)
    """Reasons a clinician may pick when dismissing a CDS Hooks card (key = stable code)."""
    age: LabTerm
    ileal_resection_cm: LabTerm
    clinic_weekdays: tuple[str, ...]
    horizon_months: int = Field(ge=1, le=60)
    definitions: dict[str, ConditionField]
    disclaimer: str
    patient_disclaimer: str
    pending_review_banner: str
    schedule_continues_text: str
    patient_dosing_note: str
    patient_phase_review_text: str
    patient_schedule_labels: ScheduleKindLabels
    patient_printout: PatientPrintout
    display: DisplayContent | None = None

    @model_validator(mode="after")
    def _weekdays(self) -> Vocabulary:
        bad = [d for d in self.clinic_weekdays if d not in WEEKDAYS]
        if bad or not self.clinic_weekdays:
            raise ValueError(f"clinic_weekdays must be names from {WEEKDAYS}")
        return self

    @model_validator(mode="after")
    def _do_now_codes(self) -> Vocabulary:
        if self.display is None:
            return self
        do_now = self.display.do_now
        unknown = [
            c
            for c in (*do_now.urgent_alerts, *do_now.potassium_alerts)
            if c not in self.alert_codes
        ]
        if unknown:
            raise ValueError(f"display.do_now names unknown alert codes {unknown}")
        if do_now.potassium_test not in self.tests:
            raise ValueError(f"display.do_now.potassium_test {do_now.potassium_test!r} is no test")
        return self


ANSWER_AUDIENCES = ("clinician", "patient")
ANSWER_SECTIONS = ("algorithm", "special_populations", "monitoring", "pitfalls", "alternatives")
ANSWER_FORMS = (
    "yesno",
    "how_often",
    "how_much",
    "when",
    "what_check",
    "is_safe",
    "should_stop",
    "switch",
)


class QuestionReading(Model):
    """What a question implies (``answering.yaml`` ``question_reading``, issue 14).

    ``established_deficiency``: phrases (in normalised words) that say the deficiency is
    established and being treated ("maintenance"); ``deficiency_populations``: populations
    whose name is a diagnosis of the deficiency's cause (pernicious anaemia).  A question with
    either, or one that says the patient is on B12 treatment, states a confirmed deficiency.
    ``regimen_forms``: question forms that ask for the treatment regimen (an interval, a
    dose), as do ``regimen_phrases`` ("how long" a course lasts), unless the question has a
    ``not_regimen`` phrase (a comparison, a "why", an
    adjustment); ``form_heads``: per form, the kinds of content (an action ``type``:
    ``monitor``, ``advice``, ``alert`` …) that answer it first when retrieval finds one.
    ``next_dose``: phrases that, in a "when" question, ask for the date of the next dose of a
    course under way ("when is the next injection due?"): a date, not a regimen.
    """

    established_deficiency: tuple[str, ...] = ()
    deficiency_populations: tuple[str, ...] = ()
    regimen_forms: tuple[str, ...] = ()
    regimen_phrases: tuple[str, ...] = ()
    not_regimen: tuple[str, ...] = ()
    form_heads: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    next_dose: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _forms(self) -> QuestionReading:
        bad = sorted(f for f in (*self.regimen_forms, *self.form_heads) if f not in ANSWER_FORMS)
        if bad:
            raise ValueError(f"question_reading: unknown forms {bad} (allowed: {ANSWER_FORMS})")
        kinds = {"decision", "classify", "alert", "monitor", "disagreement", "advice"}
        odd = sorted({k for v in self.form_heads.values() for k in v} - kinds)
        if odd:
            raise ValueError(f"question_reading.form_heads: unknown kinds {odd}")
        for name in ("established_deficiency", "regimen_phrases", "not_regimen", "next_dose"):
            if any(p != p.lower() or not p.strip() for p in getattr(self, name)):
                raise ValueError(f"question_reading.{name}: entries must be non-empty lower case")
        return self


RESULT_READINGS = ("low", "normal", "normal_weak", "borderline", "high")


class ResultWords(Model):
    """A test result told in words ("B12 came back low", "bloods were fine"; issue 14).

    ``tests``: per lab field (``serum_b12_ng_l``, ``active_b12_pmol_l``, ``mma_nmol_l``), the
    phrases that name the test; ``generic``: words that stand for the B12 test when no other
    test is named just before them ("the level", "bloods"); ``links``: words that may stand
    between the test and its reading ("came back", "was", "a bit"); ``past_links``: the links
    that report a result (a ``normal_weak`` reading, "fine", "ok", needs one, so that "is B12
    ok in pregnancy?" is not a result); ``readings``: per reading (``low``, ``normal``,
    ``normal_weak``, ``borderline``, ``high``) its phrases; ``not_before``: a word after the
    reading that makes it describe something else ("high dose").  What each reading means is
    read through the knowledge base's own thresholds (``parameters.yaml``).
    """

    tests: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    generic: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    past_links: tuple[str, ...] = ()
    readings: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    not_before: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _words(self) -> ResultWords:
        odd = sorted(set(self.readings) - set(RESULT_READINGS))
        if odd:
            raise ValueError(f"results_in_words.readings: unknown readings {odd}")
        lists = [self.generic, self.links, self.past_links, self.not_before]
        lists += [*self.tests.values(), *self.readings.values()]
        if any(w != w.lower() or not w.strip() for words in lists for w in words):
            raise ValueError("results_in_words: entries must be non-empty lower case")
        return self


class Answering(Model):
    """Content of the answer engine (``answering.yaml``): normaliser, scope lexicon, texts.

    ``version`` is bumped whenever the normaliser table changes, so an answer can say which
    table produced it.  ``shorthand`` and ``misspellings`` map a lower-case token or phrase to
    its expansion (whole words only); ``stopwords`` are domain words left out of retrieval
    because nearly every question contains them.  ``in_scope_anchors`` are words that put a
    question inside b12's scope; ``out_of_scope`` words name other vitamins, drugs, tests and
    conditions.  ``section_titles`` gives, per audience (``clinician``, ``patient``), the
    title of each answer section (``algorithm``, ``special_populations``, ``monitoring``,
    ``pitfalls``, ``alternatives``).  ``disclaimer`` / ``patient_disclaimer`` override the
    vocabulary's when set.  Issue 14: ``veterinary`` words (animals) always put a question out
    of scope; ``wellness`` words (B12 for energy, weight, hair …) do unless the question
    describes a deficiency; ``not_covered`` words name topics about B12 treatment that no
    reviewed item answers (cost, self-injection, storage, foods …): such a question gets "not
    covered", never a neighbouring item.  ``condition_phrases`` maps a condition leaf (``def:name``,
    ``field=value``) to, per audience, the phrase for "it holds" and for "it does not hold",
    used to state a condition the question leaves open ("if there is neurological
    involvement").  ``answer_words`` holds, per audience, the connective words of a headline
    (``yes``, ``no``, ``depends``, ``sides``, ``secondary``, ``content_team``).
    ``question_reading`` (:class:`QuestionReading`): what a question implies;
    ``results_in_words`` (:class:`ResultWords`): a result told in words; ``vocabulary``: named
    word lists the question reader uses (lower case), so that vocabulary is data;
    ``term_words``: per vocabulary condition or medication code, words a question may use for
    it besides its label and aliases ("needle phobic" for ``needle_phobia``).
    """

    version: str = Field(min_length=1)
    shorthand: dict[str, str]
    misspellings: dict[str, str]
    stopwords: tuple[str, ...]
    in_scope_anchors: tuple[str, ...] = Field(min_length=1)
    out_of_scope: tuple[str, ...]
    section_titles: dict[str, dict[str, str]]
    no_answer_text: str
    patient_no_answer_text: str
    nearest_topics_title: str
    related_questions_title: str
    patient_framing: str
    disclaimer: str | None = None
    patient_disclaimer: str | None = None
    veterinary: tuple[str, ...] = ()
    wellness: tuple[str, ...] = ()
    not_covered: tuple[str, ...] = ()
    condition_phrases: dict[str, dict[str, tuple[str, str]]] = Field(default_factory=dict)
    answer_words: dict[str, dict[str, str]] = Field(default_factory=dict)
    question_reading: QuestionReading = Field(default_factory=QuestionReading)
    results_in_words: ResultWords = Field(default_factory=ResultWords)
    vocabulary: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    term_words: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    phrasings: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    """Per approved recommendation id, questions as users asked them that the item answers
    (``phrasings.yaml``): retrieval text only, never shown, never read as the question's
    facts."""
    common_words: frozenset[str] = frozenset()
    """The most frequent English words (``english_words.yaml``, space-separated): a word of a
    question in neither this list nor the knowledge base names a topic of its own."""

    @field_validator("phrasings")
    @classmethod
    def _phrasings(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for rec_id, said in value.items():
            if any(not q.strip() for q in said) or len(set(said)) != len(said):
                raise ValueError(f"phrasings.{rec_id}: entries must be non-empty and unique")
        return value

    @field_validator("common_words", mode="before")
    @classmethod
    def _split_words(cls, value: Any) -> Any:
        return frozenset(value.split()) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _tables(self) -> Answering:
        for name in ("shorthand", "misspellings"):
            table: dict[str, str] = getattr(self, name)
            bad = [k for k, v in table.items() if k != k.lower() or not k.strip() or v.strip() == k]
            if bad:
                raise ValueError(f"{name}: keys must be non-empty lower case: {bad}")
        both = sorted(set(self.shorthand) & set(self.misspellings))
        if both:
            raise ValueError(f"in both shorthand and misspellings: {both}")
        named = {f"vocabulary.{k}": v for k, v in self.vocabulary.items()}
        named |= {f"term_words.{k}": v for k, v in self.term_words.items()}
        for name in (
            "stopwords",
            "in_scope_anchors",
            "out_of_scope",
            "veterinary",
            "wellness",
            "not_covered",
            *named,
        ):
            words: tuple[str, ...] = named[name] if name in named else getattr(self, name)
            if any(w != w.lower() or not w.strip() for w in words):
                raise ValueError(f"{name}: entries must be non-empty lower case")
            if len(set(words)) != len(words):
                raise ValueError(f"{name}: duplicate entries")
        clash = sorted(set(self.in_scope_anchors) & set(self.out_of_scope))
        if clash:
            raise ValueError(f"both in scope and out of scope: {clash}")
        if sorted(self.section_titles) != sorted(ANSWER_AUDIENCES):
            raise ValueError(f"section_titles needs exactly the audiences {ANSWER_AUDIENCES}")
        for audience, titles in self.section_titles.items():
            if sorted(titles) != sorted(ANSWER_SECTIONS):
                raise ValueError(
                    f"section_titles.{audience} needs exactly the sections {ANSWER_SECTIONS}"
                )
        return self


@dataclass(frozen=True)
class KnowledgeBase:
    """The whole validated content, indexed for the engine.  Built by ``build_knowledge_base``."""

    sources: dict[str, Source]
    recommendations: dict[str, Recommendation]
    regimens: dict[str, Regimen]
    parameters: dict[str, Parameter]
    vocabulary: Vocabulary
    content_version: str
    answering: Answering
    decisions: tuple[Recommendation, ...] = field(default=())
    classifiers: tuple[Recommendation, ...] = field(default=())
    others: tuple[Recommendation, ...] = field(default=())
    pathways: dict[str, Recommendation] = field(default_factory=dict)
    predicates: dict[str, criteria.Predicate] = field(default_factory=dict)
    usable_index: dict[tuple[RuleKind, str, bool], tuple[Recommendation, ...]] = field(
        default_factory=dict
    )
    review_floor: dict[str, OutputReviewLevel] = field(default_factory=dict)
    """Per guideline set, the lowest review level of its approved content (for an output
    that used no item, such as an order check with nothing to say)."""

    def usable(
        self, kind: RuleKind, guideline: str, allow_draft: bool
    ) -> tuple[Recommendation, ...]:
        """The decisions, classifiers or other rules usable for a guideline set, in order.

        Approved content always; drafts (draft, submitted, in-review) only when allowed;
        retired never.  Precomputed when the knowledge base is built.
        """
        return self.usable_index[(kind, guideline, allow_draft)]

    def param(self, pid: str) -> float:
        """Resolve a ``{param: id}`` threshold."""
        return self.parameters[pid].value
