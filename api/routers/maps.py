"""Command-centre maps as HTML pages (/maps/…) and the dashboard's map data (/api/v1/dashboard/scope)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from api.compression import respond
from api.deps import Reader, ReadSessionDep, SessionDep, SettingsDep
from geo.maps.contacts import contacts, may_see_phones
from geo.maps.dashboard import scope_layers
from geo.maps.layers import uses_gcj02
from geo.maps.pages import render_map
from geo.scope import CITY_CODE

router = APIRouter(tags=["maps 地图"])

HTML = "text/html; charset=utf-8"
HTML_PAGE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/html": {}}, "description": "a map page that loads only from this server"}
}
AdminCode = Annotated[
    str | None,
    Query(
        min_length=6,
        max_length=15,
        pattern=r"^\d+$",
        description=f"{CITY_CODE} = the city (default); 6-digit county, 9-digit town, 12-digit community or 15-digit grid",
    ),
]
Start = Annotated[dt.date | None, Query(description="first local day, inclusive (default: a year before end)")]
End = Annotated[
    dt.date | None, Query(description="day after the last, exclusive (default: the day after the latest incident)")
]
Category = Annotated[
    list[str] | None, Query(description="incident categories (repeat or comma-separate); default all")
]


def map_filters(
    who: Reader, admin_code: AdminCode = None, start: Start = None, end: End = None, category: Category = None
) -> dict[str, Any]:
    """The filters every map takes (scope, local-date range, categories), as render_map's keywords.

    The scope is admin_code inside the caller's area (403 outside it), or the area itself.
    """
    scope = who.area.narrowed(admin_code).code
    return {"admin_code": scope, "start": start, "end": end, "categories": category}


Filters = Annotated[dict[str, Any], Depends(map_filters)]


def _page(request: Request, html: str) -> Response:
    # The maps are opened inside the dashboard (srcdoc): never cache a page that was fetched with a token.
    return respond(request, html.encode("utf-8"), HTML, {"Cache-Control": "no-store"})


@router.get(
    "/maps/density",
    responses=HTML_PAGE,
    summary="事件密度图 Incident kernel density (bandwidth in metres)",
    response_class=Response,
)
def density(
    request: Request,
    session: ReadSessionDep,
    settings: SettingsDep,
    filters: Filters,
    bandwidth_m: Annotated[
        float | None, Query(ge=10, le=5000, description="kernel σ in metres (default the setting)")
    ] = None,
) -> Response:
    html = render_map("density", session, settings, **filters, bandwidth_m=bandwidth_m)
    return _page(request, html)


@router.get(
    "/maps/choropleth",
    responses=HTML_PAGE,
    summary="网格分级图 Grid choropleth (natural breaks)",
    response_class=Response,
)
def choropleth(
    request: Request,
    session: ReadSessionDep,
    settings: SettingsDep,
    filters: Filters,
    measure: Annotated[
        Literal["count", "rate"], Query(description="count, or rate per 1,000 households")
    ] = "count",
) -> Response:
    html = render_map("choropleth", session, settings, **filters, measure=measure)
    return _page(request, html)


@router.get(
    "/maps/hotspots",
    responses=HTML_PAGE,
    summary="冷热点分析 Getis-Ord Gi* hot and cold spots (two-sided permutation p, FDR)",
    response_class=Response,
)
def hotspots(
    request: Request,
    session: ReadSessionDep,
    settings: SettingsDep,
    filters: Filters,
    measure: Annotated[
        Literal["auto", "count", "density", "rate"],
        Query(
            description="what Gi* tests: count; density (per km²); rate (per 1,000 households; grids without "
            "households are not tested); auto (default): rate where grid areas differ more than 10× (density if some "
            "grids have no households), else count"
        ),
    ] = "auto",
) -> Response:
    html = render_map("hotspots", session, settings, **filters, measure=measure)
    return _page(request, html)


@router.get(
    "/maps/change",
    responses=HTML_PAGE,
    summary="同比变化图 Year-over-year change (exact two-Poisson test, BH across grids)",
    response_class=Response,
)
def change(
    request: Request,
    session: ReadSessionDep,
    settings: SettingsDep,
    filters: Filters,
) -> Response:
    html = render_map("change", session, settings, **filters)
    return _page(request, html)


@router.get(
    "/api/v1/dashboard/scope",
    summary="指挥中心地图数据 A scope's child units and grids with counts (GeoJSON, simplified)",
    response_class=Response,
    responses={200: {"content": {"application/json": {}}}},
)
def dashboard_scope(
    request: Request,
    session: ReadSessionDep,
    settings: SettingsDep,
    filters: Filters,
    grid_geometry: Annotated[bool, Query(description="false: grid counts only (the map draws grid tiles)")] = True,
) -> Response:
    f = filters
    body = scope_layers(
        session, f["admin_code"], f["start"], f["end"], f["categories"], uses_gcj02(settings), grid_geometry
    )
    return respond(request, json.dumps(body, ensure_ascii=False).encode("utf-8"), "application/json")


@router.get(
    "/api/v1/dashboard/contacts/{code}",
    summary="联系人 Who to call: community, grid worker, community police (phones masked for viewers)",
)
def contacts_route(
    code: Annotated[
        str,
        Path(min_length=12, max_length=15, pattern=r"^\d+$", description="12-digit community or 15-digit grid"),
    ],
    session: SessionDep,
    who: Reader,
) -> dict[str, Any]:
    return contacts(session, code, may_see_phones(who), who.area)
