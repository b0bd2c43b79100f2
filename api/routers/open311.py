"""Open311 GeoReport v2 (公众举报): services, public requests and filing one, for existing 311 apps.

JSON only (`.json`); the XML format of the standard is not served (`.xml` answers 404 in the Open311 error
shape). Errors are lists of {code, description}. Reads are public, rate-limited per client and cached per
process until the next case step (the live listener empties the cache) or for open311_cache_s at most.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.deps import Admin, SessionDep, SettingsDep
from api.errors import OPEN311_RESPONSES
from geo import open311
from geo.errors import InvalidInput
from geo.open311 import requests as public

router = APIRouter(tags=["open311 公众举报"])
PREFIX = "/open311/v2"


def rate_limited(request: Request) -> None:
    """Spend one token from this client's bucket (429 with Retry-After when it is empty)."""
    client = request.client.host if request.client else "unknown"
    request.app.state.open311_buckets.spend(client)


Public = Annotated[None, Depends(rate_limited)]
CACHE_HEADERS = {"Cache-Control": "public, max-age=10"}


def cached(request: Request, compute) -> JSONResponse:
    """A public read from this process's short cache (emptied by any case step), else computed and kept."""
    cache = request.app.state.open311_cache
    key = request.url.path + "?" + "&".join(sorted(f"{k}={v}" for k, v in request.query_params.multi_items()))
    body = cache.get(key)
    if body is None:
        body = compute()
        cache.put(key, body)
    return JSONResponse(body, headers=CACHE_HEADERS)


async def form_fields(request: Request) -> dict[str, Any]:
    """A POST's fields: form-encoded as GeoReport v2 says (multipart too), or a JSON object."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json":
        body = await request.json()
        if not isinstance(body, dict):
            raise InvalidInput("the body must be a JSON object of request fields", field="body")
        return body
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _when(value: str | None, name: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput(f"{name} must be a W3C date-time, e.g. 2026-12-01T00:00:00Z", field=name) from exc
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


@router.get(
    f"{PREFIX}/services.json",
    summary="服务类别 Open311 services: one per public category",
    responses=OPEN311_RESPONSES,
)
def services(_: Public) -> list[dict]:
    return open311.service_list()


class AppRegistration(BaseModel):
    name: str = Field(min_length=1, max_length=200, description="应用名称 the app's name")
    contact: str | None = Field(default=None, max_length=200, description="联系人 who runs it")


@router.get(
    f"{PREFIX}/requests.json",
    summary="公众举报列表 Public-channel requests (no personal data)",
    responses=OPEN311_RESPONSES,
)
def list_requests(
    request: Request,
    session: SessionDep,
    _: Public,
    service_request_id: Annotated[str | None, Query(max_length=2000)] = None,
    service_code: Annotated[str | None, Query(max_length=200)] = None,
    start_date: Annotated[str | None, Query(max_length=40)] = None,
    end_date: Annotated[str | None, Query(max_length=40)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
) -> JSONResponse:
    ids = [i.strip() for i in service_request_id.split(",")] if service_request_id else None
    start, end = _when(start_date, "start_date"), _when(end_date, "end_date")
    return cached(
        request,
        lambda: public.list_requests(
            session, status=status, service_code=service_code, start=start, end=end, ids=ids
        ),
    )


@router.get(
    f"{PREFIX}/requests/{{request_id}}.json",
    summary="公众举报 One public-channel request",
    responses=OPEN311_RESPONSES,
)
def get_request(request: Request, request_id: str, session: SessionDep, _: Public) -> JSONResponse:
    return cached(request, lambda: [public.get_request(session, request_id)])


@router.post(
    f"{PREFIX}/requests.json",
    summary="公众举报 File a request (api_key of a registered app)",
    responses=OPEN311_RESPONSES,
)
def post_request(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    form: Annotated[dict[str, Any], Depends(form_fields)],
    _: Public,
) -> list[dict]:
    """GeoReport v2 POST: api_key, service_code, lat, long, description; email and name are kept, never shown."""
    app = open311.app_for_key(session, form.get("api_key"))
    case_id = public.file_request(session, settings, app, form)
    session.commit()
    request.app.state.open311_cache.clear()
    return [{"service_request_id": str(case_id), "service_notice": "已受理 Received: routed to its grid's centre"}]


@router.post("/api/v1/open311/apps", status_code=201, summary="登记应用 Register an Open311 app (key shown once)")
def register_app(admin: Admin, session: SessionDep, body: AppRegistration) -> dict:
    key = open311.register_app(session, body.name, admin.username, body.contact)
    session.commit()
    return {"name": body.name.strip(), "api_key": key, "note": "只显示一次 shown once: only its hash is kept"}


@router.get("/api/v1/open311/apps", summary="已登记应用 Registered Open311 apps (no keys)")
def list_apps(admin: Admin, session: SessionDep) -> list[dict]:
    return open311.list_apps(session)
