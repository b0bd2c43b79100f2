"""Vector tiles decoded with mapbox_vector_tile: contents per layer and zoom, the cap, the cache and its invalidation."""

from __future__ import annotations

import gzip

import mapbox_vector_tile
import pytest
from sqlalchemy import text

from geo.pg import events
from geo.tiles.cache import tile_bounds, tile_range
from tests.api.ogc_data import load_ogc_data

TREE_BBOX = (107.10, 34.35, 107.12, 34.37)
WEST_SOUTH = "610302001001002"


@pytest.fixture
def data(db):
    load_ogc_data(db)


def only_tile(z, bbox=TREE_BBOX):
    x0, x1, y0, y1 = tile_range(bbox, z, margin=0)
    assert (x0, y0) == (x1, y1), "the test area should sit inside one tile at this zoom"
    return x0, y0


def tiles_over(z, bbox=TREE_BBOX):
    x0, x1, y0, y1 = tile_range(bbox, z, margin=0)
    return [(x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]


def fetch(client, auth, layer, z, x, y, **params):
    r = client.get(f"/tiles/{layer}/{z}/{x}/{y}.mvt", params=params, headers=auth)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    return r


def decode(content):
    return mapbox_vector_tile.decode(content) if content else {}


def test_grid_tile_has_the_four_grids_with_their_properties(client, auth, data):
    x, y = only_tile(12)
    layer = decode(fetch(client, auth, "grids", 12, x, y).content)["grids"]
    props = sorted((f["properties"]["code"], f["properties"]["households"]) for f in layer["features"])
    assert [p[0] for p in props] == sorted(["610302001001001", WEST_SOUTH, "610302001002001", "610302001002002"])
    assert dict(props)[WEST_SOUTH] == 80
    # Only the needed columns (a NULL population is simply absent from the tile).
    assert set(layer["features"][0]["properties"]) == {"code", "name", "community_code", "households", "version"}
    assert layer["features"][0]["geometry"]["type"] in ("Polygon", "MultiPolygon")


def test_admin_levels_follow_the_zoom(client, auth, data):
    x, y = only_tile(10)
    levels = sorted(f["properties"]["level"] for f in decode(fetch(client, auth, "admin_units", 10, x, y).content)
                    ["admin_units"]["features"])  # fmt: skip
    assert levels == ["city", "county", "town"]
    x, y = only_tile(12)
    features = decode(fetch(client, auth, "admin_units", 12, x, y).content)["admin_units"]["features"]
    assert sorted(f["properties"]["level"] for f in features).count("community") == 2


def test_incidents_are_bins_below_z13_and_points_above(client, auth, data):
    x, y = only_tile(12)
    bins = decode(fetch(client, auth, "incidents", 12, x, y).content)["incidents"]["features"]
    assert sum(f["properties"]["count"] for f in bins) == 12 and len(bins) < 12  # neighbours share a bin
    assert set(bins[0]["properties"]) == {"count"}
    points = []
    for tx, ty in tiles_over(14):
        content = fetch(client, auth, "incidents", 14, tx, ty).content
        points += decode(content).get("incidents", {}).get("features", [])
    assert len(points) == 12
    assert {f["properties"]["category"] for f in points} == {"dispute", "hazard", "property"}
    days = sorted(f["properties"]["occurred_on"] for f in points)  # local (UTC+8) dates
    assert days == [f"2024-03-{d:02d}" for d in range(1, 13)]
    assert all(isinstance(f["id"], int) for f in points)
    disputes = decode(fetch(client, auth, "incidents", 12, x, y, category="dispute").content)
    assert sum(f["properties"]["count"] for f in disputes["incidents"]["features"]) == 4
    early = decode(fetch(client, auth, "incidents", 12, x, y, datetime="../2024-03-03").content)
    assert sum(f["properties"]["count"] for f in early["incidents"]["features"]) == 3


def test_a_tile_holds_at_most_10000_features(client, auth, db, data):
    x, y = only_tile(16, (107.111, 34.361, 107.111, 34.361))
    w, s, e, n = tile_bounds(16, x, y)
    db.execute(
        text(
            "INSERT INTO incidents (category, occurred_at, geom) SELECT 'other', now(), "
            "ST_SetSRID(ST_MakePoint(:x + (i % 100) * :dx, :y + (i / 100) * :dy), 4326) FROM generate_series(0, 10099) i"
        ),
        {"x": w + (e - w) / 20, "y": s + (n - s) / 20, "dx": (e - w) / 120, "dy": (n - s) / 120},
    )
    features = decode(fetch(client, auth, "incidents", 16, x, y).content)["incidents"]["features"]
    assert len(features) == 10_000


def test_empty_and_bad_tiles(client, auth, data):
    r = fetch(client, auth, "grids", 14, 0, 0)
    assert r.content == b""
    assert client.get("/tiles/grids/3/9/0.mvt", headers=auth).status_code == 400
    assert client.get("/tiles/nope/3/1/1.mvt", headers=auth).status_code == 404
    assert client.get("/tiles/grids/3/1/1.png", headers=auth).status_code == 404
    assert client.get("/tiles/grids/3/1/1.mvt", params={"category": "dispute"}, headers=auth).status_code == 400
    assert client.get("/tiles/grids/3/1/1.mvt").status_code == 401


def test_cache_hits_gzip_and_tilejson(client, auth, data):
    x, y = only_tile(12)
    first = fetch(client, auth, "grids", 12, x, y)
    again = fetch(client, auth, "grids", 12, x, y)
    assert (first.headers["x-tile-cache"], again.headers["x-tile-cache"]) == ("miss", "hit")
    assert first.content == again.content
    r = client.get(f"/tiles/grids/12/{x}/{y}.pbf", headers={**auth, "Accept-Encoding": "gzip"})
    assert r.headers["x-tile-cache"] == "hit" and r.headers["content-encoding"] == "gzip"
    assert r.content == first.content  # httpx undid the gzip the server applied
    stats = client.get("/tiles/cache", headers=auth).json()
    assert stats["entries"] == 1 and stats["hits"] == 2 and stats["misses"] == 1
    tj = client.get("/tiles/grids.json", headers=auth).json()
    assert tj["tiles"][0].endswith("/tiles/grids/{z}/{x}/{y}.mvt") and tj["vector_layers"][0]["id"] == "grids"
    assert gzip.decompress(gzip.compress(first.content)) == first.content


def test_an_edit_refreshes_exactly_the_tiles_it_touches(client, auth, db, data):
    far = (14, *only_tile(14, (108.0, 34.0, 108.0, 34.0)))
    area = [(14, x, y) for x, y in tiles_over(14)] + [(12, *only_tile(12)), far]
    before = {t: fetch(client, auth, "grids", *t).content for t in area}
    # Shrink the west-south grid to its western half, as an edit would, and announce it on commit.
    old_bbox = (107.10, 34.35, 107.11, 34.36)
    db.execute(
        text(
            "UPDATE grids SET geom = ST_Multi(ST_MakeEnvelope(107.10, 34.35, 107.105, 34.36, 4326)) WHERE code = :c"
        ),
        {"c": WEST_SOUTH},
    )
    events.on_commit(db, "grids", old_bbox)
    assert all(
        fetch(client, auth, "grids", *t).headers["x-tile-cache"] == "hit" for t in area
    )  # not yet committed
    db.commit()
    touched = {(z, x, y) for z, x, y in area if tile_range(old_bbox, z)[0] <= x <= tile_range(old_bbox, z)[1]
               and tile_range(old_bbox, z)[2] <= y <= tile_range(old_bbox, z)[3]}  # fmt: skip
    assert touched and far not in touched and len(touched) < len(area)
    for t in area:
        r = fetch(client, auth, "grids", *t)
        assert r.headers["x-tile-cache"] == ("miss" if t in touched else "hit"), t
    z12 = (12, *only_tile(12))
    assert fetch(client, auth, "grids", *z12).content != before[z12]
    west_south = [f for f in decode(fetch(client, auth, "grids", *z12).content)["grids"]["features"]
                  if f["properties"]["code"] == WEST_SOUTH]  # fmt: skip
    xs = [p[0] for ring in west_south[0]["geometry"]["coordinates"] for p in ring]
    grids_before = decode(before[z12])["grids"]["features"]
    xs_before = [p[0] for f in grids_before if f["properties"]["code"] == WEST_SOUTH
                 for ring in f["geometry"]["coordinates"] for p in ring]  # fmt: skip
    assert max(xs) < max(xs_before)  # the tile shows the shrunken grid, at once


def test_a_rolled_back_edit_invalidates_nothing(client, auth, db, data):
    x, y = only_tile(12)
    fetch(client, auth, "grids", 12, x, y)
    events.on_commit(db, "grids", TREE_BBOX)
    db.rollback()
    assert fetch(client, auth, "grids", 12, x, y).headers["x-tile-cache"] == "hit"


def test_point_tile_coordinates_equal_st_asmvtgeom(client, auth, db, data):
    for tx, ty in tiles_over(14):
        content = fetch(client, auth, "incidents", 14, tx, ty).content
        ours = sorted(
            tuple(f["geometry"]["coordinates"]) for f in decode(content).get("incidents", {}).get("features", [])
        )
        rows = db.execute(
            text(
                "SELECT ST_X(g), ST_Y(g) FROM (SELECT ST_AsMVTGeom(ST_Transform(geom, 3857), ST_TileEnvelope(14, :x, :y),"
                " 4096, 64, true) AS g FROM incidents WHERE external_id LIKE 'T%'"
                " AND ST_Intersects(geom, ST_Transform(ST_TileEnvelope(14, :x, :y), 4326))) s WHERE g IS NOT NULL"
            ),
            {"x": tx, "y": ty},
        ).all()
        # mapbox_vector_tile flips y back to a y-up frame; ST_AsMVTGeom's is y-down.
        expected = sorted((int(x), 4096 - int(y)) for x, y in rows)
        assert ours == expected
