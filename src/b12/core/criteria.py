"""The small declarative condition language of the knowledge base.

A condition is a mapping with exactly one key.  Combinators: ``all: [..]``, ``any: [..]``,
``not: {..}``.  Leaves (no expressions, no ``eval``)::

    cause: [autoimmune_gastritis]            any of the picture's causes (``cause`` and ``causes``)
    deficiency / diet / sex / guideline / route_preference / drug_preference: [...]
    stated_deficiency: [...]                 the status as entered (``deficiency`` is the
                                             status used: entered, or worked out from labs)
    condition: [total_gastrectomy, ...]      the picture lists any of these
    medication: [...] · symptom: [...] | any · flag: pregnant
    number: {field: labs.haemoglobin_g_l, lt: 80}      lt/le/gt/ge; a value or {param: id}
    present: labs.mma_nmol_l · absent: ileal_resection_cm
    def: neuro_involvement                   a named condition from the vocabulary
    pathway: [..] · regimen_drug: [..] · regimen_route: [..] · phase_kind: [loading]
                                             facts about the plan being built (safety rules)
    order_drug / order_kind / order_route / order_site / order_timing: [..] · flag: b12_cover
    number: {field: order.dose_ug | order.interval_days, ...}   facts about a proposed order
    event: [..] · timing: [overdue, ...] · regimen_until: [event] · history_route: [oral|injection]
    course_basis: [recorded|declared|inferred|ambiguous] · number: {field: course.interval_days}
    flag: last_dose_unknown | interval_beyond_regimen
                                             facts about a course under follow-up or order check

Conditions are parsed once at knowledge-base load (so a typo is a load error naming the file
and field) and evaluated against :class:`Facts`.  A number leaf whose field is missing is false.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

MEMBERSHIP_FIELDS = (
    "cause",
    "deficiency",
    "stated_deficiency",
    "diet",
    "sex",
    "guideline",
    "route_preference",
    "drug_preference",
)
LIST_FIELDS = {"condition": "conditions", "medication": "medications", "symptom": "neuro_symptoms"}
#: Fields that hold a set of values (membership means "any of").
SET_FIELDS = frozenset({*LIST_FIELDS.values(), "cause", "phase_kind", "event", "regimen_until"})
FLAGS = (
    "pregnant",
    "breastfeeding",
    "severe_neuro",
    "adherence_concern",
    "ifab_positive",
    "b12_cover",
    "first_dose_due",
    "last_dose_unknown",
    "interval_beyond_regimen",
)
PLAN_FIELDS = ("pathway", "regimen_drug", "regimen_route", "phase_kind")
#: Facts about a proposed order (order checks) and about a course (follow-up).
ORDER_FIELDS = ("order_drug", "order_kind", "order_route", "order_site", "order_timing")
COURSE_FIELDS = ("event", "timing", "regimen_until", "history_route", "course_basis")
NUMBER_FIELDS = (
    "age",
    "ileal_resection_cm",
    "order.dose_ug",
    "order.interval_days",
    "course.interval_days",
)
COMPARATORS = ("lt", "le", "gt", "ge")

Op = Literal["lt", "le", "gt", "ge"]


@dataclass(frozen=True, slots=True)
class All:
    """True when every part is true (an empty ``all`` is true)."""

    parts: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    """True when at least one part is true."""

    parts: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """Negation."""

    part: Condition


@dataclass(frozen=True, slots=True)
class Member:
    """A scalar picture field (or a list field) has one of ``values``."""

    field: str
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Flag:
    """A boolean picture fact is true."""

    name: str


@dataclass(frozen=True, slots=True)
class Compare:
    """A numeric picture field compared with a literal or a knowledge-base parameter."""

    field: str
    op: Op
    value: float | None
    param: str | None


@dataclass(frozen=True, slots=True)
class Present:
    """A picture field is given (``present``) or not given (``absent``)."""

    field: str
    present: bool


@dataclass(frozen=True, slots=True)
class Ref:
    """A named condition defined in the vocabulary."""

    name: str


Condition = All | AnyOf | Not | Member | Flag | Compare | Present | Ref


class ConditionSyntaxError(ValueError):
    """Raised at load time; ``path`` locates the problem inside the condition."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _names(raw: object, path: str) -> tuple[str, ...]:
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list) or not items or not all(isinstance(i, str) for i in items):
        raise ConditionSyntaxError(path, "expected a name or a non-empty list of names")
    return tuple(items)


def _number_field(field: object, path: str) -> str:
    if not isinstance(field, str) or not (
        field in NUMBER_FIELDS or (field.startswith("labs.") and len(field) > 5)
    ):
        raise ConditionSyntaxError(path, f"unknown number field {field!r}")
    return field


def _parse_compare(raw: object, path: str) -> Compare:
    if not isinstance(raw, Mapping):
        raise ConditionSyntaxError(path, "expected a mapping with field and one comparator")
    extra = set(raw) - {"field", *COMPARATORS}
    if extra:
        raise ConditionSyntaxError(path, f"unknown keys {sorted(extra)}")
    ops = [k for k in COMPARATORS if k in raw]
    if len(ops) != 1:
        raise ConditionSyntaxError(path, "give exactly one of lt, le, gt, ge")
    op: Op = ops[0]  # type: ignore[assignment]
    field = _number_field(raw.get("field"), _join(path, "field"))
    target = raw[op]
    if isinstance(target, bool) or not isinstance(target, int | float | Mapping):
        raise ConditionSyntaxError(_join(path, op), "expected a number or {param: id}")
    if isinstance(target, Mapping):
        if set(target) != {"param"} or not isinstance(target["param"], str):
            raise ConditionSyntaxError(_join(path, op), "expected {param: id}")
        return Compare(field, op, None, target["param"])
    return Compare(field, op, float(target), None)


def parse_condition(raw: object, path: str = "") -> Condition:  # noqa: C901 - one branch per key
    """Parse the YAML form of a condition; raise :class:`ConditionSyntaxError` on any problem."""
    if not isinstance(raw, Mapping) or len(raw) != 1:
        raise ConditionSyntaxError(path, "a condition is a mapping with exactly one key")
    ((key, value),) = raw.items()
    here = _join(path, str(key))
    if key in ("all", "any"):
        if not isinstance(value, list):
            raise ConditionSyntaxError(here, "expected a list of conditions")
        parts = tuple(parse_condition(v, _join(here, i)) for i, v in enumerate(value))
        return All(parts) if key == "all" else AnyOf(parts)
    if key == "not":
        return Not(parse_condition(value, here))
    if key in (*MEMBERSHIP_FIELDS, *PLAN_FIELDS, *ORDER_FIELDS, *COURSE_FIELDS):
        return Member(str(key), _names(value, here))
    if key in LIST_FIELDS:
        return Member(LIST_FIELDS[str(key)], _names(value, here))
    if key == "flag":
        if value not in FLAGS:
            raise ConditionSyntaxError(here, f"unknown flag {value!r}; known: {', '.join(FLAGS)}")
        return Flag(str(value))
    if key == "number":
        return _parse_compare(value, here)
    if key in ("present", "absent"):
        if not isinstance(value, str):
            raise ConditionSyntaxError(here, "expected a field name")
        return Present(value, key == "present")
    if key == "def":
        if not isinstance(value, str):
            raise ConditionSyntaxError(here, "expected a definition name")
        return Ref(value)
    raise ConditionSyntaxError(here, f"unknown condition key {key!r}")


@dataclass(frozen=True, slots=True)
class Facts:
    """What a condition can see: the picture's facts plus, optionally, the plan being built."""

    scalars: Mapping[str, str | None]
    lists: Mapping[str, frozenset[str]]
    flags: frozenset[str]
    numbers: Mapping[str, float]
    present: frozenset[str]


Resolver = Callable[[str], float]
Definitions = Mapping[str, Condition]


def evaluate(cond: Condition, facts: Facts, params: Resolver, defs: Definitions) -> bool:
    """Evaluate ``cond`` against ``facts``; ``params`` resolves ``{param: id}`` thresholds."""
    match cond:
        case All(parts):
            return all(evaluate(p, facts, params, defs) for p in parts)
        case AnyOf(parts):
            return any(evaluate(p, facts, params, defs) for p in parts)
        case Not(part):
            return not evaluate(part, facts, params, defs)
        case Member(field, values):
            if field in facts.lists:
                have = facts.lists[field]
                return bool(have) if values == ("any",) else not have.isdisjoint(values)
            return facts.scalars.get(field) in values
        case Flag(name):
            return name in facts.flags
        case Compare(field, op, value, param):
            return _compare(facts.numbers.get(field), op, params(param) if param else value)
        case Present(field, want):
            return (field in facts.present) is want
        case Ref(name):
            return evaluate(defs[name], facts, params, defs)
    raise AssertionError(f"unhandled condition {cond!r}")  # pragma: no cover


def _compare(have: float | None, op: Op, target: float | None) -> bool:
    if have is None or target is None:
        return False
    if op == "lt":
        return have < target
    if op == "le":
        return have <= target
    if op == "gt":
        return have > target
    return have >= target


def walk(cond: Condition) -> list[Condition]:
    """Every node of ``cond``, depth first (used by reference checks)."""
    out: list[Condition] = [cond]
    if isinstance(cond, All | AnyOf):
        for p in cond.parts:
            out.extend(walk(p))
    elif isinstance(cond, Not):
        out.extend(walk(cond.part))
    return out


def parse_any(raw: Any, path: str) -> Condition:
    """Pydantic-friendly wrapper: already-parsed conditions pass through."""
    if isinstance(raw, All | AnyOf | Not | Member | Flag | Compare | Present | Ref):
        return raw
    return parse_condition(raw, path)


Predicate = Callable[[Facts], bool]


def compile_condition(cond: Condition, params: Resolver, defs: Definitions) -> Predicate:
    """Turn a parsed condition into a closure, resolving parameters and definitions once.

    Gives the same answers as :func:`evaluate` (a property test checks this) but avoids
    re-walking the tree for every picture.
    """
    match cond:
        case All(parts):
            preds = tuple(compile_condition(p, params, defs) for p in parts)
            return lambda f: all(p(f) for p in preds)
        case AnyOf(parts):
            preds = tuple(compile_condition(p, params, defs) for p in parts)
            return lambda f: any(p(f) for p in preds)
        case Not(part):
            inner = compile_condition(part, params, defs)
            return lambda f: not inner(f)
        case Member(field, values):
            wanted = frozenset(values)
            if field in SET_FIELDS:
                if values == ("any",):
                    return lambda f: bool(f.lists.get(field))
                return lambda f: not wanted.isdisjoint(f.lists.get(field, ()))
            return lambda f: f.scalars.get(field) in wanted
        case Flag(name):
            return lambda f: name in f.flags
        case Compare(field, op, value, param):
            target = params(param) if param else value
            return lambda f: _compare(f.numbers.get(field), op, target)
        case Present(field, want):
            return lambda f: (field in f.present) is want
        case Ref(name):
            return compile_condition(defs[name], params, defs)
    raise AssertionError(f"unhandled condition {cond!r}")  # pragma: no cover
