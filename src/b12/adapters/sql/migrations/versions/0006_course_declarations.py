"""Declared courses: what is known of a course that began before the doses on record.

A course row keeps the declaration made at enrolment (``{"stage", "since", "every_months"?}``,
see ``CourseDeclaration`` in ``b12 schema``) so that the follow-up, the order check of each dose
recorded and the stored due window read the same course.  NULL: nothing declared (the phase is
counted from the first recorded dose or inferred from the spacing of the doses).

Revision ID: 0006
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    """Add ``courses.declaration``."""
    with op.batch_alter_table("courses") as batch:
        batch.add_column(sa.Column("declaration", sa.JSON, nullable=True))


def downgrade() -> None:
    """Drop ``courses.declaration``."""
    with op.batch_alter_table("courses") as batch:
        batch.drop_column("declaration")
