"""cases: an incident with a life; append-only case_events; time limits admins edit; photos

A case row holds the current state, holding unit, deadline and version; every step appends one case_events
row in the same transaction (version-checked), so the two cannot disagree. The app role may only INSERT and
SELECT case_events: a step is never edited or deleted. Photos are kept in the database (bytea) so that a
backup holds them. case_time_limits is seeded from Feng county's quick-handling rule (2018).

Revision ID: 0007
Revises: 0005
"""

from collections.abc import Sequence

import geoalchemy2
import sqlalchemy as sa
from alembic import op

from geo.cases import vocab as cv
from geo.vocab import INCIDENT_CATEGORIES, check_sql

revision: str = "0007"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The roles the owner granted table rights to: the app role(s), whatever their names in this deployment.
_APP_ROLES = """
    SELECT DISTINCT grantee FROM information_schema.role_table_grants
    WHERE table_schema = 'public' AND table_name = 'case_events' AND grantee NOT IN (current_user, 'PUBLIC')
"""
# Least privilege (as migration 0005): the app never deletes a case, a limit or a photo (the demo load and
# tests do, as the owner), never edits a step or a photo; it updates a case's state and upserts limits.
_APPEND_ONLY = f"""
DO $$
DECLARE r text;
BEGIN
  FOR r IN {_APP_ROLES} LOOP
    EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON case_events, case_photos FROM %I', r);
    EXECUTE format('REVOKE DELETE, TRUNCATE ON cases, case_time_limits FROM %I', r);
  END LOOP;
END $$
"""
# Feng county (凤县) 2018: on the spot the same day; otherwise 2–3 working days; key or difficult problems 7,
# at most 15 with the county grid office's consent. Filing, dispatching and verifying: one working day.
SEED = [
    ("*", "normal", "file", 1, None),
    ("*", "normal", "dispatch", 1, None),
    ("*", "normal", "handle", 3, 3),
    ("*", "normal", "verify", 1, None),
    ("*", "normal", "spot", 0, None),
    ("*", "key", "file", 1, None),
    ("*", "key", "dispatch", 1, None),
    ("*", "key", "handle", 7, 15),
    ("*", "key", "verify", 1, None),
    ("*", "key", "spot", 0, None),
]


def _unit(prefix: str, nullable: bool = True) -> list[sa.Column]:
    return [
        sa.Column(f"{prefix}_kind", sa.String(12), nullable=nullable),
        sa.Column(f"{prefix}_code", sa.String(15), nullable=nullable),
        sa.Column(f"{prefix}_department", sa.String(32), nullable=True),
    ]


def upgrade() -> None:
    ts = sa.DateTime(timezone=True)
    op.create_table(
        "cases",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("incident_id", sa.BigInteger(), sa.ForeignKey("incidents.id"), nullable=False, unique=True),
        sa.Column("reporter", sa.Text(), nullable=False),
        sa.Column("idempotency_key", sa.Text(collation="C"), nullable=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("priority", sa.String(8), nullable=False, server_default="normal"),
        sa.Column("state", sa.String(24), nullable=False),
        *_unit("unit", nullable=False),
        sa.Column("dispatch_code", sa.String(15), nullable=True),
        *_unit("handler"),
        sa.Column("grid_code", sa.String(15), nullable=True),
        sa.Column("community_code", sa.String(12), nullable=True),
        sa.Column("town_code", sa.String(9), nullable=True),
        sa.Column("county_code", sa.String(6), nullable=True),
        sa.Column("reported_at", ts, nullable=False),
        sa.Column("step_started_at", ts, nullable=False),
        sa.Column("deadline_at", ts, nullable=True),
        sa.Column("parked_until", sa.Date(), nullable=True),
        sa.Column("rework_count", sa.SmallInteger(), nullable=False, server_default="0"),
        sa.Column("late_steps", sa.SmallInteger(), nullable=False, server_default="0"),
        sa.Column("closed_at", ts, nullable=True),
        sa.Column("closed_level", sa.String(12), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("updated_at", ts, nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint(check_sql("state", cv.STATES), name="ck_cases_state"),
        sa.CheckConstraint(check_sql("channel", cv.CHANNELS), name="ck_cases_channel"),
        sa.CheckConstraint(check_sql("priority", cv.PRIORITIES), name="ck_cases_priority"),
        sa.CheckConstraint(check_sql("unit_kind", cv.UNIT_KINDS), name="ck_cases_unit_kind"),
        sa.CheckConstraint(check_sql("category", INCIDENT_CATEGORIES), name="ck_cases_category"),
        sa.UniqueConstraint("reporter", "idempotency_key", name="uq_cases_reporter_key"),
    )
    op.create_index("ix_cases_unit_code", "cases", ["unit_code"])
    op.create_index("ix_cases_county_reported", "cases", ["county_code", "reported_at"])
    op.create_index(
        "ix_cases_open_deadline",
        "cases",
        ["deadline_at"],
        postgresql_where=sa.text("state NOT IN ('declined', 'closed')"),
    )
    op.create_table(
        "case_events",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("case_id", sa.BigInteger(), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("step", sa.String(24), nullable=False),
        sa.Column("at", ts, nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        *_unit("from_unit"),
        *_unit("to_unit"),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("days", sa.SmallInteger(), nullable=True),
        sa.Column("review_on", sa.Date(), nullable=True),
        sa.Column("deadline_at", ts, nullable=True),
        sa.Column("due_key", ts, nullable=True),
        sa.Column("elapsed_s", sa.Integer(), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=False, server_default="false"),
        sa.Column(
            "geom",
            geoalchemy2.Geometry(geometry_type="POINT", srid=4326, spatial_index=False),
            nullable=True,
        ),
    )
    op.create_index("ix_case_events_case", "case_events", ["case_id", "id"])
    op.create_index("ix_case_events_at", "case_events", ["at"])
    op.create_index("idx_case_events_geom", "case_events", ["geom"], postgresql_using="gist")
    op.create_index(
        "uq_case_events_due",
        "case_events",
        ["case_id", "step", "due_key"],
        unique=True,
        postgresql_where=sa.text("due_key IS NOT NULL"),
    )
    limits = op.create_table(
        "case_time_limits",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("priority", sa.String(8), nullable=False),
        sa.Column("step", sa.String(16), nullable=False),
        sa.Column("working_days", sa.SmallInteger(), nullable=False),
        sa.Column("max_working_days", sa.SmallInteger(), nullable=True),
        sa.Column("updated_by", sa.Text(), nullable=True),
        sa.Column("updated_at", ts, nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("working_days >= 0 AND working_days <= 60", name="ck_case_time_limits_days"),
        sa.UniqueConstraint("category", "priority", "step", name="uq_case_time_limits"),
    )
    op.bulk_insert(
        limits,
        [
            {"category": c, "priority": p, "step": s, "working_days": d, "max_working_days": m}
            for c, p, s, d, m in SEED
        ],
    )
    op.create_table(
        "case_photos",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("case_id", sa.BigInteger(), sa.ForeignKey("cases.id"), nullable=False, index=True),
        sa.Column("content_type", sa.String(16), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by", sa.Text(), nullable=False),
        sa.Column("uploaded_at", ts, nullable=False, server_default=sa.func.now()),
    )
    op.execute(_APPEND_ONLY)


def downgrade() -> None:
    op.drop_table("case_photos")
    op.drop_table("case_time_limits")
    op.drop_table("case_events")
    op.drop_table("cases")
