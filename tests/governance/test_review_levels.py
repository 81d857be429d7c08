"""Every output says how far its content was reviewed, and the bundled content says the truth.

The bundled content has had engineering review only (the content team's own check against the
sources); no deployment's clinical safety officer has signed it off.  So every output computed
from it must say ``engineering_reviewed`` ("not clinically signed off"), an output that used
draft content ``unreviewed``, and only content that is all signed off ``clinically_signed_off``.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import b12.entrypoints.cli as cli
from b12.adapters.exports.pdf import plan_to_pdf
from b12.adapters.knowledge_files import default_knowledge_dir, read_raw
from b12.core.answer import answer
from b12.core.kb_build import RawContent, build_knowledge_base
from b12.core.knowledge import REVIEW_LEVEL_LABELS, KnowledgeBase, Review
from b12.core.patient_view import patient_view
from b12.core.plan import PlanOptions
from b12.core.requests import follow_up_request, order_check_request, plan_request
from tests.governance.test_content_review import PICTURE

EXAMPLES = Path(__file__).parents[2] / "examples"
ENGINEERING = "Engineering-reviewed; not clinically signed off"
SIGNED = date(2026, 6, 1)


def _example(name: str) -> Any:
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))


def _outputs(kb: KnowledgeBase) -> dict[str, Any]:
    _, plan = plan_request(_example("pernicious-anaemia-uk.json"), kb, default_as_of=SIGNED)
    return {
        "plan": plan,
        "patient view": patient_view(plan, kb),
        "order check": order_check_request(_example("order-check-uk.json"), kb),
        "follow-up": follow_up_request(_example("follow-up-uk.json"), kb),
        "answer": answer("How often are maintenance injections given?", kb),
        "no answer": answer("What dose of vitamin D should I take?", kb),
    }


def _sign_off_everything(raw: RawContent, keep: frozenset[str] = frozenset()) -> RawContent:
    """``raw`` with every approved item (except ``keep``) clinically signed off."""

    def signed(data: Any) -> Any:
        if data.get("status") != "approved" or data.get("id") in keep:
            return data
        review = {
            **data["review"],
            "level": "clinical",
            "signed_off_by": ["dr.cso"],
            "signed_off_on": SIGNED,
        }
        return {**data, "review": review}

    return replace(
        raw,
        recommendations={f: signed(d) for f, d in raw.recommendations.items()},
        regimens={f: signed(d) for f, d in raw.regimens.items()},
        content_version="sha256:signed-off",
    )


def test_bundled_items_record_their_level_and_none_claims_clinical_sign_off(
    raw: RawContent, kb: KnowledgeBase
) -> None:
    root = default_knowledge_dir()
    for folder in ("recommendations", "safety", "regimens"):
        for path in sorted((root / folder).glob("*.yaml")):
            text = path.read_text(encoding="utf-8")
            assert "\nreview:\n  level: " in text, path.name  # stated, not defaulted
    items: list[tuple[str, Review]] = [(r.status, r.review) for r in kb.recommendations.values()]
    items += [(g.status, g.review) for g in kb.regimens.values()]
    assert all(review.level != "clinical" for _, review in items)
    assert {review.level for status, review in items if status == "approved"} == {"engineering"}
    assert kb.review_floor == {"uk": "engineering_reviewed", "us": "engineering_reviewed"}


@pytest.mark.parametrize(
    "name", ["plan", "patient view", "order check", "follow-up", "answer", "no answer"]
)
def test_every_output_from_bundled_content_says_engineering_reviewed(
    kb: KnowledgeBase, name: str
) -> None:
    out = _outputs(kb)[name]
    assert out.review_status == "approved"
    assert out.review_level == "engineering_reviewed"
    assert out.review_label == ENGINEERING
    assert json.loads(out.model_dump_json())["review_level"] == "engineering_reviewed"


def test_draft_content_makes_the_output_unreviewed(kb: KnowledgeBase) -> None:
    _, plan = plan_request(PICTURE, kb, options=PlanOptions(allow_draft=True))
    assert plan.review_status == "pending_review"
    assert plan.review_level == "unreviewed"
    assert plan.review_label == REVIEW_LEVEL_LABELS["unreviewed"]


def test_signed_off_content_is_shown_as_signed_off_and_the_lowest_item_counts(
    raw: RawContent,
) -> None:
    kb = build_knowledge_base(_sign_off_everything(raw))
    for name, out in _outputs(kb).items():
        assert out.review_level == "clinically_signed_off", name
        assert out.review_label == "Clinically signed off", name
    _, plan = plan_request(_example("pernicious-anaemia-uk.json"), kb, default_as_of=SIGNED)
    assert plan.regimen is not None
    # One item the plan used is not signed off: the plan says so.
    for keep in (plan.recommendations[0].id, plan.regimen.id):
        partial = build_knowledge_base(_sign_off_everything(raw, frozenset({keep})))
        _, again = plan_request(
            _example("pernicious-anaemia-uk.json"), partial, default_as_of=SIGNED
        )
        assert again.review_level == "engineering_reviewed", keep


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_an_output_is_never_above_its_lowest_item(data: st.DataObject) -> None:
    """Property: sign off a random subset; the plan is signed off iff every used item is."""
    raw = read_raw(default_knowledge_dir())
    ids = sorted(
        d["id"]
        for d in [*raw.recommendations.values(), *raw.regimens.values()]
        if d.get("status") == "approved"
    )
    keep = frozenset(data.draw(st.sets(st.sampled_from(ids), max_size=6)))
    kb = build_knowledge_base(_sign_off_everything(raw, keep))
    _, plan = plan_request(_example("pernicious-anaemia-uk.json"), kb, default_as_of=SIGNED)
    used = {r.id for r in plan.recommendations} | ({plan.regimen.id} if plan.regimen else set())
    expected = "engineering_reviewed" if used & keep else "clinically_signed_off"
    assert plan.review_level == expected


def test_the_report_pdf_and_json_show_the_level(
    kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "load_knowledge_base", lambda path=None: kb)
    runner = CliRunner()
    example = str(EXAMPLES / "pernicious-anaemia-uk.json")
    report = runner.invoke(cli.app, ["plan", example, "--as-of", "2026-06-01"])
    assert report.exit_code == 0, report.output
    assert f"Review level: {ENGINEERING}" in " ".join(report.output.split())
    as_json = runner.invoke(cli.app, ["plan", example, "--as-of", "2026-06-01", "--json"])
    doc = json.loads(as_json.output)
    assert (doc["review_status"], doc["review_level"], doc["review_label"]) == (
        "approved",
        "engineering_reviewed",
        ENGINEERING,
    )
    for args in (
        ["check", str(EXAMPLES / "order-check-uk.json")],
        ["next", str(EXAMPLES / "follow-up-uk.json")],
        ["ask", "How often are maintenance injections given?"],
    ):
        out = runner.invoke(cli.app, args)
        assert out.exit_code == 0, out.output
        assert "Review level: Engineering-reviewed; not clinically signed off" in " ".join(
            out.output.split()
        ), args
    _, plan = plan_request(_example("pernicious-anaemia-uk.json"), kb, default_as_of=SIGNED)
    assert b"%PDF-" in plan_to_pdf(plan, patient_view(plan, kb))[:8]
