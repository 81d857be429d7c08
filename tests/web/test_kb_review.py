"""Knowledge-base pages and API: content moves through review and the engine follows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from b12.entrypoints.web.services import Services
from tests.web.conftest import SignedIn, audit_rows

Bearer = Callable[[str], dict[str, str]]
DRAFT = "B12-DX-050"
NO_CAUSE = {"age": 45, "cause": "unknown", "labs": {"serum_b12_ng_l": 120}, "as_of": "2026-06-01"}


def move(http: TestClient, headers: dict[str, str], to: str, comment: str | None = None) -> Any:
    body: dict[str, Any] = {"to_status": to}
    if comment is not None:
        body["comment"] = comment
    return http.post(f"/api/kb/recommendations/{DRAFT}/transition", json=body, headers=headers)


def test_the_list_groups_by_status_with_sources(client: Callable[[str], SignedIn]) -> None:
    page = client("clinician").get("/kb")
    assert page.status_code == 200
    assert 'id="h-approved"' in page.text
    assert 'id="h-draft"' in page.text
    assert f'href="/kb/{DRAFT}"' in page.text
    assert "nasgp-ng239-2024" in page.text
    drafts = client("clinician").get("/kb?status=draft").text
    assert 'id="h-approved"' not in drafts


def test_an_item_page_shows_texts_citations_and_the_moves_for_the_role(
    client: Callable[[str], SignedIn],
) -> None:
    clinician = client("clinician").get(f"/kb/{DRAFT}").text
    assert "coeliac" in clinician.lower()
    assert 'id="move-submitted"' in clinician
    reviewer = client("reviewer").get(f"/kb/{DRAFT}").text
    assert 'id="move-submitted"' in reviewer
    assert client("clinician").get("/kb/B12-XX-999").status_code == 404


def test_approval_through_the_pages_removes_the_banner(
    client: Callable[[str], SignedIn], anonymous: TestClient, bearer: Bearer, services: Services
) -> None:
    reviewer = client("reviewer")
    author = client("clinician")
    headers = bearer("reviewer")
    before = anonymous.post("/api/plan?allow_draft=true", json=NO_CAUSE, headers=headers).json()
    assert before["review_status"] == "pending_review"
    assert before["review_level"] == "unreviewed"
    version = services.kb().content_version
    submitted = author.form(f"/kb/{DRAFT}/transition", {"to_status": "submitted"})
    assert submitted.status_code == 303, submitted.text
    for to in ("in-review", "approved"):
        response = reviewer.form(f"/kb/{DRAFT}/transition", {"to_status": to, "confirmed": "yes"})
        assert response.status_code == 303, response.text
    page = reviewer.get(f"/kb/{DRAFT}").text
    assert 'id="item-status">approved' in page
    assert 'id="item-level">Engineering-reviewed; not clinically signed off' in page
    assert "Written by clinician.test" in page
    assert "Engineering review by reviewer.test" in page
    after = anonymous.post("/api/plan", json=NO_CAUSE, headers=headers).json()
    assert after["review_status"] == "approved"
    assert after["review_level"] == "engineering_reviewed"
    assert after["review_banner"] is None
    assert "COELIAC_TESTING" in {a["code"] for a in after["alerts"]}
    assert after["content_version"] != version
    assert [r["detail"] for r in audit_rows(services.registry, "content_review")]


def test_send_back_needs_a_comment_and_bad_moves_are_422(
    anonymous: TestClient, bearer: Bearer
) -> None:
    reviewer = bearer("reviewer")
    assert move(anonymous, reviewer, "approved").status_code == 422  # draft → approved skips
    assert move(anonymous, reviewer, "submitted").status_code == 200
    missing = move(anonymous, reviewer, "draft")
    assert missing.status_code == 422
    assert missing.json()["error"]["fields"][0]["field"] == "comment"
    back = move(anonymous, reviewer, "draft", "Read the NG239 text first.")
    assert back.status_code == 200
    assert back.json()["status"] == "draft"
    assert back.json()["history"][-1]["comment"] == "Read the NG239 text first."


def test_roles_are_enforced_in_the_api(anonymous: TestClient, bearer: Bearer) -> None:
    assert move(anonymous, bearer("clinician"), "submitted").status_code == 200
    refused = move(anonymous, bearer("clinician"), "in-review")
    assert refused.status_code == 403
    assert set(refused.json()) >= {"error"}
    assert move(anonymous, bearer("nurse"), "in-review").status_code == 403


def test_content_citing_a_superseded_source_cannot_be_approved(
    client: Callable[[str], SignedIn],
) -> None:
    reviewer = client("reviewer")
    submit = {"to_status": "submitted"}
    assert client("clinician").form("/kb/B12-SAFE-027/transition", submit).status_code == 303
    assert (
        reviewer.form("/kb/B12-SAFE-027/transition", {"to_status": "in-review"}).status_code == 303
    )
    refused = reviewer.form("/kb/B12-SAFE-027/transition", {"to_status": "approved"})
    assert refused.status_code == 422
    assert "superseded" in refused.text
    assert 'id="item-status">in-review' in refused.text


def test_the_api_lists_and_filters(anonymous: TestClient, bearer: Bearer) -> None:
    headers = bearer("nurse")
    everything = anonymous.get("/api/kb/recommendations", headers=headers).json()
    assert len(everything["items"]) > 100
    drafts = anonymous.get("/api/kb/recommendations?status=draft", headers=headers).json()
    assert {i["id"] for i in drafts["items"]} >= {DRAFT}
    bad = anonymous.get("/api/kb/recommendations?status=nope", headers=headers)
    assert bad.status_code == 422
    one = anonymous.get(f"/api/kb/recommendations/{DRAFT}", headers=headers).json()
    assert one["status"] == "draft"
    junk = anonymous.post(
        f"/api/kb/recommendations/{DRAFT}/transition",
        json={"to_status": "submitted", "extra": 1},
        headers=bearer("reviewer"),
    )
    assert junk.status_code == 422


def test_the_author_cannot_approve_and_the_safety_officer_signs_off(
    client: Callable[[str], SignedIn], anonymous: TestClient, bearer: Bearer
) -> None:
    reviewer = client("reviewer")
    for to in ("submitted", "in-review"):
        assert reviewer.form(f"/kb/{DRAFT}/transition", {"to_status": to}).status_code == 303
    own = reviewer.form(f"/kb/{DRAFT}/transition", {"to_status": "approved"})
    assert own.status_code == 403
    assert "second person" in own.text
    assert 'id="item-status">in-review' in own.text
    officer = client("safety_officer")
    page = officer.get(f"/kb/{DRAFT}").text
    assert 'id="move-approved"' in page
    approve = {"to_status": "approved", "confirmed": "yes"}
    assert officer.form(f"/kb/{DRAFT}/transition", approve).status_code == 303
    # The approver may not also sign off; a reviewer has no sign-off button or right.
    assert 'id="move-signed-off"' not in reviewer.get(f"/kb/{DRAFT}").text
    refused = move(anonymous, bearer("safety_officer"), "signed-off")
    assert refused.status_code == 403
    assert "sign it off" in refused.json()["error"]["message"]

    # Bundled content, signed off by the safety officer: the item, the list and plans show it.
    item = "B12-DX-040"
    page = officer.get(f"/kb/{item}").text
    assert 'id="item-level">Engineering-reviewed; not clinically signed off' in page
    assert "Not clinically signed off." in page
    body = {"to_status": "signed-off", "comment": "Read against the sources."}
    signed = anonymous.post(
        f"/api/kb/recommendations/{item}/transition", json=body, headers=bearer("safety_officer")
    )
    assert signed.status_code == 200, signed.text
    doc = signed.json()
    assert (doc["status"], doc["stage"], doc["review_level"]) == (
        "approved",
        "signed-off",
        "clinically_signed_off",
    )
    page = officer.get(f"/kb/{item}").text
    assert 'id="item-level">Clinically signed off' in page
    assert "Clinically signed off by safety_officer.test" in page
    listed = officer.get("/kb?status=signed-off").text
    assert f'href="/kb/{item}"' in listed
    assert 'id="h-signed-off"' in listed


# -- search, filters and the confirmation step (issue 15) ---------------------------------------


def test_search_finds_items_by_their_words_ids_and_sources(
    client: Callable[[str], SignedIn],
) -> None:
    page = client("clinician").get("/kb?q=coeliac")
    assert page.status_code == 200
    assert f'href="/kb/{DRAFT}"' in page.text
    assert 'href="/kb/B12-SAFE-027"' not in page.text  # nitrous oxide: no coeliac in it
    by_words = client("clinician").get("/kb?q=NITROUS+oxide").text  # any case, every word
    assert 'href="/kb/B12-SAFE-027"' in by_words
    none = client("clinician").get("/kb?q=zebra+crossing").text
    assert 'id="kb-empty"' in none
    assert "zebra crossing" in none


def test_filters_narrow_by_evidence_source_and_guideline_set(
    client: Callable[[str], SignedIn], services: Services
) -> None:
    kb = services.kb()
    http = client("clinician")
    us_only = [r for r in kb.recommendations.values() if tuple(r.jurisdiction) == ("us",)]
    uk_only = [r for r in kb.recommendations.values() if tuple(r.jurisdiction) == ("uk",)]
    assert us_only
    assert uk_only
    page = http.get("/kb?guideline=us").text
    assert f'href="/kb/{us_only[0].id}"' in page
    assert f'href="/kb/{uk_only[0].id}"' not in page
    source = kb.recommendations[DRAFT].citations[0].source
    cited = http.get(f"/kb?source={source}").text
    assert f'href="/kb/{DRAFT}"' in cited
    evidence = kb.recommendations[DRAFT].evidence
    other = next(r for r in kb.recommendations.values() if r.evidence != evidence)
    narrowed = http.get(f"/kb?evidence={evidence}").text
    assert f'href="/kb/{DRAFT}"' in narrowed
    assert f'href="/kb/{other.id}"' not in narrowed


def test_an_unknown_filter_value_is_kept_and_explained(client: Callable[[str], SignedIn]) -> None:
    page = client("clinician").get("/kb?evidence=vibes&q=coeliac")
    assert page.status_code == 422
    assert "&#39;vibes&#39; is not one of the choices" in page.text
    assert '<option value="vibes" selected>' in page.text  # kept, not reset
    assert 'value="coeliac"' in page.text
    assert f'href="/kb/{DRAFT}"' in page.text  # the other filters still apply


def _to_review(client: Callable[[str], SignedIn]) -> SignedIn:
    client("clinician").form(f"/kb/{DRAFT}/transition", {"to_status": "submitted"})
    reviewer = client("reviewer")
    assert reviewer.form(f"/kb/{DRAFT}/transition", {"to_status": "in-review"}).status_code == 303
    return reviewer


def test_approval_shows_what_it_would_change_and_needs_a_confirmation(
    client: Callable[[str], SignedIn], services: Services
) -> None:
    reviewer = _to_review(client)
    item_page = reviewer.get(f"/kb/{DRAFT}").text
    assert f'action="/kb/{DRAFT}/confirm"' in item_page  # approve opens the confirmation step
    confirm = reviewer.get(f"/kb/{DRAFT}/confirm?to_status=approved")
    assert confirm.status_code == 200
    text = confirm.text
    assert "Written by <strong>clinician.test</strong>" in text
    assert "You, <strong>reviewer.test</strong>, would approve it" in text
    assert 'id="impact-summary"' in text
    assert 'id="impact-changed"' in text  # the coeliac advice appears in no-cause vignettes
    assert "COELIAC_TESTING" in text
    # Pressing confirm without ticking the box writes nothing.
    unticked = reviewer.form(f"/kb/{DRAFT}/transition", {"to_status": "approved"})
    assert unticked.status_code == 422
    assert "Tick the box to confirm" in unticked.text
    assert services.reviews.item(DRAFT).status == "in-review"
    ticked = {"to_status": "approved", "confirmed": "yes"}
    assert reviewer.form(f"/kb/{DRAFT}/transition", ticked).status_code == 303
    assert services.reviews.item(DRAFT).status == "approved"


def test_the_confirmation_step_refuses_what_the_move_would_refuse(
    client: Callable[[str], SignedIn],
) -> None:
    reviewer = client("reviewer")
    for to in ("submitted", "in-review"):
        assert reviewer.form(f"/kb/{DRAFT}/transition", {"to_status": to}).status_code == 303
    own = reviewer.get(f"/kb/{DRAFT}/confirm?to_status=approved")
    assert own.status_code == 403  # the author may not approve: no confirmation page for them
    assert "second person" in own.text
    nonsense = reviewer.get(f"/kb/{DRAFT}/confirm?to_status=retired")
    assert nonsense.status_code == 422
    assert client("nurse").get(f"/kb/{DRAFT}/confirm?to_status=approved").status_code == 403
