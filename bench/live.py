"""Bench: a case step's commit → its arrival on N connected wall screens (SSE), and memory per open screen.

    .venv/bin/python -m bench.live [--clients 100] [--steps 50] [--gap-ms 100] [--db citygrid_bench_live]

Serves the app under uvicorn (one worker, its own process), opens N EventSource-style streams with tickets
(httpx, in this process), then commits --steps transactions that send the case notice exactly as a step's
transaction does (geo.live.announce_case, then COMMIT). Each arrival is timed from the moment COMMIT was sent.
The floor is the same notice reaching a bare psycopg LISTEN connection in this process: what PostgreSQL's
NOTIFY itself costs, before our listener, hub, SSE encoding and HTTP. Memory: the server process's RSS
(psutil) with the N streams open minus before, divided by N. Bounded: every wait has a deadline.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

import httpx
import psutil
import psycopg
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from bench._server import bench_settings, serve
from geo.live import CHANNEL, announce_case
from geo.pg.db import libpq_url
from geo.settings import DEV_TOKEN

UNITS = ["610302001001001", "610302001001", "610302001", "610302"]  # a case in a Weibin grid
DEADLINE_S = 120.0


def server_process(base: str) -> psutil.Process:
    """The uvicorn child serving base (found by the port in its command line)."""
    port = base.rsplit(":", 1)[1]
    for child in psutil.Process().children(recursive=True):
        if port in " ".join(child.cmdline()):
            return child
    raise RuntimeError("the uvicorn process was not found")


async def screen(client: httpx.AsyncClient, url: str, ready: asyncio.Event, arrivals: dict[int, float]) -> None:
    """One wall screen: read the stream, note when each case notice arrives."""
    async with client.stream("GET", url) as response:
        event = ""
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
                ready.set() if event == "hello" else None
            elif line.startswith("data:") and event == "case":
                arrivals[json.loads(line[5:])["case_id"]] = time.perf_counter()


async def floor_listener(url: str, arrivals: dict[int, float], ready: asyncio.Event) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(f"LISTEN {CHANNEL}")
        ready.set()
        async for note in conn.notifies():
            arrivals[json.loads(note.payload)["case_id"]] = time.perf_counter()


def commit_step(engine, case_id: int) -> float:
    """Commit a step's notice; returns the moment COMMIT was sent (so its round trip counts against us)."""
    with Session(engine) as session:
        announce_case(session, case_id, "dispatched", case_id, "dispatch", UNITS)
        sent = time.perf_counter()
        session.commit()
    return sent


async def run(base: str, database_url: str, clients: int, steps: int, gap_s: float) -> dict:
    server = server_process(base)
    limits = httpx.Limits(max_connections=clients + 10, max_keepalive_connections=clients + 10)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=httpx.Timeout(10, read=None)) as client:
        headers = {"Authorization": f"Bearer {DEV_TOKEN}"}
        ticket = (await client.post("/api/v1/live/ticket", headers=headers)).json()["ticket"]
        url = f"/api/v1/live?ticket={ticket}"
        warm = asyncio.Event()  # one stream first, so the baseline includes the code every stream runs
        warm_task = asyncio.create_task(screen(client, url, warm, {}))
        await asyncio.wait_for(warm.wait(), 10)
        before = server.memory_info().rss
        readies = [asyncio.Event() for _ in range(clients)]
        arrivals: list[dict[int, float]] = [{} for _ in range(clients)]
        tasks = [asyncio.create_task(screen(client, url, readies[i], arrivals[i])) for i in range(clients)]
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 60)
        await asyncio.sleep(1.0)
        rss_per_conn = (server.memory_info().rss - before) / clients

        floor: dict[int, float] = {}
        floor_ready = asyncio.Event()
        floor_task = asyncio.create_task(floor_listener(libpq_url(database_url), floor, floor_ready))
        await asyncio.wait_for(floor_ready.wait(), 10)
        engine = create_engine(database_url)
        committed: dict[int, float] = {}
        loop = asyncio.get_running_loop()
        first = int(time.time())  # distinct case ids per run
        for i in range(steps):
            committed[first + i] = await loop.run_in_executor(None, commit_step, engine, first + i)
            await asyncio.sleep(gap_s)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and sum(len(a) for a in arrivals) < clients * steps:
            await asyncio.sleep(0.05)
        for task in [*tasks, warm_task, floor_task]:
            task.cancel()
        await asyncio.gather(*tasks, warm_task, floor_task, return_exceptions=True)
        engine.dispose()
    ours = [(a[c] - t) * 1000 for a in arrivals for c, t in committed.items() if c in a]
    bare = [(floor[c] - t) * 1000 for c, t in committed.items() if c in floor]
    return {"ours": ours, "floor": bare, "expected": clients * steps, "rss": rss_per_conn}


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--gap-ms", type=float, default=100.0)
    parser.add_argument("--db", default="citygrid_bench_live")
    args = parser.parse_args()
    settings = bench_settings(args.db)
    with serve(settings) as base:
        result = asyncio.run(
            asyncio.wait_for(
                run(base, settings.database_url, args.clients, args.steps, args.gap_ms / 1000), DEADLINE_S
            )
        )
    ours, floor = result["ours"], result["floor"]
    print(f"live feed: {args.steps} steps × {args.clients} SSE screens, one uvicorn worker, 2 shared cores")
    print(f"  delivered            {len(ours)} of {result['expected']}")
    print(f"  commit → screen      median {statistics.median(ours):7.2f} ms   p99 {p99(ours):7.2f} ms")
    print(f"  commit → bare LISTEN median {statistics.median(floor):7.2f} ms   p99 {p99(floor):7.2f} ms  (floor)")
    print(f"  ratio (median)       {statistics.median(ours) / statistics.median(floor):7.1f} ×")
    print(f"  server RSS per open screen  {result['rss'] / 1024:.1f} KiB")


if __name__ == "__main__":
    main()
