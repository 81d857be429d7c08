"""Input contracts of the order check and the follow-up (PRODUCT.md §6 OrderCheck, FollowUp).

Shapes are checked by pydantic; product names, frequencies and dates against the picture's
``as_of`` are checked against the knowledge base.  Every problem names its field; nothing is
guessed (an unknown product stays ``unknown``, never mapped to a supported one).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from datetime import date as Date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from b12.core.course import Declaration
from b12.core.errors import FieldProblem, InputError, quoted
from b12.core.knowledge import KnowledgeBase, Route, Site
from b12.core.picture import (
    ClinicalPicture,
    Number,
    WholeNumber,
    field_problems,
    iso_date,
    parse_picture,
)

UNITS = {"mcg": "mcg", "ug": "mcg", "µg": "mcg", "μg": "mcg", "mg": "mg"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DoseIn(_Strict):
    """A dose with its unit; ``ug`` and ``µg`` are accepted for ``mcg``."""

    value: Number = Field(gt=0, allow_inf_nan=False)
    unit: str

    @field_validator("unit")
    @classmethod
    def _unit(cls, raw: str) -> str:
        unit = UNITS.get(raw.strip().lower()) or UNITS.get(raw.strip())
        if unit is None:
            raise ValueError(f"unknown unit {quoted(raw)}; use mcg (ug, µg) or mg")
        return unit

    @property
    def micrograms(self) -> float:
        """The dose in micrograms."""
        return self.value * (1000 if self.unit == "mg" else 1)


class OrderIn(_Strict):
    """A proposed order."""

    drug: str = Field(min_length=1, max_length=200)
    dose: DoseIn
    route: Route
    every_days: WholeNumber | None = Field(default=None, ge=1, le=366)
    frequency: str | None = None
    site: Site | None = None
    start: date | None = None

    @field_validator("start", mode="before")
    @classmethod
    def _date(cls, raw: Any) -> Any:
        return iso_date(raw)


class GivenDose(_Strict):
    """A dose recorded as given."""

    date: Date
    drug: str = Field(min_length=1, max_length=200)
    dose: DoseIn
    route: Route
    site: Site | None = None

    @field_validator("date", mode="before")
    @classmethod
    def _date(cls, raw: Any) -> Any:
        return iso_date(raw)


class EventIn(_Strict):
    """A clinical event recorded during follow-up."""

    date: Date
    kind: str = Field(min_length=1, max_length=100)

    @field_validator("date", mode="before")
    @classmethod
    def _date(cls, raw: Any) -> Any:
        return iso_date(raw)


class CourseIn(_Strict):
    """What is known of a course that began before the doses on record (a declared course).

    ``stage`` says where the course stands and ``since`` when that began:

    * ``maintenance`` — on maintenance since ``since`` (loading, if any, was before it);
    * ``loading_completed`` — the last loading dose was given on ``since``;
    * ``neuro_course_completed`` — a course for neurological involvement (alternate-day doses
      until no further improvement) ended on ``since``; maintenance follows the neurological
      regimen.

    ``every_months`` is the patient's established maintenance interval, when known.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, title="CourseDeclaration")

    stage: Literal["maintenance", "loading_completed", "neuro_course_completed"]
    since: date
    every_months: WholeNumber | None = Field(default=None, ge=1, le=12)

    @field_validator("since", mode="before")
    @classmethod
    def _date(cls, raw: Any) -> Any:
        return iso_date(raw)

    def declaration(self) -> Declaration:
        """The core's form of the declaration."""
        return Declaration(self.stage, self.since, self.every_months)


class OrderCheckShape(_Strict):
    """The OrderCheck document; ``picture`` is a ClinicalPicture (see its own schema)."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="OrderCheck")

    picture: dict[str, Any]
    order: OrderIn
    other_orders: tuple[OrderIn, ...] = ()
    #: Products of other orders placed with this one whose dose or route could not be read:
    #: they still count as ordered (a B12 product is B12 cover) but are not judged.
    other_products: tuple[Annotated[str, Field(min_length=1, max_length=200)], ...] = ()
    history: tuple[GivenDose, ...] = ()
    events: tuple[EventIn, ...] = ()
    course: CourseIn | None = None
    as_of: date | None = None

    @field_validator("as_of", mode="before")
    @classmethod
    def _date(cls, raw: Any) -> Any:
        return iso_date(raw)


class FollowUpShape(_Strict):
    """The FollowUp document; ``picture`` is a ClinicalPicture (see its own schema)."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="FollowUp")

    picture: dict[str, Any]
    history: tuple[GivenDose, ...] = ()
    events: tuple[EventIn, ...] = ()
    course: CourseIn | None = None
    as_of: date | None = None

    @field_validator("as_of", mode="before")
    @classmethod
    def _date(cls, raw: Any) -> Any:
        return iso_date(raw)


@dataclass(frozen=True)
class Product:
    """A product name resolved against the vocabulary (``unknown`` when not recognised)."""

    name: str
    kind: Literal["b12", "folate", "unknown"]
    given_as: str


@dataclass(frozen=True)
class Dose:
    """A validated dose of a resolved product."""

    date: Date
    product: Product
    micrograms: float
    route: str


@dataclass(frozen=True)
class Order:
    """A validated order."""

    product: Product
    dose: DoseIn
    route: str
    site: str | None
    start: date
    interval_days: float | None


@dataclass(frozen=True)
class OrderCheckRequest:
    """A validated order check."""

    picture: ClinicalPicture
    order: Order
    other_orders: tuple[Order, ...]
    history: tuple[Dose, ...]
    as_of: date
    events: tuple[EventIn, ...] = ()
    declared: Declaration | None = None
    other_products: tuple[Product, ...] = ()


@dataclass(frozen=True)
class FollowUpRequest:
    """A validated follow-up request."""

    picture: ClinicalPicture
    history: tuple[Dose, ...]
    events: tuple[EventIn, ...]
    as_of: date
    declared: Declaration | None = None


def resolve_product(name: str, kb: KnowledgeBase) -> Product:
    """Match a product name or alias (case and spacing ignored); anything else is unknown."""
    key = " ".join(name.strip().lower().replace("_", " ").split())
    for pid, term in kb.vocabulary.products.items():
        names = {pid.replace("_", " "), term.label.lower(), *(a.lower() for a in term.aliases)}
        if key in names:
            return Product(pid, term.kind, name)
    return Product("unknown", "unknown", name)


def _shape(model: type[_Strict], raw: Any) -> Any:
    if not isinstance(raw, dict):
        raise InputError([FieldProblem("input", "expected a JSON object")])
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise InputError(field_problems(exc)) from None


def _as_of(shape_as_of: date | None, picture: ClinicalPicture, default: date | None) -> date:
    as_of = shape_as_of or picture.as_of or default
    if as_of is None:
        raise InputError([FieldProblem("as_of", "required")])
    return as_of


def _order(o: OrderIn, kb: KnowledgeBase, as_of: date, where: str) -> Order:
    interval: float | None = float(o.every_days) if o.every_days is not None else None
    if o.frequency is not None:
        term = kb.vocabulary.frequencies.get(o.frequency)
        if term is None:
            known = ", ".join(sorted(kb.vocabulary.frequencies))
            raise InputError(
                [
                    FieldProblem(
                        f"{where}.frequency",
                        f"unknown frequency {quoted(o.frequency)}; known: {known}",
                    )
                ]
            )
        if o.every_days is not None:
            raise InputError(
                [FieldProblem(f"{where}.frequency", "give every_days or frequency, not both")]
            )
        interval = term.interval_days
    return Order(resolve_product(o.drug, kb), o.dose, o.route, o.site, o.start or as_of, interval)


def _history(items: tuple[GivenDose, ...], kb: KnowledgeBase, as_of: date) -> tuple[Dose, ...]:
    problems: list[FieldProblem] = []
    out: list[Dose] = []
    for i, g in enumerate(items):
        product = resolve_product(g.drug, kb)
        if product.kind == "unknown":
            known = ", ".join(sorted(kb.vocabulary.products))
            problems.append(
                FieldProblem(
                    f"history[{i}].drug", f"unknown product {quoted(g.drug)}; known: {known}"
                )
            )
        if g.date > as_of:
            problems.append(FieldProblem(f"history[{i}].date", f"after as_of ({as_of})"))
        out.append(Dose(g.date, product, g.dose.micrograms, g.route))
    if problems:
        raise InputError(problems)
    return tuple(sorted(out, key=lambda d: (d.date, d.product.name, d.micrograms, d.route)))


def parse_order_check(
    raw: Any, kb: KnowledgeBase, default_as_of: date | None = None
) -> OrderCheckRequest:
    """Validate an OrderCheck document; raise :class:`InputError` naming every bad field."""
    shape: OrderCheckShape = _shape(OrderCheckShape, raw)
    picture = parse_picture(shape.picture, kb, "picture")
    as_of = _as_of(shape.as_of, picture, default_as_of)
    order = _order(shape.order, kb, as_of, "order")
    others = tuple(
        _order(o, kb, as_of, f"other_orders[{i}]") for i, o in enumerate(shape.other_orders)
    )
    products = tuple(resolve_product(name, kb) for name in shape.other_products)
    history = _history(shape.history, kb, as_of)
    events = _events(shape.events, kb, as_of)
    declared = _declared(shape.course, as_of)
    return OrderCheckRequest(
        picture, order, others, history, as_of, events, declared, other_products=products
    )


def parse_order_alone(raw: Any, kb: KnowledgeBase, as_of: date) -> Order:
    """Validate an OrderCheck ``order`` document on its own (no picture); errors name ``order``."""
    shape: OrderCheckShape = _shape(OrderCheckShape, {"picture": {}, "order": raw})
    return _order(shape.order, kb, as_of, "order")


def parse_follow_up(
    raw: Any, kb: KnowledgeBase, default_as_of: date | None = None
) -> FollowUpRequest:
    """Validate a FollowUp document; raise :class:`InputError` naming every bad field."""
    shape: FollowUpShape = _shape(FollowUpShape, raw)
    picture = parse_picture(shape.picture, kb, "picture")
    as_of = _as_of(shape.as_of, picture, default_as_of)
    history = _history(shape.history, kb, as_of)
    events = _events(shape.events, kb, as_of)
    return FollowUpRequest(picture, history, events, as_of, _declared(shape.course, as_of))


def _events(items: tuple[EventIn, ...], kb: KnowledgeBase, as_of: date) -> tuple[EventIn, ...]:
    """Events in date order; each must be a known kind on or before ``as_of``."""
    late = [
        FieldProblem(f"events[{i}].date", f"after as_of ({as_of})")
        for i, e in enumerate(items)
        if e.date > as_of
    ]
    known = kb.vocabulary.events
    late += [
        FieldProblem(
            f"events[{i}].kind",
            f"unknown event {quoted(e.kind)}; known: {', '.join(sorted(known))}",
        )
        for i, e in enumerate(items)
        if e.kind not in known
    ]
    if late:
        raise InputError(late)
    return tuple(sorted(items, key=lambda e: (e.date, e.kind)))


def _declared(course: CourseIn | None, as_of: date) -> Declaration | None:
    if course is None:
        return None
    if course.since > as_of:
        raise InputError([FieldProblem("course.since", f"after as_of ({as_of})")])
    return course.declaration()


def parse_dose_text(text: str, field: str = "dose") -> DoseIn:
    """``"1mg"``, ``"1000 mcg"`` or ``"100ug"`` → a dose; anything else is an input error."""
    raw = text.strip()
    number = raw.rstrip("abcdefghijklmnopqrstuvwxyzµμABCDEFGHIJKLMNOPQRSTUVWXYZ ").strip()
    unit = raw[len(number) :].strip()
    try:
        value = float(number)
    except ValueError:
        raise InputError(
            [FieldProblem(field, f"expected a dose like 1mg or 1000mcg, got {quoted(text)}")]
        ) from None
    try:
        return DoseIn(value=value, unit=unit)
    except ValidationError as exc:
        raise InputError(field_problems(exc, field)) from None
