"""Shared fixtures: the bundled knowledge base (loaded once), builders, Hypothesis profiles."""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from b12.adapters.knowledge_files import load_knowledge_base
from b12.core.knowledge import KnowledgeBase

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    max_examples=300,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=100)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-vignettes",
        action="store_true",
        default=False,
        help="Rewrite each vignette expect section from the engine output (review the diff!).",
    )


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return load_knowledge_base()


def make_picture(**overrides: Any) -> dict[str, Any]:
    """A valid ClinicalPicture document (confirmed deficiency, UK) with overrides."""
    base: dict[str, Any] = {
        "age": 60,
        "sex": "female",
        "deficiency": "confirmed",
        "as_of": "2026-03-02",
    }
    base.update(overrides)
    return base
