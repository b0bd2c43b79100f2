"""The grid rows an edit reads, locks and writes (closing old versions, inserting new ones) and sums up."""

from __future__ import annotations

from typing import Any

import shapely
from shapely.geometry import MultiPolygon
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.crs import METRIC_EPSG
from geo.editing.change import EDITABLE
from geo.errors import GridNotFound


def lock_grids(session: Session, codes: list[str], new_geoms: list[MultiPolygon]) -> dict[str, dict[str, Any]]:
    """Lock the edited grids and every active grid their new shapes reach, in code order (no deadlocks)."""
    reach = shapely.box(*shapely.GeometryCollection(new_geoms).bounds).wkb if new_geoms else None
    rows = session.execute(
        text(
            """
            SELECT code, version, status, name, community_code, grid_worker, grid_worker_phone, households,
                   population, ST_AsBinary(geom) AS wkb
            FROM grids
            WHERE code = ANY(:codes)
               OR (CAST(:reach AS bytea) IS NOT NULL AND status = 'active'
                   AND geom && ST_GeomFromWKB(CAST(:reach AS bytea), 4326))
            ORDER BY code FOR UPDATE
            """
        ),
        {"codes": codes, "reach": reach},
    ).mappings()
    return {r["code"]: {**r, "geom": shapely.from_wkb(r["wkb"])} for r in rows if r["code"] in codes}


# A grid loaded without its version row (e.g. by a bulk load) gets it now, so its history starts complete.
_BACKFILL = """
INSERT INTO grid_versions (grid_code, version, name, community_code, grid_worker, households,
                           population, status, geom, valid_from, editor, reason)
SELECT g.code, g.version, g.name, g.community_code, g.grid_worker, g.households, g.population, g.status,
       g.geom, g.updated_at, NULL, 'state before the first recorded edit'
FROM grids g WHERE g.code = ANY(:codes)
  AND NOT EXISTS (SELECT 1 FROM grid_versions v WHERE v.grid_code = g.code AND v.version = g.version)
"""
_INSERT = """
INSERT INTO grids (code, name, community_code, grid_worker, grid_worker_phone, households,
                   population, status, version, geom, created_at, updated_at)
VALUES (:code, :name, :community_code, :grid_worker, :grid_worker_phone, :households,
        :population, :status, 1, ST_GeomFromWKB(:wkb, 4326), :ts, :ts)
"""
_UPDATE = """
UPDATE grids SET name = :name, community_code = :community_code, grid_worker = :grid_worker,
    grid_worker_phone = :grid_worker_phone, households = :households,
    population = :population, status = :status, geom = ST_GeomFromWKB(:wkb, 4326),
    version = version + 1, updated_at = :ts
WHERE code = :code
"""
_NEW_VERSIONS = """
INSERT INTO grid_versions (grid_code, version, name, community_code, grid_worker, households,
                           population, status, geom, valid_from, editor, reason)
SELECT code, version, name, community_code, grid_worker, households, population, status, geom,
       :ts, :editor, :reason
FROM grids WHERE code = ANY(:codes)
"""


def write_grids(
    session: Session,
    codes: list[str],
    olds: dict[str, dict[str, Any]],
    after: dict[str, dict[str, Any]],
    ts: Any,
    editor: str,
    reason: str | None,
) -> None:
    """Update or insert the grid rows, close their current versions and insert the new ones."""
    session.execute(text(_BACKFILL), {"codes": codes})
    for code in codes:
        new = after[code]
        params = {k: new[k] for k in EDITABLE} | {
            "code": code,
            "status": new["status"],
            "wkb": new["geom"].wkb,
            "ts": ts,
        }
        session.execute(text(_INSERT if olds.get(code) is None else _UPDATE), params)
    session.execute(
        text("UPDATE grid_versions SET valid_to = :ts WHERE grid_code = ANY(:codes) AND valid_to IS NULL"),
        {"codes": codes, "ts": ts},
    )
    session.execute(text(_NEW_VERSIONS), {"codes": codes, "ts": ts, "editor": editor, "reason": reason})


def grid_summaries(
    session: Session, codes: list[str], olds: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """Per grid: versions and areas before and after (m², in the metric CRS)."""
    old_wkbs = [olds[c]["geom"].wkb if olds.get(c) else None for c in codes]
    rows = session.execute(
        text(
            f"""
            SELECT g.code, g.version, g.status, ST_Area(ST_Transform(g.geom, {METRIC_EPSG})),
                   ST_Area(ST_Transform(ST_GeomFromWKB(t.w, 4326), {METRIC_EPSG}))
            FROM unnest(CAST(:codes AS text[]), CAST(:olds AS bytea[])) AS t(code, w)
            JOIN grids g ON g.code = t.code ORDER BY g.code
            """
        ),
        {"codes": codes, "olds": old_wkbs},
    ).all()
    out = []
    for code, version, status, area_after, area_before in rows:
        old = olds.get(code)
        out.append(
            {
                "code": code,
                "name": after[code]["name"],
                "status": status,
                "version_before": old["version"] if old else None,
                "version_after": version,
                "area_before_m2": round(area_before, 1) if area_before is not None else None,
                "area_after_m2": round(area_after, 1),
                "area_change_m2": round(area_after - (area_before or 0.0), 1),
            }
        )
    return out


def current_grid(session: Session, code: str) -> dict[str, Any]:
    row = (
        session.execute(
            text("SELECT name, community_code, grid_worker, grid_worker_phone, status FROM grids WHERE code = :c"),
            {"c": code},
        )
        .mappings()
        .one_or_none()
    )
    if row is None:
        raise GridNotFound(f"no grid {code}", grid_code=code)
    return dict(row)
