"""A seeded, realistic register export for the import tests and the benchmark.

Patients look like a practice's B12 register: mostly UK pernicious anaemia on 3-monthly
hydroxocobalamin, some after a neurological course on 2-monthly, some malabsorption, dietary
and US cyanocobalamin patients.  Names, sex and dates of birth are drawn from the Synthea
sample patients (tests/fixtures/fhir-samples/synthea-bulk-10-patients, the seeded Synthea
output the FHIR tests read): a given name and a family name from two sample patients and a
sample birth date moved by a seeded number of days (built-in lists when the sample is
absent); valid NHS numbers (check digit computed) or MRNs; a last
dose around the interval before ``as_of`` (a few lapsed), earlier doses at the interval, a
declared phase for most, a last review date and a contact for most.

``bad`` rows are mixed in at known lines, one class each: unknown product, future last dose,
malformed NHS number, duplicate patient id, missing last dose date.
"""

from __future__ import annotations

import csv
import json
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from b12.core.dates import add_months
from b12.core.register_import import COLUMNS

GIVEN = ("Ada", "Bilal", "Chen", "Dorota", "Efua", "Farid", "Gwen", "Hiro", "Isla", "Jonas",
         "Kemi", "Luis", "Maya", "Niamh", "Omar", "Priya", "Rosa", "Sami")  # fmt: skip
FAMILY = ("Abbott", "Baker", "Cole", "Dimitrov", "Evans", "Fischer", "Garcia", "Hughes",
          "Iqbal", "Jones", "Kowalski", "Lee", "Mensah", "Nowak", "Okafor", "Patel")  # fmt: skip
SYNTHEA = Path(__file__).parents[1] / "fixtures/fhir-samples/synthea-bulk-10-patients"
BAD_KINDS = (
    "unknown_product",
    "future_last_dose",
    "bad_nhs_number",
    "duplicate_id",
    "missing_date",
)


@dataclass(frozen=True)
class Profile:
    """A kind of register patient."""

    weight: int
    guideline: str
    cause: str
    neuro: bool
    product: str
    dose: str
    interval: str
    months: int


PROFILES = (
    Profile(55, "uk", "pernicious anaemia", False, "Hydroxocobalamin", "1mg", "Every 3 months", 3),
    Profile(
        10, "uk", "autoimmune_gastritis", True, "hydroxocobalamin", "1 mg", "every_2_months", 2
    ),
    Profile(12, "uk", "malabsorption", False, "hydroxocobalamin", "1mg", "every 3 months", 3),
    Profile(5, "uk", "dietary", False, "hydroxycobalamin", "1mg", "Every 3 months", 3),
    Profile(8, "us", "pernicious_anaemia", False, "cyanocobalamin", "1000mcg", "monthly", 1),
    Profile(10, "us", "malabsorption", False, "Cyanocobalamin", "1000 mcg", "Monthly", 1),
)


def _synthea_people() -> list[tuple[str, str, str, date]]:
    """(given, family, sex, birth date) of each Synthea sample patient (digits stripped)."""
    path = SYNTHEA / "Patient.000.ndjson"
    if not path.exists():
        pairs = zip(GIVEN, FAMILY, strict=False)
        return [
            (g, f, ("female", "male")[i % 2], date(1950, 6, 15)) for i, (g, f) in enumerate(pairs)
        ]
    people = []
    for line in path.read_text(encoding="utf-8").splitlines():
        patient = json.loads(line)
        name = patient["name"][0]
        strip = str.maketrans("", "", "0123456789")
        people.append(
            (
                name["given"][0].translate(strip),
                name["family"].translate(strip),
                patient.get("gender", "unknown"),
                date.fromisoformat(patient["birthDate"]),
            )
        )
    return people


PEOPLE = _synthea_people()


def nhs_number(rng: random.Random) -> str:
    """A random NHS number with a valid modulus-11 check digit."""
    while True:
        body = [rng.randint(0, 9) for _ in range(9)]
        check = 11 - sum(d * w for d, w in zip(body, range(10, 1, -1), strict=True)) % 11
        check = 0 if check == 11 else check
        if check != 10:
            return "".join(map(str, body)) + str(check)


@dataclass
class Register:
    """The generated rows, and the lines of the bad ones (line 1 is the header)."""

    rows: list[dict[str, str]] = field(default_factory=list)
    bad: dict[int, str] = field(default_factory=dict)
    _index: dict[str, int] = field(default_factory=dict)

    def write(self, path: Path) -> Path:
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(COLUMNS))
            writer.writeheader()
            writer.writerows(self.rows)
        return path

    def dose_count(self, patient_id: str) -> int:
        """How many doses the (first) row of ``patient_id`` lists."""
        if not self._index:
            for r in reversed(self.rows):
                self._index[r["patient_id"]] = 1 + len(
                    [d for d in r["earlier_doses"].split(";") if d]
                )
        return self._index[patient_id]


def _row(rng: random.Random, i: int, as_of: date, nhs_seen: set[str]) -> dict[str, str]:
    p = rng.choices(PROFILES, [p.weight for p in PROFILES])[0]
    given, _, sex, born = rng.choice(PEOPLE)
    family = rng.choice(PEOPLE)[1]
    born = born + timedelta(days=rng.randint(-3650, 3650))
    born = min(born, as_of - timedelta(days=365 * 18))
    lapsed = rng.random() < 0.1
    back = rng.randint(0, 30 * p.months + (200 if lapsed else 0))
    last = as_of - timedelta(days=back)
    earlier = [add_months(last, -p.months * k) for k in range(1, rng.randint(1, 4))]
    nhs = ""
    if p.guideline == "uk" and rng.random() < 0.9:
        while not nhs or nhs in nhs_seen:
            nhs = nhs_number(rng)
        nhs_seen.add(nhs)
    declared = rng.random() < 0.7
    since = add_months(earlier[-1] if earlier else last, -rng.randint(6, 120))
    return {
        "patient_id": f"reg-{i:06d}",
        "nhs_number": f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}" if nhs and rng.random() < 0.3 else nhs,
        "mrn": "" if nhs else f"MRN{rng.randint(100000, 999999)}",
        "name": f"{given} {family}" if rng.random() < 0.95 else "",
        "date_of_birth": born.isoformat() if rng.random() < 0.8 else born.strftime("%d/%m/%Y"),
        "sex": sex if rng.random() < 0.9 else "",
        "guideline": p.guideline,
        "deficiency": "confirmed" if rng.random() < 0.9 else "",
        "cause": p.cause,
        "neurological_involvement": "yes" if p.neuro else rng.choice(("no", "no", "no", "")),
        "product": p.product,
        "dose": p.dose,
        "route": "im",
        "interval": p.interval,
        "last_dose_date": last.isoformat(),
        "earlier_doses": ";".join(d.isoformat() for d in sorted(earlier)),
        "course_stage": ("neuro_course_completed" if p.neuro else "maintenance")
        if declared
        else "",
        "stage_since": since.isoformat() if declared else "",
        "last_review_date": (as_of - timedelta(days=rng.randint(10, 500))).isoformat()
        if rng.random() < 0.7
        else "",
        "contact": f"07700 9{rng.randint(0, 99999):05d}" if rng.random() < 0.8 else "",
    }


def _spoil(rng: random.Random, reg: Register, index: int, kind: str, as_of: date) -> None:
    row = reg.rows[index]
    if kind == "unknown_product":
        row["product"] = rng.choice(("Neurobion", "vitamin b12 forte", "cobalin-h"))
    elif kind == "future_last_dose":
        row["last_dose_date"] = (as_of + timedelta(days=rng.randint(1, 90))).isoformat()
    elif kind == "bad_nhs_number":
        good = row["nhs_number"].replace(" ", "") or nhs_number(rng)
        row["nhs_number"] = good[:9] + str((int(good[9]) + rng.randint(1, 9)) % 10)
    elif kind == "duplicate_id":
        row["patient_id"] = reg.rows[index - 1]["patient_id"]
    elif kind == "missing_date":
        row["last_dose_date"] = ""
    reg.bad[index + 2] = kind


def make_register(count: int, as_of: date, *, seed: int = 13, bad_every: int = 50) -> Register:
    """``count`` rows; every ``bad_every``-th row (after the first) is spoiled, kinds in turn."""
    rng = random.Random(seed)
    seen: set[str] = set()
    reg = Register([_row(rng, i, as_of, seen) for i in range(count)])
    for n, index in enumerate(range(bad_every, count, bad_every)):
        _spoil(rng, reg, index, BAD_KINDS[n % len(BAD_KINDS)], as_of)
    return reg
