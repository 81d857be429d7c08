"""The recall index covers the recall list: ``ix_courses_urgency`` INCLUDEs what a row shows.

On PostgreSQL the index keeps its key ``(status, due_latest, next_due, patient_id)`` and now
also carries ``due_earliest, pathway, regimen, phase`` (``INCLUDE``), so the recall list, its
pages and its streamed CSV export read courses in urgency order with an index-only scan: no
visit to the course rows in their (random) heap order, which cost most of the time of a
million-course export.  The index is rebuilt in the migration's transaction (about 2 s for a
million courses; writes to ``courses`` wait meanwhile).  SQLite has no ``INCLUDE``: nothing
changes there.

Revision ID: 0009
Revises: 0008
"""

from alembic import op

revision = "0009"
down_revision = "0008"

KEY = ["status", "due_latest", "next_due", "patient_id"]
INCLUDED = ["due_earliest", "pathway", "regimen", "phase"]


def upgrade() -> None:
    """Rebuild ``ix_courses_urgency`` with the recall row's other columns included."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_courses_urgency", "courses")
    op.create_index("ix_courses_urgency", "courses", KEY, postgresql_include=INCLUDED)


def downgrade() -> None:
    """Back to the key columns alone."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_courses_urgency", "courses")
    op.create_index("ix_courses_urgency", "courses", KEY)
