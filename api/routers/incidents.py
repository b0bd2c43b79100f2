"""Incidents: report one, import many (GeoJSON, CSV, GeoPackage), list and read as GeoJSON, change status."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from api.deps import Police, Reader, Reporter, SessionDep, SettingsDep
from api.paging import Offset, page_response
from api.uploads import bulk_upload, json_body
from geo import incidents
from geo.geojson import parse_bbox
from geo.pg.retry import retried

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents 事件"])

GEOJSON = "application/geo+json"
CrsParam = Annotated[
    str | None,
    Query(max_length=40, description="coordinates' CRS: EPSG:4326 (default), EPSG:4490, GCJ-02 or BD-09"),
]
IdParam = Annotated[int, Path(ge=1, le=2**63 - 1)]


class IncidentChange(BaseModel):
    """A status change (e.g. a dispute mediated or resolved) and notes; times default to now."""

    model_config = ConfigDict(extra="forbid")
    status: str | None = Field(None, description="reported, assigned, in_progress, mediated, resolved, closed")
    subcategory: str | None = None
    description: str | None = None
    mediated_at: dt.datetime | None = None
    resolved_at: dt.datetime | None = None
    reason: str | None = Field(None, description="why (kept in the audit log)")


@router.post("", status_code=201, summary="上报事件 Report one incident (a GeoJSON Point Feature)")
def create_incident(
    session: SessionDep,
    settings: SettingsDep,
    who: Reporter,
    doc: Annotated[Any, Depends(json_body)],
    crs: CrsParam = None,
) -> JSONResponse:
    def write() -> incidents.Stored:
        done = incidents.create_incident(
            session, settings, doc, crs, actor=who.username, within=who.area,
            may_overwrite_others=who.has("gis_editor"),
        )  # fmt: skip
        session.commit()
        return done

    # A deadlock with a concurrent import is retried here, whole transaction (geo.pg.retry).
    done = retried(session, write)
    feature = incidents.get_incident(session, done.id, who.area)
    feature["warnings"] = done.warnings
    return JSONResponse(feature, status_code=201 if done.created else 200, media_type=GEOJSON)


@router.post("/bulk", summary="批量导入事件 Import incidents: GeoJSON FeatureCollection, CSV or GeoPackage")
def import_incidents(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: Police,
    upload: Annotated[tuple[bytes, str], Depends(bulk_upload)],
    crs: CrsParam = None,
    partial: Annotated[bool, Query(description="store the valid features and report the rejected ones")] = False,
    dry_run: Annotated[bool, Query(description="check and assign grids, write nothing")] = False,
) -> dict[str, Any]:
    incidents.check_bulk_allowed(who.area)
    data, fmt = upload

    def write() -> dict[str, Any]:
        done = incidents.import_incidents(
            session, settings, data, fmt, crs, partial, dry_run=dry_run, actor=who.username
        )
        if not dry_run:  # a dry run wrote nothing: the session closes without a commit
            session.commit()
        return done

    # Two imports sharing new external ids collide rarely now (one lock order, geo.incidents.store), and
    # when they do, the whole import is run again before the client hears of it (geo.pg.retry).
    summary = retried(session, write)
    if not dry_run:
        request.app.state.metrics.count_import(summary)
    return summary


@router.get("", summary="事件列表 Incidents as GeoJSON", response_class=Response)
def list_incidents(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: Reader,
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat (WGS84)")] = None,
    admin_code: Annotated[
        str | None, Query(max_length=15, description="city, county, town, community or grid code")
    ] = None,
    category: Annotated[str | None, Query(max_length=200, description="one or more, comma-separated")] = None,
    status: Annotated[str | None, Query(max_length=200, description="one or more, comma-separated")] = None,
    occurred_from: Annotated[dt.datetime | None, Query(description="inclusive; no offset = UTC+8")] = None,
    occurred_to: Annotated[dt.datetime | None, Query(description="exclusive; no offset = UTC+8")] = None,
    outside: Annotated[bool | None, Query(description="only (or no) incidents outside every grid")] = None,
    limit: Annotated[int, Query(ge=1)] = 100,
    offset: Offset = 0,
) -> Response:
    limit = min(limit, settings.max_page_size)
    page = incidents.list_incidents(
        session,
        who.area,
        parse_bbox(bbox),
        admin_code,
        category,
        status,
        occurred_from,
        occurred_to,
        outside,
        limit,
        offset,
    )
    return page_response(request, page)


@router.get("/{incident_id}", summary="事件详情 One incident", response_class=JSONResponse)
def get_incident(incident_id: IdParam, session: SessionDep, who: Reader) -> JSONResponse:
    return JSONResponse(incidents.get_incident(session, incident_id, who.area), media_type=GEOJSON)


@router.patch("/{incident_id}", summary="事件状态 Change an incident's status (mediated, resolved, …)")
def change_incident(
    incident_id: IdParam, change: IncidentChange, session: SessionDep, who: Reporter
) -> JSONResponse:
    fields = change.model_dump(exclude_unset=True)
    reason = fields.pop("reason", None)
    incidents.update_incident(session, incident_id, fields, who.area, actor=who.username, reason=reason)
    session.commit()
    return JSONResponse(incidents.get_incident(session, incident_id, who.area), media_type=GEOJSON)
