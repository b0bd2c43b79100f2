"""Open311 GeoReport v2 (公众举报): services, public requests and filing one, for existing 311 apps.

JSON only (`.json`); the XML format of the standard is not served (`.xml` answers 404 in the Open311 error
shape). Errors are lists of {code, description}. Reads are public, cached and rate-limited per client.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from api.deps import Admin, SessionDep
from geo import open311

router = APIRouter(tags=["open311 公众举报"])
PREFIX = "/open311/v2"


def rate_limited(request: Request) -> None:
    """Spend one token from this client's bucket (429 with Retry-After when it is empty)."""
    client = request.client.host if request.client else "unknown"
    request.app.state.open311_buckets.spend(client)


Public = Annotated[None, Depends(rate_limited)]


@router.get(f"{PREFIX}/services.json", summary="服务类别 Open311 services: one per public category")
def services(_: Public) -> list[dict]:
    return open311.service_list()


class AppRegistration(BaseModel):
    name: str = Field(min_length=1, max_length=200, description="应用名称 the app's name")
    contact: str | None = Field(default=None, max_length=200, description="联系人 who runs it")


@router.post("/api/v1/open311/apps", status_code=201, summary="登记应用 Register an Open311 app (key shown once)")
def register_app(admin: Admin, session: SessionDep, body: AppRegistration) -> dict:
    key = open311.register_app(session, body.name, admin.username, body.contact)
    session.commit()
    return {"name": body.name.strip(), "api_key": key, "note": "只显示一次 shown once: only its hash is kept"}


@router.get("/api/v1/open311/apps", summary="已登记应用 Registered Open311 apps (no keys)")
def list_apps(admin: Admin, session: SessionDep) -> list[dict]:
    return open311.list_apps(session)
