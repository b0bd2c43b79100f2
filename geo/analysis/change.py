"""Change per grid between a window and the same dates a year earlier, by an exact test of the two counts.

Each grid's two counts are compared by the conditional binomial test for two Poisson counts (exposure = the
windows' days; geo.stats.significance), the p-values adjusted across the map's grids by Benjamini–Hochberg, and
a grid is drawn as a significant rise or fall only when its adjusted p is below ALPHA. The analysts' z-score
2(√C − √P) stays in the popups as a descriptive figure only (for two single periods its variance is ~2: "|z| > 3"
flagged about 12 times too often). Where the data do not cover both windows, every grid is "no data".
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sqlalchemy.orm import Session

from geo.maps.data import GridFrame, grid_count_matrix, grid_frame
from geo.maps.query import MapQuery, map_query
from geo.stats.coverage import data_coverage, scope_county
from geo.stats.filters import Window
from geo.stats.significance import ALPHA, bh_adjust, poisson_rate_tests
from geo.stats.windows import previous_window

# class key → (zh, en, colour), rises first.
CHANGE_CLASSES = {
    "rise": (f"显著上升（精确检验，BH q<{ALPHA}）", f"Significant rise (exact test, BH q<{ALPHA})", "#b2182b"),
    "stable": ("无显著变化", "No significant change", "#f0f0f0"),
    "fall": (f"显著下降（精确检验，BH q<{ALPHA}）", f"Significant fall (exact test, BH q<{ALPHA})", "#2166ac"),
    "no_data": ("无数据（时段超出数据范围）", "No data (period outside the data)", "#d9d9d9"),
}


def poisson_z(current: NDArray[np.float64], previous: NDArray[np.float64]) -> NDArray[np.float64]:
    """2(√C − √P): a descriptive figure (not a test: for two single periods its variance is ~2)."""
    return 2.0 * (np.sqrt(np.asarray(current, float)) - np.sqrt(np.asarray(previous, float)))


def classify_change(
    current: NDArray[np.float64], previous: NDArray[np.float64], p_adjusted: NDArray[np.float64]
) -> NDArray[np.object_]:
    """rise / fall where the BH-adjusted p is below ALPHA (direction from the counts), else stable."""
    out = np.full(len(current), "stable", dtype=object)
    sig = np.asarray(p_adjusted) < ALPHA
    out[sig & (current > previous)] = "rise"
    out[sig & (current < previous)] = "fall"
    return out


def change_table(
    codes: list[str], current: NDArray[np.float64], previous: NDArray[np.float64], windows: tuple[Window, Window]
) -> pd.DataFrame:
    """Per-grid counts, difference, descriptive z, exact p, BH-adjusted p and class (data covering both)."""
    p = poisson_rate_tests(current, windows[0].days, previous, windows[1].days)
    q = bh_adjust(p)
    return pd.DataFrame(
        {
            "grid_code": codes,
            "current": current.astype(int),
            "previous": previous.astype(int),
            "difference": (current - previous).astype(int),
            "z": np.round(poisson_z(current, previous), 3),
            "p": p,
            "p_adjusted": q,
            "class": classify_change(current, previous, q),
        }
    )


def change_frame(session: Session, q: MapQuery, grids: GridFrame) -> tuple[pd.DataFrame, Window, str]:
    """Per-grid change of q's window against the same dates a year earlier; that window; the comparison status.

    status is geo.stats.coverage's: ok, partial or no_data. Unless ok, nothing is flagged: every class is no_data
    and p, p_adjusted are NaN (the counts are shown).
    """
    before = previous_window(q.window, "yoy")
    status = data_coverage(session).comparison_status(q.window, before, scope_county(session, q.scope))
    current, previous = grid_count_matrix(session, q.scope, grids, [q.window, before], q.categories)
    out = change_table(grids.codes, current, previous, (q.window, before))
    if status != "ok":
        out["p"], out["p_adjusted"], out["class"] = np.nan, np.nan, "no_data"
    return out, before, status


def grid_change(
    session: Session,
    admin_code: str,
    start: dt.date,
    end: dt.date,
    categories: list[str] | str | None = None,
) -> pd.DataFrame:
    """Per active grid under admin_code: current, previous (a year earlier), difference, z, p, p_adjusted, class."""
    q = map_query(session, admin_code, start, end, categories)
    return change_frame(session, q, grid_frame(session, q.scope))[0]
