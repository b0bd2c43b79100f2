"""Each input an outside probe turned into a 500 (issue #15, item 3) is now a 4xx that names the field.

Query and path values are covered for every operation by test_edge_values.py; these are the bodies.
"""

from __future__ import annotations

import io
import json
import sqlite3
import zipfile

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.fixtures import GRIDS, X0, Y1, Y2, load_tiny_tree

W1 = GRIDS[0][0]
POINT = {"type": "Point", "coordinates": [X0 + 0.002, Y1 + 0.002]}


@pytest.fixture
def probe(app, db):
    """A client that returns a 500 instead of raising it, over the tiny tree."""
    load_tiny_tree(db)
    return TestClient(app, raise_server_exceptions=False)


def _incident(**props) -> dict:
    return {"type": "Feature", "geometry": POINT, "properties": {"category": "dispute", **props}}


def _rejects(response, status: int | tuple[int, ...], field: str | None = None) -> dict:
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, response.text[:300]
    body = response.json()
    if field:
        assert field in json.dumps(body, ensure_ascii=False), body
    return body


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00", "9999-12-31T23:59:59", "1949-09-30T00:00:00+08:00"])
def test_incident_dates_outside_the_stated_range_are_refused_by_every_path(probe, auth, when):
    r = probe.post("/api/v1/incidents", json=_incident(occurred_at=when), headers=auth)
    _rejects(r, (400, 422), "occurred_at")
    rows = [_incident(occurred_at="2024-05-01T08:00:00", external_id=f"d{i}") for i in range(250)]
    rows[7]["properties"]["occurred_at"] = when
    for dry_run in ("true", "false"):
        r = probe.post(
            "/api/v1/incidents/bulk",
            params={"dry_run": dry_run},
            json={"type": "FeatureCollection", "features": rows},
            headers=auth,
        )
        body = _rejects(r, (400, 422), "occurred_at")
        assert body.get("index") == 7 or any(p.get("index") == 7 for p in body.get("problems", [])), body


@pytest.mark.parametrize(
    ("field", "value"),
    [("category", ["dispute"]), ("category", {"zh": "矛盾纠纷"}), ("status", ["open"]), ("external_id", {"a": 1}),
     ("occurred_at", ["2024-05-01T08:00:00"]), ("description", [1, 2]), ("subcategory", {})],
)  # fmt: skip
def test_a_json_list_or_object_as_a_property_is_a_400_on_every_path(probe, auth, db, field, value):
    """Found while moving the checks off pandas: a list or object as a word was unhashable and gave a 500."""
    props = {"occurred_at": "2024-05-01T08:00:00", "external_id": "json-value", field: value}
    before = db.execute(text("SELECT count(*) FROM incidents")).scalar_one()
    for url in ("/api/v1/incidents", "/api/v1/cases"):
        _rejects(probe.post(url, json=_incident(**props), headers=auth), 400, f"properties.{field}")
    rows = [_incident(occurred_at="2024-05-01T08:00:00", external_id=f"j{i}") for i in range(3)]
    rows[1]["properties"][field] = value
    bulk = {"type": "FeatureCollection", "features": rows}
    body = _rejects(probe.post("/api/v1/incidents/bulk", json=bulk, headers=auth), 400, f"properties.{field}")
    assert body["index"] == 1, body
    assert db.execute(text("SELECT count(*) FROM incidents")).scalar_one() == before  # nothing half-written


def test_nul_in_a_name_is_a_400(probe, auth):
    feature = probe.get(f"/api/v1/grids/{W1}", headers=auth).json()
    r = probe.patch(
        f"/api/v1/grids/{W1}", json={"properties": {"name": "西\x00一"}}, headers={**auth, "If-Match": '"1"'}
    )
    _rejects(r, (400, 422))
    assert (
        probe.get(f"/api/v1/grids/{W1}", headers=auth).json()["properties"]["name"]
        == (feature["properties"]["name"])
    )


def test_households_beyond_int4_are_a_client_error(probe, auth):
    r = probe.patch(
        f"/api/v1/grids/{W1}", json={"properties": {"households": 2**40}}, headers={**auth, "If-Match": '"1"'}
    )
    _rejects(r, (400, 422))
    feature = probe.get(f"/api/v1/grids/{W1}", headers=auth).json()
    r = probe.put(
        f"/api/v1/grids/{W1}",
        json={**feature, "properties": {**feature["properties"], "households": 2**40}},
        headers={**auth, "If-Match": '"1"'},
    )
    _rejects(r, 422, "households")


def test_a_5000_digit_integer_is_a_client_error(probe, auth):
    body = '{"type": "Feature", "geometry": {"type": "Point", "coordinates": [107.1, 34.36]}, "properties": '
    body += '{"category": "dispute", "occurred_at": "2024-05-01T08:00:00", "external_id": ' + "9" * 5000 + "}}"
    for url in ("/api/v1/incidents", "/api/v1/incidents/bulk"):
        r = probe.post(url, content=body, headers={**auth, "content-type": "application/json"})
        _rejects(r, (400, 422))


def test_a_csv_row_with_extra_fields_names_the_row(probe, auth):
    csv = "lon,lat,category,occurred_at\n107.102,34.362,dispute,2024-05-01T08:00:00,surplus,more\n"
    r = probe.post("/api/v1/incidents/bulk", content=csv.encode(), headers={**auth, "content-type": "text/csv"})
    _rejects(r, 400)


def _zip_of_nothing() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("readme.txt", "not a shapefile")
    return buf.getvalue()


def _plain_sqlite(tmp_path) -> bytes:
    path = tmp_path / "plain.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (a int)")
    return path.read_bytes()


@pytest.mark.parametrize("name,kind", [("layer.gpkg", "zip"), ("layer.zip", "sqlite"), ("layer.gpkg", "sqlite")])
def test_a_zip_or_plain_sqlite_sent_as_a_layer_is_a_400_without_paths(probe, auth, tmp_path, name, kind):
    data = _zip_of_nothing() if kind == "zip" else _plain_sqlite(tmp_path)
    for url, extra in (("/api/v1/grids/import", {}), ("/api/v1/crosswalk", {"department": "housing"})):
        r = probe.post(url, files={"file": (name, data)}, data=extra, headers=auth)
        body = _rejects(r, (400, 422))
        assert "/tmp" not in r.text and "vsi" not in r.text.lower(), body


def test_nan_in_a_split_line_is_a_400(probe, auth):
    for bad in ("NaN", "Infinity"):
        coordinates = f"[[107.104, {bad}], [107.104, {Y2 + 0.001}]]"
        line = '{"line": {"type": "LineString", "coordinates": ' + coordinates + "}}"
        r = probe.post(
            f"/api/v1/grids/{W1}/split",
            content=line,
            headers={**auth, "If-Match": '"1"', "content-type": "application/json"},
        )
        _rejects(r, (400, 422))


@pytest.mark.parametrize(
    "cql",
    [
        "'x' IS NULL",
        "name NOT LIKE '\\'",
        "S_INTERSECTS(geometry, " + "GEOMETRYCOLLECTION(" * 900 + "POINT(1 1)" + ")" * 900 + ")",
        "name = 'a\x00b'",
        "(" * 2000 + "name = 'a'" + ")" * 2000,
    ],
)
def test_cql2_oddities_are_400(probe, auth, cql):
    r = probe.get("/ogc/collections/grids/items", params={"filter": cql}, headers=auth)
    _rejects(r, 400, "filter")


def test_nesting_in_a_split_body_is_a_client_error(probe, auth):
    deep = '{"type": "GeometryCollection", "geometries": [' * 900 + "]}" * 900
    for line in (deep, '"' + "GEOMETRYCOLLECTION(" * 900 + "POINT(1 1)" + ")" * 900 + '"'):
        r = probe.post(
            f"/api/v1/grids/{W1}/split",
            content='{"line": ' + line + "}",
            headers={**auth, "If-Match": '"1"', "content-type": "application/json"},
        )
        _rejects(r, (400, 413, 422))


def test_as_of_at_year_one_and_9999(probe, auth):
    for when in ("0001-01-01", "9999-12-31T23:59:59"):
        r = probe.get(f"/api/v1/grids/{W1}", params={"as_of": when}, headers=auth)
        _rejects(r, 400, "as_of")


@pytest.mark.parametrize(
    ("field", "value"),
    [("note", {"a": 1}), ("note", 5), ("note", "x" * 4001), ("priority", ["key"]), ("on_the_spot", "yes"),
     ("assign_to", {"code": "610302"}), ("channel", 7)],
)  # fmt: skip
def test_a_case_member_of_the_wrong_type_is_a_400_naming_it(probe, auth, db, field, value):
    """A list as priority was an unhashable set lookup (500), an object as note reached PostgreSQL (500)."""
    before = db.execute(text("SELECT count(*) FROM incidents")).scalar_one()
    doc = {**_incident(occurred_at="2024-05-01T08:00:00"), "case": {field: value}}
    _rejects(probe.post("/api/v1/cases", json=doc, headers=auth), 400, f"case.{field}")
    assert db.execute(text("SELECT count(*) FROM incidents")).scalar_one() == before  # nothing half-written


def test_a_park_review_date_in_9999_is_a_400(probe, auth):
    """Its end of day, the parked case's deadline, does not exist (OverflowError, a 500)."""
    case = probe.post("/api/v1/cases", json=_incident(occurred_at="2024-05-01T08:00:00"), headers=auth).json()
    steps = f"/api/v1/cases/{case['id']}/steps"
    assert probe.post(steps, json={"step": "file"}, headers={**auth, "If-Match": '"1"'}).status_code == 200
    r = probe.post(
        steps,
        json={"step": "park", "note": "待拆迁", "review_on": "9999-12-31"},
        headers={**auth, "If-Match": '"2"'},
    )
    _rejects(r, 400, "review_on")
    assert probe.get(f"/api/v1/cases/{case['id']}", headers=auth).json()["state"] == "filed"


def test_assign_to_on_a_channel_that_does_not_use_it_is_refused_not_dropped(probe, auth, db):
    """The city admin reports by the police channel unless told otherwise; its assign_to was silently ignored."""
    doc = {**_incident(occurred_at="2024-05-01T08:00:00"), "case": {"assign_to": "610302"}}
    body = _rejects(probe.post("/api/v1/cases", json=doc, headers=auth), 400, "case.assign_to")
    assert "police" in body["detail"], body
    assert db.execute(text("SELECT count(*) FROM cases")).scalar_one() == 0
    doc["case"]["channel"] = "assigned"
    r = probe.post("/api/v1/cases", json=doc, headers=auth)
    assert r.status_code == 201, r.text
    assert (r.json()["unit"]["kind"], r.json()["unit"]["code"]) == ("centre", "610302")  # the county it named
