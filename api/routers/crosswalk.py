"""The 11-department merger crosswalk: which department grids overlap each integrated grid, by what share."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, Response, UploadFile
from fastapi.responses import JSONResponse

from api.deps import GisEditor, Reader, ReadSessionDep, SessionDep, SettingsDep
from geo.editing import crosswalk

router = APIRouter(prefix="/api/v1/crosswalk", tags=["crosswalk 部门网格对照"])
Format = Annotated[Literal["json", "csv"], Query(description="json or csv (one row per overlap)")]


def _out(result: dict, fmt: str) -> Response:
    if fmt == "csv":
        name = f"crosswalk_{result['department']}.csv"
        # A BOM so that Excel, which GIS staff open CSVs in, reads the Chinese names as UTF-8.
        return Response(
            "\ufeff" + crosswalk.to_csv(result),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return JSONResponse(result)


@router.post("", summary="上传部门网格 Crosswalk of an uploaded department grid layer")
def upload(
    session: SessionDep,
    settings: SettingsDep,
    who: GisEditor,
    department: Annotated[str, Form(description="one of the 11 departments, e.g. civil_affairs")],
    file: Annotated[UploadFile, File(description="GeoJSON, GeoPackage or zipped Shapefile; features need a code")],
    crs: Annotated[str | None, Form()] = None,
    format: Format = "json",
) -> Response:
    result = crosswalk.crosswalk_upload(
        session, department, who.area, file.file.read(), file.filename, crs, tolerance_m=settings.edit_tolerance_m
    )
    return _out(result, format)


@router.get("/{department}", summary="部门网格对照 Crosswalk of a department's stored grids")
def stored(
    department: str, session: ReadSessionDep, settings: SettingsDep, who: Reader, format: Format = "json"
) -> Response:
    return _out(
        crosswalk.crosswalk_table(session, department, who.area, tolerance_m=settings.edit_tolerance_m), format
    )
