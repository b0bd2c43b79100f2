"""Suggested patrols: choose and order the stops worth most risk within a shift, then report coverage."""

from __future__ import annotations

import secrets
import time
from typing import Any

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.area import CITY, Area
from geo.crs import METRIC_EPSG
from geo.errors import GridNotFound, InvalidInput
from geo.patrols import candidates as cands
from geo.patrols.coverage import area_grid_codes, line_coverage
from geo.patrols.hotspots import resolve_as_of
from geo.patrols.legs import LegRouter, make_router
from geo.patrols.params import STOP_KINDS, metres_per_second
from geo.patrols.request import SOLVERS, SuggestRequest, parse_request
from geo.patrols.route_access import OfficerNotFound, check_patrol_area
from geo.patrols.solver import EXACT_MAX_STOPS, Plan, Problem, solve_exact, solve_greedy, solve_ortools

START_FAR_M = 3000.0
__all__ = ["SOLVERS", "SuggestRequest", "parse_request", "suggest_patrol"]


def _area(session: Session, req: SuggestRequest) -> tuple[list[str], str | None]:
    """(grid codes, community code) of the area: the grids given, else the community, else the officer's."""
    community = req.community_code
    if req.officer_id is not None:
        row = session.execute(
            text("SELECT community_code FROM officers WHERE id = :id"), {"id": req.officer_id}
        ).first()
        if row is None:
            raise OfficerNotFound(f"officer {req.officer_id} does not exist", field="officer_id")
        community = community or row.community_code
    if req.grid_codes:
        known = set(
            session.execute(text("SELECT code FROM grids WHERE code = ANY(:c)"), {"c": req.grid_codes}).scalars()
        )
        missing = [c for c in req.grid_codes if c not in known]
        if missing:
            raise GridNotFound(
                f"unknown grid code(s): {', '.join(missing[:10])}", field="grid_codes", missing=missing
            )
        return list(dict.fromkeys(req.grid_codes)), community
    if community is None:
        raise InvalidInput("the officer has no community: give community_code or grid_codes", field="officer_id")
    area = area_grid_codes(session, community)
    if not area:
        raise InvalidInput(f"community {community} has no active grids to patrol", field="community_code")
    return area, community


def _start(session: Session, req: SuggestRequest, area: list[str]) -> tuple[tuple[float, float], list[dict]]:
    """The start point (default: a point inside the area) and a warning if it lies far from the area."""
    row = session.execute(
        text(
            f"""WITH a AS (SELECT ST_Union(geom) AS g FROM grids WHERE code = ANY(:area))
                SELECT ST_X(ST_PointOnSurface(a.g)) AS lon, ST_Y(ST_PointOnSurface(a.g)) AS lat,
                       ST_Distance(ST_Transform(a.g, {METRIC_EPSG}),
                                   ST_Transform(ST_SetSRID(ST_MakePoint(:x, :y), 4326), {METRIC_EPSG})) AS d
                FROM a"""
        ),
        {"area": area, "x": req.start[0] if req.start else None, "y": req.start[1] if req.start else None},
    ).one()
    if req.start is None:
        return (row.lon, row.lat), [
            {"code": "start_defaulted", "detail": "未给起点，取辖区内一点 no start given: a point inside the area"}
        ]
    if row.d is not None and row.d > START_FAR_M:
        return req.start, [
            {
                "code": "start_far",
                "detail": f"起点距辖区 {row.d:.0f} 米 the start is {row.d:.0f} m from the area",
                "distance_m": round(row.d),
            }
        ]
    return req.start, []


def _schedule(problem: Problem, plan: Plan, rng: np.random.Generator | None) -> tuple[list[dict], int]:
    """Arrival/departure seconds of each stop; with rng, the spare time is spread as random waits."""
    k = len(plan.order)
    waits = np.zeros(k + 1)
    if rng is not None and k:
        # Dirichlet shares of the slack before each visit (and after the last): same order and total,
        # but arrival times that differ from shift to shift.
        waits = rng.dirichlet(np.ones(k + 1)) * (problem.budget - plan.seconds)
    clock, prev, times = 0.0, 0, []
    for n, node in enumerate(plan.order):
        clock += float(problem.travel[prev, node]) + waits[n]
        times.append({"wait": waits[n], "arrive": clock, "depart": clock + float(problem.service[node])})
        clock += float(problem.service[node])
        prev = node
    return times, int(round(clock + (problem.travel[prev, 0] if problem.closed else 0) + waits[k]))


def _line(legs: Any, path_nodes: list[int]) -> dict[str, Any] | None:
    coords: list[tuple[float, float]] = []
    for a, b in zip(path_nodes[:-1], path_nodes[1:], strict=True):
        for pt in legs.path(a, b):
            if not coords or coords[-1] != pt:
                coords.append(pt)
    if len(set(coords)) < 2:
        return None
    return {"type": "LineString", "coordinates": [[round(x, 7), round(y, 7)] for x, y in coords]}


def _solve(problem: Problem, req: SuggestRequest) -> tuple[Plan, Plan]:
    """(the plan of the solver asked for, the greedy plan it is compared with)."""
    greedy = solve_greedy(problem)
    if req.solver == "greedy":
        return greedy, greedy
    if req.solver == "exact":
        return solve_exact(problem), greedy
    return solve_ortools(problem, req.time_limit_ms, initial=greedy), greedy


def _stops(found: list, plan: Plan, times: list[dict]) -> list[dict[str, Any]]:
    """The planned stops in visiting order, with arrival, departure and waiting in minutes."""
    stops = []
    for n, (node, t) in enumerate(zip(plan.order, times, strict=True)):
        c = found[node - 1]
        stops.append(
            {
                "seq": n + 1,
                "kind": c.kind,
                "kind_label": STOP_KINDS[c.kind][0],
                "ref": c.ref,
                "name": c.name,
                "lon": c.lon,
                "lat": c.lat,
                "weight": round(c.weight, 4),
                "dwell_minutes": c.dwell_minutes,
                "eta_minutes": round(t["arrive"] / 60, 1),
                "depart_minutes": round(t["depart"] / 60, 1),
                "wait_minutes": round(t["wait"] / 60, 1),
            }
        )
    return stops


def _route_draft(
    req: SuggestRequest, label: str, community: str | None, geometry: dict | None, stops: list[dict]
) -> dict[str, Any]:
    """The suggestion as a patrol route body the caller can save unchanged (POST /api/v1/patrols/routes)."""
    return {
        "name": f"建议巡逻 Suggested patrol {label}",
        "officer_id": req.officer_id,
        "community_code": community,
        "shift": req.shift,
        "mode": req.mode,
        "geometry": geometry,
        "planned_stops": [
            {k: s[k] for k in ("name", "lon", "lat", "dwell_minutes", "kind", "eta_minutes", "weight", "ref")}
            for s in stops
        ],
    }


def suggest_patrol(
    session: Session,
    req: SuggestRequest,
    reach_m: float = 100.0,
    router: LegRouter | None = None,
    within: Area = CITY,
) -> dict[str, Any]:
    """A suggested patrol as a GeoJSON Feature: ordered stops with ETAs, risk vs greedy, and coverage.

    Half of it is the response's one dict literal, kept whole so the fields read as the API documents them.
    """
    check_patrol_area(
        session, within, officer_id=req.officer_id, community_code=req.community_code, grid_codes=req.grid_codes
    )
    started = time.perf_counter()
    area, community = _area(session, req)
    as_of = resolve_as_of(session, req.as_of)
    start, warnings = _start(session, req, area)
    found = cands.gather(
        session, area, req.days, as_of, req.top_n, req.weights, req.max_candidates, req.hot_method
    )
    if req.solver == "exact" and len(found) > EXACT_MAX_STOPS:
        raise InvalidInput(
            f"the exact solver takes at most {EXACT_MAX_STOPS} candidates, the area has {len(found)}: "
            "lower max_candidates or use ortools",
            field="solver",
        )
    lonlat = np.array([start, *[(c.lon, c.lat) for c in found]], dtype=float)
    router = router or make_router(session, lonlat)
    legs = router.legs(lonlat)
    problem = Problem(
        travel=np.rint(legs.metres / metres_per_second(req.mode)).astype(np.int64),
        service=np.array([0, *[c.dwell_minutes * 60 for c in found]]),
        prize=np.array([0.0, *[c.weight for c in found]]),
        budget=int(round(req.shift_minutes * 60)),
        closed=req.return_to_start,
    )
    solved_at = time.perf_counter()
    plan, greedy = _solve(problem, req)
    solve_ms = (time.perf_counter() - solved_at) * 1000
    seed = req.seed if req.seed is not None else secrets.randbelow(2**31)
    times, end_s = _schedule(problem, plan, np.random.default_rng(seed) if req.randomize_times else None)
    stops = _stops(found, plan, times)
    nodes = [0, *plan.order, 0] if req.return_to_start else [0, *plan.order]
    geometry = _line(legs, nodes) if plan.order else None
    if geometry is None:
        warnings.append(
            {"code": "no_stop_fits", "detail": "班次时间内无可达停留点 no candidate stop fits in the shift"}
        )
    straight = len(getattr(legs, "straight_pairs", ()))
    if straight:
        warnings.append({"code": "road_gaps", "detail": f"{straight} legs have no road path: drawn straight"})
    dwell = float(sum(s["dwell_minutes"] for s in stops))
    available = float(problem.prize.sum())
    cover = line_coverage(
        session, geometry, area, req.mode, dwell, reach_m, req.days, as_of, req.top_n, req.hot_method
    )
    travel_s = plan.seconds - int(problem.service[plan.order].sum()) if plan.order else 0
    props = {
        "officer_id": req.officer_id,
        "community_code": community,
        "grid_codes": area,
        "mode": req.mode,
        "shift": req.shift,
        "shift_minutes": req.shift_minutes,
        "start": {"lon": start[0], "lat": start[1]},
        "return_to_start": req.return_to_start,
        "stops": stops,
        "travel_minutes": round(travel_s / 60, 1),
        "dwell_minutes": dwell,
        "total_minutes": round(plan.seconds / 60, 1),
        "end_minutes": round(end_s / 60, 1),
        "slack_minutes": round((problem.budget - plan.seconds) / 60, 1),
        "risk": {
            "covered": round(plan.prize, 4),
            "available": round(available, 4),
            "share": round(plan.prize / available, 4) if available else None,
            "greedy": round(greedy.prize, 4),
            "ratio_vs_greedy": round(plan.prize / greedy.prize, 4) if greedy.prize else None,
        },
        "solver": {
            "name": plan.solver,
            "legs": router.name,
            "candidates": len(found),
            "solve_ms": round(solve_ms, 1),
            "total_ms": round((time.perf_counter() - started) * 1000, 1),
        },
        "randomized": {"seed": seed} if req.randomize_times else None,
        "coverage": cover,
        "warnings": warnings,
    }
    props["route"] = _route_draft(req, community or area[0], community, geometry, stops)
    return {"type": "Feature", "geometry": geometry, "properties": props}
