"""Statistics for any admin unit or grid: counts, period comparison, trend, 零发案, top grids, breakdowns, funnel."""

from geo.scope import Scope, resolve_scope
from geo.stats.breakdown import Breakdown, DisputeFunnel, breakdown, dispute_funnel
from geo.stats.grids import TopGrids, grid_counts, top_grids
from geo.stats.periods import Change, Comparison, Counts, change, compare_periods, counts, windowed_counts
from geo.stats.trend import Trend, trend
from geo.stats.window import LOCAL_TZ_NAME, Window, make_window, previous_window
from geo.stats.zero import CRIMINAL_CATEGORIES, ZeroIncident, zero_incident_communities

__all__ = [
    "CRIMINAL_CATEGORIES",
    "LOCAL_TZ_NAME",
    "Breakdown",
    "Change",
    "Comparison",
    "Counts",
    "DisputeFunnel",
    "Scope",
    "TopGrids",
    "Trend",
    "Window",
    "ZeroIncident",
    "breakdown",
    "change",
    "compare_periods",
    "counts",
    "dispute_funnel",
    "grid_counts",
    "make_window",
    "previous_window",
    "resolve_scope",
    "top_grids",
    "trend",
    "windowed_counts",
    "zero_incident_communities",
]
