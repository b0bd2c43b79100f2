"""Assignment rules, all in PostGIS: incidents to grid/community/town/county, compounds to their main grid.

Points (the edge rule). Among the *active* grids whose polygon COVERS the point (ST_Covers, so a point on a
shared edge or vertex is covered by every grid that touches it), the one with the lowest code wins; the
result is the same whichever path (single write, bulk load, re-assignment) computes it. A point no grid
covers gets grid_code NULL and outside_jurisdiction = true, and its community/town/county come from the
admin_units of that level that cover it (again the lowest code), if any: a point in the city but in a gap.
A point inside a grid takes the grid's community, that community's town and the town's county.
compound_id is the lowest-id compound whose polygon covers the point.

Compounds. Areas are measured in EPSG:32648. The compound goes to the active grid holding the largest
share of its area (ties: lowest code) and takes that grid's community. grid_shares keeps the full list
for every compound, not only straddling ones: [{grid_code, share}] largest first, every grid with a
share ≥ 0.0001 (smaller pieces are digitising slivers). A compound straddles when the second share
exceeds settings.straddle_share. A compound in no grid: grid_code NULL, grid_shares [], and the
community covering a point on its surface.
"""

from __future__ import annotations

import re
from typing import Any

import shapely
from sqlalchemy import CursorResult, text
from sqlalchemy.orm import Session

from geo.crs import METRIC_EPSG

SHARE_FLOOR = 0.0001

# A grid with its community, that community's town and the town's county (the admin tree).
GRID_TREE = """
    grids g
    LEFT JOIN admin_units c ON c.code = g.community_code
    LEFT JOIN admin_units t ON t.code = c.parent_code AND t.level = 'town'
"""
HIT_COLUMNS = "g.code, g.community_code, t.code AS town_code, t.parent_code AS county_code"


def _covering_admin(level: str, geom: str) -> str:
    """Scalar subquery: the lowest code of the admin unit of `level` covering `geom`."""
    return (
        f"(SELECT a.code FROM admin_units a WHERE a.level = '{level}' AND ST_Covers(a.geom, {geom}) "
        "ORDER BY a.code LIMIT 1)"
    )


def gap_tree(hit_code: str, geom: str) -> str:
    """A column `gap`: [community, town, county] covering a point no grid holds (NULL for the others).

    One indexed probe for all three levels, and CASE runs it only for the points without a grid; put it
    under an OFFSET 0 fence so that assigned_columns' three references do not run it three times.
    """
    return f"""CASE WHEN {hit_code} IS NULL THEN (
        SELECT ARRAY[min(a.code) FILTER (WHERE a.level = 'community'), min(a.code) FILTER (WHERE a.level = 'town'),
                     min(a.code) FILTER (WHERE a.level = 'county')]
        FROM admin_units a WHERE a.level IN ('community', 'town', 'county') AND ST_Covers(a.geom, {geom})
    ) END AS gap"""


def assigned_columns(row: str, compound: str) -> str:
    """SELECT expressions for grid_code … outside_jurisdiction from a row with the grid hit and its gap tree."""
    return f"""
        {row}.code,
        CASE WHEN {row}.code IS NULL THEN {row}.gap[1] ELSE {row}.community_code END,
        CASE WHEN {row}.code IS NULL THEN {row}.gap[2] ELSE {row}.town_code END,
        CASE WHEN {row}.code IS NULL THEN {row}.gap[3] ELSE {row}.county_code END,
        {compound},
        {row}.code IS NULL
    """


ASSIGNED = ["grid_code", "community_code", "town_code", "county_code", "compound_id", "outside_jurisdiction"]

# Point-outer lookups: right for a handful of points (one indexed probe each).
POINT_GRID = f"""(
    SELECT {HIT_COLUMNS} FROM {GRID_TREE}
    WHERE g.status = 'active' AND ST_Covers(g.geom, {{geom}}) ORDER BY g.code LIMIT 1
)"""
POINT_COMPOUND = "(SELECT c.id FROM compounds c WHERE ST_Covers(c.geom, {geom}) ORDER BY c.id LIMIT 1)"


def grid_hits_sql(points: str, key: str, extra_where: str = "", grid_where: str = "") -> str:
    """(key, code, community_code, town_code, county_code): the lowest covering active grid per point.

    The grids drive the join so that each grid polygon is prepared once and probes the points' GiST
    index; OFFSET 0 keeps the planner from flattening the LATERAL back into a points-outer join, and
    makes it join each grid to its admin tree first (1,537 rows) rather than each hit (10⁶) afterwards.
    """
    return f"""
        SELECT DISTINCT ON (p.{key}) p.{key} AS key, g.code, g.community_code, g.town_code, g.county_code
        FROM (SELECT g.geom, {HIT_COLUMNS} FROM {GRID_TREE} WHERE g.status = 'active' {grid_where} OFFSET 0) g
        CROSS JOIN LATERAL (
            SELECT p.{key} FROM {points} p WHERE ST_Covers(g.geom, p.geom) {extra_where} OFFSET 0
        ) p
        ORDER BY p.{key}, g.code
    """


def compound_hits_sql(points: str, key: str) -> str:
    """(key, id): lowest-id compound covering each point, compounds as the outer side."""
    return f"""
        SELECT p.{key} AS key, min(c.id) AS id
        FROM compounds c
        CROSS JOIN LATERAL (SELECT p.{key} FROM {points} p WHERE ST_Covers(c.geom, p.geom) OFFSET 0) p
        GROUP BY p.{key}
    """


def area_param(area: str | bytes | shapely.Geometry) -> tuple[str, dict[str, Any]]:
    """SQL for a changed area given as EWKT/WKT, (hex) EWKB/WKB or shapely, with its bind params (SRID 4326 if none)."""
    if isinstance(area, shapely.Geometry):
        area = shapely.to_wkb(area)
    if isinstance(area, str) and re.fullmatch(r"(?:[0-9A-Fa-f]{2})+", area.strip()):
        area = bytes.fromhex(area.strip())
    if isinstance(area, bytes | bytearray | memoryview):
        parsed = "ST_GeomFromEWKB(:area)"
        params: dict[str, Any] = {"area": bytes(area)}
    else:
        parsed = "ST_GeomFromEWKT(:area)"
        params = {"area": area}
    return (
        f"(SELECT CASE ST_SRID(a) WHEN 0 THEN ST_SetSRID(a, 4326) ELSE ST_Transform(a, 4326) END FROM {parsed} a)",
        params,
    )


def _changed(session: Session, sql: str, params: dict[str, Any]) -> int:
    """Run an UPDATE and return how many rows it changed."""
    result: CursorResult[Any] = session.execute(text(sql), params)  # type: ignore[assignment]
    return int(result.rowcount)


def reassign_area(session: Session, area: str | bytes | shapely.Geometry) -> dict[str, int]:
    """Re-assign every incident covered by and every compound intersecting `area`; counts of rows that changed.

    Call it after changing grids (in the same transaction): the area is what changed, e.g. the union of a
    grid's old and new polygon. Only rows whose assignment actually differs are written.
    """
    counts, _ = reassign_area_moves(session, area)
    return counts


def reassign_area_moves(
    session: Session, area: str | bytes | shapely.Geometry
) -> tuple[dict[str, int], list[tuple[int, str | None, str | None]]]:
    """reassign_area, also returning (incident id, old grid, new grid) for every incident that changed grid."""
    area_sql, params = area_param(area)
    changed = _reassign_incidents(session, area_sql, params)
    compounds = assign_compounds(session, f"ST_Intersects(c.geom, {area_sql})", params)
    moves = [(i, old, new) for i, old, new in changed if old != new]
    return {"incidents_changed": len(changed), "compounds_changed": compounds}, moves


def _reassign_incidents(session: Session, area: str, params: dict[str, Any]) -> list[Any]:
    hits = grid_hits_sql("incidents", "id", f"AND ST_Covers({area}, p.geom)", f"AND ST_Intersects(g.geom, {area})")
    sql = f"""
        WITH hit AS ({hits}),
        fresh AS (
            SELECT x.id, {assigned_columns("x", "x.compound_id")}, x.old_grid
            FROM (
                SELECT i.id, i.compound_id, i.grid_code AS old_grid, hit.code, hit.community_code, hit.town_code, hit.county_code,
                       {gap_tree("hit.code", "i.geom")}
                FROM incidents i LEFT JOIN hit ON hit.key = i.id
                WHERE ST_Covers({area}, i.geom)
                OFFSET 0
            ) x
        )
        UPDATE incidents i
        SET grid_code = f.grid_code, community_code = f.community_code, town_code = f.town_code,
            county_code = f.county_code, outside_jurisdiction = f.outside_jurisdiction, updated_at = now()
        FROM fresh AS f(id, {", ".join(ASSIGNED)}, old_grid)
        WHERE i.id = f.id
          AND (i.grid_code, i.community_code, i.town_code, i.county_code, i.outside_jurisdiction)
              IS DISTINCT FROM (f.grid_code, f.community_code, f.town_code, f.county_code, f.outside_jurisdiction)
        RETURNING i.id, f.old_grid, i.grid_code
    """
    return list(session.execute(text(sql), params).all())


def reassign_incident_compounds(session: Session, area: str | bytes | shapely.Geometry) -> int:
    """Recompute compound_id of the incidents covered by `area` (after a compound was added or moved)."""
    area_sql, params = area_param(area)
    sql = f"""
        WITH fresh AS (
            SELECT i.id, {POINT_COMPOUND.format(geom="i.geom")} AS compound_id
            FROM incidents i WHERE ST_Covers({area_sql}, i.geom)
        )
        UPDATE incidents i SET compound_id = f.compound_id, updated_at = now()
        FROM fresh f
        WHERE i.id = f.id AND i.compound_id IS DISTINCT FROM f.compound_id
    """
    return _changed(session, sql, params)


def reassign_all_incident_compounds(session: Session) -> int:
    """Recompute compound_id of every incident, compounds as the outer side; rows changed."""
    sql = f"""
        WITH hit AS ({compound_hits_sql("incidents", "id")}),
        fresh AS (
            SELECT key AS id, id AS compound_id FROM hit
            UNION ALL
            SELECT i.id, NULL FROM incidents i
            WHERE i.compound_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM hit WHERE hit.key = i.id)
        )
        UPDATE incidents i SET compound_id = f.compound_id, updated_at = now()
        FROM fresh f
        WHERE i.id = f.id AND i.compound_id IS DISTINCT FROM f.compound_id
    """
    return _changed(session, sql, {})


def assign_compounds(session: Session, where: str = "TRUE", params: dict[str, Any] | None = None) -> int:
    """Recompute grid_code, community_code and grid_shares of the compounds c matching `where`; rows changed."""
    sql = f"""
        WITH target AS (
            SELECT c.id, c.geom, ST_Transform(c.geom, {METRIC_EPSG}) AS m FROM compounds c WHERE {where}
        ),
        pieces AS (
            SELECT t.id, g.code, g.community_code,
                   ST_Area(ST_Intersection(t.m, ST_Transform(g.geom, {METRIC_EPSG}))) / NULLIF(ST_Area(t.m), 0) AS share
            FROM target t JOIN grids g ON g.status = 'active' AND ST_Intersects(g.geom, t.geom)
        ),
        ranked AS (
            SELECT p.*, row_number() OVER (PARTITION BY p.id ORDER BY round(p.share::numeric, 9) DESC, p.code) AS rn
            FROM pieces p WHERE p.share >= {SHARE_FLOOR}
        ),
        best AS (
            SELECT id,
                   min(code) FILTER (WHERE rn = 1) AS grid_code,
                   min(community_code) FILTER (WHERE rn = 1) AS community_code,
                   jsonb_agg(jsonb_build_object('grid_code', code, 'share', round(share::numeric, 4)) ORDER BY rn)
                       AS shares
            FROM ranked GROUP BY id
        ),
        fresh AS (
            SELECT t.id, b.grid_code,
                   coalesce(b.community_code, {_covering_admin("community", "ST_PointOnSurface(t.geom)")}) AS community_code,
                   coalesce(b.shares, '[]'::jsonb) AS shares
            FROM target t LEFT JOIN best b ON b.id = t.id
        )
        UPDATE compounds c
        SET grid_code = f.grid_code, community_code = f.community_code, grid_shares = f.shares, updated_at = now()
        FROM fresh f
        WHERE c.id = f.id
          AND (c.grid_code, c.community_code, c.grid_shares) IS DISTINCT FROM (f.grid_code, f.community_code, f.shares)
    """
    return _changed(session, sql, params or {})
