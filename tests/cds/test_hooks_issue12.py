"""Issue 12 items 10, 12 and 13 through the real route (the decision itself is tested without
HTTP in ``test_hook_cards.py``)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from markdown_it import MarkdownIt

from tests.cds.hooks_support import (
    Hooks,
    conformance_problems,
    full_prefetch,
    med_request,
    order_sign,
    pernicious_anaemia,
)

SIGN = "b12-order-sign"


@pytest.fixture
def hooks(app: FastAPI, http: TestClient, cds_headers: Callable[..., dict[str, str]]) -> Hooks:
    return Hooks.make(app, http, cds_headers)


def test_an_ehr_dose_unit_is_not_rendered_as_an_image(hooks: Hooks) -> None:
    order = med_request("hydroxocobalamin", unit="tablets ![t](https://evil.example/t.png)")
    prefetch = full_prefetch(conditions=(pernicious_anaemia(),))
    response = hooks.call(SIGN, order_sign(order, prefetch=prefetch))
    assert response.status_code == 200
    rendered = [MarkdownIt("commonmark").render(c["detail"]) for c in response.json()["cards"]]
    assert rendered
    assert not any("<img" in r or "<a " in r for r in rendered)


def test_folic_acid_beside_an_unreadable_b12_order_is_not_critical(hooks: Hooks) -> None:
    b12 = med_request("hydroxocobalamin", mid="b12-1", dose=1, unit="g")
    folate = med_request("folic_acid", mid="fa-1", dose=5, route="oral", period=1, period_unit="d")
    prefetch = full_prefetch(conditions=(pernicious_anaemia(),))
    response = hooks.call(SIGN, order_sign(b12, folate, prefetch=prefetch))
    assert response.status_code == 200
    document = response.json()
    assert conformance_problems(document) == []
    assert [c["indicator"] for c in document["cards"]] == ["warning"]
    assert document["cards"][0]["source"]["topic"]["code"] == "order-not-checked"


def test_an_iv_order_without_any_prefetch_is_still_stopped(hooks: Hooks) -> None:
    response = hooks.call(SIGN, order_sign(med_request("hydroxocobalamin", route="intravenous")))
    assert response.status_code == 200, response.text
    document = response.json()
    assert conformance_problems(document) == []
    codes = [c["source"]["topic"]["code"] for c in document["cards"]]
    assert codes == ["IV_ROUTE", "partly-checked"]
