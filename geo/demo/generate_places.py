# mypy: disable-error-code="attr-defined,arg-type,index,assignment,return-value,call-overload,str-bytes-safe"
# (the pandas and shapely stubs type row tuples and object arrays of geometries too loosely to check here)
"""Where incidents happen: hot spots (stations, markets, old compounds) and each grid's pool of addresses."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from geo.demo.generate_partition import Tree
from geo.demo.generate_space import STATIONS, xy_from_lonlat

Array = NDArray[np.float64]


@dataclass
class Hotspots:
    """Points that draw incidents: plane x, y, a spread (m), a strength and a label."""

    x: Array
    y: Array
    sigma: Array
    strength: Array
    label: list[str]
    kind: list[str]  # station, market or compound

    def kernel(self, x: Array, y: Array, extra_sigma: Array | float = 0.0) -> Array:
        """Σ strength · exp(−d²/2(σ²+s²)) · σ²/(σ²+s²) at the points (s: the points' own spread)."""
        extra = np.broadcast_to(np.asarray(extra_sigma, dtype=float), np.shape(x))
        if len(x) * len(self.x) <= 4_000_000:
            s2 = self.sigma[None, :] ** 2 + extra[:, None] ** 2
            d2 = (x[:, None] - self.x[None, :]) ** 2 + (y[:, None] - self.y[None, :]) ** 2
            return (self.strength[None, :] * np.exp(-d2 / (2 * s2)) * self.sigma[None, :] ** 2 / s2).sum(axis=1)
        # Many points: only pairs within 4 spreads matter, found with a k-d tree.
        if np.any(extra):
            raise ValueError("per-point spread is only supported for few points")
        tree = cKDTree(np.column_stack([x, y]))
        out = np.zeros(len(x))
        near = tree.query_ball_point(np.column_stack([self.x, self.y]), 4.0 * self.sigma)
        for h, idx in enumerate(near):
            idx = np.asarray(idx, dtype=np.int64)
            d2 = (x[idx] - self.x[h]) ** 2 + (y[idx] - self.y[h]) ** 2
            out[idx] += self.strength[h] * np.exp(-d2 / (2 * self.sigma[h] ** 2))
        return out


def hotspots(tree: Tree, compounds: pd.DataFrame) -> Hotspots:
    """Stations; two markets in each street (its most crowded grids); a market at each town's seat;
    the not yet renovated compounds (weakly: incidents inside compounds are placed separately)."""
    sx, sy = xy_from_lonlat(np.array([s[1] for s in STATIONS]), np.array([s[2] for s in STATIONS]))
    xs, ys, sig, strength = list(sx), list(sy), [300.0] * len(sx), [6.0] * len(sx)
    label, kind = [s[0] for s in STATIONS], ["station"] * len(sx)
    grids = tree.grids.assign(density=tree.grids["population"] / shapely.area(tree.grids["geom"].to_numpy()))
    kinds = tree.towns.set_index("code")["kind"]
    com_names = tree.communities.set_index("code")["name"]
    for town_code, group in grids.groupby("town_code"):
        street = kinds[town_code] == "street"
        top = group.nlargest(2 if street else 1, "density")
        for g in top.itertuples():
            c = shapely.point_on_surface(g.geom)
            xs.append(c.x)
            ys.append(c.y)
            sig.append(250.0)
            strength.append(3.0 if street else 2.0)
            label.append(com_names[g.community_code] + ("农贸市场" if street else "集市"))
            kind.append("market")
    waiting = compounds[compounds["renovation_status"] != "renovated"]
    centre = shapely.centroid(waiting["geom"].to_numpy())
    xs += list(shapely.get_x(centre))
    ys += list(shapely.get_y(centre))
    sig += [150.0] * len(waiting)
    strength += [1.0] * len(waiting)
    label += list(waiting["name"])
    kind += ["compound"] * len(waiting)
    return Hotspots(np.array(xs), np.array(ys), np.array(sig), np.array(strength), label, kind)


@dataclass
class Addresses:
    """Candidate incident locations: per grid, evenly spread points, their weights and compound (0: none)."""

    x: Array
    y: Array
    grid: NDArray[np.int64]  # index into tree.grids
    compound: NDArray[np.int64]  # compound id covering the point, 0 when none
    crime_weight: Array  # hot spots matter a lot for crime
    mild_weight: Array  # and less for services, disputes, hazards
    start: NDArray[np.int64]  # addresses of grid g are start[g]:start[g + 1]


def addresses(
    tree: Tree, compounds: pd.DataFrame, spots: Hotspots, per_grid: NDArray[np.int64], rng: np.random.Generator
) -> Addresses:
    """per_grid[g] uniform points inside each grid (bounding-box sampling, vectorised per grid)."""
    geoms = tree.grids["geom"].to_numpy()
    xs, ys, owner = [], [], []
    for g, (geom, want) in enumerate(zip(geoms, per_grid, strict=True)):
        minx, miny, maxx, maxy = geom.bounds
        fill = geom.area / ((maxx - minx) * (maxy - miny))
        got_x: list[Array] = []
        got = 0
        while got < want:
            m = int((want - got) / fill * 1.3) + 8
            px, py = rng.uniform(minx, maxx, m), rng.uniform(miny, maxy, m)
            inside = shapely.contains_xy(geom, px, py)
            got_x.append(np.column_stack([px[inside], py[inside]]))
            got += int(inside.sum())
        pts = np.concatenate(got_x)[:want]
        xs.append(pts[:, 0])
        ys.append(pts[:, 1])
        owner.append(np.full(want, g))
    x, y, grid = np.concatenate(xs), np.concatenate(ys), np.concatenate(owner)
    compound = np.zeros(len(x), dtype=np.int64)
    pt_idx, poly_idx = shapely.STRtree(compounds["geom"].to_numpy()).query(
        shapely.points(x, y), predicate="within"
    )
    compound[pt_idx] = compounds["id"].to_numpy()[poly_idx]
    hot = spots.kernel(x, y)
    start = np.r_[0, np.cumsum(per_grid)]
    return Addresses(x, y, grid, compound, 1.0 + 4.0 * hot, 1.0 + 0.5 * hot, start)
