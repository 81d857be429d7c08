"""Result pages that stay with their inputs (issue 15).

A plan, order check or follow-up is saved as its inputs and shown by a GET of its own URL
(POST -> 303 -> GET): the same page on every visit and for every signed-in colleague, with the
inputs in one line, "Edit details", a "Do now" box, and people words instead of codes.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from b12.adapters.sql.drafts import ResultDrafts
from b12.adapters.sql.registry import DoseInput, Registry
from b12.adapters.vignettes import Vignette, load_vignettes
from b12.core.knowledge import KnowledgeBase
from b12.entrypoints.web.services import Services
from tests.web.conftest import NOW, TODAY, Clock, SignedIn, audit_rows, counts, enrol

Client = Callable[[str], SignedIn]
RESULT_URL = re.compile(r"^/(plan|check|next)/r/([A-Za-z0-9_-]{32})(\?.*)?$")
VIGNETTES = Path(__file__).parents[1] / "vignettes" / "cases"

# The picture of the example: 68 F, autoimmune gastritis, B12 110 ng/L, no neuro, UK.
PA_FORM: dict[str, Any] = {
    "age": "68",
    "sex": "female",
    "cause": "autoimmune_gastritis",
    "labs.serum_b12_ng_l": "110",
    "labs.haemoglobin_g_l": "96",
    "guideline": "uk",
}
NEURO_FORM = {**PA_FORM, "neuro_symptoms": ["paraesthesia"]}
ORDER_FORM: dict[str, Any] = {
    **PA_FORM,
    "order.drug": "hydroxocobalamin",
    "order.dose.value": "1",
    "order.dose.unit": "mg",
    "order.route": "im",
    "order.site": "deltoid",
    "order.start": "2026-03-04",
    **{
        "history.0.date": "2026-03-02",
        "history.0.drug": "hydroxocobalamin",
        "history.0.dose.value": "1",
        "history.0.dose.unit": "mg",
        "history.0.route": "im",
        "history.0.site": "deltoid",
    },
}


def field_value(page: str, name: str) -> str | None:
    """The value a form field of ``page`` holds: an input's value or a select's chosen option."""
    tag = re.search(rf'<input[^>]*\bname="{re.escape(name)}"[^>]*>', page)
    if tag:
        found = re.search(r'\bvalue="([^"]*)"', tag.group(0))
        return html.unescape(found.group(1)) if found else ""
    select = re.search(rf'<select[^>]*\bname="{re.escape(name)}"[^>]*>(.*?)</select>', page, re.S)
    if select:
        chosen = re.search(r'<option value="([^"]*)"\s+selected', select.group(1))
        return html.unescape(chosen.group(1)) if chosen else ""
    return None


def assert_first_dose_kept(page: str) -> None:
    """The form shows the dose of 2 Mar 2026 (hydroxocobalamin 1 mg IM, deltoid) in row 0."""
    assert field_value(page, "history.0.date") in ("2026-03-02", "02/03/2026")
    assert field_value(page, "history.0.drug") == "hydroxocobalamin"
    assert field_value(page, "history.0.route") == "im"
    assert field_value(page, "history.0.site") == "deltoid"


def submit(http: SignedIn, url: str, data: dict[str, Any]) -> str:
    """POST a form; it must answer 303 to a result URL, which is returned."""
    response = http.form(url, data)
    assert response.status_code == 303, response.text[:2000]
    location = response.headers["location"]
    assert RESULT_URL.match(location), location
    return location


def visible_text(page: str) -> str:
    """What a reader sees: tags and attributes gone, the SVG's text kept."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    page = re.sub(r"<[^>]+>", " ", page)
    return re.sub(r"\s+", " ", html.unescape(page))


def main_html(page: str) -> str:
    """The page's main part and footer (for comparing two visits by two users)."""
    found = re.search(r"<main.*</footer>", page, flags=re.S)
    assert found
    return re.sub(r'name="csrf_token" value="[^"]*"', "", found.group(0))


# -- POST -> 303 -> GET ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "data"),
    [("/plan", PA_FORM), ("/check", ORDER_FORM), ("/next", PA_FORM)],
)
def test_a_submitted_form_redirects_to_a_result_page_that_a_reload_recomputes_unchanged(
    client: Client, clock: Clock, url: str, data: dict[str, Any]
) -> None:
    http = client("clinician")
    location = submit(http, url, data)
    first = http.get(location)
    assert first.status_code == 200
    clock.advance(days=30)  # the stored as_of keeps the result as it was made
    again = client("nurse").get(location)
    assert main_html(again.text) == main_html(first.text)


def test_a_colleague_signed_in_sees_the_same_result_and_a_stranger_does_not(
    client: Client, anonymous: Any, registry: Registry
) -> None:
    location = submit(client("clinician"), "/plan", PA_FORM)
    mine = client("clinician").get(location).text
    theirs = client("nurse").get(location)
    assert theirs.status_code == 200
    assert visible_text(theirs.text).count("68 F") == visible_text(mine).count("68 F") >= 1

    stranger = anonymous.get(location, follow_redirects=False)
    assert stranger.status_code in (303, 401)
    assert "110 ng/L" not in stranger.text
    # Every save and every read is in the audit log, by whom.
    saved = audit_rows(registry, "save_result")
    assert [r["actor"] for r in saved] == ["clinician.test"]
    views = [r for r in audit_rows(registry, "view") if r["table_name"] == "result_drafts"]
    assert {r["actor"] for r in views} == {"clinician.test", "nurse.test"}


def test_an_unknown_or_wrong_kind_of_result_id_is_404(client: Client) -> None:
    http = client("clinician")
    location = submit(http, "/plan", PA_FORM)
    draft_id = location.rsplit("/", 1)[1]
    assert http.get(f"/check/r/{draft_id}").status_code == 404
    assert http.get(f"/next/r/{draft_id}").status_code == 404
    assert http.get("/plan/r/" + "x" * 32).status_code == 404
    assert http.get("/plan/r/short").status_code == 404


def test_the_result_id_is_unguessable_and_the_output_is_not_stored(
    client: Client, services: Services
) -> None:
    http = client("clinician")
    ids = {submit(http, "/plan", PA_FORM).rsplit("/", 1)[1] for _ in range(3)}
    assert len(ids) == 3
    draft = ResultDrafts(services.registry.engine).load(ids.pop(), actor="t", now=NOW)
    assert draft is not None
    assert draft.request["age"] == 68
    assert draft.request["as_of"] == TODAY.isoformat()
    assert "schedule" not in draft.request
    assert "pathway" not in draft.request


def test_bad_input_is_422_on_the_form_and_saves_nothing(client: Client, registry: Registry) -> None:
    before = counts(registry, "result_drafts")
    page = client("clinician").form("/plan", {**PA_FORM, "labs.serum_b12_ng_l": "lots"})
    assert page.status_code == 422
    assert counts(registry, "result_drafts") == before


def test_the_audience_switch_is_a_link_on_the_same_result(client: Client) -> None:
    http = client("clinician")
    location = submit(http, "/plan", NEURO_FORM)
    page = http.get(location).text
    assert f'href="{location}?audience=patient"' in page
    patient = http.get(location + "?audience=patient").text
    assert "Your treatment plan" in patient
    assert 'id="do-now"' not in patient  # the Do now box is the clinician's


# -- summary line, Edit details, Do now ------------------------------------------------------


def test_the_summary_line_states_what_was_entered(client: Client) -> None:
    http = client("clinician")
    page = http.get(submit(http, "/plan", PA_FORM)).text
    summary = re.search(r'<span class="summary" id="summary">([^<]*)</span>', page)
    assert summary
    parts = html.unescape(summary.group(1)).split(" · ")
    assert parts[0] == "68 F"
    assert "autoimmune gastritis (pernicious anaemia)" in parts
    assert "B12 110 ng/L" in parts
    assert "Hb 96 g/L" in parts
    assert "no neuro" in parts
    assert parts[-1] == "UK"


def test_a_us_result_shows_pg_per_ml_beside_ng_per_l_with_the_same_number(client: Client) -> None:
    http = client("clinician")
    us = visible_text(http.get(submit(http, "/plan", {**PA_FORM, "guideline": "us"})).text)
    uk = visible_text(http.get(submit(http, "/plan", PA_FORM)).text)
    assert "B12 110 ng/L (110 pg/mL)" in us
    assert "pg/mL" not in uk


def test_edit_details_returns_to_the_form_with_every_input_kept(client: Client) -> None:
    http = client("clinician")
    data = {
        **NEURO_FORM,
        "conditions": ["coeliac"],
        "labs.mcv_fl": "112",
        "labs.ifab_positive": "positive",
        "as_of": "2026-03-02",
    }
    page = http.get(submit(http, "/plan", data)).text
    edit = re.search(r'<a href="([^"]+)" id="edit-details">Edit details</a>', page)
    assert edit
    form = http.get(html.unescape(edit.group(1))).text
    assert 'name="age" type="number" value="68"' in form or 'value="68"' in form
    for value in ("110", "96", "112"):
        assert f'value="{value}"' in form
    assert re.search(r'value="autoimmune_gastritis"\s+selected', form)
    assert re.search(r'value="paraesthesia"[^>]*\bchecked', form)
    assert re.search(r'value="coeliac"[^>]*\bchecked', form)
    assert re.search(r'value="positive"\s+selected', form)


def test_do_now_gives_first_dose_potassium_review_and_urgent_advice(
    client: Client, kb: KnowledgeBase
) -> None:
    http = client("clinician")
    page = http.get(submit(http, "/plan", NEURO_FORM)).text
    box = re.search(r'<section class="do-now".*?</section>', page, flags=re.S)
    assert box
    text = visible_text(box.group(0))
    assert "First dose: Mon 2 Mar 2026" in text
    assert "Potassium check: Tue 3 Mar 2026" in text
    assert re.search(r"Review: \w{3} \d{1,2} \w{3} 2026", text)
    urgent = kb.vocabulary.alert_codes["NEURO_URGENT_ADVICE"]
    assert 'class="urgent" data-alert="NEURO_URGENT_ADVICE"' in box.group(0), urgent.title
    # Urgent advice comes first.
    assert text.index("Urgent:") < text.index("First dose:")


def test_do_now_has_no_potassium_or_urgent_line_when_no_alert_asks(client: Client) -> None:
    http = client("clinician")
    dietary = {"age": "40", "sex": "male", "cause": "dietary", "labs.serum_b12_ng_l": "150"}
    page = http.get(submit(http, "/plan", {**dietary, "diet": "vegan"})).text
    box = re.search(r'<section class="do-now".*?</section>', page, flags=re.S)
    assert box
    assert "Potassium check" not in box.group(0)
    assert "Urgent" not in box.group(0)


def test_the_do_now_words_come_from_the_knowledge_base(client: Client, kb: KnowledgeBase) -> None:
    display = kb.vocabulary.display
    assert display is not None
    http = client("clinician")
    page = visible_text(http.get(submit(http, "/plan", NEURO_FORM)).text)
    for key in ("heading", "first_dose", "potassium", "review", "urgent"):
        assert display.words["do_now"][key] in page


# -- order check: what was checked, and another order for the same patient --------------------


def test_the_order_check_restates_what_was_checked(client: Client) -> None:
    http = client("clinician")
    page = http.get(submit(http, "/check", ORDER_FORM)).text
    checked = re.search(r'<section aria-labelledby="h-checked".*?</section>', page, flags=re.S)
    assert checked
    text = visible_text(checked.group(0))
    for expected in (
        "Product Hydroxocobalamin",
        "Dose 1 mg",
        "Route intramuscular (IM)",
        "Site deltoid (upper arm)",
        "Date of this dose Wed 4 Mar 2026",
        "Doses used",
        "Mon 2 Mar 2026 Hydroxocobalamin 1 mg intramuscular (IM) deltoid (upper arm)",
    ):
        assert expected in text, (expected, text)


def test_check_another_order_keeps_the_patient_and_clears_the_order(client: Client) -> None:
    http = client("clinician")
    page = http.get(submit(http, "/check", ORDER_FORM)).text
    another = re.search(r'<a href="([^"]+)" id="check-another">', page)
    assert another
    form = http.get(html.unescape(another.group(1))).text
    assert_first_dose_kept(form)  # the history stays
    assert 'value="68"' in form
    assert 'value="110"' in form
    assert 'value="2026-03-04"' not in form  # the order's date is cleared
    assert field_value(form, "order.site") in ("", None)  # and its site


# -- pre-filled from the patient's record -----------------------------------------------------


def _seed(registry: Registry) -> None:
    enrol(registry, "P-300", name="Test Patient")
    registry.record_dose(
        "P-300",
        DoseInput(date=TODAY, drug="hydroxocobalamin", dose="1mg", route="im", site="deltoid"),
        actor="setup",
        now=NOW,
    )
    registry.record_event("P-300", TODAY, "stable", actor="setup", now=NOW)


@pytest.mark.parametrize("url", ["/check", "/next"])
def test_a_form_opens_pre_filled_from_the_patient_record(
    client: Client, registry: Registry, url: str
) -> None:
    _seed(registry)
    form = client("nurse").get(f"{url}?patient=P-300")
    assert form.status_code == 200
    assert_first_dose_kept(form.text)
    assert 'value="68"' in form.text
    assert 'value="110"' in form.text
    assert re.search(
        r'value="pernicious_anaemia"\s+selected|value="autoimmune_gastritis"', form.text
    )
    assert 'name="patient" value="P-300"' in form.text
    if url == "/next":
        assert field_value(form.text, "events.0.date") in ("2026-03-02", "02/03/2026")
        assert field_value(form.text, "events.0.kind") == "stable"
    views = [r for r in audit_rows(registry, "view") if r["record_id"] == "P-300"]
    assert views
    assert views[-1]["actor"] == "nurse.test"


def test_a_declared_course_is_pre_filled_too(client: Client, registry: Registry) -> None:
    picture = {"age": 72, "sex": "male", "cause": "pernicious_anaemia", "guideline": "uk"}
    registry.add_patient(
        "P-301",
        {**picture, "deficiency": "confirmed", "as_of": TODAY.isoformat()},
        name=None,
        actor="setup",
        now=NOW,
        course={"stage": "maintenance", "since": "2025-06-01", "every_months": 3},
    )
    form = client("clinician").get("/next?patient=P-301").text
    assert re.search(r'value="maintenance"\s+selected', form)
    assert 'value="2025-06-01"' in form
    assert 'value="3"' in form


def test_an_unknown_patient_is_404_and_a_result_remembers_its_patient(
    client: Client, registry: Registry
) -> None:
    _seed(registry)
    http = client("clinician")
    assert http.get("/check?patient=P-NOPE").status_code == 404
    data = {**ORDER_FORM, "patient": "P-300", "order.start": "2026-03-04"}
    page = http.get(submit(http, "/check", data)).text
    assert 'href="/patients/P-300" id="patient-link"' in page
    # A hidden patient field naming nobody is not trusted.
    page = http.get(submit(http, "/check", {**data, "patient": "P-NOBODY"})).text
    assert 'id="patient-link"' not in page


# -- people words, not codes ------------------------------------------------------------------


def _codes(kb: KnowledgeBase) -> set[str]:
    """Codes that must not be a result page's visible words."""
    vocab = kb.vocabulary
    codes = set(vocab.alert_codes)
    codes |= set(kb.regimens)
    for reg in kb.regimens.values():
        codes |= {p.name for p in reg.phases if "-" in p.name or "_" in p.name}
    for group in (vocab.causes, vocab.conditions, vocab.medications, vocab.neuro_symptoms):
        codes |= {k for k in group if "_" in k}
    codes |= {k for k in vocab.events if "_" in k}
    codes |= set(kb.pathways)
    return codes


def _draft_of(v: Vignette) -> tuple[str, dict[str, Any]]:
    if v.kind == "plan":
        return "plan", {**v.picture, "as_of": v.as_of.isoformat()}
    kind = "check" if v.kind == "order" else "next"
    return kind, {**v.request, "as_of": v.as_of.isoformat()}


ISO_DATE = re.compile(r"\b\d{4}-\d\d-\d\d\b")
UPPER_CODE = re.compile(r"\b[A-Z][A-Z0-9]+(?:_[A-Z0-9]+)+\b")
SNAKE_CODE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")


def test_no_result_page_of_any_vignette_shows_a_code_an_iso_date_or_two_disclaimers(
    client: Client, services: Services, kb: KnowledgeBase
) -> None:
    """The class: every plan, order check and follow-up the vignettes describe."""
    http = client("reviewer")
    drafts = ResultDrafts(services.registry.engine)
    codes = _codes(kb)
    assert "POTASSIUM_48H" in codes
    assert "uk-im-no-neuro" in codes
    assert "every-3-4-days" in codes
    failures: list[str] = []
    for v in load_vignettes(VIGNETTES):
        kind, request = _draft_of(v)
        draft_id = drafts.save(
            kind,  # type: ignore[arg-type]
            request,
            {},
            as_of=v.as_of,
            allow_draft=bool(v.options.get("allow_draft")),
            patient_id=None,
            actor="setup",
            now=NOW,
        )
        page = http.get(f"/{kind}/r/{draft_id}")
        if page.status_code != 200:
            failures.append(f"{v.id}: HTTP {page.status_code}")
            continue
        text = visible_text(page.text)
        shown = {c for c in codes if re.search(rf"(?<![\w-]){re.escape(c)}(?![\w-])", text)}
        shown |= set(UPPER_CODE.findall(text)) | set(SNAKE_CODE.findall(text))
        if shown:
            failures.append(f"{v.id}: codes {sorted(shown)}")
        if ISO_DATE.search(text):
            failures.append(f"{v.id}: ISO date {ISO_DATE.findall(text)[:3]}")
        if "b12 dates" in text:
            failures.append(f"{v.id}: 'b12 dates'")
        if "umol/L" in text or "ug/L" in text:
            failures.append(f"{v.id}: unit without µ")
        disclaimer = kb.vocabulary.disclaimer.split(".")[0]
        if text.count(disclaimer) > 1 or "it does not replace clinical judgement." in text:
            failures.append(f"{v.id}: disclaimer shown {text.count(disclaimer)} times")
    assert not failures, "\n".join(failures[:40])


def test_a_follow_up_do_now_says_when_the_next_dose_is_due_or_how_late_it_is(
    client: Client,
) -> None:
    http = client("clinician")
    history: dict[str, str] = {}
    for k, d in enumerate((1, 3, 5, 8, 10, 12)):
        history |= {
            f"history.{k}.date": f"2025-09-{d:02d}",
            f"history.{k}.drug": "hydroxocobalamin",
            f"history.{k}.dose.value": "1",
            f"history.{k}.dose.unit": "mg",
            f"history.{k}.route": "im",
        }
    late = http.get(submit(http, "/next", {**PA_FORM, **history})).text
    box = re.search(r'<section class="do-now".*?</section>', late, flags=re.S)
    assert box
    text = visible_text(box.group(0))
    assert "Next dose due:" in text
    assert re.search(r"Overdue by \d+ days", text), text
    # The summary counts the doses used, with the last one's date.
    assert "6 doses on record (last Fri 12 Sep 2025)" in visible_text(late)


def test_a_plan_that_needs_more_information_says_what_in_do_now(client: Client) -> None:
    http = client("clinician")
    page = http.get(submit(http, "/plan", {"age": "50", "sex": "female"})).text
    assert 'data-code="needs_more_data"' in page
    box = re.search(r'<section class="do-now".*?</section>', page, flags=re.S)
    assert box
    text = visible_text(box.group(0))
    assert "More information needed:" in text
    assert "First dose" not in text
    assert "_" not in text  # field labels, not contract names
