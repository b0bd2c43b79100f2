"""Cases (案件): report, the caller's queue, one case with its timeline, steps (If-Match), photos, time limits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from api.deps import Admin, SessionDep, SettingsDep, requires
from api.etag import etag, parse_if_match
from api.uploads import json_body, raw_body
from geo.auth import Principal
from geo.cases import limits, measures, photos, queries, store
from geo.cases.report import fields_of, report
from geo.cases.steps import STEPS
from geo.cases.vocab import IDEMPOTENCY_KEY_MAX_CHARS, NOTE_MAX_CHARS

router = APIRouter(prefix="/api/v1/cases", tags=["cases 案件"])

CASE_ROLES = ("grid_worker", "police", "centre_operator", "department_handler")
CaseWorker = Annotated[Principal, Depends(requires(*CASE_ROLES))]
IdParam = Annotated[int, Path(ge=1, le=2**63 - 1)]


class UnitRef(BaseModel):
    """A unit: a grid (15-digit code), a centre (admin code) or a department at an admin code."""

    model_config = ConfigDict(extra="forbid")
    kind: str = Field(description="grid, centre or department")
    code: str = Field(max_length=15)
    department: str | None = Field(None, description="one of the 11 departments (kind department)")


class StepRequest(BaseModel):
    """One step; which fields a step needs is listed by GET /api/v1/cases/steps."""

    model_config = ConfigDict(extra="forbid")
    step: str = Field(max_length=32, description="e.g. file, dispatch, accept, report_back, verify_close")
    note: str | None = Field(
        None, max_length=NOTE_MAX_CHARS, description="reason or remark (decline, rework, park … need it)"
    )
    to: UnitRef | None = Field(None, description="dispatch: the handling unit")
    days: int | None = Field(None, ge=0, le=60, description="dispatch: working days; request_extension: more days")
    review_on: dt.date | None = Field(None, description="park: the review date")
    lon: float | None = Field(None, ge=-180, le=180, description="where the step was taken (optional)")
    lat: float | None = Field(None, ge=-90, le=90)

    def fields(self) -> dict[str, Any]:
        """The body as geo.cases.store.take_step reads it (the API and the CLI both send it so)."""
        return self.model_dump(exclude={"step"})


class LimitRow(BaseModel):
    model_config = ConfigDict(extra="forbid")
    category: str = Field(max_length=16, description="an incident category or '*'")
    priority: str = Field(max_length=8)
    step: str = Field(max_length=16, description="file, dispatch, handle, verify or spot")
    working_days: int = Field(ge=0, le=60)
    max_working_days: int | None = Field(None, ge=0, le=60)


def _case_response(
    session: SessionDep,
    who: Principal,
    case_id: int,
    status: int = 200,
    commit: bool = False,
    rows: Sequence[Any] | None = None,
) -> JSONResponse:
    """The case as it stands; with commit, read in the writer's transaction and then committed (the same rows,
    one transaction and round trips fewer than reading afresh after the commit). rows: the case as its writer's
    statement returned it (geo.cases.report), instead of reading it."""
    doc = (
        queries.get_case(session, who, case_id) if rows is None else queries.case_doc(session, who, case_id, rows)
    )
    if commit:
        session.commit()
    return JSONResponse(doc, status_code=status, headers={"ETag": etag(doc["version"])})


@router.post("", status_code=201, summary="上报案件 Report a case (an incident Feature plus a 'case' member)")
def create_case(
    session: SessionDep,
    settings: SettingsDep,
    who: CaseWorker,
    doc: Annotated[Any, Depends(json_body)],
    idempotency_key: Annotated[
        str | None,
        Header(max_length=IDEMPOTENCY_KEY_MAX_CHARS, description="client-made id: a retry returns the same case"),
    ] = None,
) -> JSONResponse:
    fields = fields_of(doc)
    done = report(session, settings, who, doc, fields, idempotency_key)  # a retry: no rows, the case is read
    return _case_response(session, who, done.id, 201 if done.created else 200, commit=True, rows=done.rows)


@router.get("", summary="案件队列 The caller's queue (open cases, overdue first)")
def list_cases(
    session: SessionDep,
    settings: SettingsDep,
    who: CaseWorker,
    state: Annotated[
        str | None, Query(max_length=300, description="comma-separated states (default: open ones)")
    ] = None,
    unit: Annotated[str | None, Query(max_length=15, description="holding unit's code")] = None,
    category: Annotated[str | None, Query(max_length=16)] = None,
    overdue: Annotated[bool | None, Query(description="only overdue (true) or not overdue (false)")] = None,
    supervision: Annotated[bool, Query(description="督办: overdue cases held below the caller's centre")] = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    states = [s.strip() for s in state.split(",") if s.strip()] if state else None
    return queries.list_cases(
        session, who, states=states, unit_code=unit, category=category, overdue=overdue,
        supervision=supervision, limit=min(limit, settings.max_page_size), offset=offset,
    )  # fmt: skip


@router.get("/steps", summary="步骤表 The step table: from-states, to-state, who, needed fields")
def step_table(_: CaseWorker) -> list[dict[str, Any]]:
    return [
        {"step": s.name, "label": s.label, "from_states": list(s.from_states), "to_state": s.to_state,
         "by": list(s.by), "clock": s.clock, "needs": list(s.needs)}
        for s in STEPS.values()
    ]  # fmt: skip


@router.get("/limits", summary="办理时限 Time limits (working days) per category, priority and step")
def get_limits(session: SessionDep, _: CaseWorker) -> list[dict[str, Any]]:
    return limits.list_limits(session)


@router.put("/limits", summary="修改办理时限 Set time limits (admin)")
def put_limits(session: SessionDep, who: Admin, rows: list[LimitRow]) -> list[dict[str, Any]]:
    table = limits.set_limits(session, who.username, [r.model_dump() for r in rows])
    session.commit()
    return table


@router.get("/measures", summary="案件指标 Measures for a unit and period (cases reported in [start, end))")
def case_measures(
    session: SessionDep,
    who: CaseWorker,
    admin_code: Annotated[str, Query(max_length=15, description="city, county, town, community or grid code")],
    start: Annotated[dt.date, Query(description="first day (local)")],
    end: Annotated[dt.date, Query(description="day after the last (local)")],
) -> dict[str, Any]:
    return measures.measures(session, who, admin_code, start, end)


@router.get("/{case_id}", summary="案件详情 One case: state, timeline, allowed steps (ETag = version)")
def get_case(case_id: IdParam, session: SessionDep, who: CaseWorker) -> JSONResponse:
    return _case_response(session, who, case_id)


@router.post("/{case_id}/steps", summary="办理步骤 Take a step (If-Match: the version you read)")
def take_step(
    case_id: IdParam,
    body: StepRequest,
    session: SessionDep,
    who: CaseWorker,
    if_match: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    version = parse_if_match(if_match, f"case {case_id}")
    store.take_step(session, who, case_id, body.step, version, body.fields())
    return _case_response(session, who, case_id, commit=True)


@router.post("/{case_id}/photos", status_code=201, summary="上传照片 Attach a JPEG or PNG (the raw body)")
def add_photo(
    case_id: IdParam,
    session: SessionDep,
    settings: SettingsDep,
    who: CaseWorker,
    data: Annotated[bytes, Depends(raw_body)],
) -> dict[str, Any]:
    photo = photos.add_photo(session, who, case_id, data, settings.case_photo_max_bytes)
    session.commit()
    return photo


@router.get("/{case_id}/photos/{photo_id}", summary="照片 A case's photo", response_class=Response)
def get_photo(case_id: IdParam, photo_id: IdParam, session: SessionDep, who: CaseWorker) -> Response:
    data, content_type = photos.read_photo(session, who, case_id, photo_id)
    return Response(data, media_type=content_type, headers={"Cache-Control": "private, max-age=86400"})
