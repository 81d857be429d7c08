"""The registry's tables (SQLAlchemy Core).  Migrations in ``migrations/`` create them.

Nothing is updated in place except each course's cached next-due window (kept in the same
transaction as the write that changes it) and ``superseded_by`` links: corrections are new rows.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

patients = Table(
    "patients",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("display_name", String(200)),
    Column("date_of_birth", Date),
    Column("guideline", String(2), nullable=False),
    Column("created_at", DateTime(timezone=False), nullable=False),
)

pictures = Table(
    "pictures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("patient_id", String(64), ForeignKey("patients.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("document", JSON, nullable=False),
    Column("created_at", DateTime(timezone=False), nullable=False),
    UniqueConstraint("patient_id", "version", name="uq_pictures_patient_version"),
)

courses = Table(
    "courses",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("patient_id", String(64), ForeignKey("patients.id"), nullable=False),
    Column("picture_id", Integer, ForeignKey("pictures.id"), nullable=False),
    Column("guideline", String(2), nullable=False),
    Column("pathway", String(100), nullable=False),
    Column("regimen", String(100)),
    Column("start", Date, nullable=False),
    Column("content_version", String(40), nullable=False),
    Column("status", String(20), nullable=False),
    Column("phase", String(50)),
    Column("next_due", Date),
    Column("due_earliest", Date),
    Column("due_latest", Date),
    Column("continuous", Integer, nullable=False, default=0),
    Column("created_at", DateTime(timezone=False), nullable=False),
    # A declared course (stage, since, every_months), or NULL; migration 0006.
    Column("declaration", JSON),
)
Index("ix_courses_recall", courses.c.status, courses.c.next_due)
# 0005: at most one active course per patient.
Index(
    "ux_courses_one_active",
    courses.c.patient_id,
    unique=True,
    postgresql_where=text("status = 'active'"),
    sqlite_where=text("status = 'active'"),
)
Index(  # covering on PostgreSQL (migration 0009): the recall list reads it alone
    "ix_courses_urgency",
    courses.c.status,
    courses.c.due_latest,
    courses.c.next_due,
    courses.c.patient_id,
    postgresql_include=["due_earliest", "pathway", "regimen", "phase"],
)

doses = Table(
    "doses",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("course_id", Integer, ForeignKey("courses.id"), nullable=False),
    Column("patient_id", String(64), ForeignKey("patients.id"), nullable=False),
    Column("date", Date, nullable=False),
    Column("drug", String(200), nullable=False),
    Column("dose_value", Float, nullable=False),
    Column("dose_unit", String(10), nullable=False),
    Column("route", String(20), nullable=False),
    Column("site", String(40)),
    Column("batch", String(100)),
    Column("given_by", String(200)),
    Column("recorded_at", DateTime(timezone=False), nullable=False),
    Column("idempotency_key", String(200)),
    Column("override_reason", Text),
    Column("verdict", String(10), nullable=False),
    Column("superseded_by", Integer, ForeignKey("doses.id")),
)
Index("ix_doses_patient", doses.c.patient_id, doses.c.date)
Index("ux_doses_patient_key", doses.c.patient_id, doses.c.idempotency_key, unique=True)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("course_id", Integer, ForeignKey("courses.id"), nullable=False),
    Column("patient_id", String(64), ForeignKey("patients.id"), nullable=False),
    Column("date", Date, nullable=False),
    Column("kind", String(60), nullable=False),
    Column("recorded_by", String(200)),
    Column("recorded_at", DateTime(timezone=False), nullable=False),
)
Index("ix_events_patient", events.c.patient_id, events.c.date)

audit = Table(
    "audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=False), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(60), nullable=False),
    Column("table_name", String(40), nullable=False),
    Column("record_id", String(64), nullable=False),
    Column("detail", JSON),
)

# -- 0002: accounts, sessions, API tokens, login throttling, content review ---------------------

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("disabled", Integer, nullable=False, server_default="0"),
    Column("created_at", DateTime(timezone=False), nullable=False),
)

# Server-side sessions: the cookie holds a random token; only its SHA-256 is stored.
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", DateTime(timezone=False), nullable=False),
    Column("expires_at", DateTime(timezone=False), nullable=False),
)
Index("ix_web_sessions_expires", web_sessions.c.expires_at)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("label", String(200)),
    Column("created_at", DateTime(timezone=False), nullable=False),
    Column("revoked_at", DateTime(timezone=False)),
)

# Failed logins per key (a username or a client address) within a fixed window.
login_attempts = Table(
    "login_attempts",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("window_start", DateTime(timezone=False), nullable=False),
    Column("failures", Integer, nullable=False),
)

# Review workflow: each row moves one knowledge-base item to a new status.  The newest row for
# an item applies only while the item's file still has the fingerprint it had when reviewed.
content_reviews = Table(
    "content_reviews",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("item_id", String(40), nullable=False),
    Column("item_fingerprint", String(80), nullable=False),
    Column("from_status", String(20), nullable=False),
    Column("to_status", String(20), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("at", DateTime(timezone=False), nullable=False),
    Column("comment", Text),
)
Index("ix_content_reviews_item", content_reviews.c.item_id, content_reviews.c.id)

# -- 0003: CDS Hooks: JWT replay cache and card feedback ----------------------------------------

# A ``jti`` seen from an issuer is kept until its token expires; a second use is refused.
cds_jti = Table(
    "cds_jti",
    metadata,
    Column("issuer", String(300), primary_key=True),
    Column("jti", String(200), primary_key=True),
    Column("expires_at", DateTime(timezone=False), nullable=False),
)
Index("ix_cds_jti_expires", cds_jti.c.expires_at)

cds_feedback = Table(
    "cds_feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("service_id", String(100), nullable=False),
    Column("card_uuid", String(100), nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("accepted_suggestions", JSON),
    Column("override_reason", JSON),
    Column("outcome_timestamp", DateTime(timezone=False), nullable=False),
    Column("issuer", String(300), nullable=False),
    Column("received_at", DateTime(timezone=False), nullable=False),
)
Index("ix_cds_feedback_card", cds_feedback.c.card_uuid)

# -- 0008: a practice's register brought in, and recall outreach (issue 13) ----------------------

# One row per patient brought in from a register file: identifiers and contact kept apart from
# the pseudonymous ``patients`` row, the date of the last review, and the imported row's digest
# (re-importing the same row changes nothing).
register_entries = Table(
    "register_entries",
    metadata,
    Column("patient_id", String(64), ForeignKey("patients.id"), primary_key=True),
    Column("nhs_number", String(10), unique=True),
    Column("mrn", String(40)),
    Column("contact", String(200)),
    Column("last_review", Date),
    Column("fingerprint", String(80), nullable=False),
    Column("imported_at", DateTime(timezone=False), nullable=False),
)

# Each mark on a recall row (invited, contacted, booked, declined): who, when, for which due date.
outreach = Table(
    "outreach",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("patient_id", String(64), ForeignKey("patients.id"), nullable=False),
    Column("due_date", Date),
    Column("status", String(20), nullable=False),
    Column("note", Text),
    Column("actor", String(200), nullable=False),
    Column("at", DateTime(timezone=False), nullable=False),
)
Index("ix_outreach_patient", outreach.c.patient_id, outreach.c.id)

# -- 0010 (result drafts): saved inputs of a result page (issue 15) --------------------------------

# A plan, order check or follow-up made in the web app is saved as the inputs that made it (the
# engine's request document, with its as_of fixed) and the form as typed, under an unguessable
# id; its result page is a GET that recomputes from them (POST -> 303 -> GET).  The output is not
# stored.  ``patient_id`` is set when the form was pre-filled from that patient's record.
result_drafts = Table(
    "result_drafts",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("kind", String(10), nullable=False),
    Column("request", JSON, nullable=False),
    Column("form", JSON, nullable=False),
    Column("as_of", Date, nullable=False),
    Column("allow_draft", Integer, nullable=False, server_default="0"),
    Column("patient_id", String(64), ForeignKey("patients.id")),
    Column("created_by", String(200), nullable=False),
    Column("created_at", DateTime(timezone=False), nullable=False),
)
