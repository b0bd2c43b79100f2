"""Counts by grid, on the stored grid_code or on the grid boundaries as they were (grid_versions)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.errors import InvalidInput
from geo.scope import Scope, resolve_scope
from geo.stats.filters import Window, category_filter, category_keys, make_window, parse_categories
from geo.stats.periods import WindowOut, range_condition, windowed_counts

BOUNDARIES = ("current", "historic")
MAX_TOP = 1000

# The grid versions inside a scope, for historic counting ({a}: table alias; binds :scope_code).
_VERSION_SCOPE = {
    "city": "TRUE",
    "county": """{a}.community_code IN (SELECT c.code FROM admin_units c JOIN admin_units t ON t.code = c.parent_code
                 WHERE t.parent_code = :scope_code)""",
    "town": "{a}.community_code IN (SELECT code FROM admin_units WHERE parent_code = :scope_code)",
    "community": "{a}.community_code = :scope_code",
    "grid": "{a}.grid_code = :scope_code",
}


def check_boundaries(boundaries: str) -> None:
    if boundaries not in BOUNDARIES:
        raise InvalidInput(
            f"boundaries must be one of {', '.join(BOUNDARIES)}; got '{boundaries}'", field="boundaries"
        )


def grid_counts(
    session: Session,
    scope: Scope,
    windows: list[Window],
    categories: list[str] | None,
    boundaries: str = "current",
) -> dict[str, list[int]]:
    """{grid code: [count per window]}: 'current' uses incidents.grid_code; 'historic' the grid at the time."""
    check_boundaries(boundaries)
    if boundaries == "current":
        rows = windowed_counts(session, scope, windows, categories, ("grid",), "i.grid_code IS NOT NULL")
        return {k[0]: v for k, v in rows.items()}
    params: dict[str, Any] = dict(scope.params)
    if categories:
        params["cats"] = categories
    filters = []
    for k, w in enumerate(windows):
        params[f"s{k}"], params[f"e{k}"] = w.start_at, w.end_at
        filters.append(f"count(*) FILTER (WHERE h.occurred_at >= :s{k} AND h.occurred_at < :e{k})")
    # Each incident counts once, in the grid version valid when it happened; a point on an edge shared by
    # two grids goes to the lower grid code. The choice is made among all grids before the scope filter, so
    # an edge point is never counted in two scopes. The bbox of the scope's versions only prunes work.
    scoped = scope.level != "city"
    prune = (
        f"i.geom && (SELECT ST_SetSRID(ST_Extent(sv.geom)::geometry, 4326) FROM grid_versions sv "
        f"WHERE {_VERSION_SCOPE[scope.level].format(a='sv')})"
        if scoped
        else "TRUE"
    )
    sql = f"""
        WITH hits AS (
            SELECT DISTINCT ON (i.id) i.id, i.occurred_at, gv.grid_code, gv.community_code
            FROM incidents i
            JOIN grid_versions gv
              ON ST_Covers(gv.geom, i.geom)
             AND gv.valid_from <= i.occurred_at
             AND i.occurred_at < coalesce(gv.valid_to, 'infinity'::timestamptz)
            WHERE {category_filter(categories)} AND {range_condition(windows, params)} AND {prune}
            ORDER BY i.id, gv.grid_code
        )
        SELECT h.grid_code, {", ".join(filters)} FROM hits h
        WHERE {_VERSION_SCOPE[scope.level].format(a="h")}
        GROUP BY h.grid_code
    """
    return {r[0]: [int(v) for v in r[1:]] for r in session.execute(text(sql), params)}


@dataclass
class GridCount:
    rank: int
    grid_code: str
    grid_name: str | None
    community_code: str | None
    community_name: str | None
    town_code: str | None
    town_name: str | None
    county_code: str | None
    households: int | None
    count: int
    rate_per_1000_households: float | None  # None when households are unknown or 0


@dataclass
class TopGrids:
    scope: Scope
    window: WindowOut
    categories: list[str]
    boundaries: str
    grids: list[GridCount]


def rate_per_1000(count: int, households: int | None) -> float | None:
    """Incidents per 1,000 households, or None when households are unknown or zero."""
    return round(count / households * 1000.0, 3) if households else None


def grid_details(session: Session, codes: list[str]) -> dict[str, Any]:
    """Name, community, town, county and households of each grid code (current attributes)."""
    rows = session.execute(
        text("""
            SELECT g.code, g.name, g.households, c.code AS community_code, c.name AS community_name,
                   t.code AS town_code, t.name AS town_name, t.parent_code AS county_code
            FROM grids g
            LEFT JOIN admin_units c ON c.code = g.community_code
            LEFT JOIN admin_units t ON t.code = c.parent_code
            WHERE g.code = ANY(:codes)
        """),
        {"codes": codes},
    )
    return {r.code: r for r in rows}


def top_grids(
    session: Session,
    admin_code: str,
    start: dt.date,
    end: dt.date,
    categories: list[str] | str | None = None,
    n: int = 10,
    boundaries: str = "current",
) -> TopGrids:
    """The n grids with most incidents in [start, end) under admin_code (ties by code), with rates."""
    if not 1 <= n <= MAX_TOP:
        raise InvalidInput(f"n must be between 1 and {MAX_TOP}; got {n}", field="n")
    check_boundaries(boundaries)
    scope = resolve_scope(session, admin_code)
    window = make_window(start, end)
    cats = parse_categories(categories)
    counted = grid_counts(session, scope, [window], cats, boundaries)
    ranked = sorted(((v[0], k) for k, v in counted.items() if v[0] > 0), key=lambda t: (-t[0], t[1]))[:n]
    details = grid_details(session, [code for _, code in ranked])
    out = []
    for rank, (count, code) in enumerate(ranked, start=1):
        d = details.get(code)
        hh = d.households if d else None
        out.append(
            GridCount(
                rank,
                code,
                d.name if d else None,
                d.community_code if d else None,
                d.community_name if d else None,
                d.town_code if d else None,
                d.town_name if d else None,
                d.county_code if d else None,
                hh,
                count,
                rate_per_1000(count, hh),
            )
        )
    return TopGrids(scope, WindowOut(window.start, window.end), category_keys(cats), boundaries, out)
