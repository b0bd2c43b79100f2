"""Every route declares its role: anonymous callers get 401, and a viewer gets 403 on every write."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute

from geo.auth import create_user
from tests.conftest import ADMIN_TOKEN

PUBLIC = {
    "/health",
    "/",
    "/workbench",
    "/api/v1/meta",
    "/openapi.json",
    "/docs",
    "/docs/oauth2-redirect",
    "/redoc",
}
# Public by design (Open311: reads for anyone, filing with an app's api_key) or opened by a signed ticket.
PUBLIC |= {"/api/v1/live"} | {
    f"/open311/v2/{p}" for p in ("services.json", "requests.json", "requests/{request_id}.json")
}
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
NOT_WRITES = {"/api/v1/live/ticket"}  # a POST that writes nothing: it signs a ticket for the caller's own feed


def all_api_routes(app) -> list[tuple[str, APIRoute]]:
    """(full path, route) for every APIRoute: FastAPI keeps included routers as nodes, so walk them."""
    out, stack = [], [("", r) for r in app.routes]
    while stack:
        prefix, route = stack.pop()
        if isinstance(route, APIRoute):
            out.append((prefix + route.path, route))
        elif hasattr(route, "original_router"):
            inner = prefix + route.include_context.prefix
            stack.extend((inner, r) for r in route.original_router.routes)
    return out


def _routes(app):
    routes = all_api_routes(app)
    assert len(routes) > 20, "the route walk found too few routes to mean anything"
    for path, route in routes:
        if path not in PUBLIC and not path.startswith("/static"):
            for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
                yield method, path, route


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
    missing = [f"{m} {p}" for m, p, r in _routes(app) if not _declared_roles(r)]
    assert not missing, f"routes without a role dependency: {missing}"


def test_no_write_route_admits_a_viewer(app):
    lax = [
        f"{m} {p}"
        for m, p, r in _routes(app)
        if m in WRITE_METHODS and p not in NOT_WRITES and any("viewer" in roles for roles in _declared_roles(r))
    ]
    assert not lax, f"write routes open to viewers: {lax}"


def test_anonymous_gets_401_everywhere(app, client):
    failures = []
    for method, path, _ in _routes(app):
        r = client.request(method, _concrete(path))
        if r.status_code != 401:
            failures.append(f"{method} {path}: {r.status_code}")
    assert not failures, failures


@pytest.fixture
def viewer_headers(db):
    token = create_user(db, "viewer-under-test", "viewer")
    return {"Authorization": f"Bearer {token}"}


def test_viewer_gets_403_on_every_write(app, client, viewer_headers):
    failures = []
    for method, path, _ in _routes(app):
        if method not in WRITE_METHODS or path in NOT_WRITES:
            continue
        r = client.request(method, _concrete(path), headers=viewer_headers)
        if r.status_code != 403:
            failures.append(f"{method} {path}: {r.status_code}")
    assert not failures, failures


def test_viewer_may_read(client, viewer_headers):
    assert client.get("/api/v1/grids", headers=viewer_headers).status_code == 200


@pytest.mark.parametrize(
    "value",
    [b"Bearer \xc3\xa9t\xc3\xa9", b"Bearer " + ADMIN_TOKEN.encode() + b"\xff", b"Bearer two words", b"Basic abc"],
    ids=["utf8-token", "admin-token-plus-latin1", "space", "basic"],
)
def test_a_malformed_authorization_header_is_a_401_not_a_500(client, value):
    """Every reader (database-checked, cached, and the tile fast path) answers 401 to a token it cannot read."""
    for path in ("/api/v1/grids", "/tiles/grids/10/830/410.mvt"):
        r = client.get(path, headers=[(b"Authorization", value)])
        assert r.status_code == 401, (path, r.status_code, r.text)
