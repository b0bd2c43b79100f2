"""No body or tile a demo user gets holds a feature outside their area (issue #16, checked on the real demo).

Users are the demo's own staff at each level (a county, a town and a community centre, a grid worker, a
community policeman), each given a fresh token. The oracle is the admin tree itself, walked in SQL here through
`parent_code` and `grids.community_code` (not citygrid's scope code): a feature is inside when its most specific
code (its own code, else grid, community, town, county) is the user's area or lies below it (admin units
also: the units holding the area, whose outlines the map draws). Tiles are asked for
by a city user first, so a tile cached for the city would be served to the others if the cache leaked.
"""

from __future__ import annotations

import math

import mapbox_vector_tile
import pytest
from sqlalchemy import text

from geo.auth import bootstrap_principal
from geo.users import rotate_token

CODE_KEYS = ("code", "grid_code", "community_code", "town_code", "county_code")
LISTS = (
    "/api/v1/incidents?limit=10000",
    "/api/v1/compounds?limit=10000",
    "/api/v1/grids",
    "/api/v1/patrols/routes",
    "/ogc/collections/incidents/items?limit=10000",
    "/ogc/collections/grids/items?limit=10000",
    "/ogc/collections/compounds/items?limit=10000",
    "/ogc/collections/admin_units/items?limit=10000",
)
# The layers whose features carry an id or a code the oracle can place (incident points from zoom 13).
TILE_LAYERS = ("grids", "incidents", "compounds", "patrol_routes")
ZOOM = 14

_BELOW = """
WITH RECURSIVE below(code) AS (
    SELECT CAST(:area AS text)
    UNION SELECT a.code FROM admin_units a JOIN below b ON a.parent_code = b.code)
SELECT code FROM below UNION SELECT g.code FROM grids g JOIN below b ON g.community_code = b.code
"""
# Admin units holding the area are shown too, by design (a town's map draws its county's outline: geo/area.py).
_ABOVE = """
WITH RECURSIVE above(code, parent) AS (
    SELECT code, parent_code FROM admin_units
     WHERE code = :area OR code = (SELECT community_code FROM grids WHERE code = :area)
    UNION SELECT a.code, a.parent_code FROM admin_units a JOIN above b ON a.code = b.parent)
SELECT code FROM above
"""


def _pick_users(db) -> dict[str, str]:
    """username per level: one county of the demo and, inside it, a town, a community, a grid and its police."""
    row = db.execute(
        text(
            """SELECT g.code, c.code, t.code, k.code FROM grids g
                 JOIN admin_units c ON c.code = g.community_code JOIN admin_units t ON t.code = c.parent_code
                 JOIN admin_units k ON k.code = t.parent_code
                 JOIN users u ON u.area_code = c.code AND 'police' = ANY(u.roles)
                WHERE g.status = 'active'
                  AND (SELECT count(*) FROM incidents i WHERE i.grid_code = g.code) > 0
                ORDER BY (SELECT count(*) FROM incidents i WHERE i.community_code = c.code) DESC LIMIT 1"""
        )
    ).one()
    grid, community, town, county = row
    police = db.execute(
        text("SELECT username FROM users WHERE area_code = :c AND 'police' = ANY(roles) ORDER BY 1 LIMIT 1"),
        {"c": community},
    ).scalar_one()
    return {
        county: f"op.{county}",
        town: f"op.{town}",
        community: f"op.{community}",
        grid: f"gw.{grid}",
        f"{community}/police": police,
    }


@pytest.fixture
def staff(demo_db, db):
    """(area code, username, auth headers) for each sampled user, and a city operator's headers."""
    out = []
    for key, username in _pick_users(db).items():
        _, token = rotate_token(db, bootstrap_principal(), username)
        out.append((key.split("/")[0], username, {"Authorization": f"Bearer {token}"}))
    _, city_token = rotate_token(db, bootstrap_principal(), "op.610300")
    db.commit()
    return out, {"Authorization": f"Bearer {city_token}"}


def _inside(db, area: str) -> set[str]:
    return set(db.execute(text(_BELOW), {"area": area}).scalars())


def _most_specific(props: dict) -> str | None:
    return next((str(props[k]) for k in CODE_KEYS if props.get(k)), None)


def test_lists_hold_nothing_outside_the_area(client, db, staff):
    users, _ = staff
    for area, username, headers in users:
        inside = _inside(db, area)
        holding = set(db.execute(text(_ABOVE), {"area": area}).scalars())
        seen = 0
        for url in LISTS:
            r = client.get(url, headers=headers)
            assert r.status_code == 200, (username, url, r.text[:200])
            for f in r.json()["features"]:
                code = _most_specific(f["properties"])
                shown = inside | holding if "admin_units" in url else inside
                assert code is None or code in shown, (username, url, f["properties"])
                seen += 1
        assert seen > 0, username  # a user who sees nothing proves nothing


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The slippy-map tile holding a point (the OSM wiki's formula)."""
    n, phi = 2**z, math.radians(lat)
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(phi)) / math.pi) / 2 * n)


def _tile_ids(content: bytes) -> dict[str, set]:
    decoded = mapbox_vector_tile.decode(content)
    return {
        name: {f["properties"].get("code") or f.get("id") for f in layer["features"]}
        for name, layer in decoded.items()
    }


def _allowed_ids(db, inside: set[str]) -> dict[str, set]:
    codes = list(inside)
    return {
        "grids": set(codes),
        "incidents": set(
            db.execute(text("SELECT id FROM incidents WHERE grid_code = ANY(:c)"), {"c": codes}).scalars()
        ),
        "compounds": set(
            db.execute(text("SELECT id FROM compounds WHERE grid_code = ANY(:c)"), {"c": codes}).scalars()
        ),
        "patrol_routes": set(
            db.execute(text("SELECT id FROM patrol_routes WHERE community_code = ANY(:c)"), {"c": codes}).scalars()
        ),
    }


def test_tiles_first_cached_for_the_city_hold_nothing_outside(client, db, staff):
    users, city = staff
    for area, username, headers in users:
        # A tile on the area's edge: it holds features on both sides, so the city's copy differs from the user's.
        lon, lat = db.execute(
            text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(ST_Buffer(ST_Boundary(geom), 0.0001)) p "
                "FROM (SELECT geom FROM admin_units WHERE code = :a UNION ALL SELECT geom FROM grids WHERE code = :a) "
                "s) q"
            ),
            {"a": area},
        ).one()
        x, y = _tile_of(lon, lat, ZOOM)
        allowed = _allowed_ids(db, _inside(db, area))
        outside_in_city_tiles = 0
        for layer in TILE_LAYERS:
            url = f"/tiles/{layer}/{ZOOM}/{x}/{y}.mvt"
            city_tile = client.get(url, headers=city)
            assert city_tile.status_code in (200, 204), (url, city_tile.text[:200])
            ids = _tile_ids(city_tile.content).get(layer, set()) if city_tile.status_code == 200 else set()
            outside_in_city_tiles += len(ids - allowed[layer])
            r = client.get(url, headers=headers)
            assert r.status_code in (200, 204), (username, url, r.text[:200])
            if r.status_code == 200:
                leaked = _tile_ids(r.content).get(layer, set()) - allowed[layer]
                assert not leaked, (username, url, sorted(leaked)[:5])
        assert outside_in_city_tiles > 0, (username, x, y)  # the city's tiles held something the user may not see
