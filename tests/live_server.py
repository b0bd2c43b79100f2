"""A real uvicorn serving the app on a free 127.0.0.1 port in a thread, for tests that need real commits."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import uvicorn
from sqlalchemy import text

from api.app import create_app
from geo.settings import Settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(settings: Settings) -> Iterator[tuple[str, object]]:
    """(base URL, app) while a uvicorn thread serves create_app(settings); its live listener is up on entry."""
    port = free_port()
    app = create_app(settings)
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not (srv.started and app.state.live_hub.listening.is_set()):
        assert time.monotonic() < deadline, "uvicorn or its live listener did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        srv.should_exit = True
        thread.join(timeout=10)
        app.state.engine.dispose()


def sse_events(lines: Iterator[str]) -> Iterator[tuple[str, str]]:
    """(event, data) pairs from the lines of a text/event-stream (comments and pings skipped)."""
    event, data = "message", []
    for line in lines:
        if line == "":
            if data:
                yield event, "\n".join(data)
            event, data = "message", []
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip())


def demo_grid_point(session, county_code: str) -> tuple[str, float, float]:
    """(code, lon, lat) of the first active demo grid of a county and a point on its surface."""
    return session.execute(
        text(
            "SELECT code, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM grids"
            " WHERE status = 'active' AND code LIKE :county ORDER BY code LIMIT 1"
        ),
        {"county": county_code + "%"},
    ).one()


# What a test commits on the shared demo, removed after it by id (rows added since the mark). Order: children
# first. Audit rows stay: the log is a hash chain, append-only.
_ADDED_SINCE = [
    ("open311_requests", "case_id", "cases"),
    ("case_photos", "case_id", "cases"),
    ("case_events", "case_id", "cases"),
    ("cases", "id", "cases"),
    ("incidents", "id", "incidents"),
    ("open311_apps", "id", "open311_apps"),
    ("users", "id", "users"),
]


@contextlib.contextmanager
def demo_as_found(owner_engine) -> Iterator[None]:
    """Remove, as the owner, the cases, incidents, Open311 apps and users committed on the demo meanwhile, so
    the demo's own checks (counts, years, staff) that run later still see the demo as loaded."""
    marked = sorted({mark for _, _, mark in _ADDED_SINCE})
    with owner_engine.connect() as conn:
        last = {t: conn.execute(text(f"SELECT coalesce(max(id), 0) FROM {t}")).scalar_one() for t in marked}
    try:
        yield
    finally:
        with owner_engine.begin() as conn:
            for table, column, mark in _ADDED_SINCE:
                conn.execute(text(f"DELETE FROM {table} WHERE {column} > :last"), {"last": last[mark]})
