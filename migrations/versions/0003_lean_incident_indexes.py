"""lean incident indexes: every secondary index on incidents is paid by every write, so keep only the used ones

Measured per row on the live table (2 cores): the eight indexes cost 71 µs against 5 µs for the heap, which
held a 10⁶-row import to ~10k rows/s and a boundary move re-assigning 10,000 incidents to 1.3 s. Inserting
10⁶ staged rows (time order) into the demo's table: 37 s with the community index, 14 s without it. The
daily roll-up (0002) answers city- and county-wide counts, so the indexes leading with county_code and
category have no reader; a grid, community or town is found through the GiST index on geom, its incidents
lying inside the box of its own and its grids' polygons (geo.stats.scope). With no index on any assignment
column, a re-assignment changes no indexed column, and with free space left on each page (fillfactor 85)
PostgreSQL updates the row in place (HOT): no index entries at all for the re-assigned rows.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DROPPED = {
    "ix_incidents_grid_time": ["grid_code", "occurred_at"],
    "ix_incidents_county_cat_time": ["county_code", "category", "occurred_at"],
    "ix_incidents_cat_time": ["category", "occurred_at"],
    "ix_incidents_community_time": ["community_code", "occurred_at"],
}


def upgrade() -> None:
    for name in DROPPED:
        op.drop_index(name, table_name="incidents")
    op.execute("ALTER TABLE incidents SET (fillfactor = 85)")


def downgrade() -> None:
    op.execute("ALTER TABLE incidents RESET (fillfactor)")
    for name, columns in DROPPED.items():
        op.create_index(name, "incidents", columns, unique=False)
