"""/api/v1/me and the users table's checks (migration 0006): several roles, one area, a department."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from geo.auth import create_user
from geo.errors import InvalidInput
from tests.fixtures import load_tiny_tree


def test_bootstrap_admin_is_city_level(client, auth):
    r = client.get("/api/v1/me", headers=auth)
    assert r.status_code == 200
    body = r.json()
    assert body["username"] == "bootstrap-admin"
    assert body["roles"] == ["admin"]
    assert body["area"] == {"code": "610300", "level": "city", "name": "宝鸡市"}


def test_me_shows_roles_and_town_area(client, db):
    load_tiny_tree(db)
    token = create_user(db, "town-op", ["centre_operator", "viewer"], area_code="610302001")
    body = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert body["roles"] == ["centre_operator", "viewer"]
    assert body["area"] == {"code": "610302001", "level": "town", "name": "测试街道"}


def test_grid_worker_area_is_a_grid(client, db):
    load_tiny_tree(db)
    token = create_user(db, "gw", "grid_worker", area_code="610302001002001")
    body = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert body["area"] == {"code": "610302001002001", "level": "grid", "name": "东一网格"}


def test_me_needs_a_token(client):
    assert client.get("/api/v1/me").status_code == 401


@pytest.mark.parametrize(
    "column_values",
    [
        "ARRAY['superuser']::text[], '610300', NULL",  # unknown role
        "ARRAY[]::text[], '610300', NULL",  # no role
        "ARRAY['viewer']::text[], '610399999', NULL",  # no such area
        "ARRAY['department_handler']::text[], '610300', NULL",  # handler without department
        "ARRAY['viewer']::text[], '610300', 'finance'",  # not one of the 11 departments
    ],
)
def test_database_refuses_bad_users(owner_engine, column_values):
    with owner_engine.connect() as db, pytest.raises(DBAPIError):  # the owner: the app may not insert users
        db.execute(
            text(
                "INSERT INTO users (username, roles, area_code, department, token_sha256) "
                f"VALUES ('bad', {column_values}, repeat('a', 64))"
            )
        )


def test_create_user_names_the_bad_field(db):
    with pytest.raises(InvalidInput) as e:
        create_user(db, "h", "department_handler")
    assert e.value.context["field"] == "department"
    with pytest.raises(InvalidInput) as e:
        create_user(db, "x", ["viewer", "root"])
    assert e.value.context["field"] == "roles"
