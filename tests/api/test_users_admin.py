"""User administration (API and CLI): create, show, change, deactivate, rotate; audited; inside the admin's area."""

from __future__ import annotations

import hashlib
import time

import pytest
from sqlalchemy import text

from api.principal_cache import PrincipalCache
from geo.auth import create_user, write_user
from tests.fixtures import load_tiny_tree

TOWN, WEST, EAST, GRID = "610302001", "610302001001", "610302001002", "610302001002001"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def tree(db):
    load_tiny_tree(db)
    # A second county with nothing in it: "outside" for a 610302 admin.
    db.execute(
        text(
            "INSERT INTO admin_units (code, name, name_en, level, parent_code, urban, geom) VALUES "
            "('610303', '金台区', 'Jintai', 'county', '610300', true, "
            "ST_GeomFromEWKT('SRID=4326;MULTIPOLYGON(((107.2 34.4,107.3 34.4,107.3 34.5,107.2 34.5,107.2 34.4)))'))"
        )
    )
    db.flush()


def audit_rows(db, username: str) -> list[tuple]:
    return db.execute(
        text(
            "SELECT actor, action, after FROM audit_log WHERE entity_type = 'user' AND entity_id = :u ORDER BY id"
        ),
        {"u": username},
    ).all()


def test_create_returns_token_once_and_stores_only_its_hash(client, auth, db, tree):
    r = client.post("/api/v1/users", headers=auth, json={"username": "w1", "roles": ["grid_worker"], "area": GRID})
    assert r.status_code == 201, r.text
    body = r.json()
    token = body.pop("token")
    assert body["area"] == {"code": GRID, "level": "grid", "name": "东一网格"}
    stored = db.execute(text("SELECT token_sha256 FROM users WHERE username = 'w1'")).scalar_one()
    assert stored == hashlib.sha256(token.encode()).hexdigest()
    assert client.get("/api/v1/me", headers=bearer(token)).json()["roles"] == ["grid_worker"]
    assert "token" not in client.get("/api/v1/users/w1", headers=auth).json()
    [(actor, action, after)] = audit_rows(db, "w1")
    assert (actor, action) == ("bootstrap-admin", "create")
    assert token not in str(after) and stored not in str(after)


def test_change_deactivate_rotate_each_audited(client, auth, db, tree):
    client.post("/api/v1/users", headers=auth, json={"username": "op", "roles": ["viewer"], "area": TOWN})
    r = client.patch("/api/v1/users/op", headers=auth, json={"roles": ["centre_operator", "viewer"], "area": WEST})
    assert r.status_code == 200, r.text
    assert r.json()["roles"] == ["centre_operator", "viewer"] and r.json()["area"]["level"] == "community"
    r = client.post("/api/v1/users/op/token", headers=auth)
    new_token = r.json()["token"]
    assert client.get("/api/v1/me", headers=bearer(new_token)).status_code == 200
    assert client.patch("/api/v1/users/op", headers=auth, json={"active": False}).json()["active"] is False
    assert client.get("/api/v1/me", headers=bearer(new_token)).status_code == 401
    actions = [a for _, a, _ in audit_rows(db, "op")]
    assert actions == ["create", "update", "rotate_token", "deactivate"]


def test_bad_input_names_the_field(client, auth, tree):
    def post(**body):
        return client.post("/api/v1/users", headers=auth, json={"username": "x", "roles": ["viewer"], **body})

    for body, field in [
        ({"area": "610399999"}, "area"),
        ({"area": "abc"}, "area"),
        ({"area": TOWN, "roles": ["root"]}, "roles"),
        ({"area": TOWN, "roles": ["department_handler"]}, "department"),
        ({"area": TOWN, "username": "bootstrap-admin"}, "username"),
        ({"area": TOWN, "officer_id": 999999}, "officer_id"),
    ]:
        r = post(**body)
        assert r.status_code == 400 and r.json()["field"] == field, (body, r.text)
    assert post(area=TOWN).status_code == 201
    assert post(area=TOWN).status_code == 409


def test_county_admin_manages_only_inside_the_county(client, auth, db, tree):
    county_admin = bearer(create_user(db, "ca", "admin", area_code="610302"))
    create_user(db, "far", "viewer", area_code="610303")
    ok = client.post(
        "/api/v1/users", headers=county_admin, json={"username": "t", "roles": ["viewer"], "area": TOWN}
    )
    assert ok.status_code == 201
    out = client.post(
        "/api/v1/users", headers=county_admin, json={"username": "u", "roles": ["viewer"], "area": "610303"}
    )
    assert out.status_code == 403 and out.json()["field"] == "area"
    assert client.get("/api/v1/users/far", headers=county_admin).status_code == 404
    assert client.patch("/api/v1/users/far", headers=county_admin, json={"active": False}).status_code == 404
    assert client.post("/api/v1/users/far/token", headers=county_admin).status_code == 404
    assert client.patch("/api/v1/users/t", headers=county_admin, json={"area": "610303"}).status_code == 403
    names = {u["username"] for u in client.get("/api/v1/users", headers=county_admin).json()["users"]}
    assert names == {"ca", "t"}
    assert client.get("/api/v1/users/far", headers=auth).status_code == 200


def test_only_admins_manage_users(client, db, tree):
    operator = bearer(create_user(db, "op", "centre_operator", area_code="610300"))
    assert client.get("/api/v1/users", headers=operator).status_code == 403
    r = client.post("/api/v1/users", headers=operator, json={"username": "z", "roles": ["viewer"], "area": TOWN})
    assert r.status_code == 403


def test_deactivation_stops_cached_reads_within_the_ttl(app, client, db, tree):
    ttl = 1.0
    app.state.principal_cache = PrincipalCache(ttl_s=ttl)
    token = create_user(db, "reader", "viewer", area_code="610300")
    tile = "/tiles/grids/14/13261/6505.mvt"
    assert client.get(tile, headers=bearer(token)).status_code == 200
    # Deactivated behind the API's back (another process, the CLI): the cached principal lives on ≤ ttl.
    write_user(db, "cli", "reader", {"active": False})
    db.commit()
    started = time.monotonic()
    assert client.get(tile, headers=bearer(token)).status_code == 200
    assert client.post("/api/v1/incidents", headers=bearer(token), json={}).status_code == 401
    time.sleep(max(0.0, ttl - (time.monotonic() - started)) + 0.05)
    assert client.get(tile, headers=bearer(token)).status_code == 401
