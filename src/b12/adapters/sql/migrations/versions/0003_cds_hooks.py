"""CDS Hooks: the JWT replay cache and card feedback.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    """Create ``cds_jti`` and ``cds_feedback``."""
    op.create_table(
        "cds_jti",
        sa.Column("issuer", sa.String(300), primary_key=True),
        sa.Column("jti", sa.String(200), primary_key=True),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_cds_jti_expires", "cds_jti", ["expires_at"])
    op.create_table(
        "cds_feedback",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("service_id", sa.String(100), nullable=False),
        sa.Column("card_uuid", sa.String(100), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("accepted_suggestions", sa.JSON),
        sa.Column("override_reason", sa.JSON),
        sa.Column("outcome_timestamp", sa.DateTime(), nullable=False),
        sa.Column("issuer", sa.String(300), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_cds_feedback_card", "cds_feedback", ["card_uuid"])


def downgrade() -> None:
    """Drop the 0003 tables."""
    op.drop_index("ix_cds_feedback_card", "cds_feedback")
    op.drop_table("cds_feedback")
    op.drop_index("ix_cds_jti_expires", "cds_jti")
    op.drop_table("cds_jti")
