"""Hot-spot grids of an area for patrol planning: top-N by recent incident count, or Gi* hot spots."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.scope import in_grids_box

# Incidents in the window, per grid of the area; the representative point is the centroid of those
# incidents when it falls inside the grid (where trouble actually is), else a point on the grid.
TOP_GRIDS_SQL = f"""
    WITH counts AS (
        SELECT i.grid_code, count(*) AS n, ST_Centroid(ST_Collect(i.geom)) AS c
        FROM incidents i
        WHERE i.grid_code = ANY(:codes) AND {in_grids_box("i", "codes")} AND i.occurred_at > :since AND i.occurred_at <= :as_of
          AND (CAST(:cats AS text[]) IS NULL OR i.category = ANY(CAST(:cats AS text[])))
        GROUP BY i.grid_code
    )
    SELECT g.code, g.name, g.community_code, c.n AS count,
           ST_X(p.pt) AS lon, ST_Y(p.pt) AS lat
    FROM counts c JOIN grids g ON g.code = c.grid_code
    CROSS JOIN LATERAL (
        SELECT CASE WHEN ST_Intersects(g.geom, c.c) THEN c.c ELSE ST_PointOnSurface(g.geom) END AS pt
    ) p
    ORDER BY c.n DESC, g.code
    LIMIT :top_n
"""


def window(days: int, as_of: dt.datetime | None) -> tuple[dt.datetime, dt.datetime]:
    """(since, as_of) of the last `days` days ending at as_of (default now, UTC)."""
    end = as_of or dt.datetime.now(dt.UTC)
    if end.tzinfo is None:
        end = end.replace(tzinfo=dt.UTC)
    return end - dt.timedelta(days=days), end


def resolve_as_of(session: Session, as_of: dt.datetime | None) -> dt.datetime:
    """as_of, or by default the latest incident's time (not after now), as the maps do; now when none.

    A demo or an archive whose data end in the past then still shows its last N days, not an empty window.
    """
    if as_of is not None:
        return as_of if as_of.tzinfo else as_of.replace(tzinfo=dt.UTC)
    now = dt.datetime.now(dt.UTC)
    latest = session.execute(
        text("SELECT max(occurred_at) FROM incidents WHERE occurred_at <= :now"), {"now": now}
    )
    return latest.scalar_one() or now


def top_grids(
    session: Session,
    grid_codes: Sequence[str],
    days: int = 28,
    as_of: dt.datetime | None = None,
    top_n: int = 10,
    categories: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """The top_n grids of the area by incident count in the window (count > 0), busiest first."""
    since, end = window(days, resolve_as_of(session, as_of))
    rows = session.execute(
        text(TOP_GRIDS_SQL),
        {
            "codes": list(grid_codes),
            "since": since,
            "as_of": end,
            "top_n": top_n,
            "cats": list(categories) if categories else None,
        },
    ).mappings()
    return [{**row, "count": int(row["count"]), "method": "top_n"} for row in rows]


HOT_METHODS = {"top_n": ("事件数前N网格", "Top-N grids by count"), "gi_star": ("Gi* 热点", "Gi* hot spots")}


def gi_star_grids(
    session: Session, grid_codes: Sequence[str], days: int = 28, as_of: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """The area's Gi* hot grids (90% confidence or more after FDR), computed over each area county's grids.

    Gi* needs neighbours, so it runs on the whole county (geo.analysis.hotspots.gi_star, whole days from
    the window's first day to as_of's day inclusive) and the area's grids are picked from the result.
    """
    from geo.analysis.hotspots import gi_star

    since, end = window(days, resolve_as_of(session, as_of))
    area = set(grid_codes)
    hot: dict[str, dict[str, Any]] = {}
    for county in sorted({code[:6] for code in area}):
        frame = gi_star(session, county, since.date(), end.date() + dt.timedelta(days=1))
        picked = frame[frame["grid_code"].isin(area) & frame["class"].astype(str).str.startswith("hot")]
        for code, klass, z in zip(picked["grid_code"], picked["class"], picked["z"], strict=True):
            hot[str(code)] = {"class": str(klass), "z": round(float(z), 3)}
    if not hot:
        return []
    rows = top_grids(session, sorted(hot), days, end, len(hot))
    return [{**r, **hot[r["code"]], "method": "gi_star"} for r in rows]


def hot_grids(
    session: Session,
    grid_codes: Sequence[str],
    days: int = 28,
    as_of: dt.datetime | None = None,
    top_n: int = 10,
    method: str = "top_n",
) -> list[dict[str, Any]]:
    """Hot-spot grids of the area by method: 'top_n' (busiest grids) or 'gi_star' (significant clusters)."""
    if method == "gi_star":
        return gi_star_grids(session, grid_codes, days, as_of)
    return top_grids(session, grid_codes, days, as_of, top_n)
