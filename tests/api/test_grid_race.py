"""Two editors racing on one grid, with real concurrent requests to a real server on committed data.

A uvicorn server runs the app on 127.0.0.1 against the test database (no rolled-back session here: each
request commits, as in production). The fixture commits its own small tree and removes it afterwards.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import shapely
import uvicorn
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from geo.editing import edits
from geo.errors import VersionConflict
from tests.committed_tree import SPARE_COMMUNITY, commit_tree, remove_tree
from tests.conftest import ADMIN_TOKEN
from tests.fixtures import X0, X1

NEW_GRID = SPARE_COMMUNITY + "001"  # half of the spare community: room for two different shapes
W1, W2 = "610302001001001", "610302001001002"
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture(scope="module")
def committed(engine, owner_engine):
    """The tiny tree plus a grid over half the spare community, committed for real."""
    commit_tree(owner_engine)
    with Session(engine) as session, session.begin():
        edits.create_grid(session, NEW_GRID, _south(0.004), {"name": "竞争网格"}, editor="fixture")
    yield engine
    remove_tree(owner_engine)


@pytest.fixture(scope="module")
def server(settings, committed):
    """A real uvicorn server on a free loopback port, in a thread."""
    from api.app import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(settings)
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)
    app.state.engine.dispose()


def _south(height: float) -> dict:
    """A shape for the race grid: the south strip of its community, height degrees tall."""
    return shapely.geometry.mapping(shapely.box(107.12, 34.35, 107.13, 34.35 + height))


def _race(base: str, requests: list[tuple[str, str, dict, dict]]) -> list[httpx.Response]:
    """Fire the requests at once from separate threads (each its own connection)."""
    barrier = threading.Barrier(len(requests))

    def fire(req):
        method, path, body, headers = req
        with httpx.Client(base_url=base, timeout=30) as c:
            barrier.wait()
            return c.request(method, path, json=body, headers={**AUTH, **headers})

    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(fire, requests))


def test_two_editors_racing_on_one_grid(server, committed):
    for round_ in range(3):
        with httpx.Client(base_url=server, headers=AUTH) as c:
            version = int(c.get(f"/api/v1/grids/{NEW_GRID}").headers["etag"].strip('"'))
        shapes = {"A": _south(0.005 + 0.002 * round_), "B": _south(0.006 + 0.002 * round_)}
        reqs = [
            (
                "PUT",
                f"/api/v1/grids/{NEW_GRID}",
                {"type": "Feature", "geometry": shapes[who], "properties": {"name": f"editor {who}"}},
                {"If-Match": f'"{version}"'},
            )
            for who in ("A", "B")
        ]
        a, b = _race(server, reqs)
        assert sorted([a.status_code, b.status_code]) == [200, 412], (a.text, b.text)
        winner, loser = ("A", b) if a.status_code == 200 else ("B", a)
        assert loser.json()["current_version"] == version + 1 and loser.headers["etag"] == f'"{version + 1}"'
        with committed.connect() as conn:
            name, equal = conn.execute(
                text("SELECT name, ST_Equals(geom, ST_Multi(ST_GeomFromGeoJSON(:g))) FROM grids WHERE code = :c"),
                {"c": NEW_GRID, "g": json.dumps(shapes[winner])},
            ).one()
        assert name == f"editor {winner}" and equal
    with httpx.Client(base_url=server, headers=AUTH) as c:
        hist = c.get(f"/api/v1/grids/{NEW_GRID}/history").json()["features"]
    props = [f["properties"] for f in hist]
    assert [p["version"] for p in props] == [1, 2, 3, 4]  # the create and one winner per round: nothing lost
    assert all(p["valid_to"] == q["valid_from"] for p, q in zip(props, props[1:], strict=False))
    assert props[-1]["valid_to"] is None and all(p["valid_to"] for p in props[:-1])


def test_crossed_boundary_moves_neither_deadlock_nor_both_win(server, committed):
    with httpx.Client(base_url=server, headers=AUTH) as c:
        v1 = int(c.get(f"/api/v1/grids/{W1}").headers["etag"].strip('"'))
        v2 = int(c.get(f"/api/v1/grids/{W2}").headers["etag"].strip('"'))
    line = {"type": "LineString", "coordinates": [[X0 - 0.001, 34.362], [X1 + 0.001, 34.362]]}
    reqs = [
        ("POST", "/api/v1/grids/boundary", {"a": a, "b": b, "line": line, "versions": {W1: v1, W2: v2}}, {})
        for a, b in ((W1, W2), (W2, W1))
    ]
    first, second = _race(server, reqs)
    assert sorted([first.status_code, second.status_code]) == [200, 412], (first.text, second.text)


def test_a_waiting_editor_sees_the_winners_version(committed):
    """Deterministic: B blocks on A's row lock, then finds A's version and gets a conflict."""
    factory = sessionmaker(committed)
    with factory() as a_session:
        version = a_session.execute(
            text("SELECT version FROM grids WHERE code = :c"), {"c": NEW_GRID}
        ).scalar_one()
        edits.update_grid(a_session, NEW_GRID, attrs={"grid_worker": "A"}, expected_version=version, editor="A")
        outcome: dict[str, object] = {}

        def editor_b():
            with factory() as b_session:
                started = time.monotonic()
                try:
                    edits.update_grid(
                        b_session, NEW_GRID, attrs={"grid_worker": "B"}, expected_version=version, editor="B"
                    )
                    b_session.commit()
                    outcome["result"] = "won"
                except VersionConflict as exc:
                    outcome["result"] = exc.context["current_version"]
                outcome["waited"] = time.monotonic() - started

        thread = threading.Thread(target=editor_b)
        thread.start()
        time.sleep(0.5)
        assert thread.is_alive(), "B should be waiting for A's lock"
        a_session.commit()
        thread.join(20)
    assert outcome["result"] == version + 1 and outcome["waited"] >= 0.4
    with committed.connect() as conn:
        assert (
            conn.execute(text("SELECT grid_worker FROM grids WHERE code = :c"), {"c": NEW_GRID}).scalar_one()
            == "A"
        )
