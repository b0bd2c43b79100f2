"""The cached-tile fast path answers only cached tiles for recently authenticated tokens; all else goes on."""

from __future__ import annotations

import asyncio

import pytest

from api.tile_fastpath import TileFastPath
from geo.tiles.cache import tile_range
from tests.api.ogc_data import load_ogc_data


@pytest.fixture
def data(db):
    load_ogc_data(db)


def call(app, path: str, token: str | None, query: bytes = b"") -> tuple[list, bool]:
    """Run TileFastPath in front of a recorder; (messages sent, whether the request went on to the app)."""
    went_on: list[bool] = []
    sent: list = []

    async def inner(scope, receive, send):
        went_on.append(True)

    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        sent.append(message)

    headers = [(b"authorization", f"Bearer {token}".encode())] if token else []
    scope = {"type": "http", "method": "GET", "path": path, "query_string": query, "headers": headers, "app": app}
    asyncio.run(TileFastPath(inner)(scope, receive, send))
    return sent, bool(went_on)


def test_only_cached_tiles_for_known_tokens_skip_routing(app, client, auth, data):
    x0, _, y0, _ = tile_range((107.10, 34.35, 107.12, 34.37), 12, margin=0)
    path = f"/tiles/grids/12/{x0}/{y0}.mvt"
    token = auth["Authorization"][7:]
    assert call(app, path, token)[1]  # nothing cached yet: on to the route
    routed = client.get(path, headers=auth)  # the route authenticates, renders, fills both caches
    assert routed.headers["x-tile-cache"] == "miss"
    sent, went_on = call(app, path, token)
    assert not went_on and sent[0]["status"] == 200 and sent[1]["body"] == routed.content
    assert (b"x-tile-cache", b"hit") in sent[0]["headers"]
    assert call(app, path, "someone-else")[1]  # unknown token: the route decides (401)
    assert call(app, path, None)[1]
    assert call(app, path, token, b"category=dispute")[1]  # filters go through the route
    assert call(app, f"/tiles/grids/12/{x0}/{y0 + 1}.mvt", token)[1]  # not cached
    assert call(app, "/tiles/grids.json", token)[1]
    assert client.get(path, headers=auth).headers["x-tile-cache"] == "hit"  # end to end through the middleware
