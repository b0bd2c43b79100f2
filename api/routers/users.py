"""Who am I (/api/v1/me) and, for admins, user administration."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import Reader, SessionDep
from geo import users

router = APIRouter(prefix="/api/v1", tags=["users 用户"])


@router.get("/me", summary="当前用户 The caller: username, roles and area (jurisdiction)")
def me(session: SessionDep, who: Reader) -> dict[str, Any]:
    return users.describe_me(session, who)
