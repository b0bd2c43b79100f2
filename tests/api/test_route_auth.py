"""Every route declares its role: anonymous callers get 401, and a viewer gets 403 on every write."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute

from geo.auth import create_user

PUBLIC = {"/health", "/", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def _routes(app):
    for route in app.routes:
        if isinstance(route, APIRoute) and route.path not in PUBLIC and not route.path.startswith("/static"):
            for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
                yield method, route


def _declared_roles(route: APIRoute) -> set[tuple[str, ...]]:
    found = set()
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        roles = getattr(dep.call, "roles", None)
        if roles is not None:
            found.add(tuple(roles))
        stack.extend(dep.dependencies)
    return found


def _concrete(path: str) -> str:
    # Any value will do: authorisation is checked before the path parameter is looked up.
    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_route_declares_a_role(app):
    missing = [f"{m} {r.path}" for m, r in _routes(app) if not _declared_roles(r)]
    assert not missing, f"routes without a role dependency: {missing}"


def test_no_write_route_admits_a_viewer(app):
    lax = [
        f"{m} {r.path}"
        for m, r in _routes(app)
        if m in WRITE_METHODS and any("viewer" in roles for roles in _declared_roles(r))
    ]
    assert not lax, f"write routes open to viewers: {lax}"


def test_anonymous_gets_401_everywhere(app, client):
    failures = []
    for method, route in _routes(app):
        r = client.request(method, _concrete(route.path))
        if r.status_code != 401:
            failures.append(f"{method} {route.path}: {r.status_code}")
    assert not failures, failures


@pytest.fixture
def viewer_headers(db):
    token = create_user(db, "viewer-under-test", "viewer")
    return {"Authorization": f"Bearer {token}"}


def test_viewer_gets_403_on_every_write(app, client, viewer_headers):
    failures = []
    writes = [(m, r) for m, r in _routes(app) if m in WRITE_METHODS]
    for method, route in writes:
        r = client.request(method, _concrete(route.path), headers=viewer_headers)
        if r.status_code != 403:
            failures.append(f"{method} {route.path}: {r.status_code}")
    assert not failures, failures


def test_viewer_may_read(client, viewer_headers):
    assert client.get("/api/v1/grids", headers=viewer_headers).status_code == 200
