"""The route map: offline (no outside URL), numbered stops, grids coloured by recent incidents."""

from __future__ import annotations

from geo.auth import Principal
from geo.maps.external_urls import find_external_urls
from geo.patrols import map as patrol_map
from geo.patrols import routes
from tests.fixtures import load_tiny_tree
from tests.patrol_data import NOW, WEST, add_incident, add_officer, line


def test_route_map_is_offline_with_numbered_stops(db, settings):
    load_tiny_tree(db)
    officer = add_officer(db, "A001", WEST, "甲警官")
    for _ in range(3):
        add_incident(db, 107.105, 34.366)
    stops = [
        {"name": "第一站", "lon": 107.103, "lat": 34.365, "dwell_minutes": 10, "kind": "hotspot"},
        {"name": "第二站<script>", "lon": 107.107, "lat": 34.365, "dwell_minutes": 15, "kind": "hazard"},
    ]
    route = routes.create_route(
        db,
        Principal("e", frozenset({"gis_editor"}), "610300"),
        {
            "name": "夜巡",
            "officer_id": officer,
            "shift": "night",
            "planned_stops": stops,
            "geometry": line((107.102, 34.365), (107.108, 34.365)),
        },
    )["route"]
    page = patrol_map.route_map_html(db, settings, route["id"], days=28, as_of=NOW)
    assert find_external_urls(page) == []
    assert "/static/vendor/leaflet/leaflet.js" in page
    # Numbered stop badges (folium writes the DivIcon's HTML with \u003c/\u003e escapes).
    assert page.count("\\u003e1\\u003c/div\\u003e") == 1 and page.count("\\u003e2\\u003c/div\\u003e") == 1
    assert "第二站&lt;script&gt;" in page and "第二站<script>" not in page
    assert "甲警官" in page and "夜巡" in page
    # The busiest grid (3 incidents) gets the darkest class; quiet grids the grey.
    assert "#a50f15" in page and "#f7f7f7" in page
