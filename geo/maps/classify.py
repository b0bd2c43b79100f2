"""Natural-breaks classes for choropleths: exact Fisher–Jenks, vectorised, deterministic.

mapclassify's NaturalBreaks is k-means with random starts (its breaks differ from run to run) and its exact
FisherJenks is pure Python without numba (~20 s for 1,537 grids). Grid counts repeat a lot, so the same
optimum (least within-class squared deviation) is found here on the distinct values weighted by how often
they occur, with numpy, in milliseconds; mapclassify.UserDefined then classes the values with those breaks.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

MAX_DISTINCT = 4000  # u² floats per class; beyond this mapclassify's sampled Fisher–Jenks is used


def fisher_jenks_breaks(values: NDArray[np.float64], k: int = 5) -> list[float]:
    """Upper bounds of k classes minimising the within-class sum of squared deviations (fewer if few values)."""
    y = np.asarray(values, dtype=float)
    y = y[np.isfinite(y)]
    if len(y) == 0:
        return []
    distinct, weight = np.unique(y, return_counts=True)
    u = len(distinct)
    k = max(1, min(k, u))
    if u > MAX_DISTINCT:
        import mapclassify  # seconds to import (it pulls matplotlib): loaded on first use

        return [float(b) for b in mapclassify.FisherJenksSampled(y, k=k).bins]
    w = np.concatenate([[0.0], np.cumsum(weight)])
    s1 = np.concatenate([[0.0], np.cumsum(weight * distinct)])
    s2 = np.concatenate([[0.0], np.cumsum(weight * distinct**2)])
    a = np.arange(u)[:, None]  # first distinct value of a class
    b = np.arange(u)[None, :]  # last distinct value of a class
    valid = a <= b
    with np.errstate(invalid="ignore", divide="ignore"):
        n = w[b + 1] - w[a]
        ssd = np.where(valid, (s2[b + 1] - s2[a]) - (s1[b + 1] - s1[a]) ** 2 / np.where(valid, n, 1), np.inf)
    cost = ssd[0].copy()  # one class covering 0..b
    starts = [np.zeros(u, dtype=np.int64)]
    for _ in range(1, k):
        prev = np.concatenate([[np.inf], cost[:-1]])  # best cost of the classes before a class starting at a
        total = prev[:, None] + ssd
        best = np.argmin(total, axis=0)
        cost = total[best, np.arange(u)]
        starts.append(best)
    # Walk back from the last value: each class's start gives the previous class's end.
    bounds, end = [], u - 1
    for level in range(k - 1, -1, -1):
        bounds.append(float(distinct[end]))
        end = int(starts[level][end]) - 1
        if end < 0:
            break
    return sorted(bounds)


def classes(values: NDArray[np.float64], k: int = 5) -> tuple[NDArray[np.int64], list[float]]:
    """Class index of each value (−1 where NaN) and the upper bounds, by natural breaks."""
    y = np.asarray(values, dtype=float)
    out = np.full(len(y), -1, dtype=np.int64)
    breaks = fisher_jenks_breaks(y, k)
    finite = np.isfinite(y)
    if breaks and finite.any():
        import mapclassify

        out[finite] = mapclassify.UserDefined(y[finite], breaks).yb
    return out, breaks
