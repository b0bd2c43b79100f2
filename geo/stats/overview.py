"""The headline figures of an area and period in one answer: grids, compounds, year-over-year change by
category (its comparison period named), zero-incident communities and the dispute funnel."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.scope import Scope, resolve_scope
from geo.stats.breakdown import DisputeFunnel, dispute_funnel
from geo.stats.filters import make_window
from geo.stats.periods import Comparison, compare_periods
from geo.stats.zero import ZeroIncident, zero_incident_communities

# Which grids and compounds an admin unit holds, through the admin tree (grid → community → town → county).
_IN_SCOPE = {
    "city": "TRUE",
    "county": "t.parent_code = :root",
    "town": "c.parent_code = :root",
    "community": "c.code = :root",
    "grid": "g.code = :root",
}


@dataclass
class Holdings:
    grids: int
    compounds: int
    three_no_compounds: int
    renovated_compounds: int


@dataclass
class Overview:
    scope: Scope
    start: dt.date
    end: dt.date
    holdings: Holdings
    year_over_year: Comparison
    zero_incident: ZeroIncident | None  # None for a grid: it holds no community
    disputes: DisputeFunnel | None  # None for a grid: nothing below it to break down


def holdings(session: Session, scope: Scope) -> Holdings:
    """Active grids and compounds (all, 三无, renovated) inside the scope."""
    cond = _IN_SCOPE[scope.level]
    params: dict[str, Any] = {"root": scope.code}
    grids = session.execute(
        text(f"""SELECT count(*) FROM grids g JOIN admin_units c ON c.code = g.community_code
                 JOIN admin_units t ON t.code = c.parent_code WHERE g.status = 'active' AND {cond}"""),
        params,
    ).scalar_one()
    compound_cond = "p.grid_code = :root" if scope.level == "grid" else cond
    row = session.execute(
        text(f"""SELECT count(*) AS n, count(*) FILTER (WHERE p.category = 'three_no') AS three_no,
                        count(*) FILTER (WHERE p.renovation_status = 'renovated') AS renovated
                 FROM compounds p JOIN admin_units c ON c.code = p.community_code
                 JOIN admin_units t ON t.code = c.parent_code WHERE {compound_cond}"""),
        params,
    ).one()
    return Holdings(int(grids), int(row.n), int(row.three_no), int(row.renovated))


def overview(session: Session, admin_code: str, start: dt.date, end: dt.date) -> Overview:
    """The seed's headline figures for admin_code over [start, end), compared with a year earlier."""
    scope = resolve_scope(session, admin_code)
    window = make_window(start, end)
    is_grid = scope.level == "grid"
    return Overview(
        scope=scope,
        start=window.start,
        end=window.end,
        holdings=holdings(session, scope),
        year_over_year=compare_periods(session, admin_code, start, end, None, "yoy"),
        zero_incident=None if is_grid else zero_incident_communities(session, admin_code, start, end),
        disputes=None if is_grid else dispute_funnel(session, admin_code, start, end),
    )
