"""Admission: at most max_in_flight requests run at once; the others wait, holding no thread, then give up.

Under 200 concurrent readers every request took a worker thread (anyio's 40), waited for one of the pool's
connections and, at SQLAlchemy's 30 s pool timeout, failed with a plain-text 500; queued requests kept
running after their clients had left. Here a request waits for a slot on the event loop (a future, not a
thread) at most `pool_timeout_s` and then gets a 503 JSON with Retry-After, so the backlog a crowd leaves
behind is at most that many seconds deep; a GET whose client disconnects while it waits is dropped at once.
(A request already running whose client leaves has its statements cancelled: api/disconnect.py.) Fewer busy
threads also keep the GIL free for the event loop, which is what keeps /health fast. Exempt: /health (its own threads and connections), the live feed (long-lived
streams that hold no connection) and static files.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import deque
from typing import Any

from api.errors import error_body, shaped

EXEMPT = ("/health", "/api/v1/live", "/static/")


def default_limit(pool_connections: int) -> int:
    """Requests to run at once when not set: 3 per CPU core this process may use (at least 4), within the pool.

    Measured with bench/load.py --phase overload on 2 cores (200 readers, 20 s): 20 at once (the pool's
    connections, the former default) gave /health p99 186–197 ms and 135 req/s; 6 gave 39 ms, 4 gave 29–65 ms,
    both with as many or more answers per second. More requests in flight than cores only adds runnable
    PostgreSQL backends and threads that the event loop and /health must queue behind for a CPU.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(pool_connections, max(4, 3 * cores)))


class Admission:
    """ASGI middleware; max_in_flight slots, a FIFO of waiters, each waiting at most wait_s."""

    def __init__(self, app: Any, max_in_flight: int, wait_s: float) -> None:
        self.app, self.limit, self.wait_s = app, max_in_flight, wait_s
        self.running = 0
        self.waiters: deque[asyncio.Future[None]] = deque()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].startswith(EXEMPT) or scope["path"] == "/":
            await self.app(scope, receive, send)
            return
        if self.running < self.limit and not self.waiters:
            self.running += 1
        else:
            outcome, receive = await self._wait(scope, receive)
            if outcome == "gone":  # the client left while waiting: nothing runs, nothing is sent
                return
            if outcome == "timeout":
                await self._refuse(scope, send)
                return
        try:
            await self.app(scope, receive, send)
        finally:
            self._leave()

    async def _wait(self, scope: dict, receive: Any) -> tuple[str, Any]:
        """("admitted" | "timeout" | "gone", the receive the app is to use)."""
        slot: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiters.append(slot)
        watch: asyncio.Future[dict] | None = None
        app_receive = receive
        if scope["method"] in ("GET", "HEAD"):
            # No body: the first message is the empty request, and the next comes only when the client leaves
            # (or the response is done), so waiting for it tells us of a client gone while queued.
            first = await receive()
            if first["type"] == "http.disconnect":
                self._give_up(slot)
                return "gone", receive
            replay = deque([first])

            async def app_receive() -> dict:
                return replay.popleft() if replay else await receive()

            watch = asyncio.ensure_future(receive())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait_s
        try:
            while True:
                done, _ = await asyncio.wait({slot} | ({watch} if watch else set()), timeout=max(0.0,
                                             deadline - loop.time()), return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
                if watch is None or watch not in done or slot in done:
                    break
                if watch.result()["type"] == "http.disconnect":
                    self._give_up(slot)
                    return "gone", receive
                replay.append(watch.result())  # not a disconnect (a server that sends more): keep waiting
                watch = None
        except asyncio.CancelledError:  # the server shutting down
            if watch is not None:
                watch.cancel()
            self._give_up(slot)
            raise
        if watch is not None:
            if watch.done():  # admitted as the client left: the app hears of it
                replay.append(watch.result())
            watch.cancel()
        if slot in done:
            return "admitted", app_receive
        self._give_up(slot)
        return "timeout", receive

    def _give_up(self, slot: asyncio.Future[None]) -> None:
        if slot.done() and not slot.cancelled():  # handed a slot just as we gave up: pass it on
            self._leave()
        else:
            slot.cancel()  # _leave skips it

    def _leave(self) -> None:
        # Hand the slot to the oldest waiter still waiting (running stays the same), or free it.
        while self.waiters:
            slot = self.waiters.popleft()
            if not slot.done():
                slot.set_result(None)
                return
        self.running -= 1

    async def _refuse(self, scope: dict, send: Any) -> None:
        detail = f"the server is busy: no capacity came free within {self.wait_s:g} s; retry later"
        body = json.dumps(shaped(scope["path"], error_body("overloaded", detail), 503), ensure_ascii=False)
        headers = [(b"content-type", b"application/json"), (b"retry-after", b"2")]
        await send({"type": "http.response.start", "status": 503, "headers": headers})
        await send({"type": "http.response.body", "body": body.encode()})
