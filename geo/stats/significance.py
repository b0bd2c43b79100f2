"""Tests of significance for counts: two Poisson counts compared exactly, many at once corrected by BH.

Two periods' counts C (over t₁ days) and P (over t₂ days) are compared by the conditional binomial test
(Przyborowski & Wilenski 1940): given C + P, under "the same daily rate" C is Binomial(C + P, t₁ / (t₁ + t₂)),
and the p-value is scipy.stats.binomtest's two-sided exact one. The analysts' z = 2(√C − √P) is kept as a
descriptive figure only: it is standard normal when P is a stable long-run mean, but for two single periods
its variance is about 2, so "|z| > 3" flags ~12× too often.

When many units are tested at once (the grids of a map, the categories or units of a panel), each p-value is
adjusted by Benjamini & Hochberg (1995) across them (scipy.stats.false_discovery_control), and a unit is
flagged only when the adjusted p is below ALPHA: at most ALPHA of the flags are expected to be false.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

ALPHA = 0.01  # a change is flagged when its (adjusted) p is below this
METHOD = "conditional binomial test (Przyborowski & Wilenski 1940), two-sided, exposure = days"
METHOD_ZH = "条件二项检验（两个泊松计数，按天数计暴露，双侧）"
BH_METHOD = "Benjamini–Hochberg FDR"


@lru_cache(maxsize=65536)
def poisson_rate_test(current: int, current_days: float, previous: int, previous_days: float) -> float:
    """Two-sided exact p-value that C in current_days and P in previous_days come from the same daily rate."""
    from scipy.stats import binomtest

    n = int(current) + int(previous)
    if n == 0:
        return 1.0
    share = current_days / (current_days + previous_days)
    return float(binomtest(int(current), n, share).pvalue)


def poisson_rate_tests(
    current: NDArray[np.float64], current_days: float, previous: NDArray[np.float64], previous_days: float
) -> NDArray[np.float64]:
    """poisson_rate_test for each pair (each distinct pair computed once: grids repeat small counts)."""
    pairs = np.column_stack([np.asarray(current, np.int64), np.asarray(previous, np.int64)])
    unique, inverse = np.unique(pairs, axis=0, return_inverse=True)
    p = np.array([poisson_rate_test(int(c), current_days, int(q), previous_days) for c, q in unique])
    return p[np.ravel(inverse)] if len(pairs) else np.empty(0)


def bh_adjust(p: NDArray[np.float64]) -> NDArray[np.float64]:
    """Benjamini–Hochberg adjusted p-values (reject at FDR q where adjusted p ≤ q); NaN entries stay NaN."""
    from scipy.stats import false_discovery_control

    p = np.asarray(p, dtype=float)
    out = np.full(len(p), np.nan)
    tested = np.isfinite(p)
    if tested.any():
        out[tested] = false_discovery_control(p[tested], method="bh")
    return out
