"""The live feed: tickets, and committed case notices reaching an SSE client through a real uvicorn.

The notices are written the way the case cycle writes them (geo.live.announce_case inside the step's
transaction, committed by a separate connection), so what is tested is PostgreSQL's NOTIFY → the one
listener → the hub → the client's event stream.
"""

from __future__ import annotations

import json
import queue
import threading
import time

import httpx
import pytest
from sqlalchemy.orm import Session

from geo.errors import Unauthorized
from geo.live import announce_case, issue_ticket, read_ticket
from tests.conftest import ADMIN_TOKEN
from tests.live_server import serving, sse_events

pytestmark = pytest.mark.db
SECRET = "s3cret"


def test_a_ticket_names_its_user_and_area_and_expires():
    ticket = issue_ticket(SECRET, "alice", "610302001", now=1_000.0)
    assert read_ticket(SECRET, ticket, now=1_059.0) == ("alice", "610302001")
    with pytest.raises(Unauthorized, match="expired"):
        read_ticket(SECRET, ticket, now=1_061.0)
    with pytest.raises(Unauthorized, match="not valid"):
        read_ticket("another-secret", ticket, now=1_000.0)
    body, signature = ticket.split(".")
    forged = issue_ticket(SECRET, "alice", "610300", now=1_000.0).split(".")[0] + "." + signature
    with pytest.raises(Unauthorized, match="not valid"):
        read_ticket(SECRET, forged, now=1_000.0)


def test_the_feed_needs_a_ticket_not_a_token(client):
    assert client.get("/api/v1/live").status_code == 401
    assert client.get("/api/v1/live", params={"ticket": ADMIN_TOKEN}).status_code == 401
    assert client.post("/api/v1/live/ticket").status_code == 401
    answer = client.post("/api/v1/live/ticket", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert answer.status_code == 200
    assert answer.json()["expires_in"] == 60
    assert ADMIN_TOKEN not in answer.json()["ticket"]


def _reader(url: str, out: queue.Queue) -> None:
    with httpx.stream("GET", url, timeout=httpx.Timeout(10, read=30)) as response:
        out.put(("status", str(response.status_code)))
        for event in sse_events(response.iter_lines()):
            out.put(event)


def _next_case(events: queue.Queue, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        kind, data = events.get(timeout=max(0.01, deadline - time.monotonic()))
        if kind == "case":
            return json.loads(data)


def test_a_committed_step_reaches_the_screen_and_a_rolled_back_one_never(settings, engine):
    with serving(settings) as (base, app):
        ticket = httpx.post(f"{base}/api/v1/live/ticket", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        events: queue.Queue = queue.Queue()
        threading.Thread(target=_reader, args=(f"{base}/api/v1/live?ticket={ticket.json()['ticket']}", events),
                         daemon=True).start()  # fmt: skip
        assert events.get(timeout=10) == ("status", "200")
        assert events.get(timeout=10)[0] == "hello"

        with Session(engine) as session, session.begin():
            announce_case(session, 41, "filed", 2, "file", ["610302001001001"])
            session.rollback()
        with Session(engine) as session, session.begin():
            announce_case(session, 42, "dispatched", 3, "dispatch", ["610302001001001", "610302001001"])
        sent = time.monotonic()
        notice = _next_case(events, timeout=5)
        assert time.monotonic() - sent < 2.0
        assert (notice["case_id"], notice["state"], notice["version"]) == (42, "dispatched", 3)
        assert notice["units"] == ["610302001001001", "610302001001"]
        assert app.state.live_hub.connections == 1
