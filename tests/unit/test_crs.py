"""GCJ-02 / BD-09 / WGS84 transforms: round trips, offset size at Baoji, out-of-China rule, CRS names."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from pyproj import Geod

from geo import crs
from geo.errors import InvalidInput

GEOD = Geod(ellps="WGS84")
# A grid over Baoji and a margin around it (the city spans ~106.3–108.0°E, 33.6–35.1°N).
LON, LAT = (a.ravel() for a in np.meshgrid(np.linspace(106.2, 108.1, 60), np.linspace(33.6, 35.2, 60)))


def metres(lon1, lat1, lon2, lat2) -> np.ndarray:
    return GEOD.inv(lon1, lat1, lon2, lat2)[2]


def test_gcj02_offset_at_baoji_is_a_few_hundred_metres():
    glon, glat = crs.wgs84_to_gcj02(LON, LAT)
    offset = metres(LON, LAT, glon, glat)
    assert offset.min() > 300 and offset.max() < 550
    # GCJ-02 pushes Baoji east and south (the domain notes: ~390 m east, ~155 m south).
    assert np.all(glon > LON) and np.all(glat < LAT)


def test_wgs_gcj_wgs_round_trip_under_a_millimetre():
    back = crs.gcj02_to_wgs84(*crs.wgs84_to_gcj02(LON, LAT))
    assert metres(LON, LAT, *back).max() < 1e-3


def test_gcj_to_wgs_inverts_forward_from_the_gcj_side():
    wlon, wlat = crs.gcj02_to_wgs84(LON, LAT)
    again = crs.wgs84_to_gcj02(wlon, wlat)
    assert metres(LON, LAT, *again).max() < 1e-3


def test_bd09_round_trips():
    glon, glat = crs.wgs84_to_gcj02(LON, LAT)
    blon, blat = crs.gcj02_to_bd09(glon, glat)
    assert metres(glon, glat, blon, blat).min() > 500  # BD-09 shifts GCJ-02 by another ~0.006°
    assert metres(glon, glat, *crs.bd09_to_gcj02(blon, blat)).max() < 1e-3
    assert metres(LON, LAT, *crs.bd09_to_wgs84(blon, blat)).max() < 1e-3


def test_known_baidu_point():
    # Tiananmen as read off Amap (GCJ-02) and Baidu (BD-09) point pickers; pickers agree to ~10 m.
    blon, blat = crs.gcj02_to_bd09(116.397470, 39.908823)
    assert metres(116.403963, 39.915119, blon, blat) < 15


def test_gcj02_forward_matches_an_independent_implementation():
    coord = pytest.importorskip("fast_geocn.coord")
    rng = np.random.default_rng(7)
    lon, lat = rng.uniform(74, 135, 500), rng.uniform(18, 53, 500)
    ours = np.column_stack(crs.wgs84_to_gcj02(lon, lat))
    theirs = np.array([coord.wgs84_to_gcj02(x, y) for x, y in zip(lon, lat, strict=True)])
    assert np.abs(ours - theirs).max() < 1e-9


def test_outside_china_passes_through_gcj02():
    lon, lat = np.array([2.35, -74.0, 139.69]), np.array([48.86, 40.71, 35.69])  # Paris, New York, Tokyo
    assert np.array_equal(crs.out_of_china(lon, lat), [True, True, True])
    for fn in (crs.wgs84_to_gcj02, crs.gcj02_to_wgs84):
        out = fn(lon, lat)
        assert np.array_equal(out[0], lon) and np.array_equal(out[1], lat)


def test_scalars_are_accepted():
    lon, lat = crs.gcj02_to_wgs84(107.2, 34.4)
    assert float(lon) < 107.2 and float(lat) > 34.4


@pytest.mark.parametrize("name", ["EPSG:4326", "epsg:4490", "WGS84", "CGCS2000"])
def test_wgs84_like_names_are_identity(name):
    lon, lat = crs.to_wgs84(LON, LAT, name)
    assert np.array_equal(lon, LON) and np.array_equal(lat, LAT)


@pytest.mark.parametrize(
    ("name", "forward"),
    [
        ("GCJ-02", crs.wgs84_to_gcj02),
        ("gcj02", crs.wgs84_to_gcj02),
        ("gcj_02", crs.wgs84_to_gcj02),
        ("BD-09", lambda x, y: crs.gcj02_to_bd09(*crs.wgs84_to_gcj02(x, y))),
        ("bd09", lambda x, y: crs.gcj02_to_bd09(*crs.wgs84_to_gcj02(x, y))),
    ],
)
def test_to_wgs84_by_name(name, forward):
    assert metres(LON, LAT, *crs.to_wgs84(*forward(LON, LAT), name)).max() < 1e-3


def test_unknown_crs_is_named_in_the_error():
    with pytest.raises(InvalidInput, match="EPSG:3857") as exc:
        crs.to_wgs84(107.0, 34.0, "EPSG:3857")
    assert exc.value.context["field"] == "crs"
    with pytest.raises(InvalidInput, match="mars"):
        crs.geometry_to_wgs84(shapely.Point(107, 34), "mars")


@pytest.mark.parametrize(
    "name, canonical",
    [
        # The OGC's URN and http spellings (OGC 07-092r3; CRS84 is lon/lat WGS84) and the short names.
        ("urn:ogc:def:crs:OGC:1.3:CRS84", "EPSG:4326"),
        ("urn:ogc:def:crs:EPSG::4326", "EPSG:4326"),
        ("urn:ogc:def:crs:EPSG::4490", "EPSG:4490"),
        ("CGCS2000", "EPSG:4490"),
        ("gcj_02", "GCJ-02"),
        ("BD09", "BD-09"),
    ],
)
def test_one_alias_table_for_every_reader(name, canonical):
    """Incident import (canonical_crs) and grid/compound import (geometry_to_wgs84) accept the same names."""
    assert crs.canonical_crs(name) == canonical
    point = shapely.Point(107.1, 34.3)
    same = crs.geometry_to_wgs84(point, canonical)
    assert crs.geometry_to_wgs84(point, name).equals_exact(same, 1e-12)


def test_geometry_to_wgs84_keeps_structure():
    square = shapely.box(107.1, 34.3, 107.2, 34.4).buffer(0.01, quad_segs=2)
    multi = shapely.MultiPolygon([square, shapely.box(107.3, 34.3, 107.31, 34.31)])
    gcj = shapely.transform(multi, lambda c: np.column_stack(crs.wgs84_to_gcj02(c[:, 0], c[:, 1])))
    back = crs.geometry_to_wgs84(gcj, "GCJ-02")
    assert back.geom_type == "MultiPolygon" and len(back.geoms) == 2
    assert shapely.get_num_coordinates(back) == shapely.get_num_coordinates(multi)
    a, b = shapely.get_coordinates(back), shapely.get_coordinates(multi)
    assert metres(a[:, 0], a[:, 1], b[:, 0], b[:, 1]).max() < 1e-3


def test_metric_epsg_is_utm_48n():
    assert crs.METRIC_EPSG == 32648


def test_crs_module_does_not_import_fastapi():
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(crs))
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom) for a in n.names}
    modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not any("fastapi" in (m or "") for m in names | modules)
