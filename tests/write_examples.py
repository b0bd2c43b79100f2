"""One valid example per write route, on the tiny tree, and the audit rows it must leave (issue #15).

Read by tests/api/test_write_audit.py. Each builder may first make what its request needs (a case to step, a
route to delete) through the API; only the example request itself is counted. `rows` names, from the response,
every audit row the request must add (in any order): exactly one unless `why` says why not.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import shapely
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.auth import create_user
from tests.fixtures import X0, X1, X2, Y0, Y1, Y2, box, load_tiny_tree
from tests.patrol_data import add_officer

W1, W2, E1, E2 = "610302001001001", "610302001001002", "610302001002001", "610302001002002"
NEW_COMMUNITY, NEW_GRID = "610302001003", "610302001003001"  # an empty community east of the tree
INSIDE_W1 = (107.105, 34.365)
ADMIN = "bootstrap-admin"
# Who sends what: (role, area) of each user; ADMIN is the bootstrap token, city-wide.
USERS = {"editor": ("gis_editor", "610300"), "police": ("police", "610300"), "gw": ("grid_worker", W1),
         "west": ("centre_operator", "610302001001")}  # fmt: skip
Rows = list[tuple[str, str, str | None]]  # (action, entity_type, entity_id)


@dataclass(frozen=True)
class Req:
    method: str
    url: str
    kw: dict[str, Any] = field(default_factory=dict)  # json / content / files / data / params / headers


@dataclass(frozen=True)
class Example:
    who: str  # a USERS key or ADMIN
    ok: Req
    rows: Callable[[httpx.Response], Rows]
    refused: Req | None = None  # a cheap 4xx on the same route: it must leave nothing
    why: str = ""  # required when the route writes other than one row naming its entity
    actor: str | None = None  # the audit actor when it is not the caller's username (an Open311 app)


@dataclass
class World:
    client: TestClient
    db: Session
    headers: dict[str, dict[str, str]]
    officer: int

    def send(self, who: str, req: Req) -> httpx.Response:
        kw = dict(req.kw)
        kw["headers"] = {**self.headers.get(who, {}), **kw.get("headers", {})}
        return self.client.request(req.method, req.url, **kw)

    def made(self, who: str, req: Req) -> Any:
        r = self.send(who, req)
        assert r.is_success, (req, r.status_code, r.text)
        return r.json()


def make_world(client: TestClient, db: Session, admin_headers: dict[str, str]) -> World:
    load_tiny_tree(db)
    db.execute(
        text(
            "INSERT INTO admin_units (code, name, level, parent_code, urban, geom) "
            "VALUES (:c, '新社区', 'community', '610302001', true, ST_GeomFromEWKT(:g))"
        ),
        {"c": NEW_COMMUNITY, "g": box(X2, Y0, X2 + 0.01, Y2)},
    )
    officer = add_officer(db, "A001", "610302001001", "甲警官")
    headers = {ADMIN: admin_headers}
    for name, (role, area) in USERS.items():
        token = create_user(db, name, role, officer if role == "police" else None, area_code=area)
        headers[name] = {"Authorization": f"Bearer {token}"}
    db.commit()  # to the test's savepoint: a refused request rolls back only its own work
    return World(client, db, headers, officer)


def feature(geom: Any, **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": shapely.geometry.mapping(geom), "properties": props}


def point(lon: float, lat: float, **props: Any) -> dict[str, Any]:
    return feature(
        shapely.Point(lon, lat), **{"category": "dispute", "occurred_at": "2024-05-01T08:30:00+08:00"} | props
    )


def geojson(doc: Any) -> dict[str, Any]:
    return {"content": json.dumps(doc).encode(), "headers": {"content-type": "application/geo+json"}}


def if_match(version: int, **kw: Any) -> dict[str, Any]:
    return {"headers": {"If-Match": f'"{version}"'}, **kw}


def grid_rows(action: str) -> Callable[[httpx.Response], Rows]:
    """A grid edit's rows: one per grid the response lists (geo.editing.engine._record)."""
    return lambda r: [(f"grid.{action}", "grid", g["code"]) for g in r.json()["grids"]]


def _rows(action: str, entity_type: str, entity_id: Any) -> Callable[[httpx.Response], Rows]:
    """One row; entity_id: a literal, or read from the response (by_id, route_id)."""
    return lambda r: [(action, entity_type, str(entity_id(r) if callable(entity_id) else entity_id))]


by_id: Callable[[httpx.Response], Any] = lambda r: r.json()["id"]  # noqa: E731
route_id: Callable[[httpx.Response], Any] = lambda r: r.json()["route"]["id"]  # noqa: E731
username: Callable[[httpx.Response], Any] = lambda r: r.json()["username"]  # noqa: E731


def case_report(w: World) -> int:
    return int(w.made("gw", Req("POST", "/api/v1/cases", {"json": point(*INSIDE_W1)}))["id"])


def incident(w: World) -> int:
    return int(w.made(ADMIN, Req("POST", "/api/v1/incidents", geojson(point(*INSIDE_W1))))["id"])


def patrol(w: World, **over: Any) -> dict[str, Any]:
    line = {"type": "LineString", "coordinates": [[107.102, 34.365], [107.108, 34.365]]}
    return {"name": "早巡", "officer_id": w.officer, "shift": "morning", "mode": "walk", "geometry": line, **over}


def patrol_made(w: World) -> int:
    return int(w.made("police", Req("POST", "/api/v1/patrols/routes", {"json": patrol(w)}))["route"]["id"])


def collection(*features: dict[str, Any]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


def layer(*features: dict[str, Any]) -> dict[str, Any]:
    return {"files": {"file": ("layer.geojson", json.dumps(collection(*features)).encode())}}


def png() -> bytes:
    Image.new("RGB", (40, 30), (200, 10, 10)).save(out := io.BytesIO(), "PNG")
    return out.getvalue()


SPLIT = {"type": "LineString", "coordinates": [[107.104, Y1 - 0.001], [107.104, Y2 + 0.001]]}
BOUNDARY = {"type": "LineString", "coordinates": [[X0 - 0.001, 34.362], [X1 + 0.001, 34.362]]}
NEW = feature(shapely.box(X2, Y0, X2 + 0.01, Y2), code=NEW_GRID, name="新网格", households=10)
W1_SAME = feature(shapely.box(X0, Y1, X1, Y2), name="西一网格", households=120)
SMALL = feature(shapely.box(X0 + 0.001, Y0 + 0.001, X0 + 0.002, Y0 + 0.002), name="幸福小区")
NOT_AN_AREA = feature(shapely.Point(107.1, 34.35), name="点")
OPEN311_APP = "随手拍"
G, ITEMS = "/api/v1/grids", "/ogc/collections/grids/items"
ABSORBED = if_match(1, params={"absorbed_by": E1, "absorbed_by_version": 1})
# Why a route writes other than one row naming one entity: each checked against the code it names.
PER_GRID = "one audit row per grid written (geo.editing.engine._record): "
REPORT = (
    "a report stores its incident, audited as any incident (the row the first-reporter check reads: "
    "geo.incidents.pipeline._previous), and its case (geo.cases.report): two entities, two rows"
)
BULK = "a bulk import is one row for all its incidents: counts and the rows it replaced (geo.incidents.pipeline)"
LIMITS = "the time limits are one table, audited whole as before/after rows (geo.cases.limits): no single id"


def ex(who: str, method: str, url: str, ok: dict, rows: Callable, bad: dict, why: str = "", actor=None) -> Example:
    """An example and its refusal: the same route, with `bad` (a 4xx) in place of `ok` (and `bad["url"]`)."""
    bad = dict(bad)
    return Example(who, Req(method, url, ok), rows, Req(method, bad.pop("url", url), bad), why, actor)


def _report(w: World) -> Example:
    def rows(r: httpx.Response) -> Rows:
        return [("create", "incident", str(r.json()["incident_id"])), ("create", "case", str(r.json()["id"]))]

    ok = {"json": point(*INSIDE_W1), "headers": {"Idempotency-Key": "k1"}}
    bad = {"json": {**point(*INSIDE_W1), "case": {"priority": "urgent!"}}}
    return ex("gw", "POST", "/api/v1/cases", ok, rows, bad, REPORT)


def _open311(w: World) -> Example:
    key = w.made(ADMIN, Req("POST", "/api/v1/open311/apps", {"json": {"name": OPEN311_APP}}))["api_key"]
    form = {"api_key": key, "service_code": "hazard", "lat": INSIDE_W1[1], "long": INSIDE_W1[0]}

    def rows(r: httpx.Response) -> Rows:
        case = r.json()[0]["service_request_id"]
        incident = w.db.execute(text("SELECT incident_id FROM cases WHERE id = :c"), {"c": int(case)}).scalar_one()
        return [("create", "incident", str(incident)), ("create", "case", case)]

    bad, actor = {"data": {**form, "service_code": "theft"}}, f"open311:{OPEN311_APP}"
    return ex("public", "POST", "/open311/v2/requests.json", {"data": form}, rows, bad, REPORT, actor)


def _app(w: World) -> Example:
    def rows(r: httpx.Response) -> Rows:  # the response names the app; its id is in the table
        found = w.db.execute(text("SELECT id FROM open311_apps WHERE name = :n"), {"n": r.json()["name"]})
        return [("open311_app.register", "open311_app", str(found.scalar_one()))]

    ok, bad = {"json": {"name": OPEN311_APP}}, {"json": {"name": " "}}
    return ex(ADMIN, "POST", "/api/v1/open311/apps", ok, rows, bad)


def _revert(w: World) -> Example:
    w.made("editor", Req("PATCH", f"{G}/{W2}", {"json": {"properties": {"name": "改名"}}, **if_match(1)}))
    ok, stale = {"json": {"version": 1}, **if_match(2)}, {"json": {"version": 1}, **if_match(1)}
    return ex("editor", "POST", f"{G}/{W2}/revert", ok, grid_rows("revert"), stale)


LIMIT_ROW = {"category": "hazard", "priority": "normal", "step": "handle", "working_days": 2}
# (method, route template) → the example, built on the test's world. Lines run long: one route, one entry.
# fmt: off
EXAMPLES: dict[tuple[str, str], Callable[[World], Example]] = {
    ("POST", "/api/v1/cases"): _report,
    ("POST", "/open311/v2/requests.json"): _open311,
    ("POST", "/api/v1/open311/apps"): _app,
    ("PUT", "/api/v1/cases/limits"): lambda w: ex(
        ADMIN, "PUT", "/api/v1/cases/limits", {"json": [LIMIT_ROW]}, lambda r: [("update", "case_time_limits", None)],
        {"json": [{**LIMIT_ROW, "step": "lunch"}]}, LIMITS),
    ("POST", "/api/v1/cases/{case_id}/steps"): lambda w: ex(
        "west", "POST", f"/api/v1/cases/{case_report(w)}/steps", {"json": {"step": "file"}, **if_match(1)},
        _rows("file", "case", by_id), {"json": {"step": "file"}, **if_match(7)}),
    ("POST", "/api/v1/cases/{case_id}/photos"): lambda w: ex(
        "gw", "POST", f"/api/v1/cases/{case_report(w)}/photos", {"content": png()},
        _rows("create", "case_photo", by_id), {"content": b"GIF89a not really"}),
    ("POST", "/api/v1/compounds"): lambda w: ex(
        ADMIN, "POST", "/api/v1/compounds", geojson(SMALL), _rows("create", "compound", by_id), geojson(NOT_AN_AREA)),
    ("PUT", "/api/v1/compounds/{compound_id}"): lambda w: ex(
        ADMIN, "PUT", f"/api/v1/compounds/{w.made(ADMIN, Req('POST', '/api/v1/compounds', geojson(SMALL)))['id']}",
        {"json": {**SMALL, "properties": {"name": "安康小区"}}}, _rows("update", "compound", by_id), {"json": NOT_AN_AREA}),
    ("POST", "/api/v1/incidents"): lambda w: ex(
        "police", "POST", "/api/v1/incidents", geojson(point(*INSIDE_W1)), _rows("create", "incident", by_id),
        geojson(point(*INSIDE_W1, category="theft"))),
    ("POST", "/api/v1/incidents/bulk"): lambda w: ex(
        ADMIN, "POST", "/api/v1/incidents/bulk", geojson(collection(point(*INSIDE_W1), point(*INSIDE_W1))),
        lambda r: [("bulk_import", "incident", None)],
        geojson(collection(point(*INSIDE_W1), point(*INSIDE_W1, category="theft"))), BULK),
    ("PATCH", "/api/v1/incidents/{incident_id}"): lambda w: ex(
        ADMIN, "PATCH", f"/api/v1/incidents/{incident(w)}", {"json": {"status": "mediated", "reason": "调解成功"}},
        _rows("update", "incident", by_id), {"json": {"status": "done"}}),
    ("POST", "/api/v1/patrols/routes"): lambda w: ex(
        "police", "POST", "/api/v1/patrols/routes", {"json": patrol(w)}, _rows("create", "patrol_route", route_id),
        {"json": patrol(w, shift="lunch")}),
    ("PUT", "/api/v1/patrols/routes/{route_id}"): lambda w: ex(
        "police", "PUT", f"/api/v1/patrols/routes/{patrol_made(w)}", {"json": {"shift": "evening"}, **if_match(1)},
        _rows("update", "patrol_route", route_id), {"json": {"shift": "night"}, **if_match(7)}),
    ("DELETE", "/api/v1/patrols/routes/{route_id}"): lambda w: (lambda rid: ex(
        "police", "DELETE", f"/api/v1/patrols/routes/{rid}", if_match(1), _rows("delete", "patrol_route", rid),
        if_match(7)))(patrol_made(w)),
    ("POST", "/api/v1/users"): lambda w: ex(
        ADMIN, "POST", "/api/v1/users", {"json": {"username": "w1", "roles": ["grid_worker"], "area": E1}},
        _rows("create", "user", username), {"json": {"username": "w1", "roles": ["root"], "area": E1}}),
    ("PATCH", "/api/v1/users/{username}"): lambda w: ex(
        ADMIN, "PATCH", "/api/v1/users/gw", {"json": {"display_name": "张网格"}}, _rows("update", "user", username),
        {"json": {"roles": ["root"]}}),
    ("POST", "/api/v1/users/{username}/token"): lambda w: ex(
        ADMIN, "POST", "/api/v1/users/gw/token", {}, _rows("rotate_token", "user", username),
        {"url": "/api/v1/users/nobody/token"}),
    ("POST", G): lambda w: ex(
        "editor", "POST", G, {"json": NEW}, grid_rows("create"), {"json": {**NEW, "properties": {"code": W1}}}),
    ("PUT", G + "/{code}"): lambda w: ex(
        "editor", "PUT", f"{G}/{W1}", {"json": W1_SAME, **if_match(1)}, grid_rows("replace"),
        {"json": W1_SAME, **if_match(7)}),
    ("PATCH", G + "/{code}"): lambda w: ex(
        "editor", "PATCH", f"{G}/{W1}", {"json": {"properties": {"name": "改名"}}, **if_match(1)}, grid_rows("update"),
        {"json": {"properties": {"households": -3}}, **if_match(1)}),
    ("DELETE", G + "/{code}"): lambda w: ex(
        "editor", "DELETE", f"{G}/{E2}", ABSORBED, grid_rows("retire"), if_match(1),
        PER_GRID + "the retired grid and the neighbour that takes its area"),
    ("POST", G + "/{code}/revert"): _revert,
    ("POST", G + "/{code}/split"): lambda w: ex(
        "editor", "POST", f"{G}/{W1}/split", {"json": {"line": SPLIT, "new_codes": [W1[:-1] + "5"]}, **if_match(1)},
        grid_rows("split"), {"json": {"line": SPLIT}}, PER_GRID + "the grid split and the new one"),
    ("POST", G + "/merge"): lambda w: ex(
        "editor", "POST", f"{G}/merge", {"json": {"codes": [W1, W2], "versions": {W1: 1, W2: 1}}}, grid_rows("merge"),
        {"json": {"codes": [W1, W2], "versions": {W1: 1, W2: 7}}}, PER_GRID + "the grid kept and the one retired"),
    ("POST", G + "/boundary"): lambda w: ex(
        "editor", "POST", f"{G}/boundary", {"json": {"a": W1, "b": W2, "line": BOUNDARY, "versions": {W1: 1, W2: 1}}},
        grid_rows("move_boundary"), {"json": {"a": W1, "b": W2, "line": BOUNDARY, "versions": {W1: 1}}},
        PER_GRID + "the grids on both sides"),
    ("POST", G + "/import"): lambda w: ex(
        "editor", "POST", f"{G}/import", layer(NEW), lambda r: [("grid.import", "grid", c) for c in r.json()["created"]],
        layer({**NEW, "properties": {"name": "无编码"}})),
    ("POST", "/ogc/collections/{collection_id}/items"): lambda w: ex(
        "editor", "POST", ITEMS, {"json": {**NEW, "id": NEW_GRID}}, _rows("grid.create", "grid", by_id),
        {"json": {**NEW, "id": W1, "properties": {"code": W1}}}),
    ("PUT", "/ogc/collections/{collection_id}/items/{feature_id}"): lambda w: ex(
        "editor", "PUT", f"{ITEMS}/{W1}", {"json": {**W1_SAME, "id": W1}, **if_match(1)}, _rows("grid.replace", "grid", by_id),
        {"json": {**W1_SAME, "id": W1}, **if_match(7)}),
    ("PATCH", "/ogc/collections/{collection_id}/items/{feature_id}"): lambda w: ex(
        "editor", "PATCH", f"{ITEMS}/{W1}", {"json": {"properties": {"households": 31}}, **if_match(1)},
        _rows("grid.update", "grid", by_id), {"json": {"properties": {"households": 31}}, **if_match(7)}),
    ("DELETE", "/ogc/collections/{collection_id}/items/{feature_id}"): lambda w: ex(
        "editor", "DELETE", f"{ITEMS}/{E2}", ABSORBED, lambda r: [("grid.retire", "grid", E1), ("grid.retire", "grid", E2)],
        if_match(1), PER_GRID + "the retired grid and the neighbour that takes its area"),
}
# fmt: on
