"""Storing checked incidents with their grid assignment, in the caller's transaction.

Re-importing an external_id updates that incident (the columns the input provides win; the others keep
their stored values); rows without external_id always insert. An error anywhere writes nothing.
- Small batches: one INSERT … ON CONFLICT assigning in PostGIS, one indexed probe per point.
- Large batches are assigned in memory by geo.assign_points (the same rule) and COPYed straight into
  incidents (geo.incident_copy). If one of their external_ids is stored already (a sample is looked up
  first; the COPY's unique index catches the rest, and a savepoint undoes it), they go through a staging
  table and the same INSERT … ON CONFLICT, which updates."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import assign_points, pgcopy
from geo.assign import (
    ASSIGNED,
    CATEGORY_KEYS,
    POINT_COMPOUND,
    POINT_GRID,
    STATUS_KEYS,
    assigned_columns,
    gap_tree,
)
from geo.assign_points import Assigned
from geo.incident_copy import GAP_LEVELS, PG_TYPES, Progress, copy_new, copy_payload, optional_column
from geo.ingest_checks import IncidentRows
from geo.textcols import missing

# Below STAGING_MIN rows an unnest() insert with one indexed probe per point is fastest. Above it the
# in-memory assignment wins once its indexes are built (1,000 rows: 354 vs 663 ms; 5,000: 321 vs 1,222 ms),
# but building them costs ~2 s, so a process that has not built them yet probes up to COLD_MIN rows
# (20,000 rows: 3.3 s by probes).
STAGING_MIN = 200
COLD_MIN = 20_000
PROBE_IDS = 1000
BULK_MS_PER_ROW = 0.2  # statement time allowed per imported row: 5× the slowest 10⁶-row COPY seen


def _insert_sql(ctes: str, rows: str, optional: list[str], ids: bool) -> str:
    """The one INSERT … SELECT … ON CONFLICT both paths share.

    `rows` selects the input columns with the assignment: code, community_code, town_code, county_code
    (of the grid hit, NULL for none), compound and gap (the [community, town, county] of a point in no grid).
    """
    names = ["category", "occurred_at", "source_crs", "synthetic", "geom", *optional]
    exprs = ["(CAST(:categories AS text[]))[x.category + 1]", "x.occurred_at", ":crs", ":synthetic", "x.geom"]
    exprs += ["(CAST(:statuses AS text[]))[x.status + 1]" if o == "status" else f"x.{o}" for o in optional]
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in names + ASSIGNED if c != "synthetic")
    return f"""
        WITH {ctes}
        ins AS (
            INSERT INTO incidents ({", ".join(names + ASSIGNED)})
            SELECT {", ".join(exprs)}, {assigned_columns("x", "x.compound")}
            FROM ({rows} OFFSET 0) x
            ON CONFLICT (external_id) DO UPDATE SET {updates}, updated_at = now()
            RETURNING id, (xmax = 0) AS inserted, outside_jurisdiction
        )
        SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted),
               count(*) FILTER (WHERE outside_jurisdiction), {"array_agg(id ORDER BY id)" if ids else "NULL"}
        FROM ins
    """


def _params(rows: IncidentRows, synthetic: bool) -> dict[str, Any]:
    return {"categories": CATEGORY_KEYS, "statuses": STATUS_KEYS, "crs": rows.source_crs, "synthetic": synthetic}


def store(
    session: Session,
    rows: IncidentRows,
    synthetic: bool = False,
    progress: Progress | None = None,
    dry_run: bool = False,
) -> dict:
    """Insert/update the rows with their grid assignment; {inserted, updated, outside_jurisdiction, ids}.

    dry_run assigns the points and reports what an import would do, writing nothing.
    """
    if len(rows) == 0:
        return {"inserted": 0, "updated": 0, "outside_jurisdiction": 0, "ids": []}
    optional = list(rows.optional)
    staged = dry_run or len(rows) >= COLD_MIN or (len(rows) >= STAGING_MIN and assign_points.warm())
    if not staged:
        inserted, updated, outside, ids = _store_small(session, rows, optional, synthetic)
        return {"inserted": inserted, "updated": updated, "outside_jurisdiction": outside, "ids": ids}
    # Memory for the insert's transition table (the daily roll-up trigger reads every new row once): a
    # million rows spill to disk at the default work_mem. An error rolls the transaction back, SET LOCAL too.
    session.execute(text("SET LOCAL work_mem = '512MB'"))
    timeout = _lift_statement_timeout(session, len(rows))
    if progress:
        progress("assign", 0, len(rows))
    hits = assign_points.assign_points(session, rows.lon, rows.lat)
    if progress:
        progress("assign", len(rows), len(rows))
    order = np.argsort(rows.occurred_at, kind="stable")
    result: dict | None = None
    if dry_run:
        result = _dry_run(session, rows, hits, progress)
    elif not _some_stored(session, rows):
        result = copy_new(session, rows, optional, hits, order, synthetic, progress)
    if result is None:
        _stage(session, rows, optional, hits, order, progress)
        if progress:
            progress("insert", 0, len(rows))
        inserted, updated, outside = _insert_staged(session, rows, optional, synthetic)
        result = {"inserted": inserted, "updated": updated, "outside_jurisdiction": outside, "ids": []}
    session.execute(text("SET LOCAL work_mem = DEFAULT"))
    session.execute(text("SELECT set_config('statement_timeout', :t, true)"), {"t": timeout})
    if progress:
        progress("insert", len(rows), len(rows))
    return result


def _some_stored(session: Session, rows: IncidentRows) -> bool:
    """Whether a sample of the rows' external ids (up to PROBE_IDS, spread over the input) is stored already.

    A re-sent file then goes straight to the upsert: a COPY that meets a stored id fails only at its end,
    after every part was encoded and sent (~4 s per 10⁶ rows). A stored id the sample misses still stops
    the COPY, and the savepoint sends the rows to the upsert all the same.
    """
    ids = rows.optional.get("external_id")
    if ids is None:
        return False
    sample = [i for i in ids[:: max(1, len(ids) // PROBE_IDS)] if i is not None]
    return bool(
        session.execute(
            text("SELECT EXISTS (SELECT 1 FROM incidents WHERE external_id = ANY(CAST(:ids AS text[])))"),
            {"ids": sample},
        ).scalar_one()
    )


def _lift_statement_timeout(session: Session, n: int) -> str:
    """Give this import's statements BULK_MS_PER_ROW each (never less than the session's limit); the old limit.

    The app's 30 s statement limit would cut a 10⁶-row COPY short: that one statement takes 25–40 s here.
    """
    current = session.execute(text("SELECT setting::bigint FROM pg_settings WHERE name = 'statement_timeout'"))
    ms = int(current.scalar_one())
    if ms:  # 0: no limit to lift
        lifted = max(ms, int(n * BULK_MS_PER_ROW))
        session.execute(text("SELECT set_config('statement_timeout', :t, true)"), {"t": str(lifted)})
    return str(ms)


def _store_small(session: Session, rows: IncidentRows, optional: list[str], synthetic: bool) -> Any:
    arrays: dict[str, Any] = {
        "idx": rows.index.tolist(),
        "lon": rows.lon.tolist(),
        "lat": rows.lat.tolist(),
        "category": rows.category.tolist(),
        "occurred_at": [_utc(t) for t in rows.occurred_at],
    }
    types = {"idx": "int4", "lon": "float8", "lat": "float8", "category": "int2", "occurred_at": "timestamptz"}
    for name in optional:
        values = rows.optional[name]
        arrays[name] = [_utc(v) for v in values] if PG_TYPES[name] == "timestamptz" else values.tolist()
        types[name] = PG_TYPES[name]
    unnest = ", ".join(f"CAST(:{n} AS {t}[])" for n, t in types.items())
    src = f"""src AS (
        SELECT u.idx, ST_SetSRID(ST_MakePoint(u.lon, u.lat), 4326) AS geom, {", ".join(f"u.{n}" for n in list(types)[3:])}
        FROM unnest({unnest}) AS u({", ".join(types)})
    ),
    hit AS (SELECT s.idx AS key, h.* FROM src s LEFT JOIN LATERAL {POINT_GRID.format(geom="s.geom")} h ON true),
    chit AS (SELECT s.idx AS key, {POINT_COMPOUND.format(geom="s.geom")} AS id FROM src s),"""
    assigned = f"""
        SELECT s.*, hit.code, hit.community_code, hit.town_code, hit.county_code, chit.id AS compound,
               {gap_tree("hit.code", "s.geom")}
        FROM src s LEFT JOIN hit ON hit.key = s.idx LEFT JOIN chit ON chit.key = s.idx
    """
    return session.execute(
        text(_insert_sql(src, assigned, optional, ids=True)), {**arrays, **_params(rows, synthetic)}
    ).one()


def _utc(t: np.datetime64) -> Any:
    """numpy UTC datetime64 → an aware datetime for the driver (None for NaT)."""
    import datetime as dt

    if np.isnat(t):
        return None
    return t.astype("datetime64[us]").item().replace(tzinfo=dt.UTC)


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


def _stage(
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


def _insert_staged(session: Session, rows: IncidentRows, optional: list[str], synthetic: bool) -> Any:
    result = session.execute(
        text(_insert_sql("", STAGED_ROWS, optional, ids=False)), _params(rows, synthetic)
    ).one()
    for table in TEMP_TABLES:
        session.execute(text(f"DROP TABLE {table}"))
    return result[0], result[1], result[2]


def _dry_run(session: Session, rows: IncidentRows, hits: Assigned, progress: Progress | None) -> dict:
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
