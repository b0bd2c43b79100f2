"""Coverage of patrol routes on a hand-checked case: a line along 34.365°N through the west community.

Grid squares are 0.01° (≈ 919 m east–west, ≈ 1,109 m north–south here). The line runs from 107.102E to
107.1095E inside grid 610302001001001 (west-north), ending 0.0005° (≈ 46 m) short of the east column, so
with a 100 m reach it passes that grid and the east-north grid, and no southern grid (≈ 554 m away).
Incidents are placed at exact geodesic distances from the line (pyproj, not PostGIS).
"""

from __future__ import annotations

import datetime as dt

import pytest
from pyproj import Geod

from geo.area import CITY
from geo.auth import Principal
from geo.errors import InvalidInput
from geo.patrols import coverage, routes
from tests.fixtures import load_tiny_tree
from tests.patrol_data import NOW, WEST, add_compound, add_incident, add_officer, line, offset

Y = 34.365
WEST_END, EAST_END = (107.102, Y), (107.1095, Y)
MID = (107.105, Y)


@pytest.fixture
def case(db):
    load_tiny_tree(db)
    officer = add_officer(db, "A001", WEST)
    stops = [
        {"name": "一", "lon": 107.103, "lat": Y, "dwell_minutes": 10, "kind": "hotspot"},
        {"name": "二", "lon": 107.107, "lat": Y, "dwell_minutes": 15, "kind": "compound"},
    ]
    route = routes.create_route(
        db,
        Principal("editor", frozenset({"gis_editor"}), "610300"),
        {
            "name": "hand",
            "officer_id": officer,
            "shift": "day",
            "mode": "walk",
            "planned_stops": stops,
            "geometry": line(WEST_END, EAST_END),
        },
    )["route"]
    near = [
        add_incident(db, *offset(*MID, 50, 0)),  # 50 m north of the middle
        add_incident(db, *offset(*MID, 90, 180)),  # 90 m south
        add_incident(db, *offset(*WEST_END, 80, 270)),  # 80 m beyond the west end
    ]
    far = [
        add_incident(db, *offset(*MID, 110, 0)),  # just out of reach
        add_incident(db, *offset(*MID, 300, 180)),
        add_incident(db, 107.105, 34.355),  # south grid of the west community
    ]
    add_incident(db, *offset(*MID, 10, 0), days_ago=40)  # within reach but before the 28-day window
    east = add_incident(db, *offset(*EAST_END, 70, 90))  # 70 m past the east end: in the east community
    compounds = {
        "near": add_compound(db, *offset(*MID, 80, 0), half_m=20),  # its south edge 60 m from the line
        "far": add_compound(db, *offset(*MID, 200, 180), half_m=20),  # 180 m
    }
    return db, officer, route, near, far, east, compounds


def test_route_coverage_matches_the_hand_computation(case):
    db, officer, route, near, far, east, compounds = case
    cov = coverage.route_coverage(db, route["id"], reach_m=100, days=28, as_of=NOW, top_n=5)
    assert cov["scope"] == {"kind": "route", "route_id": route["id"], "community_code": WEST}
    assert [g["code"] for g in cov["grids"]] == ["610302001001001", "610302001002001"]
    assert [g["in_area"] for g in cov["grids"]] == [True, False]
    assert cov["area"] == {"grid_count": 2, "grids_covered": 1, "share_grids_covered": 0.5}
    assert [c["id"] for c in cov["compounds"]] == [compounds["near"]]
    # West community, last 28 days: 3 within reach of 6 (the 40-day-old one is out of the window).
    assert cov["incidents"] == {
        "area_total": 6,
        "within_reach": 3,
        "share_within_reach": 0.5,
        "within_reach_anywhere": 4,
    }
    hot = cov["hot_spots"]
    assert [(g["code"], g["count"], g["covered"]) for g in hot["grids"]] == [
        ("610302001001001", 5, True),
        ("610302001001002", 1, False),
    ]
    assert hot["not_covered"] == ["610302001001002"] and hot["share_covered"] == 0.5
    length = Geod(ellps="WGS84").line_length([WEST_END[0], EAST_END[0]], [Y, Y])
    assert cov["length_m"] == pytest.approx(length, rel=1e-3)
    # On foot at 4.5 km/h (75 m/min), plus 10 + 15 planned minutes.
    assert cov["travel_minutes"] == pytest.approx(length / 75, abs=0.1)
    assert cov["dwell_minutes"] == 25
    assert cov["total_minutes"] == pytest.approx(length / 75 + 25, abs=0.1)


def test_reach_is_a_setting(case):
    db, _, route, *_ = case
    wide = coverage.route_coverage(db, route["id"], reach_m=120, days=28, as_of=NOW)
    assert wide["incidents"]["within_reach"] == 4  # the 110 m one joins
    narrow = coverage.route_coverage(db, route["id"], reach_m=55, days=28, as_of=NOW)
    assert narrow["incidents"]["within_reach"] == 1  # only the 50 m one
    assert narrow["compounds"] == []  # its edge is 60 m away
    assert [g["code"] for g in narrow["grids"]] == ["610302001001001", "610302001002001"]


def test_officer_and_community_coverage_add_up_routes(case):
    db, officer, route, *_ = case
    editor = Principal("editor", frozenset({"gis_editor"}), "610300")
    second = routes.create_route(
        db,
        editor,
        {
            "name": "south",
            "officer_id": officer,
            "shift": "night",
            "mode": "drive",
            "geometry": line((107.102, 34.355), (107.108, 34.355)),
        },
    )["route"]
    by_officer = coverage.officer_coverage(db, officer, reach_m=100, days=28, as_of=NOW)
    assert [r["id"] for r in by_officer["routes"]] == [route["id"], second["id"]]
    assert by_officer["incidents"]["within_reach"] == 4  # the south-grid incident is on the second route
    assert by_officer["hot_spots"]["not_covered"] == []
    drive = by_officer["routes"][1]
    assert drive["travel_minutes"] == pytest.approx(drive["length_m"] / (25000 / 60), abs=0.1)
    assert by_officer["length_m"] == pytest.approx(route["properties"]["length_m"] + drive["length_m"], abs=0.2)
    by_community = coverage.community_coverage(db, WEST, reach_m=100, days=28, as_of=NOW)
    assert by_community["incidents"] == by_officer["incidents"]


def test_nothing_to_cover(case):
    db, *_ = case
    empty = coverage.community_coverage(db, "610302001002", reach_m=100, days=28, as_of=NOW)
    assert empty["routes"] == [] and empty["grids"] == [] and empty["length_m"] == 0
    assert empty["incidents"]["area_total"] == 1 and empty["incidents"]["share_within_reach"] == 0.0
    with pytest.raises(InvalidInput) as caught:
        coverage.coverage(db, CITY, route_id=1, officer_id=1)
    assert "exactly one" in str(caught.value)


def test_the_window_ends_at_the_latest_incident_by_default(case):
    db, _, route, *_ = case
    cov = coverage.route_coverage(db, route["id"], reach_m=100, days=28)
    latest = NOW - dt.timedelta(days=1)  # the newest incident of the case
    assert dt.datetime.fromisoformat(cov["as_of"]) == latest
    assert cov["incidents"]["area_total"] == 6 and cov["incidents"]["within_reach"] == 3
