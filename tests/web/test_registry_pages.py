"""Registry pages: patient list, enrolment, patient page with dose and event forms, recall list."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient

from b12.adapters.sql.registry import DoseInput, Registry
from tests.web.conftest import (
    NOW,
    UK_PA,
    US_PA,
    SignedIn,
    at,
    audit_rows,
    counts,
    enrol,
)
from tests.web.html_forms import submission

Client = Callable[[str], SignedIn]
PATIENT_TABLES = ("patients", "pictures", "courses", "doses", "events")
FEB_28 = date(2026, 2, 28)
ENROL_FORM: dict[str, Any] = {
    "id": "P-100",
    "name": "Ann Example",
    "date_of_birth": "1957-04-01",  # 68 on 2026-03-02, as the picture says
    "age": "68",
    "sex": "female",
    "deficiency": "confirmed",
    "cause": "pernicious_anaemia",
    "labs.serum_b12_ng_l": "110",
    "labs.haemoglobin_g_l": "96",
    "labs.mcv_fl": "112",
    "labs.ifab_positive": "positive",
    "guideline": "uk",
}
DOSE_FORM: dict[str, str] = {
    "date": "2026-03-02",
    "drug": "hydroxocobalamin",
    "dose": "1mg",
    "route": "im",
    "site": "deltoid",
    "batch": "AB123",
}


def _key(page: str) -> str:
    found = re.search(r'name="key" value="([^"]+)"', page)
    assert found, "the dose form has no idempotency key"
    return found.group(1)


def _checked(page: str) -> str:
    """The fingerprint of the values the order check on ``page`` judged."""
    found = re.search(r'name="checked" value="([^"]+)"', page)
    assert found, "the dose form has no fingerprint of the checked values"
    return found.group(1)


def _next_due(page: str) -> str:
    found = re.search(r'<dd id="next-due">([^<]*)</dd>', page)
    assert found, "no next-due on the page"
    return found.group(1)


def _dosed_on_feb_28(registry: Registry) -> None:
    """Enrolled and first dose on 28 February: the next loading dose is due on 2 March."""
    enrol(registry, "P-001", day=FEB_28)
    registry.record_dose(
        "P-001",
        DoseInput(date=FEB_28, drug="hydroxocobalamin", dose="1mg", route="im"),
        actor="setup",
        now=at(FEB_28),
    )


# -- patient list ------------------------------------------------------------------------------


def test_patient_list_links_each_patient_and_offers_enrolment_to_clinicians(
    client: Client, registry: Registry
) -> None:
    enrol(registry, "P-001", name="Ann Example")

    clinician = client("clinician").get("/patients")
    nurse = client("nurse").get("/patients")

    assert clinician.status_code == nurse.status_code == 200
    assert '<a href="/patients/P-001">P-001</a>' in nurse.text
    assert "Ann Example" in nurse.text
    assert registry.follow_up("P-001", NOW.date()).pathway.title in nurse.text  # words, not ids
    assert "uk-im-no-neuro" not in nurse.text
    assert 'href="/patients/new"' in clinician.text
    assert 'href="/patients/new"' not in nurse.text
    views = audit_rows(registry, "view")
    assert [(v["actor"], v["table_name"]) for v in views] == [
        ("clinician.test", "patients"),
        ("nurse.test", "patients"),
    ]


def test_patient_list_shows_a_patient_once_after_a_picture_change(
    client: Client, registry: Registry
) -> None:
    enrol(registry, "P-001")
    registry.update_picture(
        "P-001", {**UK_PA, "neuro_symptoms": ["paraesthesia"]}, actor="setup", now=NOW
    )

    page = client("nurse").get("/patients")

    assert page.text.count('<tr data-patient="P-001">') == 1
    assert registry.follow_up("P-001", NOW.date()).pathway.title in page.text  # the new course


def test_pages_redirect_to_login_without_a_session(anonymous: TestClient) -> None:
    for path in ("/patients", "/patients/P-001", "/patients/new", "/recall", "/recall.csv"):
        response = anonymous.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"] == f"/login?next={path}"


# -- enrolment ---------------------------------------------------------------------------------


def test_enrol_page_saves_the_patient_and_redirects_to_their_page(
    client: Client, registry: Registry
) -> None:
    clinician = client("clinician")
    form = clinician.get("/patients/new")
    assert form.status_code == 200
    assert 'name="labs.serum_b12_ng_l"' in form.text  # the plan form's picture fields

    response = clinician.form("/patients/new", ENROL_FORM)

    assert response.status_code == 303
    assert response.headers["location"] == "/patients/P-100"
    page = clinician.get("/patients/P-100")
    assert page.status_code == 200
    assert "Ann Example" in page.text
    assert "1957-04-01" in page.text
    assert _next_due(page.text).startswith("2026-03-02")
    record = registry.show_patient("P-100")
    assert record["patient"]["date_of_birth"] == "1957-04-01"
    assert record["picture"]["labs"]["serum_b12_ng_l"] == 110
    (enrolled,) = audit_rows(registry, "enrol")
    assert enrolled["actor"] == "clinician.test"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"labs.serum_b12_ng_l": "lots"}, "labs.serum_b12_ng_l"),
        ({"id": "has spaces"}, "id"),
        ({"id": ""}, "id"),
        ({"date_of_birth": "2030-01-01"}, "date_of_birth"),
        ({"date_of_birth": "1 April 1958"}, "date_of_birth"),
        ({"name": "x" * 201}, "name"),
        ({"age": "300"}, "age"),
    ],
)
def test_bad_enrolment_input_is_422_next_to_the_field_and_saves_nothing(
    client: Client, registry: Registry, change: dict[str, str], field: str
) -> None:
    before = counts(registry, *PATIENT_TABLES)

    response = client("clinician").form("/patients/new", {**ENROL_FORM, **change})

    assert response.status_code == 422
    anchor = field.replace(".", "-")
    assert f'id="err-{anchor}"' in response.text
    assert f'href="#f-{anchor}"' in response.text  # the problem summary links to the field
    assert 'value="Ann Example"' in response.text or field == "name"  # the form is kept
    assert counts(registry, *PATIENT_TABLES) == before


def test_a_bad_field_and_a_bad_picture_are_reported_together(
    client: Client, registry: Registry
) -> None:
    response = client("clinician").form(
        "/patients/new", {**ENROL_FORM, "id": "bad id", "labs.mcv_fl": "big"}
    )

    assert response.status_code == 422
    assert 'id="err-id"' in response.text
    assert 'id="err-labs-mcv_fl"' in response.text
    assert counts(registry, "patients")["patients"] == 0


def test_enrolling_an_enrolled_id_again_is_422_and_changes_nothing(
    client: Client, registry: Registry
) -> None:
    enrol(registry, "P-100")
    clinician = client("clinician")
    before = counts(registry)

    response = clinician.form("/patients/new", ENROL_FORM)

    assert response.status_code == 422
    assert "already enrolled" in response.text
    assert counts(registry) == before


def test_a_nurse_may_not_enrol(client: Client, registry: Registry) -> None:
    nurse = client("nurse")

    assert nurse.get("/patients/new").status_code == 403
    assert nurse.form("/patients/new", ENROL_FORM).status_code == 403
    assert counts(registry, "patients")["patients"] == 0


def test_enrolment_without_the_csrf_token_is_403_and_saves_nothing(
    client: Client, registry: Registry
) -> None:
    clinician = client("clinician")

    missing = clinician.post("/patients/new", data=ENROL_FORM)
    wrong = clinician.post("/patients/new", data={**ENROL_FORM, "csrf_token": "forged"})

    assert missing.status_code == wrong.status_code == 403
    assert counts(registry, "patients")["patients"] == 0


# -- patient page ------------------------------------------------------------------------------


def test_patient_page_shows_course_next_due_history_and_audits_the_view(
    client: Client, registry: Registry
) -> None:
    _dosed_on_feb_28(registry)
    registry.record_event("P-001", FEB_28, "stable", actor="setup", now=at(FEB_28))

    page = client("nurse").get("/patients/P-001")

    assert page.status_code == 200
    text = page.text
    shown = re.sub(r"<[^>]+>", " ", text)  # what people read (codes may stay in attributes)
    follow = registry.follow_up("P-001", FEB_28)
    assert follow.regimen is not None
    assert follow.pathway.title in text  # words, not the codes (issue 15)
    assert follow.regimen.title in text
    assert "uk-im-no-neuro" not in shown
    assert "UK-HYDROXO-STANDARD" not in shown
    assert "loading" in text
    assert "sha256:" in text  # content version
    assert _next_due(text) == "2026-03-02 (acceptable 2026-03-02 to 2026-03-02)"
    assert 'data-dose="1"' in text
    assert 'data-kind="stable"' in text
    assert 'data-code="CONTINUE"' in text  # advice from the follow-up, with its references
    assert 'id="ref-1"' in text
    assert 'name="override_reason"' in text
    (view,) = audit_rows(registry, "view")
    assert (view["actor"], view["table_name"], view["record_id"]) == (
        "nurse.test",
        "patient",
        "P-001",
    )
    assert view["detail"] == {"page": "patient"}
    assert view["at"] == NOW


def test_an_unknown_patient_is_404(client: Client) -> None:
    assert client("nurse").get("/patients/nobody").status_code == 404


def test_each_drawing_of_the_dose_form_has_a_new_key(client: Client, registry: Registry) -> None:
    enrol(registry, "P-001")
    nurse = client("nurse")
    assert _key(nurse.get("/patients/P-001").text) != _key(nurse.get("/patients/P-001").text)


def test_an_on_time_dose_is_saved_at_once_and_moves_the_next_due_date(
    client: Client, registry: Registry
) -> None:
    _dosed_on_feb_28(registry)
    nurse = client("nurse")
    page = nurse.get("/patients/P-001")
    assert _next_due(page.text).startswith("2026-03-02")

    response = nurse.form("/patients/P-001/doses", {**DOSE_FORM, "key": _key(page.text)})

    assert response.status_code == 303
    assert response.headers["location"].startswith("/patients/P-001?recorded=")
    after = nurse.get(response.headers["location"])
    assert _next_due(after.text).startswith("2026-03-04")
    assert 'id="recorded"' in after.text
    history = registry.dose_history("P-001")
    assert [(d["date"], d["batch"], d["site"], d["given_by"]) for d in history][-1] == (
        "2026-03-02",
        "AB123",
        "deltoid",
        "nurse.test",
    )


def test_an_early_dose_warns_and_saves_nothing_until_confirmed(
    client: Client, registry: Registry
) -> None:
    _dosed_on_feb_28(registry)
    nurse = client("nurse")
    key = _key(nurse.get("/patients/P-001").text)
    early = {**DOSE_FORM, "date": "2026-03-01", "key": key}
    before = counts(registry, "doses")

    warned = nurse.form("/patients/P-001/doses", early)

    assert warned.status_code == 200
    assert 'data-code="INTERVAL_EARLY"' in warned.text
    assert 'id="save-anyway"' in warned.text
    assert 'name="confirm" value="1"' in warned.text
    assert f'name="key" value="{key}"' in warned.text  # the same key, so a retry records once
    assert counts(registry, "doses") == before
    assert _next_due(warned.text).startswith("2026-03-02")

    saved = nurse.form(
        "/patients/P-001/doses", {**early, "confirm": "1", "checked": _checked(warned.text)}
    )

    assert saved.status_code == 303
    assert counts(registry, "doses")["doses"] == before["doses"] + 1
    last = registry.dose_history("P-001")[-1]
    assert (last["date"], last["verdict"]) == ("2026-03-01", "warn")
    assert f'data-dose="{last["id"]}"' in nurse.get("/patients/P-001").text


def test_a_stop_needs_a_reason_even_when_confirmed(client: Client, registry: Registry) -> None:
    _dosed_on_feb_28(registry)
    nurse = client("nurse")
    iv = {**DOSE_FORM, "route": "iv", "site": "", "key": "k-iv"}

    warned = nurse.form("/patients/P-001/doses", iv)
    checked = _checked(warned.text)
    refused = nurse.form("/patients/P-001/doses", {**iv, "confirm": "1", "checked": checked})

    assert warned.status_code == 200
    assert 'data-code="IV_ROUTE"' in warned.text
    assert "required for a stop" in warned.text
    assert refused.status_code == 422
    assert 'id="err-override_reason"' in refused.text
    assert counts(registry, "doses")["doses"] == 1

    saved = nurse.form(
        "/patients/P-001/doses",
        {**iv, "confirm": "1", "checked": checked, "override_reason": "specialist advice"},
    )

    assert saved.status_code == 303
    last = registry.dose_history("P-001")[-1]
    assert (last["route"], last["verdict"], last["override_reason"]) == (
        "iv",
        "stop",
        "specialist advice",
    )


# -- "Save anyway" saves what is on screen (issue 12, item 3) -----------------------------------


def _dates(registry: Registry) -> list[str]:
    return [str(d["date"]) for d in registry.dose_history("P-001")]


def test_save_anyway_after_changing_the_date_saves_the_date_on_screen(
    client: Client, registry: Registry
) -> None:
    _dosed_on_feb_28(registry)
    nurse = client("nurse")
    page = nurse.get("/patients/P-001").text
    warned = nurse.form(
        "/patients/P-001/doses", submission(page, "record-dose", {"date": "2026-03-01"})
    )
    assert 'data-code="INTERVAL_EARLY"' in warned.text

    # The user corrects the date in the still-editable form, then presses "Save anyway".
    saved = nurse.form(
        "/patients/P-001/doses", submission(warned.text, "save-anyway", {"date": "2026-03-02"})
    )

    assert saved.status_code == 303  # the new date is on time: its check is clear
    assert _dates(registry) == ["2026-02-28", "2026-03-02"]


def test_save_anyway_after_changing_the_route_checks_the_new_route(
    client: Client, registry: Registry
) -> None:
    _dosed_on_feb_28(registry)
    nurse = client("nurse")
    page = nurse.get("/patients/P-001").text
    stop = nurse.form(
        "/patients/P-001/doses", submission(page, "record-dose", {"route": "iv", "site": ""})
    )
    assert 'data-code="IV_ROUTE"' in stop.text

    saved = nurse.form(
        "/patients/P-001/doses",
        submission(stop.text, "save-anyway", {"route": "im", "site": "deltoid"}),
    )

    assert saved.status_code == 303
    last = registry.dose_history("P-001")[-1]
    assert (last["route"], last["verdict"], last["override_reason"]) == ("im", "ok", None)


def test_a_change_that_still_warns_is_checked_again_not_saved(
    client: Client, registry: Registry
) -> None:
    _dosed_on_feb_28(registry)
    nurse = client("nurse")
    page = nurse.get("/patients/P-001").text
    warned = nurse.form(
        "/patients/P-001/doses", submission(page, "record-dose", {"date": "2026-03-01"})
    )
    before = counts(registry, "doses")

    again = nurse.form(
        "/patients/P-001/doses",
        submission(warned.text, "save-anyway", {"date": "2026-02-28", "batch": "ZZ9"}),
    )

    assert again.status_code == 200
    assert 'id="rechecked"' in again.text
    assert counts(registry, "doses") == before  # nothing saved on a stale check
    assert 'value="2026-02-28"' in again.text
    assert 'value="ZZ9"' in again.text
    # Now the check on screen is of these values: "Save anyway" saves them (with a reason).
    saved = nurse.form(
        "/patients/P-001/doses",
        submission(again.text, "save-anyway", {"override_reason": "second site, same day"}),
    )
    assert saved.status_code == 303
    last = registry.dose_history("P-001")[-1]
    assert (str(last["date"]), last["batch"]) == ("2026-02-28", "ZZ9")


def test_save_anyway_after_the_record_changed_underneath_checks_again(
    client: Client, registry: Registry
) -> None:
    """The fingerprint covers what the check said too: an allergy recorded meanwhile changes
    the check of the same values, so they are shown again, not saved."""
    _dosed_on_feb_28(registry)
    nurse = client("nurse")
    page = nurse.get("/patients/P-001").text
    warned = nurse.form(
        "/patients/P-001/doses", submission(page, "record-dose", {"date": "2026-03-01"})
    )
    picture = {**UK_PA, "as_of": "2026-03-02", "conditions": ["cobalt_allergy"]}
    registry.update_picture("P-001", picture, actor="clinician", now=at(date(2026, 3, 2)))
    before = counts(registry, "doses")

    again = nurse.form("/patients/P-001/doses", submission(warned.text, "save-anyway"))

    assert 'data-code="COBALT_ALLERGY"' in again.text
    assert again.status_code == 200
    assert 'id="rechecked"' in again.text
    assert counts(registry, "doses") == before


@pytest.mark.parametrize("checked", ["", "0" * 32, "not-a-fingerprint"])
def test_save_anyway_without_the_checked_fingerprint_checks_again(
    client: Client, registry: Registry, checked: str
) -> None:
    _dosed_on_feb_28(registry)
    nurse = client("nurse")
    early = {**DOSE_FORM, "date": "2026-03-01", "key": "k-early"}
    before = counts(registry, "doses")

    response = nurse.form("/patients/P-001/doses", {**early, "confirm": "1", "checked": checked})

    assert response.status_code == 200
    assert 'data-code="INTERVAL_EARLY"' in response.text
    assert 'id="rechecked"' in response.text
    assert counts(registry, "doses") == before


def test_enter_in_the_dose_form_checks_again_rather_than_saving(
    client: Client, registry: Registry
) -> None:
    """The first submit button of the dose form (the one Enter presses) is "Check again"."""
    _dosed_on_feb_28(registry)
    nurse = client("nurse")
    early = {**DOSE_FORM, "date": "2026-03-01", "key": "k-enter"}
    warned = nurse.form("/patients/P-001/doses", early).text
    form = warned[warned.index('id="dose-form"') :]
    assert form.index('id="record-dose"') < form.index('id="save-anyway"')
    assert 'name="confirm"' not in warned[: warned.index('id="record-dose"')]


def test_a_double_submit_records_one_dose(client: Client, registry: Registry) -> None:
    _dosed_on_feb_28(registry)
    nurse = client("nurse")
    form = {**DOSE_FORM, "key": _key(nurse.get("/patients/P-001").text)}

    first = nurse.form("/patients/P-001/doses", form)
    second = nurse.form("/patients/P-001/doses", form)
    confirmed_again = nurse.form("/patients/P-001/doses", {**form, "confirm": "1"})

    assert first.status_code == second.status_code == confirmed_again.status_code == 303
    assert "duplicate=1" in second.headers["location"]
    assert counts(registry, "doses")["doses"] == 2
    assert [a["action"] for a in audit_rows(registry) if a["action"] == "record_dose"] == [
        "record_dose",
        "record_dose",  # the setup dose and this one
    ]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"dose": "lots"}, "dose"),
        ({"dose": "1 bucket"}, "dose"),
        ({"date": "2026-03-03"}, "date"),
        ({"date": "yesterday"}, "date"),
        ({"route": "nose"}, "route"),
        ({"drug": ""}, "drug"),
        ({"batch": "B" * 101}, "batch"),
        ({"batch": "AB\x00"}, "batch"),
    ],
)
def test_bad_dose_input_is_422_next_to_the_field_and_saves_nothing(
    client: Client, registry: Registry, change: dict[str, str], field: str
) -> None:
    _dosed_on_feb_28(registry)
    nurse = client("nurse")
    before = counts(registry)

    response = nurse.form("/patients/P-001/doses", {**DOSE_FORM, **change})

    assert response.status_code == 422
    assert f'id="err-{field}"' in response.text
    after = counts(registry)
    assert after.pop("audit") == before.pop("audit") + 1  # the page view, nothing else
    assert after == before


def test_recording_needs_the_record_permission_and_the_csrf_token(
    client: Client, registry: Registry, anonymous: TestClient
) -> None:
    _dosed_on_feb_28(registry)
    nurse = client("nurse")

    no_token = nurse.post("/patients/P-001/doses", data=DOSE_FORM)
    no_token_event = nurse.post(
        "/patients/P-001/events", data={"event.date": "2026-03-02", "event.kind": "stable"}
    )
    no_session = anonymous.post("/patients/P-001/doses", data=DOSE_FORM)

    assert no_token.status_code == no_token_event.status_code == 403
    assert no_session.status_code == 303
    assert counts(registry, "doses", "events") == {"doses": 1, "events": 0}


def test_recording_an_event_redirects_back_and_lists_it(client: Client, registry: Registry) -> None:
    enrol(registry, "P-001")
    nurse = client("nurse")

    response = nurse.form(
        "/patients/P-001/events", {"event.date": "2026-03-02", "event.kind": "stable"}
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/patients/P-001#events"
    assert 'data-kind="stable"' in nurse.get("/patients/P-001").text
    (event,) = audit_rows(registry, "record_event")
    assert event["actor"] == "nurse.test"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"event.kind": "felt_odd"}, "event-kind"),
        ({"event.kind": ""}, "event-kind"),
        ({"event.date": "2026-03-09"}, "event-date"),
        ({"event.date": "soon"}, "event-date"),
    ],
)
def test_a_bad_event_is_422_and_saves_nothing(
    client: Client, registry: Registry, change: dict[str, str], field: str
) -> None:
    enrol(registry, "P-001")

    response = client("nurse").form(
        "/patients/P-001/events", {"event.date": "2026-03-02", "event.kind": "stable", **change}
    )

    assert response.status_code == 422
    assert f'id="err-{field}"' in response.text
    assert counts(registry, "events")["events"] == 0


# -- recall list -------------------------------------------------------------------------------


def _practice(registry: Registry) -> None:
    enrol(registry, "due-today", name="Dee Today")
    enrol(registry, "overdue-10", day=date(2026, 2, 20), name="Olly Overdue")
    enrol(registry, "upcoming-8", start="2026-03-10")
    enrol(registry, "us-overdue", US_PA, day=date(2026, 2, 25))
    enrol(registry, "far-away", start="2026-06-01")


def _recall_ids(page: str) -> list[str]:
    table = page.split('<table id="recall">', 1)[-1]
    return re.findall(r'<tr data-patient="([^"]+)"', table)


def test_recall_lists_the_overdue_first_highlighted_with_days_overdue(
    client: Client, registry: Registry
) -> None:
    _practice(registry)

    page = client("nurse").get("/recall")

    assert page.status_code == 200
    assert _recall_ids(page.text) == ["overdue-10", "us-overdue", "due-today", "upcoming-8"]
    assert '<tr data-patient="overdue-10" class="overdue">' in page.text
    assert "10 days overdue" in page.text
    assert '<a href="/patients/overdue-10">Olly Overdue</a>' in page.text  # the name, linked
    assert "<strong>4</strong> patients" in page.text
    (view,) = audit_rows(registry, "view")
    assert (view["table_name"], view["record_id"]) == ("recall", "list")
    assert view["detail"]["rows"] == 4


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=overdue", ["overdue-10", "us-overdue"]),
        ("status=due", ["due-today"]),
        ("status=upcoming", ["upcoming-8"]),
        ("guideline=us", ["us-overdue"]),
        ("status=overdue&guideline=uk", ["overdue-10"]),
        ("within=0", ["overdue-10", "us-overdue", "due-today"]),
        ("within=100", ["overdue-10", "us-overdue", "due-today", "upcoming-8", "far-away"]),
    ],
)
def test_recall_filters(
    client: Client, registry: Registry, query: str, expected: list[str]
) -> None:
    _practice(registry)
    page = client("nurse").get(f"/recall?{query}")
    assert page.status_code == 200
    assert _recall_ids(page.text) == expected


def test_recall_pages_through_the_list(client: Client, registry: Registry) -> None:
    _practice(registry)
    nurse = client("nurse")

    first = nurse.get("/recall?limit=3")
    second = nurse.get("/recall?limit=3&offset=3")

    assert _recall_ids(first.text) + _recall_ids(second.text) == [
        "overdue-10",
        "us-overdue",
        "due-today",
        "upcoming-8",
    ]
    assert 'rel="next"' in first.text
    assert 'rel="prev"' in second.text
    assert "showing 4–4" in second.text


@pytest.mark.parametrize(
    ("query", "field"),
    [("within=soon", "within"), ("within=-1", "within"), ("status=late", "status")],
)
def test_bad_recall_filters_are_422_naming_the_field(
    client: Client, registry: Registry, query: str, field: str
) -> None:
    page = client("nurse").get(f"/recall?{query}")
    assert page.status_code == 422
    assert f'id="err-{field}"' in page.text


def test_recall_csv_is_the_whole_filtered_list_and_is_audited(
    client: Client, registry: Registry
) -> None:
    _practice(registry)
    enrol(registry, "formula", day=date(2026, 2, 21), name='=HYPERLINK("http://x")')

    response = client("nurse").get("/recall.csv?status=overdue")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == (
        'attachment; filename="b12-recall-2026-03-02.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["patient_id"] for r in rows] == ["overdue-10", "formula", "us-overdue"]
    assert rows[0]["overdue_days"] == "10"
    assert rows[0]["display_name"] == "Olly Overdue"
    assert rows[1]["display_name"].startswith("'=")  # a spreadsheet will not run it
    (view,) = audit_rows(registry, "view")
    assert (view["table_name"], view["record_id"]) == ("recall", "csv")
    assert view["detail"]["rows"] == 3
    assert view["detail"]["status"] == "overdue"


def test_the_recall_page_links_the_csv_with_its_filters(client: Client, registry: Registry) -> None:
    page = client("nurse").get("/recall?within=30&status=due&guideline=uk")
    assert 'href="/recall.csv?within=30&amp;status=due&amp;guideline=uk"' in page.text


def test_home_sends_nurses_to_the_recall_list(client: Client) -> None:
    response = client("nurse").get("/")
    assert response.headers["location"] == "/recall"
