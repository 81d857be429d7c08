"""The ClinicalPicture input contract (PRODUCT.md §6) and its validation.

Validation has two layers: the pydantic shape (types, enums, dates, non-negative numbers), then
the knowledge base's vocabulary (known conditions, medications and symptoms; plausible lab
ranges).  Either layer raises :class:`~b12.core.errors.InputError` naming every bad field.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    field_validator,
)

from b12.core.criteria import Facts
from b12.core.dates import EARLIEST_DATE as EARLIEST_DATE  # re-exported: other modules use it
from b12.core.dates import LATEST_DATE as LATEST_DATE
from b12.core.dates import parse_iso_date
from b12.core.errors import FieldProblem, InputError, quoted
from b12.core.knowledge import KnowledgeBase, Term

Sex = Literal["female", "male", "other", "unknown"]
Deficiency = Literal["confirmed", "indeterminate", "suspected", "at_risk", "not_deficient"]
Cause = str  # validated against vocabulary.causes (aliases accepted)

#: Picture fields (besides ``labs.<name>``) whose presence conditions can test.
PRESENCE_FIELDS = frozenset(
    {
        "cause",
        "deficiency",
        "diet",
        "ileal_resection_cm",
        "surgery_date",
        "preferences.route",
        "preferences.drug",
    }
)
#: Diets the picture accepts.  ``pescatarian`` is recorded but read by no rule on purpose: fish
#: and dairy supply B12, so no source read treats it as a dietary risk (vegan and vegetarian are
#: read by the ``risk_factor`` definition in the vocabulary).
Diet = Literal["omnivore", "pescatarian", "vegetarian", "vegan"]


def _strict_number(raw: Any) -> Any:
    """JSON numbers only: ``true`` or ``"12"`` are not silently read as numbers."""
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ValueError("expected a number")
    return raw


#: A number field that refuses booleans and numeric strings.
Number = Annotated[float, BeforeValidator(_strict_number)]
#: A whole-number field that refuses booleans and numeric strings.
WholeNumber = Annotated[int, BeforeValidator(_strict_number)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Labs(_Strict):
    """Laboratory results with the unit in the name; every number must be non-negative."""

    serum_b12_ng_l: Number | None = Field(default=None, ge=0)
    active_b12_pmol_l: Number | None = Field(default=None, ge=0)
    mma_nmol_l: Number | None = Field(default=None, ge=0)
    homocysteine_umol_l: Number | None = Field(default=None, ge=0)
    haemoglobin_g_l: Number | None = Field(default=None, ge=0)
    mcv_fl: Number | None = Field(default=None, ge=0)
    potassium_mmol_l: Number | None = Field(default=None, ge=0)
    folate_ug_l: Number | None = Field(default=None, ge=0)
    egfr: Number | None = Field(default=None, ge=0)
    platelets_10e9_l: Number | None = Field(default=None, ge=0)
    reticulocytes_pct: Number | None = Field(default=None, ge=0)
    ifab_positive: StrictBool | None = None


class Preferences(_Strict):
    """What the patient or prescriber prefers; ``drug`` is an addition to the v1 contract."""

    route: Literal["im", "oral"] | None = None
    adherence_concern: StrictBool = False
    drug: Literal["hydroxocobalamin", "cyanocobalamin"] | None = None


class ClinicalPicture(_Strict):
    """A patient's clinical picture: the input of ``plan``."""

    age: int = Field(ge=0)
    sex: Sex = "unknown"
    pregnant: StrictBool = False
    breastfeeding: StrictBool = False
    deficiency: Deficiency | None = None
    cause: Cause | None = None
    causes: tuple[str, ...] = Field(
        default=(),
        description=(
            "Every cause when there is more than one (for example autoimmune gastritis and "
            "metformin); rules see the union of cause and causes. When only causes is given, "
            "cause is set to its first entry."
        ),
    )
    conditions: tuple[str, ...] = ()
    ileal_resection_cm: Number | None = Field(default=None, ge=0)
    surgery_date: date | None = Field(
        default=None,
        description=(
            "Date of the gastric or bariatric operation; post-operative monitoring is dated "
            "from it."
        ),
    )
    medications: tuple[str, ...] = ()
    diet: Diet | None = None
    neuro_symptoms: tuple[str, ...] = ()
    severe_neuro: StrictBool = False
    labs: Labs = Labs()
    preferences: Preferences = Preferences()
    guideline: Literal["uk", "us"] = "uk"
    start: date | None = None
    as_of: date | None = None

    @field_validator("start", "as_of", "surgery_date", mode="before")
    @classmethod
    def _iso_date(cls, raw: Any) -> Any:
        return iso_date(raw)

    @field_validator("age", mode="before")
    @classmethod
    def _whole_years(cls, raw: Any) -> Any:
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise ValueError("expected a whole number of years")
        return raw


def iso_date(raw: Any) -> Any:
    """Accept only ``YYYY-MM-DD`` strings (or dates) within the supported range."""
    if isinstance(raw, str):
        return parse_iso_date(raw)
    if not isinstance(raw, date):
        raise ValueError("expected a date as YYYY-MM-DD")
    if not EARLIEST_DATE <= raw <= LATEST_DATE:
        raise ValueError(f"must be between {EARLIEST_DATE} and {LATEST_DATE}")
    return raw


def _number(value: float) -> str:
    if isinstance(value, int):
        text = str(value)
        return text if len(text) <= 12 else text[:6] + "…"
    return f"{value:g}"


def field_problems(exc: ValidationError, prefix: str = "") -> list[FieldProblem]:
    out: list[FieldProblem] = []
    for err in exc.errors():
        parts = [*([prefix] if prefix else []), *[str(p) for p in err["loc"]]]
        path = ""
        for p in parts:
            path += f"[{p}]" if p.isdigit() else (f".{p}" if path else p)
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        elif "input" in err and err["type"] not in ("missing",):
            msg = f"{msg} (got {quoted(err['input'])})"
        out.append(FieldProblem(path, msg))
    return out


def parse_picture(raw: Any, kb: KnowledgeBase, prefix: str = "") -> ClinicalPicture:
    """Validate raw JSON data into a :class:`ClinicalPicture`, normalising aliases.

    Raises :class:`InputError` with one problem per bad field; never returns a partial picture.
    """
    if not isinstance(raw, dict):
        raise InputError([FieldProblem(prefix or "input", "expected a JSON object")])
    try:
        pic = ClinicalPicture.model_validate(raw)
    except ValidationError as exc:
        raise InputError(field_problems(exc, prefix)) from None
    return normalise(pic, kb, prefix)


def _canonical(
    value: str, terms: dict[str, Term], field: str, problems: list[FieldProblem]
) -> str | None:
    if value in terms:
        return value
    for name, term in terms.items():
        if value in term.aliases:
            return name
    known = ", ".join(sorted(terms))
    problems.append(FieldProblem(field, f"unknown value {quoted(value)}; known: {known}"))
    return None


def normalise(pic: ClinicalPicture, kb: KnowledgeBase, prefix: str = "") -> ClinicalPicture:
    """Check coded fields and plausible ranges against the vocabulary; map aliases to names."""
    vocab = kb.vocabulary
    problems: list[FieldProblem] = []
    p = f"{prefix}." if prefix else ""

    def listed(values: tuple[str, ...], terms: dict[str, Term], field: str) -> tuple[str, ...]:
        out = []
        for i, v in enumerate(values):
            name = _canonical(v, terms, f"{p}{field}[{i}]", problems)
            if name is not None:
                out.append(name)
        return tuple(sorted(set(out)))

    cause = pic.cause and _canonical(pic.cause, vocab.causes, f"{p}cause", problems)
    causes = listed(pic.causes, vocab.causes, "causes")
    if cause is None and pic.causes:
        cause = _canonical(pic.causes[0], vocab.causes, f"{p}causes[0]", [])
    conditions = listed(pic.conditions, vocab.conditions, "conditions")
    medications = listed(pic.medications, vocab.medications, "medications")
    symptoms = listed(pic.neuro_symptoms, vocab.neuro_symptoms, "neuro_symptoms")

    def plausible(value: float | None, lo: float, hi: float, unit: str, field: str) -> None:
        if value is not None and not lo <= value <= hi:
            problems.append(
                FieldProblem(
                    f"{p}{field}",
                    f"implausible value {_number(value)} {unit} (expected {lo:g}–{hi:g})",
                )
            )

    plausible(pic.age, vocab.age.min, vocab.age.max, vocab.age.unit, "age")
    rc = vocab.ileal_resection_cm
    plausible(pic.ileal_resection_cm, rc.min, rc.max, rc.unit, "ileal_resection_cm")
    for name, term in vocab.labs.items():
        plausible(getattr(pic.labs, name), term.min, term.max, term.unit, f"labs.{name}")
    if pic.pregnant and pic.sex == "male":
        problems.append(FieldProblem(f"{p}pregnant", "conflicts with sex 'male'"))
    if pic.as_of is not None and pic.start is not None and pic.start.year < pic.as_of.year - 100:
        problems.append(FieldProblem(f"{p}start", "implausibly far before as_of"))
    if pic.as_of is not None and pic.surgery_date is not None and pic.surgery_date > pic.as_of:
        problems.append(FieldProblem(f"{p}surgery_date", "is after as_of"))
    if problems:
        raise InputError(problems)
    return pic.model_copy(
        update={
            "cause": cause,
            "causes": tuple(sorted({*causes, *([cause] if cause else [])})),
            "conditions": conditions,
            "medications": medications,
            "neuro_symptoms": symptoms,
        }
    )


def picture_facts(
    pic: ClinicalPicture,
    deficiency: str | None,
    plan: dict[str, str | None] | None = None,
    plan_lists: dict[str, frozenset[str]] | None = None,
) -> Facts:
    """The facts a condition sees: the picture, the derived deficiency, and plan facts."""
    labs = {k: v for k, v in pic.labs.__dict__.items() if v is not None}
    numbers: dict[str, float] = {
        f"labs.{k}": float(v) for k, v in labs.items() if k != "ifab_positive"
    }
    numbers["age"] = float(pic.age)
    if pic.ileal_resection_cm is not None:
        numbers["ileal_resection_cm"] = pic.ileal_resection_cm
    flags = {
        name
        for name, on in (
            ("pregnant", pic.pregnant),
            ("breastfeeding", pic.breastfeeding),
            ("severe_neuro", pic.severe_neuro),
            ("adherence_concern", pic.preferences.adherence_concern),
            ("ifab_positive", pic.labs.ifab_positive is True),
        )
        if on
    }
    present = {f"labs.{k}" for k in labs}
    for name in ("cause", "deficiency", "diet", "ileal_resection_cm", "surgery_date"):
        if getattr(pic, name) is not None:
            present.add(name)
    for name in ("route", "drug"):
        if getattr(pic.preferences, name) is not None:
            present.add(f"preferences.{name}")
    scalars: dict[str, str | None] = {
        "deficiency": deficiency,
        "stated_deficiency": pic.deficiency,
        "diet": pic.diet,
        "sex": pic.sex,
        "guideline": pic.guideline,
        "route_preference": pic.preferences.route,
        "drug_preference": pic.preferences.drug,
    }
    if plan:
        scalars.update(plan)
    lists = {
        "cause": frozenset(pic.causes) | ({pic.cause} if pic.cause else frozenset()),
        "conditions": frozenset(pic.conditions),
        "medications": frozenset(pic.medications),
        "neuro_symptoms": frozenset(pic.neuro_symptoms),
    }
    if plan_lists:
        lists.update(plan_lists)
    return Facts(scalars, lists, frozenset(flags), numbers, frozenset(present))


def with_facts(
    facts: Facts,
    scalars: dict[str, str | None] | None = None,
    lists: dict[str, frozenset[str]] | None = None,
    numbers: dict[str, float] | None = None,
    flags: frozenset[str] = frozenset(),
) -> Facts:
    """``facts`` with some facts replaced or added; the rest is shared, not copied."""
    return Facts(
        {**facts.scalars, **scalars} if scalars else facts.scalars,
        {**facts.lists, **lists} if lists else facts.lists,
        facts.flags | flags,
        {**facts.numbers, **numbers} if numbers else facts.numbers,
        facts.present,
    )
