"""Reads on a real hot standby, read-your-writes, lag fallback and tile invalidation from the primary.

Whether a read came from the standby is shown by what it returns, not by our own header alone: with replay
paused on the standby, a row committed on the primary is absent from a replica read and present in a
primary read.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator

import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY, generate_latest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from api.app import create_app
from api.ops import pgcluster, pgstandby
from geo.pg import events
from geo.pg.routing import parse_lsn
from geo.tiles.cache import TileKey, tile_range
from tests.cluster.conftest import Pair
from tests.conftest import ADMIN_TOKEN
from tests.db.test_assign import point
from tests.fixtures import X1, Y1, load_tiny_tree

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
SPOT = (X1 - 0.004, Y1 + 0.004)  # inside the tiny tree's west-north grid
ITEMS = "/ogc/collections/incidents/items"
Z = 15
TX, _, TY, _ = tile_range((*SPOT, *SPOT), Z, margin=0)
TILE = f"/tiles/incidents/{Z}/{TX}/{TY}.mvt"


@pytest.fixture(scope="module")
def tree(pair: Pair) -> None:
    engine = create_engine(pair.settings.owner_database_url)
    with Session(engine) as session:
        load_tiny_tree(session)
        session.commit()
    engine.dispose()
    pair.wait_replayed()


@pytest.fixture
def make_client(pair: Pair, tree) -> Iterator:
    """Clients of one app (each its own cookie jar, as two users' browsers); replay resumed afterwards."""
    apps = []
    stack = contextlib.ExitStack()

    def make(**settings) -> TestClient:
        if not apps:
            apps.append(create_app(pair.app_settings(**settings)))
        return stack.enter_context(TestClient(apps[0]))  # entered: the app's lifespan starts its listeners

    with stack:
        yield make
    pair.set_replay(paused=False)
    for app in apps:
        app.state.engine.dispose()
        if app.state.db_router.replica is not None:
            app.state.db_router.replica.kw["bind"].dispose()


def report(client: TestClient, lon: float, lat: float, note: str):
    body = json.dumps(point(lon, lat, external_id=note)).encode()
    r = client.post("/api/v1/incidents", content=body, headers={**AUTH, "content-type": "application/geo+json"})
    assert r.status_code == 201, r.text
    return r


def notes(client: TestClient):
    r = client.get(ITEMS, params={"limit": 1000}, headers=AUTH)
    assert r.status_code == 200, r.text
    return r.headers["x-citygrid-read"], {f["properties"].get("external_id") for f in r.json()["features"]}


def test_reads_go_to_the_standby_and_a_writer_reads_its_own_write(make_client, pair: Pair):
    writer, other = make_client(replica_max_lag_s=3600.0), make_client()
    report(writer, *SPOT, "before pause")
    pair.wait_replayed()
    assert notes(other) == ("replica", {"before pause"})

    pair.set_replay(paused=True)
    r = report(writer, *SPOT, "while paused")
    assert parse_lsn(r.headers["x-citygrid-lsn"]) is not None
    # The writer sees its write at once (its reads go to the primary while the standby is behind it) ...
    assert notes(writer) == ("primary", {"before pause", "while paused"})
    # ... another user, with no write of their own, reads the paused standby: a moment old, as allowed.
    assert notes(other) == ("replica", {"before pause"})

    pair.set_replay(paused=False)
    pair.wait_replayed()
    assert notes(writer) == ("replica", {"before pause", "while paused"})


def test_a_standby_lagging_past_the_bound_is_not_read(make_client, pair: Pair):
    reader = make_client(replica_max_lag_s=0.5)
    pair.set_replay(paused=True)
    with pair.superuser(pair.primary_port) as conn:  # a commit the standby receives but does not replay
        conn.execute("UPDATE incidents SET description = description WHERE false")
        conn.execute("SELECT txid_current()")
    time.sleep(1.0)
    assert notes(reader)[0] == "primary"
    pair.set_replay(paused=False)
    pair.wait_replayed()
    assert notes(reader)[0] == "replica"


def tile_points(client: TestClient) -> tuple[str, int]:
    r = client.get(TILE, headers=AUTH)
    assert r.status_code == 200, r.text
    layer = mapbox_vector_tile.decode(r.content).get("incidents", {"features": []}) if r.content else None
    return r.headers["x-tile-cache"], len(layer["features"]) if layer else 0


def wait_for(predicate, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_an_edit_on_the_primary_invalidates_the_tile_and_no_stale_replica_tile_is_cached(make_client, pair: Pair):
    writer, viewer = make_client(replica_max_lag_s=3600.0), make_client()
    pair.wait_replayed()
    _, before = tile_points(viewer)
    cache = viewer.app.state.tile_cache  # type: ignore[attr-defined]
    wait_for(lambda: cache.required_lsn("incidents") is not None and cache.required_lsn("incidents") < 2**63)
    assert tile_points(viewer)[0] == "hit"

    pair.set_replay(paused=True)
    lsn = parse_lsn(report(writer, *SPOT, "tile edit").headers["x-citygrid-lsn"])
    # The viewer has written nothing, but the tile was invalidated past the paused standby: from the primary.
    assert tile_points(viewer) == ("miss", before + 1)
    wait_for(lambda: (cache.required_lsn("incidents") or 0) >= (lsn or 2**64))

    # Another process's edit, heard only through LISTEN on the primary (the standby replays no NOTIFY).
    with pair.superuser(pair.primary_port) as conn, conn.transaction():
        conn.execute(
            "INSERT INTO incidents (category, occurred_at, description, geom, outside_jurisdiction) "
            "VALUES ('dispute', now(), 'elsewhere', ST_SetSRID(ST_MakePoint(%s, %s), 4326), true)",
            SPOT,
        )
        foreign = events.payload("incidents", (*SPOT, *SPOT)).replace(events.ORIGIN, "another-process", 1)
        conn.execute("SELECT pg_notify(%s, %s)", (events.CHANNEL, foreign))
    wait_for(lambda: tile_points(viewer)[0] == "miss")
    assert tile_points(viewer) == ("hit", before + 2)

    # A render from the standby behind the invalidation is refused by the cache.
    with viewer.app.state.db_router.replica() as session:  # type: ignore[attr-defined]
        replayed = parse_lsn(session.execute(text("SELECT pg_last_wal_replay_lsn()::text")).scalar_one())
    key = TileKey("incidents", Z, TX, TY)
    assert replayed is not None and not cache.put(key, b"stale", cache.epoch("incidents"), replayed_lsn=replayed)
    pair.set_replay(paused=False)
    pair.wait_replayed()
    with viewer.app.state.db_router.replica() as session:  # type: ignore[attr-defined]
        caught_up = parse_lsn(session.execute(text("SELECT pg_last_wal_replay_lsn()::text")).scalar_one())
    assert caught_up is not None and cache.put(key, b"fresh", cache.epoch("incidents"), replayed_lsn=caught_up)


def test_health_and_metrics_report_each_database_role_and_lag(make_client, pair: Pair):
    client = make_client()
    pair.wait_replayed()
    body = client.get("/health").json()
    roles = {d["name"]: d["role"] for d in body["databases"]}
    assert roles == {"primary": "primary", "replica": "standby"}
    replica = next(d for d in body["databases"] if d["name"] == "replica")
    assert replica["lag_s"] == 0.0  # caught up, receiver streaming
    scrape = generate_latest(REGISTRY).decode()
    assert 'citygrid_db_is_standby{database="replica"} 1.0' in scrape
    assert 'citygrid_db_is_standby{database="primary"} 0.0' in scrape
    assert 'citygrid_db_replica_lag_seconds{database="replica"} 0.0' in scrape


def test_promoted_standby_takes_writes_through_the_same_settings(make_client, pair: Pair):
    """Last in this module: it stops the primary. libpq's target_session_attrs finds the promoted standby."""
    client = make_client()
    report(client, *SPOT, "before failover")
    pair.wait_replayed()
    pgcluster.stop(pair.settings)
    pgstandby.promote(pair.settings, 1)
    client.app.state.engine.dispose()  # type: ignore[attr-defined]  # as a pool's pre-ping would on its next use
    report(client, *SPOT, "after failover")
    roles = {d["name"]: d.get("role") for d in client.get("/health").json()["databases"]}
    assert roles == {"primary": "primary", "replica": "primary"}  # both URLs now reach the promoted server
    with pair.superuser(pair.standby_port) as conn:
        ids = [r[0] for r in conn.execute("SELECT external_id FROM incidents WHERE external_id LIKE '%failover'")]
    assert sorted(ids) == ["after failover", "before failover"]
