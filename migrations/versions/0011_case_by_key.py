"""case_by_key(reporter, key): a retried report's case, looked up after waiting for the key's lock, in one call

A report with an Idempotency-Key took two statements before anything else: the transaction-level advisory
lock on the key, then the lookup. They cannot be one SQL statement: a statement's snapshot is taken before
the lock is granted, so a retry that waited for the first request would not see the case it committed. Inside
a VOLATILE PL/pgSQL function each statement takes a fresh snapshot, so the lookup after the lock sees it, and
the two cost one round trip (issue 17: CPU per report).

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
CREATE FUNCTION case_by_key(p_reporter text, p_key text) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    found bigint;
BEGIN
    -- The lock key: the reporter's length and name, then the key, so ("ab", "c") and ("a", "bc") differ.
    PERFORM pg_advisory_xact_lock(hashtextextended(length(p_reporter) || ':' || p_reporter || p_key, 17));
    SELECT id INTO found FROM public.cases WHERE reporter = p_reporter AND idempotency_key = p_key;
    RETURN found;
END $$
"""
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION case_by_key(text, text)")
