"""Compounds over HTTP: a straddling polygon gets its largest-share grid and the share list; edits, reads, errors."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from geo.auth import create_user
from geo.crs import wgs84_to_gcj02
from tests.api.test_incidents_api import post_json, tree
from tests.db.test_assign import EN, WN, WS
from tests.fixtures import X0, X1, Y0, Y1

URL = "/api/v1/compounds"


def ring(x1: float, y1: float, x2: float, y2: float) -> list:
    return [[[x1, y1], [x2, y1], [x2, y2], [x1, y2], [x1, y1]]]


def compound(coords: list, **props) -> dict:
    props.setdefault("name", "幸福小区")
    return {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": coords}, "properties": props}


STRADDLING = ring(X1 - 0.005, Y1 + 0.002, X1 + 0.0025, Y1 + 0.006)  # ⅔ in WN, ⅓ in EN


def test_straddling_compound_gets_largest_share_and_the_list(client, db, auth):
    tree(db)
    r = post_json(
        client,
        auth,
        URL,
        compound(
            STRADDLING,
            external_id="c-1",
            category="three_no",
            renovation_status="renovated",
            renovated_year=2021,
            households=300,
        ),
    )
    assert r.status_code == 201, r.text
    props = r.json()["properties"]
    assert (props["grid_code"], props["community_code"], props["straddling"]) == (WN, "610302001001", True)
    assert [s["grid_code"] for s in props["grid_shares"]] == [WN, EN]
    assert props["grid_shares"][0]["share"] == pytest.approx(0.667, abs=0.01)
    assert r.json()["warnings"] == []
    one = client.get(f"{URL}/{r.json()['id']}", headers=auth).json()
    assert one["properties"]["grid_shares"] == props["grid_shares"]
    # The same external_id again replaces it (200), now inside one grid.
    r = post_json(
        client, auth, URL, compound(ring(X0 + 0.001, Y0 + 0.001, X0 + 0.002, Y0 + 0.002), external_id="c-1")
    )
    assert r.status_code == 200 and r.json()["id"] == one["id"]
    assert r.json()["properties"]["grid_shares"] == [{"grid_code": WS, "share": 1.0}]
    assert db.execute(text("SELECT count(*) FROM compounds")).scalar_one() == 1
    actions = (
        db.execute(text("SELECT action FROM audit_log WHERE entity_type = 'compound' ORDER BY id")).scalars().all()
    )
    assert actions == ["create", "update"]


def test_put_moves_a_compound_and_its_incidents_follow(client, db, auth):
    tree(db)
    inside = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [X1 + 0.001, Y1 + 0.003]},
        "properties": {"category": "property", "occurred_at": "2024-05-01T08:00:00+08:00"},
    }
    cid = post_json(client, auth, URL, compound(STRADDLING)).json()["id"]
    post_json(client, auth, "/api/v1/incidents", inside)
    assert db.execute(text("SELECT compound_id FROM incidents")).scalar_one() == cid
    r = client.put(
        f"{URL}/{cid}",
        json=compound(ring(X1 + 0.002, Y1 + 0.002, X1 + 0.004, Y1 + 0.004), renovation_status="已整治"),
        headers=auth,
    )
    assert r.status_code == 200, r.text
    assert r.json()["properties"]["grid_code"] == EN and r.json()["properties"]["renovation_status"] == "renovated"
    assert r.json()["warnings"][0]["code"] == "renovated_year_missing"
    assert db.execute(text("SELECT compound_id FROM incidents")).scalar_one() is None
    assert client.put(f"{URL}/99999", json=compound(STRADDLING), headers=auth).status_code == 404


def test_gcj02_polygon_is_converted(client, db, auth):
    tree(db)
    xs, ys = wgs84_to_gcj02([X0 + 0.001, X0 + 0.003], [Y1 + 0.001, Y1 + 0.003])
    r = post_json(client, auth, URL, compound(ring(xs[0], ys[0], xs[1], ys[1])), crs="GCJ-02")
    lon, lat = r.json()["geometry"]["coordinates"][0][0]
    assert lon == pytest.approx(X0 + 0.001, abs=1e-5) and lat == pytest.approx(Y1 + 0.001, abs=1e-5)
    assert r.json()["properties"]["grid_code"] == WN


BAD = [
    ("point", {"type": "Point", "coordinates": [X1, Y1]}, {}, "geometry.type"),
    (
        "bow-tie",
        {"type": "Polygon", "coordinates": [[[X0, Y0], [X1, Y1], [X1, Y0], [X0, Y1], [X0, Y0]]]},
        {},
        "geometry",
    ),
    (
        "swapped",
        {"type": "Polygon", "coordinates": [[[Y0, X0], [Y1, X0], [Y1, X1], [Y0, X0]]]},
        {},
        "geometry.coordinates",
    ),
    ("no name", {"type": "Polygon", "coordinates": STRADDLING}, {"name": ""}, "properties.name"),
    ("category", {"type": "Polygon", "coordinates": STRADDLING}, {"category": "new"}, "properties.category"),
    ("households", {"type": "Polygon", "coordinates": STRADDLING}, {"households": -3}, "properties.households"),
]


@pytest.mark.parametrize(("geometry", "props", "field"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_compounds_are_named_and_write_nothing(client, db, auth, geometry, props, field):
    tree(db)
    doc = {"type": "Feature", "geometry": geometry, "properties": {"name": "小区", **props}}
    r = post_json(client, auth, URL, doc)
    assert r.status_code == 400, r.text
    assert r.json()["field"] == field
    assert db.execute(text("SELECT count(*) FROM compounds")).scalar_one() == 0


def test_list_filters_and_roles(client, db, auth):
    tree(db)
    post_json(
        client,
        auth,
        URL,
        compound(STRADDLING, renovation_status="renovated", renovated_year=2020, category="three_no"),
    )
    post_json(client, auth, URL, compound(ring(X0 + 0.001, Y0 + 0.001, X0 + 0.002, Y0 + 0.002)))
    get = lambda **p: client.get(URL, params=p, headers=auth).json()  # noqa: E731
    assert get()["numberMatched"] == 2
    assert get(renovation_status="renovated")["numberMatched"] == 1
    assert get(renovated_from=2021)["numberMatched"] == 0
    assert get(straddling="true")["features"][0]["properties"]["grid_code"] == WN
    assert get(admin_code="610302001")["numberMatched"] == 2 and get(admin_code=WS)["numberMatched"] == 1
    assert get(category="three_no")["numberMatched"] == 1
    assert client.get(URL, params={"renovation_status": "done"}, headers=auth).status_code == 400
    police = {"Authorization": "Bearer " + create_user(db, "p", "police")}
    editor = {"Authorization": "Bearer " + create_user(db, "e", "gis_editor")}
    db.commit()
    assert client.get(URL, headers=police).status_code == 200
    assert post_json(client, police, URL, compound(STRADDLING)).status_code == 403
    assert post_json(client, editor, URL, compound(STRADDLING)).status_code == 201
