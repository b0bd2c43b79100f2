"""Overload phase: 200 concurrent readers against one API process, /health polled from its own process.

It passes when no response is a 5xx other than 503 with Retry-After, /health's p99 stays under 100 ms from
before the load to after it, and a read succeeds again within 5 s of the load ending. The readers leave at
the end without waiting for their answers (as the probe's clients did), so what they abandoned must not
keep the server busy. Run through bench/load.py (`--phase overload`: no PostgreSQL restart).
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import random
import threading
import time
from collections import Counter

import httpx

HEALTH_P99_MS = 100.0
RECOVERY_S = 5.0


def _poll_health(base: str, stop, out) -> None:
    """In its own process (its own interpreter and GIL): GET /health every 50 ms, (wall time, s, status)."""
    samples = []
    with httpx.Client(base_url=base, timeout=10) as c:
        while not stop.is_set():
            start = time.perf_counter()
            try:
                status = c.get("/health").status_code
            except httpx.HTTPError:
                status = 599
            samples.append((time.time(), time.perf_counter() - start, status))
            time.sleep(0.05)
    out.put(samples)


def _requests(tiles, rnd: random.Random) -> tuple[str, dict]:
    if rnd.random() < 0.5:
        z, x, y = rnd.choice(tiles)
        return f"/tiles/grids/{z}/{x}/{y}.mvt", {}
    return "/api/v1/stats/compare", {"admin_code": "610300", "start": "2020-01-01", "end": "2021-01-01"}


class _Conn:
    """One keep-alive HTTP/1.1 connection on raw asyncio streams: httpx's async client spent more CPU than the
    server under test (on two cores it starved the server and delayed its own measurements)."""

    def __init__(self, host: str, port: int, auth: bytes) -> None:
        self.host, self.port, self.auth = host, port, auth
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, target: str) -> tuple[int, bool]:
        if self.writer is None or self.reader is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(f"GET {target} HTTP/1.1\r\nHost: {self.host}\r\n".encode() + self.auth + b"\r\n")
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        fields = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
        await self.reader.readexactly(int(fields.get("content-length", "0")))
        if fields.get("connection", "").lower() == "close":
            self.close()
        return status, "retry-after" in fields

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def _readers(base, headers, tiles, n, seconds, results) -> None:
    host, port = base.removeprefix("http://").split(":")
    auth = "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode()

    async def one(seed: int) -> None:
        rnd, conn = random.Random(seed), _Conn(host, int(port), auth)
        try:
            while True:
                url, params = _requests(tiles, rnd)
                target = url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")
                start = time.perf_counter()
                try:
                    status, retry = await asyncio.wait_for(conn.get(target), 30)
                except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError):
                    status, retry = 599, False  # a client time-out or a dropped connection
                    conn.close()
                results.append((time.perf_counter() - start, status, retry))
        finally:
            conn.close()

    tasks = [asyncio.create_task(one(i)) for i in range(n)]
    await asyncio.sleep(seconds)
    for t in tasks:  # the clients leave: whatever they were waiting for is abandoned
        t.cancel()
    await asyncio.wait(tasks, timeout=5)


def _recovery(base, headers, tiles, ended: float) -> float:
    """Seconds from the end of the load until a read sent after it is answered 200."""
    rnd = random.Random(7)
    with httpx.Client(base_url=base, headers=headers, timeout=30) as c:
        while time.time() - ended < 60:
            url, params = _requests(tiles, rnd)
            try:
                if c.get(url, params=params).status_code == 200:
                    return time.time() - ended
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
    return float("inf")


def _pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1e3 if values else float("nan")


def run(base: str, headers: dict, tiles, seconds: float = 30, readers: int = 200) -> bool:
    """The phase; prints its figures and returns whether it passed."""
    ctx = mp.get_context("spawn")
    stop, out = ctx.Event(), ctx.Queue()
    poller = ctx.Process(target=_poll_health, args=(base, stop, out), daemon=True)
    poller.start()
    time.sleep(3)  # a baseline before the load (the poller's process starts in about a second)
    results: list = []
    began = time.time()
    load = threading.Thread(
        target=asyncio.run, args=(_readers(base, headers, tiles, readers, seconds, results),), daemon=True
    )
    load.start()
    load.join(seconds + 15)  # bounded: a reader stuck past its cancellation must not hold the report back
    if load.is_alive():
        print("  (the reader threads did not finish within 15 s of the end; reported without them)")
    ended = time.time()
    recovery = _recovery(base, headers, tiles, ended)
    time.sleep(max(0.0, RECOVERY_S - (time.time() - ended)))  # /health keeps being polled after the load
    stop.set()
    health = out.get(timeout=30)
    poller.join(10)

    statuses = Counter(st for _, st, _ in results)
    bad_5xx = sum(1 for _, st, retry in results if 500 <= st < 599 and not (st == 503 and retry))
    timeouts = statuses.get(599, 0)
    ok = [s for s, st, _ in results if st == 200]
    print(f"\noverload: {readers} concurrent readers for {seconds:g} s, then they leave", flush=True)
    print(
        f"  responses: {len(results)} ({len(results) / (ended - began):.1f}/s); by status: {dict(sorted(statuses.items()))}"
    )
    print(
        f"  200s: p50 {_pct(ok, 0.5):.0f} ms, p99 {_pct(ok, 0.99):.0f} ms; client errors/time-outs (599): {timeouts}"
    )
    print(f"  5xx other than 503 with Retry-After: {bad_5xx}")
    phases = {
        "before": [h for h in health if h[0] < began],
        "during": [h for h in health if began <= h[0] <= ended],
        "after": [h for h in health if h[0] > ended],
    }
    worst = 0.0
    for name, rows in phases.items():
        lat = [s for _, s, _ in rows]
        not_ok = sum(1 for *_, st in rows if st != 200)
        p99 = _pct(lat, 0.99)
        worst = max(worst, p99)
        print(f"  /health {name:<6}: {len(rows):>4} polls, p50 {_pct(lat, 0.5):.1f} ms, p99 {p99:.1f} ms, "
              f"max {_pct(lat, 1.0):.1f} ms, not 200: {not_ok}")  # fmt: skip
    all_ok = all(st == 200 for *_, st in health)
    print(f"  recovery: a read answered 200 {recovery:.2f} s after the load ended")
    passed = bad_5xx == 0 and worst < HEALTH_P99_MS and all_ok and recovery <= RECOVERY_S
    print("  OVERLOAD RESULT:", "passed" if passed else "FAILED", flush=True)
    return passed
