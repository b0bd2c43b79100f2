"""Which polygon covers each of a million points: a raster of the polygons' interiors, exact tests at edges.

The bulk assignment rule is the one geo.assignment.sql_rule states for PostGIS: among the polygons that COVER a point
(boundary included), the first in the given order wins (callers order grids by code, compounds by id).

A square raster over the polygons' extent records, for each cell that no polygon boundary crosses, the
first polygon covering it (or none): every point of such a cell is covered by the same polygons, so one
array lookup answers it. The cells a boundary crosses (found by walking every edge in steps of half a cell,
plus both corner cells of each diagonal step, so no crossed cell is missed) answer "ask exactly", and their
points go to shapely's covers through an STRtree. Interior cells are filled by an even–odd scanline through
the cell centres, holes and multi-part polygons included. On the demo's 1,537 grids at 4096 cells a side
(~40 m cells, 32 MB) building takes well under a second and most points never reach the exact test.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely
from numpy.typing import NDArray

NONE = -1  # no polygon covers the cell
EXACT = -2  # a boundary crosses the cell (or polygons overlap there): test the points exactly


class PolygonIndex:
    """Point → index of the first polygon (in the given order) covering it, or -1."""

    def __init__(self, polygons: Sequence[shapely.Geometry] | NDArray[np.object_], cells: int = 4096) -> None:
        self.polygons = np.asarray(polygons, dtype=object)
        self.tree = shapely.STRtree(self.polygons)
        n = len(self.polygons)
        dtype = np.int16 if n < np.iinfo(np.int16).max - 1 else np.int32
        if n == 0:
            self.origin, self.size, self.shape = (0.0, 0.0), 1.0, (1, 1)
            self.raster = np.full((1, 1), NONE, dtype=dtype)
            return
        minx, miny, maxx, maxy = shapely.total_bounds(self.polygons)
        self.size = max(maxx - minx, maxy - miny, 1e-9) / (cells - 2)
        # One spare cell on every side, so that boundary cells never fall off the raster.
        self.origin = (minx - self.size, miny - self.size)
        self.shape = (int(np.ceil((maxy - miny) / self.size)) + 3, int(np.ceil((maxx - minx) / self.size)) + 3)
        self.raster = self._fill(dtype)
        self.raster[self._boundary_cells()] = EXACT

    def _vertices(self) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
        """(polygon index, ring number, xy in cell units) of every ring vertex of every part."""
        parts, part_of = shapely.get_parts(self.polygons, return_index=True)
        ring_geoms, ring_part = shapely.get_rings(parts, return_index=True)
        coords, ring_of = shapely.get_coordinates(ring_geoms, return_index=True)
        owner = part_of[ring_part[ring_of]]
        x = (coords[:, 0] - self.origin[0]) / self.size
        y = (coords[:, 1] - self.origin[1]) / self.size
        return owner, ring_of, np.column_stack([x, y])

    def _fill(self, dtype: type) -> NDArray:
        """Even–odd scanline through the cell centres: the first polygon covering each cell centre."""
        owner, ring_of, xy = self._vertices()
        same = ring_of[1:] == ring_of[:-1]  # consecutive vertices of one ring form an edge
        x0, y0, x1, y1 = xy[:-1, 0][same], xy[:-1, 1][same], xy[1:, 0][same], xy[1:, 1][same]
        poly = owner[:-1][same]
        lo, hi = np.minimum(y0, y1), np.maximum(y0, y1)
        # Rows whose centre (r + 0.5) lies in [lo, hi): half-open, so every ring crosses each row an even number of times.
        r0 = np.ceil(lo - 0.5).astype(np.int64)
        r1 = np.ceil(hi - 0.5).astype(np.int64)
        count = np.maximum(r1 - r0, 0)
        edge = np.repeat(np.arange(len(count)), count)
        row = r0[edge] + (np.arange(len(edge)) - np.repeat(np.cumsum(count) - count, count))
        t = (row + 0.5 - y0[edge]) / (y1[edge] - y0[edge])
        xc = x0[edge] + t * (x1[edge] - x0[edge])
        p = poly[edge]
        order = np.lexsort((xc, row, p))
        p, row, xc = p[order], row[order], xc[order]
        # Consecutive crossings pair up into the spans inside the polygon on that row: [c0, c1) in columns.
        c0 = np.ceil(xc[0::2] - 0.5).astype(np.int64)
        c1 = np.ceil(xc[1::2] - 0.5).astype(np.int64)
        keep = c1 > c0
        span_p, span_r, c0, c1 = p[0::2][keep], row[0::2][keep], c0[keep], c1[keep]
        # Per row, a running sum of +1/−1 at span ends counts the polygons covering each cell, and one of
        # +(p+1)/−(p+1) gives p+1 where exactly one does: two cumulative sums instead of writing each cell.
        width = self.shape[1] + 1
        cover: NDArray = np.zeros(self.shape[0] * width, dtype=dtype)
        value: NDArray = np.zeros(self.shape[0] * width, dtype=dtype)
        np.add.at(cover, span_r * width + c0, 1)
        np.add.at(cover, span_r * width + c1, -1)
        np.add.at(value, span_r * width + c0, span_p + 1)
        np.add.at(value, span_r * width + c1, -(span_p + 1))
        cover = np.cumsum(cover.reshape(self.shape[0], width)[:, :-1], axis=1, dtype=dtype)
        raster: NDArray = np.cumsum(value.reshape(self.shape[0], width)[:, :-1], axis=1, dtype=dtype)
        raster -= 1  # p where one polygon covers the cell, −1 where none does
        raster[cover > 1] = EXACT
        return raster

    def _boundary_cells(self) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """(rows, cols) of every cell a polygon boundary passes through."""
        boundaries = shapely.segmentize(shapely.boundary(self.polygons), self.size / 2)
        coords, line = shapely.get_coordinates(boundaries, return_index=True)
        col = np.floor((coords[:, 0] - self.origin[0]) / self.size).astype(np.int64)
        row = np.floor((coords[:, 1] - self.origin[1]) / self.size).astype(np.int64)
        # A step to a diagonal neighbour passes through one of the two cells at the other corners: mark both.
        same = line[1:] == line[:-1]
        diag = same & (col[1:] != col[:-1]) & (row[1:] != row[:-1])
        rows = np.concatenate([row, row[:-1][diag], row[1:][diag]])
        cols = np.concatenate([col, col[1:][diag], col[:-1][diag]])
        return rows, cols

    def lookup(self, x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.int64]:
        """Index of the first polygon covering each point (x, y in the polygons' CRS), -1 where none does."""
        col = np.floor((x - self.origin[0]) / self.size)
        row = np.floor((y - self.origin[1]) / self.size)
        inside = (col >= 0) & (col < self.shape[1]) & (row >= 0) & (row < self.shape[0])  # NaN compares False
        result = np.full(len(x), NONE, dtype=np.int64)
        result[inside] = self.raster[row[inside].astype(np.int64), col[inside].astype(np.int64)]
        exact = np.flatnonzero(result == EXACT)
        result[exact] = self.exact(x[exact], y[exact])
        return result

    def exact(self, x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.int64]:
        """The same answer by shapely's covers for every point (the cells' fallback; also the reference)."""
        result = np.full(len(x), NONE, dtype=np.int64)
        if len(x) == 0:
            return result
        point, poly = self.tree.query(shapely.points(x, y), predicate="covered_by")
        order = np.lexsort((poly, point))
        point, poly = point[order], poly[order]
        first = np.ones(len(point), dtype=bool)
        first[1:] = point[1:] != point[:-1]
        result[point[first]] = poly[first]
        return result
