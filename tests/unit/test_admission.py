"""Admission (api/admission.py): with every slot taken a request waits at most wait_s, holding no thread, then
gets a 503 JSON with Retry-After; a freed slot goes to the oldest waiter; /health is never held back."""

from __future__ import annotations

import asyncio
import json

import pytest

from api.admission import Admission, default_limit


def scope(path: str) -> dict:
    return {"type": "http", "method": "GET", "path": path, "headers": []}


async def call(app: Admission, path: str, gone: asyncio.Event | None = None) -> tuple[int, dict, dict]:
    """Like a server: the empty body first, then http.disconnect only once the client has gone."""
    sent: list[dict] = []
    messages = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> dict:
        if messages:
            return messages.pop()
        await (gone or asyncio.Event()).wait()
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    await app(scope(path), receive, send)
    if not sent:
        return 0, {}, {}  # nothing sent: dropped
    headers = {k.decode(): v.decode() for k, v in sent[0].get("headers", [])}
    body = json.loads(sent[1]["body"]) if sent[1].get("body") else {}
    return sent[0]["status"], headers, body


def test_a_full_house_waits_then_is_refused_and_a_freed_slot_goes_to_the_next():
    async def scenario() -> None:
        gate = asyncio.Event()

        async def inner(scope, receive, send):
            if scope["path"] == "/slow":
                await gate.wait()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b""})

        app = Admission(inner, max_in_flight=1, wait_s=0.2)
        slow = asyncio.create_task(call(app, "/slow"))  # takes the only slot
        await asyncio.sleep(0.01)
        loop = asyncio.get_running_loop()
        start = loop.time()
        status, headers, body = await call(app, "/api/v1/grids")
        assert status == 503 and headers["retry-after"] == "2" and body["code"] == "overloaded"
        assert 0.19 <= loop.time() - start < 1  # waited wait_s (0.2 s), no longer
        assert (await call(app, "/health"))[0] == 200  # exempt: answered while the slot is held
        waiter = asyncio.create_task(call(app, "/api/v1/grids"))
        await asyncio.sleep(0.05)
        gate.set()  # the slow request ends: its slot passes to the waiter
        assert (await slow)[0] == 200 and (await waiter)[0] == 200
        assert app.running == 0 and not app.waiters

    asyncio.run(scenario())


def test_a_get_whose_client_leaves_while_queued_never_runs():
    async def scenario() -> None:
        gate, ran = asyncio.Event(), []

        async def inner(scope, receive, send):
            ran.append(scope["path"])
            await gate.wait()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b""})

        app = Admission(inner, max_in_flight=1, wait_s=5)
        slow = asyncio.create_task(call(app, "/slow"))
        await asyncio.sleep(0.01)
        gone = asyncio.Event()
        queued = asyncio.create_task(call(app, "/abandoned", gone))
        await asyncio.sleep(0.05)
        loop = asyncio.get_running_loop()
        start = loop.time()
        gone.set()  # the client disconnects while waiting for a slot
        assert await queued == (0, {}, {})  # dropped: nothing sent
        assert loop.time() - start < 1  # at once, not after wait_s (5 s)
        gate.set()
        assert (await slow)[0] == 200
        assert ran == ["/slow"] and app.running == 0 and not app.waiters

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("cores", "pool", "expected"),
    [(2, 20, 6), (1, 20, 4), (8, 20, 20), (2, 3, 3), (16, 100, 48)],  # 3 per core, at least 4, within the pool
)
def test_default_limit_follows_the_cores(
    monkeypatch: pytest.MonkeyPatch, cores: int, pool: int, expected: int
) -> None:
    monkeypatch.setattr("os.sched_getaffinity", lambda _pid: set(range(cores)))
    assert default_limit(pool) == expected
