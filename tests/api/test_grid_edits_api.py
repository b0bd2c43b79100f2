"""Grid editing over HTTP: ETag/If-Match (412, 428), validation bodies, dry runs, each edit, history, roles."""

from __future__ import annotations

import pytest
import shapely
from sqlalchemy import text

from geo.auth import create_user
from tests.fixtures import X0, X1, Y0, Y1, Y2, load_tiny_tree

W1, W2, E1, E2 = "610302001001001", "610302001001002", "610302001002001", "610302001002002"
URL = "/api/v1/grids"


def feature(x1, y1, x2, y2, **props) -> dict:
    return {
        "type": "Feature",
        "geometry": shapely.geometry.mapping(shapely.box(x1, y1, x2, y2)),
        "properties": props,
    }


@pytest.fixture
def tree(db):
    load_tiny_tree(db)
    db.commit()  # to the test's savepoint: a failed request rolls back only its own work
    return db


def bearer(db, name: str, role: str) -> dict[str, str]:
    token = create_user(db, name, role)
    db.commit()
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def editor(db) -> dict[str, str]:
    return bearer(db, "gis-zhang", "gis_editor")


def audit_rows(db, code: str) -> list:
    return db.execute(
        text("SELECT actor, action, reason FROM audit_log WHERE entity_id = :c ORDER BY id"), {"c": code}
    ).all()


def test_get_returns_the_version_as_etag(client, tree, auth):
    r = client.get(f"{URL}/{W1}", headers=auth)
    assert r.status_code == 200 and r.headers["etag"] == '"1"'
    assert r.headers["content-type"].startswith("application/geo+json")
    body = r.json()
    assert body["id"] == W1 and body["properties"]["version"] == 1 and body["geometry"]["type"] == "MultiPolygon"
    assert client.get(f"{URL}/610302001001099", headers=auth).status_code == 404


def test_put_needs_if_match_and_refuses_a_stale_one(client, tree, editor, db):
    body = feature(X0, Y1, X1, Y2, name="西一网格", grid_worker="王网格")
    r = client.put(f"{URL}/{W1}", json=body, headers=editor)
    assert r.status_code == 428 and r.json()["code"] == "precondition_required"
    r = client.put(f"{URL}/{W1}", json=body, headers={**editor, "If-Match": '"1"'}, params={"reason": "换网格员"})
    assert r.status_code == 200 and r.headers["etag"] == '"2"'
    assert r.json()["grids"][0]["version_after"] == 2
    r = client.put(f"{URL}/{W1}", json=body, headers={**editor, "If-Match": '"1"'})
    assert r.status_code == 412 and r.headers["etag"] == '"2"'
    assert r.json()["code"] == "version_conflict" and r.json()["current_version"] == 2
    r = client.put(f"{URL}/{W1}", json=body, headers={**editor, "If-Match": "banana"})
    assert r.status_code == 400
    assert audit_rows(db, W1) == [("gis-zhang", "grid.replace", "换网格员")]


def test_put_replaces_attributes_left_out(client, tree, auth, db):
    r = client.put(f"{URL}/{E2}", json=feature(0.0, 0, 0, 0, name="东二"), headers={**auth, "If-Match": '"1"'})
    assert r.status_code == 400 and r.json()["problems"][0]["rule"] == "validity"
    r = client.put(
        f"{URL}/{E2}", json=feature(X1, Y0, 107.12, Y1, name="东二", code=E1), headers={**auth, "If-Match": '"1"'}
    )
    assert r.status_code == 400 and r.json()["field"] == "code"
    r = client.put(
        f"{URL}/{E2}", json=feature(X1, Y0, 107.12, Y1, name="东二"), headers={**auth, "If-Match": '"1"'}
    )
    assert r.status_code == 200
    worker = db.execute(text("SELECT grid_worker, name FROM grids WHERE code = :c"), {"c": E2}).one()
    assert tuple(worker) == (None, "东二")


def test_validation_errors_name_problems(client, tree, auth):
    r = client.patch(
        f"{URL}/{W1}",
        json={"geometry": feature(X0, Y1 - 0.002, X1 + 0.002, Y2)["geometry"]},
        headers={**auth, "If-Match": '"1"'},
    )
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == "invalid_geometry" and "problem" in body["detail"]
    rules = {(p["rule"], p.get("other_grid")) for p in body["problems"]}
    assert rules == {("outside_community", None), ("overlap", E1), ("overlap", W2), ("overlap", E2)}
    assert all("location" in p and "area_m2" in p for p in body["problems"])
    assert {c["community_code"] for c in body["coverage"]} == {"610302001001"}
    r = client.patch(f"{URL}/{W1}", json={"properties": {"colour": "red"}}, headers={**auth, "If-Match": '"1"'})
    assert r.status_code == 400 and r.json()["field"] == "properties"
    r = client.patch(f"{URL}/{W1}", json={"properties": {"households": -3}}, headers={**auth, "If-Match": '"1"'})
    assert r.status_code == 400 and r.json()["problems"][0]["field"] == "households"


def test_dry_run_writes_nothing(client, tree, auth, db):
    line = {"type": "LineString", "coordinates": [[X0 - 0.001, 34.362], [X1 + 0.001, 34.362]]}
    body = {"a": W1, "b": W2, "line": line, "versions": {W1: 1, W2: 1}}
    audited = db.execute(text("SELECT count(*) FROM audit_log")).scalar_one()  # other tests' committed rows stay
    r = client.post(f"{URL}/boundary", json=body, params={"dry_run": "true"}, headers=auth)
    assert r.status_code == 200 and r.json()["dry_run"] is True
    assert r.json()["grids"][1]["area_change_m2"] > 180_000
    assert db.execute(text("SELECT max(version) FROM grids")).scalar_one() == 1
    assert db.execute(text("SELECT count(*) FROM audit_log")).scalar_one() == audited
    r = client.post(f"{URL}/boundary", json=body, headers=auth)
    assert r.status_code == 200 and r.headers["x-grid-versions"] == f'{W1}="2", {W2}="2"'
    assert len(audit_rows(db, W1)) == 1


def test_boundary_and_merge_need_every_version(client, tree, auth):
    line = {"type": "LineString", "coordinates": [[X0 - 0.001, 34.362], [X1 + 0.001, 34.362]]}
    r = client.post(f"{URL}/boundary", json={"a": W1, "b": W2, "line": line, "versions": {W1: 1}}, headers=auth)
    assert r.status_code == 428 and W2 in r.json()["detail"]
    r = client.post(f"{URL}/merge", json={"codes": [W1, W2], "versions": {W1: 1, W2: 7}}, headers=auth)
    assert r.status_code == 412 and r.json()["grid_code"] == W2
    r = client.post(f"{URL}/merge", json={"codes": [W1, W2], "versions": {W1: 1, W2: 1}}, headers=auth)
    assert r.status_code == 200 and [g["status"] for g in r.json()["grids"]] == ["active", "retired"]


def test_split_revert_history_and_as_of(client, tree, auth):
    line = {"type": "LineString", "coordinates": [[107.104, Y1 - 0.001], [107.104, Y2 + 0.001]]}
    r = client.post(f"{URL}/{W1}/split", json={"line": line}, headers=auth)
    assert r.status_code == 428
    r = client.post(
        f"{URL}/{W1}/split",
        json={"line": line, "new_codes": ["610302001001005"]},
        headers={**auth, "If-Match": '"1"'},
    )
    assert r.status_code == 200 and [g["code"] for g in r.json()["grids"]] == [W1, "610302001001005"]
    r = client.patch(f"{URL}/{W2}", json={"properties": {"name": "改名"}}, headers={**auth, "If-Match": '"1"'})
    assert r.status_code == 200
    r = client.post(f"{URL}/{W2}/revert", json={"version": 1}, headers={**auth, "If-Match": '"2"'})
    assert r.status_code == 200 and r.headers["etag"] == '"3"'
    hist = client.get(f"{URL}/{W2}/history", headers=auth).json()
    assert [(f["properties"]["version"], f["properties"]["name"]) for f in hist["features"]] == [
        (1, "西二网格"),
        (2, "改名"),
        (3, "西二网格"),
    ]
    assert hist["features"][0]["properties"]["valid_to"] == hist["features"][1]["properties"]["valid_from"]
    old = client.get(f"{URL}/{W1}", params={"as_of": "2020-06-01"}, headers=auth)
    assert old.status_code == 200 and old.json()["properties"]["version"] == 1
    assert shapely.geometry.shape(old.json()["geometry"]).bounds == pytest.approx((X0, Y1, X1, Y2))
    assert client.get(f"{URL}/{W1}", params={"as_of": "yesterday"}, headers=auth).status_code == 400
    assert client.get(f"{URL}/{W1}", params={"as_of": "2000-01-01"}, headers=auth).status_code == 404


def test_create_and_retire(client, tree, auth, db):
    db.execute(
        text(
            "INSERT INTO admin_units (code, name, level, parent_code, geom) VALUES ('610302001003', '新社区', "
            "'community', '610302001', ST_Multi(ST_MakeEnvelope(107.12, 34.35, 107.13, 34.37, 4326)))"
        )
    )
    db.commit()
    body = feature(107.12, 34.35, 107.13, 34.37, code="610302001003001", name="新网格", households=10)
    r = client.post(URL, json=body, headers=auth)
    assert (
        r.status_code == 201 and r.headers["location"] == f"{URL}/610302001003001" and r.headers["etag"] == '"1"'
    )
    assert r.json()["coverage"][0]["share"] == pytest.approx(1)
    r = client.delete(f"{URL}/{E2}", headers={**auth, "If-Match": '"1"'})
    assert r.status_code == 400 and r.json()["problems"][0]["rule"] == "gap"
    r = client.delete(f"{URL}/{E2}", params={"absorbed_by": E1}, headers={**auth, "If-Match": '"1"'})
    assert r.status_code == 428
    r = client.delete(
        f"{URL}/{E2}", params={"absorbed_by": E1, "absorbed_by_version": 1}, headers={**auth, "If-Match": '"1"'}
    )
    assert r.status_code == 200 and r.headers["etag"] == '"2"'
    assert client.get(f"{URL}/{E2}", headers=auth).json()["properties"]["status"] == "retired"
    listed = client.get(URL, params={"admin_code": "610302001002"}, headers=auth).json()
    assert [f["id"] for f in listed["features"]] == [E1]


def test_roles(client, tree, db):
    viewer, police = bearer(db, "viewer-li", "viewer"), bearer(db, "police-wang", "police")
    body = feature(X0, Y1, X1, Y2, name="x")
    assert client.put(f"{URL}/{W1}", json=body, headers={"If-Match": '"1"'}).status_code == 401
    for who in (viewer, police):
        assert client.put(f"{URL}/{W1}", json=body, headers={**who, "If-Match": '"1"'}).status_code == 403
        assert client.get(f"{URL}/{W1}", headers=who).status_code == 200
        assert client.get(f"{URL}/{W1}/history", headers=who).status_code == 200
    assert db.execute(text("SELECT version FROM grids WHERE code = :c"), {"c": W1}).scalar_one() == 1
