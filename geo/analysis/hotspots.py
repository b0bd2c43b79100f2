"""Getis-Ord Gi* hot and cold spots on grid counts: permutation inference, Benjamini–Hochberg FDR correction.

Weights are binary contiguity (queen: grids touching at an edge or a corner, within 1 m so that digitising
slivers do not break a neighbourhood) with each grid its own neighbour (Gi*, star=True). The z-score is
esda's analytical standardised Gi*; the p-value is esda's pseudo p-value from conditional permutations
(folded: the share of permutations at least as extreme in the observed direction, as GeoDa and PySAL's
own hot-spot tutorials read it), then adjusted across all grids by Benjamini–Hochberg. With P
permutations no p is below 1/(P+1): with 999 and ~1,500 grids a 99% class needs ~150 grids at that
floor. The map says so; more permutations resolve smaller p-values at a proportional cost.
"""

from __future__ import annotations

import datetime as dt
import warnings
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from sqlalchemy.orm import Session

from geo.maps.data import GridFrame, grid_count_matrix, grid_frame
from geo.maps.query import map_query

PERMUTATIONS = 999
SEED = 20201220  # fixed: the same data give the same map
NEIGHBOUR_TOLERANCE_M = 1.0

# class key → (zh, en, colour), hot first; the order is the legend's.
GI_CLASSES = {
    "hot_99": ("热点 99% 置信", "Hot spot, 99% confidence", "#b2182b"),
    "hot_95": ("热点 95% 置信", "Hot spot, 95% confidence", "#ef8a62"),
    "hot_90": ("热点 90% 置信", "Hot spot, 90% confidence", "#fddbc7"),
    "not_significant": ("不显著", "Not significant", "#f0f0f0"),
    "cold_90": ("冷点 90% 置信", "Cold spot, 90% confidence", "#d1e5f0"),
    "cold_95": ("冷点 95% 置信", "Cold spot, 95% confidence", "#67a9cf"),
    "cold_99": ("冷点 99% 置信", "Cold spot, 99% confidence", "#2166ac"),
}

if TYPE_CHECKING:  # esda and libpysal cost seconds to import: only the analysis itself loads them
    from libpysal.weights import W


def contiguity_weights(metric_geoms: NDArray[np.object_], tolerance_m: float = NEIGHBOUR_TOLERANCE_M) -> W:
    """Binary queen contiguity between polygons (metres), tolerant to gaps of up to tolerance_m."""
    n = len(metric_geoms)
    tree = shapely.STRtree(metric_geoms)
    left, right = tree.query(metric_geoms, predicate="dwithin", distance=tolerance_m)
    neighbours: dict[int, list[int]] = {i: [] for i in range(n)}
    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        if a != b:
            neighbours[a].append(b)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # islands (a lone grid) are legitimate here
        from libpysal.weights import W

        return W(neighbours, silence_warnings=True)


def star_weights(weights: W) -> W:
    """Binary weights with each unit its own neighbour (the Gi* form esda expects for star=True)."""
    from libpysal.weights import fill_diagonal

    starred = fill_diagonal(weights, 1.0)
    starred.transform = "B"
    return starred


def benjamini_hochberg(p: NDArray[np.float64]) -> NDArray[np.float64]:
    """Benjamini–Hochberg adjusted p-values (a test is rejected at FDR q when its adjusted p ≤ q)."""
    p = np.asarray(p, dtype=float)
    n = len(p)
    if n == 0:
        return p
    order = np.argsort(p)
    scaled = p[order] * n / np.arange(1, n + 1)
    adjusted = np.minimum.accumulate(scaled[::-1])[::-1]
    out = np.empty(n)
    out[order] = np.minimum(adjusted, 1.0)
    return out


def classify(z: NDArray[np.float64], p_fdr: NDArray[np.float64]) -> NDArray[np.object_]:
    """hot_99/95/90, not_significant, cold_90/95/99 from the sign of z and the FDR-adjusted p."""
    out = np.full(len(z), "not_significant", dtype=object)
    for level, alpha in (("90", 0.10), ("95", 0.05), ("99", 0.01)):  # stricter levels overwrite
        sig = p_fdr <= alpha
        out[sig & (z > 0)] = f"hot_{level}"
        out[sig & (z < 0)] = f"cold_{level}"
    return out


def gi_star_counts(
    counts: NDArray[np.float64], weights: W, permutations: int = PERMUTATIONS, seed: int = SEED
) -> pd.DataFrame:
    """Gi* on counts in weights' order: columns count, z, p, p_fdr, class."""
    y = np.asarray(counts, dtype=float)
    n = len(y)
    if n < 3 or np.ptp(y) == 0:  # nothing to test: too few grids, or every grid alike (no variance)
        z, p = np.zeros(n), np.ones(n)
    else:
        import esda

        g = esda.G_Local(
            y,
            weights,
            transform="B",
            permutations=permutations,
            star=True,
            keep_simulations=False,
            n_jobs=1,
            seed=seed,
        )
        z = np.asarray(g.Zs, dtype=float)
        p = np.asarray(g.p_sim, dtype=float)
        # When a neighbourhood is the whole area (a handful of grids all touching) Gi* has no variance:
        # z is 0/0. Such a grid says nothing either way.
        undefined = ~np.isfinite(z)
        z[undefined], p[undefined] = 0.0, 1.0
    p_fdr = benjamini_hochberg(p)
    return pd.DataFrame({"count": y.astype(int), "z": z, "p": p, "p_fdr": p_fdr, "class": classify(z, p_fdr)})


def gi_star_frame(
    grids: GridFrame, counts: NDArray[np.float64], permutations: int = PERMUTATIONS, seed: int = SEED
) -> pd.DataFrame:
    """Gi* for the grids of a frame: columns grid_code, count, z, p, p_fdr, class (frame order)."""
    weights = grids.derived.get("gi_weights")
    if weights is None:  # contiguity depends only on the grid geometry: once per cached frame
        weights = grids.derived["gi_weights"] = star_weights(contiguity_weights(grids.metric))
    out = gi_star_counts(counts, weights, permutations, seed)
    out.insert(0, "grid_code", grids.codes)
    return out


def gi_star(
    session: Session,
    admin_code: str,
    start: dt.date,
    end: dt.date,
    categories: list[str] | str | None = None,
    permutations: int = PERMUTATIONS,
    seed: int = SEED,
) -> pd.DataFrame:
    """Gi* hot/cold spots of the active grids under admin_code for incidents in [start, end).

    Returns one row per grid (code order): grid_code, count, z, p (permutation pseudo p), p_fdr
    (Benjamini–Hochberg), class (a GI_CLASSES key).
    """
    q = map_query(session, admin_code, start, end, categories)
    grids = grid_frame(session, q.scope)
    counts = grid_count_matrix(session, q.scope, grids, [q.window], q.categories)[0]
    return gi_star_frame(grids, counts, permutations, seed)
