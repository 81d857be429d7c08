"""Accessibility check of a page state with axe-core (WCAG 2.2 level A and AA rules).

axe-core comes from the npm registry, pinned in ``tests/browser/axe/package-lock.json`` and
installed by ``scripts/axe``; it is injected into the page under test and run there, so what is
checked is the page as Chromium rendered it (styles, colours, focus order), not the HTML source.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

AXE_JS = Path(__file__).parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
#: Every rule axe tags as WCAG 2.0, 2.1 or 2.2, level A or AA.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]

_RUN = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags},
                                          resultTypes: ['violations']});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => ({target: n.target.join(' '), summary: n.failureSummary}))
  }));
}"""


@functools.cache
def _source() -> str:
    return AXE_JS.read_text(encoding="utf-8")


def _describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']}")
        for node in v["nodes"]:
            summary = " ".join(str(node["summary"]).split())
            lines.append(f"    at {node['target']}: {summary}")
    return "\n".join(lines)


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """The WCAG 2.2 A/AA violations axe-core finds in the page as it is now."""
    if not AXE_JS.exists():
        reason = f"{AXE_JS} is missing (run scripts/axe)"
        if os.environ.get("B12_REQUIRE_BROWSER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol: the page's Content-Security-Policy (no inline
        # scripts) stays in force for the page itself and is not weakened for the check.
        page.evaluate(_source())
    found: list[dict[str, Any]] = page.evaluate(_RUN, WCAG_TAGS)
    return found


def assert_accessible(page: Page, state: str) -> None:
    """Fail with a readable list when axe-core finds any WCAG 2.2 A/AA violation."""
    found = axe_violations(page)
    assert not found, f"axe-core: WCAG 2.2 AA violations on {state} ({page.url}):\n" + _describe(
        found
    )
