"""The knowledge base as CPG-on-FHIR definitions (R4), and a ``PlanDefinition/$apply``.

* One **PlanDefinition** per pathway (the decision recommendation that selects it):
  ``url`` ``https://b12.example/fhir/PlanDefinition/<pathway id>``, ``identifier`` the
  recommendation id, ``version`` the recommendation version, ``status`` from the
  recommendation's (approved → active, draft / submitted / in-review → draft, retired →
  retired), one ``action`` with ``title``, ``description``, an applicability ``condition``,
  ``definitionCanonical`` → the regimen's ActivityDefinition, and the citations as
  ``documentation`` (relatedArtifact, type citation).
* One **ActivityDefinition** per regimen (``kind`` MedicationRequest,
  ``productCodeableConcept``, sequenced ``dosage`` exactly as in
  :func:`b12.adapters.fhir.outbound.medication_request`, without dates).
* One protocol PlanDefinition, :data:`PROTOCOL_ID`, whose actions are every pathway in the
  engine's order (priority), ``selectionBehavior`` ``exactly-one``: the first whose condition
  holds is chosen.  ``$apply`` on it never disagrees with the engine.

Conditions are b12's own condition language, which is neither CQL nor FHIRPath (it reads a
ClinicalPicture, not FHIR resources), so it is not put in an ``Expression`` (R4's JSON schema
allows only ``text/cql``, ``text/fhirpath`` and ``application/x-fhir-query`` there).  Each
``action.condition`` carries it in the **modifier** extension :data:`EXT_CONDITION` (a
consumer that does not know it must not treat the action as unconditional), with two parts:
``description``, the condition as readable text, and ``expression``, JSON ``{"when":
<condition in the knowledge-base YAML form>, "definitions": {name: condition}, "parameters":
{id: {"value", "unit"}}}`` — the condition plus every named definition and threshold it uses,
so it is self-contained.  A decision with no condition (a catch-all) has no ``condition``.
A pathway's condition alone does not decide: a higher-priority decision that also holds wins
(the protocol PlanDefinition carries the order).
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

from b12.adapters.fhir.codes import CodeTable
from b12.adapters.fhir.inbound import picture_from_fhir
from b12.adapters.fhir.outbound import (
    BASE,
    EXT_CONTENT_VERSION,
    SD,
    Json,
    activity_definition_url,
    canonical_json,
    clean,
    concept,
    dosage,
    plan_bundle,
    plan_definition_url,
    product_text,
    route_concept,
    with_id,
)
from b12.core import criteria
from b12.core.errors import FieldProblem, InputError, NotFound
from b12.core.knowledge import (
    Citation,
    DecisionAction,
    KnowledgeBase,
    Recommendation,
    Regimen,
)
from b12.core.requests import plan_request

#: The modifier extension carrying a b12 applicability condition (see the module docstring).
EXT_CONDITION = f"{SD}/b12-condition"
#: The id of the protocol PlanDefinition (all pathways, engine order).
PROTOCOL_ID = "b12-treatment"
#: identifier.system of recommendation ids.
RECOMMENDATION_SYSTEM = f"{BASE}/recommendation"
STATUS = {
    "approved": "active",
    "draft": "draft",
    "submitted": "draft",
    "in-review": "draft",
    "retired": "retired",
}
_LIST_KEYS = {v: k for k, v in criteria.LIST_FIELDS.items()}
_OPS = {"lt": "<", "le": "≤", "gt": ">", "ge": "≥"}


# -- conditions -------------------------------------------------------------------------------


def _num(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def condition_raw(cond: criteria.Condition) -> Any:
    """The knowledge-base (YAML) form of a parsed condition; ``parse_condition`` inverts it."""
    match cond:
        case criteria.All(parts):
            return {"all": [condition_raw(p) for p in parts]}
        case criteria.AnyOf(parts):
            return {"any": [condition_raw(p) for p in parts]}
        case criteria.Not(part):
            return {"not": condition_raw(part)}
        case criteria.Member(field, values):
            return {_LIST_KEYS.get(field, field): list(values)}
        case criteria.Flag(name):
            return {"flag": name}
        case criteria.Compare(field, op, value, param):
            target: Any = {"param": param} if param is not None else _num(value or 0)
            return {"number": {"field": field, op: target}}
        case criteria.Present(field, present):
            return {"present" if present else "absent": field}
        case criteria.Ref(name):
            return {"def": name}
    raise AssertionError(f"unhandled condition {cond!r}")  # pragma: no cover


def condition_text(cond: criteria.Condition, kb: KnowledgeBase, top: bool = True) -> str:
    """A condition as readable text (field names as in the contract)."""
    match cond:
        case criteria.All(parts) | criteria.AnyOf(parts):
            if not parts:
                return "always" if isinstance(cond, criteria.All) else "never"
            word = " and " if isinstance(cond, criteria.All) else " or "
            text = word.join(condition_text(p, kb, top=False) for p in parts)
            return text if top or len(parts) == 1 else f"({text})"
        case criteria.Not(part):
            return f"not {condition_text(part, kb, top=False)}"
        case criteria.Member(field, values):
            if values == ("any",):
                return f"{field} is not empty"
            joined = ", ".join(values)
            return (
                f"{field} includes any of [{joined}]"
                if field in criteria.SET_FIELDS or field in _LIST_KEYS
                else f"{field} in [{joined}]"
            )
        case criteria.Flag(name):
            return name
        case criteria.Compare(field, op, value, param):
            if param is not None:
                p = kb.parameters.get(param)
                shown = f"{param} ({_num(p.value)} {p.unit})" if p else param
            else:
                shown = str(_num(value or 0))
            return f"{field} {_OPS[op]} {shown}"
        case criteria.Present(field, present):
            return f"{field} {'is given' if present else 'is not given'}"
        case criteria.Ref(name):
            return name
    raise AssertionError(f"unhandled condition {cond!r}")  # pragma: no cover


def _uses(
    cond: criteria.Condition, kb: KnowledgeBase, defs: dict[str, Any], params: dict[str, Any]
) -> None:
    for node in criteria.walk(cond):
        if isinstance(node, criteria.Ref) and node.name not in defs:
            inner = kb.vocabulary.definitions[node.name]
            defs[node.name] = condition_raw(inner)
            _uses(inner, kb, defs, params)
        elif isinstance(node, criteria.Compare) and node.param is not None:
            p = kb.parameters.get(node.param)
            if p is not None:
                params[node.param] = {"value": _num(p.value), "unit": p.unit}


def condition_document(cond: criteria.Condition, kb: KnowledgeBase) -> Json:
    """The self-contained JSON of a condition: ``when``, ``definitions`` and ``parameters``."""
    defs: dict[str, Any] = {}
    params: dict[str, Any] = {}
    _uses(cond, kb, defs, params)
    document: Json = {"when": condition_raw(cond)}
    if defs:
        document["definitions"] = dict(sorted(defs.items()))
    if params:
        document["parameters"] = dict(sorted(params.items()))
    return document


def applicability(cond: criteria.Condition, kb: KnowledgeBase) -> Json:
    """An ``action.condition`` (applicability) carrying ``cond`` in :data:`EXT_CONDITION`."""
    return {
        "modifierExtension": [
            {
                "url": EXT_CONDITION,
                "extension": [
                    {"url": "description", "valueString": condition_text(cond, kb)},
                    {
                        "url": "expression",
                        "valueString": canonical_json(condition_document(cond, kb)),
                    },
                ],
            }
        ],
        "kind": "applicability",
    }


def condition_of(element: Json) -> Json | None:
    """The condition JSON an ``action.condition`` carries (None if it carries none)."""
    for ext in element.get("modifierExtension", []):
        if ext.get("url") == EXT_CONDITION:
            parts = {e["url"]: e.get("valueString") for e in ext.get("extension", [])}
            raw = parts.get("expression")
            return json.loads(raw) if isinstance(raw, str) else None
    return None


# -- shared pieces ----------------------------------------------------------------------------


def _computable_name(text: str) -> str:
    """A computer-friendly name (``pdf-0``/``adf-0``: starts with a capital, [A-Za-z0-9_])."""
    parts = re.split(r"[^A-Za-z0-9]+", text)
    name = "".join(p[:1].upper() + p[1:] for p in parts if p)
    return name if name[:1].isalpha() else f"B12{name}"


def related_artifacts(kb: KnowledgeBase, citations: tuple[Citation, ...]) -> list[Json]:
    """Citations as ``relatedArtifact`` (type citation): citation text, locator, source URL."""
    out: list[Json] = []
    for c in citations:
        source = kb.sources.get(c.source)
        out.append(
            clean(
                {
                    "type": "citation",
                    "label": c.source,
                    "display": c.locator,
                    "citation": source.citation if source else c.source,
                    "url": source.url if source else None,
                }
            )
        )
    return out


def _content_version(kb: KnowledgeBase) -> list[Json]:
    return [{"url": EXT_CONTENT_VERSION, "valueString": kb.content_version}]


def regimen_dosages(regimen: Regimen, table: CodeTable) -> list[Json]:
    """The regimen's phases as sequenced Dosage (no dates; weekdays only when the content
    fixes them — otherwise they are the clinic's choice)."""
    route = route_concept(table, regimen.route)
    return [
        dosage(
            i,
            phase,
            table,
            route=route,
            patient_text=phase.patient_text,
            weekdays=phase.weekdays,
        )
        for i, phase in enumerate(regimen.phases, start=1)
    ]


# -- ActivityDefinition -----------------------------------------------------------------------


def activity_definition(regimen: Regimen, kb: KnowledgeBase, table: CodeTable) -> Json:
    """One regimen as an ActivityDefinition (kind MedicationRequest)."""
    return clean(
        {
            "resourceType": "ActivityDefinition",
            "id": regimen.id,
            "extension": _content_version(kb),
            "url": activity_definition_url(regimen.id),
            "identifier": [{"system": f"{BASE}/regimen", "value": regimen.id}],
            "version": str(regimen.version),
            "name": _computable_name(regimen.id),
            "title": regimen.title,
            "status": STATUS[regimen.status],
            "experimental": False,
            "lastReviewDate": regimen.review.reviewed_on.isoformat(),
            "relatedArtifact": related_artifacts(kb, regimen.citations),
            "kind": "MedicationRequest",
            "intent": "proposal",
            "productCodeableConcept": concept(
                table, f"drug:{regimen.drug}", product_text(kb, regimen.drug)
            ),
            "dosage": regimen_dosages(regimen, table),
        }
    )


# -- PlanDefinition ---------------------------------------------------------------------------


def _pathway_action(rec: Recommendation, kb: KnowledgeBase) -> Json:
    act = rec.action
    assert isinstance(act, DecisionAction)
    return clean(
        {
            "title": act.pathway_title,
            "description": rec.clinician_text,
            "textEquivalent": rec.patient_text,
            "documentation": related_artifacts(kb, rec.citations),
            "condition": [applicability(rec.when, kb)] if rec.when is not None else None,
            "definitionCanonical": activity_definition_url(act.regimen) if act.regimen else None,
            "action": [{"title": m.field, "description": m.why} for m in act.missing],
        }
    )


def plan_definition(rec: Recommendation, kb: KnowledgeBase) -> Json:
    """One pathway (its decision recommendation) as a PlanDefinition."""
    act = rec.action
    assert isinstance(act, DecisionAction)
    return clean(
        {
            "resourceType": "PlanDefinition",
            "id": act.pathway,
            "extension": _content_version(kb),
            "url": plan_definition_url(act.pathway),
            "identifier": [{"system": RECOMMENDATION_SYSTEM, "value": rec.id}],
            "version": str(rec.version),
            "name": _computable_name(act.pathway),
            "title": act.pathway_title,
            "status": STATUS[rec.status],
            "experimental": False,
            "description": rec.clinician_text,
            "usage": rec.note,
            "lastReviewDate": rec.review.reviewed_on.isoformat(),
            "relatedArtifact": related_artifacts(kb, rec.citations),
            "action": [_pathway_action(rec, kb)],
        }
    )


def protocol_definition(kb: KnowledgeBase) -> Json:
    """Every pathway in the engine's order: the first whose condition holds is chosen."""
    actions = []
    for rec in kb.decisions:
        act = rec.action
        assert isinstance(act, DecisionAction)
        actions.append(
            clean(
                {
                    "id": act.pathway,
                    "title": act.pathway_title,
                    "condition": [applicability(rec.when, kb)] if rec.when is not None else None,
                    "definitionCanonical": plan_definition_url(act.pathway),
                }
            )
        )
    return {
        "resourceType": "PlanDefinition",
        "id": PROTOCOL_ID,
        "extension": _content_version(kb),
        "url": plan_definition_url(PROTOCOL_ID),
        "version": kb.content_version,
        "name": "B12Treatment",
        "title": "b12",
        "status": "active",
        "experimental": False,
        "description": kb.vocabulary.disclaimer,
        "action": [{"title": "b12", "selectionBehavior": "exactly-one", "action": actions}],
    }


def knowledge_base_resources(kb: KnowledgeBase, table: CodeTable) -> list[Json]:
    """The protocol PlanDefinition, one PlanDefinition per pathway (engine order), then one
    ActivityDefinition per regimen (by id).  Deterministic."""
    if PROTOCOL_ID in kb.pathways:  # pragma: no cover - pathway ids are content
        raise ValueError(f"a pathway may not be called {PROTOCOL_ID!r}")
    out = [protocol_definition(kb)]
    out.extend(plan_definition(rec, kb) for rec in kb.decisions)
    out.extend(activity_definition(r, kb, table) for _, r in sorted(kb.regimens.items()))
    return out


def find_resource(resources: list[Json], resource_type: str, resource_id: str) -> Json:
    """The resource of that type and id; :class:`NotFound` otherwise."""
    for r in resources:
        if r["resourceType"] == resource_type and r["id"] == resource_id:
            return r
    raise NotFound(f"no {resource_type} with id {resource_id!r}")


# -- $apply -----------------------------------------------------------------------------------


#: A literal reference b12 can point at (``Observation/abc``), as opposed to a label.
_LITERAL_REFERENCE = re.compile(r"^[A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64}$")


def apply_plan_definition(
    plan_definition_id: str,
    patient_data: Json | list[Json],
    kb: KnowledgeBase,
    table: CodeTable,
    *,
    as_of: date,
    subject: str | None = None,
    guideline: str | None = None,
) -> Json:
    """``PlanDefinition/[id]/$apply``: patient data (a Bundle or resources) → picture →
    ``plan`` → the CarePlan Bundle of :func:`~b12.adapters.fhir.outbound.plan_bundle`.

    The engine decides the pathway: when it differs from the requested PlanDefinition the plan
    is still returned, its CarePlan instantiates the pathway actually chosen, and a CarePlan
    note says which PlanDefinition was requested.  ``subject`` (``Patient/<id>``) chooses the
    patient when the data holds several.  The guideline set is ``guideline``, else the
    requested pathway's only jurisdiction, else the picture's own (default UK).  What the
    reader noted goes into CarePlan notes, the resources it used into ``supportingInfo``, and
    the resources it could not use into an OperationOutcome at the end of the Bundle.
    Raises :class:`NotFound` for an unknown id and :class:`InputError` for unusable data.
    """
    requested = kb.pathways.get(plan_definition_id)
    if requested is None and plan_definition_id != PROTOCOL_ID:
        raise NotFound(f"no PlanDefinition with id {plan_definition_id!r}")
    chosen = subject.removeprefix("Patient/") if subject else None
    found = picture_from_fhir(patient_data, table, as_of=as_of, patient=chosen)
    patient_ref = subject or (f"Patient/{found.patient_id}" if found.patient_id else None)
    if patient_ref is None:
        raise InputError([FieldProblem("subject", "the Patient resource has no id: give subject")])
    if guideline is None and requested is not None and len(requested.jurisdiction) == 1:
        guideline = requested.jurisdiction[0]
    _, plan = plan_request(found.picture, kb, default_as_of=as_of, guideline=guideline)
    notes = list(found.notes)
    if requested is not None and plan.pathway.id != plan_definition_id:
        notes.append(
            f"Requested PlanDefinition {plan_definition_id!r}; the engine chose "
            f"{plan.pathway.id!r} for this patient."
        )
    issues = [
        {"severity": "warning", "code": "not-supported", "diagnostics": i.render()}
        for i in found.ignored
    ]
    extra = [with_id({"resourceType": "OperationOutcome", "issue": issues})] if issues else []
    return plan_bundle(
        plan,
        kb,
        table,
        patient_ref=patient_ref,
        notes=notes,
        supporting_info=[u for u in found.used if _LITERAL_REFERENCE.match(u)],
        extra_resources=extra,
    )
