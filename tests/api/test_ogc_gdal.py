"""Real clients: GDAL's ogrinfo reads the OGC API (OAPIF driver) and a tile (MVT driver) from a live uvicorn."""

from __future__ import annotations

import math
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import mapbox_vector_tile
import pytest
import uvicorn
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import auth as geo_auth
from geo.tiles.cache import tile_range
from tests.api.ogc_data import delete_ogc_data, load_ogc_data
from tests.conftest import IN_CI

OGRINFO = shutil.which("ogrinfo")
pytestmark = pytest.mark.skipif(
    OGRINFO is None and not IN_CI, reason="GDAL's ogrinfo is missing (Debian: apt-get install gdal-bin)"
)


@pytest.fixture(scope="module")
def live(settings, engine, owner_engine) -> Iterator[dict]:
    """A uvicorn on a free loopback port serving the test database, with data committed (and removed after)."""
    from api.app import create_app

    with Session(engine) as s:
        delete_ogc_data(s)
        load_ogc_data(s)
        token = geo_auth.create_user(s, "ogc-viewer", "viewer")
        s.commit()
    app = create_app(settings)
    seen: list[str] = []

    async def recording(scope, receive, send):  # the requests GDAL makes, to check what it pushed to us
        if scope["type"] == "http":
            seen.append(scope["path"] + "?" + scope["query_string"].decode())
        await app(scope, receive, send)

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # lifespan on: the app's startup starts the tile cache's LISTEN thread, which the NOTIFY test below relies on.
    server = uvicorn.Server(uvicorn.Config(recording, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield {"root": f"http://127.0.0.1:{port}", "token": token, "seen": seen}  # type: ignore[misc]
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
        app.state.engine.dispose()
        with Session(engine) as s:
            delete_ogc_data(s)
            s.commit()
        with owner_engine.begin() as conn:  # the app role may not delete users or audit rows
            conn.execute(text("DELETE FROM audit_log WHERE entity_type = 'user' AND entity_id = 'ogc-viewer'"))
            conn.execute(text("DELETE FROM users WHERE username = 'ogc-viewer'"))


def ogrinfo(live: dict, *args: str, token: str | None = None) -> str:
    header = f"Authorization: Bearer {token or live['token']}"
    cmd = [OGRINFO or "ogrinfo", "-ro", *args, "--config", "GDAL_HTTP_HEADERS", header]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    return done.stdout + done.stderr


def features(output: str, layer: str) -> list[str]:
    return re.findall(rf"OGRFeature\({layer}\):\d+", output)


def test_ogrinfo_lists_the_collections_with_a_viewer_token(live):
    out = ogrinfo(live, "-so", f"OAPIF:{live['root']}/ogc")
    assert "using driver `OAPIF' successful" in out, out
    for line in ["1: admin_units", "2: grids", "3: compounds", "4: incidents", "5: patrol_routes"]:
        assert line in out
    assert "grids (title: 全要素网格 Integrated grids) (Multi Polygon)" in out
    assert "incidents (title: 事件 Incidents) (Point)" in out


def test_ogrinfo_refuses_without_a_valid_token(live):
    out = ogrinfo(live, "-so", f"OAPIF:{live['root']}/ogc", token="wrong")
    assert "successful" not in out and ("401" in out or "unauthorized" in out.lower()), out


def test_ogrinfo_reads_every_collection(live):
    expected = {"admin_units": 5, "grids": 4, "compounds": 1, "incidents": 12, "patrol_routes": 1}
    for layer, count in expected.items():
        out = ogrinfo(live, "-q", f"OAPIF:{live['root']}/ogc", layer)
        assert len(features(out, layer)) == count, out
    out = ogrinfo(live, "-q", f"OAPIF:{live['root']}/ogc", "grids")
    assert "name (String) = 东一网格" in out and "MULTIPOLYGON (((107.1" in out


def test_ogrinfo_pages_through_next_links_and_filters(live):
    root = f"OAPIF:{live['root']}/ogc"
    paged = ogrinfo(live, "-q", "-oo", "PAGE_SIZE=5", root, "incidents")
    assert len(features(paged, "incidents")) == 12  # 3 pages of 5, 5, 2 through rel=next
    bbox = ogrinfo(live, "-q", "-spat", "107.111", "34.351", "107.119", "34.369", root, "incidents")
    assert len(features(bbox, "incidents")) == 6
    live["seen"].clear()
    where = ogrinfo(live, "-q", "-where", "category = 'dispute'", root, "incidents")
    assert len(features(where, "incidents")) == 4
    # GDAL found `category` among the items parameters of /ogc/api and let the server filter.
    assert any("category=dispute" in req for req in live["seen"]), live["seen"]
    summary = ogrinfo(live, "-so", root, "grids")
    assert "Feature Count: 4" in summary and "Extent: (107.100000, 34.350000) - (107.120000, 34.370000)" in summary
    # Field types come from the collection's JSON Schema (describedBy), not from guessing the first page,
    # where population is NULL everywhere.
    assert "population: Integer" in summary and "updated_at: DateTime" in summary


def test_ogrinfo_reads_a_tile_through_the_mvt_driver(live):
    x0, _, y0, _ = tile_range((107.10, 34.35, 107.12, 34.37), 12, margin=0)
    out = ogrinfo(live, "-al", "-q", f"MVT:{live['root']}/tiles/grids/12/{x0}/{y0}.pbf")
    assert "Layer name: grids" in out, out
    assert len(features(out, "grids")) == 4 and "code (String) = 610302001002001" in out
    # The driver georeferences z/x/y to Web Mercator: the first vertex lies at the grids' west edge, 107.10E.
    first_x = float(re.search(r"POLYGON \(\(([-\d.]+) ", out).group(1))  # type: ignore[union-attr]
    assert math.degrees(first_x / 6378137.0) == pytest.approx(107.10, abs=1e-4)


EDIT_IN_ANOTHER_PROCESS = """
import sys
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session
from geo.pg import events
with Session(create_engine(sys.argv[1])) as s:
    s.execute(text("UPDATE grids SET households = 999 WHERE code = '610302001002001'"))
    events.on_commit(s, "grids", (107.11, 34.36, 107.12, 34.37))
    s.commit()
"""


def test_an_edit_committed_by_another_process_refreshes_the_live_servers_tiles(live, settings):
    import httpx

    x0, _, y0, _ = tile_range((107.10, 34.35, 107.12, 34.37), 12, margin=0)
    url = f"{live['root']}/tiles/grids/12/{x0}/{y0}.mvt"
    headers = {"Authorization": f"Bearer {live['token']}"}

    def households() -> tuple[str, int]:
        r = httpx.get(url, headers=headers)
        tile = mapbox_vector_tile.decode(r.content)["grids"]["features"]
        return r.headers["x-tile-cache"], next(f["properties"]["households"] for f in tile
                                               if f["properties"]["code"] == "610302001002001")  # fmt: skip

    households()
    assert households() == ("hit", 200)
    # A CLI or another uvicorn worker: its commit reaches this server only through PostgreSQL NOTIFY.
    subprocess.run([sys.executable, "-c", EDIT_IN_ANOTHER_PROCESS, settings.database_url], check=True, timeout=120)
    deadline = time.monotonic() + 5
    while households()[1] != 999 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert households()[1] == 999
