"""Grid layers in and out: import (GeoJSON, GeoPackage, zipped Shapefile) and export at any admin level."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, Response, UploadFile
from fastapi.responses import JSONResponse

from api.deps import GisEditor, Reader, ReadSessionDep, SessionDep, SettingsDep
from geo.editing import exchange

router = APIRouter()


@router.post("/import", summary="导入网格图层 Import a grid layer (all or nothing, per-feature report)")
def import_layer(
    session: SessionDep,
    settings: SettingsDep,
    who: GisEditor,
    file: Annotated[UploadFile, File(description="GeoJSON, GeoPackage or a zipped Shapefile")],
    crs: Annotated[str | None, Form(description="declare GCJ-02 or BD-09 coordinates to convert")] = None,
    dry_run: Annotated[bool, Query(description="validate and report, write nothing")] = False,
    reason: Annotated[str | None, Query(max_length=500)] = None,
    force: Annotated[
        bool, Query(description="admins: change existing grids whose version the layer does not give (audited)")
    ] = False,
) -> JSONResponse:
    data = file.file.read()
    result = exchange.import_grids(
        session,
        data,
        file.filename,
        editor=who,
        reason=reason,
        crs=crs,
        dry_run=dry_run,
        tolerance_m=settings.edit_tolerance_m,
        force=force,
    )
    session.commit()
    return JSONResponse(result)


@router.get(
    "/export", summary="导出网格图层 Export grids (GeoJSON, GeoPackage, zipped Shapefile)", response_class=Response
)
def export_layer(
    session: ReadSessionDep,
    who: Reader,
    format: Literal["geojson", "gpkg", "shp"] = "geojson",
    admin_code: Annotated[
        str | None, Query(max_length=15, description="city, county, town, community or grid")
    ] = None,
    include_retired: bool = False,
) -> Response:
    data, media, name = exchange.export_grids(session, format, who.area, admin_code, include_retired)
    return Response(data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})
