"""Edge values for every parameter of every operation in the OpenAPI, and odd headers: never a 5xx.

What an outside probe found (issue #15, item 3): NUL bytes, integers at and past 2^63, years 1 and 9999 and
non-ASCII bearer tokens each gave a 500 somewhere. Each value is sent alone, all other parameters valid.
"""

from __future__ import annotations

import pytest

from tests.edge_values import EDGE_VALUES
from tests.fixtures import GRIDS, load_tiny_tree

# Valid values for the path parameters that are not the one under test.
PATH_DEFAULTS = {
    "code": GRIDS[0][0],
    "collection_id": "grids",
    "feature_id": GRIDS[0][0],
    "layer": "grids",
    "z": "14",
    "x": "13263",
    "y": "6555",
    "fmt": "mvt",
    "department": "housing",
    "incident_id": "1",
    "compound_id": "1",
    "route_id": "1",
}
SKIP_PARAMS = {"authorization"}


def _operations(app):
    for path, ops in app.openapi()["paths"].items():
        for method, op in ops.items():
            params = [p for p in op.get("parameters", []) if p["name"] not in SKIP_PARAMS]
            yield method.upper(), path, params


def _url(path: str, override: dict[str, str]) -> str:
    for name, value in {**PATH_DEFAULTS, **override}.items():
        path = path.replace("{" + name + "}", value.replace("/", "%2F").replace("\x00", "%00"))
    return path


def test_no_parameter_value_gives_a_server_error(app, auth, db):
    from fastapi.testclient import TestClient

    client = TestClient(app, raise_server_exceptions=False)
    load_tiny_tree(db)
    failures = []
    ops = list(_operations(client.app))
    assert len(ops) > 50
    for method, path, params in ops:
        for param in params:
            for value in EDGE_VALUES:
                where = param["in"]
                url = _url(path, {param["name"]: value} if where == "path" else {})
                kwargs: dict = {"headers": dict(auth)}
                if where == "query":
                    kwargs["params"] = {param["name"]: value}
                elif where == "header":
                    if "\x00" in value:
                        continue  # not sendable: HTTP forbids NUL in a header
                    kwargs["headers"][param["name"]] = value.encode()
                elif where == "path" and value == "":
                    continue
                response = client.request(method, url, **kwargs)
                if response.status_code >= 500:
                    failures.append(
                        (method, path, param["name"], value, response.status_code, response.text[:120])
                    )
                    db.rollback()  # the test's shared session; a real request has its own
    assert failures == []


@pytest.mark.parametrize("token", ["é", "令牌", "\u00ff" * 40, "x\u202ey"])
def test_non_ascii_bearer_token_is_401(client, token):
    raw = ("Bearer " + token).encode()
    response = client.get("/api/v1/grids", headers=[(b"authorization", raw)])
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
