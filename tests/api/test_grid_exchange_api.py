"""Grid layers in and out (GeoJSON, GeoPackage, zipped Shapefile) and the department crosswalk, over HTTP."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pyogrio
import pytest
import shapely
from sqlalchemy import text

from geo.auth import create_user
from tests.fixtures import X0, X1, X2, Y0, Y1, Y2, load_tiny_tree

W1, W2, E1, E2 = "610302001001001", "610302001001002", "610302001002001", "610302001002002"
URL = "/api/v1/grids"


def layer(*features) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": list(features)}).encode()


def feat(geom, **props) -> dict:
    return {"type": "Feature", "geometry": shapely.geometry.mapping(geom), "properties": props}


@pytest.fixture
def tree(db):
    load_tiny_tree(db)
    db.commit()
    return db


def upload(client, auth, data: bytes, name: str = "grids.geojson", **params):
    return client.post(f"{URL}/import", files={"file": (name, data)}, params=params, headers=auth)


def test_export_every_format_at_every_level(client, tree, auth):
    r = client.get(f"{URL}/export", params={"format": "geojson", "admin_code": "610302"}, headers=auth)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    assert sorted(f["id"] for f in r.json()["features"]) == [W1, W2, E1, E2]
    r = client.get(f"{URL}/export", params={"format": "gpkg", "admin_code": "610302001001"}, headers=auth)
    gdf = pyogrio.read_dataframe(io.BytesIO(r.content))
    assert sorted(gdf["code"]) == [W1, W2] and set(gdf["community_name"]) == {"西社区"}
    r = client.get(f"{URL}/export", params={"format": "shp", "admin_code": E1}, headers=auth)
    assert r.headers["content-type"] == "application/zip" and "grids_" in r.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        assert {n.rsplit(".", 1)[1] for n in z.namelist()} >= {"shp", "shx", "dbf", "prj", "cpg"}
    gdf = pyogrio.read_dataframe(io.BytesIO(r.content))
    assert list(gdf["code"]) == [E1] and list(gdf["comm_name"]) == ["东社区"]
    assert client.get(f"{URL}/export", params={"admin_code": "610399"}, headers=auth).status_code == 404
    assert client.get(f"{URL}/export", params={"format": "kml"}, headers=auth).status_code == 422


@pytest.mark.parametrize("fmt", ["shp", "gpkg", "geojson"])
def test_reimporting_an_export_changes_nothing(client, tree, auth, fmt):
    data = client.get(f"{URL}/export", params={"format": fmt}, headers=auth).content
    r = upload(client, auth, data, f"grids.{fmt}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["format"] == fmt and body["features"] == 4 and sorted(body["unchanged"]) == [W1, W2, E1, E2]
    assert body["edit"] is None


def test_import_moves_a_boundary_and_creates_a_grid(client, tree, auth, db):
    db.execute(
        text(
            "INSERT INTO admin_units (code, name, level, parent_code, geom) VALUES ('610302001003', '新社区', "
            "'community', '610302001', ST_Multi(ST_MakeEnvelope(107.12, 34.35, 107.13, 34.37, 4326)))"
        )
    )
    db.commit()
    data = layer(
        feat(shapely.box(X0, 34.362, X1, Y2), code=W1, version=1),
        feat(shapely.box(X0, Y0, X1, 34.362), code=W2, version=1),
        feat(shapely.box(107.12, Y0, 107.13, Y2), code="610302001003001", name="新网格", households=12),
    )
    r = upload(client, auth, data, dry_run="true")
    assert r.status_code == 200 and r.json()["dry_run"] is True
    assert db.execute(text("SELECT count(*) FROM grids")).scalar_one() == 4
    r = upload(client, auth, data, reason="年度调整")
    body = r.json()
    assert r.status_code == 200 and body["created"] == ["610302001003001"] and body["updated"] == [W1, W2]
    assert {g["code"]: g["version_after"] for g in body["edit"]["grids"]}[W1] == 2
    assert db.execute(text("SELECT count(*) FROM audit_log WHERE action = 'grid.import'")).scalar_one() == 3


def test_import_is_all_or_nothing_with_a_report_per_feature(client, tree, auth, db):
    bowtie = shapely.Polygon([(X1, Y1), (X2, Y2), (X2, Y1), (X1, Y2)])
    data = layer(
        feat(shapely.box(X0, 34.362, X1, Y2), code=W1, version=1),  # fine on its own, but would open a gap
        feat(bowtie, code=E1, version=1),
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [107.1, 34.3]},
            "properties": {"code": E2, "version": 1},
        },
        feat(shapely.box(X0, Y0, X1, Y1), name="no code"),
        feat(shapely.box(X0, Y0, X1, Y1), code=W2, households="many"),
    )
    r = upload(client, auth, data)
    assert r.status_code == 400
    problems = r.json()["problems"]
    assert {(p.get("feature"), p["rule"]) for p in problems} == {
        (1, "validity"),
        (2, "polygon_type"),
        (3, "attribute"),
        (4, "attribute"),
    }
    assert db.execute(text("SELECT max(version) FROM grids")).scalar_one() == 1
    r = upload(client, auth, layer(feat(shapely.box(X0, 34.362, X1, Y2), code=W1, version=1)))
    assert r.status_code == 400
    assert [(p["rule"], p["community_code"]) for p in r.json()["problems"]] == [("gap", "610302001001")]
    r = upload(client, auth, b"\x00\x01garbage", "x.bin")
    assert r.status_code == 400 and r.json()["field"] == "file"


def test_import_converts_declared_gcj02(client, tree, auth):
    from geo.crs import wgs84_to_gcj02

    xs, ys = wgs84_to_gcj02([X0, X1, X1, X0], [Y1, Y1, Y2, Y2])
    gcj = shapely.Polygon(zip(xs, ys, strict=True))
    r = client.post(
        f"{URL}/import",
        files={"file": ("g.geojson", layer(feat(gcj, code=W1)))},
        data={"crs": "GCJ-02"},
        headers=auth,
    )
    assert r.status_code == 200 and r.json()["unchanged"] == [W1]  # back on the stored WGS84 square


@pytest.fixture
def departments(tree):
    # Civil affairs: one cell over the whole west column, one over the NE quarter of E1.
    tree.execute(
        text(
            "INSERT INTO department_grids (department, code, name, geom) VALUES "
            "('civil_affairs', 'MZ-01', '民政一', ST_Multi(ST_MakeEnvelope(:x0, :y0, :x1, :y2, 4326))), "
            "('civil_affairs', 'MZ-02', '民政二', ST_Multi(ST_MakeEnvelope(107.115, 34.365, :x2, :y2, 4326))), "
            "('housing', 'ZJ-01', NULL, ST_Multi(ST_MakeEnvelope(:x0, :y0, :x2, :y2, 4326)))"
        ),
        {"x0": X0, "x1": X1, "x2": X2, "y0": Y0, "y2": Y2},
    )
    tree.commit()


def test_crosswalk_from_the_table_in_json_and_csv(client, departments, auth):
    r = client.get("/api/v1/crosswalk/civil_affairs", headers=auth)
    assert r.status_code == 200
    body = r.json()
    assert body["department_grids"] == 2 and body["matched_department_grids"] == 2
    grids = {g["code"]: g for g in body["grids"]}
    (w1,) = grids[W1]["department_grids"]
    assert w1["code"] == "MZ-01" and w1["share_of_grid"] == pytest.approx(1, abs=1e-4)
    assert w1["share_of_department_grid"] == pytest.approx(0.5, abs=1e-3)
    (e1,) = grids[E1]["department_grids"]
    assert e1["code"] == "MZ-02" and e1["share_of_grid"] == pytest.approx(0.25, abs=1e-3)
    assert grids[E2]["department_grids"] == [] and grids[E2]["covered_share"] == 0
    r = client.get("/api/v1/crosswalk/civil_affairs", params={"format": "csv"}, headers=auth)
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text.lstrip("\ufeff"))))
    assert len(rows) == 4 and {r["department_grid_code"] for r in rows} == {"MZ-01", "MZ-02", ""}
    assert client.get("/api/v1/crosswalk/police_dogs", headers=auth).status_code == 404


def test_crosswalk_of_an_uploaded_layer(client, tree, auth, db):
    data = layer(
        feat(shapely.box(X0, Y0, X2, Y1), code="YJ-S", name="应急南"),
        feat(shapely.box(X0, Y1, X2, Y2), code="YJ-N"),
    )
    r = client.post(
        "/api/v1/crosswalk", data={"department": "emergency"}, files={"file": ("yj.geojson", data)}, headers=auth
    )
    assert r.status_code == 200, r.text
    grids = {g["code"]: g["department_grids"] for g in r.json()["grids"]}
    assert [d["code"] for d in grids[W2]] == ["YJ-S"] and [d["code"] for d in grids[E1]] == ["YJ-N"]
    assert grids[W2][0]["share_of_department_grid"] == pytest.approx(0.5, abs=1e-3)
    bad = layer(feat(shapely.box(X0, Y0, X2, Y1), code="YJ-S"), feat(shapely.box(X0, Y1, X2, Y2), name="no code"))
    r = client.post(
        "/api/v1/crosswalk", data={"department": "emergency"}, files={"file": ("x.geojson", bad)}, headers=auth
    )
    assert r.status_code == 400 and r.json()["problems"][0]["feature"] == 1
    assert db.execute(text("SELECT count(*) FROM department_grids")).scalar_one() == 0


def test_an_existing_grid_changes_only_from_the_version_the_layer_names(client, tree, auth, db):
    # W1 renamed by someone else (version 2) after this layer was prepared without versions.
    db.execute(text("UPDATE grids SET name = '他人改名', version = 2 WHERE code = :c"), {"c": W1})
    db.commit()
    stale = layer(feat(shapely.box(X0, Y1, X1, Y2), code=W1, name="旧名"))
    r = upload(client, auth, stale)
    assert r.status_code == 400, r.text
    [p] = r.json()["problems"]
    assert (p["rule"], p["grid_code"], p["current_version"]) == ("version", W1, 2)
    assert db.execute(text("SELECT name FROM grids WHERE code = :c"), {"c": W1}).scalar_one() == "他人改名"
    r = upload(client, auth, layer(feat(shapely.box(X0, Y1, X1, Y2), code=W1, name="旧名", version=1)))
    assert r.status_code == 412 and r.json()["current_version"] == 2  # a stale version named: as an If-Match
    editor = {"Authorization": "Bearer " + create_user(db, "gis-only", ["gis_editor"], area_code="610300")}
    db.commit()
    assert upload(client, editor, stale, force="true").status_code == 403  # force is an admin's
    r = upload(client, auth, stale, force="true", reason="年度普查")
    assert r.status_code == 200 and r.json()["updated"] == [W1], r.text
    reason = db.execute(
        text("SELECT reason FROM audit_log WHERE action = 'grid.import' AND entity_id = :c"), {"c": W1}
    ).scalar_one()
    assert reason == "[force] 年度普查"
