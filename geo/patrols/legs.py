"""Legs between patrol stops: straight lines in metres, or shortest paths on the roads table when it has rows.

A `LegRouter` turns n lon/lat points into `Legs`: an n×n matrix of metres and, for any pair, the path
to draw. `StraightLegs` is the default (no road network ships with the demo); `RoadLegs` follows the
roads graph (scipy's Dijkstra; pgRouting is not installed) and falls back to a straight leg, flagged,
between points the network does not connect.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import Transformer
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.crs import METRIC_EPSG

_TO_METRIC = Transformer.from_crs(4326, METRIC_EPSG, always_xy=True)
_TO_LONLAT = Transformer.from_crs(METRIC_EPSG, 4326, always_xy=True)
DENSIFY_M = 25.0  # road vertices at most this far apart, so snapping to the nearest vertex errs < 12.5 m
ROAD_MARGIN_M = 2000.0  # roads this far beyond the points' box are loaded (detours leave the box)


def to_metric(lonlat: NDArray[np.float64]) -> NDArray[np.float64]:
    x, y = _TO_METRIC.transform(lonlat[:, 0], lonlat[:, 1])
    return np.column_stack([x, y])


def to_lonlat(xy: NDArray[np.float64]) -> NDArray[np.float64]:
    lon, lat = _TO_LONLAT.transform(xy[:, 0], xy[:, 1])
    return np.column_stack([lon, lat])


def _pairs(lonlat: NDArray[np.float64]) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in lonlat]


class Legs(Protocol):
    metres: NDArray[np.float64]

    def path(self, i: int, j: int) -> list[tuple[float, float]]: ...


class LegRouter(Protocol):
    name: str

    def legs(self, lonlat: NDArray[np.float64]) -> Legs: ...


@dataclass
class StraightLegs:
    """Straight legs in EPSG:32648."""

    lonlat: NDArray[np.float64]
    metres: NDArray[np.float64]

    def path(self, i: int, j: int) -> list[tuple[float, float]]:
        return _pairs(self.lonlat[[i, j]])


class StraightRouter:
    name = "straight"

    def legs(self, lonlat: NDArray[np.float64]) -> StraightLegs:
        xy = to_metric(lonlat)
        return StraightLegs(lonlat, np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1)))


@dataclass
class RoadGraph:
    """Road vertices (metres) and a directed sparse graph of segment lengths."""

    xy: NDArray[np.float64]
    graph: csr_matrix

    @classmethod
    def from_lines(cls, lines: NDArray[np.object_], oneway: NDArray[np.bool_]) -> RoadGraph:
        """Build the graph from metric LineStrings; lines sharing a vertex (to 1 cm) connect there."""
        dense = shapely.segmentize(np.asarray(lines), DENSIFY_M)
        allxy, line_of = shapely.get_coordinates(dense, return_index=True)
        seg = np.flatnonzero(line_of[1:] == line_of[:-1])  # consecutive vertices of one line
        keys = np.round(allxy * 100).astype(np.int64)
        uniq, node_of = np.unique(keys, axis=0, return_inverse=True)
        node_of = node_of.ravel()
        xy = uniq / 100.0
        a, b = node_of[seg], node_of[seg + 1]
        two = ~np.asarray(oneway, dtype=bool)[line_of[seg]]
        src = np.concatenate([a, b[two]])
        dst = np.concatenate([b, a[two]])
        w = np.sqrt(((xy[src] - xy[dst]) ** 2).sum(-1))
        keep = src != dst
        src, dst, w = src[keep], dst[keep], w[keep]
        # csr_matrix sums duplicate edges; keep the shortest of parallel edges instead.
        order = np.lexsort((w, dst, src))
        src, dst, w = src[order], dst[order], w[order]
        first = np.ones(len(src), dtype=bool)
        first[1:] = (src[1:] != src[:-1]) | (dst[1:] != dst[:-1])
        n = len(xy)
        graph = csr_matrix((np.maximum(w[first], 1e-6), (src[first], dst[first])), shape=(n, n))
        return cls(xy, graph)


@dataclass
class RoadLegs:
    """Legs along the road graph: connector to the nearest vertex, shortest path, connector out."""

    lonlat: NDArray[np.float64]
    xy: NDArray[np.float64]
    roads: RoadGraph
    snap: NDArray[np.int64]  # nearest road vertex of each point
    rows: NDArray[np.int64]  # each point's row in predecessors
    metres: NDArray[np.float64]
    predecessors: NDArray[np.int64]
    straight_pairs: set[tuple[int, int]] = field(default_factory=set)

    def path(self, i: int, j: int) -> list[tuple[float, float]]:
        if (i, j) in self.straight_pairs or i == j:
            return _pairs(self.lonlat[[i, j]])
        nodes = [int(self.snap[j])]
        while nodes[-1] != self.snap[i]:
            nodes.append(int(self.predecessors[self.rows[i], nodes[-1]]))
        pts = to_lonlat(self.roads.xy[nodes[::-1]])
        return _pairs(np.vstack([self.lonlat[i], pts, self.lonlat[j]]))


class RoadRouter:
    name = "roads"

    def __init__(self, roads: RoadGraph):
        self.roads = roads

    def legs(self, lonlat: NDArray[np.float64]) -> RoadLegs:
        xy = to_metric(lonlat)
        connector, snap = cKDTree(self.roads.xy).query(xy)
        sources = np.unique(snap)
        dist, pred = dijkstra(self.roads.graph, directed=True, indices=sources, return_predecessors=True)
        row_of = {int(s): r for r, s in enumerate(sources)}
        rows = np.array([row_of[int(s)] for s in snap])
        net = dist[rows][:, snap]
        metres = connector[:, None] + net + connector[None, :]
        straight = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1))
        # Points the network does not connect get a straight leg (flagged) rather than no leg at all.
        cut = ~np.isfinite(metres)
        np.fill_diagonal(metres, 0.0)
        metres[cut] = straight[cut]
        pairs = {(int(a), int(b)) for a, b in zip(*np.nonzero(cut), strict=True)}
        return RoadLegs(lonlat, xy, self.roads, snap.astype(np.int64), rows, metres, pred, pairs)


def load_road_graph(session: Session, bbox: tuple[float, float, float, float]) -> RoadGraph | None:
    """The roads within bbox (lon/lat) grown by ROAD_MARGIN_M as a graph, or None if there are none."""
    lat = max(abs(bbox[1]), abs(bbox[3]))
    dx = ROAD_MARGIN_M / (111320.0 * np.cos(np.radians(min(lat, 89.0))))
    dy = ROAD_MARGIN_M / 110574.0
    rows = session.execute(
        text(
            f"""SELECT ST_AsBinary(ST_Transform(geom, {METRIC_EPSG})) AS wkb, oneway FROM roads
                WHERE geom && ST_MakeEnvelope(:x1, :y1, :x2, :y2, 4326)"""
        ),
        {"x1": bbox[0] - dx, "y1": bbox[1] - dy, "x2": bbox[2] + dx, "y2": bbox[3] + dy},
    ).all()
    if not rows:
        return None
    geoms = shapely.from_wkb([bytes(r.wkb) for r in rows])
    return RoadGraph.from_lines(geoms, np.array([bool(r.oneway) for r in rows]))


def make_router(session: Session, lonlat: NDArray[np.float64]) -> LegRouter:
    """RoadRouter when the roads table has rows around the points, else StraightRouter."""
    bbox = (lonlat[:, 0].min(), lonlat[:, 1].min(), lonlat[:, 0].max(), lonlat[:, 1].max())
    graph = load_road_graph(session, bbox)
    return RoadRouter(graph) if graph is not None and len(graph.xy) else StraightRouter()
