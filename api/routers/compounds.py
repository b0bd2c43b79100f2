"""Old residential compounds (老旧小区): list and read as GeoJSON, create or replace a polygon (assigned to grids)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from api.deps import GisEditor, Reader, SessionDep, SettingsDep
from api.paging import Offset, page_response
from api.uploads import json_body
from geo import compounds
from geo.geojson import parse_bbox

router = APIRouter(prefix="/api/v1/compounds", tags=["compounds 老旧小区"])

GEOJSON = "application/geo+json"
CrsParam = Annotated[
    str | None,
    Query(max_length=40, description="coordinates' CRS: EPSG:4326 (default), EPSG:4490, GCJ-02 or BD-09"),
]
IdParam = Annotated[int, Path(ge=1, le=2**31 - 1)]
Body = Annotated[Any, Depends(json_body)]


@router.get("", summary="老旧小区列表 Compounds as GeoJSON", response_class=Response)
def list_compounds(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: Reader,
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat (WGS84)")] = None,
    admin_code: Annotated[
        str | None, Query(max_length=15, description="city, county, town, community or grid code")
    ] = None,
    renovation_status: Annotated[
        str | None, Query(max_length=100, description="renovated, in_progress, not_renovated")
    ] = None,
    category: Annotated[str | None, Query(max_length=100, description="three_no (三无小区) or other")] = None,
    renovated_from: Annotated[
        int | None, Query(ge=1900, le=2100, description="renovated in or after this year")
    ] = None,
    renovated_to: Annotated[
        int | None, Query(ge=1900, le=2100, description="renovated in or before this year")
    ] = None,
    straddling: Annotated[
        bool | None, Query(description="only compounds split between grids (or only not)")
    ] = None,
    limit: Annotated[int, Query(ge=1)] = 100,
    offset: Offset = 0,
) -> Response:
    limit = min(limit, settings.max_page_size)
    page = compounds.list_compounds(
        session,
        settings,
        who.area,
        parse_bbox(bbox),
        admin_code,
        renovation_status,
        category,
        renovated_from,
        renovated_to,
        straddling,
        limit,
        offset,
    )
    return page_response(request, page)


@router.get("/{compound_id}", summary="老旧小区详情 One compound", response_class=JSONResponse)
def get_compound(compound_id: IdParam, session: SessionDep, settings: SettingsDep, who: Reader) -> JSONResponse:
    return JSONResponse(compounds.get_compound(session, compound_id, settings, who.area), media_type=GEOJSON)


def _save(session, settings, who, doc, crs, compound_id=None) -> JSONResponse:
    cid, created, _, warnings = compounds.save_compound(
        session, settings, who.area, doc, crs, compound_id, actor=who.username
    )
    session.commit()
    feature = compounds.get_compound(session, cid, settings, who.area)
    feature["warnings"] = warnings
    return JSONResponse(feature, status_code=201 if created else 200, media_type=GEOJSON)


@router.post("", status_code=201, summary="新增老旧小区 Create a compound (a GeoJSON Polygon Feature)")
def create_compound(
    session: SessionDep, settings: SettingsDep, who: GisEditor, doc: Body, crs: CrsParam = None
) -> JSONResponse:
    """A new compound, or the one with the same external_id replaced (200)."""
    return _save(session, settings, who, doc, crs)


@router.put("/{compound_id}", summary="修改老旧小区 Replace a compound's polygon and attributes")
def replace_compound(
    compound_id: IdParam,
    session: SessionDep,
    settings: SettingsDep,
    who: GisEditor,
    doc: Body,
    crs: CrsParam = None,
) -> JSONResponse:
    compounds.get_compound(session, compound_id, settings, who.area)  # 404 before any parsing work
    return _save(session, settings, who, doc, crs, compound_id)
