"""cases.supervised_due: the deadline whose supervision (督办) was last recorded, so the sweep finds what is newly
overdue through a partial index instead of probing case_events for every overdue case

Over 10⁶ cases with ~150,000 overdue, a sweep with nothing new to record still cost ~2 s: every overdue case
was read and its supervise event looked up. A case is now due for supervision exactly when it is open, its
deadline has passed and supervised_due differs from its deadline; the index below holds only such cases (none
in steady state). The column is part of the fold of a case's events (geo.cases.fold: the newest supervise
event's due_key), filled here from the events already stored.

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written the same way in geo/cases/sweep.py, so the planner can use the index.
UNSUPERVISED = "state NOT IN ('declined', 'closed') AND supervised_due IS DISTINCT FROM deadline_at"


def upgrade() -> None:
    op.add_column("cases", sa.Column("supervised_due", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        """UPDATE cases c SET supervised_due = s.due_key
           FROM (SELECT DISTINCT ON (case_id) case_id, due_key FROM case_events
                 WHERE step = 'supervise' ORDER BY case_id, id DESC) s
           WHERE s.case_id = c.id"""
    )
    op.create_index("ix_cases_unsupervised", "cases", ["deadline_at"], postgresql_where=sa.text(UNSUPERVISED))


def downgrade() -> None:
    op.drop_index("ix_cases_unsupervised", table_name="cases")
    op.drop_column("cases", "supervised_due")
