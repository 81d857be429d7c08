"""Alembic migrations on SQLite and PostgreSQL: from empty, round trip, no drift from tables.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from b12.adapters.sql.registry import Registry, migrations_dir
from b12.adapters.sql.tables import metadata
from b12.core.knowledge import KnowledgeBase
from tests.registry.conftest import ACTOR, NOW, TABLES, UK_PA, picture, table_counts

SCRIPTS = ScriptDirectory(migrations_dir())
HEAD = SCRIPTS.get_current_head()


@pytest.fixture
def empty(db_url: str, kb: KnowledgeBase) -> Iterator[Registry]:
    """A registry on an empty database: no migration applied yet."""
    reg = Registry(db_url, kb)
    try:
        yield reg
    finally:
        reg.engine.dispose()


def _tables(registry: Registry) -> set[str]:
    with registry.engine.connect() as conn:
        return set(inspect(conn).get_table_names())


def _revision(registry: Registry) -> str | None:
    with registry.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _enrol(registry: Registry, patient_id: str = "P-001") -> None:
    registry.add_patient(patient_id, picture(UK_PA, NOW.date()), name=None, actor=ACTOR, now=NOW)


def test_the_migrations_form_one_line_of_history() -> None:
    assert len(SCRIPTS.get_heads()) == 1
    revisions = list(SCRIPTS.walk_revisions())
    assert revisions[-1].down_revision is None
    assert HEAD is not None


def test_upgrade_from_empty_creates_every_table(empty: Registry) -> None:
    assert not set(TABLES) & _tables(empty)
    assert _revision(empty) is None

    empty.upgrade()

    assert _tables(empty) == {*TABLES, "alembic_version"}
    assert _revision(empty) == HEAD
    with empty.engine.connect() as conn:
        inspector = inspect(conn)
        for name, table in metadata.tables.items():
            columns = {c["name"]: c for c in inspector.get_columns(name)}
            assert list(columns) == [c.name for c in table.columns], name
            for column in table.columns:
                assert columns[column.name]["nullable"] == column.nullable, (name, column.name)
        indexes = {
            name: {i["name"] for i in inspector.get_indexes(name)} for name in metadata.tables
        }
    assert "ix_courses_recall" in indexes["courses"]
    assert "ix_doses_patient" in indexes["doses"]
    assert "ix_events_patient" in indexes["events"]
    assert set(table_counts(empty).values()) == {0}


def test_upgrade_twice_is_a_no_op(empty: Registry) -> None:
    empty.upgrade()
    _enrol(empty)
    before = table_counts(empty)

    empty.upgrade()

    assert table_counts(empty) == before
    assert _revision(empty) == HEAD


def test_downgrade_to_base_drops_every_table_and_upgrade_works_again(empty: Registry) -> None:
    empty.upgrade()
    _enrol(empty)

    empty.downgrade("base")

    assert not set(TABLES) & _tables(empty)
    assert _revision(empty) is None

    empty.upgrade()

    assert _tables(empty) == {*TABLES, "alembic_version"}
    assert set(table_counts(empty).values()) == {0}
    _enrol(empty)  # the re-created schema is usable
    assert table_counts(empty)["courses"] == 1


def test_every_revision_steps_down_and_up(empty: Registry) -> None:
    chain = list(reversed(list(SCRIPTS.walk_revisions())))
    for script in chain:
        empty.upgrade(script.revision)
        assert _revision(empty) == script.revision
        down = script.down_revision
        assert down is None or isinstance(down, str)
        empty.downgrade(down or "base")
        assert _revision(empty) == down
        empty.upgrade(script.revision)
        assert _revision(empty) == script.revision


def test_the_migrated_schema_matches_tables_py(empty: Registry) -> None:
    empty.upgrade()

    with empty.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        diff: list[Any] = compare_metadata(context, metadata)

    assert diff == []
