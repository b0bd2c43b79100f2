"""A primary and a hot standby of our own, made by the project's cluster code under a temporary directory.

Two PostgreSQL servers on free loopback ports (not the shared 55432): initdb, the schema, pg_basebackup -R,
streaming replication; stopped and deleted afterwards. About 10 s to set up.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from api.ops import pgcluster, pgstandby
from geo.pg.db import migrate
from geo.settings import Settings
from tests.conftest import ADMIN_TOKEN


def _free_pair(start: int = 55450, stop: int = 55600) -> int:
    """A port p such that p and p + 1 are free on 127.0.0.1."""
    for port in range(start, stop, 2):
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", port + 1))
            return port
        except OSError:
            continue
    raise RuntimeError("no two free consecutive ports for the test cluster")


@dataclass
class Pair:
    settings: Settings  # the primary's single-host URLs (as `citygrid db up` takes them)
    primary_port: int
    standby_port: int

    def superuser(self, port: int) -> psycopg.Connection:
        return psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="citygrid", autocommit=True)

    def app_settings(self, **changes) -> Settings:
        """Settings as a deployment would write them: multi-host URLs, the replica for reads that may lag."""
        hosts = f"127.0.0.1:{self.primary_port},127.0.0.1:{self.standby_port}"
        replica = f"127.0.0.1:{self.standby_port},127.0.0.1:{self.primary_port}"
        return self.settings.model_copy(
            update={
                "database_url": f"postgresql+psycopg://citygrid_app@{hosts}/citygrid?target_session_attrs=read-write",
                "replica_database_url": (
                    f"postgresql+psycopg://citygrid_app@{replica}/citygrid?target_session_attrs=prefer-standby"
                ),
                **changes,
            }
        )

    def set_replay(self, paused: bool) -> None:
        with self.superuser(self.standby_port) as conn:
            if not conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]:  # type: ignore[index]
                return  # promoted: nothing replays any more
            conn.execute("SELECT pg_wal_replay_pause()" if paused else "SELECT pg_wal_replay_resume()")
            want = "paused" if paused else "not paused"
            for _ in range(100):
                if conn.execute("SELECT pg_get_wal_replay_pause_state()").fetchone()[0] == want:  # type: ignore[index]
                    return
                time.sleep(0.05)
        raise AssertionError(f"replay did not become {want}")

    def wait_replayed(self, timeout_s: float = 10.0) -> None:
        """Until the standby has replayed everything the primary had written when called."""
        with self.superuser(self.primary_port) as conn:
            target = conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0]  # type: ignore[index]
        with self.superuser(self.standby_port) as conn:
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                row = conn.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (target,)).fetchone()
                if row and row[0]:
                    return
                time.sleep(0.05)
        raise AssertionError("the standby did not catch up")


@pytest.fixture(scope="session")
def pair() -> Iterator[Pair]:
    if not pgcluster.PG_BIN.joinpath("pg_basebackup").exists():
        pytest.fail("PostgreSQL 15 binaries are missing: `make db` installs them")
    port = _free_pair()
    # Not pytest's tmp_path: each pytest start (another checkout's too) resets its base dir to 0700, which
    # locks the postgres OS user out of a cluster running under it.
    root = Path(tempfile.mkdtemp(prefix="citygrid-pair-"))
    local = f"127.0.0.1:{port}"
    settings = Settings(
        env="test",
        data_dir=root,
        pg_port=port,
        database_url=f"postgresql+psycopg://citygrid_app@{local}/citygrid",
        owner_database_url=f"postgresql+psycopg://citygrid@{local}/citygrid",
        admin_database_url=f"postgresql+psycopg://postgres@{local}/postgres",
        bootstrap_admin_token=ADMIN_TOKEN,
        tile_cache_bytes=8 * 1024 * 1024,
    )
    try:
        pgcluster.ensure_up(settings)
        migrate(settings.owner_database_url)
        pgstandby.start_standby(settings, 1)
        yield Pair(settings, port, pgstandby.standby_port(settings, 1))
    finally:
        pgstandby.stop_standby(settings, 1, mode="immediate")
        if pgcluster.local_cluster_state(settings) == "running":
            pgcluster.stop(settings)
        shutil.rmtree(root, ignore_errors=True)
