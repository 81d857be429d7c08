"""What the forms say about an entry they cannot use, worded from ``form_text.yaml``.

Problems reach a form from two places: the form reader (a date that is not a date, a dose
that is not a number) and the core (an age outside the vocabulary's range, a dose date after
``as_of``).  Both name a field by a dotted path and say what is wrong in their own terms; this
module turns each into one clinical sentence for the field on the form, and one for the error
summary ("Dose 2: enter the date the dose was given").  It also reads dates as a UK clinician
types them (``23/03/2026`` as well as ``2026-03-23``, never month first) and knows the
plausible window of every date field, so the browser's ``min``/``max`` and the server agree.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from b12.adapters.yaml_files import strict_yaml
from b12.core.dates import EARLIEST_DATE, LATEST_DATE
from b12.core.knowledge import KnowledgeBase

TEXT_FILE = Path(__file__).with_name("form_text.yaml")

#: The kinds of problem a form reports; a reader's problem message is one of these words.
KINDS = (
    "required",
    "number",
    "whole",
    "range",
    "date",
    "too_early",
    "too_late",
    "after_as_of",
    "choice",
    "conflict",
    "exists",
    "invalid",
)
ROW_GROUPS = ("history", "events")
CHECK_GROUPS = ("conditions", "medications", "neuro_symptoms", "causes")
#: Where the summary links for a problem with a whole group (no input of that name).
GROUP_ANCHORS = {
    "": "age",
    "input": "age",
    "picture": "age",
    "order": "order.drug",
    "order.dose": "order.dose.value",
    "course": "course.stage",
    "history": "history.0.date",
    "events": "events.0.date",
}


class _Problem(Protocol):
    @property
    def field(self) -> str: ...
    @property
    def message(self) -> str: ...


@dataclass(frozen=True)
class FormText:
    """The contents of ``form_text.yaml``."""

    windows: Mapping[str, tuple[int, int]]
    defaults: Mapping[str, str]
    lab_defaults: Mapping[str, str]
    rows: Mapping[str, str]
    fields: Mapping[str, Mapping[str, str]]
    limits: Mapping[str, tuple[float, float]]
    choices: Mapping[str, Mapping[str, str]]


@cache
def form_text() -> FormText:
    """The wording file, read once (a broken file fails the first form, and the tests)."""
    raw: dict[str, Any] = strict_yaml().load(TEXT_FILE.read_text("utf-8"))
    return FormText(
        windows={k: (int(v["before"]), int(v["after"])) for k, v in raw["date_windows"].items()},
        defaults=dict(raw["defaults"]),
        lab_defaults=dict(raw["lab_defaults"]),
        rows=dict(raw["rows"]),
        fields={str(k): dict(v) for k, v in raw["fields"].items()},
        limits={k: (float(v["min"]), float(v["max"])) for k, v in raw["limits"].items()},
        choices={k: dict(v) for k, v in raw["choices"].items()},
    )


# -- dates ------------------------------------------------------------------------------------

ISO = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")
UK = re.compile(r"([0-9]{1,2})[/.\-]([0-9]{1,2})[/.\-]([0-9]{4})")


def parse_date(text: str) -> date | None:
    """``2026-03-23``, ``23/03/2026``, ``23.3.2026`` or ``23-03-2026`` → a date; else ``None``.

    The day always comes first in the UK form: ``03/15/2026`` (month first) is not a date.
    Two-digit years are refused rather than guessed.
    """
    text = text.strip()
    if m := ISO.fullmatch(text):
        year, month, day = (int(g) for g in m.groups())
    elif m := UK.fullmatch(text):
        day, month, year = (int(g) for g in m.groups())
    else:
        return None
    try:
        found = date(year, month, day)
    except ValueError:
        return None
    return found if EARLIEST_DATE <= found <= LATEST_DATE else None


def window_key(field: str) -> str:
    """``history.3.date`` → ``history.*.date`` (the key of row fields in the wording file)."""
    return re.sub(r"^(history|events)\.[0-9]+", r"\1.*", field)


def date_window(field: str, today: date) -> tuple[date, date] | None:
    """The plausible (earliest, latest) of a date field, relative to ``today``."""
    days = form_text().windows.get(window_key(field))
    if days is None:
        return None
    before, after = days
    return today - timedelta(days=before), today + timedelta(days=after)


def date_limits(today: date) -> dict[str, tuple[str, str]]:
    """Each windowed date field's (min, max) as ISO text, for the inputs' attributes."""
    out = {}
    for key in form_text().windows:
        window = date_window(key, today)
        if window is not None:
            out[key] = (window[0].isoformat(), window[1].isoformat())
    return out


def long_date(day: date) -> str:
    """6 March 2026."""
    return f"{day.day} {day:%B %Y}"


# -- limits -----------------------------------------------------------------------------------


def number_limits(kb: KnowledgeBase) -> dict[str, tuple[float, float]]:
    """The numeric limits the server applies, by field: the vocabulary's, then the file's."""
    vocab = kb.vocabulary
    out = {"age": (vocab.age.min, vocab.age.max)}
    rc = vocab.ileal_resection_cm
    out["ileal_resection_cm"] = (rc.min, rc.max)
    out.update({f"labs.{name}": (t.min, t.max) for name, t in vocab.labs.items()})
    out.update(form_text().limits)
    return out


def _num(value: float) -> str:
    return f"{value:g}"


# -- problems ---------------------------------------------------------------------------------


def form_field(path: str) -> str:
    """A core path as the form names the field: ``picture.age`` → ``age``,
    ``history[2].dose`` → ``history.2.dose.value``, ``conditions[1]`` → ``conditions``."""
    path = re.sub(r"\[([0-9]+)\]", r".\1", path)
    path = path.removeprefix("picture.")
    if re.fullmatch(r"(order|history\.[0-9]+)\.dose", path):
        path += ".value"
    group = path.split(".")[0]
    if group in CHECK_GROUPS:
        return group
    return path


def kind_of(message: str) -> str:
    """The kind of a problem: a reader's own kind word, else read from the core's message."""
    if message in KINDS:
        return message
    m = message.lower()
    rules = (  # first match wins: the more particular words first
        ("required", ("field required", "missing")),
        ("conflict", ("conflicts",)),
        ("exists", ("already",)),
        ("after_as_of", ("after as_of", "in the future")),
        ("too_early", ("far before",)),
        ("whole", ("whole number", "valid integer")),
        ("number", ("valid number", "a number", "finite number")),
        ("range", ("implausible", "greater than", "less than")),
        ("choice", ("unknown", "input should be")),
        ("date", ("date", "must be between 1900")),
    )
    if m == "required":
        return "required"
    for kind, needles in rules:
        if any(n in m for n in needles):
            return kind
    return "invalid"


@dataclass(frozen=True)
class FormError:
    """One problem as the form shows it: next to ``anchor`` and in the error summary."""

    field: str
    anchor: str
    message: str
    summary: str


def _lower_first(text: str) -> str:
    word = text.split(" ", 1)[0]
    if sum(c.isupper() for c in word) > 1:
        return text  # eGFR, B12, IgG: leave as written
    return text[:1].lower() + text[1:]


def _spec(field: str, kb: KnowledgeBase, labels: Mapping[str, str]) -> tuple[dict[str, str], str]:
    """The wording entries of ``field`` and its name in a sentence."""
    text = form_text()
    key = window_key(field)
    spec = dict(text.fields.get(key, {}))
    if field.startswith("labs.") and field != "labs.ifab_positive":
        term = kb.vocabulary.labs.get(field.removeprefix("labs."))
        if term is not None:
            return {**text.lab_defaults, **spec}, spec.get("name") or _lower_first(term.label)
    name = spec.get("name") or _lower_first(labels.get(field) or "this entry")
    return spec, name


def word(
    problem: _Problem, kb: KnowledgeBase, today: date, labels: Mapping[str, str] | None = None
) -> FormError:
    """The clinical sentence for one problem (never a field path or a validator's words)."""
    text = form_text()
    field = form_field(problem.field)
    kind = kind_of(problem.message)
    spec, name = _spec(field, kb, labels or {})
    template = spec.get(kind) or text.defaults.get(kind) or text.defaults["invalid"]
    if kind not in spec and kind in ("conflict", "choice", "invalid") and "invalid" in spec:
        template = spec["invalid"]
    low, high = number_limits(kb).get(field, (0.0, 0.0))
    window = date_window(field, today)
    term = kb.vocabulary.labs.get(field.removeprefix("labs."))
    values = {
        "name": name,
        "Name": name[:1].upper() + name[1:],
        "min": _num(low),
        "max": _num(high),
        "unit": term.unit if term is not None and field.startswith("labs.") else "",
        "earliest": long_date(window[0]) if window else "",
        "latest": long_date(window[1]) if window else "",
        "example": today.strftime("%d/%m/%Y"),
    }
    message = template.format(**values)
    summary = message
    row = re.match(r"^(history|events)\.([0-9]+)", field)
    if row:
        prefix = text.rows[row.group(1)].format(n=int(row.group(2)) + 1)
        summary = f"{prefix}: {_lower_first(message)}"
    return FormError(field, _anchor(field), message, summary)


def _anchor(field: str) -> str:
    target = GROUP_ANCHORS.get(field, field)
    if re.fullmatch(r"(history|events)\.[0-9]+", target):
        target += ".date"
    return "f-" + target.replace(".", "-")


#: The order of the fields down the forms, so the error summary reads top to bottom.
FIELD_ORDER = (
    "id",
    "name",
    "date_of_birth",
    "order",
    "history",
    "events",
    "course",
    "",
    "input",
    "picture",
    "age",
    "sex",
    "pregnant",
    "breastfeeding",
    "deficiency",
    "cause",
    "diet",
    "causes",
    "neuro_symptoms",
    "severe_neuro",
    "labs",
    "conditions",
    "ileal_resection_cm",
    "surgery_date",
    "medications",
    "preferences",
    "guideline",
    "start",
    "as_of",
)
#: The labs in view on the forms (the others are behind "More results"), then the others.
MAIN_LABS = ("serum_b12_ng_l", "folate_ug_l", "haemoglobin_g_l", "mcv_fl")
OTHER_LABS = (
    "active_b12_pmol_l",
    "mma_nmol_l",
    "homocysteine_umol_l",
    "potassium_mmol_l",
    "egfr",
    "platelets_10e9_l",
    "reticulocytes_pct",
    "ifab_positive",
)
LAB_ORDER = MAIN_LABS + OTHER_LABS
#: The order of the inputs inside a row, the proposed order and the course group.
ROW_ORDER = (
    "date",
    "drug",
    "dose.value",
    "dose.unit",
    "route",
    "site",
    "every_days",
    "start",
    "kind",
    "stage",
    "since",
    "every_months",
)


def _position(field: str) -> tuple[int, int, int]:
    head, _, rest = field.partition(".")
    rank = FIELD_ORDER.index(head) if head in FIELD_ORDER else len(FIELD_ORDER)
    if head == "labs":
        return rank, LAB_ORDER.index(rest) if rest in LAB_ORDER else len(LAB_ORDER), 0
    row = re.match(r"^([0-9]+)\.?(.*)$", rest)
    number = int(row.group(1)) if row else 0
    tail = row.group(2) if row else rest
    return rank, number, ROW_ORDER.index(tail) if tail in ROW_ORDER else len(ROW_ORDER)


def clinical_errors(
    problems: Iterable[_Problem],
    kb: KnowledgeBase,
    today: date,
    labels: Mapping[str, str] | None = None,
) -> list[FormError]:
    """Every problem worded for the form, one per field (the first found wins), in the order
    the fields appear on the forms."""
    out: dict[str, FormError] = {}
    for problem in problems:
        shown = word(problem, kb, today, labels)
        out.setdefault(shown.field, shown)
    return sorted(out.values(), key=lambda e: _position(e.field))


def known(field: str) -> bool:
    """Whether the wording file words ``field`` (a form's field, or a core path to one)."""
    key = window_key(form_field(field))
    return key in form_text().fields or key.startswith("labs.")


def page_message(
    problems: Iterable[_Problem],
    kb: KnowledgeBase,
    today: date,
    labels: Mapping[str, str] | None = None,
) -> str:
    """The problems of a request that has no form to show them on, as one line: worded from
    the file when the field is one of the forms', else as the problem renders itself."""
    problems = list(problems)
    worded = [
        e.summary
        for e in clinical_errors([p for p in problems if known(p.field)], kb, today, labels)
    ]
    other = [
        f"{p.field}: {p.message}" if p.field else p.message for p in problems if not known(p.field)
    ]
    return "; ".join([*worded, *other])


def errors_by_field(errors: Sequence[FormError]) -> dict[str, list[str]]:
    """The inline messages by form field."""
    return {e.field: [e.message] for e in errors}
