"""Cases through the HTTP API as each role at each level of the tiny tree (real PostGIS, real users)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from geo.auth import create_user
from tests.case_helpers import CITY, COUNTY, GRID_NE, GRID_NW, GRID_SW, TOWN, WEST, feature
from tests.fixtures import load_tiny_tree

USERS = {
    "gw": ("grid_worker", GRID_NW, None),
    "gw_sw": ("grid_worker", GRID_SW, None),
    "gw_ne": ("grid_worker", GRID_NE, None),
    "west": ("centre_operator", WEST, None),
    "town": ("centre_operator", TOWN, None),
    "county": ("centre_operator", COUNTY, None),
    "city": ("centre_operator", CITY, None),
    "justice": ("department_handler", COUNTY, "justice"),
    "viewer": ("viewer", CITY, None),
}


@pytest.fixture
def as_(db):
    """Headers per user name, each a real user with its role and area."""
    load_tiny_tree(db)
    return {
        name: {"Authorization": "Bearer " + create_user(db, f"u-{name}", role, area_code=area, department=dept)}
        for name, (role, area, dept) in USERS.items()
    }


def report(client, headers, grid=GRID_NW, key=None, **case):
    doc = {**feature(grid), "case": case} if case else feature(grid)
    extra = {"Idempotency-Key": key} if key else {}
    return client.post("/api/v1/cases", json=doc, headers={**headers, **extra})


def step(client, headers, case_id, name, **body):
    current = client.get(f"/api/v1/cases/{case_id}", headers=headers)
    assert current.status_code == 200, current.text
    r = client.post(
        f"/api/v1/cases/{case_id}/steps",
        json={"step": name, **body},
        headers={**headers, "If-Match": current.headers["ETag"]},
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_a_grid_report_through_its_whole_life(client, as_):
    first = report(client, as_["gw"], key="phone-42")
    assert first.status_code == 201, first.text
    case = first.json()
    assert (case["state"], case["unit"]["code"], case["channel"]) == ("reported", WEST, "grid_worker")
    assert first.headers["ETag"] == '"1"'
    again = report(client, as_["gw"], key="phone-42")
    assert again.status_code == 200 and again.json()["id"] == case["id"]
    cid = case["id"]
    assert client.get(f"/api/v1/cases/{cid}", headers=as_["west"]).json()["allowed_steps"] == [
        "file",
        "decline",
        "escalate",
    ]
    # The grid worker may not file: 409 naming what they may do (nothing).
    r = client.post(f"/api/v1/cases/{cid}/steps", json={"step": "file"}, headers={**as_["gw"], "If-Match": '"1"'})
    assert r.status_code == 409 and r.json()["allowed_steps"] == []
    # A stale version: 412 with the current state.
    step(client, as_["west"], cid, "file")
    r = client.post(
        f"/api/v1/cases/{cid}/steps",
        json={"step": "decline", "note": "x"},
        headers={**as_["west"], "If-Match": '"1"'},
    )
    assert r.status_code == 412 and r.json()["current"]["state"] == "filed" and r.headers["ETag"] == '"2"'
    # Missing If-Match: 428.
    assert client.post(f"/api/v1/cases/{cid}/steps", json={"step": "x"}, headers=as_["west"]).status_code == 428
    step(client, as_["west"], cid, "dispatch", to={"kind": "grid", "code": GRID_SW})
    step(client, as_["gw_sw"], cid, "accept")
    step(client, as_["gw_sw"], cid, "report_back", note="已处理", lon=107.105, lat=34.355)
    step(client, as_["west"], cid, "rework", note="再看看")
    step(client, as_["gw_sw"], cid, "accept")
    step(client, as_["gw_sw"], cid, "report_back")
    done = step(client, as_["west"], cid, "verify_close")
    assert (done["state"], done["closed_level"], done["rework_count"], done["allowed_steps"]) == (
        "closed",
        "grid",
        1,
        [],
    )
    assert done["timeline"][4]["location"] == {"type": "Point", "coordinates": [107.105, 34.355]}
    # Outside the caller's reach: 404, not 403.
    assert client.get(f"/api/v1/cases/{cid}", headers=as_["gw_ne"]).status_code == 404


@pytest.mark.parametrize(
    ("who", "case"),
    [
        ("gw", {}),
        ("gw", {"on_the_spot": True, "note": "当场劝解"}),
        ("west", {"priority": "key", "note": "值班员上报"}),
        ("county", {"assign_to": TOWN}),
    ],
)
def test_a_report_answers_with_the_case_as_it_reads_back(client, as_, who, case):
    """The report's answer is built from the rows its INSERT returned (geo/cases/report.py): it must be the very
    document GET /cases/{id} reads afterwards, ETag included."""
    made = report(client, as_[who], **case)
    assert made.status_code == 201, made.text
    read = client.get(f"/api/v1/cases/{made.json()['id']}", headers=as_[who])
    assert read.status_code == 200
    assert made.json() == read.json() and made.headers["ETag"] == read.headers["ETag"]
    assert [e["step"] for e in made.json()["timeline"]] == [
        "resolve_on_spot" if case.get("on_the_spot") else "report"
    ]


def test_escalation_to_the_city_and_down_to_a_county_department(client, as_):
    cid = report(client, as_["gw"]).json()["id"]
    step(client, as_["west"], cid, "escalate", note="社区调解不成")
    step(client, as_["town"], cid, "escalate")
    step(client, as_["county"], cid, "escalate")
    held = step(
        client, as_["city"], cid, "dispatch", to={"kind": "department", "code": COUNTY, "department": "justice"}
    )
    assert held["unit"] == {"kind": "department", "code": COUNTY, "department": "justice"}
    queue = client.get("/api/v1/cases", headers=as_["justice"]).json()["items"]
    assert [c["id"] for c in queue] == [cid]
    step(client, as_["justice"], cid, "accept")
    step(client, as_["justice"], cid, "report_back", note="司法所调解成功")
    closed = step(client, as_["city"], cid, "verify_close")
    assert (closed["state"], closed["closed_level"]) == ("closed", "county")
    assert [e["step"] for e in closed["timeline"]] == [
        "report", "escalate", "escalate", "escalate", "dispatch", "accept", "report_back", "verify_close"
    ]  # fmt: skip
    measures = client.get(
        "/api/v1/cases/measures",
        params={"admin_code": COUNTY, "start": "2000-01-01", "end": "2100-01-01"},
        headers=as_["county"],
    ).json()
    assert (measures["received"], measures["closed"], measures["closed_at_level"]["county"]) == (1, 1, 1)
    assert measures["dispute_funnel"] == {"received": 1, "filed": 1, "dispatched_or_handled": 1, "closed": 1}


def test_refusals_name_the_field(client, as_):
    r = report(client, as_["gw"], grid=GRID_NE)
    assert r.status_code == 422 and r.json()["grid_code"] == GRID_NW and GRID_NE in r.json()["detail"]
    assert report(client, as_["viewer"]).status_code == 403
    r = report(client, as_["gw"], priority="urgent")
    assert r.status_code == 400 and r.json()["field"] == "case.priority"
    cid = report(client, as_["gw"]).json()["id"]
    step(client, as_["west"], cid, "file")
    r = client.post(
        f"/api/v1/cases/{cid}/steps",
        json={"step": "dispatch", "to": {"kind": "grid", "code": GRID_NE}},
        headers={**as_["west"], "If-Match": '"2"'},
    )
    assert r.status_code == 400 and r.json()["field"] == "to.code"  # another community's grid
    r = client.post(
        f"/api/v1/cases/{cid}/steps",
        json={"step": "park", "note": "x"},
        headers={**as_["west"], "If-Match": '"2"'},
    )
    assert r.status_code == 400 and r.json()["field"] == "review_on"


def test_photos_are_checked_by_content(client, as_):
    cid = report(client, as_["gw"]).json()["id"]
    png = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 10, 10)).save(png, "PNG")
    r = client.post(f"/api/v1/cases/{cid}/photos", content=png.getvalue(), headers=as_["gw"])
    assert r.status_code == 201 and (r.json()["width"], r.json()["content_type"]) == (40, "image/png")
    got = client.get(f"/api/v1/cases/{cid}/photos/{r.json()['id']}", headers=as_["west"])
    assert got.content == png.getvalue() and got.headers["content-type"] == "image/png"
    fake = client.post(f"/api/v1/cases/{cid}/photos", content=b"GIF89a not really", headers=as_["gw"])
    assert fake.status_code == 400
    gif = io.BytesIO()
    Image.new("RGB", (4, 4)).save(gif, "GIF")
    assert client.post(f"/api/v1/cases/{cid}/photos", content=gif.getvalue(), headers=as_["gw"]).status_code == 400
    huge = b"\xff\xd8" + b"0" * (5 * 1024 * 1024)
    assert client.post(f"/api/v1/cases/{cid}/photos", content=huge, headers=as_["gw"]).status_code == 413


def test_limits_are_admin_edited(client, as_, auth):
    rows = client.get("/api/v1/cases/limits", headers=as_["west"]).json()
    assert {(r["priority"], r["step"], r["working_days"], r["max_working_days"]) for r in rows} >= {
        ("normal", "spot", 0, None),
        ("normal", "handle", 3, 3),
        ("key", "handle", 7, 15),
    }  # Feng county's rule: same day; 2–3 days; key problems 7, at most 15
    change = [{"category": "hazard", "priority": "normal", "step": "handle", "working_days": 2}]
    assert client.put("/api/v1/cases/limits", json=change, headers=as_["west"]).status_code == 403
    after = client.put("/api/v1/cases/limits", json=change, headers=auth).json()
    assert {"category": "hazard", "step": "handle", "working_days": 2} in [
        {k: r[k] for k in ("category", "step", "working_days")} for r in after
    ]
