"""The failover half of bench/cluster.py: kill the primary under writes and reads, promote, count what survived.

A throwaway copy of the demo primary (pg_basebackup) with its own standby, synchronous (synchronous_standby_names,
set by reload): a report is acknowledged only once the standby has it, which is what "every acknowledged report
survives a failover" needs. With PostgreSQL's default asynchronous streaming, commits acknowledged in the last
moments before a crash may be missing on the standby; the README says so.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg

from api.ops import pgcluster, pgstandby
from api.ops.pgcluster import PG_BIN, _make_traversable, _pid_alive, _run_as_postgres
from bench.cluster import TOKEN, api_processes, cluster_env, haproxy, settings_of
from geo.settings import Settings

WRITERS, READERS = 4, 4
KILL_AFTER_S, RUN_AFTER_KILL_S = 4.0, 12.0
SPOT = (107.1440, 34.3620)  # central Baoji (Weibin), inside the demo's grids


def clone_primary(src: Settings, dst: Settings) -> None:
    """A copy of src's cluster as a new primary in dst.pg_dir on dst.pg_port (pg_basebackup without -R)."""
    shutil.rmtree(dst.data_dir, ignore_errors=True)
    dst.pg_dir.mkdir(parents=True)
    _make_traversable(dst.data_dir)
    if os.geteuid() == 0:
        shutil.chown(dst.pg_dir, "postgres", "postgres")
        shutil.chown(dst.data_dir, "postgres", "postgres")
    os.chmod(dst.pg_dir, 0o700)
    source = f"host=127.0.0.1 port={src.pg_port} user={pgstandby.REPLICATION_ROLE}"
    _run_as_postgres([PG_BIN / "pg_basebackup", "-D", dst.pg_dir, "-d", source, "-X", "stream", "-c", "fast"])
    with (dst.pg_dir / "postgresql.auto.conf").open("a") as f:
        f.write(f"port = {dst.pg_port}\nunix_socket_directories = '{dst.pg_dir}'\n")
    pgcluster._init_and_start(dst)


def make_synchronous(dst: Settings) -> None:
    with psycopg.connect(
        host="127.0.0.1", port=dst.pg_port, user="postgres", dbname="postgres", autocommit=True
    ) as c:
        c.execute("ALTER SYSTEM SET synchronous_standby_names = 'citygrid_standby1'")
        c.execute("SELECT pg_reload_conf()")
        for _ in range(200):
            if c.execute("SELECT 1 FROM pg_stat_replication WHERE sync_state = 'sync'").fetchone():
                return
            time.sleep(0.05)
    raise RuntimeError("the standby did not become synchronous")


@dataclass
class Timeline:
    acked: dict[str, float] = field(default_factory=dict)  # external_id → when acknowledged
    write_errors: list[float] = field(default_factory=list)
    read_ok: list[float] = field(default_factory=list)
    read_errors: list[float] = field(default_factory=list)
    kill_at: float = 0.0
    promoted_at: float = 0.0


def report_body(external_id: str) -> bytes:
    lon, lat = SPOT
    return (
        f'{{"type":"Feature","geometry":{{"type":"Point","coordinates":[{lon},{lat}]}},'
        f'"properties":{{"category":"dispute","occurred_at":"2024-05-01T08:30:00+08:00","external_id":"{external_id}"}}}}'
    ).encode()


async def writer(base: str, tag: str, stop: float, t: Timeline) -> None:
    headers = {**TOKEN, "content-type": "application/geo+json"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=10) as client:
        i = 0
        while time.monotonic() < stop:
            external_id = f"{tag}-{i}"
            while time.monotonic() < stop + 20:  # retried with the same id until acknowledged: an upsert
                try:
                    r = await client.post("/api/v1/incidents", content=report_body(external_id))
                    if r.status_code in (200, 201):
                        t.acked[external_id] = time.monotonic()
                        break
                except httpx.HTTPError:
                    pass
                t.write_errors.append(time.monotonic())
                await asyncio.sleep(0.05)
            i += 1


async def reader(base: str, stop: float, t: Timeline) -> None:
    lon, lat = SPOT
    path = (
        f"/ogc/collections/incidents/items?bbox={lon - 0.005},{lat - 0.004},{lon + 0.005},{lat + 0.004}&limit=20"
    )
    async with httpx.AsyncClient(base_url=base, headers=TOKEN, timeout=10) as client:
        while time.monotonic() < stop:
            try:
                ok = (await client.get(path)).status_code == 200
            except httpx.HTTPError:
                ok = False
            (t.read_ok if ok else t.read_errors).append(time.monotonic())
            if not ok:
                await asyncio.sleep(0.05)


async def crash_and_promote(dst: Settings, detect_s: float, t: Timeline) -> None:
    await asyncio.sleep(KILL_AFTER_S)
    pid = int((dst.pg_dir / "postmaster.pid").read_text().splitlines()[0])
    t.kill_at = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    await asyncio.sleep(detect_s)
    await asyncio.to_thread(pgstandby.promote, dst, 1)
    t.promoted_at = time.monotonic()


async def run_load(base: str, dst: Settings, detect_s: float, tag: str) -> Timeline:
    t = Timeline()
    stop = time.monotonic() + KILL_AFTER_S + RUN_AFTER_KILL_S
    await asyncio.gather(
        crash_and_promote(dst, detect_s, t),
        *(writer(base, f"{tag}-{w}", stop, t) for w in range(WRITERS)),
        *(reader(base, stop, t) for _ in range(READERS)),
    )
    return t


def window(errors: list[float], t: Timeline) -> str:
    if not errors:
        return "no errors"
    return f"{len(errors)} errors from +{min(errors) - t.kill_at:.2f} s to +{max(errors) - t.kill_at:.2f} s after the kill"


def check_exactly_once(dst: Settings, tag: str, acked: dict[str, float]) -> tuple[int, int, int]:
    """(missing, duplicated, stored) of the acknowledged reports, on the promoted server."""
    with psycopg.connect(host="127.0.0.1", port=dst.pg_port + 1, user="postgres", dbname="citygrid") as conn:
        rows = conn.execute(
            "SELECT external_id, count(*) FROM incidents WHERE external_id LIKE %s GROUP BY 1", (f"{tag}-%",)
        ).fetchall()
    stored = {r[0]: r[1] for r in rows}
    missing = sum(1 for k in acked if k not in stored)
    duplicated = sum(1 for k in acked if stored.get(k, 0) > 1)
    return missing, duplicated, len(stored)


def teardown(dst: Settings) -> None:
    pgstandby.stop_standby(dst, 1)
    for _ in range(100):  # the killed postmaster's backends exit on noticing its death
        if not _pid_alive(dst.pg_dir):
            break
        time.sleep(0.1)
    shutil.rmtree(dst.data_dir, ignore_errors=True)


def failover(src_env: dict[str, str], data_dir: Path, port: int, detect_s: float) -> None:
    src, dst_env = settings_of(src_env), cluster_env(data_dir, port)
    dst = settings_of(dst_env)
    print(f"failover: a copy of the demo primary on :{port}, synchronous standby on :{port + 1}", flush=True)
    try:
        clone_primary(src, dst)
        pgstandby.start_standby(dst, 1)
        make_synchronous(dst)
        tag = f"fo{int(time.time())}"
        with ExitStack() as stack:
            bases = stack.enter_context(api_processes(dst_env, 3))
            base = stack.enter_context(haproxy(bases))
            t = asyncio.run(run_load(base, dst, detect_s, tag))
        missing, duplicated, stored = check_exactly_once(dst, tag, t.acked)
        after = [v for v in t.acked.values() if v > t.kill_at]
        recovery = (min(after) - t.kill_at) if after else float("nan")
        reads_after = [v for v in t.read_ok if v > t.kill_at]
        print(
            f"  {len(t.acked)} reports acknowledged ({len(t.acked) - len(after)} before the kill), {stored} stored"
        )
        print(
            f"  promote issued {t.promoted_at - t.kill_at:.2f} s after the kill ({detect_s:.1f} s detection delay)"
        )
        print(f"  writes: {window(t.write_errors, t)}; first acknowledged write +{recovery:.2f} s after the kill")
        first_read = f"+{min(reads_after) - t.kill_at:.2f} s" if reads_after else "never"
        print(f"  reads:  {window(t.read_errors, t)}; first read after the kill {first_read}")
        print(f"  acknowledged but missing: {missing}; stored more than once: {duplicated}", flush=True)
        if missing or duplicated:
            raise SystemExit("FAILED: an acknowledged report was lost or duplicated")
    finally:
        teardown(dst)
