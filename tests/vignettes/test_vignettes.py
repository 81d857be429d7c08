"""Golden clinical vignettes: each file's ``expect`` must equal the engine's decisions exactly.

Run ``pytest tests/vignettes --update-vignettes`` to rewrite ``expect`` after a deliberate
content or engine change; the diff then goes to clinical review.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml import YAML

from b12.adapters.vignettes import load_vignette, run_vignette, summarize_result
from b12.core.knowledge import KnowledgeBase

CASES = sorted((Path(__file__).parent / "cases").glob("*.yaml"))


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_vignette_matches_expected_plan(
    path: Path, kb: KnowledgeBase, request: pytest.FixtureRequest
) -> None:
    vignette = load_vignette(path)
    actual = summarize_result(run_vignette(vignette, kb))
    if request.config.getoption("--update-vignettes"):
        yaml = YAML()
        yaml.width = 120
        yaml.indent(mapping=2, sequence=2, offset=0)
        doc = yaml.load(path.read_text(encoding="utf-8"))
        doc["expect"] = actual
        with path.open("w", encoding="utf-8") as fh:
            yaml.dump(doc, fh)
        return
    assert vignette.expect is not None, (
        f"{path.name} has no expect section: run with --update-vignettes"
    )
    assert actual == vignette.expect


def test_there_are_at_least_forty_vignettes_covering_both_guideline_sets() -> None:
    vignettes = [load_vignette(p) for p in CASES]
    assert len(vignettes) >= 40
    assert {v.guideline for v in vignettes} == {"uk", "us"}
