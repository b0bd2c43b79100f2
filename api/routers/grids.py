"""Read access to the integrated grids as GeoJSON."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from api.deps import Reader, SessionDep, SettingsDep
from api.paging import next_link
from geo import grids
from geo.geojson import parse_bbox

router = APIRouter(prefix="/api/v1/grids", tags=["grids 网格"])

GEOJSON = "application/geo+json"


@router.get("", summary="网格列表 Grids as GeoJSON", response_class=Response)
def list_grids(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    _: Reader,
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat (WGS84)")] = None,
    admin_code: Annotated[str | None, Query(max_length=15, description="any admin unit or grid code")] = None,
    limit: Annotated[int, Query(ge=1)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    limit = min(limit, settings.max_page_size)
    body = grids.list_grids(session, parse_bbox(bbox), admin_code, limit, offset)
    headers = {}
    link = next_link(request, body, limit, offset)
    if link:
        headers["Link"] = f'<{link}>; rel="next"'
    return Response(body, media_type=GEOJSON, headers=headers)
