"""Helpers shared by the benchmarks: a bench database and a real uvicorn on a free loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from sqlalchemy.engine import make_url

from api.ops import pgcluster
from geo.pg import migrate
from geo.settings import REPO_ROOT, Settings


def bench_settings(dbname: str) -> Settings:
    """Settings pointing both roles at dbname, which is created and migrated if needed."""
    base = Settings()
    pgcluster.ensure_up(base)

    def swap(url: str) -> str:
        return make_url(url).set(database=dbname).render_as_string(hide_password=False)

    s = base.model_copy(
        update={"database_url": swap(base.database_url), "owner_database_url": swap(base.owner_database_url)}
    )
    pgcluster.bootstrap_database(s, dbname)
    migrate(s.owner_database_url)
    return s


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve(settings: Settings, workers: int = 1) -> Iterator[str]:
    """Run the app under uvicorn on 127.0.0.1 and yield its base URL."""
    port = free_port()
    env = {
        **os.environ,
        "CITYGRID_DATABASE_URL": settings.database_url,
        "CITYGRID_OWNER_DATABASE_URL": settings.owner_database_url,
        "CITYGRID_ENV": "development",
    }
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "api.main:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        # As `citygrid serve`: httptools with the request head bounded (api/server.py; limits from CITYGRID_* env).
        "--http",
        "api.server:HeadTimeoutProtocol",
    ]
    # The server's structured log (a line a request, thousands a run) goes to a file, not over the figures; it
    # is still written, so its cost stays in what the benches measure.
    # One file, begun afresh by each server a bench starts (they run one after another).
    log_path = REPO_ROOT / ".data" / "bench" / "server.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    print(f"  server log: {log_path.relative_to(REPO_ROOT)}", flush=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        else:
            tail = log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"the server did not become healthy; the end of {log_path}:\n{tail}")
        yield base
    finally:
        proc.terminate()
        proc.wait(10)
