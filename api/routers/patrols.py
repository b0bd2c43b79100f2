"""Patrol planning (社区民警巡逻): routes CRUD, GPX export, coverage, suggested patrols and the route map.

JSON shapes are documented for the dashboard in docs/patrols.md.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Path, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from api.deps import Police, Reader, SessionDep, SettingsDep
from api.paging import page_response
from geo.errors import InvalidInput
from geo.patrols import coverage, routes, suggest
from geo.patrols.map import route_map_html

router = APIRouter(tags=["patrols 巡逻"])
PREFIX = "/api/v1/patrols"
GEOJSON = "application/geo+json"
GPX = "application/gpx+xml"

RouteId = Annotated[int, Path(ge=1, le=2**31 - 1, description="patrol route id")]
Days = Annotated[int, Query(ge=1, le=3660, description="incidents of the last N days")]
IfMatch = Annotated[str | None, Header(alias="If-Match", description='optional: the ETag from GET, e.g. "3"')]
RouteBody = Annotated[
    dict[str, Any],
    Body(
        openapi_examples={
            "route": {
                "summary": "a walking route with two stops",
                "value": {
                    "name": "西社区早巡",
                    "officer_id": 1,
                    "shift": "morning",
                    "mode": "walk",
                    "planned_stops": [
                        {
                            "name": "小区门口",
                            "lon": 107.104,
                            "lat": 34.365,
                            "dwell_minutes": 10,
                            "kind": "compound",
                        }
                    ],
                    "geometry": {"type": "LineString", "coordinates": [[107.102, 34.365], [107.108, 34.365]]},
                },
            }
        }
    ),
]
_TAG = re.compile(r'^\s*(?:W/)?"?(\d{1,9})"?\s*$')


def _if_match(header: str | None) -> int | None:
    """The version an optional If-Match names (None when absent)."""
    if header is None or not header.strip():
        return None
    match = _TAG.match(header)
    if not match:
        raise InvalidInput(f'If-Match {header!r} is not a version ETag such as "3"', field="If-Match")
    return int(match.group(1))


def _written(result: dict[str, Any], status: int) -> JSONResponse:
    feature = result["route"]
    headers = {"ETag": f'"{feature["properties"]["version"]}"', "Location": f"{PREFIX}/routes/{feature['id']}"}
    return JSONResponse(result, status_code=status, headers=headers)


@router.get(f"{PREFIX}/routes", summary="巡逻路线列表 Patrol routes as GeoJSON", response_class=Response)
def list_routes(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: Reader,
    officer_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    community_code: Annotated[str | None, Query(min_length=12, max_length=12)] = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    limit = min(limit, settings.max_page_size)
    page = routes.list_routes(session, who.area, officer_id, community_code, limit, offset)
    return page_response(request, page)


@router.post(f"{PREFIX}/routes", status_code=201, summary="新建巡逻路线 Create a patrol route")
def create_route(body: RouteBody, session: SessionDep, settings: SettingsDep, who: Police) -> JSONResponse:
    """{"route": Feature, "warnings": [...]}; a police token may only create its own officer's routes."""
    result = routes.create_route(session, who, body, settings.patrol_reach_m, settings.city_margin_km)
    session.commit()
    return _written(result, 201)


@router.get(
    f"{PREFIX}/routes/{{route_id}}.gpx",
    summary="导出 GPX Export a route as GPX 1.1",
    response_class=Response,
    responses={200: {"content": {GPX: {}}, "description": "GPX 1.1: a track and a waypoint per stop"}},
)
def route_gpx(route_id: RouteId, session: SessionDep, who: Reader) -> Response:
    return _gpx(session, route_id, who.area)


def _gpx(session, route_id: int, area) -> Response:
    disposition = f'attachment; filename="patrol-route-{route_id}.gpx"'
    return Response(
        routes.route_gpx(session, route_id, area), media_type=GPX, headers={"Content-Disposition": disposition}
    )


@router.get(
    f"{PREFIX}/routes/{{route_id}}",
    summary="巡逻路线详情 One route (GeoJSON Feature, or GPX with ?format=gpx)",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}, GPX: {}}, "description": "the route"}},
)
def get_route(
    route_id: RouteId,
    session: SessionDep,
    who: Reader,
    format: Annotated[str, Query(pattern="^(geojson|gpx)$")] = "geojson",
) -> Response:
    if format == "gpx":
        return _gpx(session, route_id, who.area)
    feature = routes.get_route(session, route_id, who.area)
    return JSONResponse(feature, media_type=GEOJSON, headers={"ETag": f'"{feature["properties"]["version"]}"'})


@router.put(f"{PREFIX}/routes/{{route_id}}", summary="修改巡逻路线 Update a route (fields given replace)")
def update_route(
    route_id: RouteId,
    body: RouteBody,
    session: SessionDep,
    settings: SettingsDep,
    who: Police,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Fields absent from the body keep their value; If-Match (optional) guards against a concurrent edit."""
    result = routes.update_route(
        session, who, route_id, body, _if_match(if_match), settings.patrol_reach_m, settings.city_margin_km
    )
    session.commit()
    return _written(result, 200)


@router.delete(f"{PREFIX}/routes/{{route_id}}", status_code=204, summary="删除巡逻路线 Delete a route")
def delete_route(route_id: RouteId, session: SessionDep, who: Police, if_match: IfMatch = None) -> Response:
    routes.delete_route(session, who, route_id, _if_match(if_match))
    session.commit()
    return Response(status_code=204)


@router.get(f"{PREFIX}/coverage", summary="巡逻覆盖 Coverage of a route, an officer's or a community's routes")
def get_coverage(
    session: SessionDep,
    settings: SettingsDep,
    who: Reader,
    route_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    officer_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    community_code: Annotated[str | None, Query(min_length=12, max_length=12)] = None,
    days: Days = 28,
    top_n: Annotated[int, Query(ge=1, le=200, description="hot spots: the N busiest grids")] = 10,
    reach_m: Annotated[
        float | None, Query(gt=0, le=5000, description="default: the patrol_reach_m setting")
    ] = None,
    hot_spots: Annotated[str, Query(pattern="^(top_n|gi_star)$", description="top_n or gi_star")] = "top_n",
    as_of: Annotated[dt.datetime | None, Query(description="end of the window (default now)")] = None,
) -> JSONResponse:
    result = coverage.coverage(
        session,
        who.area,
        route_id=route_id,
        officer_id=officer_id,
        community_code=community_code,
        reach_m=reach_m or settings.patrol_reach_m,
        days=days,
        as_of=as_of,
        top_n=top_n,
        hot_method=hot_spots,
    )
    return JSONResponse(result)


SuggestBody = Annotated[
    dict[str, Any],
    Body(
        openapi_examples={
            "officer": {
                "summary": "a 4-hour walking patrol for an officer",
                "value": {"officer_id": 1, "start": [107.105, 34.365], "shift_minutes": 240, "mode": "walk"},
            }
        }
    ),
]


@router.post(
    f"{PREFIX}/suggest",
    summary="建议巡逻 Suggest a patrol (choose and order stops within a shift)",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}, "description": "the suggested patrol as a GeoJSON Feature"}},
)
def suggest_patrol(body: SuggestBody, session: SessionDep, settings: SettingsDep, who: Police) -> Response:
    """A GeoJSON Feature: the line, the ordered stops with ETAs, risk vs greedy, coverage and a route draft.

    Writes nothing: POST the draft in properties.route to /routes to keep it.
    """
    request = suggest.parse_request(body)
    request.time_limit_ms = min(request.time_limit_ms, 5000)  # keep a request's solver time bounded
    return JSONResponse(
        suggest.suggest_patrol(session, request, settings.patrol_reach_m, within=who.area), media_type=GEOJSON
    )


@router.get(
    "/maps/patrol/{route_id}",
    summary="巡逻路线地图 Map of a route over the hot-spot layer",
    response_class=Response,
    responses={200: {"content": {"text/html": {}}, "description": "an HTML page that loads nothing from outside"}},
)
def patrol_map(
    route_id: RouteId, session: SessionDep, settings: SettingsDep, who: Reader, days: Days = 28
) -> Response:
    return HTMLResponse(route_map_html(session, settings, route_id, days, area=who.area))
