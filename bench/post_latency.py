"""Single-incident POST latency against a real uvicorn on 127.0.0.1: N requests from C concurrent clients."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import numpy as np
from sqlalchemy import Engine, text

TOKEN = "bench-post-token"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _feature(run: str, i: int, lon: float, lat: float) -> dict:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {
            "external_id": f"bench-post-{run}-{i}",
            "category": "dispute",
            "occurred_at": "2024-06-01T08:00:00+08:00",
        },
    }


def measure(
    app_url: str,
    owner_url: str,
    engine: Engine,
    lon: np.ndarray,
    lat: np.ndarray,
    n: int = 1000,
    clients: int = 10,
    workers: int = 1,
) -> dict:
    """Start uvicorn, POST n incidents from `clients` threads, then n/3 from one client; p50/p99 (ms) and
    throughput of each (the single client's under "single"); clean up."""
    port = _free_port()
    run = secrets.token_hex(4)  # fresh external ids: every POST creates (201) rather than updates
    env = {
        **os.environ,
        "CITYGRID_ENV": "development",
        "CITYGRID_DATABASE_URL": app_url,
        "CITYGRID_OWNER_DATABASE_URL": owner_url,
        "CITYGRID_BOOTSTRAP_ADMIN_TOKEN": TOKEN,
    }
    cmd = [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--workers", str(workers)]
    server = subprocess.Popen([*cmd, "--log-level", "warning"], env=env)
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {TOKEN}", "content-type": "application/geo+json"}
    try:
        deadline = time.monotonic() + 120  # importing the app takes a while on a busy machine
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"uvicorn exited with {server.returncode}")
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not answer /health within 120 s")
            time.sleep(0.3)
        # Warm-up: connections in the pool, plans and the city region cache.
        with httpx.Client(base_url=base, headers=headers) as c:
            for i in range(20):
                c.post("/api/v1/incidents", json=_feature(run, -1 - i, float(lon[i]), float(lat[i])))

        def load(first: int, count: int, clients: int) -> dict[str, float]:
            def worker(k: int) -> list[float]:
                out = []
                with httpx.Client(base_url=base, headers=headers, timeout=30) as c:
                    for i in range(first + k, first + count, clients):
                        body = _feature(run, i, float(lon[i % len(lon)]), float(lat[i % len(lat)]))
                        t = time.perf_counter()
                        r = c.post("/api/v1/incidents", json=body)
                        out.append(time.perf_counter() - t)
                        if r.status_code != 201:
                            raise RuntimeError(f"POST failed: {r.status_code} {r.text[:200]}")
                return out

            started = time.perf_counter()
            with ThreadPoolExecutor(clients) as pool:
                latencies = np.concatenate([np.asarray(x) for x in pool.map(worker, range(clients))])
            wall = time.perf_counter() - started
            return {
                "p50_ms": float(np.percentile(latencies, 50) * 1000),
                "p99_ms": float(np.percentile(latencies, 99) * 1000),
                "req_per_s": count / wall,
                "count": count,
            }

        result: dict[str, Any] = dict(load(0, n, clients))
        # One officer at a time: the latency of a report when the server is not saturated.
        result["single"] = load(n, n // 3, 1)
    finally:
        server.terminate()
        server.wait(10)
        with engine.begin() as conn:
            ids = (
                conn.execute(
                    text("DELETE FROM incidents WHERE external_id LIKE 'bench-post-%' RETURNING id::text")
                )
                .scalars()
                .all()
            )
            conn.execute(
                text("DELETE FROM audit_log WHERE entity_type = 'incident' AND entity_id = ANY(:ids)"),
                {"ids": ids},
            )
    return result
