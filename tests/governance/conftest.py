"""Governance fixtures: the bundled content as parsed files, and a migrated registry database.

The database fixtures are the registry's (SQLite temp file and PostgreSQL, see
``tests/registry/conftest.py``), so PostgreSQL tests skip or fail the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime

import pytest
from sqlalchemy import Engine

from b12.adapters.knowledge_files import default_knowledge_dir, read_raw
from b12.adapters.sql.registry import Registry
from b12.core.kb_build import RawContent
from b12.core.knowledge import KnowledgeBase
from tests.registry.conftest import db_url, postgres_url

__all__ = ["db_url", "postgres_url"]

DRAFT = "B12-SAFE-027"
DRAFT_FILE = "safety/B12-SAFE-027.yaml"
NOW = datetime(2026, 6, 1, 10, 15)  # noqa: DTZ001 - the registry stores naive wall-clock times


@pytest.fixture(scope="session")
def raw() -> RawContent:
    """The bundled content files, parsed (the draft B12-SAFE-027 among them)."""
    return read_raw(default_knowledge_dir())


@pytest.fixture(scope="session")
def fixed_raw(raw: RawContent) -> RawContent:
    """The bundled files with the draft B12-SAFE-027 re-cited to a source in force.

    As bundled, B12-SAFE-027 cites the superseded NG239 draft, so approving it is (rightly)
    refused; this copy is what its author would submit once the final wording has been read.
    """
    return recite_draft(raw)


def recite_draft(raw: RawContent) -> RawContent:
    """``raw`` with B12-SAFE-027's citations pointing at the final NG239 (test data only)."""
    recs = dict(raw.recommendations)
    item = dict(recs[DRAFT_FILE])
    item["citations"] = [
        {"source": "nice-ng239-2024", "locator": "test fixture", "verification": "secondary"}
    ]
    recs[DRAFT_FILE] = item
    return replace(raw, recommendations=recs)


@pytest.fixture
def engine(db_url: str, kb: KnowledgeBase) -> Iterator[Engine]:
    """A migrated registry database on each backend (the registry's own engine)."""
    registry = Registry(db_url, kb)
    registry.upgrade()
    try:
        yield registry.engine
    finally:
        registry.engine.dispose()
