"""Display geometry for maps: metric transforms, coverage-preserving simplification, GCJ-02 shift, 6 decimals."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import Transformer

from geo.crs import METRIC_EPSG, wgs84_to_gcj02

DECIMALS = 6  # 1e-6° ≈ 0.1 m at Baoji: far below the 1 m simplification


@lru_cache(maxsize=2)
def _transformer(inverse: bool) -> Transformer:
    src, dst = (METRIC_EPSG, 4326) if inverse else (4326, METRIC_EPSG)
    return Transformer.from_crs(src, dst, always_xy=True)


def _apply(geoms: Any, fn) -> Any:
    return shapely.transform(geoms, lambda c: np.column_stack(fn(c[:, 0], c[:, 1])))


def to_metric(geoms: Any) -> Any:
    """WGS84 lon/lat geometries (or an array of them) → UTM 48N metres."""
    return _apply(geoms, _transformer(False).transform)


def to_wgs84(geoms: Any) -> Any:
    """UTM 48N geometries → WGS84 lon/lat."""
    return _apply(geoms, _transformer(True).transform)


def xy_to_metric(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> tuple[NDArray, NDArray]:
    x, y = _transformer(False).transform(lon, lat)
    return np.asarray(x), np.asarray(y)


def metric_to_lonlat(x: NDArray[np.float64], y: NDArray[np.float64]) -> tuple[NDArray, NDArray]:
    lon, lat = _transformer(True).transform(x, y)
    return np.asarray(lon), np.asarray(lat)


def simplify_coverage(metric_geoms: NDArray[np.object_], tolerance_m: float) -> NDArray[np.object_]:
    """Simplify polygons that tile an area without opening gaps or overlaps (shared edges stay shared).

    GEOS's coverage simplification (shapely ≥ 2.1) simplifies each shared edge once for both neighbours;
    ST_SimplifyPreserveTopology works per polygon and would pull neighbours apart. Polygons that are not a
    valid coverage (overlaps from a bad edit) fall back to per-polygon topology-preserving simplification.
    """
    if len(metric_geoms) == 0:
        return metric_geoms
    try:
        return np.asarray(shapely.coverage_simplify(metric_geoms, tolerance_m), dtype=object)
    except shapely.errors.GEOSException:
        return np.asarray(shapely.simplify(metric_geoms, tolerance_m, preserve_topology=True), dtype=object)


def for_display(wgs84_geoms: Any, gcj02: bool = False) -> Any:
    """Shift to GCJ-02 when the base map is in it, and round to 6 decimals."""

    def fn(c: NDArray[np.float64]) -> NDArray[np.float64]:
        if gcj02:
            c = np.column_stack(wgs84_to_gcj02(c[:, 0], c[:, 1]))
        return np.round(c, DECIMALS)

    return shapely.transform(wgs84_geoms, fn)


def feature_collection(geoms: NDArray[np.object_], props: list[dict[str, Any]]) -> dict[str, Any]:
    """A GeoJSON FeatureCollection dict; each feature's id is its index (folium styles by it)."""
    texts = shapely.to_geojson(geoms)
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "id": i, "geometry": json.loads(t), "properties": p}
            for i, (t, p) in enumerate(zip(texts, props, strict=True))
        ],
    }
