"""The command-centre dashboard page (/) and the unauthenticated facts it needs before a token (/api/v1/meta)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse

from api.deps import SettingsDep
from geo import vocab
from geo.maps.pages import MAP_KINDS
from geo.scope import CITY_CODE
from geo.settings import REPO_ROOT, Settings

router = APIRouter(tags=["dashboard 指挥中心"])

INDEX = REPO_ROOT / "static" / "index.html"


@router.get("/", summary="指挥中心 The command-centre dashboard", include_in_schema=False)
def index() -> FileResponse:
    return FileResponse(INDEX, media_type="text/html", headers={"Cache-Control": "no-cache"})


TILE_ROUTE = "/tiles/{layer}/{z}/{x}/{y}.{fmt}"


def _paths(routes: list, prefix: str = "") -> set[str]:
    """Every route path, following included routers (FastAPI keeps them as nodes)."""
    out: set[str] = set()
    for route in routes:
        if hasattr(route, "original_router"):
            out |= _paths(route.original_router.routes, prefix + route.include_context.prefix)
        elif hasattr(route, "path"):
            out.add(prefix + route.path)
    return out


def _tiles(request: Request, settings: Settings) -> dict[str, str] | None:
    """The MVT URL templates the dashboard draws grids and incidents from, when this app serves tiles.

    Not with a GCJ-02 base map: tiles are WGS84, so the dashboard then draws server-shifted GeoJSON.
    """
    if settings.tile_url and settings.tile_crs == "GCJ-02":
        return None
    if TILE_ROUTE not in _paths(request.app.routes):
        return None
    return {layer: f"/tiles/{layer}/{{z}}/{{x}}/{{y}}.mvt" for layer in ("grids", "incidents")}


@router.get("/api/v1/meta", summary="服务信息 What the dashboard needs before a token (no secrets)")
def meta(request: Request, settings: SettingsDep) -> dict:
    """Environment, base-map settings and vocabularies; public on purpose, so it holds nothing secret."""
    return {
        "tiles": _tiles(request, settings),
        "name": "citygrid 市域社会治理网格",
        "env": settings.env,
        "tile_url": settings.tile_url,
        "tile_attribution": settings.tile_attribution,
        "tile_crs": settings.tile_crs,
        "kde_bandwidth_m": settings.kde_bandwidth_m,
        "city_code": CITY_CODE,
        "categories": [{"key": k, "zh": zh, "en": en} for k, (zh, en) in vocab.INCIDENT_CATEGORIES.items()],
        "levels": {k: {"zh": zh, "en": en} for k, (zh, en) in vocab.ADMIN_LEVELS.items()},
        "maps": [{"kind": k, "zh": zh, "en": en} for k, (zh, en) in MAP_KINDS.items()],
    }
