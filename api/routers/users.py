"""Who am I (/api/v1/me) and, for admins, user administration inside their own area."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from api.deps import Admin, Reader, SessionDep
from api.paging import Limit, Offset
from geo import users

router = APIRouter(prefix="/api/v1", tags=["users 用户"])
Username = Annotated[str, Path(max_length=64, description="the user's login name")]


class NewUser(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(max_length=64)
    roles: list[str] = Field(min_length=1, max_length=8, description="one or more of geo.vocab.ROLES")
    area: str = Field(max_length=15, description="admin-unit or grid code: the user's jurisdiction")
    department: str | None = Field(None, max_length=32, description="for a department_handler")
    officer_id: int | None = Field(None, ge=1, le=2**31 - 1)
    display_name: str | None = Field(None, max_length=200)


class UserChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    roles: list[str] | None = Field(None, min_length=1, max_length=8)
    area: str | None = Field(None, max_length=15)
    department: str | None = Field(None, max_length=32)
    officer_id: int | None = Field(None, ge=1, le=2**31 - 1)
    display_name: str | None = Field(None, max_length=200)
    active: bool | None = Field(None, description="false deactivates the user at once")


def _forget_cached_principals(request: Request) -> None:
    # This process's cached tile/OGC principals see the change now; other processes within their TTL.
    cache = getattr(request.app.state, "principal_cache", None)
    if cache is not None:
        cache.clear()


@router.get("/me", summary="当前用户 The caller: username, roles and area (jurisdiction)")
def me(session: SessionDep, who: Reader) -> dict[str, Any]:
    return users.describe_me(session, who)


@router.get("/users", summary="用户列表 Users inside the admin's area")
def list_users(session: SessionDep, who: Admin, limit: Limit = 100, offset: Offset = 0) -> dict[str, Any]:
    return users.list_users(session, who, limit, offset)


@router.post("/users", status_code=201, summary="新建用户 Create a user; the token is shown this once")
def create_user(body: NewUser, session: SessionDep, who: Admin) -> JSONResponse:
    user, token = users.create_user(session, who, **body.model_dump())
    session.commit()
    return JSONResponse({**user, "token": token}, status_code=201, headers={"Cache-Control": "no-store"})


@router.get("/users/{username}", summary="查看用户 One user (404 outside the admin's area)")
def show_user(username: Username, session: SessionDep, who: Admin) -> dict[str, Any]:
    return users.show_user(session, who, username)


@router.patch("/users/{username}", summary="修改用户 Change roles, area, department; active=false deactivates")
def update_user(
    username: Username, change: UserChange, request: Request, session: SessionDep, who: Admin
) -> dict[str, Any]:
    user = users.update_user(session, who, username, change.model_dump(exclude_unset=True))
    session.commit()
    _forget_cached_principals(request)
    return user


@router.post("/users/{username}/token", summary="更换令牌 Rotate the token; the new one is shown this once")
def rotate_token(username: Username, request: Request, session: SessionDep, who: Admin) -> JSONResponse:
    user, token = users.rotate_token(session, who, username)
    session.commit()
    _forget_cached_principals(request)
    return JSONResponse({**user, "token": token}, headers={"Cache-Control": "no-store"})
