"""Candidate stops of a suggested patrol: hot-spot grids, unrenovated compounds, recent hazards, weighted."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.patrols.hotspots import gi_star_grids, resolve_as_of, top_grids, window
from geo.patrols.params import DEFAULT_HOUSEHOLDS, DEFAULT_WEIGHTS, DWELL_MINUTES
from geo.scope import in_grids_box

COMPOUNDS_SQL = """
    SELECT c.id, c.name, c.households, c.renovation_status, ST_X(p.pt) AS lon, ST_Y(p.pt) AS lat
    FROM compounds c CROSS JOIN LATERAL (SELECT ST_PointOnSurface(c.geom) AS pt) p
    WHERE c.renovation_status <> 'renovated' AND c.grid_code = ANY(:area)
    ORDER BY c.id
"""
HAZARDS_SQL = f"""
    SELECT i.id, i.subcategory, i.status, i.occurred_at, ST_X(i.geom) AS lon, ST_Y(i.geom) AS lat
    FROM incidents i
    WHERE i.category = 'hazard' AND i.grid_code = ANY(:area) AND {in_grids_box("i", "area")} AND i.occurred_at > :since AND i.occurred_at <= :as_of
    ORDER BY i.occurred_at DESC, i.id
"""


@dataclass
class Candidate:
    """A place worth a visit: its kind, source reference, position, weight and visit length."""

    kind: str
    ref: str
    name: str
    lon: float
    lat: float
    weight: float
    dwell_minutes: int


def gather(
    session: Session,
    area: Sequence[str],
    days: int = 28,
    as_of: dt.datetime | None = None,
    top_n: int = 10,
    weights: Mapping[str, float] | None = None,
    max_candidates: int = 50,
    hot_method: str = "top_n",
) -> list[Candidate]:
    """The area's candidate stops, heaviest first, at most max_candidates (zero-weight ones dropped).

    Hot-spot grids are the top_n busiest; with hot_method 'gi_star' the area's Gi* hot grids join them.
    """
    w = {**DEFAULT_WEIGHTS, **(weights or {})}
    since, end = window(days, resolve_as_of(session, as_of))
    found: list[Candidate] = []
    hot = {g["code"]: g for g in top_grids(session, area, days, end, top_n)}
    if hot_method == "gi_star":
        hot.update({g["code"]: g for g in gi_star_grids(session, area, days, end) if g["code"] not in hot})
    for g in hot.values():
        found.append(
            Candidate(
                "hotspot",
                f"grid:{g['code']}",
                f"{g['name']}（近{days}天 {g['count']} 起）",
                g["lon"],
                g["lat"],
                g["count"] * w["hotspot_per_incident"],
                DWELL_MINUTES["hotspot"],
            )
        )
    for c in session.execute(text(COMPOUNDS_SQL), {"area": list(area)}).mappings():
        households = c["households"] if c["households"] is not None else DEFAULT_HOUSEHOLDS
        found.append(
            Candidate(
                "compound",
                f"compound:{c['id']}",
                f"{c['name']}（{households} 户）",
                c["lon"],
                c["lat"],
                households * w["compound_per_household"],
                DWELL_MINUTES["compound"],
            )
        )
    hazards = session.execute(text(HAZARDS_SQL), {"area": list(area), "since": since, "as_of": end}).mappings()
    for h in hazards:
        found.append(
            Candidate(
                "hazard",
                f"incident:{h['id']}",
                f"安全隐患 #{h['id']}{'：' + h['subcategory'] if h['subcategory'] else ''}",
                h["lon"],
                h["lat"],
                w["hazard"],
                DWELL_MINUTES["hazard"],
            )
        )
    found = [c for c in found if c.weight > 0]
    found.sort(key=lambda c: (-c.weight, c.kind, c.ref))
    return found[:max_candidates]
