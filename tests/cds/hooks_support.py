"""Shared helpers of the CDS Hooks service tests (``test_hooks_*.py``).

* FHIR builders (:func:`patient`, :func:`b12_result`, :func:`condition`, :func:`med_request`)
  and request bodies (:func:`order_sign`, :func:`order_select`, :func:`patient_view`).
* :class:`FakeFhir` — the client's FHIR server as an injected fetch (records URLs and tokens).
* :class:`Hooks` — the real app behind a ``TestClient``, each call with a fresh signed JWT.
* :func:`conformance_problems` — the CDS Hooks 2.0 response invariants (cds-resp-1..7, the
  Inferno CRD card checks, no null/empty anywhere) as a list of findings.

Each test module makes its ``hooks`` fixture with :meth:`Hooks.make` (fixtures from
``tests/cds/conftest.py``).
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fastapi import FastAPI
from fastapi.testclient import TestClient

from b12.adapters.cds.cards import empty_paths
from b12.adapters.cds.prefetch import FetchFailed
from b12.entrypoints.web import cds_hooks

EXAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "fhir-samples" / "cds-hooks-examples"
FHIR_SERVER = "https://fhir.example.test/r4"
ACCESS_TOKEN = "fhir-access-token-5c1b9e0d7a"
PATIENT_ID = "pat-1"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
ATC = "http://www.whocc.no/atc"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
UCUM = "http://unitsofmeasure.org"
ROUTES = {
    "im": (SNOMED, "78421000", "Intramuscular route"),
    "sc": (SNOMED, "34206005", "Subcutaneous route"),
    "oral": (SNOMED, "26643006", "Oral route"),
}
DRUGS = {
    "hydroxocobalamin": (ATC, "B03BA03", "hydroxocobalamin"),
    "cyanocobalamin": (ATC, "B03BA01", "cyanocobalamin"),
    "folic_acid": (ATC, "B03BB01", "folic acid"),
}
SERVICE_IDS = ("b12-patient-view", "b12-order-select", "b12-order-sign")
INDICATORS = ("info", "warning", "critical")


# -- FHIR builders ---------------------------------------------------------------------------


def patient(
    pid: str = PATIENT_ID, birth: str = "1958-05-01", gender: str = "female"
) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, "birthDate": birth, "gender": gender}


def b12_result(value: float, when: str = "2026-02-20", oid: str = "obs-b12") -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "2132-9"}]},
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "effectiveDateTime": when,
        "valueQuantity": {"value": value, "unit": "pg/mL", "system": UCUM, "code": "pg/mL"},
    }


def condition(system: str, code: str, cid: str, text: str | None = None) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "Condition",
        "id": cid,
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": "active",
                }
            ]
        },
        "code": {"coding": [{"system": system, "code": code}]},
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
    }
    if text:
        res["code"]["text"] = text
    return res


def pernicious_anaemia() -> dict[str, Any]:
    return condition(ICD10CM, "D51.0", "cond-pa")


def searchset(*resources: Mapping[str, Any], next_url: str | None = None) -> dict[str, Any]:
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [{"resource": dict(r), "search": {"mode": "match"}} for r in resources],
    }
    if next_url:
        bundle["link"] = [{"relation": "next", "url": next_url}]
    return bundle


def med_request(
    drug: str,
    *,
    mid: str = "mr-1",
    dose: float | None = 1,
    unit: str = "mg",
    route: str | None = "im",
    site: str | None = None,
    frequency: int = 1,
    period: float = 3,
    period_unit: str = "mo",
    status: str = "draft",
    coded: bool = True,
) -> dict[str, Any]:
    """A draft MedicationRequest (``drug`` a key of :data:`DRUGS`, or free text)."""
    if coded and drug in DRUGS:
        system, code, display = DRUGS[drug]
        medication: dict[str, Any] = {
            "coding": [{"system": system, "code": code, "display": display}]
        }
    else:
        medication = {"text": drug}
    dosage: dict[str, Any] = {
        "text": "as ordered",
        "timing": {"repeat": {"frequency": frequency, "period": period, "periodUnit": period_unit}},
    }
    if dose is not None:
        dosage["doseAndRate"] = [
            {"doseQuantity": {"value": dose, "unit": unit, "system": UCUM, "code": unit}}
        ]
    if route in ROUTES:
        system, code, display = ROUTES[route]
        dosage["route"] = {"coding": [{"system": system, "code": code, "display": display}]}
    elif route is not None:
        dosage["route"] = {"text": route}
    if site is not None:
        dosage["site"] = {"text": site}
    return {
        "resourceType": "MedicationRequest",
        "id": mid,
        "status": status,
        "intent": "order",
        "medicationCodeableConcept": medication,
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "dosageInstruction": [dosage],
    }


def full_prefetch(
    *,
    b12: float | None = 110,
    conditions: tuple[dict[str, Any], ...] = (),
    meds: tuple[dict[str, Any], ...] = (),
    person: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Every prefetch key of the b12 services, satisfied."""
    return {
        "patient": person or patient(),
        "b12": searchset(b12_result(b12)) if b12 is not None else None,
        "labs": None,
        "conditions": searchset(*conditions) if conditions else None,
        "medicationRequests": searchset(*meds) if meds else None,
        "medicationStatements": None,
        "procedures": None,
    }


def draft_orders(*resources: Mapping[str, Any]) -> dict[str, Any]:
    """``draftOrders`` as EHRs send it: a Bundle without ``type`` (as in the spec's examples)."""
    return {"resourceType": "Bundle", "entry": [{"resource": dict(r)} for r in resources]}


def _base(hook: str, context: dict[str, Any], prefetch: dict[str, Any] | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "hook": hook,
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/doc-1", "patientId": PATIENT_ID, **context},
    }
    if prefetch is not None:
        body["prefetch"] = prefetch
    return body


def order_sign(
    *orders: Mapping[str, Any], prefetch: dict[str, Any] | None = None
) -> dict[str, Any]:
    return _base("order-sign", {"draftOrders": draft_orders(*orders)}, prefetch)


def order_select(
    *orders: Mapping[str, Any], selections: list[str], prefetch: dict[str, Any] | None = None
) -> dict[str, Any]:
    context = {"draftOrders": draft_orders(*orders), "selections": selections}
    return _base("order-select", context, prefetch)


def patient_view(prefetch: dict[str, Any] | None = None) -> dict[str, Any]:
    return _base("patient-view", {}, prefetch)


def with_server(body: dict[str, Any], token: str = ACCESS_TOKEN) -> dict[str, Any]:
    """``body`` with ``fhirServer`` and ``fhirAuthorization`` (a bearer for the fallback)."""
    out = copy.deepcopy(body)
    out["fhirServer"] = FHIR_SERVER
    out["fhirAuthorization"] = {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "patient/Patient.read patient/Observation.read",
        "subject": "b12-cds",
        "patient": PATIENT_ID,
    }
    return out


def example(name: str) -> Any:
    """One of the shared CDS Hooks example documents (parsed JSON)."""
    return json.loads((EXAMPLES / name).read_text("utf-8"))


# -- the FHIR server -----------------------------------------------------------------------------


@dataclass
class FakeFhir:
    """The client's FHIR server: answers by resource type (searches filtered by ``code``)."""

    resources: list[dict[str, Any]] = field(default_factory=list)
    calls: list[tuple[str, str | None]] = field(default_factory=list)
    failing: bool = False
    status: int = 200

    async def __call__(self, url: str, token: str | None) -> Any:
        self.calls.append((url, token))
        if self.failing:
            raise FetchFailed("no answer (ConnectError)")
        if self.status != 200:
            raise FetchFailed(f"HTTP {self.status}")
        parts = urlsplit(url)
        assert url.startswith(FHIR_SERVER + "/"), url
        path = parts.path.removeprefix(urlsplit(FHIR_SERVER).path).strip("/")
        kind, _, rid = path.partition("/")
        if rid:
            for res in self.resources:
                if res["resourceType"] == kind and res.get("id") == rid:
                    return res
            raise FetchFailed("HTTP 404")
        query = parse_qs(parts.query)
        codes = {c.split("|")[-1] for v in query.get("code", []) for c in v.split(",")}
        found = []
        for res in self.resources:
            if res["resourceType"] != kind:
                continue
            if codes:
                own = {c.get("code") for c in res.get("code", {}).get("coding", [])}
                if not own & codes:
                    continue
            found.append(res)
        return searchset(*found)


# -- the app --------------------------------------------------------------------------------------


@dataclass
class Hooks:
    """The app's CDS endpoints with a fresh JWT on every call."""

    app: FastAPI
    http: TestClient
    headers: Callable[..., dict[str, str]]
    fhir: FakeFhir

    @classmethod
    def make(
        cls, app: FastAPI, http: TestClient, cds_headers: Callable[..., dict[str, str]]
    ) -> Hooks:
        fhir = FakeFhir()
        cds_hooks.configure(app, fetch=fhir)
        return cls(app, http, cds_headers, fhir)

    def discovery(self) -> Any:
        return self.http.get("/cds-services", headers=self.headers("/cds-services"))

    def call(self, service_id: str, body: Any, **kwargs: Any) -> Any:
        path = f"/cds-services/{service_id}"
        if isinstance(body, bytes | str):
            return self.http.post(path, content=body, headers=self.headers(path, **kwargs))
        return self.http.post(path, json=body, headers=self.headers(path, **kwargs))

    def feedback(self, service_id: str, body: Any) -> Any:
        path = f"/cds-services/{service_id}/feedback"
        return self.http.post(path, json=body, headers=self.headers(path))

    def cards(self, service_id: str, body: Any) -> list[dict[str, Any]]:
        """The cards of a call that must succeed and conform."""
        response = self.call(service_id, body)
        assert response.status_code == 200, response.text
        document = response.json()
        problems = conformance_problems(document)
        assert not problems, problems
        cards: list[dict[str, Any]] = document["cards"]
        return cards


# -- conformance ----------------------------------------------------------------------------------


def _absolute(url: Any) -> bool:
    parts = urlsplit(url) if isinstance(url, str) else None
    return parts is not None and parts.scheme in ("https", "http") and bool(parts.netloc)


def _suggestion_problems(where: str, card: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    suggestions = card.get("suggestions")
    if suggestions is None:
        if "selectionBehavior" in card:
            out.append(f"{where}: selectionBehavior without suggestions")
        return out
    if card.get("selectionBehavior") not in ("at-most-one", "any"):
        out.append(f"{where}: suggestions need selectionBehavior at-most-one|any (cds-resp-6)")
    recommended = [s for s in suggestions if s.get("isRecommended") is True]
    if card.get("selectionBehavior") == "at-most-one" and len(recommended) > 1:
        out.append(f"{where}: more than one isRecommended with at-most-one (cds-resp-1)")
    for j, s in enumerate(suggestions):
        if not isinstance(s.get("label"), str) or not s["label"]:
            out.append(f"{where}.suggestions[{j}]: label required")
        asb = s.get("actionSelectionBehavior")
        if asb is not None and asb not in ("all", "any", "at-most-one"):
            out.append(f"{where}.suggestions[{j}]: bad actionSelectionBehavior (cds-resp-7)")
        for k, action in enumerate(s.get("actions", [])):
            at = f"{where}.suggestions[{j}].actions[{k}]"
            if action.get("type") not in ("create", "update", "delete"):
                out.append(f"{at}: type must be create|update|delete")
            if not isinstance(action.get("description"), str) or not action["description"]:
                out.append(f"{at}: description required (cds-resp-5)")
            res = action.get("resource")
            if action.get("type") in ("create", "update") and not (
                isinstance(res, dict) and isinstance(res.get("resourceType"), str)
            ):
                out.append(f"{at}: {action.get('type')} needs the whole resource")
            if action.get("type") == "update" and not (isinstance(res, dict) and res.get("id")):
                out.append(f"{at}: update needs the resource's id")
            if action.get("type") == "delete" and not action.get("resourceId"):
                out.append(f"{at}: delete should name resourceId (cds-resp-2)")
    return out


def card_problems(where: str, card: Mapping[str, Any]) -> list[str]:
    """Every CDS Hooks 2.0 / Inferno CRD card rule ``card`` breaks."""
    out: list[str] = []
    summary = card.get("summary")
    if not isinstance(summary, str) or not summary.strip():
        out.append(f"{where}: summary required")
    elif len(summary) >= 140:
        out.append(f"{where}: summary has {len(summary)} characters (< 140 required)")
    if card.get("indicator") not in INDICATORS:
        out.append(f"{where}: indicator must be info|warning|critical")
    src = card.get("source")
    if not isinstance(src, dict) or not isinstance(src.get("label"), str) or not src["label"]:
        out.append(f"{where}: source.label required")
    else:
        if "url" in src and not _absolute(src["url"]):
            out.append(f"{where}: source.url must be absolute")
        topic = src.get("topic")
        if not (isinstance(topic, dict) and topic.get("system") and topic.get("code")):
            out.append(f"{where}: source.topic must be a Coding with system and code")
    if "uuid" in card and not isinstance(card["uuid"], str):
        out.append(f"{where}: uuid must be a string")
    if "detail" in card and not isinstance(card["detail"], str):
        out.append(f"{where}: detail must be markdown text")
    for j, reason in enumerate(card.get("overrideReasons", [])):
        if not all(
            isinstance(reason.get(k), str) and reason[k] for k in ("system", "code", "display")
        ):
            out.append(f"{where}.overrideReasons[{j}]: needs system, code and display (cds-resp-4)")
    for j, link in enumerate(card.get("links", [])):
        if not link.get("label") or not _absolute(link.get("url")):
            out.append(f"{where}.links[{j}]: label and absolute url required")
        if link.get("type") not in ("absolute", "smart"):
            out.append(f"{where}.links[{j}]: type must be absolute|smart")
        if "appContext" in link and link.get("type") != "smart":
            out.append(f"{where}.links[{j}]: appContext only with smart links (cds-resp-3)")
    return out + _suggestion_problems(where, card)


def conformance_problems(document: Any) -> list[str]:
    """Every CDS Hooks 2.0 rule a hook response breaks (empty list: conformant)."""
    if not isinstance(document, dict) or not isinstance(document.get("cards"), list):
        return ["cards (an array) required"]
    out = [f"null or empty at {p}" for p in empty_paths(document)]
    for i, card in enumerate(document["cards"]):
        out += card_problems(f"cards[{i}]", card)
    return out
