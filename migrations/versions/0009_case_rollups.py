"""case roll-ups for the measures: per local report day, counts of cases by the keys the measures filter on,
and of step times by value bucket, once per county and once for the whole city; kept by statement triggers

City- and county-wide measures over a year of 10⁶ cases and ~5·10⁶ events cost 4–6 s (a scan of every case
and a sort of every step time). The totals now read case_daily_counts (days × categories × states … rows);
the median time per step stays exact: case_step_counts says which value bucket holds the middle rank, and
case_events (now carrying its case's report day and county, filled by a row trigger) gives the exact values
at that rank from the index on (step, elapsed_s). As migration 0002: statement triggers with transition tables,
run as the writer, keys upserted in sorted order; a case's report time and place are fixed when it is reported.

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CITY = "610300"
_DAY = "(reported_at AT TIME ZONE 'Asia/Shanghai')::date"


def _bounds() -> list[int]:
    """Lower bounds of the step-time buckets (seconds): one per second up to 200 s, then 0.5 % wide."""
    out = [0]
    while out[-1] < 2**31 - 1:
        out.append(min(2**31 - 1, max(out[-1] + 1, -(-out[-1] * 1005 // 1000))))
    return out


# width_bucket over sorted integer bounds: exact, so bucket(x) < b exactly when x < case_bucket_floor(b).
FUNCTIONS = f"""
CREATE FUNCTION case_bucket_bounds() RETURNS int[] LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT '{{{",".join(map(str, _bounds()))}}}'::int[] $$;
CREATE FUNCTION case_bucket(elapsed_s int) RETURNS int LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT width_bucket(elapsed_s, case_bucket_bounds()) $$;
CREATE FUNCTION case_bucket_floor(bucket int) RETURNS int LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT CASE WHEN bucket > 0 THEN (case_bucket_bounds())[bucket] END $$;
CREATE FUNCTION case_events_place() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.reported_on IS NULL THEN
        SELECT {_DAY}, county_code INTO NEW.reported_on, NEW.county_code FROM cases WHERE id = NEW.case_id;
    END IF;
    RETURN NEW;
END
$$;
"""
_AREAS = f"CROSS JOIN LATERAL (VALUES ('{CITY}'), (county_code)) a(area_code) WHERE a.area_code IS NOT NULL"
_CASE_KEY = (
    "category, state, coalesce(closed_level, '') AS closed_level, late_steps > 0 AS late, "
    "rework_count > 0 AS reworked, handler_code IS NOT NULL AS handled"
)
_CASE_COLS = "day, area_code, category, state, closed_level, late, reworked, handled"
_STEP_COLS = "day, area_code, step, bucket"


def _apply(table: str, cols: str, rows: str) -> str:
    n = len(cols.split(", "))
    keys = ", ".join(str(i) for i in range(1, n + 1))
    return f"""
    INSERT INTO {table} AS d ({cols}, n)
    SELECT {cols}, sum(delta) FROM ({rows}) x
    GROUP BY {keys} HAVING sum(delta) <> 0 ORDER BY {keys}
    ON CONFLICT ({cols}) DO UPDATE SET n = d.n + EXCLUDED.n;"""


def _trigger_fn(name: str, table: str, cols: str, new: str, old: str) -> str:
    return f"""
CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN {_apply(table, cols, new)}
    ELSIF TG_OP = 'DELETE' THEN {_apply(table, cols, old)}
    ELSE {_apply(table, cols, new + " UNION ALL " + old)}
    END IF;
    RETURN NULL;
END
$$;
CREATE FUNCTION {name}_clear() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM {table};
    RETURN NULL;
END
$$;"""


def _case_rows(src: str, delta: int) -> str:
    return f"SELECT {_DAY} AS day, a.area_code, {_CASE_KEY}, {delta} AS delta FROM {src} {_AREAS}"


def _step_rows(src: str, delta: int) -> str:
    return (
        f"SELECT reported_on AS day, a.area_code, step, case_bucket(elapsed_s) AS bucket, {delta} AS delta "
        f"FROM {src} {_AREAS} AND elapsed_s IS NOT NULL AND reported_on IS NOT NULL"
    )


TRIGGER_FNS = _trigger_fn(
    "case_daily_counts_apply",
    "case_daily_counts",
    _CASE_COLS,
    _case_rows("new_rows", 1),
    _case_rows("old_rows", -1),
) + _trigger_fn(
    "case_step_counts_apply", "case_step_counts", _STEP_COLS, _step_rows("new_rows", 1), _step_rows("old_rows", -1)
)


def _triggers(table: str, fn: str) -> list[str]:
    return [
        f"CREATE TRIGGER {fn}_insert AFTER INSERT ON {table} REFERENCING NEW TABLE AS new_rows "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {fn}()",
        f"CREATE TRIGGER {fn}_update AFTER UPDATE ON {table} REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {fn}()",
        f"CREATE TRIGGER {fn}_delete AFTER DELETE ON {table} REFERENCING OLD TABLE AS old_rows "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {fn}()",
        f"CREATE TRIGGER {fn}_truncate AFTER TRUNCATE ON {table} FOR EACH STATEMENT EXECUTE FUNCTION {fn}_clear()",
    ]


def upgrade() -> None:
    op.add_column("case_events", sa.Column("reported_on", sa.Date(), nullable=True))
    op.add_column("case_events", sa.Column("county_code", sa.String(length=6), nullable=True))
    op.execute("SET LOCAL statement_timeout = 0")
    op.execute(
        "UPDATE case_events e SET reported_on = (c.reported_at AT TIME ZONE 'Asia/Shanghai')::date, "
        "county_code = c.county_code FROM cases c WHERE c.id = e.case_id"
    )
    op.create_table(
        "case_daily_counts",
        sa.Column("area_code", sa.String(length=6), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("closed_level", sa.String(length=12), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("reworked", sa.Boolean(), nullable=False),
        sa.Column("handled", sa.Boolean(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "area_code", "day", "category", "state", "closed_level", "late", "reworked", "handled"
        ),
    )
    op.create_table(
        "case_step_counts",
        sa.Column("area_code", sa.String(length=6), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("step", sa.String(length=24), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("area_code", "day", "step", "bucket"),
    )
    op.execute(FUNCTIONS)
    op.execute(TRIGGER_FNS)
    op.execute(
        f"INSERT INTO case_daily_counts ({_CASE_COLS}, n) SELECT {_CASE_COLS}, sum(delta) "
        f"FROM ({_case_rows('cases', 1)}) x GROUP BY {_CASE_COLS}"
    )
    op.execute(
        f"INSERT INTO case_step_counts ({_STEP_COLS}, n) SELECT {_STEP_COLS}, sum(delta) "
        f"FROM ({_step_rows('case_events', 1)}) x GROUP BY {_STEP_COLS}"
    )
    op.execute(
        "CREATE TRIGGER case_events_place BEFORE INSERT ON case_events FOR EACH ROW EXECUTE FUNCTION case_events_place()"
    )
    for t in _triggers("cases", "case_daily_counts_apply") + _triggers("case_events", "case_step_counts_apply"):
        op.execute(t)
    op.create_index(
        "ix_case_events_step_elapsed",
        "case_events",
        ["step", "elapsed_s"],
        postgresql_include=["reported_on", "county_code"],
        postgresql_where=sa.text("elapsed_s IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_case_events_step_elapsed", table_name="case_events")
    op.execute("DROP TRIGGER IF EXISTS case_events_place ON case_events")
    for table, fn in (("cases", "case_daily_counts_apply"), ("case_events", "case_step_counts_apply")):
        for name in ("insert", "update", "delete", "truncate"):
            op.execute(f"DROP TRIGGER IF EXISTS {fn}_{name} ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {fn}()")
        op.execute(f"DROP FUNCTION IF EXISTS {fn}_clear()")
    for fn in ("case_events_place()", "case_bucket_floor(int)", "case_bucket(int)", "case_bucket_bounds()"):
        op.execute(f"DROP FUNCTION IF EXISTS {fn}")
    op.drop_table("case_step_counts")
    op.drop_table("case_daily_counts")
    op.drop_column("case_events", "county_code")
    op.drop_column("case_events", "reported_on")
