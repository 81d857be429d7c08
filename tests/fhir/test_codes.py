"""The code table: statuses as in interop.md §4, consistency with the vocabulary, emission."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest

from b12.adapters.fhir.codes import (
    CodeTable,
    build_code_table,
    load_code_table,
    read_table_file,
    table_path,
    unknown_values,
    unverified_codings,
)
from b12.core.errors import KnowledgeBaseError
from b12.core.knowledge import KnowledgeBase

SCT = "http://snomed.info/sct"
LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ATC = "http://www.whocc.no/atc"
INTEROP = Path("/work/shared/reference/interop.md")

#: Transcribed by hand from interop.md §4 (V = verified, C = corroborated, U = unverified).
INTEROP_STATUS: dict[tuple[str, str], str] = {
    **{(ICD10CM, c): "verified" for c in ("D51.0", "D51.1", "D51.2", "D51.3", "D51.8", "D51.9")},
    (ICD10CM, "D52.0"): "verified",
    (ICD10CM, "D52.1"): "verified",
    (ICD10CM, "E53.8"): "corroborated",
    (ICD10CM, "Z98.84"): "corroborated",
    (ICD10CM, "Z90.3"): "unverified",
    (ICD10CM, "K91.1"): "unverified",
    (ICD10CM, "N18.4"): "unverified",
    (ICD10CM, "N18.6"): "unverified",
    (SCT, "84027009"): "corroborated",
    (SCT, "271737000"): "verified",
    (SCT, "190634004"): "corroborated",
    (SCT, "40108008"): "unverified",
    (SCT, "441030002"): "unverified",
    (SCT, "312608009"): "unverified",
    (SCT, "34000006"): "unverified",
    (SCT, "196977009"): "unverified",
    (SCT, "431855005"): "verified",
    (SCT, "431856006"): "verified",
    (SCT, "433144002"): "verified",
    (SCT, "431857002"): "verified",
    (SCT, "433146000"): "unverified",
    (SCT, "709044004"): "unverified",
    (SCT, "127013003"): "verified",
    (SCT, "44054006"): "verified",
    (LOINC, "2132-9"): "verified",
    (LOINC, "13964-2"): "verified",
    (LOINC, "13965-9"): "verified",
    (LOINC, "26582-7"): "unverified",
    (LOINC, "718-7"): "verified",
    (LOINC, "787-2"): "verified",
    (LOINC, "17849-1"): "corroborated",
    (LOINC, "4679-7"): "corroborated",
    (LOINC, "60474-4"): "unverified",
    (LOINC, "2823-3"): "corroborated",
    (LOINC, "6298-4"): "unverified",
    (LOINC, "33914-3"): "corroborated",
    (LOINC, "98979-8"): "corroborated",
    (LOINC, "62238-1"): "corroborated",
    (LOINC, "2160-0"): "corroborated",
    (LOINC, "31444-3"): "corroborated",
    (LOINC, "31443-5"): "unverified",
    (LOINC, "2284-8"): "verified",
    (LOINC, "2283-0"): "unverified",
    (LOINC, "15152-2"): "unverified",
    (LOINC, "96805-7"): "verified",
    (RXNORM, "2001499"): "verified",
    (RXNORM, "860975"): "verified",
    (RXNORM, "310325"): "verified",
    (RXNORM, "309594"): "unverified",
    (ATC, "B03BA01"): "corroborated",
    (ATC, "B03BA03"): "corroborated",
    (ATC, "B03BB01"): "corroborated",
    (SCT, "78421000"): "corroborated",
    (SCT, "34206005"): "corroborated",
    (SCT, "26643006"): "corroborated",
}


@pytest.fixture(scope="module")
def table() -> CodeTable:
    return load_code_table()


def _raw() -> Any:
    return read_table_file(table_path())


def test_table_loads_with_a_version(table: CodeTable) -> None:
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}\.\d+", table.version)
    assert len(table.entries) > 50
    assert load_code_table() is table  # cached


@pytest.mark.parametrize(("key", "status"), sorted(INTEROP_STATUS.items()))
def test_status_is_the_one_interop_gives(
    table: CodeTable, key: tuple[str, str], status: str
) -> None:
    entry = table.lookup(*key)
    assert entry is not None, key
    assert entry.status == status


def test_codes_not_in_interop_are_unverified(table: CodeTable) -> None:
    for e in table.entries:
        if "not in interop.md" in e.source:
            assert e.status == "unverified", e.code


def test_every_interop_code_appears_in_interop_md(table: CodeTable) -> None:
    if not INTEROP.exists():
        pytest.skip("interop.md not available")
    text = INTEROP.read_text(encoding="utf-8")
    for e in table.entries:
        if e.source.startswith("interop.md §4") and e.system != "http://unitsofmeasure.org":
            assert e.code in text, f"{e.system}|{e.code} is not in interop.md"


def test_every_maps_value_is_in_the_vocabulary(table: CodeTable, kb: KnowledgeBase) -> None:
    assert unknown_values(table, kb) == []


def test_unknown_vocabulary_value_is_reported(kb: KnowledgeBase) -> None:
    raw = _raw()
    raw["codes"][0]["maps"] = {"condition": "not_a_condition"}
    bad = build_code_table(raw, kb)
    assert any("not_a_condition" in p for p in unknown_values(bad, kb))


def test_duplicate_system_code_is_an_error() -> None:
    raw = _raw()
    raw["codes"].append(copy.deepcopy(raw["codes"][0]))
    with pytest.raises(KnowledgeBaseError, match="duplicate"):
        build_code_table(raw)


def test_unknown_system_and_bad_status_are_errors() -> None:
    raw = _raw()
    raw["codes"][0]["system"] = "nowhere"
    with pytest.raises(KnowledgeBaseError, match="unknown system"):
        build_code_table(raw)
    raw = _raw()
    raw["codes"][0]["status"] = "probably"
    with pytest.raises(KnowledgeBaseError):
        build_code_table(raw)


def test_two_emittable_codes_for_one_concept_is_an_error() -> None:
    raw = _raw()
    for row in raw["codes"]:
        if row["code"] == "787-2":
            row["maps"]["concept"] = "lab:haemoglobin_g_l"
    with pytest.raises(KnowledgeBaseError, match="already emitted"):
        build_code_table(raw)


def test_dmd_codes_must_stay_unverified() -> None:
    raw = _raw()
    raw["codes"].append(
        {
            "system": "dmd",
            "code": "1234",
            "display": "x",
            "status": "corroborated",
            "source": "test",
            "maps": {},
        }
    )
    with pytest.raises(KnowledgeBaseError, match="dm\\+d"):
        build_code_table(raw)


def test_coding_emits_only_verified_or_corroborated(table: CodeTable) -> None:
    for concept in table.concepts():
        coding = table.coding(concept)
        assert coding is not None
        assert table.emittable(coding["system"], coding["code"]), concept
        assert set(coding) == {"system", "code", "display"}
    assert table.coding("drug:hydroxocobalamin") == {
        "system": ATC,
        "code": "B03BA03",
        "display": "hydroxocobalamin",
    }
    assert table.coding("route:im") == {
        "system": SCT,
        "code": "78421000",
        "display": "Intramuscular route",
    }
    assert table.coding("lab:serum_b12_ng_l") == table.coding("test:serum_b12")
    assert table.coding("lab:serum_b12_ng_l") is not None
    # only unverified candidates exist for these: nothing to emit
    for concept in ("condition:ckd", "test:active_b12", "test:fbc", "route:deep_sc", "unit:mg"):
        assert table.coding(concept) is None, concept
    assert table.coding("no such concept") is None


def test_unverified_codes_are_never_emittable(table: CodeTable) -> None:
    for e in table.entries:
        assert table.emittable(e.system, e.code) == (e.status != "unverified")
    assert not table.emittable(SCT, "40108008")  # thalassaemia, mislabelled in a public repo
    assert not table.emittable(SCT, "999999")


def test_lookup_accepts_oids_and_icd_case(table: CodeTable) -> None:
    assert table.lookup("urn:oid:2.16.840.1.113883.6.96", "84027009") is not None
    assert table.lookup(ICD10CM, "d51.0") is not None
    assert table.lookup(ICD10CM, " D51.0 ") is not None
    assert table.lookup("http://loinc.org/", "2132-9") is not None
    assert table.lookup(SCT, "2132-9") is None


@pytest.mark.parametrize(
    ("kind", "text", "expected"),
    [
        ("drug", "Hydroxocobalamin 1mg/1ml solution for injection ampoules", "hydroxocobalamin"),
        ("drug", "Cyanocobalamin 1mg/1ml solution for injection ampoules", "cyanocobalamin"),
        ("drug", "Cyanocobalamin 50microgram tablets", "cyanocobalamin"),
        ("drug", "Folic acid 5mg tablets", "folic_acid"),
        ("drug", "Vitamin B12 1000 MCG Oral Tablet", None),  # never guessed
        (
            "medication",
            "24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet",
            "metformin",
        ),
        ("medication", "Omeprazole 20mg gastro-resistant capsules", "ppi"),
        ("medication", "Famotidine 20 MG Oral Tablet", "h2ra"),
        ("medication_condition", "Apixaban 5mg tablets", "anticoagulated"),
        ("condition", "Laparoscopic Roux-en-Y gastric bypass", "rygb"),
        ("condition", "Sleeve gastrectomy", "sleeve_gastrectomy"),
        ("condition", "Total gastrectomy", "total_gastrectomy"),
        ("condition", "Partial gastrectomy", "partial_gastrectomy"),
        ("condition", "Gastrectomy", None),  # extent not stated
        ("condition", "No history of gastrectomy", None),
        ("condition", "Ileocaecal resection", "ileal_resection"),
        ("condition", "Crohn's disease of terminal ileum", "ileal_crohns"),
        ("condition", "Crohn's disease", None),  # site not stated
        ("condition", "Coeliac disease", "coeliac"),
        ("condition", "Chronic kidney disease stage 4 (disorder)", "ckd"),
        ("ckd_stage", "Chronic kidney disease stage 4 (disorder)", "4"),
        ("cause", "Pernicious anemia", "autoimmune_gastritis"),
        ("lab", "Active B12", "active_b12_pmol_l"),
        ("lab", "Vitamin B12", "serum_b12_ng_l"),
        ("lab", "Red cell folate", None),
        ("route", "Intramuscular", "im"),
        ("route", "IM", "im"),
        ("route", "by mouth", "oral"),
        ("site", "Left deltoid", "deltoid"),
        ("flag", "Normal pregnancy", "pregnant"),
        ("flag", "Complete miscarriage", None),
        ("diet", "Vegan", "vegan"),
        ("drug", "", None),
    ],
)
def test_match_text(table: CodeTable, kind: str, text: str, expected: str | None) -> None:
    assert table.match_text(kind, text) == expected


def test_unverified_codings_finds_only_unverified_codes_of_our_systems(table: CodeTable) -> None:
    doc = {
        "resourceType": "MedicationRequest",
        "status": "draft",
        "medicationCodeableConcept": {
            "coding": [
                {"system": ATC, "code": "B03BA03"},
                {"system": RXNORM, "code": "309594"},
            ]
        },
        "category": [{"coding": [{"system": "http://terminology.hl7.org/x", "code": "y"}]}],
        "dosageInstruction": [{"route": {"coding": [{"system": SCT, "code": "78421000"}]}}],
    }
    found = unverified_codings(doc, table)
    assert found == [f"$.medicationCodeableConcept.coding[1]: {RXNORM}|309594"]
    assert unverified_codings({"coding": [table.coding("route:im")]}, table) == []
