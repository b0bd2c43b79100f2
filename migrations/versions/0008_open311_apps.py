"""open311_apps and open311_requests: the Open311 client apps allowed to file public reports (by hashed
api_key), and who filed each public case through them (the reporter's contact is kept, never shown)

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Least privilege (as migrations 0005 and 0007; declared in tests/db/test_grants.py): the app registers apps and
# records who filed a public case, but never edits or deletes either (the demo load and tests do, as the owner).
_INSERT_ONLY = """
DO $$
DECLARE r text;
BEGIN
  FOR r IN SELECT DISTINCT grantee FROM information_schema.role_table_grants
           WHERE table_schema = 'public' AND table_name = 'open311_requests'
             AND grantee NOT IN (current_user, 'PUBLIC') LOOP
    EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON open311_apps, open311_requests FROM %I', r);
  END LOOP;
END $$
"""


def upgrade() -> None:
    op.create_table(
        "open311_apps",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False, unique=True),
        sa.Column("contact", sa.Text(), nullable=True),
        sa.Column("key_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )
    op.create_table(
        "open311_requests",
        sa.Column("case_id", sa.BigInteger(), sa.ForeignKey("cases.id"), primary_key=True),
        sa.Column("app_id", sa.Integer(), sa.ForeignKey("open311_apps.id"), nullable=False),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("name", sa.Text(), nullable=True),
    )
    op.create_index("ix_open311_requests_app_id", "open311_requests", ["app_id"])
    op.execute(_INSERT_ONLY)


def downgrade() -> None:
    op.drop_table("open311_requests")
    op.drop_table("open311_apps")
