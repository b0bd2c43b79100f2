"""What a briefing says: the area's figures for the period, its two maps, and what it was made from."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.analysis.hotspots import GI_CLASSES, gi_star_frame
from geo.briefings import charts
from geo.maps.classify import classes
from geo.maps.data import admin_outlines, grid_count_matrix, grid_frame
from geo.scope import LEVEL_ORDER
from geo.stats import top_grids
from geo.stats.filters import LOCAL_TZ, make_window
from geo.stats.grids import TopGrids
from geo.stats.overview import Overview, overview

TOP_N = 10


@dataclass
class DataUsed:
    """The data a briefing was made from: when, and what the database held then."""

    made_at: dt.datetime
    incidents: int
    first_day: dt.date | None
    last_day: dt.date | None
    grids: int


@dataclass
class BriefingContent:
    overview: Overview
    top: TopGrids
    choropleth_png: bytes
    hotspot_png: bytes
    hot_grids: int
    data: DataUsed


def data_used(session: Session, as_of: dt.datetime | None = None) -> DataUsed:
    """Incidents held (from the daily roll-up: no scan of the incidents), their span, and active grids."""
    row = session.execute(
        text("""SELECT coalesce(sum(n), 0) AS n, min(day) AS first, max(day) AS last,
                       (SELECT count(*) FROM grids WHERE status = 'active') AS grids FROM incident_daily_counts""")
    ).one()
    made = as_of or session.execute(text("SELECT now()")).scalar_one()
    return DataUsed(made.astimezone(LOCAL_TZ), int(row.n), row.first, row.last, int(row.grids))


def _label_level(level: str) -> str | None:
    """The level whose names the maps print: the one below the area (a grid's own community for a grid)."""
    i = LEVEL_ORDER.index(level)
    return LEVEL_ORDER[i + 1] if i + 1 < len(LEVEL_ORDER) - 1 else "community"


def gather(
    session: Session, admin_code: str, start: dt.date, end: dt.date, as_of: dt.datetime | None = None
) -> BriefingContent:
    """Everything the briefing prints for admin_code over [start, end)."""
    figures = overview(session, admin_code, start, end)
    scope = figures.scope
    grids = grid_frame(session, scope)
    counts = grid_count_matrix(session, scope, grids, [make_window(start, end)], None)[0]
    outlines = admin_outlines(session, scope)
    label = _label_level(scope.level)
    gi = gi_star_frame(grids, counts)
    gi_classes: list[Any] = list(gi["class"])
    return BriefingContent(
        overview=figures,
        top=top_grids(session, admin_code, start, end, None, TOP_N),
        choropleth_png=charts.choropleth_png(grids, counts, classes(counts), outlines, label),
        hotspot_png=charts.hotspot_png(grids, gi_classes, GI_CLASSES, outlines, label),
        hot_grids=sum(1 for k in gi_classes if str(k).startswith("hot")),
        data=data_used(session, as_of),
    )
