"""OGC API – Features Part 1 and CQL2-text filtering on the real PostGIS (tiny tree + 12 incidents)."""

from __future__ import annotations

import pytest

from tests.api.ogc_data import load_ogc_data

WEST_NORTH, WEST_SOUTH = "610302001001001", "610302001001002"
EAST_NORTH, EAST_SOUTH = "610302001002001", "610302001002002"


@pytest.fixture
def data(db):
    load_ogc_data(db)


def ids(body):
    return [f["id"] for f in body["features"]]


def test_needs_a_token(client):
    assert client.get("/ogc").status_code == 401
    assert client.get("/ogc/collections/grids/items").status_code == 401


def test_landing_conformance_and_collections(client, auth, data):
    landing = client.get("/ogc", headers=auth).json()
    rels = {link["rel"]: link["href"] for link in landing["links"]}
    assert rels["conformance"].endswith("/ogc/conformance") and rels["data"].endswith("/ogc/collections")
    assert rels["service-desc"].endswith("/ogc/api")
    api = client.get(rels["service-desc"], headers=auth)
    assert api.headers["content-type"].startswith("application/vnd.oai.openapi+json;version=3.0")
    items_params = {
        p["name"] for p in api.json()["paths"]["/collections/{collectionId}/items"]["get"]["parameters"]
    }
    assert {"limit", "bbox", "datetime", "filter", "category", "households"} <= items_params
    schema = client.get("/ogc/collections/grids/schema", headers=auth).json()
    typed = schema["properties"]["properties"]["properties"]
    assert typed["population"]["type"] == "integer" and typed["updated_at"]["format"] == "date-time"
    classes = client.get("/ogc/conformance", headers=auth).json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in classes
    assert "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text" in classes
    assert not any(c.endswith("/oas30") or c.endswith("/html") or c.endswith("/cql2-json") for c in classes)
    colls = client.get("/ogc/collections", headers=auth).json()["collections"]
    assert [c["id"] for c in colls] == ["admin_units", "grids", "compounds", "incidents", "patrol_routes"]
    grids = next(c for c in colls if c["id"] == "grids")
    assert grids["extent"]["spatial"]["bbox"][0] == pytest.approx([107.10, 34.35, 107.12, 34.37], abs=1e-5)
    incidents = client.get("/ogc/collections/incidents", headers=auth).json()
    assert incidents["extent"]["temporal"]["interval"][0][0].startswith("2024-03-01T02:00:00")
    assert any(link["rel"] == "items" for link in incidents["links"])
    assert client.get("/ogc/collections/nope", headers=auth).status_code == 404


def test_items_page_with_next_link_and_counts(client, auth, data):
    r = client.get("/ogc/collections/grids/items", params={"limit": 3}, headers=auth)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    body = r.json()
    assert body["type"] == "FeatureCollection"
    assert body["numberMatched"] == 4 and body["numberReturned"] == 3
    assert ids(body) == [WEST_NORTH, WEST_SOUTH, EAST_NORTH]
    feature = body["features"][0]
    assert feature["geometry"]["type"] == "MultiPolygon"
    assert feature["properties"]["households"] == 120 and "grid_worker_phone" not in feature["properties"]
    links = {link["rel"]: link["href"] for link in body["links"]}
    assert "offset=3" in links["next"] and links["collection"].endswith("/ogc/collections/grids")
    last = client.get(links["next"], headers=auth).json()
    assert ids(last) == [EAST_SOUTH] and last["numberReturned"] == 1
    assert "next" not in {link["rel"] for link in last["links"]}
    assert "prev" in {link["rel"] for link in last["links"]}


def test_limit_above_the_maximum_is_served_at_the_maximum(client, auth, data, settings):
    r = client.get("/ogc/collections/incidents/items", params={"limit": settings.max_page_size + 5}, headers=auth)
    assert r.status_code == 200 and r.json()["numberReturned"] == 12


def test_bbox_datetime_and_property_filters(client, auth, data):
    items = "/ogc/collections/incidents/items"
    # The east column only: 6 incidents.
    r = client.get(items, params={"bbox": "107.111,34.351,107.119,34.369"}, headers=auth).json()
    assert r["numberMatched"] == 6
    # Local dates: incident i happened on 2024-03-(i+1) at 10:00 +08:00 = 02:00 UTC.
    r = client.get(items, params={"datetime": "2024-03-02T00:00:00Z/2024-03-04"}, headers=auth).json()
    assert r["numberMatched"] == 3
    r = client.get(items, params={"datetime": "2024-03-05"}, headers=auth).json()
    assert r["numberMatched"] == 1 and r["features"][0]["properties"]["external_id"] == "T004"
    r = client.get(items, params={"datetime": "../2024-03-02T01:59:59Z"}, headers=auth).json()
    assert r["numberMatched"] == 1
    r = client.get(items, params={"category": "dispute", "status": "reported"}, headers=auth).json()
    assert sorted(f["properties"]["external_id"] for f in r["features"]) == ["T000", "T006"]
    grids = client.get("/ogc/collections/grids/items", params={"households": "0"}, headers=auth).json()
    assert ids(grids) == [EAST_SOUTH]


def test_cql2_text_filters(client, auth, data):
    def match(coll, expr):
        r = client.get(f"/ogc/collections/{coll}/items", params={"filter": expr, "filter-lang": "cql2-text"},
                       headers=auth)  # fmt: skip
        assert r.status_code == 200, r.text
        return r.json()

    assert ids(match("grids", "households >= 100 AND NOT community_code = '610302001002'")) == [WEST_NORTH]
    assert ids(match("grids", "(households < 100 OR households > 150) AND name LIKE '东%'")) == [
        EAST_NORTH,
        EAST_SOUTH,
    ]
    assert ids(match("grids", "S_INTERSECTS(geometry, POINT(107.115 34.355))")) == [EAST_SOUTH]
    box = match("grids", "s_intersects(geometry, BBOX(107.101, 34.361, 107.119, 34.369))")
    assert ids(box) == [WEST_NORTH, EAST_NORTH]
    poly = "S_WITHIN(geometry, POLYGON((107.0 34.0, 107.11 34.0, 107.11 34.5, 107.0 34.5, 107.0 34.0)))"
    assert ids(match("grids", poly)) == [WEST_NORTH, WEST_SOUTH]
    inc = match(
        "incidents", "category IN ('hazard', 'property') AND occurred_at < TIMESTAMP('2024-03-04T00:00:00Z')"
    )
    assert sorted(f["properties"]["external_id"] for f in inc["features"]) == ["T001", "T002"]
    assert (
        match("incidents", "external_id BETWEEN 'T000' AND 'T002' AND compound_id IS NULL")["numberMatched"] == 3
    )
    assert match("incidents", "FALSE")["numberMatched"] == 0
    assert match("admin_units", "level = 'community' AND parent_code = '610302001'")["numberMatched"] == 2


@pytest.mark.parametrize(
    ("expr", "position", "token"),
    [
        ("households >= 'many'", 12, ">="),
        ("nosuch = 1", 1, "nosuch"),
        ("households > 1 AND", 19, "end of filter"),
        ("name = 'a'; DROP TABLE grids", 11, ";"),
        ("S_INTERSECTS(geometry, POINT(34.36 107.11))", 30, "34.36"),
        ("households > 1) OR (1 = 1", 15, ")"),
    ],
)
def test_bad_filters_name_position_and_token(client, auth, data, expr, position, token):
    r = client.get("/ogc/collections/grids/items", params={"filter": expr}, headers=auth)
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["code"] == "invalid_filter" and body["field"] == "filter"
    assert body["position"] == position and body["token"] == token
    assert f"position {position}" in body["detail"]


def test_bad_parameters_are_400s(client, auth, data):
    items = "/ogc/collections/incidents/items"
    for params, field in [
        ({"colour": "red"}, "colour"),
        ({"datetime": "yesterday"}, "datetime"),
        ({"bbox": "34.3,107.1,34.4,107.2"}, "bbox"),
        ({"bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/4326", "bbox": "107,34,108,35"}, "bbox-crs"),
        ({"filter-lang": "cql2-json", "filter": "{}"}, "filter-lang"),
        ({"category": "nonsense"}, "category"),
        ({"compound_id": "x"}, "compound_id"),
    ]:
        r = client.get(items, params=params, headers=auth)
        assert r.status_code == 400, (params, r.text)
        assert r.json()["field"] == field
    r = client.get("/ogc/collections/admin_units/items", params={"datetime": "2024-01-01"}, headers=auth)
    assert r.status_code == 400 and "no temporal property" in r.json()["detail"]


def test_single_item_with_etag_and_404(client, auth, data):
    r = client.get(f"/ogc/collections/grids/items/{EAST_NORTH}", headers=auth)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    assert r.headers["etag"] == '"1"'
    body = r.json()
    assert body["type"] == "Feature" and body["id"] == EAST_NORTH and body["properties"]["name"] == "东一网格"
    assert {link["rel"] for link in body["links"]} == {"self", "collection"}
    first = client.get("/ogc/collections/incidents/items", params={"limit": 1}, headers=auth).json()["features"][0]
    one = client.get(f"/ogc/collections/incidents/items/{first['id']}", headers=auth).json()
    assert one["properties"]["external_id"] == first["properties"]["external_id"]
    assert client.get("/ogc/collections/incidents/items/abc", headers=auth).status_code == 404
    assert client.get("/ogc/collections/grids/items/000000000000000", headers=auth).status_code == 404


def test_queryables_are_the_allowlist(client, auth):
    q = client.get("/ogc/collections/incidents/queryables", headers=auth)
    assert q.headers["content-type"].startswith("application/schema+json")
    props = q.json()["properties"]
    assert props["category"]["enum"][0] == "preventable" and props["occurred_at"]["format"] == "date-time"
    assert "description" not in props and "geometry" in props


def test_gzip_when_asked(client, auth, data):
    r = client.get("/ogc/collections/grids/items", headers={**auth, "Accept-Encoding": "gzip"})
    assert r.headers.get("content-encoding") == "gzip" and r.json()["numberMatched"] == 4
