"""The patient page's chart and its two printouts (patient's copy, clinician's copy)."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from pypdf import PdfReader

from b12.adapters.sql.registry import DoseInput, Registry
from tests.web.conftest import BACKENDS, TODAY, UK_PA, SignedIn, at, audit_rows, enrol

Client = Callable[[str], SignedIn]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Every test here runs on SQLite and on PostgreSQL."""
    name: str = request.param
    return name


START = TODAY - timedelta(days=70)


def _pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return re.sub(r"\s+", " ", " ".join(p.extract_text() for p in reader.pages))


def _history(registry: Registry) -> None:
    """Enrolled 70 days ago with labs; two doses; a later picture with new labs; an event."""
    enrol(registry, "P-7", day=START, name="Ann <Example>")
    for offset in (0, 2):
        day = START + timedelta(days=offset)
        registry.record_dose(
            "P-7",
            DoseInput(date=day, drug="hydroxocobalamin", dose="1mg", route="im"),
            actor="setup",
            now=at(day),
        )
    later = START + timedelta(days=40)
    picture = {
        **UK_PA,
        "labs": {**UK_PA["labs"], "serum_b12_ng_l": 480, "haemoglobin_g_l": 128, "mcv_fl": 95},
        "neuro_symptoms": ["paraesthesia"],
        "as_of": later.isoformat(),
        "start": START.isoformat(),
    }
    registry.update_picture("P-7", picture, actor="setup", now=at(later))
    registry.record_event("P-7", later, "no_further_improvement", actor="setup", now=at(later))


def test_patient_page_shows_the_chart_and_its_table(client: Client, registry: Registry) -> None:
    _history(registry)
    page = client("nurse").get("/patients/P-7")
    assert page.status_code == 200
    html = page.text
    assert "Ann &lt;Example&gt;" in html
    assert "Ann <Example>" not in html
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert '<title id="b12-chart-title">' in svg
    assert '<desc id="b12-chart-desc">' in svg
    assert svg.count("<circle") >= 2  # the two doses (and lab points)
    assert "110 then 480" in svg  # B12 over time, in the description
    table = html[html.index('id="chart-table"') :]
    table = table[: table.index("</details>")]
    assert "Dose given" in table
    assert "480 ng/L" in table
    assert "128 g/L" in table
    assert "95 fL" in table
    assert "Neurological symptoms" in table
    # Rows in date order.
    days = re.findall(r"<tr><td>(\d+ \w+ \d{4})</td>", table)
    parsed = [date.fromisoformat(_iso(d)) for d in days]
    assert parsed == sorted(parsed)
    assert len(parsed) >= 6
    assert 'href="/patients/P-7/printout/patient.pdf"' in html
    assert 'href="/patients/P-7/printout/clinician.pdf"' in html


MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _iso(text: str) -> str:
    day, month, year = text.split()
    return f"{year}-{MONTHS.index(month) + 1:02d}-{int(day):02d}"


def test_patient_printout_from_the_registry(client: Client, registry: Registry) -> None:
    picture = {**UK_PA, "as_of": TODAY.isoformat()}
    registry.add_patient(
        "P-8",
        picture,
        name="Bea Example",
        actor="setup",
        now=at(TODAY),
        date_of_birth=date(1957, 4, 1),
    )
    reply = client("nurse").get("/patients/P-8/printout/patient.pdf")
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/pdf"
    text = _pdf_text(reply.content)
    assert "Name: Bea Example" in text
    assert "Date of birth: Mon 1 Apr 1957" in text
    assert "If you miss an injection" in text
    assert "Call us if" in text
    assert "[1]" not in text
    assert "References" not in text
    assert "content version" not in text
    assert audit_rows(registry, "view")[-1]["detail"] == {"page": "printout", "copy": "patient"}


def test_clinician_copy_keeps_references(client: Client, registry: Registry) -> None:
    enrol(registry, "P-9", day=TODAY, name="Cal Example")
    reply = client("clinician").get("/patients/P-9/printout/clinician.pdf")
    assert reply.status_code == 200
    text = _pdf_text(reply.content)
    assert "References" in text
    assert "[1]" in text
    assert "For: Cal Example" in text


def test_unknown_copy_and_unknown_patient_are_404(client: Client, registry: Registry) -> None:
    enrol(registry, "P-10", day=TODAY)
    nurse = client("nurse")
    assert nurse.get("/patients/P-10/printout/other.pdf").status_code == 404
    assert nurse.get("/patients/NOPE/printout/patient.pdf").status_code == 404


def test_printout_of_a_course_under_way_starts_at_the_next_dose(
    client: Client, registry: Registry
) -> None:
    """Loading doses on Wed 25 and Fri 27 Feb: the next (Mon 2 Mar, today) is dose 3 of 6."""
    enrol(registry, "P-11", day=date(2026, 2, 25), name="Dee Example")
    for day in (date(2026, 2, 25), date(2026, 2, 27)):
        registry.record_dose(
            "P-11",
            DoseInput(date=day, drug="hydroxocobalamin", dose="1mg", route="im"),
            actor="setup",
            now=at(day),
        )
    text = _pdf_text(client("nurse").get("/patients/P-11/printout/patient.pdf").content)
    assert "Your next injection is on Monday 2 March 2026" in text
    table = text.split("Date What Dose Notes Given", 1)[1]
    assert table.lstrip().startswith("Mon 2 Mar 2026")
    assert "25 Feb 2026" not in text
    assert "27 Feb 2026" not in text
    # Four loading doses are left (Mon, Wed, Fri, Mon), then maintenance two months later.
    loading = re.findall(r"(\w{3} \d+ Mar 2026) Dose 1 mg", table)
    assert loading == ["Mon 2 Mar 2026", "Wed 4 Mar 2026", "Fri 6 Mar 2026", "Mon 9 Mar 2026"]
    clinician = _pdf_text(client("nurse").get("/patients/P-11/printout/clinician.pdf").content)
    assert "Wed 25 Feb 2026" in clinician  # the plan as it was made, from the course start


def test_plan_page_offers_both_copies_and_prints_the_typed_details(client: Client) -> None:
    from tests.web.test_engine_pages import NEURO_FORM, hidden_picture

    http = client("clinician")
    page = http.form("/plan", NEURO_FORM, follow_redirects=True)
    assert 'id="download-pdf"' in page.text
    assert "Clinician&#39;s copy (PDF)" in page.text or "Clinician's copy (PDF)" in page.text
    assert 'action="/plan/export/patient-pdf"' in page.text
    picture = hidden_picture(page.text)
    details = {"patient_name": "Eve Example", "date_of_birth": "02/04/1958", "nhs_number": "943"}
    reply = http.form("/plan/export/patient-pdf", {"picture": picture, **details})
    assert reply.status_code == 200
    assert "b12-patient-printout.pdf" in reply.headers["content-disposition"]
    text = _pdf_text(reply.content)
    assert "Name: Eve Example" in text
    assert "Date of birth: Wed 2 Apr 1958" in text
    assert "NHS number: 943" in text
    assert "sha256" not in text
    clinician = _pdf_text(http.form("/plan/export/pdf", {"picture": picture, **details}).content)
    assert "For: Eve Example" in clinician
    assert "sha256" in clinician


@pytest.mark.parametrize("born", ["31/02/1958", "1958-13-01", "01/01/2099", "yesterday"])
def test_a_bad_date_of_birth_is_refused(client: Client, born: str) -> None:
    from tests.web.test_engine_pages import NEURO_FORM, hidden_picture

    http = client("clinician")
    picture = hidden_picture(http.form("/plan", NEURO_FORM, follow_redirects=True).text)
    reply = http.form("/plan/export/patient-pdf", {"picture": picture, "date_of_birth": born})
    assert reply.status_code == 422
    assert "date of birth" in reply.text
