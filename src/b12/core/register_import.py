"""A practice's register as a CSV export → what to enrol, row by row (issue 13, pure).

Each row of the file is read on its own into a :class:`RowReport`: ``accepted``,
``needs_attention`` (written, with something for the practice to check) or ``refused``
(nothing written), each problem naming its column.  An accepted row carries an
:class:`Enrolment`: the patient, the clinical picture, the declared course (when the file gives
one) and the doses on record.  :func:`enrolment_request` is the ONE place where an enrolment
becomes the registry's input (picture, history, declared course), so a change of the course
model touches one function.

Column names are syntax (documented in ``docs/registry.md``); values are read through the
knowledge base: products and causes by their names, labels and ``aliases`` in
``vocabulary.yaml``, frequencies by their names and labels.  Nothing is guessed: an unknown
value is a refusal naming the known ones.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from b12.core.course_input import DoseIn, parse_dose_text, resolve_product
from b12.core.errors import FieldProblem, InputError
from b12.core.knowledge import KnowledgeBase, Term
from b12.core.picture import EARLIEST_DATE

RowStatus = Literal["accepted", "needs_attention", "refused"]
ROUTES = ("im", "deep_sc", "sc", "iv", "oral", "sublingual", "intranasal")
STAGES = ("maintenance", "loading_completed", "neuro_course_completed")
NEURO_PLACEHOLDER = "unspecified_neurological"
#: What a recall row can be marked by the practice (who and when are recorded with it).
OUTREACH_STATUSES = ("invited", "contacted", "booked", "declined")
PATIENT_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
MRN = re.compile(r"[A-Za-z0-9/._-]{1,40}")
CONTACT_MAX = 200
#: Picture fields worked out on the day of reading (not part of the row's digest).
DERIVED = ("as_of", "start", "age")

#: The template's columns, in order; the docs explain each one.  ``REQUIRED`` must be present
#: as headers (a value may still be blank, and is then reported on that row).
COLUMNS = (
    "patient_id",
    "nhs_number",
    "mrn",
    "name",
    "date_of_birth",
    "sex",
    "guideline",
    "deficiency",
    "cause",
    "neurological_involvement",
    "product",
    "dose",
    "route",
    "interval",
    "last_dose_date",
    "earlier_doses",
    "course_stage",
    "stage_since",
    "last_review_date",
    "serum_b12_ng_l",
    "contact",
)
REQUIRED = ("patient_id", "date_of_birth", "product", "dose", "route", "interval", "last_dose_date")
YES = ("yes", "y", "true", "1")
NO = ("no", "n", "false", "0")
DEFICIENCIES = ("confirmed", "indeterminate", "suspected", "at_risk", "not_deficient")
SEXES = ("female", "male", "other", "unknown")
INTERVAL = re.compile(r"(?:every\s+)?(\d{1,3})\s*(day|days|week|weeks|month|months)", re.I)


@dataclass(frozen=True, slots=True)
class RowProblem:
    """One problem of one row: the column, what is wrong, and whether it refuses the row."""

    column: str
    reason: str
    refuses: bool

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "column": self.column,
            "reason": self.reason,
            "severity": "refused" if self.refuses else "attention",
        }


@dataclass(frozen=True, slots=True)
class DeclaredCourse:
    """Where the course stands as the practice declares it (``course_stage`` column)."""

    stage: str
    since: date
    every_months: int | None


@dataclass(frozen=True, slots=True)
class Enrolment:
    """Everything one accepted row says about one patient."""

    patient_id: str
    nhs_number: str | None
    mrn: str | None
    name: str | None
    date_of_birth: date
    picture: dict[str, Any]
    product: str
    dose: DoseIn
    route: str
    interval: str
    dose_dates: tuple[date, ...]
    declared: DeclaredCourse | None
    last_review: date | None
    contact: str | None

    def fingerprint(self) -> str:
        """A digest of the row's content: the same row gives the same digest on any day."""
        body = {
            "id": self.patient_id,
            "nhs": self.nhs_number,
            "mrn": self.mrn,
            "name": self.name,
            "dob": self.date_of_birth.isoformat(),
            "picture": {k: v for k, v in self.picture.items() if k not in DERIVED},
            "product": self.product,
            "dose": [self.dose.value, self.dose.unit],
            "route": self.route,
            "interval": self.interval,
            "doses": [d.isoformat() for d in self.dose_dates],
            "declared": None
            if self.declared is None
            else [self.declared.stage, self.declared.since.isoformat(), self.declared.every_months],
            "review": self.last_review.isoformat() if self.last_review else None,
            "contact": self.contact,
        }
        text = json.dumps(body, sort_keys=True, separators=(",", ":"))
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class RowReport:
    """The verdict on one row (``line`` counts the header as line 1)."""

    line: int
    patient_id: str | None
    problems: tuple[RowProblem, ...]
    enrolment: Enrolment | None
    outcome: str | None = None
    course: dict[str, Any] | None = None

    @property
    def status(self) -> RowStatus:
        """``refused`` when any problem refuses it, else ``needs_attention`` or ``accepted``."""
        if self.enrolment is None or any(p.refuses for p in self.problems):
            return "refused"
        return "needs_attention" if self.problems else "accepted"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "line": self.line,
            "patient_id": self.patient_id,
            "status": self.status,
            "outcome": self.outcome,
            "course": self.course,
            "problems": [p.as_dict() for p in self.problems],
        }


@dataclass
class _Row:
    """Reading state of one row: the raw cells and the problems found so far."""

    cells: Mapping[str, str]
    problems: list[RowProblem] = field(default_factory=list)

    def text(self, column: str) -> str:
        return (self.cells.get(column) or "").strip()

    def refuse(self, column: str, reason: str) -> None:
        self.problems.append(RowProblem(column, reason, True))

    def attention(self, column: str, reason: str) -> None:
        self.problems.append(RowProblem(column, reason, False))


def nhs_number_valid(digits: str) -> bool:
    """The NHS number's modulus-11 check: weights 10..2 on the first nine digits."""
    if len(digits) != 10 or not digits.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


def parse_date(text: str) -> date | None:
    """``YYYY-MM-DD`` or the UK ``DD/MM/YYYY``; ``None`` when it is neither."""
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return date.fromisoformat(text)
        found = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text)
        if found:
            day, month, year = (int(g) for g in found.groups())
            return date(year, month, day)
    except ValueError:
        return None
    return None


def _key(text: str) -> str:
    return "_".join(text.strip().lower().replace("-", " ").replace("_", " ").split())


def match_term(text: str, terms: Mapping[str, Term]) -> str | None:
    """A vocabulary name from its name, label or alias (case, spaces, ``-``/``_`` ignored)."""
    key = _key(text)
    for name, term in terms.items():
        if key in {_key(name), _key(term.label), *(_key(a) for a in term.aliases)}:
            return name
    return None


def interval_months(text: str, kb: KnowledgeBase) -> tuple[str, int | None] | None:
    """The interval as written → (frequency name or ``every_N_unit``, months or ``None``)."""
    key = _key(text)
    for name, term in kb.vocabulary.frequencies.items():
        if key in (_key(name), _key(term.label)):
            return name, term.every_months
    found = INTERVAL.fullmatch(text.strip())
    if not found or int(found.group(1)) < 1:
        return None
    count, unit = int(found.group(1)), found.group(2).lower().rstrip("s")
    return f"every_{count}_{unit}s", count if unit == "month" else None


def _date_cell(row: _Row, column: str, as_of: date, *, required: bool) -> date | None:
    raw = row.text(column)
    if not raw:
        if required:
            row.refuse(column, "missing; give a date as YYYY-MM-DD or DD/MM/YYYY")
        return None
    day = parse_date(raw)
    if day is None:
        row.refuse(column, f"not a date: {raw!r} (use YYYY-MM-DD or DD/MM/YYYY)")
    elif day > as_of:
        row.refuse(column, f"{day} is in the future (the import is as of {as_of})")
    elif day < EARLIEST_DATE:
        row.refuse(column, f"{day} is before {EARLIEST_DATE}")
    else:
        return day
    return None


def _identity(row: _Row) -> tuple[str | None, str | None, str | None]:
    pid = row.text("patient_id")
    if not pid:
        row.refuse("patient_id", "missing")
    elif not PATIENT_ID.fullmatch(pid):
        row.refuse("patient_id", "expected 1 to 64 letters, digits, '.', '_' or '-'")
    nhs = re.sub(r"[\s-]", "", row.text("nhs_number")) or None
    if nhs is not None and not nhs_number_valid(nhs):
        row.refuse(
            "nhs_number", f"{row.text('nhs_number')!r} is not a valid NHS number (check digit)"
        )
    mrn = row.text("mrn") or None
    if mrn is not None and not MRN.fullmatch(mrn):
        row.refuse("mrn", "expected up to 40 letters, digits, '/', '.', '_' or '-'")
    if nhs is None and mrn is None:
        row.refuse("nhs_number", "give an NHS number or an MRN")
    return (pid or None), nhs, mrn


def _age(born: date, as_of: date) -> int:
    return as_of.year - born.year - ((as_of.month, as_of.day) < (born.month, born.day))


def _picture(row: _Row, kb: KnowledgeBase, born: date | None, as_of: date) -> dict[str, Any]:
    """The clinical picture the row states (only what it states, plus the flagged assumption)."""
    doc: dict[str, Any] = {"as_of": as_of.isoformat()}
    if born is not None:
        doc["age"] = _age(born, as_of)
    guideline = row.text("guideline").lower() or "uk"
    if guideline not in ("uk", "us"):
        row.refuse("guideline", f"unknown guideline {row.text('guideline')!r}; known: uk, us")
    doc["guideline"] = guideline
    sex = row.text("sex").lower()
    if sex:
        if sex in SEXES:
            doc["sex"] = sex
        else:
            row.refuse("sex", f"unknown sex {row.text('sex')!r}; known: {', '.join(SEXES)}")
    cause = row.text("cause")
    if cause:
        name = match_term(cause, kb.vocabulary.causes)
        if name is None:
            known = ", ".join(sorted(kb.vocabulary.causes))
            row.refuse("cause", f"unknown cause {cause!r}; known: {known}")
        else:
            doc["cause"] = name
    _deficiency(row, doc)
    _latest_b12(row, doc)
    neuro = row.text("neurological_involvement").lower()
    if neuro in YES:
        doc["neuro_symptoms"] = [NEURO_PLACEHOLDER]
    elif neuro not in NO:
        if neuro:
            row.refuse("neurological_involvement", f"expected yes or no, got {neuro!r}")
        else:
            row.attention(
                "neurological_involvement",
                "blank: read as no neurological involvement; after neurological involvement "
                "maintenance is more frequent, so check and correct the record if there was any",
            )
    return doc


def _deficiency(row: _Row, doc: dict[str, Any]) -> None:
    stated = row.text("deficiency").lower()
    if not stated:
        doc["deficiency"] = "confirmed"
        row.attention(
            "deficiency",
            "blank: recorded as 'confirmed' because the patient is on the treatment register; "
            "correct the picture (b12 patient update) if the diagnosis was not confirmed",
        )
    elif stated in DEFICIENCIES:
        doc["deficiency"] = stated
    else:
        row.refuse("deficiency", f"unknown status {stated!r}; known: {', '.join(DEFICIENCIES)}")


def _latest_b12(row: _Row, doc: dict[str, Any]) -> None:
    """The latest serum B12 on record (ng/L); its plausible range is the vocabulary's."""
    text = row.text("serum_b12_ng_l")
    if not text:
        return
    try:
        value = float(text)
    except ValueError:
        row.refuse("serum_b12_ng_l", f"expected a number of ng/L, got {text!r}")
        return
    doc["labs"] = {"serum_b12_ng_l": int(value) if value.is_integer() else value}


def _treatment(
    row: _Row, kb: KnowledgeBase
) -> tuple[str | None, DoseIn | None, str | None, tuple[str, int | None] | None]:
    product_text = row.text("product")
    product = None
    if not product_text:
        row.refuse("product", "missing")
    else:
        resolved = resolve_product(product_text, kb)
        if resolved.kind != "b12":
            known = ", ".join(
                n for n, t in sorted(kb.vocabulary.products.items()) if t.kind == "b12"
            )
            row.refuse("product", f"unknown B12 product {product_text!r}; known: {known}")
        else:
            product = resolved.name
    dose = None
    try:
        dose = parse_dose_text(row.text("dose") or "?", "dose")
    except InputError as err:
        row.refuse("dose", err.problems[0].message)
    route = row.text("route").lower()
    if route not in ROUTES:
        row.refuse("route", f"unknown route {row.text('route')!r}; known: {', '.join(ROUTES)}")
    interval = interval_months(row.text("interval"), kb) if row.text("interval") else None
    if interval is None:
        row.refuse(
            "interval",
            f"expected a frequency such as every_3_months, 'Every 2 months' or '12 weeks', "
            f"got {row.text('interval')!r}",
        )
    return product, dose, (route if route in ROUTES else None), interval


def _dose_dates(row: _Row, as_of: date) -> tuple[date, ...]:
    last = _date_cell(row, "last_dose_date", as_of, required=True)
    earlier: list[date] = []
    for part in filter(None, (p.strip() for p in re.split(r"[;|]", row.text("earlier_doses")))):
        day = parse_date(part)
        if day is None:
            row.refuse("earlier_doses", f"not a date: {part!r}")
        elif last is not None and day >= last:
            row.refuse("earlier_doses", f"{day} is not before the last dose ({last})")
        else:
            earlier.append(day)
    return tuple(sorted({*earlier, *([last] if last else [])}))


def _declared(
    row: _Row, as_of: date, interval: tuple[str, int | None] | None, doses: tuple[date, ...]
) -> DeclaredCourse | None:
    stage = _key(row.text("course_stage"))
    if not stage:
        if row.text("stage_since"):
            row.refuse("course_stage", "stage_since is given but course_stage is blank")
        return None
    if stage not in STAGES:
        row.refuse("course_stage", f"unknown stage {stage!r}; known: {', '.join(STAGES)}")
        return None
    since = _date_cell(row, "stage_since", as_of, required=False)
    if since is None and not row.text("stage_since"):
        since = doses[0] if doses else None
        if since is not None:
            row.attention("stage_since", f"blank: the stage is taken to run since {since}")
    if since is None:
        return None
    if doses and since > doses[-1]:
        row.refuse("stage_since", f"{since} is after the last dose ({doses[-1]})")
        return None
    months = interval[1] if interval else None
    if stage == "maintenance" and months is None and interval is not None:
        row.refuse("interval", "a maintenance course needs an interval in months")
    return DeclaredCourse(stage, since, months)


def _text(row: _Row, column: str, limit: int) -> str | None:
    value = row.text(column)
    if len(value) > limit:
        row.refuse(column, f"longer than {limit} characters")
        return None
    return value or None


def read_row(line: int, cells: Mapping[str, str], kb: KnowledgeBase, as_of: date) -> RowReport:
    """Read one CSV row (as a header → cell mapping) into its report."""
    row = _Row(cells)
    pid, nhs, mrn = _identity(row)
    name = _text(row, "name", 200)
    if name is None:
        row.attention("name", "blank: the recall list and messages will show the id only")
    born = _date_cell(row, "date_of_birth", as_of, required=True)
    picture = _picture(row, kb, born, as_of)
    product, dose, route, interval = _treatment(row, kb)
    dates = _dose_dates(row, as_of)
    declared = _declared(row, as_of, interval, dates)
    if dates:
        picture["start"] = dates[0].isoformat()
    last_review = _date_cell(row, "last_review_date", as_of, required=False)
    contact = _text(row, "contact", CONTACT_MAX)
    problems = tuple(row.problems)
    if any(p.refuses for p in problems):
        return RowReport(line, pid, problems, None)
    assert pid and born and product and dose and route and interval  # noqa: PT018 - all checked
    enrolment = Enrolment(
        patient_id=pid,
        nhs_number=nhs,
        mrn=mrn,
        name=name,
        date_of_birth=born,
        picture=picture,
        product=product,
        dose=dose,
        route=route,
        interval=interval[0],
        dose_dates=dates,
        declared=declared,
        last_review=last_review,
        contact=contact,
    )
    return RowReport(line, pid, problems, enrolment)


def header_problems(header: Iterable[str] | None) -> list[str]:
    """What is wrong with the header row (missing required or unknown columns)."""
    if header is None:
        return ["the file is empty"]
    names = [h.strip() for h in header]
    problems = [f"missing column {c!r}" for c in REQUIRED if c not in names]
    problems += [f"unknown column {c!r}" for c in names if c and c not in COLUMNS]
    problems += [
        f"column {c!r} appears twice" for c in sorted({n for n in names if names.count(n) > 1})
    ]
    return problems


def csv_rows(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """The rows of a register CSV (an open text file or lines) as (line, column → cell).

    A bad header (missing required columns, unknown or repeated ones), a row with more cells
    than columns or text that is not CSV is an :class:`InputError`.
    """
    reader = csv.DictReader(lines)
    try:
        problems = header_problems(reader.fieldnames)
        if problems:
            raise InputError([FieldProblem("header", p) for p in problems])
        for cells in reader:
            if cells.get(None):
                line = f"line {reader.line_num}"
                raise InputError([FieldProblem(line, "more cells than columns")])
            yield reader.line_num, {k: v or "" for k, v in cells.items() if k is not None}
    except csv.Error as exc:
        raise InputError([FieldProblem("file", f"not a readable CSV file: {exc}")]) from None


def read_rows(
    rows: Iterable[tuple[int, Mapping[str, str]]], kb: KnowledgeBase, as_of: date
) -> list[RowReport]:
    """Read every row; a patient id or NHS number seen on an earlier row refuses the later one."""
    reports: list[RowReport] = []
    seen_id: dict[str, int] = {}
    seen_nhs: dict[str, int] = {}
    for line, cells in rows:
        report = read_row(line, cells, kb, as_of)
        extra: list[RowProblem] = []
        if report.patient_id and report.patient_id in seen_id:
            extra.append(
                RowProblem("patient_id", f"duplicate of line {seen_id[report.patient_id]}", True)
            )
        nhs = report.enrolment.nhs_number if report.enrolment else None
        if nhs and nhs in seen_nhs:
            extra.append(RowProblem("nhs_number", f"same NHS number as line {seen_nhs[nhs]}", True))
        if report.patient_id:
            seen_id.setdefault(report.patient_id, line)
        if nhs:
            seen_nhs.setdefault(nhs, line)
        if extra:
            report = RowReport(line, report.patient_id, (*report.problems, *extra), None)
        reports.append(report)
    return reports


@dataclass(frozen=True, slots=True)
class EnrolmentRequest:
    """What the registry needs to enrol one patient from a register row."""

    picture: dict[str, Any]
    history: tuple[dict[str, Any], ...]
    declared: dict[str, Any] | None


def enrolment_request(e: Enrolment) -> EnrolmentRequest:
    """THE mapping from a register row to "enrol this patient with this course and these doses".

    The picture is the row's picture; the history is every dose on record, given as the row
    says (product, dose, route); the declared course, when the row has one, is passed as the
    course model's declaration.
    """
    history = tuple(
        {
            "date": day.isoformat(),
            "drug": e.product,
            "dose": {"value": e.dose.value, "unit": e.dose.unit},
            "route": e.route,
        }
        for day in e.dose_dates
    )
    declared: dict[str, Any] | None = None
    if e.declared is not None:
        declared = {
            "stage": e.declared.stage,
            "since": e.declared.since.isoformat(),
        }
        if e.declared.every_months is not None:
            declared["every_months"] = e.declared.every_months
    return EnrolmentRequest(e.picture, history, declared)


def summary(reports: Iterable[RowReport]) -> dict[str, int]:
    """How many rows of each status."""
    out = {"rows": 0, "accepted": 0, "needs_attention": 0, "refused": 0}
    for r in reports:
        out["rows"] += 1
        out[r.status] += 1
    return out
