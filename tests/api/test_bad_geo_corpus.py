"""A corpus of bad geospatial input sent to every write endpoint: each gets a 4xx that names the problem,
and the database is unchanged afterwards (row counts and geometry checksums compared)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from tests.api.test_route_auth import all_api_routes
from tests.fixtures import X0, X1, Y0, Y1, load_tiny_tree

TABLES = ["admin_units", "grids", "grid_versions", "incidents", "compounds", "patrol_routes"]
INJECTIONS = [
    "'; DROP TABLE grids; --",
    "1 OR 1=1",
    'x" ) or ("1"="1',
    "name = 'a' OR 1=1",
    "s_intersects(geom, geom) --",
]


def _ring(pts):
    return [list(p) for p in pts]


INSIDE = (X0 + 0.002, Y0 + 0.002)
SQUARE = _ring(
    [
        (X0 + 0.001, Y0 + 0.001),
        (X0 + 0.004, Y0 + 0.001),
        (X0 + 0.004, Y0 + 0.004),
        (X0 + 0.001, Y0 + 0.004),
        (X0 + 0.001, Y0 + 0.001),
    ]
)

BAD_POLYGONS = {
    "bow-tie": {"type": "Polygon", "coordinates": [_ring([(X0, Y0), (X1, Y1), (X1, Y0), (X0, Y1), (X0, Y0)])]},
    "unclosed ring": {"type": "Polygon", "coordinates": [SQUARE[:-1]]},
    "too few points": {"type": "Polygon", "coordinates": [SQUARE[:2]]},
    "swapped axes": {"type": "Polygon", "coordinates": [[[y, x] for x, y in SQUARE]]},
    "out of range": {"type": "Polygon", "coordinates": [[[x + 200, y] for x, y in SQUARE]]},
    "empty": {"type": "Polygon", "coordinates": []},
    "geometry collection": {
        "type": "GeometryCollection",
        "geometries": [{"type": "Point", "coordinates": list(INSIDE)}],
    },
    "a point where a polygon belongs": {"type": "Point", "coordinates": list(INSIDE)},
    "no coordinates": {"type": "Polygon"},
    "strings for numbers": {"type": "Polygon", "coordinates": [[["a", "b"], ["c", "d"], ["e", "f"], ["a", "b"]]]},
}
BAD_POINTS = {
    "swapped axes": {"type": "Point", "coordinates": [INSIDE[1], INSIDE[0]]},
    "latitude beyond 90": {"type": "Point", "coordinates": [107.1, 134.3]},
    "out of range": {"type": "Point", "coordinates": [400.0, 34.3]},
    "empty": {"type": "Point", "coordinates": []},
    "polygon for a point": {"type": "Polygon", "coordinates": [SQUARE]},
    "geometry collection": {"type": "GeometryCollection", "geometries": []},
    "one number": {"type": "Point", "coordinates": [107.1]},
    "far outside the city": {"type": "Point", "coordinates": [116.4, 39.9]},
}


def fingerprint(db) -> dict:
    out = {}
    for table in TABLES:
        out[table] = tuple(
            db.execute(
                text(
                    f"SELECT count(*), md5(coalesce(string_agg(ST_AsEWKB(geom)::text, ',' ORDER BY ST_AsEWKB(geom)::text), '')) FROM {table}"
                )
            ).one()
        )
    out["officers"] = db.execute(text("SELECT count(*) FROM officers")).scalar_one()
    return out


@pytest.fixture
def tree(db):
    load_tiny_tree(db)
    db.execute(
        text(
            "INSERT INTO officers (id, badge, name, community_code) VALUES (9001, 'T9001', '测试民警', '610302001001')"
        )
    )
    db.flush()
    return db


def _paths(app) -> set[tuple[str, str]]:
    return {(m, path) for path, r in all_api_routes(app) for m in r.methods}


def _point_feature(geom, **props):
    return {
        "type": "Feature",
        "geometry": geom,
        "properties": {"category": "dispute", "occurred_at": "2020-05-01T10:00:00+08:00", **props},
    }


def _polygon_feature(geom, **props):
    return {"type": "Feature", "geometry": geom, "properties": {"name": "测试", **props}}


def _targets(app):
    """(name, method, path, body maker for a geometry, extra headers) for every write endpoint that exists."""
    paths = _paths(app)
    grid = "610302001001001"
    out = []
    if ("POST", "/api/v1/incidents") in paths:
        out.append(("incident", "POST", "/api/v1/incidents", BAD_POINTS, _point_feature, {}))
    if ("POST", "/api/v1/incidents/bulk") in paths:

        def bulk(geom):
            good = _point_feature({"type": "Point", "coordinates": list(INSIDE)}, external_id="good-1")
            return {"type": "FeatureCollection", "features": [good, _point_feature(geom, external_id="bad-1")]}

        out.append(("incident bulk", "POST", "/api/v1/incidents/bulk", BAD_POINTS, bulk, {}))
    if ("POST", "/api/v1/compounds") in paths:
        out.append(("compound", "POST", "/api/v1/compounds", BAD_POLYGONS, _polygon_feature, {}))
    if ("POST", "/api/v1/grids") in paths:
        out.append(
            (
                "grid create",
                "POST",
                "/api/v1/grids",
                BAD_POLYGONS,
                lambda g: _polygon_feature(g, code="610302001001009", community_code="610302001001"),
                {},
            )
        )
    if ("PUT", "/api/v1/grids/{code}") in paths:
        out.append(
            (
                "grid replace",
                "PUT",
                f"/api/v1/grids/{grid}",
                BAD_POLYGONS,
                lambda g: _polygon_feature(g, community_code="610302001001"),
                {"If-Match": '"1"'},
            )
        )
    if ("POST", "/api/v1/patrols/routes") in paths:
        lines = {k: v for k, v in BAD_POINTS.items()} | {
            "one point": {"type": "LineString", "coordinates": [list(INSIDE)]},
            "empty line": {"type": "LineString", "coordinates": []},
        }
        out.append(
            (
                "patrol route",
                "POST",
                "/api/v1/patrols/routes",
                lines,
                lambda g: {
                    "type": "Feature",
                    "geometry": g,
                    "properties": {"name": "巡", "officer_id": 9001, "shift": "day"},
                },
                {},
            )
        )
    return out


def test_every_bad_geometry_is_refused_with_a_reason_and_nothing_changes(app, client, tree, auth):
    targets = _targets(app)
    assert len(targets) >= 3, "the write endpoints should exist"
    before = fingerprint(tree)
    failures = []
    for name, method, path, corpus, make, headers in targets:
        for case, geom in corpus.items():
            r = client.request(method, path, json=make(geom), headers={**auth, **headers})
            body = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
            if not (400 <= r.status_code < 500) or not body.get("detail"):
                failures.append(f"{name} / {case}: {r.status_code} {r.text[:200]}")
    assert not failures, "\n".join(failures)
    assert fingerprint(tree) == before


def test_nan_infinity_deep_nesting_and_huge_bodies(app, client, tree, auth):
    before = fingerprint(tree)
    nan = '{"type":"Feature","geometry":{"type":"Point","coordinates":[NaN, 34.36]},"properties":{"category":"dispute","occurred_at":"2020-05-01"}}'
    inf = nan.replace("NaN", "Infinity")
    deep = '{"type":"Feature","geometry":{"type":"Point","coordinates":' + "[" * 50_000 + "]" * 50_000 + "}}"
    # ~10 MB: one garbage polygon with 400k vertices.
    ring = [[X0 + (i % 997) * 1e-5, Y0 + (i % 991) * 1e-5] for i in range(400_000)]
    ring.append(ring[0])
    huge = json.dumps(_polygon_feature({"type": "Polygon", "coordinates": [ring]}, community_code="610302001001"))
    assert len(huge) > 10_000_000
    cases = [
        ("POST", "/api/v1/incidents", nan, {}),
        ("POST", "/api/v1/incidents", inf, {}),
        ("POST", "/api/v1/incidents", deep, {}),
        ("PUT", "/api/v1/grids/610302001001001", huge, {"If-Match": '"1"'}),
        ("POST", "/api/v1/incidents", "{not json", {}),
    ]
    failures = []
    for method, path, raw, headers in cases:
        r = client.request(
            method, path, content=raw, headers={**auth, **headers, "Content-Type": "application/json"}
        )
        if not (400 <= r.status_code < 500) or "detail" not in r.json():
            failures.append(f"{path} {raw[:40]!r}…: {r.status_code} {r.text[:200]}")
    assert not failures, "\n".join(failures)
    assert fingerprint(tree) == before


def test_wrong_crs_and_duplicate_ids_are_refused(client, tree, auth):
    before = fingerprint(tree)
    feature = _point_feature({"type": "Point", "coordinates": list(INSIDE)}, external_id="dup")
    r = client.post("/api/v1/incidents", params={"crs": "EPSG:3857"}, json=feature, headers=auth)
    assert r.status_code in (400, 422) and "3857" in r.text
    fc = {"type": "FeatureCollection", "features": [feature, feature]}
    r = client.post("/api/v1/incidents/bulk", json=fc, headers={**auth, "Content-Type": "application/geo+json"})
    assert 400 <= r.status_code < 500 and "dup" in r.text
    assert fingerprint(tree) == before


def test_injection_strings_in_text_parameters_do_no_harm(app, client, tree, auth):
    before = fingerprint(tree)
    reads = ["/api/v1/grids", "/api/v1/incidents", "/api/v1/stats/counts", "/ogc/collections/grids/items"]
    paths = {p for _, p in _paths(app)}
    for s in INJECTIONS:
        for path in (p for p in reads if p in paths):
            for param in ("admin_code", "category", "bbox", "filter", "status"):
                r = client.get(path, params={param: s}, headers=auth)
                assert r.status_code < 500, f"{path}?{param}={s!r}: {r.status_code} {r.text[:200]}"
        r = client.post(
            "/api/v1/incidents",
            json=_point_feature({"type": "Point", "coordinates": list(INSIDE)}, category=s),
            headers=auth,
        )
        assert r.status_code == 400 and "category" in r.text
    assert fingerprint(tree) == before
    assert tree.execute(text("SELECT count(*) FROM grids")).scalar_one() == 4
