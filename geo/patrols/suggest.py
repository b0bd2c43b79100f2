"""Suggested patrols: choose and order the stops worth most risk within a shift, then report coverage."""

from __future__ import annotations

import datetime as dt
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import vocab
from geo.area import CITY, Area
from geo.crs import METRIC_EPSG
from geo.errors import GridNotFound, InvalidInput
from geo.patrols import candidates as cands
from geo.patrols.coverage import area_grid_codes, line_coverage
from geo.patrols.hotspots import HOT_METHODS, resolve_as_of
from geo.patrols.legs import LegRouter, make_router
from geo.patrols.params import DEFAULT_WEIGHTS, STOP_KINDS, metres_per_second
from geo.patrols.route_access import OfficerNotFound, check_patrol_area
from geo.patrols.solver import EXACT_MAX_STOPS, Plan, Problem, solve_exact, solve_greedy, solve_ortools
from geo.patrols.validate import check_choice, check_shift_minutes, parse_point

SOLVERS = {"ortools": ("OR-Tools", "OR-Tools"), "greedy": ("贪心", "Greedy"), "exact": ("精确", "Exact")}
START_FAR_M = 3000.0


@dataclass
class SuggestRequest:
    """What to plan: the area (officer, community or grids), start, shift, mode and solver options."""

    shift_minutes: float
    officer_id: int | None = None
    community_code: str | None = None
    grid_codes: list[str] | None = None
    start: tuple[float, float] | None = None
    mode: str = "walk"
    shift: str = "day"
    randomize_times: bool = False
    seed: int | None = None
    days: int = 28
    top_n: int = 10
    max_candidates: int = 50
    return_to_start: bool = True
    solver: str = "ortools"
    time_limit_ms: int = 1000
    as_of: dt.datetime | None = None
    weights: dict[str, float] = field(default_factory=dict)
    hot_method: str = "top_n"


def _int(payload: Mapping[str, Any], name: str, default: int, lo: int, hi: int) -> int:
    value = payload.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise InvalidInput(f"{name} must be an integer within {lo}–{hi}, got {value!r}", field=name)
    return value


def parse_request(payload: Mapping[str, Any]) -> SuggestRequest:
    """A SuggestRequest from JSON-like input, each problem named by its field."""
    if not isinstance(payload, Mapping):
        raise InvalidInput("the request must be a JSON object")
    if payload.get("shift_minutes") is None:
        raise InvalidInput("shift_minutes is required (the length of the shift in minutes)", field="shift_minutes")
    grid_codes = payload.get("grid_codes")
    if grid_codes is not None and (
        not isinstance(grid_codes, list) or not grid_codes or not all(isinstance(c, str) for c in grid_codes)
    ):
        raise InvalidInput("grid_codes must be a non-empty list of grid codes", field="grid_codes")
    if all(payload.get(k) is None for k in ("officer_id", "community_code", "grid_codes")):
        raise InvalidInput("give an officer_id, a community_code or grid_codes", field="officer_id")
    officer_id = payload.get("officer_id")
    if officer_id is not None and (isinstance(officer_id, bool) or not isinstance(officer_id, int)):
        raise InvalidInput(f"officer_id must be an integer, got {officer_id!r}", field="officer_id")
    weights = payload.get("weights") or {}
    if not isinstance(weights, Mapping):
        raise InvalidInput("weights must be an object", field="weights")
    for key, value in weights.items():
        if key not in DEFAULT_WEIGHTS:
            raise InvalidInput(
                f"unknown weight {key!r}; one of {', '.join(DEFAULT_WEIGHTS)}", field=f"weights.{key}"
            )
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1e6:
            raise InvalidInput(f"weights.{key} must be a number ≥ 0", field=f"weights.{key}")
    seed = payload.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63):
        raise InvalidInput("seed must be a non-negative integer", field="seed")
    as_of = payload.get("as_of")
    if isinstance(as_of, str):
        try:
            as_of = dt.datetime.fromisoformat(as_of)
        except ValueError as exc:
            raise InvalidInput(f"as_of is not an ISO date-time: {as_of!r}", field="as_of") from exc
    return SuggestRequest(
        shift_minutes=check_shift_minutes(payload.get("shift_minutes")),
        officer_id=officer_id,
        community_code=payload.get("community_code"),
        grid_codes=grid_codes,
        start=parse_point(payload["start"], "start") if payload.get("start") is not None else None,
        mode=check_choice(payload.get("mode", "walk"), "mode", vocab.PATROL_MODES),
        shift=check_choice(payload.get("shift", "day"), "shift", vocab.SHIFTS),
        randomize_times=bool(payload.get("randomize_times", False)),
        seed=seed,
        days=_int(payload, "days", 28, 1, 3660),
        top_n=_int(payload, "top_n", 10, 1, 200),
        max_candidates=_int(payload, "max_candidates", 50, 1, 200),
        return_to_start=bool(payload.get("return_to_start", True)),
        solver=check_choice(payload.get("solver", "ortools"), "solver", SOLVERS),
        time_limit_ms=_int(payload, "time_limit_ms", 1000, 10, 30_000),
        as_of=as_of,
        weights=dict(weights),
        hot_method=check_choice(payload.get("hot_method", "top_n"), "hot_method", HOT_METHODS),
    )


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


def suggest_patrol(
    session: Session,
    req: SuggestRequest,
    reach_m: float = 100.0,
    router: LegRouter | None = None,
    within: Area = CITY,
) -> dict[str, Any]:
    """A suggested patrol as a GeoJSON Feature: ordered stops with ETAs, risk vs greedy, and coverage."""
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
    greedy = solve_greedy(problem)
    if req.solver == "greedy":
        plan = greedy
    elif req.solver == "exact":
        plan = solve_exact(problem)
    else:
        plan = solve_ortools(problem, req.time_limit_ms, initial=greedy)
    solve_ms = (time.perf_counter() - solved_at) * 1000
    seed = req.seed if req.seed is not None else secrets.randbelow(2**31)
    times, end_s = _schedule(problem, plan, np.random.default_rng(seed) if req.randomize_times else None)
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
    props["route"] = {
        "name": f"建议巡逻 Suggested patrol {community or area[0]}",
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
    return {"type": "Feature", "geometry": geometry, "properties": props}
