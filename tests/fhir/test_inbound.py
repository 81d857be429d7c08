"""FHIR R4 in: fixtures, the Synthea sample, units, newest-wins, leniency, orders, fuzzing."""

from __future__ import annotations

import json
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class
from hypothesis import given, settings
from hypothesis import strategies as st

import b12
from b12.adapters.fhir.codes import CodeTable, load_code_table, unverified_codings
from b12.adapters.fhir.inbound import (
    B12_NG_L_PER_PMOL_L,
    FhirPicture,
    load_fhir_path,
    medication_product,
    order_from_medication_request,
    patient_ids,
    picture_from_fhir,
    read_fhir_text,
)
from b12.core.course_input import OrderCheckShape
from b12.core.errors import InputError
from b12.core.knowledge import KnowledgeBase

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "fhir-samples"
SYNTHEA = SAMPLES / "synthea-bulk-10-patients"
CDS = SAMPLES / "cds-hooks-examples"
AS_OF = date(2026, 3, 2)
LOINC = "http://loinc.org"
SCT = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


@pytest.fixture(scope="module")
def table() -> CodeTable:
    return load_code_table()


@cache
def _kb() -> KnowledgeBase:
    return b12.load_knowledge_base()


def _fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def _read(data: Any, table: CodeTable, kb: KnowledgeBase, **kw: Any) -> FhirPicture:
    result = picture_from_fhir(data, table, as_of=kw.pop("as_of", AS_OF), **kw)
    b12.parse_picture(result.picture, kb)  # always a valid picture
    return result


PATIENT = {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1960-06-15"}


def _obs(loinc: str | None, value: float, unit: str, when: str = "2026-02-01", **kw: Any) -> Any:
    code: dict[str, Any] = (
        {"coding": [{"system": LOINC, "code": loinc}]} if loinc else {"text": kw.pop("text")}
    )
    return {
        "resourceType": "Observation",
        "id": kw.pop("id", f"o-{loinc}-{when}-{value}"),
        "status": kw.pop("status", "final"),
        "code": code,
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": when,
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
        **kw,
    }


# --------------------------------------------------------------------------- fixtures

EXPECTED: dict[str, dict[str, Any]] = {
    "pernicious_anaemia": {
        "age": 68,
        "sex": "female",
        "cause": "autoimmune_gastritis",
        "deficiency": "confirmed",
        "labs": {
            "serum_b12_ng_l": round(80 * B12_NG_L_PER_PMOL_L, 3),
            "ifab_positive": True,
            "haemoglobin_g_l": 98.0,
            "mcv_fl": 108.0,
        },
    },
    "vegan": {"age": 30, "diet": "vegan", "labs": {"serum_b12_ng_l": 150.0, "folate_ug_l": 9.1}},
    "post_rygb": {
        "conditions": ["rygb"],
        "labs": {"serum_b12_ng_l": 165.0, "mma_nmol_l": 450.0, "homocysteine_umol_l": 18.0},
    },
    "ileal_crohns": {
        "sex": "male",
        "conditions": ["ileal_crohns", "ileal_resection"],
        "labs": {"serum_b12_ng_l": 135.0, "active_b12_pmol_l": 22.0},
    },
    "metformin_ppi": {"medications": ["metformin", "ppi"], "labs": {"serum_b12_ng_l": 180.0}},
    "ckd4_hyperkalaemia": {
        "conditions": ["ckd"],
        "labs": {"potassium_mmol_l": 5.6, "egfr": 22.0, "serum_b12_ng_l": 120.0},
    },
    "pregnancy": {"pregnant": True, "labs": {"serum_b12_ng_l": 140.0}},
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_gives_its_facts(name: str, table: CodeTable, kb: KnowledgeBase) -> None:
    result = _read(_fixture(name), table, kb)
    for key, value in EXPECTED[name].items():
        if key == "labs":
            for lab, v in value.items():
                assert result.picture["labs"][lab] == v, lab
        else:
            assert result.picture[key] == value, key
    assert result.ignored == ()
    assert result.picture["as_of"] == AS_OF.isoformat()
    assert set(result.observed) == set(result.picture.get("labs", {}))
    _, plan = b12.plan_request(result.picture, kb)
    assert plan.status in ("plan", "needs_more_data")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixtures_are_valid_r4(name: str) -> None:
    for entry in _fixture(name)["entry"]:
        res = entry["resource"]
        get_fhir_model_class(res["resourceType"]).model_validate(res)


def test_pernicious_anaemia_newest_b12_wins_with_its_date(
    table: CodeTable, kb: KnowledgeBase
) -> None:
    result = _read(_fixture("pernicious_anaemia"), table, kb)
    assert result.picture["labs"]["serum_b12_ng_l"] == pytest.approx(108.4)
    assert result.observed["serum_b12_ng_l"] == date(2026, 2, 20)
    assert "Observation/pa-b12" in result.used
    assert "Observation/pa-b12-old" not in result.used


def test_ckd_stage_and_findings(table: CodeTable, kb: KnowledgeBase) -> None:
    result = _read(_fixture("ckd4_hyperkalaemia"), table, kb)
    assert "ckd_stage:4" in result.findings
    rygb = _read(_fixture("post_rygb"), table, kb)
    assert "finding:bariatric_surgery_type_not_stated" in rygb.findings


def test_broken_bundle_ignores_bad_resources_with_reasons(
    table: CodeTable, kb: KnowledgeBase
) -> None:
    result = _read(_fixture("broken"), table, kb)
    reasons = {i.resource: i.reason for i in result.ignored}
    assert "not a number" in reasons["Observation/bad-value"]
    assert "unit 'mg/dL' is not known" in reasons["Observation/bad-unit"]
    assert "no date" in reasons["Observation/no-date"]
    assert "entered-in-error" in reasons["Observation/in-error"]
    assert "<50" in reasons["Observation/less-than"]
    assert "code is not an object" in reasons["Condition/code-list"]
    assert "refuted" in reasons["Condition/refuted"]
    assert "not valid FHIR R4" in reasons["MedicationRequest/dosage-string"]
    assert "no medication" in reasons["MedicationStatement/no-med"]
    assert reasons["Encounter ×1"] == "resource type not read by b12"
    assert reasons["input.entry[13]"] == "entry has no resource"
    assert reasons["input.entry[14]"] == "entry has no resource"
    assert reasons["input.entry[12]"] == "no resourceType"
    # the one good B12 result survives; the refuted pernicious anaemia does not count
    assert result.picture["labs"] == {"serum_b12_ng_l": 170.0}
    assert result.observed == {"serum_b12_ng_l": date(2026, 1, 15)}
    assert "cause" not in result.picture


# --------------------------------------------------------------------------- Synthea


needs_synthea = pytest.mark.skipif(not SYNTHEA.exists(), reason="Synthea sample not available")


@pytest.fixture(scope="module")
def synthea() -> list[Any]:
    if not SYNTHEA.exists():
        pytest.skip("Synthea sample not available")
    items, skipped = load_fhir_path(SYNTHEA)
    assert [i.resource for i in skipped] == [f"log.ndjson line {n}" for n in range(1, 5)]
    return items


@needs_synthea
def test_synthea_every_patient_loads(
    synthea: list[Any], table: CodeTable, kb: KnowledgeBase
) -> None:
    ids = patient_ids(synthea)
    assert len(ids) == 13
    for pid in ids:
        result = _read(synthea, table, kb, patient=pid)
        assert result.patient_id == pid
        assert not [i for i in result.ignored if "not valid" in i.reason], pid


@needs_synthea
def test_synthea_metformin_ckd4_anaemia(
    synthea: list[Any], table: CodeTable, kb: KnowledgeBase
) -> None:
    # born 1927, died 1994: read as of mid-1994
    pid = "79a66c97-6131-3213-f3c9-4606946ab056"
    result = _read(synthea, table, kb, patient=pid, as_of=date(1994, 6, 1))
    assert result.picture["age"] == 67
    assert result.picture["sex"] == "female"
    assert result.picture["medications"] == ["metformin"]
    assert result.picture["conditions"] == ["ckd", "diabetic_nephropathy"]
    assert "ckd_stage:4" in result.findings  # stages 1-3 are resolved in the data
    assert "finding:anaemia" in result.findings
    assert "finding:type2_diabetes" in result.findings
    later = _read(synthea, table, kb, patient=pid, as_of=AS_OF)
    assert any("deceased" in n for n in later.notes)


@needs_synthea
def test_synthea_b12_injection_and_anaemia(
    synthea: list[Any], table: CodeTable, kb: KnowledgeBase
) -> None:
    pid = "8e1a0a7c-e308-444b-075a-3c2b1f60f881"
    result = _read(synthea, table, kb, patient=pid, as_of=date(1990, 1, 1))
    assert result.picture["medications"] == ["cyanocobalamin"]
    assert "finding:anaemia" in result.findings


@needs_synthea
def test_synthea_several_patients_need_a_choice(synthea: list[Any], table: CodeTable) -> None:
    with pytest.raises(InputError) as err:
        picture_from_fhir(synthea, table, as_of=AS_OF)
    assert "13 patients" in str(err.value)
    assert "79a66c97-6131-3213-f3c9-4606946ab056" in err.value.problems[0].message


# --------------------------------------------------------------------------- units


@pytest.mark.parametrize(
    ("loinc", "value", "unit", "lab", "expected"),
    [
        ("2132-9", 150, "pg/mL", "serum_b12_ng_l", 150.0),
        ("2132-9", 150, "ng/L", "serum_b12_ng_l", 150.0),
        ("2132-9", 100, "pmol/L", "serum_b12_ng_l", 135.5),
        ("2132-9", 0.2, "ng/mL", "serum_b12_ng_l", 200.0),
        ("13964-2", 0.45, "umol/L", "mma_nmol_l", 450.0),
        ("13964-2", 0.45, "µmol/L", "mma_nmol_l", 450.0),
        ("13964-2", 380, "nmol/L", "mma_nmol_l", 380.0),
        ("13965-9", 16, "umol/L", "homocysteine_umol_l", 16.0),
        ("718-7", 9.8, "g/dL", "haemoglobin_g_l", 98.0),
        ("718-7", 121, "g/L", "haemoglobin_g_l", 121.0),
        ("787-2", 104, "fL", "mcv_fl", 104.0),
        ("2823-3", 4.1, "mmol/L", "potassium_mmol_l", 4.1),
        ("2823-3", 4.1, "meq/L", "potassium_mmol_l", 4.1),
        ("2284-8", 3.2, "ug/L", "folate_ug_l", 3.2),
        ("2284-8", 3.2, "ng/mL", "folate_ug_l", 3.2),
        ("33914-3", 41, "mL/min/{1.73_m2}", "egfr", 41.0),
        ("98979-8", 41, "mL/min/1.73m2", "egfr", 41.0),
        ("17849-1", 2.5, "%", "reticulocytes_pct", 2.5),
        (None, 230, "10*9/L", "platelets_10e9_l", 230.0),
        (None, 40, "pmol/L", "active_b12_pmol_l", 40.0),
    ],
)
def test_unit_conversion(
    loinc: str | None,
    value: float,
    unit: str,
    lab: str,
    expected: float,
    table: CodeTable,
    kb: KnowledgeBase,
) -> None:
    text = {"platelets_10e9_l": "Platelet count", "active_b12_pmol_l": "Holotranscobalamin"}
    obs = _obs(loinc, value, unit, **({"text": text[lab]} if loinc is None else {}))
    result = _read([PATIENT, obs], table, kb)
    assert result.picture["labs"] == {lab: pytest.approx(expected)}
    assert result.observed == {lab: date(2026, 2, 1)}


def test_b12_pmol_factor_is_the_molar_mass() -> None:
    # cyanocobalamin C63H88CoN14O14P: 1355.4 g/mol, so 1 pmol/L = 1355 pg/L = 1.355 ng/L
    assert abs(B12_NG_L_PER_PMOL_L - 1355.4 / 1000) < 0.001


@pytest.mark.parametrize("unit", ["mg/dL", "", "pmol", "mmol/L"])
def test_unknown_unit_is_ignored_with_reason(
    unit: str, table: CodeTable, kb: KnowledgeBase
) -> None:
    result = _read([PATIENT, _obs("2132-9", 150, unit, id="x")], table, kb)
    assert "labs" not in result.picture
    assert "is not known" in result.ignored[0].reason
    assert result.ignored[0].resource == "Observation/x"


def test_newest_wins_and_keeps_its_date(table: CodeTable, kb: KnowledgeBase) -> None:
    obs = [
        _obs("2132-9", 400, "ng/L", "2025-01-05"),
        _obs("2132-9", 120, "ng/L", "2026-02-10T08:00:00Z"),
        _obs("2132-9", 300, "ng/L", "2025-11-30"),
        _obs("2132-9", 90, "ng/L", "2026-04-01"),  # after as_of
    ]
    result = _read([PATIENT, *obs], table, kb)
    assert result.picture["labs"]["serum_b12_ng_l"] == 120.0
    assert result.observed["serum_b12_ng_l"] == date(2026, 2, 10)
    assert any("after as_of" in i.reason for i in result.ignored)


def test_implausible_newest_falls_back_to_older(table: CodeTable, kb: KnowledgeBase) -> None:
    obs = [_obs("718-7", 120, "g/L", "2026-01-01"), _obs("718-7", 1200, "g/L", "2026-02-01")]
    result = _read([PATIENT, *obs], table, kb)
    assert result.picture["labs"]["haemoglobin_g_l"] == 120.0
    assert result.observed["haemoglobin_g_l"] == date(2026, 1, 1)
    assert "implausible" in result.ignored[0].reason


def test_two_results_on_one_day_are_noted(table: CodeTable, kb: KnowledgeBase) -> None:
    obs = [_obs("2132-9", 150, "ng/L", "2026-02-01"), _obs("2132-9", 160, "ng/L", "2026-02-01")]
    result = _read([PATIENT, *obs], table, kb)
    assert result.picture["labs"]["serum_b12_ng_l"] == 160.0
    assert any("2 different results" in n for n in result.notes)


def test_unverified_loinc_is_not_relied_on(table: CodeTable, kb: KnowledgeBase) -> None:
    # 6298-4 (potassium in blood) is unverified; with no text it means nothing
    result = _read([PATIENT, _obs("6298-4", 4.5, "mmol/L")], table, kb)
    assert "labs" not in result.picture


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"valueBoolean": True}, True),
        ({"valueString": "Negative"}, False),
        ({"valueCodeableConcept": {"text": "Not detected"}}, False),
        (
            {
                "interpretation": [
                    {"coding": [{"system": "http://x/v3-ObservationInterpretation", "code": "POS"}]}
                ]
            },
            True,
        ),
    ],
)
def test_intrinsic_factor_antibody(
    value: dict[str, Any], expected: bool, table: CodeTable, kb: KnowledgeBase
) -> None:
    obs = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "31444-3"}]},
        "effectiveDateTime": "2026-01-01",
        **value,
    }
    assert _read([PATIENT, obs], table, kb).picture["labs"]["ifab_positive"] is expected


def test_intrinsic_factor_antibody_without_verdict_is_ignored(
    table: CodeTable, kb: KnowledgeBase
) -> None:
    obs = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "31444-3"}]},
        "effectiveDateTime": "2026-01-01",
        "valueQuantity": {"value": 3.1, "unit": "U/mL"},
    }
    result = _read([PATIENT, obs], table, kb)
    assert "labs" not in result.picture
    assert "not stated" in result.ignored[0].reason


# --------------------------------------------------------------------------- resources


def _cond(text: str, status: str = "active", ver: str = "confirmed", **kw: Any) -> Any:
    return {
        "resourceType": "Condition",
        "clinicalStatus": {"coding": [{"code": status}]},
        "verificationStatus": {"coding": [{"code": ver}]},
        "code": {"text": text},
        **kw,
    }


def test_condition_statuses(table: CodeTable, kb: KnowledgeBase) -> None:
    res = [
        PATIENT,
        _cond("Coeliac disease", status="resolved"),
        _cond("Total gastrectomy", status="resolved"),  # surgery does not resolve
        _cond("Hyperthyroidism", ver="entered-in-error"),
        _cond("Dementia", onsetDateTime="2027-01-01"),  # after as_of
        _cond("Vitamin B12 deficiency", ver="provisional"),
        _cond("Chronic kidney disease", abatementDateTime="2025-01-01"),
    ]
    result = _read(res, table, kb)
    assert result.picture["conditions"] == ["total_gastrectomy"]
    assert result.picture["deficiency"] == "suspected"


def test_pregnancy_for_a_male_patient_is_not_used(table: CodeTable, kb: KnowledgeBase) -> None:
    male = {**PATIENT, "gender": "male"}
    result = _read([male, _cond("Pregnancy")], table, kb)
    assert "pregnant" not in result.picture
    assert any("male" in n for n in result.notes)


def test_several_causes_use_the_first_by_priority(table: CodeTable, kb: KnowledgeBase) -> None:
    coded = {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "D51.3"}]}
    res = [PATIENT, _cond("x", code=coded), _cond("Pernicious anaemia")]
    result = _read(res, table, kb)
    assert result.picture["cause"] == "autoimmune_gastritis"
    assert any("several causes" in n for n in result.notes)


def _med(rtype: str, text: str, status: str, **kw: Any) -> Any:
    return {
        "resourceType": rtype,
        "status": status,
        "medicationCodeableConcept": {"text": text},
        **kw,
    }


def test_medication_statuses(table: CodeTable, kb: KnowledgeBase) -> None:
    res = [
        PATIENT,
        _med("MedicationRequest", "Metformin 500mg tablets", "active", authoredOn="2020-01-01"),
        _med("MedicationRequest", "Omeprazole 20mg capsules", "stopped", authoredOn="2025-12-01"),
        _med("MedicationRequest", "Famotidine 20mg", "completed", authoredOn="2026-01-15"),
        _med("MedicationRequest", "Colchicine 500mcg", "completed", authoredOn="2024-01-15"),
        _med("MedicationStatement", "Topiramate 25mg", "active", effectiveDateTime="2025-05-01"),
        _med("MedicationRequest", "Warfarin 1mg tablets", "active", authoredOn="2025-05-01"),
        _med("MedicationRequest", "Hydroxocobalamin 1mg/1ml", "active", authoredOn="2027-01-01"),
    ]
    result = _read(res, table, kb)
    assert result.picture["medications"] == ["anticoagulant", "h2ra", "metformin", "topiramate"]
    assert result.picture["conditions"] == ["anticoagulated"]


def test_medication_reference_resolved_in_bundle_and_contained(
    table: CodeTable, kb: KnowledgeBase
) -> None:
    med = {
        "resourceType": "Medication",
        "id": "m1",
        "code": {"coding": [{"system": RXNORM, "code": "860975"}]},
    }
    by_ref: dict[str, Any] = {"resourceType": "MedicationRequest", "status": "active"}
    by_ref["medicationReference"] = {"reference": "Medication/m1"}
    contained = {
        "resourceType": "MedicationStatement",
        "status": "active",
        "contained": [{"resourceType": "Medication", "id": "c1", "code": {"text": "Lansoprazole"}}],
        "medicationReference": {"reference": "#c1"},
    }
    result = _read([PATIENT, med, by_ref, contained], table, kb)
    assert result.picture["medications"] == ["metformin", "ppi"]


def test_procedures_and_allergies(table: CodeTable, kb: KnowledgeBase) -> None:
    res = [
        PATIENT,
        {
            "resourceType": "Procedure",
            "status": "completed",
            "code": {"text": "Sleeve gastrectomy"},
            "performedDateTime": "2015-03-01",
        },
        {"resourceType": "Procedure", "status": "not-done", "code": {"text": "Ileal resection"}},
        {
            "resourceType": "Procedure",
            "status": "completed",
            "code": {"text": "Haemodialysis"},
            "performedDateTime": "2026-02-27",
        },
        {
            "resourceType": "AllergyIntolerance",
            "clinicalStatus": {"coding": [{"code": "active"}]},
            "code": {"text": "Cobalt"},
        },
        {
            "resourceType": "AllergyIntolerance",
            "clinicalStatus": {"coding": [{"code": "resolved"}]},
            "code": {"text": "Hydroxocobalamin"},
        },
    ]
    result = _read(res, table, kb)
    assert result.picture["conditions"] == ["cobalt_allergy", "dialysis", "sleeve_gastrectomy"]


# --------------------------------------------------------------------------- input shapes


def test_input_shapes(table: CodeTable, kb: KnowledgeBase) -> None:
    obs = _obs("2132-9", 150, "ng/L")
    as_list = _read([PATIENT, obs], table, kb)
    untyped = _read(
        {"resourceType": "Bundle", "entry": [{"resource": PATIENT}, {"resource": obs}]}, table, kb
    )
    nested = _read(
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [
                {
                    "resource": {
                        "resourceType": "Bundle",
                        "type": "searchset",
                        "entry": [{"resource": PATIENT}],
                    }
                },
                {"resource": obs},
            ],
        },
        table,
        kb,
    )
    items, skipped = read_fhir_text(f"{json.dumps(PATIENT)}\n\n{json.dumps(obs)}\n{{oops\n", "x")
    ndjson = _read(items, table, kb)
    assert skipped[0].resource == "x line 4"
    for result in (untyped, nested, ndjson):
        assert result.picture == as_list.picture
    only_patient = _read(PATIENT, table, kb)
    assert only_patient.picture == {"age": 65, "sex": "female", "as_of": "2026-03-02"}


def test_reading_a_path(tmp_path: Path, table: CodeTable, kb: KnowledgeBase) -> None:
    (tmp_path / "Patient.ndjson").write_text(json.dumps(PATIENT) + "\n", encoding="utf-8")
    (tmp_path / "Observation.ndjson").write_text(
        json.dumps(_obs("2132-9", 150, "ng/L")) + "\n", encoding="utf-8"
    )
    (tmp_path / "notes.txt").write_text("not read", encoding="utf-8")
    items, skipped = load_fhir_path(tmp_path)
    assert skipped == []
    assert _read(items, table, kb).picture["labs"] == {"serum_b12_ng_l": 150.0}
    with pytest.raises(InputError):
        load_fhir_path(tmp_path / "notes.txt")
    with pytest.raises(InputError):
        load_fhir_path(tmp_path / "missing.json")


def test_patient_choice_and_references(table: CodeTable, kb: KnowledgeBase) -> None:
    other = {**PATIENT, "id": "p2", "birthDate": "1990-01-01"}
    obs1 = _obs("2132-9", 150, "ng/L")
    obs2 = {**_obs("2132-9", 400, "ng/L"), "subject": {"reference": "Patient/p2"}}
    bare = {**_obs("718-7", 100, "g/L"), "subject": None}
    bare.pop("subject")
    with pytest.raises(InputError, match="2 patients"):
        picture_from_fhir([PATIENT, other, obs1, obs2], table, as_of=AS_OF)
    with pytest.raises(InputError, match="no Patient with id 'p9'"):
        picture_from_fhir([PATIENT, other], table, as_of=AS_OF, patient="p9")
    p2 = _read([PATIENT, other, obs1, obs2, bare], table, kb, patient="p2")
    assert p2.picture["labs"] == {"serum_b12_ng_l": 400.0}
    assert {i.resource: i.reason for i in p2.ignored}["Observation ×2"] == (
        "not about the chosen patient"
    )
    # a lone patient: a resource about someone else is not used
    single = _read([PATIENT, obs2], table, kb)
    assert "labs" not in single.picture
    # urn:uuid references inside a transaction-style Bundle
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"fullUrl": "urn:uuid:abc", "resource": {**PATIENT, "id": None}},
            {"resource": {**obs1, "subject": {"reference": "urn:uuid:abc"}}},
        ],
    }
    assert _read(bundle, table, kb).picture["labs"] == {"serum_b12_ng_l": 150.0}


def test_no_patient_needs_an_age(table: CodeTable, kb: KnowledgeBase) -> None:
    with pytest.raises(InputError, match="no Patient"):
        picture_from_fhir([_obs("2132-9", 150, "ng/L")], table, as_of=AS_OF)
    result = _read([_obs("2132-9", 150, "ng/L")], table, kb, base={"age": 50, "guideline": "us"})
    assert result.picture["age"] == 50
    assert result.picture["guideline"] == "us"


@pytest.mark.parametrize(
    ("birth", "age"),
    [("1960-06-15", 65), ("1960-03-02", 66), ("1960-03", 65), ("1960", 65)],
)
def test_age_from_birth_date(birth: str, age: int, table: CodeTable, kb: KnowledgeBase) -> None:
    assert _read({**PATIENT, "birthDate": birth}, table, kb).picture["age"] == age


@pytest.mark.parametrize("birth", [None, "yesterday", "2027-01-01", 1960])
def test_bad_birth_date_is_an_input_error(birth: Any, table: CodeTable) -> None:
    with pytest.raises(InputError, match="birthDate"):
        picture_from_fhir({**PATIENT, "birthDate": birth}, table, as_of=AS_OF)


@pytest.mark.parametrize("data", [None, 3, "text", b"bytes", True])
def test_non_fhir_input_is_an_input_error(data: Any, table: CodeTable) -> None:
    with pytest.raises(InputError):
        picture_from_fhir(data, table, as_of=AS_OF)


# --------------------------------------------------------------------------- orders


def _request(**dosage: Any) -> dict[str, Any]:
    base_dosage: dict[str, Any] = {
        "sequence": 1,
        "route": {"coding": [{"system": SCT, "code": "78421000"}]},
        "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "mg", "system": UCUM, "code": "mg"}}],
        "timing": {"repeat": {"frequency": 3, "period": 1, "periodUnit": "wk"}},
    }
    base_dosage.update(dosage)
    return {
        "resourceType": "MedicationRequest",
        "status": "draft",
        "intent": "order",
        "medicationCodeableConcept": {
            "text": "Hydroxocobalamin 1mg/1ml solution for injection ampoules",
            "coding": [{"system": "https://dmd.nhs.uk", "code": "0000000"}],
        },
        "authoredOn": "2026-03-02",
        "dosageInstruction": [base_dosage],
    }


def test_order_from_medication_request(table: CodeTable, kb: KnowledgeBase) -> None:
    order, why = order_from_medication_request(_request(), table)
    assert why is None
    assert order == {
        "drug": "hydroxocobalamin",
        "dose": {"value": 1.0, "unit": "mg"},
        "route": "im",
        "frequency": "three_times_weekly",
        "start": "2026-03-02",
    }
    OrderCheckShape.model_validate({"picture": {}, "order": order})
    check = b12.order_check_request(
        {"picture": {"age": 60, "deficiency": "confirmed"}, "order": order, "as_of": "2026-03-02"},
        kb,
    )
    assert check.product == "hydroxocobalamin"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"timing": {"repeat": {"frequency": 1, "period": 3, "periodUnit": "mo"}}},
            {"frequency": "every_3_months"},
        ),
        ({"timing": {"repeat": {"period": 2, "periodUnit": "d"}}}, {"every_days": 2}),
        (
            {
                "timing": {
                    "repeat": {
                        "frequency": 1,
                        "period": 1,
                        "periodUnit": "wk",
                        "boundsPeriod": {"start": "2026-04-01"},
                    }
                }
            },
            {"every_days": 7, "start": "2026-04-01"},
        ),
        ({"timing": {"repeat": {"period": 5, "periodUnit": "mo"}}}, {"every_days": 152}),
        ({"timing": None}, {}),
        (
            {"doseAndRate": {"doseQuantity": {"value": 1000, "unit": "microgram"}}},
            {"dose": {"value": 1000.0, "unit": "mcg"}},
        ),
        (
            {"route": {"text": "Intramuscular"}, "site": {"text": "Left deltoid"}},
            {"route": "im", "site": "deltoid"},
        ),
    ],
)
def test_order_variants(change: dict[str, Any], expected: dict[str, Any], table: CodeTable) -> None:
    order, why = order_from_medication_request(_request(**change), table)
    assert why is None, why
    assert order is not None
    for key, value in expected.items():
        assert order[key] == value
    if "timing" in change and change["timing"] is None:
        assert "every_days" not in order
        assert "frequency" not in order


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"doseAndRate": [{"doseQuantity": {"value": 1, "unit": "mL"}}]}, "only mg or mcg"),
        ({"doseAndRate": [{"doseRange": {"low": {"value": 1}}}]}, "range"),
        ({"doseAndRate": []}, "no dose"),
        ({"route": None}, "no route"),
        ({"route": {"text": "Into the eye"}}, "not recognised"),
        ({"site": {"text": "Left ear"}}, "site"),
        ({"timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}}}, "2 times"),
        ({"timing": {"repeat": {"period": 4, "periodUnit": "h"}}}, "not a B12 schedule"),
        ({"timing": {"repeat": {"period": 2, "periodUnit": "a"}}}, "outside"),
        ({"timing": "weekly"}, "not valid FHIR"),
    ],
)
def test_order_reasons(change: dict[str, Any], reason: str, table: CodeTable) -> None:
    order, why = order_from_medication_request(_request(**change), table)
    assert order is None
    assert why is not None
    assert reason in why


def test_order_products(table: CodeTable) -> None:
    free = _request()
    free["medicationCodeableConcept"] = {"text": "Vitamin B12 1000 MCG Oral Tablet"}
    order, _ = order_from_medication_request(free, table)
    assert order is not None
    assert order["drug"] == "Vitamin B12 1000 MCG Oral Tablet"
    coded = _request()
    coded["medicationCodeableConcept"] = {"coding": [{"system": RXNORM, "code": "2001499"}]}
    assert medication_product(coded, table) == ("cyanocobalamin", "")
    nothing = _request()
    nothing.pop("medicationCodeableConcept")
    assert order_from_medication_request(nothing, table) == (None, "no medication named")
    assert order_from_medication_request({"resourceType": "Patient"}, table)[0] is None
    assert order_from_medication_request("x", table) == (None, "not a MedicationRequest")


@pytest.mark.skipif(not CDS.exists(), reason="CDS Hooks examples not available")
@pytest.mark.parametrize("name", ["order_sign", "order_select"])
def test_cds_hooks_draft_orders_give_order_or_reason(name: str, table: CodeTable) -> None:
    request = json.loads((CDS / f"crd-test-kit-{name}_hook_request.json").read_text("utf-8"))
    outcomes = [
        order_from_medication_request(e["resource"], table)
        for e in request["context"]["draftOrders"]["entry"]
    ]
    assert outcomes == [
        (None, "not a MedicationRequest"),
        (None, "the dose is 5 mL: only mg or mcg doses can be checked"),
    ]


def test_no_unverified_code_reaches_a_picture(table: CodeTable, kb: KnowledgeBase) -> None:
    for name in EXPECTED:
        assert unverified_codings(_read(_fixture(name), table, kb).picture, table) == []


# --------------------------------------------------------------------------- fuzzing

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=25,
)
FIELDS = [
    "id",
    "status",
    "code",
    "subject",
    "valueQuantity",
    "valueBoolean",
    "valueString",
    "effectiveDateTime",
    "clinicalStatus",
    "verificationStatus",
    "medicationCodeableConcept",
    "medicationReference",
    "dosageInstruction",
    "contained",
    "birthDate",
    "gender",
    "performedDateTime",
    "onsetDateTime",
    "entry",
    "interpretation",
    "effectivePeriod",
]
resource_like = st.builds(
    lambda rtype, fields: {"resourceType": rtype, **fields},
    st.sampled_from(
        [
            "Patient",
            "Condition",
            "Observation",
            "MedicationRequest",
            "MedicationStatement",
            "Procedure",
            "AllergyIntolerance",
            "Medication",
            "Bundle",
            "Encounter",
        ]
    ),
    st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=6),
)


@settings(max_examples=300)
@given(st.lists(resource_like | json_values, max_size=6), st.booleans())
def test_fuzzed_resources_raise_only_input_errors(items: list[Any], with_patient: bool) -> None:
    table = load_code_table()
    data = [PATIENT, *items] if with_patient else items
    try:
        result = picture_from_fhir(data, table, as_of=AS_OF)
    except InputError:
        return
    assert isinstance(result.picture, dict)
    # every bad shape is named; the catch-all for unexpected errors is never needed
    assert not [i for i in result.ignored if i.reason.startswith("could not be read")]


@settings(max_examples=300)
@given(resource_like)
def test_fuzzed_resource_with_patient_gives_a_valid_picture(resource: dict[str, Any]) -> None:
    table = load_code_table()
    kb = _kb()
    try:
        result = picture_from_fhir([PATIENT, resource], table, as_of=AS_OF)
    except InputError:
        return
    b12.parse_picture(result.picture, kb)


@settings(max_examples=300)
@given(
    st.dictionaries(
        st.sampled_from([*FIELDS, "doseAndRate", "route", "timing", "site"]),
        json_values,
        max_size=6,
    ),
    json_values,
)
def test_fuzzed_medication_requests_never_raise(fields: dict[str, Any], dosage: Any) -> None:
    table = load_code_table()
    resource = {"resourceType": "MedicationRequest", **fields}
    if isinstance(dosage, dict):
        resource["dosageInstruction"] = [dosage]
    order, why = order_from_medication_request(resource, table)
    assert (order is None) != (why is None)
    assert why is None or not why.startswith("could not be read")
    if order is not None:
        OrderCheckShape.model_validate({"picture": {}, "order": order})
