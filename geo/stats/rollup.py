"""Counts from incident_daily_counts (per local day, county, category), the fast path for city and county."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.localtime import LOCAL_TZ_NAME
from geo.scope import Scope
from geo.stats.filters import Window

# What the roll-up can answer: whole local days (every Window is), city or county scope, these groupings.
LEVELS = ("city", "county")
GROUP_COLUMNS = {"category": "d.category", "county": "d.county_code"}
_FRESH = f"""
    SELECT (occurred_at AT TIME ZONE '{LOCAL_TZ_NAME}')::date AS day, county_code, category, count(*) AS n
    FROM incidents WHERE county_code IS NOT NULL GROUP BY 1, 2, 3
"""


def answers(scope: Scope, group_by: tuple[str, ...], extra_where: str) -> bool:
    """Whether the roll-up holds what a windowed count needs."""
    return scope.level in LEVELS and set(group_by) <= set(GROUP_COLUMNS) and extra_where == "TRUE"


def rollup_counts(
    session: Session, scope: Scope, windows: list[Window], categories: list[str] | None, group_by: tuple[str, ...]
) -> dict[tuple, list[int]]:
    """{group values: [count per window]} summed from the roll-up (same shape as a scan of incidents)."""
    params: dict[str, Any] = dict(scope.params)
    where = ["TRUE" if scope.level == "city" else "d.county_code = :scope_code"]
    if categories:
        params["cats"] = categories
        where.append("d.category = ANY(:cats)")
    ranges, sums = [], []
    for k, w in enumerate(windows):
        params[f"s{k}"], params[f"e{k}"] = w.start, w.end
        ranges.append(f"(d.day >= :s{k} AND d.day < :e{k})")
        sums.append(f"coalesce(sum(d.n) FILTER (WHERE d.day >= :s{k} AND d.day < :e{k}), 0)")
    where.append("(" + " OR ".join(ranges) + ")")
    cols = [GROUP_COLUMNS[g] for g in group_by]
    group = f" GROUP BY {', '.join(cols)}" if cols else ""
    sql = f"SELECT {', '.join(cols + sums)} FROM incident_daily_counts d WHERE {' AND '.join(where)}{group}"
    n = len(cols)
    out = {tuple(r[:n]): [int(v) for v in r[n:]] for r in session.execute(text(sql), params)}
    # Deletes can leave n = 0 rows; a scan of incidents would not return such groups at all.
    return {k: v for k, v in out.items() if any(v)} if cols else out


def drift(session: Session) -> list[tuple]:
    """(day, county, category, roll-up n, true n) for every row where the roll-up disagrees with incidents."""
    sql = f"""
        SELECT coalesce(r.day, f.day), coalesce(r.county_code, f.county_code), coalesce(r.category, f.category),
               coalesce(r.n, 0), coalesce(f.n, 0)
        FROM incident_daily_counts r FULL JOIN ({_FRESH}) f
          ON f.day = r.day AND f.county_code = r.county_code AND f.category = r.category
        WHERE coalesce(r.n, 0) <> coalesce(f.n, 0)
        ORDER BY 1, 2, 3
    """
    return [tuple(r) for r in session.execute(text(sql))]


def rebuild(session: Session) -> int:
    """Recompute the roll-up from incidents (after a load that bypassed triggers); returns its row count."""
    session.execute(text("DELETE FROM incident_daily_counts"))
    session.execute(text(f"INSERT INTO incident_daily_counts (day, county_code, category, n) {_FRESH}"))
    return int(session.execute(text("SELECT count(*) FROM incident_daily_counts")).scalar_one())
