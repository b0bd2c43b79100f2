"""Patrol routes in the domain layer: CRUD, ownership, bad input, warnings, audit, GPX round trip."""

from __future__ import annotations

import gpxpy
import pytest
from pyproj import Geod
from sqlalchemy import text

from geo.area import CITY
from geo.auth import Principal
from geo.errors import Forbidden, InvalidGeometry, InvalidInput, NotFound, VersionConflict
from geo.patrols import routes
from tests.fixtures import load_tiny_tree
from tests.patrol_data import EAST, WEST, add_officer, line

EDITOR = Principal("editor", frozenset({"gis_editor"}), "610300")
INSIDE_WEST = line((107.102, 34.365), (107.108, 34.365))


@pytest.fixture
def tree(db):
    load_tiny_tree(db)
    a = add_officer(db, "A001", WEST, "甲警官")
    b = add_officer(db, "B001", EAST, "乙警官")
    return db, a, b


def body(officer: int, **over) -> dict:
    base = {
        "name": "西社区早巡",
        "officer_id": officer,
        "shift": "morning",
        "mode": "walk",
        "planned_stops": [
            {"name": "小区门口", "lon": 107.104, "lat": 34.365, "dwell_minutes": 10, "kind": "compound"}
        ],
        "geometry": INSIDE_WEST,
    }
    return {**base, **over}


def count(db, table: str) -> int:
    return db.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def test_create_read_update_delete(tree):
    db, a, _ = tree
    made = routes.create_route(db, Principal("a", frozenset({"police"}), "610300", a), body(a))
    feature = made["route"]
    assert made["warnings"] == []
    props = feature["properties"]
    assert props["officer_name"] == "甲警官" and props["community_code"] == WEST and props["version"] == 1
    # 0.006° of longitude at 34.365°N on the ellipsoid, measured independently of PostGIS.
    expected = Geod(ellps="WGS84").line_length([107.102, 107.108], [34.365, 34.365])
    assert props["length_m"] == pytest.approx(expected, rel=1e-3)
    assert feature["geometry"]["coordinates"] == [[107.102, 34.365], [107.108, 34.365]]
    rid = feature["id"]
    assert routes.get_route(db, rid)["properties"]["planned_stops"][0]["kind"] == "compound"

    changed = routes.update_route(
        db, Principal("a", frozenset({"police"}), "610300", a), rid, {"mode": "drive", "name": "改名"}, if_match=1
    )
    assert changed["route"]["properties"]["mode"] == "drive"
    assert changed["route"]["properties"]["name"] == "改名"
    assert changed["route"]["properties"]["shift"] == "morning"  # kept
    assert changed["route"]["properties"]["version"] == 2
    with pytest.raises(VersionConflict):
        routes.update_route(db, EDITOR, rid, {"name": "stale"}, if_match=1)

    listed = routes.list_routes(db, CITY, officer_id=a)
    assert listed.matched == 1
    routes.delete_route(db, Principal("a", frozenset({"police"}), "610300", a), rid)
    with pytest.raises(NotFound):
        routes.get_route(db, rid)
    actions = (
        db.execute(
            text("SELECT action FROM audit_log WHERE entity_type = 'patrol_route' AND entity_id = :i ORDER BY id"),
            {"i": str(rid)},
        )
        .scalars()
        .all()
    )
    assert actions == ["create", "update", "delete"]


def test_police_write_only_their_own_officers_routes(tree):
    db, a, b = tree
    police_a = Principal("a", frozenset({"police"}), "610300", a)
    with pytest.raises(Forbidden):
        routes.create_route(db, police_a, body(b))
    rid = routes.create_route(db, EDITOR, body(b))["route"]["id"]  # gis_editor writes any officer's route
    with pytest.raises(Forbidden):
        routes.update_route(db, police_a, rid, {"name": "not mine"})
    with pytest.raises(Forbidden):
        routes.delete_route(db, police_a, rid)
    # Nor may a police token hand its own route over to another officer.
    mine = routes.create_route(db, police_a, body(a))["route"]["id"]
    with pytest.raises(Forbidden):
        routes.update_route(db, police_a, mine, {"officer_id": b})
    with pytest.raises(Forbidden):
        routes.create_route(db, Principal("nobody", frozenset({"police"}), "610300", None), body(a))
    with pytest.raises(Forbidden):
        routes.create_route(db, Principal("v", frozenset({"viewer"}), "610300"), body(a))
    assert routes.get_route(db, rid)["properties"]["name"] == "西社区早巡"


@pytest.mark.parametrize(
    ("change", "error", "field"),
    [
        ({"geometry": {"type": "Point", "coordinates": [107.1, 34.36]}}, InvalidGeometry, "geometry"),
        ({"geometry": line((107.1, 34.36))}, InvalidGeometry, "geometry"),
        ({"geometry": line((107.1, 34.36), (107.1, 34.36))}, InvalidGeometry, "geometry"),
        ({"geometry": line((107.1, 34.36), (34.37, 107.11))}, InvalidGeometry, "geometry.coordinates[1]"),
        ({"geometry": line((107.1, 34.36), (float("nan"), 34.37))}, InvalidInput, "geometry.coordinates[1].lon"),
        ({"shift": "lunch"}, InvalidInput, "shift"),
        ({"mode": "bike"}, InvalidInput, "mode"),
        (
            {"planned_stops": [{"lon": 107.1, "lat": 34.36, "dwell_minutes": -5}]},
            InvalidInput,
            "planned_stops[0].dwell_minutes",
        ),
        (
            {"planned_stops": [{"lon": 107.1, "lat": 34.36}, {"lon": 200, "lat": 34.36}]},
            InvalidGeometry,
            "planned_stops[1]",
        ),
        ({"name": ""}, InvalidInput, "name"),
        ({"colour": "red"}, InvalidInput, "colour"),
    ],
)
def test_bad_input_names_the_problem_and_writes_nothing(tree, change, error, field):
    db, a, _ = tree
    before = (count(db, "patrol_routes"), count(db, "audit_log"))
    with pytest.raises(error) as caught:
        routes.create_route(db, EDITOR, body(a, **change))
    assert caught.value.context["field"] == field
    assert (count(db, "patrol_routes"), count(db, "audit_log")) == before


def test_unknown_officer_and_community(tree):
    db, a, _ = tree
    with pytest.raises(NotFound) as caught:
        routes.create_route(db, EDITOR, body(999_999))
    assert caught.value.context["field"] == "officer_id"
    with pytest.raises(NotFound):
        routes.create_route(db, EDITOR, body(a, community_code="610302001999"))


def test_route_outside_the_officers_community_is_kept_with_a_warning(tree):
    db, a, _ = tree
    # West half in the west community (107.105–107.11), east half in the east one (107.11–107.115).
    made = routes.create_route(db, EDITOR, body(a, geometry=line((107.105, 34.365), (107.115, 34.365))))
    assert made["route"]["id"] > 0
    (warning,) = [w for w in made["warnings"] if w["code"] == "outside_community"]
    assert warning["community_code"] == WEST
    assert warning["share_outside"] == pytest.approx(0.5, abs=1e-3)


def test_a_stop_far_from_the_line_is_flagged(tree):
    db, a, _ = tree
    far_stop = [{"name": "远处", "lon": 107.105, "lat": 34.352, "dwell_minutes": 10, "kind": "hazard"}]
    made = routes.create_route(db, EDITOR, body(a, planned_stops=far_stop))
    (warning,) = made["warnings"]
    assert warning["code"] == "stop_off_route" and warning["field"] == "planned_stops[0]"
    assert warning["distance_m"] == pytest.approx(13 * 110.95, rel=0.01)  # 0.013° of latitude


def test_gpx_export_parses_back(tree):
    db, a, _ = tree
    geometry = line((107.102, 34.365), (107.104, 34.366), (107.108, 34.365))
    rid = routes.create_route(db, EDITOR, body(a, geometry=geometry))["route"]["id"]
    parsed = gpxpy.parse(routes.route_gpx(db, rid, CITY))
    points = parsed.tracks[0].segments[0].points
    assert [(p.longitude, p.latitude) for p in points] == [tuple(c) for c in geometry["coordinates"]]
    (stop,) = parsed.waypoints
    assert (stop.longitude, stop.latitude) == (107.104, 34.365)
    assert stop.name == "1. 小区门口" and stop.type == "compound"
    assert parsed.name == "西社区早巡"


def test_a_feature_body_and_a_fetched_feature_round_trip(tree):
    db, a, _ = tree
    flat = body(a)
    feature = {"type": "Feature", "geometry": flat.pop("geometry"), "properties": flat}
    rid = routes.create_route(db, EDITOR, feature)["route"]["id"]
    fetched = routes.get_route(db, rid)
    fetched["properties"]["name"] = "改过"
    changed = routes.update_route(db, EDITOR, rid, fetched, if_match=1)["route"]
    assert changed["properties"]["name"] == "改过" and changed["properties"]["version"] == 2
    assert changed["geometry"] == fetched["geometry"]


def test_a_line_far_from_the_city_is_refused(tree):
    db, a, _ = tree
    with pytest.raises(InvalidGeometry) as caught:
        routes.create_route(db, EDITOR, body(a, geometry=line((116.40, 39.90), (116.41, 39.90))))
    assert caught.value.context["reason"] == "far outside the city"
    assert count(db, "patrol_routes") == 0
