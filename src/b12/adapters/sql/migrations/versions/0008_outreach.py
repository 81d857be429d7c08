"""A practice's register brought in (identifiers, contact, last review) and recall outreach.

Revision ID: 0008
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0006"


def upgrade() -> None:
    """Create ``register_entries`` and ``outreach``."""
    op.create_table(
        "register_entries",
        sa.Column(
            "patient_id",
            sa.String(64),
            sa.ForeignKey("patients.id", name="fk_register_entries_patient_id_patients"),
            primary_key=True,
        ),
        sa.Column("nhs_number", sa.String(10)),
        sa.Column("mrn", sa.String(40)),
        sa.Column("contact", sa.String(200)),
        sa.Column("last_review", sa.Date()),
        sa.Column("fingerprint", sa.String(80), nullable=False),
        sa.Column("imported_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("nhs_number", name="uq_register_entries_nhs_number"),
    )
    op.create_table(
        "outreach",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "patient_id",
            sa.String(64),
            sa.ForeignKey("patients.id", name="fk_outreach_patient_id_patients"),
            nullable=False,
        ),
        sa.Column("due_date", sa.Date()),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("note", sa.Text()),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_outreach_patient", "outreach", ["patient_id", "id"])


def downgrade() -> None:
    """Drop the 0008 tables."""
    op.drop_index("ix_outreach_patient", "outreach")
    op.drop_table("outreach")
    op.drop_table("register_entries")
