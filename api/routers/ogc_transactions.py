"""OGC API – Features Part 4 for grids: POST, PUT, PATCH, DELETE with ETag/If-Match (GIS editors only).

Every write goes through geo.editing (the same validation, versioning, re-assignment and audit as
/api/v1/grids); other collections answer 405.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from api.deps import GisEditor, SessionDep, SettingsDep
from api.errors import error_body
from api.etag import etag, parse_if_match
from api.schemas.grid_edits import READ_ONLY, GridFeature, GridPatch
from geo.area import CITY
from geo.editing import edits
from geo.editing.change import EDITABLE
from geo.errors import InvalidInput
from geo.ogc.collections import COLLECTIONS
from geo.ogc.items import item

router = APIRouter()
GEOJSON = "application/geo+json"
EDITABLE_COLLECTION = "grids"
DryRun = Annotated[bool, Query(description="return the edit's diff and write nothing")]
Reason = Annotated[str | None, Query(max_length=500, description="why (kept in the history and audit log)")]
IfMatch = Annotated[str | None, Header(alias="If-Match", description='the ETag from GET, e.g. "3"')]


def _not_editable(collection_id: str) -> JSONResponse | None:
    if collection_id == EDITABLE_COLLECTION:
        return None
    status = 405 if collection_id in COLLECTIONS else 404
    detail = f"only {EDITABLE_COLLECTION} can be edited over OGC API – Features Part 4"
    return JSONResponse(error_body("method_not_allowed" if status == 405 else "not_found", detail), status)


def _feature(session: Any, code: str, status: int, extra: dict[str, str] | None = None) -> Response:
    """The grid as it now stands (GeoJSON) with its new ETag (the edit itself kept it in the editor's area)."""
    found = item(session, COLLECTIONS[EDITABLE_COLLECTION], code, CITY)
    if found is None:  # retired by this very edit
        return Response(status_code=204)
    body, props = found
    return Response(
        body, status_code=status, media_type=GEOJSON, headers={"ETag": etag(props["version"]), **(extra or {})}
    )


@router.post(
    "/collections/{collection_id}/items", summary="新建网格 Create a grid (Part 4)", status_code=201,
    response_class=Response, responses={201: {"content": {GEOJSON: {}}}},
)  # fmt: skip
def create_item(
    request: Request, collection_id: str, body: GridFeature, session: SessionDep, settings: SettingsDep,
    who: GisEditor, dry_run: DryRun = False, reason: Reason = None,
) -> Response:  # fmt: skip
    if (refused := _not_editable(collection_id)) is not None:
        return refused
    code = body.properties.code or body.id
    if not code:
        raise InvalidInput("a new grid needs a code (id or properties.code)", field="code")
    attrs = body.properties.model_dump(exclude={"code"}, exclude_none=True)
    result = edits.create_grid(
        session, code, body.geometry, attrs, editor=who, reason=reason, dry_run=dry_run,
        tolerance_m=settings.edit_tolerance_m,
    )  # fmt: skip
    if dry_run:
        return JSONResponse(result)
    location = f"{str(request.base_url).rstrip('/')}/ogc/collections/{EDITABLE_COLLECTION}/items/{code}"
    response = _feature(session, code, 201, {"Location": location})
    session.commit()
    return response


@router.put(
    "/collections/{collection_id}/items/{feature_id}", summary="替换网格 Replace a grid (Part 4, If-Match)",
    response_class=Response, responses={200: {"content": {GEOJSON: {}}}},
)  # fmt: skip
def replace_item(
    request: Request, collection_id: str, feature_id: str, body: GridFeature, session: SessionDep,
    settings: SettingsDep, who: GisEditor, if_match: IfMatch = None, dry_run: DryRun = False, reason: Reason = None,
) -> Response:  # fmt: skip
    if (refused := _not_editable(collection_id)) is not None:
        return refused
    version = parse_if_match(if_match, f"grid {feature_id}")
    if (body.properties.code or body.id or feature_id) != feature_id:
        raise InvalidInput(
            f"the body names grid {body.properties.code or body.id}, the path {feature_id}", field="id"
        )
    result = edits.replace_grid(
        session, feature_id, body.geometry, body.properties.model_dump(exclude={"code"}), expected_version=version,
        editor=who, reason=reason, dry_run=dry_run, tolerance_m=settings.edit_tolerance_m,
    )  # fmt: skip
    if dry_run:
        return JSONResponse(result)
    response = _feature(session, feature_id, 200)
    session.commit()
    return response


@router.patch(
    "/collections/{collection_id}/items/{feature_id}", summary="修改网格 Update part of a grid (Part 4, If-Match)",
    response_class=Response, responses={200: {"content": {GEOJSON: {}}}},
)  # fmt: skip
def update_item(
    request: Request, collection_id: str, feature_id: str, body: GridPatch, session: SessionDep,
    settings: SettingsDep, who: GisEditor, if_match: IfMatch = None, dry_run: DryRun = False, reason: Reason = None,
) -> Response:  # fmt: skip
    if (refused := _not_editable(collection_id)) is not None:
        return refused
    version = parse_if_match(if_match, f"grid {feature_id}")
    unknown = set(body.properties) - set(EDITABLE) - READ_ONLY
    if unknown:
        raise InvalidInput(
            f"unknown properties {sorted(unknown)}; editable: {', '.join(EDITABLE)}", field="properties"
        )
    result = edits.update_grid(
        session, feature_id, geometry=body.geometry, attrs={k: v for k, v in body.properties.items() if k in EDITABLE},
        expected_version=version, editor=who, reason=reason, dry_run=dry_run,
        tolerance_m=settings.edit_tolerance_m,
    )  # fmt: skip
    if dry_run:
        return JSONResponse(result)
    response = _feature(session, feature_id, 200)
    session.commit()
    return response


@router.delete(
    "/collections/{collection_id}/items/{feature_id}", summary="撤销网格 Retire a grid (Part 4, If-Match)",
    status_code=204, response_class=Response,
)  # fmt: skip
def delete_item(
    collection_id: str, feature_id: str, session: SessionDep, settings: SettingsDep, who: GisEditor,
    if_match: IfMatch = None,
    absorbed_by: Annotated[str | None, Query(max_length=15, description="the neighbour that takes its area")] = None,
    absorbed_by_version: Annotated[int | None, Query(description="that neighbour's ETag version")] = None,
    dry_run: DryRun = False, reason: Reason = None,
) -> Response:  # fmt: skip
    if (refused := _not_editable(collection_id)) is not None:
        return refused
    version = parse_if_match(if_match, f"grid {feature_id}")
    if absorbed_by:
        parse_if_match(None if absorbed_by_version is None else str(absorbed_by_version), f"grid {absorbed_by}")
    result = edits.retire_grid(
        session, feature_id, expected_version=version, editor=who, reason=reason, absorbed_by=absorbed_by,
        absorbed_by_version=absorbed_by_version, dry_run=dry_run, tolerance_m=settings.edit_tolerance_m,
    )  # fmt: skip
    if dry_run:
        return JSONResponse(result)
    session.commit()
    return Response(status_code=204)
