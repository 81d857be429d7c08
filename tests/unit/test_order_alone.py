"""``check_order_alone`` (an order judged with nothing known about the patient) and
``other_products`` (orders placed together that could not be read still count as ordered).

Issue 12, items 12 and 13: the CDS service checks draft orders without patient data, and an
unreadable B12 order beside folic acid is still B12 cover.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Any, get_args

from hypothesis import given, settings
from hypothesis import strategies as st

from b12.adapters.knowledge_files import load_knowledge_base
from b12.core.knowledge import KnowledgeBase, Route, Site
from b12.core.order_check import check_order_alone, order_only
from b12.core.requests import order_check_request
from tests.conftest import make_picture

AS_OF = date(2026, 3, 2)


@cache
def _kb() -> KnowledgeBase:
    """Loaded here, not a fixture: a failing example's report would print the whole base."""
    return load_knowledge_base()


FOLATE = {
    "drug": "folic_acid",
    "dose": {"value": 5, "unit": "mg"},
    "route": "oral",
    "every_days": 1,
}


def codes(result: Any) -> set[str]:
    return {a.code for a in result.alerts}


def test_only_rules_about_the_order_alone_are_order_only(kb: KnowledgeBase) -> None:
    defs = kb.vocabulary.definitions
    by_code: dict[str, set[bool]] = {}
    for rule in kb.usable("others", "uk", False):
        code = getattr(rule.action, "code", None)
        if code is not None:
            by_code.setdefault(code, set()).add(order_only(rule.when, defs))
    assert by_code["IV_ROUTE"] == {True}
    assert by_code["GLUTEAL_SITE"] == {True}
    assert by_code["DOSE_UNIT_IMPLAUSIBLE"] == {True}
    assert by_code["FOLATE_ALONE"] == {False}  # needs B12 status and cover
    assert by_code["COBALT_ALLERGY"] == {False}  # needs the patient's conditions
    assert by_code["PAEDIATRIC_OUT_OF_SCOPE"] == {False}  # needs the age
    assert order_only(None, defs) is False  # an unconditional rule is not about the order


def test_an_iv_order_alone_is_a_stop(kb: KnowledgeBase) -> None:
    order = {"drug": "hydroxocobalamin", "dose": {"value": 1, "unit": "mg"}, "route": "iv"}
    result = check_order_alone(order, kb, as_of=AS_OF)
    assert result.verdict == "stop"
    assert "IV_ROUTE" in codes(result)
    assert result.timing.status == "not_applicable"


def test_folic_acid_alone_is_not_judged_without_the_patient(kb: KnowledgeBase) -> None:
    assert "FOLATE_ALONE" not in codes(check_order_alone(FOLATE, kb, as_of=AS_OF))


def test_an_unreadable_b12_order_is_cover_through_other_products(kb: KnowledgeBase) -> None:
    picture = make_picture(cause="pernicious_anaemia")
    alone = order_check_request({"picture": picture, "order": FOLATE}, kb)
    covered = order_check_request(
        {"picture": picture, "order": FOLATE, "other_products": ["hydroxocobalamin"]}, kb
    )
    not_b12 = order_check_request(
        {"picture": picture, "order": FOLATE, "other_products": ["folic acid"]}, kb
    )
    assert "FOLATE_ALONE" in codes(alone)
    assert "FOLATE_ALONE" not in codes(covered)
    assert "FOLATE_ALONE" in codes(not_b12)


ORDERS = st.fixed_dictionaries(
    {
        "drug": st.sampled_from(["hydroxocobalamin", "cyanocobalamin", "folic_acid"]),
        "dose": st.builds(
            lambda v, u: {"value": v, "unit": u},
            st.sampled_from([0.05, 1, 5, 50, 250, 1000, 2000]),
            st.sampled_from(["ug", "mg"]),
        ),
        "route": st.sampled_from(get_args(Route)),
    },
    optional={
        "site": st.sampled_from(get_args(Site)),
        "every_days": st.integers(min_value=1, max_value=200),
    },
)
PICTURES = st.sampled_from(
    [
        make_picture(),
        make_picture(age=12, cause="pernicious_anaemia"),
        make_picture(deficiency="not_deficient", conditions=["cobalt_allergy"]),
        make_picture(deficiency=None, labs={"serum_b12_ng_l": 90}, guideline="uk"),
    ]
)


@settings(max_examples=80, deadline=None)
@given(order=ORDERS, picture=PICTURES)
def test_what_is_said_without_the_patient_is_said_with_any_patient(
    order: dict[str, Any], picture: dict[str, Any]
) -> None:
    """No alert from the order alone depends on the patient: every one of them is also raised
    by the full check, whatever the patient."""
    kb = _kb()
    alone = check_order_alone(order, kb, as_of=AS_OF)
    full = order_check_request({"picture": picture, "order": order}, kb)
    assert codes(alone) <= codes(full)
