"""The raster point index answers exactly what shapely's covers answers, edges, holes and overlaps included."""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon, box

from geo.assignment.pointindex import EXACT, NONE, PolygonIndex


def _layer() -> list[shapely.Geometry]:
    rng = np.random.default_rng(7)
    polygons: list[shapely.Geometry] = []
    # A tessellation of irregular cells (shared edges, like grids) …
    for i in range(6):
        for j in range(5):
            x, y = 107.0 + i * 0.01, 34.3 + j * 0.01
            jitter = rng.uniform(-0.001, 0.001, 4)
            polygons.append(Polygon([(x, y), (x + 0.01, y + jitter[0] * 0), (x + 0.01, y + 0.01), (x, y + 0.01)]))
    # … a polygon with a hole, a two-part multipolygon, an overlap, and a thin sliver.
    polygons.append(
        Polygon(box(107.1, 34.3, 107.14, 34.34).exterior, [box(107.11, 34.31, 107.13, 34.33).exterior.coords])
    )
    polygons.append(MultiPolygon([box(107.2, 34.3, 107.21, 34.31), box(107.22, 34.3, 107.23, 34.31)]))
    polygons.append(box(107.005, 34.305, 107.025, 34.325))  # overlaps several cells of the tessellation
    polygons.append(Polygon([(107.15, 34.35), (107.25, 34.3500001), (107.25, 34.3500002)]))
    return polygons


def test_lookup_equals_exact_covers_for_random_edge_and_vertex_points():
    polygons = _layer()
    index = PolygonIndex(polygons, cells=256)
    rng = np.random.default_rng(11)
    x = rng.uniform(106.99, 107.26, 200_000)
    y = rng.uniform(34.29, 34.36, 200_000)
    vertices = shapely.get_coordinates(shapely.boundary(shapely.segmentize(np.asarray(polygons), 0.0007)))
    x = np.concatenate([x, vertices[:, 0], [np.nan, 200.0]])
    y = np.concatenate([y, vertices[:, 1], [34.3, np.inf]])
    got = index.lookup(x, y)
    assert np.array_equal(got, index.exact(x, y))
    # The raster really answers most points itself, and the exact answer for overlaps is the first polygon.
    assert (index.raster == EXACT).mean() < 0.5
    assert index.lookup(np.array([107.015]), np.array([34.315]))[0] == 1 * 5 + 1  # cell (1, 1), not the overlap
    assert index.lookup(np.array([107.12]), np.array([34.32]))[0] == NONE  # in the hole
    assert index.lookup(np.array([107.215]), np.array([34.305]))[0] == NONE  # between the two parts


def test_an_empty_layer_covers_nothing():
    index = PolygonIndex([])
    assert (index.lookup(np.array([107.0]), np.array([34.0])) == NONE).all()
