"""Vector tiles /tiles/{layer}/{z}/{x}/{y}.mvt from PostGIS, through an in-process cache edits invalidate."""

from __future__ import annotations

import gzip
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from api.compression import accepts_gzip
from api.deps import Admin, Reader, ReadSessionDep, request_read_session
from api.principal_cache import CachedReader
from geo.area import Area
from geo.errors import NotFound
from geo.ogc.collections import extents
from geo.tiles import LAYERS, TileCache, TileFilter, TileKey, check_tile, render_tile, scoped_variant, tilejson

router = APIRouter(prefix="/tiles", tags=["tiles 矢量瓦片"])

MVT = "application/vnd.mapbox-vector-tile"


def tile_cache(request: Request) -> TileCache:
    """This app's tile cache (made by create_app; its listener started by the app's lifespan)."""
    return request.app.state.tile_cache


def tile_url(request: Request, layer: str) -> str:
    return str(request.base_url).rstrip("/") + f"/tiles/{layer}/{{z}}/{{x}}/{{y}}.mvt"


@router.get("", summary="瓦片图层 Tile layers")
def list_layers(request: Request, _: Reader) -> dict:
    base = str(request.base_url).rstrip("/")
    return {
        "layers": [
            {
                "id": spec.name,
                "title": spec.title,
                "tiles": tile_url(request, spec.name),
                "tilejson": f"{base}/tiles/{spec.name}.json",
            }
            for spec in LAYERS.values()
        ],  # fmt: skip
        "notes": "incidents below zoom 13 are 16×16 bins per tile with a count; every tile holds at most 10,000 features",
    }


@router.get("/cache", summary="瓦片缓存统计 Tile cache statistics")
def cache_stats(request: Request, _: Reader) -> dict:
    return tile_cache(request).snapshot()


@router.delete("/cache", summary="清空瓦片缓存 Empty the tile cache (after loads that bypass the API)")
def clear_cache(request: Request, _: Admin) -> dict:
    cache = tile_cache(request)
    cache.clear()
    return cache.snapshot()


@router.get("/{layer}.json", summary="TileJSON of one layer")
def layer_tilejson(request: Request, layer: str, session: ReadSessionDep, who: Reader) -> dict:
    spec = LAYERS.get(layer)
    if spec is None:
        raise NotFound(f"no tile layer {layer!r}; layers: {', '.join(LAYERS)}", field="layer")
    bbox = extents(session, who.area)[layer].get("spatial", {}).get("bbox", [None])[0]
    return tilejson(spec, tile_url(request, layer), bbox)


def _render(
    request: Request, cache: TileCache, key: TileKey, flt: TileFilter, want_gzip: bool, area: Area
) -> bytes:
    """Render a missed tile (in a worker thread), store it, and return the bytes to send."""
    epoch = cache.epoch(key.layer)  # before the read: an edit committed after this point voids the render
    # A replica serves the tile only if it has replayed the layer's latest invalidation (and the client's write).
    with request_read_session(request, cache.required_lsn(key.layer)) as session:
        server = session.info.get("server")
        raw = render_tile(session, key.layer, key.z, key.x, key.y, flt, area)
    gz = gzip.compress(raw, 6) if want_gzip and raw else None
    cache.put(key, raw, epoch, gz, server.lsn if server is not None and server.role == "standby" else None)
    return gz if gz is not None else raw


@router.get(
    "/{layer}/{z}/{x}/{y}.{fmt}",
    summary="矢量瓦片 One MVT tile (fmt mvt or pbf); X-Tile-Cache says hit or miss",
    response_class=Response,
    responses={200: {"content": {MVT: {}}}},
)
async def get_tile(
    request: Request,
    layer: str,
    z: int,
    x: int,
    y: int,
    fmt: str,
    who: CachedReader,
    category: Annotated[str | None, Query(description="incidents only: one category")] = None,
    datetime: Annotated[str | None, Query(description="incidents only: instant, date or start/end")] = None,
) -> Response:
    # async with a cached principal: a cache hit never leaves the event loop or touches the database.
    if fmt not in ("mvt", "pbf"):
        raise NotFound(f"tiles end in .mvt or .pbf, not .{fmt}", field="format")
    check_tile(layer, z, x, y)
    flt = TileFilter.parse(layer, category, datetime)
    # Keyed by the caller's area: a town's tile holds only the town's features and is never served to others.
    key = TileKey(layer, z, x, y, scoped_variant(flt.variant(), who.area))
    want_gzip = accepts_gzip(request)
    cache = tile_cache(request)
    data = cache.get(key, want_gzip)
    state = "hit"
    if data is None:
        state = "miss"
        data = await run_in_threadpool(_render, request, cache, key, flt, want_gzip, who.area)
    headers = {"X-Tile-Cache": state, "Vary": "Accept-Encoding", "Cache-Control": "no-cache"}
    if want_gzip and data:
        headers["Content-Encoding"] = "gzip"
    return Response(data, media_type=MVT, headers=headers)
