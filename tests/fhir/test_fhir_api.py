"""The FHIR endpoints of the web app: definitions, ``$apply`` end to end, auth and errors."""

# The web fixtures are imported by name (F401) and then requested as arguments (F811).
# ruff: noqa: F401, F811

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from b12.adapters.fhir.codes import load_code_table
from b12.adapters.fhir.definitions import PROTOCOL_ID
from b12.core.knowledge import KnowledgeBase
from tests.fhir.outbound_support import empty_elements, not_emittable, resources, validate
from tests.fhir.test_definitions import patient_bundle
from tests.web.conftest import (
    SignedIn,
    anonymous,
    app,
    backend,
    bearer,
    client,
    clock,
    knowledge_raw,
    services,
    web_db_url,
)

FHIR_JSON = "application/fhir+json"
Bearer = Callable[[str], dict[str, str]]


def _parameters(bundle: dict[str, Any], **extra: dict[str, Any]) -> dict[str, Any]:
    params: list[dict[str, Any]] = [{"name": "data", "resource": bundle}]
    params.extend({"name": name, **value} for name, value in extra.items())
    return {"resourceType": "Parameters", "parameter": params}


def _error_code(response: Any) -> str:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    code: str = body["error"]["code"]
    return code


def test_plan_definitions_are_listed_and_read(
    anonymous: TestClient, bearer: Bearer, kb: KnowledgeBase
) -> None:
    auth = bearer("nurse")
    listed = anonymous.get("/fhir/PlanDefinition", headers=auth)
    assert listed.status_code == 200
    assert listed.headers["content-type"].startswith(FHIR_JSON)
    bundle = listed.json()
    validate(bundle)
    assert bundle["type"] == "searchset"
    assert bundle["total"] == len(kb.pathways) + 1
    ids = {e["resource"]["id"] for e in bundle["entry"]}
    assert ids == {*kb.pathways, PROTOCOL_ID}

    one = anonymous.get("/fhir/PlanDefinition/uk-im-neuro", headers=auth)
    assert one.status_code == 200
    assert one.headers["content-type"].startswith(FHIR_JSON)
    pd = one.json()
    validate(pd)
    canonical = pd["action"][0]["definitionCanonical"]
    assert canonical.endswith("/ActivityDefinition/UK-HYDROXO-NEURO")
    ad = anonymous.get("/fhir/ActivityDefinition/UK-HYDROXO-NEURO", headers=auth)
    assert ad.status_code == 200
    validate(ad.json())
    assert ad.json()["url"] == canonical
    assert anonymous.get("/fhir/PlanDefinition/uk-im-neuro", headers=auth).content == one.content

    filtered = anonymous.get("/fhir/PlanDefinition", params={"url": pd["url"]}, headers=auth).json()
    assert filtered["total"] == 1
    none = anonymous.get("/fhir/PlanDefinition", params={"status": "retired"}, headers=auth)
    assert none.json()["total"] == 0
    validate(none.json())


def test_unknown_ids_are_404_in_the_canonical_shape(anonymous: TestClient, bearer: Bearer) -> None:
    auth = bearer("clinician")
    for url in (
        "/fhir/PlanDefinition/nope",
        "/fhir/ActivityDefinition/uk-im-neuro",
    ):
        response = anonymous.get(url, headers=auth)
        assert response.status_code == 404, url
        assert _error_code(response) == "not_found"
    response = anonymous.post(
        "/fhir/PlanDefinition/nope/$apply", json=patient_bundle(), headers=auth
    )
    assert response.status_code == 404
    assert _error_code(response) == "not_found"


def test_without_credentials_every_fhir_endpoint_is_401(anonymous: TestClient) -> None:
    for method, url in (
        ("GET", "/fhir/PlanDefinition"),
        ("GET", "/fhir/PlanDefinition/uk-im-neuro"),
        ("GET", "/fhir/ActivityDefinition/UK-HYDROXO-NEURO"),
        ("POST", "/fhir/PlanDefinition/uk-im-neuro/$apply"),
    ):
        response = anonymous.request(method, url, json=patient_bundle())
        assert response.status_code == 401, url
        assert _error_code(response) == "unauthorized"


def test_apply_end_to_end_with_parameters(
    anonymous: TestClient, bearer: Bearer, kb: KnowledgeBase
) -> None:
    table = load_code_table()
    response = anonymous.post(
        "/fhir/PlanDefinition/uk-im-no-neuro/$apply",
        json=_parameters(patient_bundle()),
        headers={**bearer("clinician"), "Content-Type": FHIR_JSON},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(FHIR_JSON)
    bundle = response.json()
    validate(bundle)
    assert not_emittable(bundle, table) == []
    assert empty_elements(bundle) == []
    (care,) = resources(bundle, "CarePlan")
    assert care["subject"] == {"reference": "Patient/pa1"}
    assert care["instantiatesCanonical"][0].endswith("/PlanDefinition/uk-im-no-neuro")
    assert care["created"] == "2026-03-02"  # the app's clock
    (med,) = resources(bundle, "MedicationRequest")
    assert all(d["text"] for d in med["dosageInstruction"])
    assert resources(bundle, "ServiceRequest")


def test_apply_with_a_bare_bundle_as_of_subject_and_guideline(
    anonymous: TestClient, bearer: Bearer
) -> None:
    auth = bearer("nurse")
    bare = anonymous.post(
        "/fhir/PlanDefinition/b12-treatment/$apply",
        params={"as_of": "2026-04-01"},
        json=patient_bundle(),
        headers=auth,
    )
    assert bare.status_code == 200, bare.text
    (care,) = resources(bare.json(), "CarePlan")
    assert care["created"] == "2026-04-01"
    params = _parameters(
        patient_bundle(),
        subject={"valueReference": {"reference": "Patient/pa1"}},
        guideline={"valueCode": "us"},
    )
    us = anonymous.post("/fhir/PlanDefinition/b12-treatment/$apply", json=params, headers=auth)
    assert us.status_code == 200, us.text
    (care,) = resources(us.json(), "CarePlan")
    assert care["instantiatesCanonical"][0].rsplit("/", 1)[1].startswith("us-")
    mismatch = anonymous.post(
        "/fhir/PlanDefinition/uk-oral-dietary/$apply", json=patient_bundle(), headers=auth
    )
    assert mismatch.status_code == 200
    (care,) = resources(mismatch.json(), "CarePlan")
    assert any("'uk-oral-dietary'" in n["text"] for n in care["note"])


def test_unusable_input_is_422_in_the_canonical_shape(
    anonymous: TestClient, bearer: Bearer
) -> None:
    auth = bearer("clinician")
    url = "/fhir/PlanDefinition/uk-im-no-neuro/$apply"
    cases: list[tuple[Any, str]] = [
        ({"resourceType": "Patient", "id": "x"}, "resourceType"),
        ({"resourceType": "Parameters", "parameter": []}, "parameter"),
        ({"resourceType": "Parameters", "parameter": [{"name": "data"}]}, "parameter[0].resource"),
        ({"resourceType": "Parameters"}, "parameter"),
        ([1, 2], "body"),
        ({"resourceType": "Bundle", "type": "collection", "entry": []}, "Patient"),
        (_parameters(patient_bundle(), subject={"valueString": "Patient/zz"}), "patient"),
        (_parameters(patient_bundle(), guideline={"valueCode": "fr"}), "guideline"),
    ]
    for body, field in cases:
        response = anonymous.post(url, json=body, headers=auth)
        assert response.status_code == 422, (body, response.text)
        assert _error_code(response) == "invalid_input"
        fields = [f["field"] for f in response.json()["error"]["fields"]]
        assert field in fields, (field, fields)
    bad_json = anonymous.post(url, content=b"{not json", headers=auth)
    assert bad_json.status_code == 422
    bad_date = anonymous.post(
        url, params={"as_of": "yesterday"}, json=patient_bundle(), headers=auth
    )
    assert bad_date.status_code == 422
    assert [f["field"] for f in bad_date.json()["error"]["fields"]] == ["as_of"]


def test_a_browser_session_needs_the_csrf_header_to_apply(
    client: Callable[[str], SignedIn],
) -> None:
    http = client("clinician")
    url = "/fhir/PlanDefinition/uk-im-no-neuro/$apply"
    refused = http.post(url, json=patient_bundle())
    assert refused.status_code == 403
    assert _error_code(refused)
    accepted = http.post_json(url, patient_bundle())
    assert accepted.status_code == 200, accepted.text
    assert http.get("/fhir/PlanDefinition/uk-im-no-neuro").status_code == 200


def test_the_fhir_endpoints_are_in_the_openapi_document(anonymous: TestClient) -> None:
    paths = anonymous.get("/api/openapi.json").json()["paths"]
    assert "get" in paths["/fhir/PlanDefinition"]
    assert "get" in paths["/fhir/PlanDefinition/{resource_id}"]
    assert "get" in paths["/fhir/ActivityDefinition/{resource_id}"]
    assert "post" in paths["/fhir/PlanDefinition/{resource_id}/$apply"]
