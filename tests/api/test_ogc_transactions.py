"""OGC API – Features Part 4 on grids: create, replace, update, delete through geo.editing, with ETags,
conformance, roles, the shared validation, and tiles that change at once after each edit."""

from __future__ import annotations

import mapbox_vector_tile
import pytest
from sqlalchemy import text

from geo.auth import create_user
from geo.tiles.cache import tile_range
from tests.api.ogc_data import load_ogc_data
from tests.fixtures import box

NEW_COMMUNITY = "610302001003"  # an empty community east of the tiny tree: 107.12–107.13E, 34.35–34.37N
NORTH, SOUTH = NEW_COMMUNITY + "001", NEW_COMMUNITY + "002"
ITEMS = "/ogc/collections/grids/items"


def square(x1, y1, x2, y2):
    return {"type": "Polygon", "coordinates": [[[x1, y1], [x2, y1], [x2, y2], [x1, y2], [x1, y1]]]}


def feature(code, geometry, **props):
    return {
        "type": "Feature",
        "id": code,
        "geometry": geometry,
        "properties": {"name": f"网格{code[-3:]}", **props},
    }


@pytest.fixture
def data(db):
    load_ogc_data(db)
    db.execute(
        text(
            "INSERT INTO admin_units (code, name, level, parent_code, urban, geom) "
            "VALUES (:c, '新社区', 'community', '610302001', true, ST_GeomFromEWKT(:g))"
        ),
        {"c": NEW_COMMUNITY, "g": box(107.12, 34.35, 107.13, 34.37)},
    )
    db.flush()


def grid_tile(client, auth):
    x0, x1, y0, y1 = tile_range((107.10, 34.35, 107.13, 34.37), 12, margin=0)
    assert (x0, y0) == (x1, y1)
    r = client.get(f"/tiles/grids/12/{x0}/{y0}.mvt", headers=auth)
    layer = mapbox_vector_tile.decode(r.content).get("grids", {"features": []}) if r.content else {"features": []}
    return r.headers["x-tile-cache"], {f["properties"]["code"]: f["properties"] for f in layer["features"]}


def test_conformance_lists_part4_because_its_routes_exist(client, auth):
    classes = client.get("/ogc/conformance", headers=auth).json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete" in classes
    assert "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update" in classes


def test_create_replace_update_delete_with_etags_and_fresh_tiles(client, auth, db, data):
    assert grid_tile(client, auth)[0] == "miss"  # cache the tile before any edit
    north = feature(NORTH, square(107.12, 34.36, 107.13, 34.37), households=10)
    south = feature(SOUTH, square(107.12, 34.35, 107.13, 34.36), households=20)
    r = client.post(ITEMS, json=north, params={"dry_run": "true"}, headers=auth)
    assert r.status_code == 200 and r.json()["dry_run"] is True
    assert grid_tile(client, auth)[0] == "hit"  # a dry run writes nothing and invalidates nothing

    r = client.post(ITEMS, json=north, headers={**auth, "Content-Type": "application/geo+json"})
    assert r.status_code == 201, r.text
    assert r.headers["etag"] == '"1"' and r.headers["location"].endswith(f"{ITEMS}/{NORTH}")
    assert r.json()["properties"]["households"] == 10
    state, grids = grid_tile(client, auth)
    assert state == "miss" and grids[NORTH]["households"] == 10  # the new grid shows at once
    assert client.post(ITEMS, json=south, headers=auth).status_code == 201
    assert client.post(ITEMS, json=south, headers=auth).status_code == 400  # it exists now

    # PUT needs If-Match: 428 without, 412 with a stale one (and the current ETag back).
    north["properties"]["name"] = "新北网格"
    assert client.put(f"{ITEMS}/{NORTH}", json=north, headers=auth).status_code == 428
    stale = client.put(f"{ITEMS}/{NORTH}", json=north, headers={**auth, "If-Match": '"7"'})
    assert stale.status_code == 412 and stale.headers["etag"] == '"1"'
    # Shrinking north would open a gap in its community: refused by the same validation as /api/v1/grids.
    shrunk = feature(NORTH, square(107.12, 34.36, 107.125, 34.37))
    r = client.put(f"{ITEMS}/{NORTH}", json=shrunk, headers={**auth, "If-Match": '"1"'})
    assert r.status_code == 400 and "gap" in r.text.lower(), r.text
    r = client.put(f"{ITEMS}/{NORTH}", json=north, headers={**auth, "If-Match": '"1"'})
    assert r.status_code == 200 and r.headers["etag"] == '"2"' and r.json()["properties"]["name"] == "新北网格"

    # PATCH one attribute: an attribute-only edit must still refresh the tile.
    assert grid_tile(client, auth)[0] == "miss"
    assert grid_tile(client, auth)[0] == "hit"
    r = client.patch(
        f"{ITEMS}/{NORTH}", json={"properties": {"households": 31}}, headers={**auth, "If-Match": '"2"'}
    )
    assert r.status_code == 200 and r.headers["etag"] == '"3"'
    state, grids = grid_tile(client, auth)
    assert state == "miss" and grids[NORTH]["households"] == 31 and grids[NORTH]["version"] == 3

    # DELETE retires: alone it would open a gap; absorbed by its neighbour it goes.
    assert client.delete(f"{ITEMS}/{SOUTH}", headers={**auth, "If-Match": '"1"'}).status_code == 400
    r = client.delete(
        f"{ITEMS}/{SOUTH}",
        params={"absorbed_by": NORTH, "absorbed_by_version": 3, "reason": "合并"},
        headers={**auth, "If-Match": '"1"'},
    )
    assert r.status_code == 204, r.text
    assert client.get(f"{ITEMS}/{SOUTH}", headers=auth).status_code == 404
    assert client.get(f"{ITEMS}/{NORTH}", headers=auth).headers["etag"] == '"4"'
    state, grids = grid_tile(client, auth)
    assert state == "miss" and SOUTH not in grids and grids[NORTH]["version"] == 4
    audit = db.execute(
        text("SELECT action FROM audit_log WHERE entity_id = :c ORDER BY id"), {"c": NORTH}
    ).scalars()
    assert list(audit)[:3] == ["grid.create", "grid.replace", "grid.update"]


def test_invalid_geometry_names_the_problem(client, auth, data):
    bowtie = {"type": "Polygon", "coordinates": [[[107.12, 34.35], [107.13, 34.37], [107.13, 34.35],
                                                  [107.12, 34.37], [107.12, 34.35]]]}  # fmt: skip
    r = client.post(ITEMS, json=feature(NORTH, bowtie), headers=auth)
    assert r.status_code == 400
    assert "self" in r.text.lower() or "valid" in r.text.lower()


def test_roles_and_other_collections(client, auth, db, data):
    viewer = {"Authorization": f"Bearer {create_user(db, 'ogc-viewer-4', 'viewer')}"}
    north = feature(NORTH, square(107.12, 34.35, 107.13, 34.37))
    assert client.post(ITEMS, json=north, headers=viewer).status_code == 403
    assert client.post(ITEMS, json=north).status_code == 401
    r = client.post("/ogc/collections/incidents/items", json=north, headers=auth)
    assert r.status_code == 405
    assert client.delete("/ogc/collections/nope/items/1", headers={**auth, "If-Match": '"1"'}).status_code == 404
