"""Initial registry: patients, pictures, courses, doses, events, audit.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    """Create every table and index of the first registry schema."""
    op.create_table(
        "patients",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("display_name", sa.String(200)),
        sa.Column("date_of_birth", sa.Date),
        sa.Column("guideline", sa.String(2), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "pictures",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("patient_id", sa.String(64), sa.ForeignKey("patients.id"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("document", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("patient_id", "version", name="uq_pictures_patient_version"),
    )
    op.create_table(
        "courses",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("patient_id", sa.String(64), sa.ForeignKey("patients.id"), nullable=False),
        sa.Column("picture_id", sa.Integer, sa.ForeignKey("pictures.id"), nullable=False),
        sa.Column("guideline", sa.String(2), nullable=False),
        sa.Column("pathway", sa.String(100), nullable=False),
        sa.Column("regimen", sa.String(100)),
        sa.Column("start", sa.Date, nullable=False),
        sa.Column("content_version", sa.String(40), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("phase", sa.String(50)),
        sa.Column("next_due", sa.Date),
        sa.Column("due_earliest", sa.Date),
        sa.Column("due_latest", sa.Date),
        sa.Column("continuous", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_courses_recall", "courses", ["status", "next_due"])
    op.create_index(
        "ix_courses_urgency", "courses", ["status", "due_latest", "next_due", "patient_id"]
    )
    op.create_table(
        "doses",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("course_id", sa.Integer, sa.ForeignKey("courses.id"), nullable=False),
        sa.Column("patient_id", sa.String(64), sa.ForeignKey("patients.id"), nullable=False),
        sa.Column("date", sa.Date, nullable=False),
        sa.Column("drug", sa.String(200), nullable=False),
        sa.Column("dose_value", sa.Float, nullable=False),
        sa.Column("dose_unit", sa.String(10), nullable=False),
        sa.Column("route", sa.String(20), nullable=False),
        sa.Column("site", sa.String(40)),
        sa.Column("batch", sa.String(100)),
        sa.Column("given_by", sa.String(200)),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("idempotency_key", sa.String(200)),
        sa.Column("override_reason", sa.Text),
        sa.Column("verdict", sa.String(10), nullable=False),
        sa.Column("superseded_by", sa.Integer, sa.ForeignKey("doses.id")),
    )
    op.create_index("ix_doses_patient", "doses", ["patient_id", "date"])
    op.create_index("ux_doses_patient_key", "doses", ["patient_id", "idempotency_key"], unique=True)
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("course_id", sa.Integer, sa.ForeignKey("courses.id"), nullable=False),
        sa.Column("patient_id", sa.String(64), sa.ForeignKey("patients.id"), nullable=False),
        sa.Column("date", sa.Date, nullable=False),
        sa.Column("kind", sa.String(60), nullable=False),
        sa.Column("recorded_by", sa.String(200)),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_events_patient", "events", ["patient_id", "date"])
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("table_name", sa.String(40), nullable=False),
        sa.Column("record_id", sa.String(64), nullable=False),
        sa.Column("detail", sa.JSON),
    )


def downgrade() -> None:
    """Drop everything the upgrade created, children first."""
    op.drop_table("audit")
    op.drop_index("ix_events_patient", "events")
    op.drop_table("events")
    op.drop_index("ux_doses_patient_key", "doses")
    op.drop_index("ix_doses_patient", "doses")
    op.drop_table("doses")
    op.drop_index("ix_courses_urgency", "courses")
    op.drop_index("ix_courses_recall", "courses")
    op.drop_table("courses")
    op.drop_table("pictures")
    op.drop_table("patients")
