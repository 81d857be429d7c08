"""Course integrity: at most one active course per patient (a partial unique index).

Before the index is created, a patient left with several active courses by concurrent updates
(possible on PostgreSQL before the patient row was locked) keeps only the newest active; the
older ones become ``superseded``, as an update would have left them.

Revision ID: 0005
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0003"

ACTIVE = sa.text("status = 'active'")


def upgrade() -> None:
    """Supersede the older of duplicate active courses; create ``ux_courses_one_active``."""
    op.execute(
        "UPDATE courses SET status = 'superseded' WHERE status = 'active' AND id NOT IN "
        "(SELECT MAX(id) FROM courses WHERE status = 'active' GROUP BY patient_id)"
    )
    op.create_index(
        "ux_courses_one_active",
        "courses",
        ["patient_id"],
        unique=True,
        postgresql_where=ACTIVE,
        sqlite_where=ACTIVE,
    )


def downgrade() -> None:
    """Drop the index (the superseded courses stay superseded)."""
    op.drop_index("ux_courses_one_active", "courses")
