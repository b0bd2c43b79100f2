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
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env)
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
            raise RuntimeError("the server did not become healthy")
        yield base
    finally:
        proc.terminate()
        proc.wait(10)
