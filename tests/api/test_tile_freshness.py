"""Tile freshness for every writer: warm the tile, write, expect `X-Tile-Cache: miss` and the new content.

Writers: REST grid edits (attribute-only: name, worker; status: retire), incidents (one, a bulk of 1 and of
250 rows), compounds, patrol routes, and the CLI (its own connection; the app hears of its commit).
"""

from __future__ import annotations

import json

import mapbox_vector_tile
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from api.cli import app as cli_app
from geo.tiles.cache import tile_range
from tests.api.ogc_data import delete_ogc_data, load_ogc_data

TREE_BBOX = (107.10, 34.35, 107.12, 34.37)
W1, W2, E1 = "610302001001001", "610302001001002", "610302001002001"


@pytest.fixture
def data(db):
    load_ogc_data(db)
    db.commit()  # to the test's savepoint: a failed request rolls back only its own work


def tile(client, auth, layer: str) -> tuple[str, dict]:
    """(X-Tile-Cache, decoded layer) of the z12 tile holding the tiny tree."""
    x0, x1, y0, y1 = tile_range(TREE_BBOX, 12, margin=0)
    assert (x0, y0) == (x1, y1)
    r = client.get(f"/tiles/{layer}/12/{x0}/{y0}.mvt", headers=auth)
    assert r.status_code == 200, r.text
    decoded = mapbox_vector_tile.decode(r.content) if r.content else {}
    return r.headers["x-tile-cache"], decoded.get(layer, {"features": []})


def warm(client, auth, layer: str) -> dict:
    tile(client, auth, layer)
    state, content = tile(client, auth, layer)
    assert state == "hit"
    return content


def grid_props(layer: dict) -> dict[str, dict]:
    return {f["properties"]["code"]: f["properties"] for f in layer["features"]}


def incident_total(layer: dict) -> int:
    return sum(f["properties"]["count"] for f in layer["features"])


def etag(client, auth, code: str) -> str:
    return client.get(f"/api/v1/grids/{code}", headers=auth).headers["etag"]


@pytest.mark.parametrize(
    "attrs",
    [{"name": "西一（更名）"}, {"grid_worker": "新网格员", "grid_worker_phone": "13900000000"}],
    ids=["name", "worker"],
)
def test_an_attribute_only_rest_edit_refreshes_the_grid_tile(client, auth, data, attrs):
    before = grid_props(warm(client, auth, "grids"))[W1]
    r = client.patch(
        f"/api/v1/grids/{W1}", json={"properties": attrs}, headers={**auth, "If-Match": etag(client, auth, W1)}
    )
    assert r.status_code == 200, r.text
    state, layer = tile(client, auth, "grids")
    after = grid_props(layer)[W1]
    assert state == "miss"
    assert after["version"] == before["version"] + 1
    assert after["name"] == attrs.get("name", before["name"])


def test_retiring_a_grid_refreshes_the_grid_tile(client, auth, data):
    assert W2 in grid_props(warm(client, auth, "grids"))
    versions = {"absorbed_by": W1, "absorbed_by_version": 1}
    r = client.delete(f"/api/v1/grids/{W2}", params=versions, headers={**auth, "If-Match": etag(client, auth, W2)})
    assert r.status_code in (200, 204), r.text
    state, layer = tile(client, auth, "grids")
    assert state == "miss" and W2 not in grid_props(layer)


def point(lon: float, lat: float, k: int) -> dict:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {"category": "dispute", "occurred_at": "2024-03-05T09:00:00+08:00", "external_id": f"F{k}"},
    }


def test_one_incident_refreshes_the_incident_tile(client, auth, data):
    before = incident_total(warm(client, auth, "incidents"))
    r = client.post("/api/v1/incidents", json=point(107.104, 34.364, 0), headers=auth)
    assert r.status_code == 201, r.text
    state, layer = tile(client, auth, "incidents")
    assert state == "miss" and incident_total(layer) == before + 1


@pytest.mark.parametrize("n", [1, 250])
def test_a_bulk_import_refreshes_the_incident_tile(client, auth, data, n):
    before = incident_total(warm(client, auth, "incidents"))
    features = [point(107.101 + 0.00007 * k, 34.351 + 0.00007 * k, k) for k in range(n)]
    r = client.post(
        "/api/v1/incidents/bulk", json={"type": "FeatureCollection", "features": features}, headers=auth
    )
    assert r.status_code in (200, 201), r.text
    state, layer = tile(client, auth, "incidents")
    assert state == "miss" and incident_total(layer) == before + n


def test_a_compound_refreshes_the_compound_tile(client, auth, data):
    assert len(warm(client, auth, "compounds")["features"]) == 1
    ring = [[107.113, 34.363], [107.115, 34.363], [107.115, 34.365], [107.113, 34.365], [107.113, 34.363]]
    body = {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": {"name": "新建小区", "households": 100},
    }
    r = client.post("/api/v1/compounds", json=body, headers=auth)
    assert r.status_code == 201, r.text
    state, layer = tile(client, auth, "compounds")
    assert state == "miss" and sorted(f["properties"]["name"] for f in layer["features"]) == [
        "幸福小区",
        "新建小区",
    ]


def test_patrol_route_writes_refresh_the_route_tile(client, auth, db, data):
    officer = db.execute(text("SELECT id FROM officers WHERE badge = 'T-001'")).scalar_one()
    assert [f["properties"]["name"] for f in warm(client, auth, "patrol_routes")["features"]] == ["西线"]
    body = {
        "name": "东线",
        "officer_id": officer,
        "shift": "night",
        "mode": "walk",
        "geometry": {"type": "LineString", "coordinates": [[107.111, 34.351], [107.119, 34.369]]},
    }
    r = client.post("/api/v1/patrols/routes", json=body, headers=auth)
    assert r.status_code == 201, r.text
    state, layer = tile(client, auth, "patrol_routes")
    assert state == "miss" and sorted(f["properties"]["name"] for f in layer["features"]) == ["东线", "西线"]
    rid = r.json()["route"]["id"]
    r = client.put(f"/api/v1/patrols/routes/{rid}", json={"name": "东线二"}, headers={**auth, "If-Match": '"1"'})
    assert r.status_code == 200, r.text
    state, layer = tile(client, auth, "patrol_routes")
    assert state == "miss" and "东线二" in [f["properties"]["name"] for f in layer["features"]]
    assert client.delete(f"/api/v1/patrols/routes/{rid}", headers=auth).status_code == 204
    state, layer = tile(client, auth, "patrol_routes")
    assert state == "miss" and [f["properties"]["name"] for f in layer["features"]] == ["西线"]


@pytest.fixture
def committed(settings, owner_engine):
    """The OGC data committed (the CLI opens its own connection), removed afterwards."""
    with Session(owner_engine) as session:
        load_ogc_data(session)
        session.commit()
    try:
        yield
    finally:
        with Session(owner_engine) as session:
            session.execute(text("DELETE FROM audit_log"))
            session.execute(text("DELETE FROM incidents WHERE external_id LIKE 'CLI%'"))
            delete_ogc_data(session)
            session.commit()


def test_a_cli_import_refreshes_the_tiles_a_served_app_holds(settings, committed, auth, tmp_path):
    from fastapi.testclient import TestClient

    from api.app import create_app

    served = create_app(settings)
    with TestClient(served) as client:
        before = incident_total(warm(client, auth, "incidents"))
        path = tmp_path / "one.geojson"
        one = point(107.104, 34.364, 0)
        one["properties"]["external_id"] = "CLI-1"
        path.write_text(json.dumps({"type": "FeatureCollection", "features": [one]}), encoding="utf-8")
        env = {"CITYGRID_DATABASE_URL": settings.database_url, "COLUMNS": "200"}
        result = CliRunner().invoke(cli_app, ["incidents", "import", str(path)], env=env)
        assert result.exit_code == 0, result.output
        state, layer = tile(client, auth, "incidents")
        assert state == "miss" and incident_total(layer) == before + 1
    served.state.engine.dispose()
