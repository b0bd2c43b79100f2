"""The app skeleton: /health, /api/v1/grids as GeoJSON with paging, the error body, auth."""

from __future__ import annotations

from tests.fixtures import load_tiny_tree


def test_health_reports_postgis_and_migration(client):
    r = client.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["database"] == "reachable"
    assert body["postgis"].startswith("3.")
    assert body["migration"]["current"] == body["migration"]["head"]


def test_grids_need_a_token(client):
    r = client.get("/api/v1/grids")
    assert r.status_code == 401
    assert r.json()["code"] == "unauthorized"


def test_grids_as_geojson_with_paging_and_bbox(client, db, auth):
    load_tiny_tree(db)
    r = client.get("/api/v1/grids", params={"limit": 3}, headers=auth)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/geo+json")
    body = r.json()
    assert body["type"] == "FeatureCollection"
    assert body["numberMatched"] == 4 and body["numberReturned"] == 3
    assert [f["id"] for f in body["features"]] == ["610302001001001", "610302001001002", "610302001002001"]
    assert "offset=3" in r.headers["link"]
    feature = body["features"][0]
    assert feature["geometry"]["type"] == "MultiPolygon"
    assert feature["properties"]["community_name"] == "西社区"
    # A bbox that only touches the east column.
    r = client.get("/api/v1/grids", params={"bbox": "107.115,34.351,107.119,34.369"}, headers=auth)
    assert sorted(f["id"] for f in r.json()["features"]) == ["610302001002001", "610302001002002"]


def test_bad_bbox_names_the_problem(client, auth):
    r = client.get("/api/v1/grids", params={"bbox": "34.3,107.1,34.4,107.2"}, headers=auth)
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == "invalid_input" and body["field"] == "bbox" and "lon,lat" in body["detail"]
