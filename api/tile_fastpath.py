"""ASGI middleware serving cached tiles before routing: the command-centre map's hottest path.

It answers only a plain GET /tiles/{layer}/{z}/{x}/{y}.mvt|pbf whose tile is already cached and whose bearer
token is in the principal cache (authenticated within the last few seconds by the tile route itself, with
a role that may read). Everything else — first requests, misses, filters, unknown tokens — goes on to the
/tiles route unchanged, which authenticates, renders and fills both caches.
"""

from __future__ import annotations

import re
from typing import Any

from api.bearer import bearer_token
from api.deps import ANY_ROLE
from api.observability import ROUTE_KEY
from api.principal_cache import PrincipalCache
from geo import auth
from geo.errors import CitygridError
from geo.tiles import TileCache, TileKey, scoped_variant

_TILE = re.compile(r"^/tiles/([a-z_]+)/(\d{1,2})/(\d{1,7})/(\d{1,7})\.(?:mvt|pbf)$")
MVT = b"application/vnd.mapbox-vector-tile"
TILE_ROUTE = "/tiles/{layer}/{z}/{x}/{y}.{fmt}"


class TileFastPath:
    """Wraps an ASGI app; see the module docstring."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and not scope["query_string"]:
            match = _TILE.match(scope["path"])
            if match is not None and await self._serve(scope, match, send):
                scope[ROUTE_KEY] = TILE_ROUTE  # for the request log and metrics: the router's own template
                return
        await self.app(scope, receive, send)

    async def _serve(self, scope: dict, match: re.Match, send: Any) -> bool:
        state = scope["app"].state if "app" in scope else None
        cache: TileCache | None = getattr(state, "tile_cache", None)
        principals: PrincipalCache | None = getattr(state, "principal_cache", None)
        if cache is None or principals is None:
            return False
        token, gzip_ok = None, False
        for name, value in scope["headers"]:
            if name == b"authorization":
                token = bearer_token(value)
            elif name == b"accept-encoding":
                gzip_ok = b"gzip" in value.lower()
        if not token:
            return False
        principal = principals.get(auth.token_hash(token))
        if principal is None:
            return False
        try:
            auth.authorize(principal, ANY_ROLE)
        except CitygridError:
            return False
        layer, z, x, y = match.group(1), int(match.group(2)), int(match.group(3)), int(match.group(4))
        data = cache.get(TileKey(layer, z, x, y, scoped_variant("", principal.area)), gzip_ok, count_miss=False)
        if data is None:
            return False
        headers = [
            (b"content-type", MVT),
            (b"content-length", str(len(data)).encode()),
            (b"x-tile-cache", b"hit"),
            (b"vary", b"Accept-Encoding"),
            (b"cache-control", b"no-cache"),
        ]
        if gzip_ok and data:
            headers.append((b"content-encoding", b"gzip"))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": data})
        return True
