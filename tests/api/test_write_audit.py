"""Every write route leaves exactly one audit row naming what it wrote, and a refused write leaves none (#15).

Routes are enumerated from the app, so a new write route without an example in tests/write_examples.py fails
here. Everything runs in the test's rolled-back transaction (the `client` fixture shares the `db` session):
audit rows are counted before and after, never deleted (the log is a hash chain, and the app role may not).
"""

from __future__ import annotations

import httpx
import pytest
import shapely
from fastapi.routing import APIRoute
from sqlalchemy import text

from tests.api.test_route_auth import WRITE_METHODS, all_api_routes
from tests.write_examples import ADMIN, EXAMPLES, Example, Req, World, feature, layer, make_world

# Routes that take a write method but store nothing, each with why; test_not_writes_store_nothing checks it.
NOT_WRITES = {
    ("POST", "/api/v1/live/ticket"): "signs a short-lived ticket for the caller's own live feed; stored nowhere",
    ("POST", "/api/v1/patrols/suggest"): "computes a suggested patrol; the client POSTs /routes to keep it",
    ("POST", "/api/v1/crosswalk"): "the crosswalk of an uploaded layer, computed and returned, not stored",
    ("DELETE", "/tiles/cache"): "empties this process's in-memory tile cache; no stored data changes",
}
# Tables whose content a refused request must leave as it was (the app's data; not PostGIS's own).
STATE_TABLES = text(
    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
    "AND tablename NOT IN ('spatial_ref_sys', 'alembic_version') ORDER BY tablename"
)


def write_routes(app) -> dict[tuple[str, str], APIRoute]:
    return {
        (method, path): route for path, route in all_api_routes(app) for method in route.methods & WRITE_METHODS
    }


def last_audit_id(db) -> int:
    return db.execute(text("SELECT coalesce(max(id), 0) FROM audit_log")).scalar_one()


def audit_since(db, after_id: int) -> list:
    return db.execute(
        text(
            "SELECT actor, action, entity_type, entity_id, before, after FROM audit_log WHERE id > :i ORDER BY id"
        ),
        {"i": after_id},
    ).all()


def state(db) -> dict[str, str]:
    """A digest of every app table's rows: equal before and after means nothing was written."""
    return {
        t: db.execute(
            text(f"SELECT md5(coalesce(string_agg(md5(x::text), '' ORDER BY md5(x::text)), '')) FROM \"{t}\" x")
        ).scalar_one()
        for t in db.execute(STATE_TABLES).scalars()
    }


def takes_dry_run(route: APIRoute) -> bool:
    return any(p.name == "dry_run" for p in route.dependant.query_params)


@pytest.fixture
def world(client, db, auth) -> World:
    return make_world(client, db, auth)


def test_every_write_route_has_an_example_or_a_reason(app):
    routes = set(write_routes(app))
    assert len(routes) > 25, "the route walk found too few write routes to mean anything"
    missing = sorted(routes - set(EXAMPLES) - set(NOT_WRITES))
    assert not missing, f"write routes without an audit example in tests/write_examples.py: {missing}"
    stale = sorted((set(EXAMPLES) | set(NOT_WRITES)) - routes)
    assert not stale, f"examples or exclusions for routes that no longer exist: {stale}"
    assert not set(EXAMPLES) & set(NOT_WRITES)


def refuse(world: World, example: Example) -> None:
    """The refused request: a 4xx, no audit row, no table changed."""
    assert example.refused is not None
    before, mark = state(world.db), last_audit_id(world.db)
    r = world.send(example.who, example.refused)
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    assert audit_since(world.db, mark) == []
    assert state(world.db) == before


def dry_run(world: World, example: Example) -> None:
    """The same request as a dry run: a 2xx that writes nothing."""
    ok = example.ok
    params = {**ok.kw.get("params", {}), "dry_run": "true"}
    before, mark = state(world.db), last_audit_id(world.db)
    r = world.send(example.who, Req(ok.method, ok.url, {**ok.kw, "params": params}))
    assert r.is_success, (r.status_code, r.text)
    assert audit_since(world.db, mark) == []
    assert state(world.db) == before


def check_rows(world: World, example: Example, method: str, r: httpx.Response, rows: list) -> None:
    expected = example.rows(r)
    assert (len(expected) == 1 and expected[0][2] is not None) or example.why, (
        "several rows, or a row naming no entity, must say why in the example"
    )
    actor = example.actor or ("bootstrap-admin" if example.who == ADMIN else example.who)
    assert sorted((a, t, i) for _, a, t, i, _, _ in rows) == sorted(expected), [tuple(x[:4]) for x in rows]
    for who, action, _, _, before, after in rows:
        assert who == actor, (who, actor)
        # A delete says what went (before); everything else what is there now (after).
        assert before if method == "DELETE" and not after else after, f"{action}: empty before/after"


@pytest.mark.parametrize("key", sorted(EXAMPLES), ids=lambda k: f"{k[0]} {k[1]}")
def test_a_write_leaves_exactly_its_audit_rows(app, world, key):
    example = EXAMPLES[key](world)
    route = write_routes(app)[key]
    if example.refused is not None:
        refuse(world, example)
    if takes_dry_run(route):
        dry_run(world, example)
    before, mark = state(world.db), last_audit_id(world.db)
    r = world.send(example.who, example.ok)
    assert r.is_success, (r.status_code, r.text)
    assert state(world.db) != before, "the example wrote nothing: the digest or the example is wrong"
    check_rows(world, example, key[0], r, audit_since(world.db, mark))


def test_an_idempotent_retry_of_a_report_writes_no_second_row(world):
    example = EXAMPLES[("POST", "/api/v1/cases")](world)
    first = world.send(example.who, example.ok)
    assert first.status_code == 201, first.text
    mark = last_audit_id(world.db)
    again = world.send(example.who, example.ok)  # same Idempotency-Key: the same case, nothing written
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert audit_since(world.db, mark) == []


@pytest.mark.parametrize("key", sorted(NOT_WRITES), ids=lambda k: f"{k[0]} {k[1]}")
def test_not_writes_store_nothing(world, key):
    method, path = key
    requests = {
        "/api/v1/live/ticket": {},
        "/api/v1/patrols/suggest": {
            "json": {"officer_id": world.officer, "start": [107.105, 34.365], "shift_minutes": 120, "mode": "walk"}
        },
        "/api/v1/crosswalk": {
            "data": {"department": "civil_affairs"},
            **layer(feature(shapely.box(107.10, 34.35, 107.12, 34.37), code="D1")),
        },
        "/tiles/cache": {},
    }
    who = "police" if path == "/api/v1/patrols/suggest" else "editor" if path == "/api/v1/crosswalk" else ADMIN
    before, mark = state(world.db), last_audit_id(world.db)
    r = world.client.request(method, path, headers=world.headers[who], **requests[path])
    assert r.is_success, (r.status_code, r.text)
    assert audit_since(world.db, mark) == [] and state(world.db) == before
