"""The period test on simulated counts: no change flags at most the nominal share; a planted change is found.

Oracles: scipy.stats.binomtest (the conditional binomial test computed here from the raw counts) and
scipy.stats.false_discovery_control (Benjamini–Hochberg), never citygrid's own functions.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binomtest, false_discovery_control

from geo.stats.periods import change, flag_together
from geo.stats.significance import ALPHA, poisson_rate_tests

UNITS, MEAN, SEED = 1_000, 20.0, 20191


def _compare(current: np.ndarray, previous: np.ndarray, days: tuple[int, int] = (1, 1)) -> list:
    changes = [change(int(c), int(p), *days) for c, p in zip(current, previous, strict=True)]
    flag_together(changes)
    return changes


def test_equal_means_flag_at_most_the_nominal_share():
    rng = np.random.default_rng(SEED)
    current, previous = rng.poisson(MEAN, UNITS), rng.poisson(MEAN, UNITS)
    changes = _compare(current, previous)
    flagged = sum(c.significant for c in changes)
    assert flagged <= ALPHA * UNITS
    # Each unit alone, before the correction: the exact test keeps its level too (it is conservative).
    assert sum(c.p_value < ALPHA for c in changes) <= ALPHA * UNITS
    # The rule it replaces, |2(√C − √P)| > 3, flags far more than its nominal 0.27% on the same counts.
    z = 2 * (np.sqrt(current) - np.sqrt(previous))
    assert np.sum(np.abs(z) > 3) > 3 * 0.0027 * UNITS


def test_a_planted_change_is_found_and_p_values_match_the_oracles():
    rng = np.random.default_rng(SEED)
    planted = np.zeros(UNITS, dtype=bool)
    planted[:50] = True
    current = rng.poisson(np.where(planted, 4 * MEAN, MEAN))  # 50 units at 4× the rate, the rest unchanged
    previous = rng.poisson(MEAN, UNITS)
    changes = _compare(current, previous)
    flagged = np.array([c.significant for c in changes])
    assert flagged[planted].sum() >= 48  # found
    assert flagged[~planted].sum() <= ALPHA * UNITS  # and few false alarms
    p_oracle = np.array(
        [binomtest(int(c), int(c + p), 0.5).pvalue for c, p in zip(current, previous, strict=True)]
    )
    assert [c.p_value for c in changes] == pytest.approx(p_oracle, rel=1e-9)
    assert [c.p_adjusted for c in changes] == pytest.approx(false_discovery_control(p_oracle), rel=1e-9)
    assert (flagged == (false_discovery_control(p_oracle) < ALPHA)).all()


def test_exposure_in_days_enters_the_test():
    # 366 days against 365 with equal daily rates is no change; the vectorised form answers as the oracle.
    current, previous = np.array([366, 40, 0, 7]), np.array([365, 20, 0, 0])
    p = poisson_rate_tests(current, 366, previous, 365)
    oracle = [
        1.0 if c + q == 0 else binomtest(c, c + q, 366 / 731).pvalue
        for c, q in zip(current, previous, strict=True)
    ]
    assert p == pytest.approx(oracle, rel=1e-12)
    assert p[0] > 0.9
