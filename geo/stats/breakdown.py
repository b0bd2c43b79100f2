"""Per-child-unit counts with rates and period change, and the dispute funnel (logged → mediated → resolved)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.scope import Scope, check_level_below, child_level, resolve_scope
from geo.stats.coverage import data_coverage, scope_county
from geo.stats.filters import category_keys, make_window, parse_categories
from geo.stats.grids import check_boundaries, grid_counts, rate_per_1000
from geo.stats.periods import GROUP_COLUMNS, Change, WindowOut, change, flag_together, windowed_counts
from geo.stats.units import units_below
from geo.stats.windows import previous_window

# Funnel stages exactly as the demo generator and `citygrid demo check` define them.
MEDIATED_SQL = "i.mediated_at IS NOT NULL OR i.status IN ('mediated', 'resolved', 'closed')"
RESOLVED_SQL = "i.resolved_at IS NOT NULL OR i.status IN ('resolved', 'closed')"


@dataclass
class UnitChange(Change):
    code: str = ""
    name: str | None = None
    parent_code: str | None = None
    households: int | None = None
    rate_per_1000_households: float | None = None  # current count per 1,000 households


@dataclass
class Breakdown:
    scope: Scope
    level: str
    current: WindowOut
    previous: WindowOut
    categories: list[str]
    boundaries: str
    total: Change
    units: list[UnitChange] = field(default_factory=list)


def _level_for(scope: Scope, level: str | None) -> str:
    chosen = level or child_level(scope) or "grid"
    check_level_below(scope, chosen)
    return chosen


def breakdown(
    session: Session,
    admin_code: str,
    start: dt.date,
    end: dt.date,
    level: str | None = None,
    categories: list[str] | str | None = None,
    previous: str = "prior",
    boundaries: str = "current",
) -> Breakdown:
    """Counts per unit of level under admin_code (default: the child level), per-1,000-household rate, change.

    Every unit of the level is listed, zeros too. total is the whole scope (with boundaries='historic' at
    grid level: the sum of the grids). boundaries only matters at grid level. The units' changes are tested
    together (BH); outside the data's span every change is 'no_data'.
    """
    check_boundaries(boundaries)
    scope = resolve_scope(session, admin_code)
    chosen = _level_for(scope, level)
    current = make_window(start, end)
    prev = previous_window(current, previous)
    cats = parse_categories(categories)
    coverage = data_coverage(session)
    county = scope_county(session, scope)
    status = coverage.comparison_status(current, prev, county)
    counted: dict[str, list[int]]
    if chosen == "grid":
        counted = grid_counts(session, scope, [current, prev], cats, boundaries)
    else:
        rows = windowed_counts(session, scope, [current, prev], cats, (chosen,))
        counted = {k[0]: v for k, v in rows.items() if k[0] is not None}
    units = units_below(session, scope, chosen, list(counted) if chosen == "grid" else None)
    out = []
    for u in units:
        c, p = counted.get(u.code, [0, 0])
        out.append(
            UnitChange(
                **vars(change(c, p, current.days, prev.days, status)),
                code=u.code,
                name=u.name,
                parent_code=u.parent_code,
                households=u.households,
                rate_per_1000_households=rate_per_1000(c, u.households),
            )
        )
    flag_together(list(out))
    if chosen == "grid" and boundaries == "historic":
        tc, tp = sum(v[0] for v in counted.values()), sum(v[1] for v in counted.values())
    else:
        (tc, tp) = windowed_counts(session, scope, [current, prev], cats, ()).get((), [0, 0])
    total = change(tc, tp, current.days, prev.days, status)
    return Breakdown(
        scope,
        chosen,
        WindowOut(current.start, current.end, coverage=coverage.status(current, county)),
        WindowOut(prev.start, prev.end, previous, coverage.status(prev, county)),
        category_keys(cats),
        boundaries,
        total,
        out,
    )


@dataclass
class FunnelRow:
    code: str | None
    name: str | None
    logged: int
    mediated: int
    resolved: int
    mediated_pct: float | None  # mediated / logged × 100; None when nothing was logged
    resolved_pct: float | None  # resolved / logged × 100


@dataclass
class DisputeFunnel:
    scope: Scope
    window: WindowOut
    level: str
    total: FunnelRow
    units: list[FunnelRow]


def _pct(part: int, whole: int) -> float | None:
    return round(part / whole * 100.0, 2) if whole else None


def dispute_funnel(
    session: Session, admin_code: str, start: dt.date, end: dt.date, level: str | None = None
) -> DisputeFunnel:
    """Disputes logged in [start, end) → mediated → resolved, per unit of level under the scope and in total."""
    scope = resolve_scope(session, admin_code)
    chosen = _level_for(scope, level)
    window = make_window(start, end)
    col = GROUP_COLUMNS[chosen]
    params: dict[str, Any] = {**scope.params, "s": window.start_at, "e": window.end_at}
    # GROUPING SETS gives the per-unit rows and the scope total in one scan.
    sql = f"""
        SELECT {col} AS unit, grouping({col}) AS is_total, count(*) AS logged,
               count(*) FILTER (WHERE {MEDIATED_SQL}) AS mediated,
               count(*) FILTER (WHERE {RESOLVED_SQL}) AS resolved
        FROM incidents i
        WHERE {scope.incident_filter()} AND i.category = 'dispute'
          AND i.occurred_at >= :s AND i.occurred_at < :e
        GROUP BY GROUPING SETS (({col}), ())
    """
    per_unit: dict[str, tuple[int, int, int]] = {}
    total = (0, 0, 0)
    for r in session.execute(text(sql), params):
        figures = (int(r.logged), int(r.mediated), int(r.resolved))
        if r.is_total:
            total = figures
        elif r.unit is not None:
            per_unit[r.unit] = figures

    def row(code: str | None, name: str | None, f: tuple[int, int, int]) -> FunnelRow:
        return FunnelRow(code, name, f[0], f[1], f[2], _pct(f[1], f[0]), _pct(f[2], f[0]))

    units = units_below(session, scope, chosen, list(per_unit) if chosen == "grid" else None)
    return DisputeFunnel(
        scope,
        WindowOut(window.start, window.end),
        chosen,
        row(scope.code, scope.name, total),
        [row(u.code, u.name, per_unit.get(u.code, (0, 0, 0))) for u in units],
    )
