"""Incidents over HTTP: one and bulk (GeoJSON, CSV, GeoPackage), every bad input named, reads, status changes."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from geo.auth import create_user
from tests.db.test_assign import EN, WN, collection, point
from tests.fixtures import X1, Y1, Y2, load_tiny_tree

INSIDE = (X1 - 0.004, Y1 + 0.004)  # in the west-north grid
URL = "/api/v1/incidents"


def tree(db) -> None:
    """The tiny tree, committed to the test's savepoint so that a failed request's rollback keeps it."""
    load_tiny_tree(db)
    db.commit()


def count(db) -> int:
    return db.execute(text("SELECT count(*) FROM incidents")).scalar_one()


def post_json(client, auth, url, doc, **params):
    body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    headers = {**auth, "content-type": "application/geo+json"}
    return client.post(url, content=body, headers=headers, params=params)


def test_one_incident_is_assigned_and_returned(client, db, auth):
    tree(db)
    r = post_json(client, auth, URL, point(*INSIDE, external_id="110-1", subcategory="邻里纠纷"))
    assert r.status_code == 201, r.text
    assert r.headers["content-type"].startswith("application/geo+json")
    feature = r.json()
    props = feature["properties"]
    assert feature["geometry"] == {"type": "Point", "coordinates": list(INSIDE)}
    assert (props["grid_code"], props["community_code"], props["town_code"], props["county_code"]) == (
        WN,
        "610302001001",
        "610302001",
        "610302",
    )
    assert props["outside_jurisdiction"] is False and feature["warnings"] == []
    assert client.get(f"{URL}/{feature['id']}", headers=auth).json()["properties"]["external_id"] == "110-1"
    audit = db.execute(text("SELECT actor, action FROM audit_log WHERE entity_type = 'incident'")).all()
    assert audit == [("bootstrap-admin", "create")]


def test_edge_point_over_http_takes_the_lower_code(client, db, auth):
    tree(db)
    for _ in range(3):
        r = post_json(client, auth, URL, point(X1, (Y1 + Y2) / 2))
        assert r.json()["properties"]["grid_code"] == WN


def test_outside_point_is_stored_flagged_and_said(client, db, auth):
    tree(db)
    r = post_json(client, auth, URL, point(X1 + 0.03, Y1))
    assert r.status_code == 201
    body = r.json()
    assert body["properties"]["outside_jurisdiction"] is True and body["properties"]["grid_code"] is None
    assert [w["code"] for w in body["warnings"]] == ["outside_jurisdiction"]


def test_3d_point_is_accepted_with_a_warning(client, db, auth):
    tree(db)
    doc = point(*INSIDE)
    doc["geometry"]["coordinates"].append(612.5)
    r = post_json(client, auth, URL, doc)
    assert r.status_code == 201
    assert r.json()["geometry"]["coordinates"] == list(INSIDE)
    assert [w["code"] for w in r.json()["warnings"]] == ["z_dropped"]


def _with(**changes):
    doc = point(*INSIDE)
    for key, value in changes.items():
        if key == "geometry":
            doc["geometry"] = value
        else:
            doc["properties"][key] = value
    return doc


BAD = [
    ("invalid JSON", b'{"type": "Feature", "geometry": ', {}, "body", "invalid JSON"),
    (
        "line",
        _with(geometry={"type": "LineString", "coordinates": [[107.1, 34.3], [107.2, 34.4]]}),
        {},
        "geometry.type",
        "not a Point",
    ),
    (
        "swapped",
        _with(geometry={"type": "Point", "coordinates": [34.365, 107.105]}),
        {},
        "geometry.coordinates",
        "swapped",
    ),
    (
        "lon range",
        _with(geometry={"type": "Point", "coordinates": [190.0, 34.3]}),
        {},
        "geometry.coordinates",
        "out of range",
    ),
    (
        "far away",
        _with(geometry={"type": "Point", "coordinates": [116.39, 39.91]}),
        {},
        "geometry.coordinates",
        "far outside",
    ),
    (
        "NaN",
        b'{"type":"Feature","geometry":{"type":"Point","coordinates":[NaN,34.36]},"properties":{"category":"dispute","occurred_at":"2024-05-01T08:00:00"}}',
        {},
        "geometry.coordinates",
        "NaN",
    ),
    (
        "Infinity",
        b'{"type":"Feature","geometry":{"type":"Point","coordinates":[107.1,Infinity]},"properties":{"category":"dispute","occurred_at":"2024-05-01T08:00:00"}}',
        {},
        "geometry.coordinates",
        "Infinity",
    ),
    ("empty coords", _with(geometry={"type": "Point", "coordinates": []}), {}, "geometry.coordinates", "empty"),
    ("null geometry", _with(geometry=None), {}, "geometry", "missing geometry"),
    ("category", _with(category="theft"), {}, "properties.category", "allowed: preventable"),
    ("status", _with(status="done"), {}, "properties.status", "allowed: reported"),
    ("crs", point(*INSIDE), {"crs": "EPSG:3857"}, "crs", "EPSG:3857"),
    ("no time", _with(occurred_at=None), {}, "properties.occurred_at", "missing"),
    ("bad time", _with(occurred_at="yesterday"), {}, "properties.occurred_at", "ISO 8601"),
    ("future", _with(occurred_at="2999-01-01T00:00:00+08:00"), {}, "properties.occurred_at", "future"),
]


@pytest.mark.parametrize(("body", "params", "field", "reason"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_every_bad_input_is_named_and_writes_nothing(client, db, auth, body, params, field, reason):
    tree(db)
    before = count(db)
    r = post_json(client, auth, URL, body, **params)
    assert r.status_code == 400, r.text
    err = r.json()
    assert err["field"] == field and reason in err["reason"], err
    if field not in ("body", "crs"):
        assert err["index"] == 0
    # The same feature inside a collection: index names its position, nothing is written.
    if not isinstance(body, bytes):
        r = post_json(client, auth, f"{URL}/bulk", collection(point(*INSIDE), body), **params)
        assert r.status_code == 400, r.text
        err = r.json()
        assert err["field"] == field and reason in err["reason"]
        if field != "crs":
            assert err["index"] == 1 and err["errors"][0]["index"] == 1 and err["rejected"] == 1
    assert count(db) == before


def test_bulk_reports_every_error_and_partial_stores_the_valid(client, db, auth):
    tree(db)
    features = [
        point(*INSIDE),
        _with(category="x"),
        point(*INSIDE),
        _with(occurred_at="bad", category="y"),
        point(*INSIDE),
    ]
    r = post_json(client, auth, f"{URL}/bulk", collection(*features))
    assert r.status_code == 400
    err = r.json()
    assert [(e["index"], e["field"]) for e in err["errors"]] == [
        (1, "properties.category"),
        (3, "properties.category"),
        (3, "properties.occurred_at"),
    ]
    assert (err["errors_total"], err["rejected"], count(db)) == (3, 2, 0)
    r = post_json(client, auth, f"{URL}/bulk", collection(*features), partial="true")
    assert r.status_code == 200
    body = r.json()
    assert (body["inserted"], body["rejected"], body["errors_total"], count(db)) == (3, 2, 3, 3)


def test_error_list_is_capped_but_counted(client, db, auth):
    tree(db)
    r = post_json(client, auth, f"{URL}/bulk", collection(*[_with(category="x") for _ in range(1203)]))
    err = r.json()
    assert r.status_code == 400 and len(err["errors"]) == 1000 and err["errors_total"] == 1203


def test_size_limits_give_413(settings, db, auth):
    from api.app import create_app
    from api.deps import get_session

    tree(db)
    app = create_app(settings.model_copy(update={"max_body_bytes": 2000, "max_bulk_features": 3}))
    app.dependency_overrides[get_session] = lambda: db
    with TestClient(app) as client:
        r = post_json(client, auth, f"{URL}/bulk", collection(*[point(*INSIDE)] * 4))
        assert r.status_code == 413 and r.json()["limit"] == 3
        r = post_json(client, auth, f"{URL}/bulk", collection(*[point(*INSIDE)] * 20))
        assert r.status_code == 413 and r.json()["code"] == "too_large"
    assert count(db) == 0


def test_csv_body_and_multipart_uploads(client, db, auth, tmp_path):
    import geopandas as gpd
    from shapely import Point

    tree(db)
    csv = f"external_id,lon,lat,category,occurred_at,note\nc1,{INSIDE[0]},{INSIDE[1]},dispute,2024-05-01 08:00\nc2,{X1},{Y1},矛盾纠纷,2024-05-02T09:00:00Z\n"
    r = client.post(f"{URL}/bulk", content=csv.encode(), headers={**auth, "content-type": "text/csv"})
    assert r.status_code == 200, r.text
    assert (r.json()["inserted"], r.json()["warnings"][0]["fields"]) == (2, ["note"])
    times = (
        db.execute(
            text("SELECT to_char(occurred_at AT TIME ZONE 'UTC', 'HH24:MI') FROM incidents ORDER BY external_id")
        )
        .scalars()
        .all()
    )
    assert times == ["00:00", "09:00"]  # no offset = UTC+8
    files = {"file": ("more.csv", csv.replace("c1", "c3").replace("c2", "c4").encode(), "text/csv")}
    assert client.post(f"{URL}/bulk", files=files, headers=auth).json()["inserted"] == 2
    gj = json.dumps(collection(point(*INSIDE, external_id="g1"))).encode()
    r = client.post(f"{URL}/bulk", files={"file": ("x.geojson", gj, "application/geo+json")}, headers=auth)
    assert r.json()["inserted"] == 1
    frame = gpd.GeoDataFrame(
        {
            "external_id": ["p1", "p2"],
            "category": ["hazard", "dispute"],
            "occurred_at": ["2024-05-01T08:00:00+08:00"] * 2,
        },
        geometry=[Point(*INSIDE, 5.0), Point(X1 + 0.004, Y1 + 0.004, 7.0)],
        crs="EPSG:4326",
    )
    path = tmp_path / "incidents.gpkg"
    frame.to_file(path, driver="GPKG")
    r = client.post(
        f"{URL}/bulk",
        files={"file": ("incidents.gpkg", path.read_bytes(), "application/geopackage+sqlite3")},
        headers=auth,
    )
    assert r.status_code == 200, r.text
    assert r.json()["inserted"] == 2 and r.json()["warnings"][0]["code"] == "z_dropped"
    grids = (
        db.execute(text("SELECT grid_code FROM incidents WHERE external_id IN ('p1','p2') ORDER BY external_id"))
        .scalars()
        .all()
    )
    assert grids == [WN, EN]
    # Re-sending the same file updates, never duplicates.
    again = client.post(f"{URL}/bulk", files={"file": ("incidents.gpkg", path.read_bytes())}, headers=auth).json()
    assert (again["inserted"], again["updated"], count(db)) == (0, 2, 7)


def test_list_filters_and_status_changes(client, db, auth):
    tree(db)
    docs = [
        point(*INSIDE, category="dispute", occurred_at="2024-03-01T10:00:00+08:00", external_id="d1"),
        point(X1 + 0.004, Y1 + 0.004, category="hazard", occurred_at="2024-04-01T10:00:00+08:00"),
        point(X1 + 0.03, Y1, category="dispute", occurred_at="2024-05-01T10:00:00+08:00"),
    ]
    assert post_json(client, auth, f"{URL}/bulk", collection(*docs)).status_code == 200
    get = lambda **p: client.get(URL, params=p, headers=auth).json()  # noqa: E731
    assert get()["numberMatched"] == 3
    assert [f["properties"]["category"] for f in get(category="hazard")["features"]] == ["hazard"]
    assert get(admin_code="610302001001")["numberMatched"] == 1
    assert get(admin_code="610300")["numberMatched"] == 2 and get(outside="true")["numberMatched"] == 1
    assert get(occurred_from="2024-03-15T00:00:00", occurred_to="2024-04-15")["numberMatched"] == 1
    assert get(bbox=f"{X1},{Y1},{X1 + 0.01},{Y2}")["numberMatched"] == 1
    page = client.get(URL, params={"limit": 2}, headers=auth)
    assert page.json()["numberReturned"] == 2 and "offset=2" in page.headers["link"]
    assert client.get(URL, params={"category": "theft"}, headers=auth).status_code == 400
    dispute = get(category="dispute", outside="false")["features"][0]
    r = client.patch(f"{URL}/{dispute['id']}", json={"status": "mediated", "reason": "调解成功"}, headers=auth)
    assert r.status_code == 200 and r.json()["properties"]["mediated_at"] is not None
    r = client.patch(
        f"{URL}/{dispute['id']}", json={"status": "resolved", "resolved_at": "2024-03-02T09:00:00"}, headers=auth
    )
    props = r.json()["properties"]
    assert props["status"] == "resolved" and props["resolved_at"].startswith("2024-03-02T01:00:00")
    assert get(status="resolved")["numberMatched"] == 1
    audit = db.execute(text("SELECT reason, after FROM audit_log WHERE action = 'update' ORDER BY id")).all()
    assert audit[0][0] == "调解成功" and audit[0][1]["status"] == "mediated"
    assert (
        client.patch(f"{URL}/{dispute['id']}", json={"status": "done"}, headers=auth).json()["field"] == "status"
    )
    assert client.patch(f"{URL}/{dispute['id']}", json={"grid_code": "x"}, headers=auth).status_code == 422
    assert (
        client.patch(
            f"{URL}/{dispute['id']}", json={"resolved_at": "2024-01-01T00:00:00+08:00"}, headers=auth
        ).json()["reason"]
        == "earlier than occurred_at"
    )
    assert client.get(f"{URL}/999999", headers=auth).status_code == 404


def test_roles_reads_for_viewers_writes_for_police(client, db):
    tree(db)
    viewer = {"Authorization": "Bearer " + create_user(db, "v", "viewer")}
    police = {"Authorization": "Bearer " + create_user(db, "p", "police")}
    db.commit()
    assert client.get(URL, headers=viewer).status_code == 200
    assert post_json(client, viewer, URL, point(*INSIDE)).status_code == 403
    assert post_json(client, police, URL, point(*INSIDE)).status_code == 201
    assert post_json(client, {}, URL, point(*INSIDE)).status_code == 401


def test_dry_run_reports_what_an_import_would_do_and_writes_nothing(client, db, auth):
    tree(db)
    post_json(client, auth, URL, point(*INSIDE, external_id="known"))
    features = [point(*INSIDE, external_id="known"), point(X1 + 0.03, Y1, external_id="new")]
    features += [point(*INSIDE) for _ in range(250)]  # enough for the staged path
    r = post_json(client, auth, f"{URL}/bulk", collection(*features), dry_run="true")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["dry_run"], body["inserted"], body["updated"], body["outside_jurisdiction"]) == (True, 251, 1, 1)
    assert count(db) == 1


def test_an_external_id_is_resent_by_its_reporter_or_an_editor_only(client, db):
    tree(db)
    a = {"Authorization": "Bearer " + create_user(db, "police-a", "police")}
    b = {"Authorization": "Bearer " + create_user(db, "police-b", "police")}
    editor = {"Authorization": "Bearer " + create_user(db, "gis-e", "gis_editor")}
    db.commit()
    first = post_json(client, a, URL, point(*INSIDE, external_id="JQ-1", category="dispute"))
    assert first.status_code == 201
    incident = first.json()["id"]
    r = post_json(client, b, URL, point(*INSIDE, external_id="JQ-1", category="hazard"))
    assert r.status_code == 403 and r.json()["field"] == "external_id", r.text
    stored = db.execute(text("SELECT category FROM incidents WHERE id = :i"), {"i": incident}).scalar_one()
    assert stored == "dispute"  # nothing written
    assert post_json(client, a, URL, point(*INSIDE, external_id="JQ-1", category="hazard")).status_code == 200
    assert (
        post_json(client, editor, URL, point(*INSIDE, external_id="JQ-1", category="property")).status_code == 200
    )
    # Each update's audit row holds what it replaced, not null.
    rows = db.execute(
        text(
            "SELECT actor, before->>'category', after->>'category' FROM audit_log WHERE entity_type = 'incident' "
            "AND entity_id = :i AND action = 'update' ORDER BY id"
        ),  # fmt: skip
        {"i": str(incident)},
    ).all()
    assert [tuple(r) for r in rows] == [("police-a", "dispute", "hazard"), ("gis-e", "hazard", "property")]


@pytest.mark.parametrize("n", [3, 250])  # a small batch (probe path) and ≥ 200 rows (staging table)
def test_a_bulk_reimport_audits_what_it_replaced(client, db, auth, n):
    import numpy as np

    from geo.assignment import memory_rule

    tree(db)
    memory_rule.assign_points(db, np.array([INSIDE[0]]), np.array([INSIDE[1]]))  # warm: 250 rows are staged
    first = [point(*INSIDE, external_id=f"R-{i}", category="dispute") for i in range(n)]
    assert post_json(client, auth, URL + "/bulk", collection(*first)).status_code == 200
    ids = dict(db.execute(text("SELECT external_id, id FROM incidents WHERE external_id LIKE 'R-%'")).all())
    # Again, with the first two changed and one new row.
    again = [point(*INSIDE, external_id=f"R-{i}", category="hazard" if i < 2 else "dispute") for i in range(n)]
    again.append(point(*INSIDE, external_id="R-new", category="service"))
    r = post_json(client, auth, URL + "/bulk", collection(*again))
    assert r.status_code == 200 and (r.json()["inserted"], r.json()["updated"]) == (1, n), r.text
    before, after = db.execute(
        text("SELECT before, after FROM audit_log WHERE action = 'bulk_import' ORDER BY id DESC LIMIT 1")
    ).one()
    replaced = before["replaced"]
    assert replaced["id"] == sorted(ids.values()) and replaced["external_id"] == [f"R-{i}" for i in sorted(
        range(n), key=lambda i: ids[f"R-{i}"])]  # fmt: skip
    assert set(replaced["category"]) == {"dispute"}  # the values before, not the ones sent
    assert replaced["occurred_at"][0] == "2024-05-01T08:30:00" and len(replaced["lon"]) == n
    assert (after["inserted"], after["updated"]) == (1, n)
