"""Statistics for any admin unit or grid: counts, period comparison, trend, 零发案, top grids, breakdowns, funnel."""

from geo.localtime import LOCAL_TZ_NAME
from geo.scope import Scope, resolve_scope
from geo.stats.breakdown import Breakdown, DisputeFunnel, breakdown, dispute_funnel
from geo.stats.coverage import Coverage, PeriodCoverage, Span, coverage_report, data_coverage, period_coverage
from geo.stats.filters import Window, make_window
from geo.stats.grids import TopGrids, grid_counts, top_grids
from geo.stats.periods import Change, Comparison, Counts, change, compare_periods, counts, windowed_counts
from geo.stats.trend import Trend, trend
from geo.stats.windows import following_window, previous_window
from geo.stats.zero import CRIMINAL_CATEGORIES, ZeroIncident, zero_incident_communities

__all__ = [
    "CRIMINAL_CATEGORIES",
    "LOCAL_TZ_NAME",
    "Breakdown",
    "Change",
    "Comparison",
    "Counts",
    "Coverage",
    "DisputeFunnel",
    "PeriodCoverage",
    "Scope",
    "Span",
    "TopGrids",
    "Trend",
    "Window",
    "ZeroIncident",
    "breakdown",
    "change",
    "compare_periods",
    "counts",
    "coverage_report",
    "data_coverage",
    "dispute_funnel",
    "following_window",
    "grid_counts",
    "make_window",
    "period_coverage",
    "previous_window",
    "resolve_scope",
    "top_grids",
    "trend",
    "windowed_counts",
    "zero_incident_communities",
]
