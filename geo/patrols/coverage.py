"""Coverage of patrol routes: grids, compounds and recent incidents within reach, hot spots missed, time."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.area import Area
from geo.crs import METRIC_EPSG
from geo.errors import AdminUnitNotFound, InvalidInput
from geo.patrols.hotspots import HOT_METHODS, hot_grids, resolve_as_of, window
from geo.patrols.params import travel_minutes
from geo.patrols.route_access import OfficerNotFound, RouteNotFound, check_patrol_area
from geo.scope import in_grids_box

# `lm` holds the lines in metres and a lon/lat box grown by the reach (5% spare, and the longitude
# margin taken at the line's largest |lat|), so every reach test is `geom && box` (GiST index) first,
# then an exact ST_DWithin in EPSG:32648 on the few rows the box lets through.
REACH_CTE = f"""
    WITH l AS ({{lines}}),
    lm AS (
        SELECT ST_Transform(l.g, {METRIC_EPSG}) AS gm,
               ST_Expand(l.g,
                   :reach * 1.05 / (111320.0 * cos(radians(least(89.0, greatest(abs(ST_YMin(l.g)), abs(ST_YMax(l.g))))))),
                   :reach * 1.05 / 110574.0) AS box
        FROM l WHERE l.g IS NOT NULL
    )
"""
NEAR = f"{{a}}.geom && lm.box AND ST_DWithin(ST_Transform({{a}}.geom, {METRIC_EPSG}), lm.gm, :reach)"

GRIDS_SQL = f"""
    SELECT g.code, g.name, g.community_code FROM lm JOIN grids g ON {NEAR.format(a="g")}
    WHERE g.status = 'active' ORDER BY g.code
"""
COMPOUNDS_SQL = f"""
    SELECT c.id, c.name, c.renovation_status, c.households, c.grid_code
    FROM lm JOIN compounds c ON {NEAR.format(a="c")} ORDER BY c.id
"""
AREA_INCIDENTS_SQL = f"""
    SELECT count(*) AS total, count(*) FILTER (WHERE {NEAR.format(a="i")}) AS near
    FROM incidents i LEFT JOIN lm ON TRUE
    WHERE i.grid_code = ANY(:area) AND {in_grids_box("i", "area")} AND i.occurred_at > :since AND i.occurred_at <= :as_of
"""
ALL_NEAR_INCIDENTS_SQL = f"""
    SELECT count(*) FROM lm JOIN incidents i ON {NEAR.format(a="i")}
    WHERE i.occurred_at > :since AND i.occurred_at <= :as_of
"""
ROUTES_LINES = "SELECT ST_Collect(geom) AS g FROM patrol_routes WHERE id = ANY(:ids)"
GEOJSON_LINES = "SELECT ST_SetSRID(ST_GeomFromGeoJSON(:geojson), 4326) AS g"
ROUTE_FIGURES_SQL = f"""
    SELECT r.id, r.name, r.mode, ST_Length(ST_Transform(r.geom, {METRIC_EPSG})) AS length_m,
           (SELECT coalesce(sum((s->>'dwell_minutes')::float8), 0)
              FROM jsonb_array_elements(coalesce(r.planned_stops, '[]'::jsonb)) s) AS dwell_minutes
    FROM patrol_routes r WHERE r.id = ANY(:ids) ORDER BY r.id
"""


def area_grid_codes(session: Session, community_code: str) -> list[str]:
    """Active grid codes of a community (AdminUnitNotFound if the code is unknown)."""
    exists = session.execute(text("SELECT 1 FROM admin_units WHERE code = :c"), {"c": community_code}).first()
    if exists is None:
        raise AdminUnitNotFound(f"community {community_code} does not exist", field="community_code")
    return list(
        session.execute(
            text("SELECT code FROM grids WHERE community_code = :c AND status = 'active' ORDER BY code"),
            {"c": community_code},
        ).scalars()
    )


def _reach(
    session: Session,
    lines_sql: str,
    params: dict[str, Any],
    area: Sequence[str],
    reach_m: float,
    days: int,
    as_of: dt.datetime | None,
    top_n: int,
    hot_method: str = "top_n",
) -> dict[str, Any]:
    """Everything within reach of the lines, and the area's incident and hot-spot figures."""
    since, end = window(days, resolve_as_of(session, as_of))
    p = {**params, "reach": reach_m, "area": list(area), "since": since, "as_of": end}
    cte = REACH_CTE.format(lines=lines_sql)
    grids = [dict(r) for r in session.execute(text(cte + GRIDS_SQL), p).mappings()]
    compounds = [dict(r) for r in session.execute(text(cte + COMPOUNDS_SQL), p).mappings()]
    total, near = session.execute(text(cte + AREA_INCIDENTS_SQL), p).one()
    near_anywhere = session.execute(text(cte + ALL_NEAR_INCIDENTS_SQL), p).scalar_one()
    covered_codes = {g["code"] for g in grids}
    hot = hot_grids(session, area, days, end, top_n, hot_method)
    for g in hot:
        g["covered"] = g["code"] in covered_codes
    area_set = set(area)
    return {
        "reach_m": reach_m,
        "days": days,
        "since": since.isoformat(),
        "as_of": end.isoformat(),
        "grids": [{**g, "in_area": g["code"] in area_set} for g in grids],
        "compounds": compounds,
        "area": {
            "grid_count": len(area_set),
            "grids_covered": len(covered_codes & area_set),
            "share_grids_covered": _share(len(covered_codes & area_set), len(area_set)),
        },
        "incidents": {
            "area_total": int(total),
            "within_reach": int(near),
            "share_within_reach": _share(int(near), int(total)),
            "within_reach_anywhere": int(near_anywhere),
        },
        "hot_spots": {
            "method": hot_method,
            "method_label": HOT_METHODS[hot_method][0],
            "top_n": top_n if hot_method == "top_n" else None,
            "grids": hot,
            "not_covered": [g["code"] for g in hot if not g["covered"]],
            "share_covered": _share(sum(g["covered"] for g in hot), len(hot)),
        },
    }


def _share(part: int, whole: int) -> float | None:
    """part/whole rounded, or None when there is nothing to share (undefined, not 0)."""
    return round(part / whole, 4) if whole else None


def _timing(routes: list[dict[str, Any]]) -> dict[str, Any]:
    """Length, travel and dwell minutes per route and in total (each route at its own mode's speed)."""
    for r in routes:
        r["length_m"] = round(float(r["length_m"]), 1)
        r["travel_minutes"] = round(travel_minutes(r["length_m"], r["mode"]), 1)
        r["dwell_minutes"] = round(float(r["dwell_minutes"]), 1)
        r["total_minutes"] = round(r["travel_minutes"] + r["dwell_minutes"], 1)
    return {
        "routes": routes,
        "length_m": round(sum(r["length_m"] for r in routes), 1),
        "travel_minutes": round(sum(r["travel_minutes"] for r in routes), 1),
        "dwell_minutes": round(sum(r["dwell_minutes"] for r in routes), 1),
        "total_minutes": round(sum(r["total_minutes"] for r in routes), 1),
    }


def _routes_coverage(
    session: Session, scope: dict[str, Any], ids: list[int], area: list[str], **kw: Any
) -> dict[str, Any]:
    figures = [dict(r) for r in session.execute(text(ROUTE_FIGURES_SQL), {"ids": ids}).mappings()]
    return {"scope": scope, **_timing(figures), **_reach(session, ROUTES_LINES, {"ids": ids}, area, **kw)}


def route_coverage(
    session: Session,
    route_id: int,
    reach_m: float = 100.0,
    days: int = 28,
    as_of=None,
    top_n: int = 10,
    hot_method: str = "top_n",
) -> dict[str, Any]:
    """Coverage of one route; its area is the route's community (else its officer's)."""
    row = session.execute(
        text(
            "SELECT r.id, coalesce(r.community_code, o.community_code) AS community "
            "FROM patrol_routes r JOIN officers o ON o.id = r.officer_id WHERE r.id = :id"
        ),
        {"id": route_id},
    ).first()
    if row is None:
        raise RouteNotFound(f"patrol route {route_id} does not exist", route_id=route_id)
    area = area_grid_codes(session, row.community) if row.community else []
    scope = {"kind": "route", "route_id": route_id, "community_code": row.community}
    return _routes_coverage(
        session,
        scope,
        [route_id],
        area,
        reach_m=reach_m,
        days=days,
        as_of=as_of,
        top_n=top_n,
        hot_method=hot_method,
    )


def officer_coverage(
    session: Session,
    officer_id: int,
    reach_m: float = 100.0,
    days: int = 28,
    as_of=None,
    top_n: int = 10,
    hot_method: str = "top_n",
) -> dict[str, Any]:
    """Coverage of all routes of an officer over the officer's community."""
    row = session.execute(
        text("SELECT id, community_code FROM officers WHERE id = :id"), {"id": officer_id}
    ).first()
    if row is None:
        raise OfficerNotFound(f"officer {officer_id} does not exist", field="officer_id")
    ids = list(
        session.execute(text("SELECT id FROM patrol_routes WHERE officer_id = :o"), {"o": officer_id}).scalars()
    )
    area = area_grid_codes(session, row.community_code) if row.community_code else []
    scope = {"kind": "officer", "officer_id": officer_id, "community_code": row.community_code}
    return _routes_coverage(
        session, scope, ids, area, reach_m=reach_m, days=days, as_of=as_of, top_n=top_n, hot_method=hot_method
    )


def community_coverage(
    session: Session,
    community_code: str,
    reach_m: float = 100.0,
    days: int = 28,
    as_of=None,
    top_n: int = 10,
    hot_method: str = "top_n",
) -> dict[str, Any]:
    """Coverage of all routes filed under a community, over that community."""
    area = area_grid_codes(session, community_code)
    ids = list(
        session.execute(
            text("SELECT id FROM patrol_routes WHERE community_code = :c"), {"c": community_code}
        ).scalars()
    )
    scope = {"kind": "community", "community_code": community_code}
    return _routes_coverage(
        session, scope, ids, area, reach_m=reach_m, days=days, as_of=as_of, top_n=top_n, hot_method=hot_method
    )


def line_coverage(
    session: Session,
    geometry: dict[str, Any] | None,
    area: Sequence[str],
    mode: str,
    dwell_minutes: float,
    reach_m: float = 100.0,
    days: int = 28,
    as_of: dt.datetime | None = None,
    top_n: int = 10,
    hot_method: str = "top_n",
) -> dict[str, Any]:
    """Coverage of an unsaved line (a suggestion) over an explicit set of area grids."""
    length = 0.0
    if geometry is not None:
        length = session.execute(
            text(f"SELECT ST_Length(ST_Transform(ST_SetSRID(ST_GeomFromGeoJSON(:g), 4326), {METRIC_EPSG}))"),
            {"g": json.dumps(geometry)},
        ).scalar_one()
    timing = _timing(
        [{"id": None, "name": None, "mode": mode, "length_m": length, "dwell_minutes": dwell_minutes}]
    )
    params = {"geojson": json.dumps(geometry) if geometry is not None else None}
    reach = _reach(session, GEOJSON_LINES, params, area, reach_m, days, as_of, top_n, hot_method)
    return {"scope": {"kind": "line", "grid_codes": list(area)}, **timing, **reach}


def coverage(
    session: Session,
    area: Area,
    route_id: int | None = None,
    officer_id: int | None = None,
    community_code: str | None = None,
    **kw: Any,
) -> dict[str, Any]:
    """Coverage of exactly one of: a route, an officer's routes, a community's routes."""
    if kw.get("hot_method", "top_n") not in HOT_METHODS:
        raise InvalidInput(f"hot_method must be one of {', '.join(HOT_METHODS)}", field="hot_method")
    given = [
        n
        for n, v in (("route_id", route_id), ("officer_id", officer_id), ("community_code", community_code))
        if v is not None
    ]
    if len(given) != 1:
        raise InvalidInput(
            "give exactly one of route_id, officer_id, community_code", field=given[1] if given else "route_id"
        )
    check_patrol_area(session, area, route_id, officer_id, community_code)
    if route_id is not None:
        return route_coverage(session, route_id, **kw)
    if officer_id is not None:
        return officer_coverage(session, officer_id, **kw)
    assert community_code is not None
    return community_coverage(session, community_code, **kw)
