"""The units below a scope (admin units or grids) with their households, for breakdowns and funnels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.scope import Scope

# Admin levels a breakdown level matches (a development zone sits beside the counties).
_LEVELS = {"county": ["county", "zone"], "town": ["town"], "community": ["community"]}

_SUBTREE = """
    WITH RECURSIVE sub AS (
        SELECT code, level FROM admin_units WHERE code = :root
        UNION ALL
        SELECT a.code, a.level FROM admin_units a JOIN sub s ON a.parent_code = s.code
        WHERE s.level <> ALL(:levels) AND s.level <> 'community'
    )
"""

# Sum of grid households per admin unit of a level: used when the unit's own households are unknown.
_GRID_HOUSEHOLDS = {
    "community": "SELECT g.community_code AS code, sum(g.households) AS hh FROM grids g "
    "WHERE g.status = 'active' GROUP BY 1",
    "town": "SELECT c.parent_code AS code, sum(g.households) AS hh FROM grids g "
    "JOIN admin_units c ON c.code = g.community_code WHERE g.status = 'active' GROUP BY 1",
    "county": "SELECT t.parent_code AS code, sum(g.households) AS hh FROM grids g "
    "JOIN admin_units c ON c.code = g.community_code JOIN admin_units t ON t.code = c.parent_code "
    "WHERE g.status = 'active' GROUP BY 1",
}


@dataclass
class Unit:
    code: str
    name: str | None
    parent_code: str | None
    households: int | None


def admin_units_below(session: Session, scope: Scope, level: str) -> list[Unit]:
    """Admin units of level under scope, households from admin_units or else summed over their grids."""
    if scope.level == "grid":
        return []
    sql = f"""
        {_SUBTREE}
        SELECT a.code, a.name, a.parent_code, coalesce(a.households, gh.hh)::int AS households
        FROM sub JOIN admin_units a ON a.code = sub.code
        LEFT JOIN ({_GRID_HOUSEHOLDS[level]}) gh ON gh.code = a.code
        WHERE sub.level = ANY(:levels) AND sub.code <> :root
        ORDER BY a.code
    """
    rows = session.execute(text(sql), {"root": scope.code, "levels": _LEVELS[level]})
    return [Unit(r.code, r.name, r.parent_code, r.households) for r in rows]


def grids_below(session: Session, scope: Scope, extra_codes: list[str] | None = None) -> list[Unit]:
    """The active grids under scope, plus any extra codes (e.g. retired grids that still have counts)."""
    params: dict[str, Any] = {"root": scope.code, "levels": ["community"], "extra": extra_codes or []}
    if scope.level == "grid":
        where = "g.code = :root"
    else:
        where = "g.status = 'active' AND g.community_code IN (SELECT code FROM sub WHERE level = 'community')"
    sql = f"""
        {_SUBTREE}
        SELECT g.code, g.name, g.community_code, g.households FROM grids g
        WHERE ({where}) OR g.code = ANY(:extra)
        ORDER BY g.code
    """
    return [Unit(r[0], r[1], r[2], r[3]) for r in session.execute(text(sql), params)]


def units_below(
    session: Session, scope: Scope, level: str, extra_grid_codes: list[str] | None = None
) -> list[Unit]:
    """The units of level (county, town, community or grid) under scope."""
    if level == "grid":
        return grids_below(session, scope, extra_grid_codes)
    return admin_units_below(session, scope, level)
