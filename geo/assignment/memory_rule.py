"""The bulk path of geo.assignment.sql_rule's point rule, computed in memory before the rows reach PostgreSQL.

For thousands of points a raster lookup (geo.assignment.pointindex) over the layers read from the database beats
probing them one by one or joining a freshly indexed staging table: the demo's 1,537 grids answer a
million points in about half a second, where the staged PostGIS join took 9–12 s. The rule is the same
(the lowest-code active grid covering the point, the lowest-id compound covering it, and for a point no
grid covers the lowest-code community, town and county covering it); the polygons are the database's own
coordinates, read as WKB. Indexes are cached per process and rebuilt when a layer's geometry fingerprint
(an md5 over codes and geometries, computed by PostgreSQL in milliseconds) changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.assignment.pointindex import PolygonIndex
from geo.assignment.sql_rule import GRID_TREE, HIT_COLUMNS

# Layer name → (columns, FROM … WHERE, ORDER BY, geometry) in rule order. Fixed SQL, never user input.
LAYERS = {
    "grids": (HIT_COLUMNS, f"{GRID_TREE} WHERE g.status = 'active'", "g.code", "g.geom"),
    "compounds": ("c.id", "compounds c", "c.id", "c.geom"),
    **{
        level: ("a.code", f"admin_units a WHERE a.level = '{level}'", "a.code", "a.geom")
        for level in ("community", "town", "county")
    },
}
_cache: dict[str, tuple[int, PolygonIndex]] = {}


def _layer(session: Session, name: str) -> tuple[list[Any], PolygonIndex]:
    """The layer's rows (without geometry) in rule order and its index, rebuilt if a geometry changed."""
    columns, source, order, geom = LAYERS[name]
    rows = session.execute(
        text(f"SELECT {columns}, md5(ST_AsBinary({geom})) FROM {source} ORDER BY {order}")
    ).all()
    fingerprint = hash(tuple((row[0], row[-1]) for row in rows))
    cached = _cache.get(name)
    if cached is None or cached[0] != fingerprint:
        wkb = session.execute(text(f"SELECT ST_AsBinary({geom}) FROM {source} ORDER BY {order}")).scalars().all()
        cached = (fingerprint, PolygonIndex(shapely.from_wkb(wkb)))
        _cache[name] = cached
    return [tuple(row[:-1]) for row in rows], cached[1]


def warm() -> bool:
    """Whether this process has built the grid index already (it is rebuilt if the grids changed since)."""
    return "grids" in _cache


@dataclass
class Assigned:
    """Per point: the grid's row number in `grids` (−1: none), compound id (−1: none), gap codes."""

    grid: NDArray[np.int64]
    grids: list[Any]  # (code, community_code, town_code, county_code) in rule order
    compound_id: NDArray[np.int64]
    gap: dict[str, NDArray[np.object_]]  # level → code covering the points no grid covers (None elsewhere)


def assign_points(session: Session, lon: NDArray[np.float64], lat: NDArray[np.float64]) -> Assigned:
    """Grid, compound and (for points in no grid) community/town/county for each point, by geo.assignment.sql_rule's rule."""
    grids, grid_index = _layer(session, "grids")
    grid = grid_index.lookup(lon, lat)
    compound_rows, compound_index = _layer(session, "compounds")
    found = compound_index.lookup(lon, lat)
    ids = np.array([r[0] for r in compound_rows] + [-1], dtype=np.int64)
    compound_id = ids[found]  # −1 indexes the appended −1
    gap: dict[str, NDArray[np.object_]] = {}
    outside = np.flatnonzero(grid < 0)
    for level in ("community", "town", "county"):
        codes = np.full(len(lon), None, dtype=object)
        if len(outside):
            units, index = _layer(session, level)
            hit = index.lookup(lon[outside], lat[outside])
            names = np.array([u[0] for u in units] + [None], dtype=object)
            codes[outside] = names[hit]
        gap[level] = codes
    return Assigned(grid, grids, compound_id, gap)
