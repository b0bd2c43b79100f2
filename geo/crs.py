"""Coordinate transforms between WGS84, GCJ-02 (Amap/Tencent) and BD-09 (Baidu), vectorised with numpy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

from geo.errors import InvalidInput

METRIC_EPSG = 32648  # UTM 48N: the one metric CRS citygrid uses for areas and lengths at Baoji (~107°E)

_A = 6378245.0  # Krasovsky 1940 semi-major axis, as baked into the GCJ-02 algorithm
_EE = 0.00669342162296594323  # its first eccentricity squared
_X_PI = np.pi * 3000.0 / 180.0
# The inverses iterate until the step is below this (1e-9 deg ≈ 0.1 mm), so they stay far under 1 m.
_TOL_DEG = 1e-9
_MAX_ITER = 20

Pair = tuple[NDArray[np.float64], NDArray[np.float64]]


def out_of_china(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """True where a point lies outside the rough China box in which GCJ-02 applies an offset."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _delta(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> Pair:
    """GCJ-02 offset (deg) to add to a WGS84 position; the published obfuscation polynomial."""
    x, y = lon - 105.0, lat - 35.0
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x)) + common
    dlat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x)) + common
    dlon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    rad = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(rad) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * np.cos(rad) * np.pi)
    return dlon, dlat


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """WGS84 → GCJ-02; points outside China are returned unchanged."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    dlon, dlat = _delta(lon, lat)
    outside = out_of_china(lon, lat)
    return np.where(outside, lon, lon + dlon), np.where(outside, lat, lat + dlat)


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """GCJ-02 → BD-09 (Baidu's extra rotation and shift, applied everywhere)."""
    x, y = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _invert(forward: Callable[[NDArray, NDArray], Pair], lon: ArrayLike, lat: ArrayLike) -> Pair:
    """Solve forward(x) = target by fixed-point iteration x ← x − (forward(x) − target)."""
    # Converges fast: both transforms are the identity plus an offset whose slope is ~1e-3, so each step
    # shrinks the error ~1000-fold; Newton would need a Jacobian for no practical gain.
    tlon, tlat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    x, y = tlon.copy(), tlat.copy()
    for _ in range(_MAX_ITER):
        fx, fy = forward(x, y)
        ex, ey = fx - tlon, fy - tlat
        x, y = x - ex, y - ey
        if np.all(np.abs(ex) < _TOL_DEG) and np.all(np.abs(ey) < _TOL_DEG):
            break
    return x, y


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """GCJ-02 → WGS84 by iterating the forward transform (error ≪ 1 mm)."""
    return _invert(wgs84_to_gcj02, lon, lat)


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """BD-09 → GCJ-02 by iterating the forward transform (the usual closed form errs by ~1 m)."""
    return _invert(gcj02_to_bd09, lon, lat)


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> Pair:
    """BD-09 → WGS84."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def _identity(lon: ArrayLike, lat: ArrayLike) -> Pair:
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


# Canonical CRS name (geo.crs.canonical_crs) → its conversion to WGS84. CGCS2000 (EPSG:4490) differs from
# WGS84 by well under 1 m at Baoji, so it is treated as identical.
_TO_WGS84: dict[str, Callable[[ArrayLike, ArrayLike], Pair]] = {
    "EPSG:4326": _identity,
    "EPSG:4490": _identity,
    "GCJ-02": gcj02_to_wgs84,
    "BD-09": bd09_to_wgs84,
}


def _converter(crs: str) -> Callable[[ArrayLike, ArrayLike], Pair]:
    """The to-WGS84 function for any accepted spelling of a CRS name (one alias table: CRS_NAMES)."""
    return _TO_WGS84[canonical_crs(crs)]


def to_wgs84(lon: ArrayLike, lat: ArrayLike, crs: str) -> Pair:
    """Convert coordinates given in `crs` (EPSG:4326, EPSG:4490, GCJ-02 or BD-09) to WGS84."""
    return _converter(crs)(lon, lat)


def geometry_to_wgs84(geom: shapely.Geometry, crs: str) -> shapely.Geometry:
    """Convert a shapely geometry (or array of them) given in `crs` to WGS84, keeping its structure."""
    convert = _converter(crs)

    def _xy(coords: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.column_stack(convert(coords[:, 0], coords[:, 1]))

    return shapely.transform(geom, _xy)


# Declared CRS names accepted (case, spaces, '-' and '_' ignored) and the canonical name stored.
CRS_NAMES = {
    "EPSG:4326": "EPSG:4326",
    "WGS84": "EPSG:4326",
    "CRS84": "EPSG:4326",
    "EPSG:4490": "EPSG:4490",
    "CGCS2000": "EPSG:4490",
    "GCJ02": "GCJ-02",
    "BD09": "BD-09",
}


def canonical_crs(name: Any) -> str:
    """'GCJ-02', 'gcj02', 'urn:ogc:def:crs:EPSG::4490', … → a canonical name, or InvalidInput naming it."""
    raw = str(name).strip()
    key = raw.upper().replace(" ", "")
    if key.startswith("URN:OGC:DEF:CRS:"):
        parts = [p for p in key.split(":") if p]
        key = "CRS84" if parts[-1] == "CRS84" else f"EPSG:{parts[-1]}"
    if not key.startswith("EPSG:"):
        key = key.replace("-", "").replace("_", "")
    if key not in CRS_NAMES:
        raise InvalidInput(
            f"unknown CRS {raw!r}; accepted: EPSG:4326 (WGS84), EPSG:4490 (CGCS2000), GCJ-02, BD-09",
            field="crs",
            reason=f"unknown CRS {raw!r}",
        )
    return CRS_NAMES[key]


def declared_crs(argument: str | None, member: Any = None) -> str:
    """The CRS in force: the explicit argument, else the document's own declaration, else EPSG:4326."""
    from_member = None
    if member is not None:
        name = member.get("properties", {}).get("name") if isinstance(member, dict) else member
        from_member = canonical_crs(name)
    if argument:
        crs = canonical_crs(argument)
        if from_member and from_member != crs:
            raise InvalidInput(
                f"the crs parameter says {crs} but the FeatureCollection declares {from_member}",
                field="crs",
                reason="conflicting CRS declarations",
            )
        return crs
    return from_member or "EPSG:4326"
