"""Snap an edit's incoming vertices onto the vertices already stored, as QGIS's topological editing does.

Why: grids are served rounded to 7 decimals (~1 cm, ST_AsGeoJSON(geom, 7)) but stored at full precision. A
client that sends a grid back unchanged therefore moved every vertex by up to ~1 cm, and the shared ones
apart from the neighbours' copies: slivers of 1–6 m² of overlap and gap, all thinner than the 1 m edit
tolerance and so accepted. Snapping each incoming vertex within SNAP_M metres onto a stored vertex makes
an unchanged geometry exactly the stored one, and a vertex placed on a neighbour's corner exactly shared.

Vertex to vertex only (ST_Snap and shapely.snap also insert vertices into segments, which would change a
grid sent back unchanged), the grid's own current vertices first (sending back what was read restores it,
even where the stored data hold two vertices a few millimetres apart), then those of the active grids
around it. Distances are measured in UTM 48N (EPSG:32648), coordinates stay in EPSG:4326.
"""

from __future__ import annotations

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import Transformer
from scipy.spatial import cKDTree
from shapely.geometry import MultiPolygon
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.crs import METRIC_EPSG

_TO_METRIC = Transformer.from_crs(4326, METRIC_EPSG, always_xy=True)
_M_PER_DEG = 110_000.0  # a lower bound (latitude, and longitude at Baoji's ~34°N is ~92 km): a wide enough box


def _metric(lonlat: NDArray[np.float64]) -> NDArray[np.float64]:
    x, y = _TO_METRIC.transform(lonlat[:, 0], lonlat[:, 1])
    return np.column_stack([x, y])


def _snap_onto(
    coords: NDArray[np.float64], free: NDArray[np.bool_], ref: NDArray[np.float64], tol_m: float
) -> None:
    """Move the free coordinates (in place) onto their nearest reference vertex within tol_m; mark them taken."""
    if not len(ref) or not free.any():
        return
    dist, idx = cKDTree(_metric(ref)).query(_metric(coords[free]), distance_upper_bound=tol_m)
    hit = np.isfinite(dist)
    rows = np.flatnonzero(free)[hit]
    coords[rows] = ref[idx[hit]]
    free[rows] = False


def snap_vertices(
    geom: MultiPolygon, own: MultiPolygon | None, around: NDArray[np.float64], tol_m: float
) -> MultiPolygon:
    """geom with each vertex within tol_m of a vertex of own (first) or of `around` moved exactly onto it."""
    if tol_m <= 0:
        return geom
    coords = shapely.get_coordinates(geom).copy()
    free = np.ones(len(coords), dtype=bool)
    if own is not None:
        _snap_onto(coords, free, np.unique(shapely.get_coordinates(own), axis=0), tol_m)
    _snap_onto(coords, free, around, tol_m)
    snapped = shapely.transform(geom, lambda _: coords)  # a new geometry, same parts, rings and order
    assert isinstance(snapped, MultiPolygon)
    return snapped


def vertices_around(session: Session, geoms: list[MultiPolygon], tol_m: float) -> NDArray[np.float64]:
    """Every vertex of the active grids whose box comes within tol_m of the new shapes' box (lon, lat)."""
    if not geoms:
        return np.empty((0, 2))
    x0, y0, x1, y1 = shapely.GeometryCollection(geoms).bounds
    pad = 2 * tol_m / _M_PER_DEG
    wkbs = session.execute(
        text(
            "SELECT ST_AsBinary(geom) FROM grids WHERE status = 'active' "
            "AND geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)"
        ),
        {"x0": x0 - pad, "y0": y0 - pad, "x1": x1 + pad, "y1": y1 + pad},
    ).scalars()
    shapes = [shapely.from_wkb(w) for w in wkbs]
    if not shapes:
        return np.empty((0, 2))
    return np.unique(shapely.get_coordinates(shapes), axis=0)
