"""HTML forms ↔ the JSON contract.

A form is flat text; the contract is typed JSON.  This module turns one into the other and
nothing more: empty fields are left out, numbers must look like numbers, and every problem is
reported against the contract's dotted field name (``labs.serum_b12_ng_l``) so the page can
show it next to the right input.  The clinical validation itself stays in the core.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, get_args

from b12.adapters.documents import parse_json
from b12.core.errors import FieldProblem, InputError
from b12.core.knowledge import KnowledgeBase
from b12.core.picture import Diet, parse_picture
from b12.entrypoints.web import form_text

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
MULTI_FIELDS = ("conditions", "medications", "neuro_symptoms", "causes")
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
        "causes": choices(vocab.causes),
        "conditions": choices(vocab.conditions),
        "medications": choices(vocab.medications),
        "neuro_symptoms": choices(vocab.neuro_symptoms),
        "events": choices(vocab.events),
        "products": choices(vocab.products),
    }


def coded(kind: str) -> list[Choice]:
    """Options for a contract code list the vocabulary does not label (routes, sites, units)."""
    return [Choice(k, v) for k, v in form_text.form_text().choices[kind].items()]


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
    "causes": "Other causes",
    "surgery_date": "Date of the operation",
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
    try:
        value = float(text.replace(",", "."))
    except ValueError:
        problems.append(FieldProblem(field, "number"))
        return None
    if not math.isfinite(value):
        problems.append(FieldProblem(field, "number"))
        return None
    if whole:
        if not value.is_integer():
            problems.append(FieldProblem(field, "whole"))
            return None
        return int(value)
    return int(value) if value.is_integer() else value


def picture_from_form(
    form: Form, today: date | None = None, kb: KnowledgeBase | None = None
) -> tuple[dict[str, Any], list[FieldProblem]]:
    """The ClinicalPicture document a form describes, and the problems found reading it.

    Dates may be typed as day/month/year; with ``today`` they must fall in their plausible
    window (``form_text.yaml``).  With ``kb`` the numbers are held to the vocabulary's ranges
    here too, so a missing age and an implausible lab are reported together (the core stops
    at the first of its stages that fails).  Problems carry a kind word (see ``form_text``).
    """
    problems: list[FieldProblem] = []
    doc = _scalars(form, problems)
    for name in ("start", "as_of", "surgery_date"):
        if day := _date(form, name, problems, today, required=False):
            doc[name] = day
    if labs := _labs(form, problems):
        doc["labs"] = labs
    if prefs := _preferences(form):
        doc["preferences"] = prefs
    if kb is not None:
        problems += _implausible(doc, kb)
    if doc.get("pregnant") and doc.get("sex") == "male":
        problems.append(FieldProblem("pregnant", "conflict"))
    surgery, as_of = doc.get("surgery_date"), doc.get("as_of") or (today and today.isoformat())
    if surgery and as_of and surgery > as_of:
        problems.append(FieldProblem("surgery_date", "after_as_of"))
    return doc, problems


def _implausible(doc: Mapping[str, Any], kb: KnowledgeBase) -> list[FieldProblem]:
    """Numbers outside the vocabulary's plausible ranges (the limits the core applies)."""
    numbers = {"age": doc.get("age"), "ileal_resection_cm": doc.get("ileal_resection_cm")}
    numbers.update({f"labs.{k}": v for k, v in (doc.get("labs") or {}).items()})
    limits = form_text.number_limits(kb)
    return [
        FieldProblem(field, "range")
        for field, value in numbers.items()
        if isinstance(value, int | float)
        and not isinstance(value, bool)
        and field in limits
        and not limits[field][0] <= value <= limits[field][1]
    ]


def picture_problems(doc: Mapping[str, Any], kb: KnowledgeBase) -> list[FieldProblem]:
    """What the core finds wrong with a picture on its own (the order check and follow-up
    read the picture only after the rest of the document, so this reports it at once)."""
    try:
        parse_picture(dict(doc), kb)
    except InputError as err:
        return list(err.problems)
    return []


def _scalars(form: Form, problems: list[FieldProblem]) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    if text := _text(form, "age"):
        age = _number(text, "age", problems, whole=True)
        if age is not None:
            doc["age"] = age
    for name in ("sex", "deficiency", "cause", "diet", "guideline"):
        if text := _text(form, name):
            doc[name] = text
    for name in ("pregnant", "breastfeeding", "severe_neuro"):
        if _text(form, name):
            doc[name] = True
    for name in MULTI_FIELDS:
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


#: Date inputs: shown back as ISO when they could be read (a date input shows nothing else).
DATE_FIELDS = ("start", "as_of", "surgery_date", "order.start", "course.since", "date_of_birth")


def raw_values(form: Form) -> dict[str, Any]:
    """What the user typed, to show back after an error (lists for the checkbox groups).

    Rows of doses and events come back without the empty ones, renumbered as they were read.
    """
    values: dict[str, Any] = {}
    for key in form:
        if key in ("csrf_token", "picture", "add") or ROW_KEY.match(key):
            continue
        values[key] = _many(form, key) if key in MULTI_FIELDS else _text(form, key)
    for group in ROW_FIELDS:
        values.update(_row_form(form, group))
    for key, value in values.items():
        if (key in DATE_FIELDS or key.endswith(".date")) and isinstance(value, str):
            day = form_text.parse_date(value)
            values[key] = day.isoformat() if day else value
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


# -- dates ------------------------------------------------------------------------------------


def _date(
    form: Form, field: str, problems: list[FieldProblem], today: date | None, *, required: bool
) -> str | None:
    """A typed date (ISO or UK day/month/year) as ISO text, inside its plausible window."""
    text = _text(form, field)
    if not text:
        if required:
            problems.append(FieldProblem(field, "required"))
        return None
    day = form_text.parse_date(text)
    if day is None:
        problems.append(FieldProblem(field, "date"))
        return None
    window = form_text.date_window(field, today) if today is not None else None
    if window is not None and day < window[0]:
        problems.append(FieldProblem(field, "too_early"))
        return None
    if window is not None and day > window[1]:
        problems.append(FieldProblem(field, "too_late"))
        return None
    return day.isoformat()


# -- rows: doses given and events -------------------------------------------------------------

#: The inputs of one row of each repeating group; a row is empty when all of these are blank.
ROW_FIELDS = {
    "history": ("date", "drug", "dose.value", "route", "site"),
    "events": ("date", "kind"),
}
#: Inputs kept with a row that do not make it non-empty (the unit has a default).
ROW_EXTRAS = {"history": ("dose.unit",), "events": ()}
#: At most this many rows of a group are read (and drawn).
MAX_ROWS = 200
ROW_KEY = re.compile(r"^(history|events)\.([0-9]{1,3})\.(.+)$")


def _row_numbers(form: Form, group: str) -> list[int]:
    """The numbers of the group's non-empty rows, in order (as the form numbered them)."""
    seen: set[int] = set()
    for key in form:
        m = ROW_KEY.match(key)
        if m and m.group(1) == group and int(m.group(2)) < MAX_ROWS:
            seen.add(int(m.group(2)))
    return [
        n for n in sorted(seen) if any(_text(form, f"{group}.{n}.{f}") for f in ROW_FIELDS[group])
    ]


def _row_form(form: Form, group: str) -> dict[str, str]:
    """The group's non-empty rows renumbered 0, 1, 2 … (so row k is the contract's item k)."""
    out: dict[str, str] = {}
    for k, n in enumerate(_row_numbers(form, group)):
        for f in ROW_FIELDS[group] + ROW_EXTRAS[group]:
            out[f"{group}.{k}.{f}"] = _text(form, f"{group}.{n}.{f}")
    return out


def _row_date(
    rows: Form, field: str, problems: list[FieldProblem], today: date | None, latest: date | None
) -> str | None:
    """A row's date: required, in its window, and not after the form's as_of (``latest``)."""
    day = _date(rows, field, problems, today, required=True)
    if day is not None and latest is not None and day > latest.isoformat():
        problems.append(FieldProblem(field, "after_as_of"))
    return day


def _free_text(form: Form, group: str) -> list[FieldProblem]:
    """Doses or events sent as one text field (the old form) are refused, never dropped."""
    return [FieldProblem(group, "invalid")] if _text(form, group) else []


def _count(rows: Mapping[str, str], group: str) -> int:
    return len(rows) // len(ROW_FIELDS[group] + ROW_EXTRAS[group])


def history_from_form(
    form: Form, today: date | None = None, latest: date | None = None
) -> tuple[list[dict[str, Any]], list[FieldProblem]]:
    """The doses given, one per non-empty row; problems name ``history.K.<input>``.

    Every non-empty row gives an item (what could be read of it), so the core's ``history[K]``
    is the form's row K too.
    """
    rows = _row_form(form, "history")
    problems = _free_text(form, "history")
    out: list[dict[str, Any]] = []
    for k in range(_count(rows, "history")):
        p = f"history.{k}"
        item: dict[str, Any] = {}
        if day := _row_date(rows, f"{p}.date", problems, today, latest):
            item["date"] = day
        for name in ("drug", "route", "site"):
            if text := rows[f"{p}.{name}"]:
                item[name] = text
            elif name != "site":
                problems.append(FieldProblem(f"{p}.{name}", "required"))
        if value_text := rows[f"{p}.dose.value"]:
            value = _number(value_text, f"{p}.dose.value", problems)
            if value is not None and value <= 0:
                problems.append(FieldProblem(f"{p}.dose.value", "range"))
            if value is not None:
                item["dose"] = {"value": value, "unit": rows[f"{p}.dose.unit"] or "mg"}
        else:
            problems.append(FieldProblem(f"{p}.dose.value", "required"))
        out.append(item)
    return out, problems


def events_from_form(
    form: Form, today: date | None = None, latest: date | None = None
) -> tuple[list[dict[str, Any]], list[FieldProblem]]:
    """The events recorded, one per non-empty row (date and kind)."""
    rows = _row_form(form, "events")
    problems = _free_text(form, "events")
    out: list[dict[str, Any]] = []
    for k in range(_count(rows, "events")):
        p = f"events.{k}"
        item: dict[str, Any] = {}
        if day := _row_date(rows, f"{p}.date", problems, today, latest):
            item["date"] = day
        if kind := rows[f"{p}.kind"]:
            item["kind"] = kind
        else:
            problems.append(FieldProblem(f"{p}.kind", "required"))
        out.append(item)
    return out, problems


def rows_values(items: Sequence[Mapping[str, Any]], group: str) -> dict[str, str]:
    """Contract items (doses given or events) as the form's row values, to fill a form in."""
    out: dict[str, str] = {}
    for k, item in enumerate(items):
        for key, value in item.items():
            if key == "dose" and isinstance(value, Mapping):
                out[f"{group}.{k}.dose.value"] = f"{value.get('value', '')}"
                out[f"{group}.{k}.dose.unit"] = f"{value.get('unit', '')}"
            elif value is not None:
                out[f"{group}.{k}.{key}"] = f"{value}"
    return out


def row_count(values: Mapping[str, Any], group: str, *, minimum: int, requested: int = 0) -> int:
    """How many rows of ``group`` to draw: the filled ones and one empty (or as asked)."""
    filled = {int(m.group(2)) for k in values if (m := ROW_KEY.match(k)) and m.group(1) == group}
    return min(MAX_ROWS, max(len(filled) + 1, minimum, requested))


def order_from_form(
    form: Form, today: date | None = None
) -> tuple[dict[str, Any], list[FieldProblem]]:
    """The proposed order of the order-check form."""
    problems: list[FieldProblem] = []
    order: dict[str, Any] = {}
    for name in ("drug", "route", "site", "frequency"):
        if text := _text(form, f"order.{name}"):
            order[name] = text
    if day := _date(form, "order.start", problems, today, required=False):
        order["start"] = day
    value_text = _text(form, "order.dose.value")
    unit = _text(form, "order.dose.unit") or "mg"
    if value_text:
        value = _number(value_text, "order.dose.value", problems)
        if value is not None and value <= 0:
            problems.append(FieldProblem("order.dose.value", "range"))
        if value is not None:
            order["dose"] = {"value": value, "unit": unit}
    if text := _text(form, "order.every_days"):
        days = _number(text, "order.every_days", problems, whole=True)
        low, high = form_text.form_text().limits["order.every_days"]
        if days is not None and not low <= days <= high:
            problems.append(FieldProblem("order.every_days", "range"))
        if days is not None:
            order["every_days"] = days
    return order, problems


def course_from_form(
    form: Form, latest: date | None, today: date | None = None
) -> tuple[dict[str, Any] | None, list[FieldProblem]]:
    """The optional declared course (``course.*`` fields); ``None`` when left blank.

    ``latest`` is the last date ``since`` may take (the form's as_of); with ``today`` it must
    also fall in its plausible window.
    """
    stage, since, every = (_text(form, f"course.{n}") for n in ("stage", "since", "every_months"))
    if not (stage or since or every):
        return None, []
    problems: list[FieldProblem] = []
    if not stage:
        problems.append(FieldProblem("course.stage", "required"))
    elif stage not in {c.value for c in COURSE_STAGES}:
        problems.append(FieldProblem("course.stage", "choice"))
    day = _date(form, "course.since", problems, today or latest, required=True)
    if day is not None and latest is not None and date.fromisoformat(day) > latest:
        problems.append(FieldProblem("course.since", "after_as_of"))
        day = None
    doc: dict[str, Any] = {"stage": stage, "since": day}
    if every:
        months = _number(every, "course.every_months", [], whole=True)
        low, high = form_text.form_text().limits["course.every_months"]
        if months is None or not low <= months <= high:
            problems.append(FieldProblem("course.every_months", "range"))
        doc["every_months"] = months
    return (None if problems or day is None else doc), problems


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
