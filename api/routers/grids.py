"""The integrated grids: read (with ETag, history, as_of) and edit (create, replace, update, retire, revert)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from api.deps import GisEditor, Reader, SessionDep, SettingsDep
from api.etag import etag, parse_if_match
from api.paging import Limit, Offset, page_response
from api.routers import grid_edits, grid_exchange
from api.schemas.grid_edits import READ_ONLY, GridFeature, GridPatch, RevertBody
from geo import grids
from geo.editing import edits, history
from geo.editing.change import EDITABLE
from geo.errors import InvalidInput
from geo.geojson import parse_bbox

router = APIRouter(prefix="/api/v1/grids", tags=["grids 网格"])
# Fixed paths (/import, /export, /merge, /boundary) must come before /{code}.
router.include_router(grid_exchange.router)
router.include_router(grid_edits.router)

GEOJSON = "application/geo+json"
DryRun = Annotated[bool, Query(description="return the diff and write nothing")]
Reason = Annotated[str | None, Query(max_length=500, description="why (kept in the history and audit log)")]
IfMatch = Annotated[str | None, Header(alias="If-Match", description='the ETag from GET, e.g. "3"')]


def edited(result: dict[str, Any], code: str | None = None, status: int = 200) -> JSONResponse:
    """The edit's diff as JSON; the grid's new ETag when it was applied."""
    headers = {}
    if code and not result["dry_run"]:
        after = next((g for g in result["grids"] if g["code"] == code), None)
        if after:
            headers["ETag"] = etag(after["version_after"])
    return JSONResponse(result, status_code=status if not result["dry_run"] else 200, headers=headers)


@router.get("", summary="网格列表 Grids as GeoJSON", response_class=Response)
def list_grids(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: Reader,
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat (WGS84)")] = None,
    admin_code: Annotated[str | None, Query(max_length=15, description="any admin unit or grid code")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Response:
    limit = min(limit, settings.max_page_size)
    page = grids.list_grids(session, who.area, parse_bbox(bbox), admin_code, limit, offset)
    return page_response(request, page)


@router.post("", summary="新建网格 Create a grid", status_code=201)
def create_grid(
    body: GridFeature,
    session: SessionDep,
    settings: SettingsDep,
    who: GisEditor,
    dry_run: DryRun = False,
    reason: Reason = None,
) -> JSONResponse:
    code = body.properties.code or body.id
    if not code:
        raise InvalidInput("a new grid needs a code (id or properties.code)", field="code")
    attrs = body.properties.model_dump(exclude={"code"}, exclude_none=True)
    result = edits.create_grid(
        session,
        code,
        body.geometry,
        attrs,
        editor=who,
        reason=reason,
        dry_run=dry_run,
        tolerance_m=settings.edit_tolerance_m,
    )
    session.commit()
    response = edited(result, code, 201)
    if not dry_run:
        response.headers["Location"] = f"/api/v1/grids/{code}"
    return response


@router.get(
    "/{code}", summary="单个网格 One grid (ETag = version; as_of for a past state)", response_class=Response
)
def get_grid(
    code: str,
    session: SessionDep,
    who: Reader,
    as_of: Annotated[
        str | None, Query(description="date or datetime (Beijing time unless zoned): the grid as it was then")
    ] = None,
) -> Response:
    if as_of:
        body, version = history.as_of(session, code, history.parse_moment(as_of), who.area)
        return Response(body, media_type=GEOJSON, headers={"X-Grid-Version": str(version)})
    body, version = history.current_grid(session, code, who.area)
    return Response(body, media_type=GEOJSON, headers={"ETag": etag(version)})


@router.get("/{code}/history", summary="网格历史 Every version of a grid", response_class=Response)
def grid_history(code: str, session: SessionDep, who: Reader) -> Response:
    return Response(history.history(session, code, who.area), media_type=GEOJSON)


@router.put("/{code}", summary="替换网格 Replace a grid (If-Match)")
def replace_grid(
    code: str,
    body: GridFeature,
    session: SessionDep,
    settings: SettingsDep,
    who: GisEditor,
    if_match: IfMatch = None,
    dry_run: DryRun = False,
    reason: Reason = None,
) -> JSONResponse:
    version = parse_if_match(if_match, f"grid {code}")
    if (body.properties.code or body.id or code) != code:
        raise InvalidInput(f"the body names grid {body.properties.code or body.id}, the path {code}", field="code")
    attrs = body.properties.model_dump(exclude={"code"})
    result = edits.replace_grid(
        session,
        code,
        body.geometry,
        attrs,
        expected_version=version,
        editor=who,
        reason=reason,
        dry_run=dry_run,
        tolerance_m=settings.edit_tolerance_m,
    )
    session.commit()
    return edited(result, code)


@router.patch("/{code}", summary="修改网格 Update part of a grid (If-Match)")
def update_grid(
    code: str,
    body: GridPatch,
    session: SessionDep,
    settings: SettingsDep,
    who: GisEditor,
    if_match: IfMatch = None,
    dry_run: DryRun = False,
    reason: Reason = None,
) -> JSONResponse:
    version = parse_if_match(if_match, f"grid {code}")
    unknown = set(body.properties) - set(EDITABLE) - READ_ONLY
    if unknown:
        raise InvalidInput(
            f"unknown properties {sorted(unknown)}; editable: {', '.join(EDITABLE)}", field="properties"
        )
    attrs = {k: v for k, v in body.properties.items() if k in EDITABLE}
    result = edits.update_grid(
        session,
        code,
        geometry=body.geometry,
        attrs=attrs,
        expected_version=version,
        editor=who,
        reason=reason,
        dry_run=dry_run,
        tolerance_m=settings.edit_tolerance_m,
    )
    session.commit()
    return edited(result, code)


@router.delete("/{code}", summary="撤销网格 Retire a grid (If-Match)")
def retire_grid(
    code: str,
    session: SessionDep,
    settings: SettingsDep,
    who: GisEditor,
    if_match: IfMatch = None,
    absorbed_by: Annotated[
        str | None, Query(max_length=15, description="the neighbour that takes its area")
    ] = None,
    absorbed_by_version: Annotated[int | None, Query(description="that neighbour's ETag version")] = None,
    dry_run: DryRun = False,
    reason: Reason = None,
) -> JSONResponse:
    version = parse_if_match(if_match, f"grid {code}")
    if absorbed_by:
        parse_if_match(None if absorbed_by_version is None else str(absorbed_by_version), f"grid {absorbed_by}")
    result = edits.retire_grid(
        session,
        code,
        expected_version=version,
        editor=who,
        reason=reason,
        absorbed_by=absorbed_by,
        absorbed_by_version=absorbed_by_version,
        dry_run=dry_run,
        tolerance_m=settings.edit_tolerance_m,
    )
    session.commit()
    return edited(result, code)


@router.post("/{code}/revert", summary="恢复版本 Revert a grid to a version (itself a new version; If-Match)")
def revert_grid(
    code: str,
    body: RevertBody,
    session: SessionDep,
    settings: SettingsDep,
    who: GisEditor,
    if_match: IfMatch = None,
    dry_run: DryRun = False,
    reason: Reason = None,
) -> JSONResponse:
    version = parse_if_match(if_match, f"grid {code}")
    result = edits.revert_grid(
        session,
        code,
        body.version,
        expected_version=version,
        editor=who,
        reason=reason,
        dry_run=dry_run,
        tolerance_m=settings.edit_tolerance_m,
    )
    session.commit()
    return edited(result, code)
