"""Getis-Ord Gi* hot and cold spots of grids: two-sided permutation p-values, Benjamini–Hochberg FDR, rates.

Gi* (Getis & Ord 1992; Ord & Getis 1995): binary contiguity weights (queen: grids touching at an edge or a
corner, within 1 m so that digitising slivers do not break a neighbourhood), each grid its own neighbour
(star=True). The z-score is esda's analytical standardised Gi*. The p-value is two-sided: esda draws the
conditional permutations (fixed seed) and the p-value is twice the smaller one-sided one, each from
esda.significance ('greater', 'lesser': (draws at least as extreme + 1)/(P + 1)), at most 1. esda's own p_sim is
"directed", half of that, which is what the maps used to label "99% 置信". Two alternatives were rejected:
esda's equal-tailed "two-sided" reads percentiles, which ties between draws (few distinct counts on a small map)
throw off (a planted 3×3 cluster in 36 grids: p 0.10 against 0.013); folding the draws about their mean
("folded") would hardly ever find a cold spot, since a Gi* of counts is right-skewed under permutation. The p-values are then adjusted across all grids by Benjamini & Hochberg (1995), and the classes say
exactly that: 热点（双侧 FDR q<0.01）. With P permutations no p is below 1/(P+1); the map states P and the seed.

What is tested: counts, or rates where grids differ much in size (0.12–58 km² in 渭滨区: on counts, "cold" mostly
meant "a large rural grid"). measure 'auto' takes incidents per 1,000 households (the population at risk) when
the largest grid is more than AREA_RATIO_FOR_RATES times the smallest and every grid has households; per km²
when some have none; counts when grids are alike in size. Per km² is offered but is not the default: it ranks
grids by their size even more than counts do (渭滨区 2019: Spearman ρ with area −0.97, against −0.70 for counts
and −0.78 per 1,000 households). With measure 'rate', grids with no households are not tested (drawn as no data).
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

from geo.errors import InvalidInput
from geo.maps.data import GridFrame, grid_count_matrix, grid_frame
from geo.maps.query import map_query
from geo.stats.significance import bh_adjust

PERMUTATIONS = 999
SEED = 20201220  # fixed: the same data give the same map
NEIGHBOUR_TOLERANCE_M = 1.0
AREA_RATIO_FOR_RATES = 10.0

# measure → (zh, en): what Gi* is computed on.
GI_MEASURES = {
    "count": ("事件数", "incident counts"),
    "density": ("每平方公里事件数", "incidents per km²"),
    "rate": ("每千户事件数", "incidents per 1,000 households"),
}

# class key → (zh, en, colour), hot first; the order is the legend's.
GI_CLASSES = {
    "hot_99": ("热点（双侧 FDR q<0.01）", "Hot spot (two-sided, FDR q<0.01)", "#b2182b"),
    "hot_95": ("热点（双侧 FDR q<0.05）", "Hot spot (two-sided, FDR q<0.05)", "#ef8a62"),
    "hot_90": ("热点（双侧 FDR q<0.10）", "Hot spot (two-sided, FDR q<0.10)", "#fddbc7"),
    "not_significant": ("不显著", "Not significant", "#f0f0f0"),
    "cold_90": ("冷点（双侧 FDR q<0.10）", "Cold spot (two-sided, FDR q<0.10)", "#d1e5f0"),
    "cold_95": ("冷点（双侧 FDR q<0.05）", "Cold spot (two-sided, FDR q<0.05)", "#67a9cf"),
    "cold_99": ("冷点（双侧 FDR q<0.01）", "Cold spot (two-sided, FDR q<0.01)", "#2166ac"),
    "no_data": ("无户数数据，未参与检验", "No household data: not tested", "#d9d9d9"),
}
HOT_CLASSES = ("hot_99", "hot_95", "hot_90")

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


def classify(z: NDArray[np.float64], p_fdr: NDArray[np.float64]) -> NDArray[np.object_]:
    """hot_99/95/90, not_significant, cold_90/95/99 from the sign of z and the FDR-adjusted p; NaN: no_data."""
    out = np.full(len(z), "not_significant", dtype=object)
    for level, alpha in (("90", 0.10), ("95", 0.05), ("99", 0.01)):  # stricter levels overwrite
        sig = p_fdr < alpha
        out[sig & (z > 0)] = f"hot_{level}"
        out[sig & (z < 0)] = f"cold_{level}"
    out[np.isnan(p_fdr)] = "no_data"
    return out


def gi_star_values(
    values: NDArray[np.float64], weights: W, permutations: int = PERMUTATIONS, seed: int = SEED
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(z, two-sided permutation p) of Gi* on values in weights' order."""
    y = np.asarray(values, dtype=float)
    n = len(y)
    if n < 3 or np.ptp(y) == 0:  # nothing to test: too few grids, or every grid alike (no variance)
        return np.zeros(n), np.ones(n)
    import esda
    from esda.significance import calculate_significance

    with warnings.catch_warnings():
        # esda warns that its permutation p_sim is "directed"; the two-sided p is computed below from the sims.
        warnings.simplefilter("ignore", DeprecationWarning)
        g = esda.G_Local(
            y,
            weights,
            transform="B",
            permutations=permutations,
            star=True,
            keep_simulations=True,
            n_jobs=1,
            seed=seed,
        )
    z = np.asarray(g.Zs, dtype=float)
    greater = np.asarray(calculate_significance(g.Gs, g.rGs, alternative="greater"), dtype=float)
    lesser = np.asarray(calculate_significance(g.Gs, g.rGs, alternative="lesser"), dtype=float)
    p = np.minimum(1.0, 2.0 * np.minimum(greater, lesser))
    # When a neighbourhood is the whole area (a handful of grids all touching) Gi* has no variance:
    # z is 0/0. Such a grid says nothing either way.
    undefined = ~np.isfinite(z)
    z[undefined], p[undefined] = 0.0, 1.0
    return z, p


def choose_measure(measure: str | None, areas_m2: NDArray[np.float64], households: NDArray[np.float64]) -> str:
    """The measure Gi* runs on: as asked, or (auto) a rate when grid sizes differ more than 10×."""
    if measure in (None, "auto"):
        positive = areas_m2[areas_m2 > 0]
        spread = positive.max() / positive.min() if len(positive) else 1.0
        if spread <= AREA_RATIO_FOR_RATES:
            return "count"
        return "rate" if bool(np.all(households > 0)) else "density"
    if measure not in GI_MEASURES:
        raise InvalidInput(
            f"measure must be auto or one of {', '.join(GI_MEASURES)}; got '{measure}'", field="measure"
        )
    return measure


def measure_values(grids: GridFrame, counts: NDArray[np.float64], measure: str) -> NDArray[np.float64]:
    """The tested value per grid: the count, per km², or per 1,000 households (NaN without households)."""
    if measure == "density":
        return counts / (grids.area_m2 / 1e6)
    if measure == "rate":
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(grids.households > 0, counts / grids.households * 1000.0, np.nan)
    return np.asarray(counts, dtype=float)


def _weights_for(grids: GridFrame, tested: NDArray[np.bool_]) -> W:
    # Contiguity depends only on the geometry and the grids tested: once per cached frame and subset.
    key = "gi_weights:" + ",".join(map(str, np.flatnonzero(~tested).tolist()))
    weights = grids.derived.get(key)
    if weights is None:
        weights = grids.derived[key] = star_weights(contiguity_weights(grids.metric[tested]))
    return weights


def gi_star_frame(
    grids: GridFrame,
    counts: NDArray[np.float64],
    permutations: int = PERMUTATIONS,
    seed: int = SEED,
    measure: str | None = "auto",
) -> pd.DataFrame:
    """Gi* for the grids of a frame: grid_code, count, value (what was tested), z, p, p_fdr, class (frame order).

    frame.attrs["measure"] names what was tested (count, density or rate).
    """
    chosen = choose_measure(measure, grids.area_m2, grids.households)
    values = measure_values(grids, np.asarray(counts, float), chosen)
    tested = np.isfinite(values)
    z, p = np.zeros(len(values)), np.full(len(values), np.nan)
    if tested.any():
        z[tested], p[tested] = gi_star_values(values[tested], _weights_for(grids, tested), permutations, seed)
    p_fdr = bh_adjust(p)
    out = pd.DataFrame(
        {
            "grid_code": grids.codes,
            "count": np.asarray(counts).astype(int),
            "value": values,
            "z": z,
            "p": p,
            "p_fdr": p_fdr,
            "class": classify(z, p_fdr),
        }
    )
    out.attrs.update(measure=chosen, permutations=permutations, seed=seed)
    return out


def gi_star(
    session: Session,
    admin_code: str,
    start: dt.date,
    end: dt.date,
    categories: list[str] | str | None = None,
    permutations: int = PERMUTATIONS,
    seed: int = SEED,
    measure: str | None = "auto",
) -> pd.DataFrame:
    """Gi* hot/cold spots of the active grids under admin_code for incidents in [start, end).

    Returns one row per grid (code order): grid_code, count, value (the tested measure), z, p (two-sided
    permutation p), p_fdr (Benjamini–Hochberg), class (a GI_CLASSES key).
    """
    q = map_query(session, admin_code, start, end, categories)
    grids = grid_frame(session, q.scope)
    counts = grid_count_matrix(session, q.scope, grids, [q.window], q.categories)[0]
    return gi_star_frame(grids, counts, permutations, seed, measure)
