"""Large batches through a staging table: COPY the in-memory assignment in, then the shared upsert.

Used when some external ids are stored already (the upsert updates them), and for dry runs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.assignment.memory_rule import Assigned
from geo.incidents.checks import IncidentRows
from geo.incidents.model import Progress
from geo.incidents.upsert import insert_params, insert_sql
from geo.incidents.write_copy import GAP_LEVELS, PG_TYPES, copy_payload, optional_column
from geo.pg import pgcopy
from geo.pg.textcols import missing


def _copy_columns(
    rows: IncidentRows, optional: list[str], hits: Assigned, order: NDArray[np.int64]
) -> list[pgcopy.Column]:
    grid, compound = hits.grid[order], hits.compound_id[order]
    columns = [
        pgcopy.fixed(rows.index[order], "int4"),
        pgcopy.point_ewkb(rows.lon[order], rows.lat[order]),
        pgcopy.fixed(rows.category[order], "int2"),
        pgcopy.fixed(rows.occurred_at[order], "timestamptz"),
        pgcopy.fixed(grid, "int4", grid < 0),
        pgcopy.fixed(compound, "int4", compound < 0),
    ]
    columns += [optional_column(rows.optional[name][order], PG_TYPES[name]) for name in optional]
    return columns


STAGED_ROWS = """
    SELECT s.*, t.code, t.community_code, t.town_code, t.county_code,
           ARRAY[gp.community_code, gp.town_code, gp.county_code] AS gap
    FROM incident_staging s
    LEFT JOIN incident_grid_rows t ON t.idx = s.grid
    LEFT JOIN incident_gap_rows gp ON gp.idx = s.idx
"""
TEMP_TABLES = ("incident_staging", "incident_grid_rows", "incident_gap_rows")


def stage(
    session: Session,
    rows: IncidentRows,
    optional: list[str],
    hits: Assigned,
    order: NDArray[np.int64],
    progress: Progress | None,
) -> None:
    """COPY the assigned rows, in time order, into the temp table incident_staging.

    Time order, because the insert then touches the time-keyed index's pages in sequence and lays the
    heap out by time (the order statistics read it in). incident_grid_rows maps a row's grid number to
    the grid's code and admin tree; incident_gap_rows holds the admin tree of the rows in no grid (few).
    """
    if progress:
        progress("encode", 0, len(rows))
    payload = pgcopy.build(_copy_columns(rows, optional, hits, order))
    if progress:
        progress("encode", len(rows), len(rows))
    ddl = "".join(f", {n} {PG_TYPES[n]}" for n in optional)
    for table in TEMP_TABLES:
        session.execute(text(f"DROP TABLE IF EXISTS {table}"))
    session.execute(
        text(
            "CREATE TEMP TABLE incident_staging (idx int4, geom geometry(Point, 4326), category int2, "
            f"occurred_at timestamptz, grid int4, compound int4{ddl}) ON COMMIT DROP"
        )
    )
    outside = np.flatnonzero(hits.grid < 0)
    session.execute(
        text(
            "CREATE TEMP TABLE incident_gap_rows ON COMMIT DROP AS SELECT * FROM unnest(CAST(:idx AS int4[]), "
            "CAST(:c AS text[]), CAST(:t AS text[]), CAST(:k AS text[])) AS u(idx, community_code, town_code, county_code)"
        ),
        {
            "idx": rows.index[outside].tolist(),
            **{key: hits.gap[level][outside].tolist() for key, level in zip("ctk", GAP_LEVELS, strict=True)},
        },
    )
    session.execute(
        text(
            "CREATE TEMP TABLE incident_grid_rows ON COMMIT DROP AS "
            "SELECT (n - 1)::int4 AS idx, code, community_code, town_code, county_code "
            "FROM unnest(CAST(:codes AS text[]), CAST(:communities AS text[]), CAST(:towns AS text[]), "
            "CAST(:counties AS text[])) WITH ORDINALITY AS u(code, community_code, town_code, county_code, n)"
        ),
        {
            f"{key}": [g[i] for g in hits.grids]
            for i, key in enumerate(("codes", "communities", "towns", "counties"))
        },
    )
    names = ["idx", "geom", "category", "occurred_at", "grid", "compound", *optional]
    copy_payload(session, "incident_staging", names, payload, progress)
    # Row counts only: the plan is two scans and a hash join on 1,537 rows whatever the statistics.
    session.execute(text("ANALYZE incident_staging (idx)"))
    session.execute(text("ANALYZE incident_grid_rows (idx)"))
    session.execute(text("ANALYZE incident_gap_rows (idx)"))


def insert_staged(session: Session, rows: IncidentRows, optional: list[str], synthetic: bool) -> Any:
    result = session.execute(
        text(insert_sql("", STAGED_ROWS, optional, ids=False)), insert_params(rows, synthetic)
    ).one()
    for table in TEMP_TABLES:
        session.execute(text(f"DROP TABLE {table}"))
    return result[0], result[1], result[2]


def dry_run_counts(session: Session, rows: IncidentRows, hits: Assigned, progress: Progress | None) -> dict:
    """What an import of the rows would do, writing nothing to incidents: only their external ids are sent."""
    existing = 0
    n = len(rows)
    if progress:
        progress("encode", 0, n)
    if "external_id" in rows.optional:
        ids = rows.optional["external_id"]
        ids = ids[~missing(ids)]
        session.execute(text("DROP TABLE IF EXISTS incident_keys"))
        session.execute(text('CREATE TEMP TABLE incident_keys (external_id text COLLATE "C") ON COMMIT DROP'))
        copy_payload(session, "incident_keys", ["external_id"], pgcopy.build([pgcopy.text(ids)]), progress)
        if progress:
            progress("insert", 0, n)
        session.execute(text("ANALYZE incident_keys"))
        existing = session.execute(
            text(
                "SELECT count(*) FROM incident_keys k WHERE EXISTS "
                "(SELECT 1 FROM incidents i WHERE i.external_id = k.external_id)"
            )
        ).scalar_one()
        session.execute(text("DROP TABLE incident_keys"))
    if progress:
        progress("insert", 0, n)
    outside = int((hits.grid < 0).sum())
    return {
        "inserted": n - existing,
        "updated": existing,
        "outside_jurisdiction": outside,
        "ids": [],
        "dry_run": True,
    }
