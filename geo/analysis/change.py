"""Year-over-year change per grid by the Poisson z-score 2(√C − √P); |z| > 3 is a real change, not noise."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sqlalchemy.orm import Session

from geo.maps.data import GridFrame, grid_count_matrix, grid_frame
from geo.maps.query import MapQuery, map_query
from geo.stats.window import Window, previous_window

# class key → (zh, en, colour), rises first; thresholds on z below.
CHANGE_CLASSES = {
    "rise_strong": ("显著上升 z ≥ 3", "Real rise, z ≥ 3", "#b2182b"),
    "rise": ("上升 2 ≤ z < 3", "Rise, 2 ≤ z < 3", "#ef8a62"),
    "stable": ("基本持平 |z| < 2", "Stable, |z| < 2", "#f0f0f0"),
    "fall": ("下降 −3 < z ≤ −2", "Fall, −3 < z ≤ −2", "#67a9cf"),
    "fall_strong": ("显著下降 z ≤ −3", "Real fall, z ≤ −3", "#2166ac"),
}


def poisson_z(current: NDArray[np.float64], previous: NDArray[np.float64]) -> NDArray[np.float64]:
    """2(√C − √P): approximately standard normal under 'no change' for Poisson counts."""
    return 2.0 * (np.sqrt(np.asarray(current, float)) - np.sqrt(np.asarray(previous, float)))


def classify_change(z: NDArray[np.float64]) -> NDArray[np.object_]:
    out = np.full(len(z), "stable", dtype=object)
    out[z >= 2] = "rise"
    out[z >= 3] = "rise_strong"
    out[z <= -2] = "fall"
    out[z <= -3] = "fall_strong"
    return out


def change_frame(session: Session, q: MapQuery, grids: GridFrame) -> tuple[pd.DataFrame, Window]:
    """Per-grid change of q's window against the same dates a year earlier, and that earlier window."""
    before = previous_window(q.window, "yoy")
    current, previous = grid_count_matrix(session, q.scope, grids, [q.window, before], q.categories)
    z = poisson_z(current, previous)
    out = pd.DataFrame(
        {
            "grid_code": grids.codes,
            "current": current.astype(int),
            "previous": previous.astype(int),
            "difference": (current - previous).astype(int),
            "z": np.round(z, 3),
            "class": classify_change(z),
        }
    )
    return out, before


def grid_change(
    session: Session,
    admin_code: str,
    start: dt.date,
    end: dt.date,
    categories: list[str] | str | None = None,
) -> pd.DataFrame:
    """Per active grid under admin_code: current, previous (a year earlier), difference, z, class."""
    q = map_query(session, admin_code, start, end, categories)
    return change_frame(session, q, grid_frame(session, q.scope))[0]
