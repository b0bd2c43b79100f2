"""The workbench page (工作台): each user's case queue, steps, and the centre's live wall screen."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from geo.settings import REPO_ROOT

router = APIRouter(tags=["dashboard 指挥中心"])
PAGE = REPO_ROOT / "static" / "workbench.html"


@router.get("/workbench", summary="工作台 The workbench page", include_in_schema=False)
def workbench() -> FileResponse:
    return FileResponse(PAGE, media_type="text/html", headers={"Cache-Control": "no-cache"})
