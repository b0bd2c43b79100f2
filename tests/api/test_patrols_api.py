"""The patrol API: CRUD with ETags, police ownership (403), bad input (4xx, nothing written), GPX, coverage,
suggestions and the map page."""

from __future__ import annotations

import gpxpy
import pytest
from sqlalchemy import text

from geo.auth import create_user
from geo.maps.external_urls import find_external_urls
from tests.fixtures import load_tiny_tree
from tests.patrol_data import EAST, NOW, WEST, add_incident, add_officer, line, police_headers

ROUTES = "/api/v1/patrols/routes"


@pytest.fixture
def people(db):
    load_tiny_tree(db)
    a = add_officer(db, "A001", WEST, "甲警官")
    b = add_officer(db, "B001", EAST, "乙警官")
    editor = {"Authorization": "Bearer " + create_user(db, "ed", "gis_editor")}
    return {
        "a": a,
        "b": b,
        "police_a": police_headers(db, a, "pa"),
        "police_b": police_headers(db, b, "pb"),
        "editor": editor,
    }


def route_body(officer: int, **over) -> dict:
    return {
        "name": "早巡",
        "officer_id": officer,
        "shift": "morning",
        "mode": "walk",
        "planned_stops": [
            {"name": "门口", "lon": 107.104, "lat": 34.365, "dwell_minutes": 10, "kind": "compound"}
        ],
        "geometry": line((107.102, 34.365), (107.108, 34.365)),
        **over,
    }


def test_crud_with_etags(client, people, auth):
    r = client.post(ROUTES, json=route_body(people["a"]), headers=people["police_a"])
    assert r.status_code == 201, r.text
    rid = r.json()["route"]["id"]
    assert r.headers["etag"] == '"1"' and r.headers["location"] == f"{ROUTES}/{rid}"
    assert r.json()["warnings"] == []
    got = client.get(f"{ROUTES}/{rid}", headers=auth)
    assert got.status_code == 200 and got.headers["content-type"].startswith("application/geo+json")
    assert got.json()["geometry"]["type"] == "LineString" and got.headers["etag"] == '"1"'
    listed = client.get(ROUTES, params={"officer_id": people["a"]}, headers=auth).json()
    assert [f["id"] for f in listed["features"]] == [rid] and listed["numberMatched"] == 1
    r = client.put(f"{ROUTES}/{rid}", json={"shift": "evening"}, headers={**people["police_a"], "If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["route"]["properties"]["shift"] == "evening"
    stale = client.put(
        f"{ROUTES}/{rid}", json={"shift": "night"}, headers={**people["police_a"], "If-Match": '"1"'}
    )
    assert stale.status_code == 412 and stale.headers["etag"] == '"2"'
    assert client.delete(f"{ROUTES}/{rid}", headers=people["police_a"]).status_code == 204
    assert client.get(f"{ROUTES}/{rid}", headers=auth).status_code == 404


def test_police_of_officer_a_cannot_edit_officer_bs_route(client, people, db):
    rid = client.post(ROUTES, json=route_body(people["b"]), headers=people["police_b"]).json()["route"]["id"]
    r = client.put(f"{ROUTES}/{rid}", json={"name": "hijack"}, headers=people["police_a"])
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    assert client.delete(f"{ROUTES}/{rid}", headers=people["police_a"]).status_code == 403
    assert client.post(ROUTES, json=route_body(people["b"]), headers=people["police_a"]).status_code == 403
    # A GIS editor may edit anyone's route.
    r = client.put(f"{ROUTES}/{rid}", json={"name": "编辑改"}, headers=people["editor"])
    assert r.status_code == 200 and r.json()["route"]["properties"]["name"] == "编辑改"
    assert db.execute(text("SELECT count(*) FROM patrol_routes")).scalar_one() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            {
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[107.1, 34.36], [107.2, 34.36], [107.1, 34.37], [107.1, 34.36]]],
                }
            },
            "geometry",
        ),
        ({"geometry": line((107.1, 34.36))}, "geometry"),
        ({"geometry": line((107.1, 34.36), (107.1, 95.0))}, "geometry.coordinates[1]"),
        ({"shift": "siesta"}, "shift"),
    ],
)
def test_bad_input_is_a_clear_400_and_writes_nothing(client, people, db, change, field):
    audited = "SELECT count(*) FROM audit_log WHERE entity_type <> 'user'"
    before = db.execute(text(audited)).scalar_one()  # committed rows of other tests stay (a hash chain)
    r = client.post(ROUTES, json=route_body(people["a"], **change), headers=people["editor"])
    assert r.status_code == 400, r.text
    assert r.json()["field"] == field
    assert db.execute(text("SELECT count(*) FROM patrol_routes")).scalar_one() == 0
    # the fixture's users are audited too (migration 0005): only this request's rows count
    assert db.execute(text(audited)).scalar_one() == before


def test_outside_the_community_is_accepted_with_a_warning(client, people):
    body = route_body(people["a"], geometry=line((107.105, 34.365), (107.115, 34.365)))
    r = client.post(ROUTES, json=body, headers=people["police_a"])
    assert r.status_code == 201
    assert [w["code"] for w in r.json()["warnings"]] == ["outside_community"]


def test_gpx_export_both_ways(client, people, auth):
    rid = client.post(ROUTES, json=route_body(people["a"]), headers=people["editor"]).json()["route"]["id"]
    for url, params in ((f"{ROUTES}/{rid}.gpx", None), (f"{ROUTES}/{rid}", {"format": "gpx"})):
        r = client.get(url, params=params, headers=auth)
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/gpx+xml")
        parsed = gpxpy.parse(r.text)
        assert len(parsed.tracks[0].segments[0].points) == 2 and parsed.waypoints[0].name == "1. 门口"


def test_coverage_endpoint(client, people, auth, db):
    rid = client.post(ROUTES, json=route_body(people["a"]), headers=people["editor"]).json()["route"]["id"]
    add_incident(db, 107.105, 34.3655)  # ~55 m north of the line, a day before NOW
    r = client.get("/api/v1/patrols/coverage", params={"route_id": rid, "as_of": NOW.isoformat()}, headers=auth)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["incidents"]["within_reach"] == 1 and body["reach_m"] == 100
    assert client.get("/api/v1/patrols/coverage", params={"officer_id": people["a"]}, headers=auth).json()[
        "routes"
    ]
    both = client.get(
        "/api/v1/patrols/coverage", params={"route_id": rid, "officer_id": people["a"]}, headers=auth
    )
    assert both.status_code == 400


def test_suggest_endpoint(client, people, auth):
    r = client.post(
        "/api/v1/patrols/suggest",
        json={"officer_id": people["a"], "shift_minutes": 0, "mode": "walk"},
        headers=people["police_a"],
    )
    assert r.status_code == 400 and r.json()["field"] == "shift_minutes"
    r = client.post(
        "/api/v1/patrols/suggest",
        json={"officer_id": people["a"], "start": [107.105, 34.365], "shift_minutes": 120, "mode": "walk"},
        headers=people["police_a"],
    )
    assert r.status_code == 200, r.text
    assert r.json()["properties"]["route"]["officer_id"] == people["a"]


def test_map_page_is_offline(client, people, auth):
    rid = client.post(ROUTES, json=route_body(people["a"]), headers=people["editor"]).json()["route"]["id"]
    r = client.get(f"/maps/patrol/{rid}", headers=auth)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert find_external_urls(r.text) == []
    assert client.get("/maps/patrol/999999", headers=auth).status_code == 404
