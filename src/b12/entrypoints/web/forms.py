"""HTML forms ↔ the JSON contract.

A form is flat text; the contract is typed JSON.  This module turns one into the other and
nothing more: empty fields are left out, numbers must look like numbers, and every problem is
reported against the contract's dotted field name (``labs.serum_b12_ng_l``) so the page can
show it next to the right input.  The clinical validation itself stays in the core.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, get_args

from b12.adapters.documents import parse_json
from b12.core.errors import FieldProblem, InputError, quoted
from b12.core.knowledge import KnowledgeBase
from b12.core.picture import Diet

Form = Mapping[str, Any]

LAB_FIELDS = (
    "serum_b12_ng_l",
    "active_b12_pmol_l",
    "mma_nmol_l",
    "homocysteine_umol_l",
    "haemoglobin_g_l",
    "mcv_fl",
    "folate_ug_l",
    "potassium_mmol_l",
    "egfr",
    "platelets_10e9_l",
    "reticulocytes_pct",
)
SEXES = ("female", "male", "other", "unknown")
DEFICIENCY = ("confirmed", "indeterminate", "suspected", "at_risk", "not_deficient")
DIETS: tuple[str, ...] = get_args(Diet)
ROUTES = ("im", "deep_sc", "sc", "iv", "oral", "sublingual", "intranasal")
SITES = ("deltoid", "vastus_lateralis", "ventrogluteal", "dorsogluteal")
UNITS = ("mg", "mcg")


@dataclass(frozen=True)
class Choice:
    """One option of a select or checkbox group."""

    value: str
    label: str


def choices(terms: Mapping[str, Any]) -> list[Choice]:
    """Vocabulary entries as options, labelled from the knowledge base."""
    return [Choice(key, term.label) for key, term in terms.items()]


def picture_choices(kb: KnowledgeBase) -> dict[str, list[Choice]]:
    """Options for the picture form's coded fields (all from the vocabulary)."""
    vocab = kb.vocabulary
    return {
        "cause": choices(vocab.causes),
        "conditions": choices(vocab.conditions),
        "medications": choices(vocab.medications),
        "neuro_symptoms": choices(vocab.neuro_symptoms),
        "events": choices(vocab.events),
        "products": choices(vocab.products),
    }


def lab_labels(kb: KnowledgeBase) -> list[tuple[str, str, str]]:
    """(field, label, unit) for each numeric lab, labelled from the vocabulary."""
    out = []
    for name in LAB_FIELDS:
        term = kb.vocabulary.labs.get(name)
        out.append((name, term.label if term else name, term.unit if term else ""))
    return out


#: Labels of the form fields that are not vocabulary-labelled (for the error summary).
FIELD_LABELS = {
    "age": "Age",
    "sex": "Sex",
    "pregnant": "Pregnant",
    "breastfeeding": "Breastfeeding",
    "deficiency": "Deficiency status",
    "cause": "Cause",
    "diet": "Diet",
    "conditions": "Conditions and surgery",
    "ileal_resection_cm": "Ileal resection length",
    "medications": "Current medicines",
    "neuro_symptoms": "Neurological symptoms",
    "severe_neuro": "Severe neurological signs",
    "labs.ifab_positive": "Intrinsic factor antibodies",
    "preferences.route": "Preferred route",
    "preferences.drug": "Preferred product",
    "guideline": "Guideline set",
    "start": "Treatment start",
    "as_of": "Today's date",
    "history": "Doses given",
    "events": "Events",
    "order.drug": "Product",
    "order.dose.value": "Dose",
    "order.dose.unit": "Unit",
    "order.route": "Route",
    "order.site": "Site",
    "order.every_days": "Every (days)",
    "order.start": "Date of this dose",
    "course": "Course already under way",
    "course.stage": "Stage reached",
    "course.since": "Since",
    "course.every_months": "Maintenance every (months)",
}

#: The stages of a course that began before the doses on record, in plain words.
COURSE_STAGES = (
    Choice("maintenance", "On maintenance"),
    Choice("loading_completed", "Loading course completed"),
    Choice("neuro_course_completed", "Neurological course completed"),
)


def field_labels(kb: KnowledgeBase) -> dict[str, str]:
    """What each contract field is called on the forms (labs from the vocabulary)."""
    labels = dict(FIELD_LABELS)
    labels.update({f"labs.{name}": text for name, text, _unit in lab_labels(kb)})
    return labels


def _text(form: Form, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _many(form: Form, name: str) -> list[str]:
    getter = getattr(form, "getlist", None)
    values: Sequence[Any] = getter(name) if getter else form.get(name, [])
    if isinstance(values, str):
        values = [values]
    return [v.strip() for v in values if isinstance(v, str) and v.strip()]


def _number(text: str, field: str, problems: list[FieldProblem], *, whole: bool = False) -> Any:
    kind = "a whole number" if whole else "a number"
    try:
        value = float(text.replace(",", "."))
    except ValueError:
        problems.append(FieldProblem(field, f"expected {kind}, got {quoted(text)}"))
        return None
    if not math.isfinite(value):
        problems.append(FieldProblem(field, f"expected {kind}, got {quoted(text)}"))
        return None
    if whole:
        if not value.is_integer():
            problems.append(FieldProblem(field, f"expected a whole number, got {quoted(text)}"))
            return None
        return int(value)
    return int(value) if value.is_integer() else value


def picture_from_form(form: Form) -> tuple[dict[str, Any], list[FieldProblem]]:
    """The ClinicalPicture document a form describes, and the problems found reading it."""
    problems: list[FieldProblem] = []
    doc = _scalars(form, problems)
    if labs := _labs(form, problems):
        doc["labs"] = labs
    if prefs := _preferences(form):
        doc["preferences"] = prefs
    return doc, problems


def _scalars(form: Form, problems: list[FieldProblem]) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    if text := _text(form, "age"):
        age = _number(text, "age", problems, whole=True)
        if age is not None:
            doc["age"] = age
    for name in ("sex", "deficiency", "cause", "diet", "guideline", "start", "as_of"):
        if text := _text(form, name):
            doc[name] = text
    for name in ("pregnant", "breastfeeding", "severe_neuro"):
        if _text(form, name):
            doc[name] = True
    for name in ("conditions", "medications", "neuro_symptoms"):
        if values := _many(form, name):
            doc[name] = values
    if text := _text(form, "ileal_resection_cm"):
        cm = _number(text, "ileal_resection_cm", problems)
        if cm is not None:
            doc["ileal_resection_cm"] = cm
    return doc


def _labs(form: Form, problems: list[FieldProblem]) -> dict[str, Any]:
    labs: dict[str, Any] = {}
    for name in LAB_FIELDS:
        if text := _text(form, f"labs.{name}"):
            value = _number(text, f"labs.{name}", problems)
            if value is not None:
                labs[name] = value
    ifab = _text(form, "labs.ifab_positive")
    if ifab in ("positive", "negative"):
        labs["ifab_positive"] = ifab == "positive"
    return labs


def _preferences(form: Form) -> dict[str, Any]:
    prefs: dict[str, Any] = {}
    for name in ("route", "drug"):
        if text := _text(form, f"preferences.{name}"):
            prefs[name] = text
    if _text(form, "preferences.adherence_concern"):
        prefs["adherence_concern"] = True
    return prefs


MULTI_FIELDS = ("conditions", "medications", "neuro_symptoms")


def raw_values(form: Form) -> dict[str, Any]:
    """What the user typed, to show back after an error (lists for the checkbox groups)."""
    values: dict[str, Any] = {}
    for key in form:
        if key in ("csrf_token", "picture"):
            continue
        values[key] = _many(form, key) if key in MULTI_FIELDS else _text(form, key)
    return values


def form_from_picture(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The inverse, to fill a form back in (values as the template expects them)."""
    values: dict[str, Any] = {}
    for key, value in doc.items():
        if key == "labs" and isinstance(value, Mapping):
            for lab, number in value.items():
                if lab == "ifab_positive":
                    values["labs.ifab_positive"] = "positive" if number else "negative"
                else:
                    values[f"labs.{lab}"] = number
        elif key == "preferences" and isinstance(value, Mapping):
            for pref, item in value.items():
                values[f"preferences.{pref}"] = item
        else:
            values[key] = value
    return values


def _history_line(line: str, field: str, problems: list[FieldProblem]) -> dict[str, Any] | None:
    """``2026-03-02 hydroxocobalamin 1mg im [deltoid]`` → a GivenDose document."""
    parts = line.split()
    if len(parts) < 4:
        problems.append(
            FieldProblem(
                field,
                "expected 'DATE DRUG DOSE ROUTE [SITE]', e.g. 2026-03-02 "
                "hydroxocobalamin 1mg im deltoid",
            )
        )
        return None
    date_text, drug, *rest = parts
    # The dose may be written "1mg" or "1 mg".
    if len(rest) >= 2 and rest[1].lower() in ("mg", "mcg", "ug", "µg", "μg"):
        rest = [rest[0] + rest[1], *rest[2:]]
    dose_text, route, *site = rest
    number = dose_text.rstrip("abcdefghijklmnopqrstuvwxyzµμ")
    unit = dose_text[len(number) :]
    try:
        value = float(number)
    except ValueError:
        problems.append(
            FieldProblem(f"{field}.dose", f"expected a dose like 1mg, got {quoted(dose_text)}")
        )
        return None
    entry: dict[str, Any] = {
        "date": date_text,
        "drug": drug,
        "dose": {"value": int(value) if value.is_integer() else value, "unit": unit},
        "route": route.lower(),
    }
    if site:
        entry["site"] = site[0].lower()
    return entry


def history_from_text(text: str, field: str = "history") -> tuple[list[Any], list[FieldProblem]]:
    """One dose per line; blank lines ignored; problems name ``history.N`` (0-based)."""
    problems: list[FieldProblem] = []
    out: list[Any] = []
    for line in (raw.strip() for raw in text.splitlines()):
        if not line:
            continue
        entry = _history_line(line, f"{field}.{len(out)}", problems)
        out.append(entry if entry is not None else {})
    return [e for e in out if e], problems


def events_from_text(text: str) -> tuple[list[Any], list[FieldProblem]]:
    """``DATE KIND`` per line, e.g. ``2026-06-20 symptoms_returned_before_due``."""
    problems: list[FieldProblem] = []
    out: list[Any] = []
    for n, line in enumerate(raw.strip() for raw in text.splitlines() if raw.strip()):
        parts = line.split()
        if len(parts) != 2:
            problems.append(FieldProblem(f"events.{n}", "expected 'DATE KIND'"))
            continue
        out.append({"date": parts[0], "kind": parts[1]})
    return out, problems


def order_from_form(form: Form) -> tuple[dict[str, Any], list[FieldProblem]]:
    """The proposed order of the order-check form."""
    problems: list[FieldProblem] = []
    order: dict[str, Any] = {}
    for name in ("drug", "route", "site", "start", "frequency"):
        if text := _text(form, f"order.{name}"):
            order[name] = text
    value_text = _text(form, "order.dose.value")
    unit = _text(form, "order.dose.unit") or "mg"
    if value_text:
        value = _number(value_text, "order.dose.value", problems)
        if value is not None:
            order["dose"] = {"value": value, "unit": unit}
    if text := _text(form, "order.every_days"):
        days = _number(text, "order.every_days", problems, whole=True)
        if days is not None:
            order["every_days"] = days
    return order, problems


def course_from_form(
    form: Form, latest: date | None
) -> tuple[dict[str, Any] | None, list[FieldProblem]]:
    """The optional declared course (``course.*`` fields); ``None`` when left blank.

    Problems are worded for the clinician; ``latest`` is the last date ``since`` may take.
    """
    stage, since, every = (_text(form, f"course.{n}") for n in ("stage", "since", "every_months"))
    if not (stage or since or every):
        return None, []
    problems: list[FieldProblem] = []
    if stage not in {c.value for c in COURSE_STAGES}:
        problems.append(FieldProblem("course.stage", "Choose the stage the course has reached"))
    day = _course_since(since, latest, problems)
    doc: dict[str, Any] = {"stage": stage, "since": since}
    if every:
        months = _number(every, "course.every_months", [], whole=True)
        if months is None or not 1 <= months <= 12:
            problems.append(
                FieldProblem(
                    "course.every_months", "Enter the interval as whole months, from 1 to 12"
                )
            )
        doc["every_months"] = months
    return (None if problems or day is None else doc), problems


def _course_since(text: str, latest: date | None, problems: list[FieldProblem]) -> date | None:
    if not text:
        problems.append(
            FieldProblem("course.since", "Enter the date the course reached this stage")
        )
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        problems.append(FieldProblem("course.since", "Enter the date as YYYY-MM-DD"))
        return None
    if latest is not None and day > latest:
        problems.append(
            FieldProblem("course.since", f"The date cannot be after today's date ({latest})")
        )
        return None
    return day


def picture_json(doc: Mapping[str, Any]) -> str:
    """The picture as compact, stable JSON for a hidden form field."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"))


def picture_from_json(text: str) -> dict[str, Any]:
    """Read back a hidden picture field; a tampered field is an input error."""
    try:
        doc = parse_json(text, field="picture")
    except InputError:
        raise InputError([FieldProblem("picture", "not a valid picture; start again")]) from None
    if not isinstance(doc, dict):
        raise InputError([FieldProblem("picture", "not a valid picture; start again")])
    return doc


def errors_by_field(problems: Sequence[FieldProblem]) -> dict[str, list[str]]:
    """Problems grouped by field for inline display ('' for whole-form problems)."""
    out: dict[str, list[str]] = {}
    for p in problems:
        out.setdefault(p.field, []).append(p.message)
    return out
