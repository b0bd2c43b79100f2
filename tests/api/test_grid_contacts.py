"""Who to call about a grid: community, grid worker and community police, phones masked for viewers only."""

from __future__ import annotations

from sqlalchemy import text

from geo.auth import create_user
from tests.fixtures import load_tiny_tree
from tests.patrol_data import WEST, add_officer, police_headers

W1 = "610302001001001"
URL = f"/api/v1/dashboard/contacts/{W1}"


def test_contacts_name_who_to_call_and_mask_phones_for_viewers(client, db, auth):
    load_tiny_tree(db)
    db.execute(
        text("UPDATE grids SET grid_worker = '王网格', grid_worker_phone = '13912345678' WHERE code = :c"),
        {"c": W1},
    )
    officer = add_officer(db, "P-7", WEST, "赵警官")
    db.execute(text("UPDATE officers SET phone = '13800001111' WHERE id = :id"), {"id": officer})
    viewer = {"Authorization": "Bearer " + create_user(db, "look", "viewer")}
    police = police_headers(db, officer, "zhao")
    db.commit()

    full = client.get(URL, headers=police).json()
    assert full["community"] == {"code": WEST, "name": "西社区"}
    assert full["grid_worker"] == {"name": "王网格", "phone": "13912345678"}
    assert full["police"] == [{"id": officer, "name": "赵警官", "badge": "P-7", "phone": "13800001111"}]
    assert full["phones_masked"] is False
    assert client.get(URL, headers=auth).json()["grid_worker"]["phone"] == "13912345678"  # admin

    masked = client.get(URL, headers=viewer).json()
    assert masked["grid_worker"] == {"name": "王网格", "phone": "139****5678"}
    assert masked["police"][0]["phone"] == "138****1111" and masked["phones_masked"] is True

    community = client.get(f"/api/v1/dashboard/contacts/{WEST}", headers=viewer).json()
    assert community["community"]["name"] == "西社区" and community["grids"] == 2
    assert community["police"][0]["name"] == "赵警官" and community["police"][0]["phone"] == "138****1111"
    assert client.get("/api/v1/dashboard/contacts/610302001001099", headers=auth).status_code == 404
    assert client.get("/api/v1/dashboard/contacts/610302001099", headers=auth).status_code == 404
    assert client.get("/api/v1/dashboard/contacts/6103020010010", headers=auth).status_code == 400
    assert client.get("/api/v1/dashboard/contacts/abc", headers=auth).status_code == 422
    assert client.get(URL).status_code == 401
