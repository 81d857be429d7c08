import pytest

from b12.core import criteria
from b12.core.criteria import ConditionSyntaxError, Facts, evaluate, parse_condition


def _facts(
    scalars: dict[str, str | None] | None = None,
    lists: dict[str, frozenset[str]] | None = None,
    flags: tuple[str, ...] = (),
    numbers: dict[str, float] | None = None,
    present: tuple[str, ...] = (),
) -> Facts:
    return Facts(scalars or {}, lists or {}, frozenset(flags), numbers or {}, frozenset(present))


def _eval(raw: object, facts: Facts, params: dict[str, float] | None = None) -> bool:
    cond = parse_condition(raw)
    defs = {"neuro": parse_condition({"any": [{"symptom": "any"}, {"flag": "severe_neuro"}]})}
    return evaluate(cond, facts, (params or {}).__getitem__, defs)


def test_all_any_not_combine_leaves() -> None:
    facts = _facts(scalars={"cause": "dietary"}, lists={"conditions": frozenset({"ckd"})})
    assert _eval({"all": [{"cause": "dietary"}, {"condition": ["ckd", "dialysis"]}]}, facts)
    assert not _eval({"not": {"any": [{"cause": "dietary"}]}}, facts)
    assert _eval({"all": []}, facts)


def test_number_leaf_is_false_when_the_value_is_missing() -> None:
    cond = {"number": {"field": "labs.haemoglobin_g_l", "lt": 80}}
    assert not _eval(cond, _facts())
    assert _eval(cond, _facts(numbers={"labs.haemoglobin_g_l": 75.0}))


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [("lt", 20, False), ("le", 20, True), ("gt", 19, True), ("ge", 21, False)],
)
def test_number_leaf_resolves_parameters(op: str, value: float, expected: bool) -> None:
    facts = _facts(numbers={"ileal_resection_cm": 20.0})
    cond = {"number": {"field": "ileal_resection_cm", op: {"param": "p"}}}
    assert _eval(cond, facts, {"p": value}) is expected


def test_symptom_any_and_definitions() -> None:
    assert _eval({"def": "neuro"}, _facts(lists={"neuro_symptoms": frozenset({"ataxia"})}))
    assert _eval({"def": "neuro"}, _facts(flags=("severe_neuro",)))
    assert not _eval({"def": "neuro"}, _facts(lists={"neuro_symptoms": frozenset()}))


def test_present_and_absent() -> None:
    facts = _facts(present=("ileal_resection_cm",))
    assert _eval({"present": "ileal_resection_cm"}, facts)
    assert not _eval({"absent": "ileal_resection_cm"}, facts)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"cause": "x", "diet": "vegan"}, "exactly one key"),
        ({"wibble": 1}, "unknown condition key"),
        ({"all": {"cause": "x"}}, "list of conditions"),
        ({"flag": "tall"}, "unknown flag"),
        ({"number": {"field": "labs.x", "lt": 1, "gt": 2}}, "exactly one of"),
        ({"number": {"field": "height", "lt": 1}}, "unknown number field"),
        ({"number": {"field": "age", "lt": "old"}}, "expected a number"),
        ({"number": {"field": "age", "lt": {"parm": "x"}}}, "expected {param: id}"),
        ({"cause": []}, "non-empty list"),
        ({"any": [{"present": 3}]}, "field name"),
    ],
)
def test_bad_conditions_are_rejected_with_their_path(raw: object, message: str) -> None:
    with pytest.raises(ConditionSyntaxError, match=message):
        parse_condition(raw)


def test_error_path_points_inside_nested_condition() -> None:
    with pytest.raises(ConditionSyntaxError) as info:
        parse_condition({"all": [{"cause": "x"}, {"not": {"bogus": 1}}]})
    assert info.value.path == "all[1].not.bogus"


def test_walk_visits_every_node() -> None:
    cond = parse_condition({"all": [{"cause": "x"}, {"not": {"flag": "pregnant"}}]})
    assert len(criteria.walk(cond)) == 4
