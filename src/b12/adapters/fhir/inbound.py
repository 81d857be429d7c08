"""FHIR R4 in: a Bundle, a list of resources or NDJSON → a ClinicalPicture document.

Lenient by design (EHR payloads are often not strictly valid FHIR): each resource is checked
on its own, only for the elements b12 reads, and a resource that cannot be used is listed in
``ignored`` with the reason; one bad resource never fails the whole input.  Codes are trusted
only when the code table marks them verified or corroborated; otherwise the resource's text is
matched (see :mod:`b12.adapters.fhir.codes`).  No clock: ``as_of`` is an argument.

What is read (details in docs/fhir.md):

* Patient: age at ``as_of`` from ``birthDate`` (a partial date gives the youngest possible
  age), sex from ``gender``.
* Condition: SNOMED CT / ICD-10 / ICD-10-CM codes or text; only active, recurrent or relapsed
  conditions (surgery such as gastrectomy counts whatever its clinical status); never refuted or
  entered-in-error ones, nor ones whose onset is after ``as_of``.
* Observation: LOINC codes or text; the value converted to the picture's unit; the newest
  result of each lab wins and its date is kept (``observed``).
* MedicationRequest / MedicationStatement: RxNorm, ATC or dm+d codes or text; active, on-hold
  or intended ones, and completed ones that ended within ``completed_within_days`` of ``as_of``.
* Procedure: completed surgery (gastrectomy, bariatric surgery, ileal resection) by text.
* AllergyIntolerance: cobalt, or a B12 product (→ previous injection hypersensitivity).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from b12.adapters.fhir.codes import CodeTable
from b12.core.course import route_family
from b12.core.errors import FieldProblem, InputError
from b12.core.picture import EARLIEST_DATE, LATEST_DATE

#: Resource types that are read; every other type is ignored with a reason.
READ_TYPES = frozenset(
    {
        "Patient",
        "Condition",
        "Observation",
        "MedicationRequest",
        "MedicationStatement",
        "Medication",
        "Procedure",
        "AllergyIntolerance",
    }
)

#: 1 pmol/L of cobalamin = 1.355 ng/L (molar mass of cyanocobalamin 1355.4 g/mol).
B12_NG_L_PER_PMOL_L = 1.355

#: Accepted units (lower case, spaces removed, µ → u) and the factor to each picture unit.
LAB_UNITS: dict[str, dict[str, float]] = {
    "serum_b12_ng_l": {
        "ng/l": 1.0,
        "pg/ml": 1.0,
        "ng/ml": 1000.0,
        "pmol/l": B12_NG_L_PER_PMOL_L,
    },
    "active_b12_pmol_l": {"pmol/l": 1.0},
    "mma_nmol_l": {"nmol/l": 1.0, "umol/l": 1000.0, "pmol/ml": 1.0},
    "homocysteine_umol_l": {"umol/l": 1.0, "nmol/ml": 1.0},
    "haemoglobin_g_l": {"g/l": 1.0, "g/dl": 10.0, "mg/ml": 1.0},
    "mcv_fl": {"fl": 1.0, "um3": 1.0},
    "potassium_mmol_l": {"mmol/l": 1.0, "meq/l": 1.0},
    "folate_ug_l": {"ug/l": 1.0, "ng/ml": 1.0},
    "egfr": {
        "ml/min/{1.73_m2}": 1.0,
        "ml/min/1.73_m2": 1.0,
        "ml/min/1.73m2": 1.0,
        "ml/min/{1.73m2}": 1.0,
        "ml/min/1.73m^2": 1.0,
        "ml/min/1.73sqm": 1.0,
    },
    "platelets_10e9_l": {
        "10*9/l": 1.0,
        "10^9/l": 1.0,
        "x10^9/l": 1.0,
        "x10*9/l": 1.0,
        "10e9/l": 1.0,
        "x10e9/l": 1.0,
        "/nl": 1.0,
        "10*3/ul": 1.0,
        "10^3/ul": 1.0,
        "x10*3/ul": 1.0,
        "x10^3/ul": 1.0,
        "k/ul": 1.0,
    },
    "reticulocytes_pct": {"%": 1.0},
}

POSITIVE = frozenset({"positive", "pos", "detected", "present", "reactive", "true", "yes"})
NEGATIVE = frozenset(
    {"negative", "neg", "not detected", "absent", "non-reactive", "nonreactive", "false", "no"}
)

OBSERVATION_OK = frozenset({"final", "amended", "corrected", "appended"})
CONDITION_ACTIVE = frozenset({"active", "recurrence", "relapse"})
VERIFICATION_EXCLUDED = frozenset({"refuted", "entered-in-error"})
VERIFICATION_SUSPECTED = frozenset({"unconfirmed", "provisional", "differential"})
REQUEST_CURRENT = frozenset({"active", "on-hold"})
B12_DRUGS = frozenset({"hydroxocobalamin", "cyanocobalamin"})  # products a regimen schedules
STATEMENT_CURRENT = frozenset({"active", "intended", "on-hold"})
DEFICIENCY_RANK = {"confirmed": 3, "suspected": 2, "indeterminate": 1}
STAGE_RANK = {"1": 1, "2": 2, "3": 3, "3a": 3, "3b": 4, "4": 5, "5": 6}
CONDITION_TEXT_KINDS = ("condition", "cause", "deficiency", "ckd_stage", "finding", "flag", "diet")
MAX_ITEMS = 200_000


@dataclass(frozen=True)
class Ignored:
    """A resource (or a group of them) that gave no facts, and why."""

    resource: str
    reason: str

    def render(self) -> str:
        """``resource: reason``."""
        return f"{self.resource}: {self.reason}"


@dataclass(frozen=True)
class FhirPicture:
    """The result of reading FHIR: a ClinicalPicture document and what happened on the way.

    ``picture`` passes :func:`b12.parse_picture`.  ``used`` names the resources that gave
    facts; ``observed`` the date of each lab value kept; ``findings`` facts that the picture
    has no field for (``"ckd_stage:4"``, ``"finding:anaemia"``); ``notes`` what the clinician
    should check (conflicting causes, a deceased patient …); ``not_relevant`` counts readable
    resources that held nothing b12 uses."""

    picture: dict[str, Any]
    ignored: tuple[Ignored, ...]
    used: tuple[str, ...]
    observed: dict[str, date]
    patient_id: str | None = None
    findings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    not_relevant: int = 0
    #: A declared course (``CourseDeclaration``) read from a current B12 injection
    #: MedicationStatement/MedicationRequest whose dosage repeats every N months: on
    #: maintenance since the statement's (or dosage bounds') start, every N months.
    course: dict[str, Any] | None = None


# --------------------------------------------------------------------------- small readers


class _Bad(Exception):
    """A resource element b12 needs has the wrong shape."""


def _obj(raw: Any, where: str) -> dict[str, Any] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise _Bad(f"{where} is not an object")
    return raw


def _list(raw: Any, where: str) -> list[Any]:
    if raw is None:
        return []
    if isinstance(raw, dict):  # lenient: a single object where a list belongs
        return [raw]
    if not isinstance(raw, list):
        raise _Bad(f"{where} is not a list")
    return raw


def _str(raw: Any, where: str) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise _Bad(f"{where} is not a string")
    return raw


def _num(raw: Any, where: str) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise _Bad(f"{where} is not a number")
    value = float(raw)
    if not math.isfinite(value):
        raise _Bad(f"{where} is not a finite number")
    return value


@dataclass(frozen=True)
class _Concept:
    codings: tuple[tuple[str, str, str], ...]  # (system, code, display)
    text: str

    def texts(self) -> list[str]:
        return [t for t in (self.text, *(d for _, _, d in self.codings)) if t]

    def label(self) -> str:
        return next(iter(self.texts()), "")


def _concept(raw: Any, where: str) -> _Concept:
    obj = _obj(raw, where) or {}
    out = []
    for i, c in enumerate(_list(obj.get("coding"), f"{where}.coding")):
        c = _obj(c, f"{where}.coding[{i}]") or {}
        system = _str(c.get("system"), f"{where}.coding[{i}].system") or ""
        code = _str(c.get("code"), f"{where}.coding[{i}].code") or ""
        display = _str(c.get("display"), f"{where}.coding[{i}].display") or ""
        out.append((system, code, display))
    return _Concept(tuple(out), _str(obj.get("text"), f"{where}.text") or "")


def _codes(raw: Any, where: str) -> set[str]:
    """The codes of a CodeableConcept (for status elements), lower case."""
    return {code.lower() for _, code, _ in _concept(raw, where).codings if code}


_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


def fhir_date(raw: Any, *, latest: bool = False) -> date | None:
    """The calendar date of a FHIR date/dateTime/instant (partial dates: the first day, or the
    last with ``latest``); None when it is not a usable date."""
    if not isinstance(raw, str):
        return None
    m = _DATE.match(raw.strip())
    if not m:
        return None
    year = int(m.group(1))
    try:
        if m.group(3):
            d = date(year, int(m.group(2)), int(m.group(3)))
        elif m.group(2):
            month = int(m.group(2))
            d = date(year, month, 1)
            if latest:
                d = (d.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        else:
            d = date(year, 12, 31) if latest else date(year, 1, 1)
    except ValueError:
        return None
    return d if EARLIEST_DATE <= d <= LATEST_DATE else None


def _label(res: Mapping[str, Any], fallback: str) -> str:
    rtype = res.get("resourceType")
    rid = res.get("id")
    if isinstance(rtype, str) and isinstance(rid, str) and rid:
        return f"{rtype}/{rid}"[:120]
    if isinstance(rtype, str):
        return f"{rtype[:60]} ({fallback})"
    return fallback


# --------------------------------------------------------------------------- input shapes


def read_fhir_text(text: str, name: str = "input") -> tuple[list[Any], list[Ignored]]:
    """Parse JSON (a Bundle, a resource or a list) or NDJSON; bad NDJSON lines are ignored."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        data = None
    else:
        return ([data], [])
    items: list[Any] = []
    ignored: list[Ignored] = []
    lines = text.splitlines()
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except (ValueError, RecursionError) as exc:
            ignored.append(Ignored(f"{name} line {n}", f"not JSON ({str(exc)[:80]})"))
            continue
        if not isinstance(item, dict) or not isinstance(item.get("resourceType"), str):
            ignored.append(Ignored(f"{name} line {n}", "not a FHIR resource (no resourceType)"))
            continue
        items.append(item)
    if not items and not any(i.reason.startswith("not a FHIR") for i in ignored) and ignored:
        raise InputError([FieldProblem(name, "neither JSON nor NDJSON")])
    return items, ignored


def load_fhir_path(path: Path) -> tuple[list[Any], list[Ignored]]:
    """Read a ``.json`` Bundle/resource, an ``.ndjson`` file, or a folder of them."""
    files = (
        sorted(p for p in path.iterdir() if p.suffix in (".json", ".ndjson") and p.is_file())
        if path.is_dir()
        else [path]
    )
    if not files:
        raise InputError([FieldProblem(str(path), "no .json or .ndjson files")])
    items: list[Any] = []
    ignored: list[Ignored] = []
    for f in files:
        try:
            text = f.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError([FieldProblem(str(f), f"cannot read: {exc}")]) from None
        got, bad = read_fhir_text(text, f.name)
        items.extend(got)
        ignored.extend(bad)
    return items, ignored


@dataclass
class _Flat:
    resources: list[tuple[str, dict[str, Any], str | None]] = field(default_factory=list)
    ignored: list[Ignored] = field(default_factory=list)


def _flatten(data: Any) -> _Flat:
    """Every resource in a Bundle / list / resource (nested Bundles too), with its label and
    Bundle ``fullUrl``."""
    if not isinstance(data, dict | list):
        raise InputError(
            [FieldProblem("input", "expected a FHIR resource, a Bundle or a list of resources")]
        )
    flat = _Flat()
    stack: list[tuple[Any, str, str | None]] = [(data, "input", None)]
    while stack:
        item, where, full_url = stack.pop()
        if len(flat.resources) + len(flat.ignored) > MAX_ITEMS:
            raise InputError([FieldProblem("input", f"more than {MAX_ITEMS} resources")])
        if isinstance(item, list):
            stack.extend((x, f"{where}[{i}]", None) for i, x in reversed(list(enumerate(item))))
            continue
        if not isinstance(item, dict):
            flat.ignored.append(Ignored(where, "not a JSON object"))
            continue
        rtype = item.get("resourceType")
        if not isinstance(rtype, str) or not rtype:
            flat.ignored.append(Ignored(where, "no resourceType"))
            continue
        if rtype == "Bundle":
            entries = item.get("entry")
            if entries is None:
                continue
            if not isinstance(entries, list):
                flat.ignored.append(Ignored(_label(item, where), "Bundle.entry is not a list"))
                continue
            pending: list[tuple[Any, str, str | None]] = []
            for i, e in enumerate(entries):
                ewhere = f"{where}.entry[{i}]"
                if not isinstance(e, dict) or not isinstance(e.get("resource"), dict):
                    flat.ignored.append(Ignored(ewhere, "entry has no resource"))
                    continue
                url = e.get("fullUrl")
                pending.append((e["resource"], ewhere, url if isinstance(url, str) else None))
            stack.extend(reversed(pending))
            continue
        flat.resources.append((_label(item, where), item, full_url))
    return flat


def patient_ids(data: Any) -> tuple[str, ...]:
    """The ids of the Patient resources in ``data`` (a Bundle, a list or a resource)."""
    flat = _flatten(data)
    out = []
    for _, res, full_url in flat.resources:
        if res.get("resourceType") == "Patient":
            rid = res.get("id")
            out.append(rid if isinstance(rid, str) and rid else (full_url or "(no id)"))
    return tuple(dict.fromkeys(out))


# --------------------------------------------------------------------------- the reader


@dataclass
class _Acc:
    """Facts gathered while reading, before they become a picture."""

    conditions: dict[str, str] = field(default_factory=dict)
    medications: dict[str, str] = field(default_factory=dict)
    causes: dict[str, str] = field(default_factory=dict)
    deficiency: dict[str, str] = field(default_factory=dict)
    flags: dict[str, str] = field(default_factory=dict)
    diet: dict[str, str] = field(default_factory=dict)
    findings: dict[str, str] = field(default_factory=dict)
    labs: dict[str, list[tuple[date, int, float | bool, str]]] = field(default_factory=dict)
    used: list[str] = field(default_factory=list)
    ignored: list[Ignored] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    not_relevant: int = 0
    courses: list[tuple[date, int, str]] = field(default_factory=list)


def _meaning(concept: _Concept, table: CodeTable, kinds: Iterable[str]) -> dict[str, str]:
    """What a CodeableConcept means for the given kinds: from a verified/corroborated code,
    else from its text."""
    kinds = tuple(kinds)
    found: dict[str, str] = {}
    coded = False
    for system, code, _ in concept.codings:
        entry = table.lookup(system, code) if system and code else None
        if entry is not None and entry.emittable:
            coded = True
            for k, v in entry.meaning().items():
                if k in kinds:
                    found.setdefault(k, v)
    if coded:  # a trusted code says what it is (and what it is not): no text guessing
        return found
    for kind in kinds:
        for text in concept.texts():
            value = table.match_text(kind, text)
            if value is not None:
                found[kind] = value
                break
    return found


class _Reader:
    def __init__(self, table: CodeTable, as_of: date, sex: str | None) -> None:
        self.table = table
        self.as_of = as_of
        self.sex = sex
        self.acc = _Acc()
        self.medications: dict[str, dict[str, Any]] = {}

    # ---------------------------------------------------------------- Condition
    def condition(self, label: str, res: dict[str, Any]) -> None:
        ver = _codes(res.get("verificationStatus"), "verificationStatus")
        if ver & VERIFICATION_EXCLUDED:
            self.acc.ignored.append(Ignored(label, f"verification status {sorted(ver)[0]}"))
            return
        concept = _concept(res.get("code"), "code")
        meaning = _meaning(concept, self.table, CONDITION_TEXT_KINDS)
        if not meaning:
            self.acc.not_relevant += 1
            return
        permanent = meaning.get("condition") in self.table.permanent_conditions
        clinical = _codes(res.get("clinicalStatus"), "clinicalStatus")
        onset = fhir_date(res.get("onsetDateTime")) or fhir_date(res.get("recordedDate"))
        abated = fhir_date(res.get("abatementDateTime"))
        if onset is not None and onset > self.as_of:
            self.acc.not_relevant += 1
            return
        if not permanent:
            if clinical and not clinical & CONDITION_ACTIVE:
                self.acc.not_relevant += 1
                return
            if abated is not None and abated <= self.as_of:
                self.acc.not_relevant += 1
                return
        suspected = bool(ver & VERIFICATION_SUSPECTED)
        self._apply(label, meaning, suspected=suspected)

    def _apply(self, label: str, meaning: Mapping[str, str], *, suspected: bool = False) -> None:
        a = self.acc
        if meaning.get("flag") == "pregnant" and self.sex == "male":
            a.notes.append(f"{label}: pregnancy recorded for a male patient: not used")
            meaning = {k: v for k, v in meaning.items() if k != "flag"}
        targets: dict[str, dict[str, str]] = {
            "condition": a.conditions,
            "cause": a.causes,
            "deficiency": a.deficiency,
            "flag": a.flags,
            "diet": a.diet,
            "medication": a.medications,
        }
        for kind, value in meaning.items():
            if kind == "deficiency" and suspected and value == "confirmed":
                value = "suspected"
            if kind in targets:
                targets[kind].setdefault(value, label)
            elif kind in ("ckd_stage", "finding"):
                a.findings.setdefault(f"{kind}:{value}", label)
                if kind == "ckd_stage":
                    a.conditions.setdefault("ckd", label)
        if meaning:
            a.used.append(label)

    # ---------------------------------------------------------------- Observation
    def observation(self, label: str, res: dict[str, Any], index: int) -> None:
        concept = _concept(res.get("code"), "code")
        lab = _meaning(concept, self.table, ("lab",)).get("lab")
        if lab is None:
            self._diet_observation(label, res, concept)
            return
        status = _str(res.get("status"), "status")
        if status is not None and status not in OBSERVATION_OK:
            self.acc.ignored.append(Ignored(label, f"status {status}: no result to use"))
            return
        when = (
            fhir_date(res.get("effectiveDateTime"))
            or fhir_date(res.get("effectiveInstant"))
            or fhir_date((_obj(res.get("effectivePeriod"), "effectivePeriod") or {}).get("end"))
            or fhir_date((_obj(res.get("effectivePeriod"), "effectivePeriod") or {}).get("start"))
            or fhir_date(res.get("issued"))
        )
        if when is None:
            self.acc.ignored.append(Ignored(label, f"{lab}: no date, so it cannot be dated"))
            return
        if when > self.as_of:
            self.acc.ignored.append(Ignored(label, f"{lab}: dated {when}, after as_of"))
            return
        if res.get("dataAbsentReason") is not None:
            self.acc.ignored.append(Ignored(label, f"{lab}: no value (dataAbsentReason)"))
            return
        value = (
            self._ifab(label, res) if lab == "ifab_positive" else self._quantity(label, lab, res)
        )
        if value is None:
            return
        self.acc.labs.setdefault(lab, []).append((when, index, value, label))

    def _diet_observation(self, label: str, res: dict[str, Any], concept: _Concept) -> None:
        texts = concept.texts()
        value_cc = _concept(res.get("valueCodeableConcept"), "valueCodeableConcept")
        texts += value_cc.texts()
        vs = _str(res.get("valueString"), "valueString")
        if vs:
            texts.append(vs)
        for t in texts:
            diet = self.table.match_text("diet", t)
            if diet is not None:
                self._apply(label, {"diet": diet})
                return
        self.acc.not_relevant += 1

    def _ifab(self, label: str, res: dict[str, Any]) -> bool | None:
        if isinstance(res.get("valueBoolean"), bool):
            return bool(res["valueBoolean"])
        words: list[str] = []
        vs = _str(res.get("valueString"), "valueString")
        if vs:
            words.append(vs)
        words += _concept(res.get("valueCodeableConcept"), "valueCodeableConcept").texts()
        words += [code for _, code, _ in _concept(res.get("valueCodeableConcept"), "v").codings]
        for i, cc in enumerate(_list(res.get("interpretation"), "interpretation")):
            c = _concept(cc, f"interpretation[{i}]")
            words += [code for _, code, _ in c.codings] + c.texts()
        verdicts = set()
        for w in words:
            key = " ".join(w.lower().replace("-", " ").split())
            key_dash = w.strip().lower()
            if key in POSITIVE or key_dash in POSITIVE:
                verdicts.add(True)
            elif key in NEGATIVE or key_dash in NEGATIVE:
                verdicts.add(False)
        if len(verdicts) != 1:
            why = "positive and negative both stated" if verdicts else "result not stated"
            self.acc.ignored.append(Ignored(label, f"intrinsic factor antibody: {why}"))
            return None
        return verdicts.pop()

    def _quantity(self, label: str, lab: str, res: dict[str, Any]) -> float | None:
        q = _obj(res.get("valueQuantity"), "valueQuantity")
        if q is None:
            what = next((k for k in res if k.startswith("value")), None)
            why = f"value given as {what}, not a quantity" if what else "no value"
            self.acc.ignored.append(Ignored(label, f"{lab}: {why}"))
            return None
        value = _num(q.get("value"), "valueQuantity.value")
        if value is None:
            self.acc.ignored.append(Ignored(label, f"{lab}: no value"))
            return None
        comparator = _str(q.get("comparator"), "valueQuantity.comparator")
        code = _str(q.get("code"), "valueQuantity.code")
        unit_text = _str(q.get("unit"), "valueQuantity.unit")
        unit = code or unit_text or ""
        if comparator:
            self.acc.ignored.append(
                Ignored(
                    label,
                    f"{lab}: reported as {comparator}{value:g} {unit}: enter it by hand",
                )
            )
            return None
        factors = LAB_UNITS[lab]
        factor = None
        for u in (code, unit_text):
            if u:
                factor = factors.get(_unit_key(u))
                if factor is not None:
                    break
        if factor is None:
            shown = unit or "(none)"
            self.acc.ignored.append(
                Ignored(
                    label, f"{lab}: unit {shown!r} is not known (accepted: {', '.join(factors)})"
                )
            )
            return None
        converted = round(value * factor, 3)
        lo, hi = self.table.lab_ranges.get(lab, (-math.inf, math.inf))
        if not lo <= converted <= hi:
            self.acc.ignored.append(
                Ignored(label, f"{lab}: implausible value {converted:g} (expected {lo:g}–{hi:g})")
            )
            return None
        return converted

    # ---------------------------------------------------------------- medicines
    def _medication_concept(self, res: dict[str, Any], contained: list[Any]) -> _Concept | None:
        cc = res.get("medicationCodeableConcept")
        if cc is not None:
            return _concept(cc, "medicationCodeableConcept")
        ref = _obj(res.get("medicationReference"), "medicationReference")
        if ref is None:
            return None
        target = _str(ref.get("reference"), "medicationReference.reference") or ""
        med: dict[str, Any] | None = None
        if target.startswith("#"):
            for c in contained:
                if isinstance(c, dict) and c.get("id") == target[1:]:
                    med = c
        else:
            med = self.medications.get(target) or self.medications.get(target.split("/")[-1])
        if med is None:
            display = _str(ref.get("display"), "medicationReference.display")
            return _Concept((), display) if display else None
        return _concept(med.get("code"), "Medication.code")

    def medicine(self, label: str, res: dict[str, Any]) -> None:
        rtype = res["resourceType"]
        contained = _list(res.get("contained"), "contained")
        concept = self._medication_concept(res, contained)
        if concept is None:
            self.acc.ignored.append(Ignored(label, "no medication named"))
            return
        meaning = _meaning(concept, self.table, ("medication",))
        cond = _meaning(concept, self.table, ("medication_condition",))
        if not meaning and not cond:
            self.acc.not_relevant += 1
            return
        status = _str(res.get("status"), "status") or ""
        current = REQUEST_CURRENT if rtype == "MedicationRequest" else STATEMENT_CURRENT
        if rtype == "MedicationRequest":
            start = fhir_date(res.get("authoredOn"))
            end = self._request_end(res)
        else:
            period = _obj(res.get("effectivePeriod"), "effectivePeriod") or {}
            start = fhir_date(res.get("effectiveDateTime")) or fhir_date(period.get("start"))
            end = fhir_date(period.get("end"), latest=True) or fhir_date(
                res.get("effectiveDateTime")
            )
            start = start or fhir_date(res.get("dateAsserted"))
        if start is not None and start > self.as_of:
            self.acc.not_relevant += 1
            return
        if status in current:
            pass
        elif status == "completed":
            last = end or start
            if last is None or (self.as_of - last).days > self.table.completed_within_days:
                self.acc.not_relevant += 1
                return
        else:
            self.acc.not_relevant += 1
            return
        combined = dict(meaning)
        if "medication_condition" in cond:
            self._apply(label, {"condition": cond["medication_condition"]})
        if combined:
            self._apply(label, combined)
        if status in current and _meaning(concept, self.table, ("drug",)).get("drug") in B12_DRUGS:
            self._course(label, res, start)

    def _course(self, label: str, res: dict[str, Any], start: date | None) -> None:
        """A current B12 injection course given every N months is maintenance since its start."""
        key = "dosageInstruction" if res["resourceType"] == "MedicationRequest" else "dosage"
        for i, raw in enumerate(_list(res.get(key), key)):
            dosage = _obj(raw, f"{key}[{i}]") or {}
            route_cc = _concept(dosage.get("route"), f"{key}[{i}].route")
            route = _meaning(route_cc, self.table, ("route",)).get("route")
            interval, _, bounds_start = _timing(dosage, self.table)
            months = _months(interval, self.table)
            since = bounds_start or start
            if months is None or since is None or since > self.as_of:
                continue
            if route is not None and route_family(route) != "injection":
                continue
            self.acc.courses.append((since, months, label))
            self.acc.used.append(label)
            return

    def _request_end(self, res: dict[str, Any]) -> date | None:
        dispense = _obj(res.get("dispenseRequest"), "dispenseRequest") or {}
        validity = _obj(dispense.get("validityPeriod"), "dispenseRequest.validityPeriod") or {}
        end = fhir_date(validity.get("end"), latest=True)
        for i, d in enumerate(_list(res.get("dosageInstruction"), "dosageInstruction")):
            d = _obj(d, f"dosageInstruction[{i}]") or {}
            timing = _obj(d.get("timing"), "timing") or {}
            repeat = _obj(timing.get("repeat"), "timing.repeat") or {}
            bounds = _obj(repeat.get("boundsPeriod"), "boundsPeriod") or {}
            b_end = fhir_date(bounds.get("end"), latest=True)
            if b_end is not None and (end is None or b_end > end):
                end = b_end
        return end

    # ---------------------------------------------------------------- Procedure
    def procedure(self, label: str, res: dict[str, Any]) -> None:
        concept = _concept(res.get("code"), "code")
        meaning = _meaning(concept, self.table, ("condition",))
        if not meaning:
            self.acc.not_relevant += 1
            return
        status = _str(res.get("status"), "status")
        if status is not None and status != "completed":
            self.acc.not_relevant += 1
            return
        period = _obj(res.get("performedPeriod"), "performedPeriod") or {}
        when = (
            fhir_date(res.get("performedDateTime"))
            or fhir_date(period.get("end"))
            or fhir_date(period.get("start"))
        )
        if when is not None and when > self.as_of:
            self.acc.not_relevant += 1
            return
        if meaning["condition"] not in self.table.permanent_conditions and (
            when is None or (self.as_of - when).days > self.table.completed_within_days
        ):
            self.acc.not_relevant += 1
            return
        self._apply(label, meaning)

    # ---------------------------------------------------------------- AllergyIntolerance
    def allergy(self, label: str, res: dict[str, Any]) -> None:
        ver = _codes(res.get("verificationStatus"), "verificationStatus")
        clinical = _codes(res.get("clinicalStatus"), "clinicalStatus")
        concept = _concept(res.get("code"), "code")
        meaning = _meaning(concept, self.table, ("allergy",))
        if not meaning:
            self.acc.not_relevant += 1
            return
        if ver & VERIFICATION_EXCLUDED or (clinical and "active" not in clinical):
            self.acc.not_relevant += 1
            return
        self._apply(label, {"condition": meaning["allergy"]})


def _unit_key(unit: str) -> str:
    u = unit.strip().replace("µ", "u").replace("μ", "u").replace("mcg", "ug")
    return "".join(u.split()).lower()


def _ref_targets(res: Mapping[str, Any]) -> list[str]:
    out = []
    for key in ("subject", "patient"):
        ref = res.get(key)
        if isinstance(ref, dict) and isinstance(ref.get("reference"), str):
            out.append(ref["reference"])
    return out


def _points_to(ref: str, pid: str, full_url: str | None) -> bool:
    ref = ref.split("/_history/")[0]
    return ref in (f"Patient/{pid}", f"urn:uuid:{pid}", full_url) or ref.endswith(f"/Patient/{pid}")


def _age(birth: Any, as_of: date) -> int:
    if not isinstance(birth, str):
        raise InputError([FieldProblem("Patient.birthDate", "required to work out the age")])
    born = fhir_date(birth, latest=True)  # a partial date: the youngest possible age
    if born is None:
        raise InputError([FieldProblem("Patient.birthDate", f"not a date: {birth[:40]!r}")])
    if born > as_of:
        raise InputError([FieldProblem("Patient.birthDate", f"after as_of ({as_of})")])
    return as_of.year - born.year - ((as_of.month, as_of.day) < (born.month, born.day))


_Entry = tuple[str, dict[str, Any], str | None]


def _choose(patients: list[_Entry], patient: str | None, base: Mapping[str, Any]) -> _Entry | None:
    """The Patient to read, or None when ``base`` supplies the age and there is no Patient."""
    ids = [r.get("id") if isinstance(r.get("id"), str) else lbl for lbl, r, _ in patients]
    if patient is not None:
        for entry, pid in zip(patients, ids, strict=True):
            if pid == patient:
                return entry
        found = ", ".join(str(i) for i in ids) or "none"
        raise InputError(
            [FieldProblem("patient", f"no Patient with id {patient!r}; found: {found}")]
        )
    if len(patients) > 1:
        listed = ", ".join(str(i) for i in ids)
        raise InputError(
            [FieldProblem("patient", f"{len(patients)} patients ({listed}); choose one")]
        )
    if patients:
        return patients[0]
    if "age" not in base:
        raise InputError(
            [FieldProblem("Patient", "no Patient resource: its birthDate is needed for the age")]
        )
    return None


def _patient_facts(
    chosen: _Entry, base: Mapping[str, Any], as_of: date
) -> tuple[dict[str, Any], list[str]]:
    lbl, pres, _ = chosen
    picture: dict[str, Any] = {}
    notes: list[str] = []
    if "age" not in base:
        picture["age"] = _age(pres.get("birthDate"), as_of)
    gender = pres.get("gender")
    if gender in ("male", "female", "other", "unknown"):
        picture["sex"] = gender
    died = fhir_date(pres.get("deceasedDateTime"))
    if pres.get("deceasedBoolean") is True or (died is not None and died <= as_of):
        notes.append(f"{lbl}: recorded as deceased")
    return picture, notes


def _medication_index(flat: _Flat) -> dict[str, dict[str, Any]]:
    index: dict[str, dict[str, Any]] = {}
    for _, res, url in flat.resources:
        if res["resourceType"] != "Medication":
            continue
        rid = res.get("id")
        if isinstance(rid, str):
            index[f"Medication/{rid}"] = res
            index[rid] = res
        if url:
            index[url] = res
    return index


def _read_one(reader: _Reader, lbl: str, res: dict[str, Any], index: int) -> None:
    rtype = res["resourceType"]
    try:
        if rtype == "Condition":
            reader.condition(lbl, res)
        elif rtype == "Observation":
            reader.observation(lbl, res, index)
        elif rtype in ("MedicationRequest", "MedicationStatement"):
            reader.medicine(lbl, res)
        elif rtype == "Procedure":
            reader.procedure(lbl, res)
        elif rtype == "AllergyIntolerance":
            reader.allergy(lbl, res)
    except _Bad as exc:
        reader.acc.ignored.append(Ignored(lbl, f"not valid FHIR R4: {exc}"))
    except (TypeError, ValueError, KeyError, AttributeError, RecursionError) as exc:
        reader.acc.ignored.append(Ignored(lbl, f"could not be read ({type(exc).__name__})"))


def _as_data(resources: Any) -> Any:
    if isinstance(resources, Mapping):
        return dict(resources)
    if isinstance(resources, Iterable) and not isinstance(resources, str | bytes):
        return list(resources)
    return resources


def picture_from_fhir(
    resources: Iterable[Any] | Mapping[str, Any],
    table: CodeTable,
    *,
    as_of: date,
    patient: str | None = None,
    base: Mapping[str, Any] | None = None,
) -> FhirPicture:
    """Read FHIR R4 resources into a ClinicalPicture document.

    ``resources`` is a Bundle (any ``type``, or none), one resource, or resources (which may be
    Bundles).  ``patient`` chooses one Patient when there are several; ``base`` is a partial
    picture (e.g. ``{"guideline": "us"}``) whose fields win over FHIR.  Raises
    :class:`InputError` only when no picture can be made (no usable Patient, several patients
    and none chosen); every other problem is listed in ``ignored``."""
    flat = _flatten(_as_data(resources))
    base = dict(base or {})
    patients = [e for e in flat.resources if e[1]["resourceType"] == "Patient"]
    chosen = _choose(patients, patient, base)
    picture: dict[str, Any] = {}
    notes: list[str] = []
    pid: str | None = None
    if chosen is not None:
        picture, notes = _patient_facts(chosen, base, as_of)
        pid = chosen[1].get("id") if isinstance(chosen[1].get("id"), str) else None
    sex = base.get("sex", picture.get("sex"))
    reader = _Reader(table, as_of, sex if isinstance(sex, str) else None)
    reader.medications = _medication_index(flat)
    acc = reader.acc
    acc.ignored.extend(flat.ignored)
    acc.used.extend([chosen[0]] if chosen is not None else [])
    acc.notes.extend(notes)

    skipped: Counter[tuple[str, str]] = Counter()
    for index, (lbl, res, _) in enumerate(flat.resources):
        rtype = res["resourceType"]
        if rtype in ("Patient", "Medication"):
            continue
        if rtype not in READ_TYPES:
            skipped[(rtype[:60], "resource type not read by b12")] += 1
            continue
        targets = _ref_targets(res)
        mine = chosen is None or (
            any(_points_to(t, pid or "", chosen[2]) for t in targets)
            if targets
            else len(patients) == 1
        )
        if not mine:
            skipped[(rtype, "not about the chosen patient")] += 1
            continue
        _read_one(reader, lbl, res, index)
    acc.ignored += [Ignored(f"{rtype} ×{n}", why) for (rtype, why), n in sorted(skipped.items())]
    return _assemble(picture, base, acc, table, as_of, pid)


def _cause(acc: _Acc, table: CodeTable, notes: list[str]) -> str | None:
    if not acc.causes:
        return None
    ranked = sorted(
        acc.causes,
        key=lambda c: (table.cause_priority.index(c) if c in table.cause_priority else 99, c),
    )
    if len(ranked) > 1:
        notes.append(f"several causes recorded ({', '.join(ranked)}): used {ranked[0]}")
    return ranked[0]


def _newest_labs(acc: _Acc, notes: list[str]) -> tuple[dict[str, float | bool], dict[str, date]]:
    labs: dict[str, float | bool] = {}
    observed: dict[str, date] = {}
    for lab, results in acc.labs.items():
        results.sort(key=lambda r: (r[0], r[1]))
        when, _, value, label = results[-1]
        same_day = {r[2] for r in results if r[0] == when}
        if len(same_day) > 1:
            notes.append(f"{lab}: {len(same_day)} different results on {when}: used {label}")
        labs[lab] = value
        observed[lab] = when
        acc.used.append(label)
    return labs, observed


def _findings(acc: _Acc) -> list[str]:
    stages = [f.split(":", 1)[1] for f in acc.findings if f.startswith("ckd_stage:")]
    findings = sorted(f for f in acc.findings if not f.startswith("ckd_stage:"))
    if stages:
        findings.append(f"ckd_stage:{max(stages, key=lambda s: STAGE_RANK.get(s, 0))}")
    return findings


def _merge(picture: dict[str, Any], base: dict[str, Any], observed: dict[str, date]) -> None:
    for key, value in base.items():
        if key in ("conditions", "medications", "neuro_symptoms") and isinstance(value, list):
            picture[key] = sorted(set(picture.get(key, [])) | set(value))
        elif key == "labs" and isinstance(value, dict):
            picture["labs"] = {**picture.get("labs", {}), **value}
            for lab in value:
                observed.pop(lab, None)
        else:
            picture[key] = value


def _assemble(
    picture: dict[str, Any],
    base: dict[str, Any],
    acc: _Acc,
    table: CodeTable,
    as_of: date,
    pid: str | None,
) -> FhirPicture:
    notes = list(acc.notes)
    if acc.conditions:
        picture["conditions"] = sorted(acc.conditions)
    if acc.medications:
        picture["medications"] = sorted(acc.medications)
    cause = _cause(acc, table, notes)
    if cause is not None:
        picture["cause"] = cause
    if acc.deficiency:
        picture["deficiency"] = max(acc.deficiency, key=lambda d: DEFICIENCY_RANK.get(d, 0))
    for flag in acc.flags:
        picture[flag] = True
    if acc.diet:
        picture["diet"] = "vegan" if "vegan" in acc.diet else sorted(acc.diet)[0]
    labs, observed = _newest_labs(acc, notes)
    if labs:
        picture["labs"] = labs
    picture["as_of"] = as_of.isoformat()
    _merge(picture, base, observed)
    course = _declared_course(acc, notes)
    return FhirPicture(
        picture=picture,
        ignored=tuple(acc.ignored),
        used=tuple(dict.fromkeys(acc.used)),
        observed=observed,
        patient_id=pid,
        findings=tuple(_findings(acc)),
        notes=tuple(notes),
        not_relevant=acc.not_relevant,
        course=course,
    )


def _months(interval: Mapping[str, Any], table: CodeTable) -> int | None:
    """Whole months between doses for a maintenance-like interval (four weeks or more)."""
    if "frequency" in interval:
        kind, n = table.frequencies[interval["frequency"]]
        return n if kind == "months" else None
    days = interval.get("every_days")
    if isinstance(days, int) and days >= MAINTENANCE_MIN_DAYS:
        return max(1, round(days / MONTH_DAYS))
    return None


def _declared_course(acc: _Acc, notes: list[str]) -> dict[str, Any] | None:
    """The course in force: the most recently started maintenance statement or request."""
    if not acc.courses:
        return None
    since, months, label = max(acc.courses)
    if len({m for _, m, _ in acc.courses}) > 1:
        notes.append(
            f"several B12 maintenance intervals recorded: used every {months} months ({label})"
        )
    notes.append(f"course from {label}: on maintenance since {since}, every {months} months")
    return {"stage": "maintenance", "since": since.isoformat(), "every_months": months}


# --------------------------------------------------------------------------- orders

DOSE_UNITS = {
    "mg": "mg",
    "milligram": "mg",
    "milligrams": "mg",
    "ug": "mcg",
    "mcg": "mcg",
    "µg": "mcg",
    "μg": "mcg",
    "microgram": "mcg",
    "micrograms": "mcg",
}
PERIOD_DAYS = {"d": 1, "wk": 7, "a": 365}
MONTH_DAYS = 30.44
MAINTENANCE_MIN_DAYS = 28  # doses four weeks or more apart: maintenance (the KB's parameter)


def medication_product(
    resource: Any, table: CodeTable, medications: Mapping[str, Any] | None = None
) -> tuple[str | None, str]:
    """The vocabulary product a MedicationRequest orders (``"hydroxocobalamin"``, …) or None,
    and the medication text as given."""
    if not isinstance(resource, dict):
        return None, ""
    reader = _Reader(table, date.max, None)
    reader.medications = {k: v for k, v in (medications or {}).items() if isinstance(v, dict)}
    try:
        concept = reader._medication_concept(resource, _list(resource.get("contained"), "c"))
    except _Bad:
        return None, ""
    if concept is None:
        return None, ""
    drug = _meaning(concept, table, ("drug",)).get("drug")
    return drug, concept.label()


def _dose(dosage: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    rates = _list(dosage.get("doseAndRate"), "doseAndRate")
    for i, r in enumerate(rates):
        r = _obj(r, f"doseAndRate[{i}]") or {}
        if r.get("doseRange") is not None and r.get("doseQuantity") is None:
            return None, "the dose is a range: give one dose to check it"
        q = _obj(r.get("doseQuantity"), f"doseAndRate[{i}].doseQuantity")
        if q is None:
            continue
        value = _num(q.get("value"), "doseQuantity.value")
        if value is None or value <= 0:
            return None, "the dose has no positive value"
        for u in (_str(q.get("code"), "doseQuantity.code"), _str(q.get("unit"), "unit")):
            if u and u.strip().lower() in DOSE_UNITS:
                return {"value": value, "unit": DOSE_UNITS[u.strip().lower()]}, None
            if u and u.strip() in DOSE_UNITS:
                return {"value": value, "unit": DOSE_UNITS[u.strip()]}, None
        shown = _str(q.get("unit"), "unit") or _str(q.get("code"), "code") or "(none)"
        return None, f"the dose is {value:g} {shown}: only mg or mcg doses can be checked"
    return None, "no dose (dosageInstruction.doseAndRate.doseQuantity)"


def _interval(
    freq: int, period: float, unit: str, table: CodeTable
) -> tuple[dict[str, Any], str | None]:
    """``frequency`` times every ``period`` ``unit`` as ``every_days`` or a vocabulary
    frequency, or a reason."""
    if freq > 1:
        for name, (kind, n) in table.frequencies.items():
            if unit == "wk" and period == 1 and kind == "per_week" and n == freq:
                return {"frequency": name}, None
        return {}, f"{freq} times every {period:g} {unit} is not a schedule b12 knows"
    if unit == "mo":
        for name, (kind, n) in table.frequencies.items():
            if kind == "months" and n == period:
                return {"frequency": name}, None
        days = float(round(period * MONTH_DAYS))
    elif unit in PERIOD_DAYS:
        days = period * PERIOD_DAYS[unit]
    else:
        return {}, f"an interval of {period:g} {unit} is not a B12 schedule"
    if days != int(days) or not 1 <= days <= 366:
        return {}, f"an interval of {period:g} {unit} is outside 1–366 days"
    return {"every_days": int(days)}, None


def _timing(
    dosage: dict[str, Any], table: CodeTable
) -> tuple[dict[str, Any], str | None, date | None]:
    timing = _obj(dosage.get("timing"), "timing") or {}
    repeat = _obj(timing.get("repeat"), "timing.repeat") or {}
    bounds = _obj(repeat.get("boundsPeriod"), "timing.repeat.boundsPeriod") or {}
    start = fhir_date(bounds.get("start"))
    period = _num(repeat.get("period"), "timing.repeat.period")
    unit = _str(repeat.get("periodUnit"), "timing.repeat.periodUnit")
    freq = _num(repeat.get("frequency"), "timing.repeat.frequency") or 1.0
    if period is None:
        has_timing = repeat.get("frequency") is not None or unit is not None
        return {}, ("timing has no period" if has_timing else None), start
    if unit is None:
        return {}, "timing has no periodUnit", start
    if period <= 0 or freq <= 0 or freq != int(freq):
        return {}, "timing frequency/period must be positive", start
    interval, why = _interval(int(freq), period, unit, table)
    return interval, why, start


def order_from_medication_request(
    resource: Any,
    table: CodeTable,
    medications: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any] | None, str | None]:
    """The OrderCheck ``order`` document for one MedicationRequest, or ``(None, reason)``.

    The product is the vocabulary product a verified/corroborated code or the text names;
    otherwise the free text stays as given (the order check reports it as unsupported).  The
    dose, route and interval come from the first dosage (lowest ``sequence``); ``doseAndRate``
    given as an object instead of a list is accepted.  An unrecognised route or site is a
    reason, never guessed.  ``medications`` resolves ``medicationReference`` (by reference,
    id or fullUrl); contained Medications are found on their own."""
    if not isinstance(resource, dict) or resource.get("resourceType") != "MedicationRequest":
        return None, "not a MedicationRequest"
    try:
        return _order(resource, table, medications)
    except _Bad as exc:
        return None, f"not valid FHIR R4: {exc}"
    except (TypeError, ValueError, KeyError, AttributeError, RecursionError) as exc:
        return None, f"could not be read ({type(exc).__name__})"


def _order(
    resource: dict[str, Any], table: CodeTable, medications: Mapping[str, Any] | None
) -> tuple[dict[str, Any] | None, str | None]:
    drug, text = medication_product(resource, table, medications)
    if drug is None:
        if not text.strip():
            return None, "no medication named"
        if len(text) > 200:
            return None, "the medication text is longer than 200 characters"
        drug = text.strip()
    dosages = [
        _obj(d, f"dosageInstruction[{i}]") or {}
        for i, d in enumerate(_list(resource.get("dosageInstruction"), "dosageInstruction"))
    ]
    if not dosages:
        return None, "no dosageInstruction"

    def seq(d: dict[str, Any]) -> float:
        s = d.get("sequence")
        return float(s) if isinstance(s, int | float) and not isinstance(s, bool) else math.inf

    dosage = min(dosages, key=seq)
    dose, why = _dose(dosage)
    if dose is None:
        return None, why
    route_cc = _concept(dosage.get("route"), "dosage.route")
    route = _meaning(route_cc, table, ("route",)).get("route")
    if route is None:
        shown = route_cc.label()
        return None, (f"route {shown!r} is not recognised" if shown else "no route")
    order: dict[str, Any] = {"drug": drug, "dose": dose, "route": route}
    site_cc = _concept(dosage.get("site"), "dosage.site")
    if site_cc.texts():
        site = _meaning(site_cc, table, ("site",)).get("site")
        if site is None:
            return None, f"injection site {site_cc.label()!r} is not recognised"
        order["site"] = site
    interval, why, bounds_start = _timing(dosage, table)
    if why is not None:
        return None, why
    order.update(interval)
    start = bounds_start or fhir_date(resource.get("authoredOn"))
    if start is not None:
        order["start"] = start.isoformat()
    return order, None
