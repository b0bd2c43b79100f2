"""Past one machine, measured: three API processes behind HAProxy against one, and a failover under load.

    python -m bench.cluster [--data-dir .data/bench-cluster] [--port 55460] [--seconds 20] [--clients 16]

1. Throughput: the Baoji demo on a primary with a hot standby (ports PORT, PORT+1; made with the project's
   own `citygrid db up --replicas 1` and `demo load` the first time). The same mixed read load (incident tiles
   z13-15, OGC incident items in 1 km boxes, county statistics, grid items), reads served by the standby, is
   sent to one uvicorn process, then to three behind HAProxy (Debian's; installed when missing). Prints both
   throughputs (requests/s, median latency) and the ratio. Server, proxy, PostgreSQL and this load generator
   share the machine's cores: the ratio is what one more machine's worth of API would *not* get here.
2. Failover: a copy of the demo primary with its own synchronous standby (PORT+2, PORT+3, deleted after).
   Writers post incident reports (each retried with the same external_id until acknowledged), readers read;
   the primary's postmaster is killed (SIGKILL), the standby promoted DETECT_S later; the API finds it by its
   multi-host URL. Prints the error window, the recovery time and whether every acknowledged report is present
   exactly once on the promoted server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import psycopg

from bench._server import free_port
from geo.settings import REPO_ROOT, Settings
from geo.tiles.cache import tile_range

TOKEN = {"Authorization": "Bearer dev-admin-token"}
CITYGRID = str(Path(sys.executable).with_name("citygrid"))


def cluster_env(data_dir: Path, port: int) -> dict[str, str]:
    """CITYGRID_* for a pair: owner/admin on the primary, the app by multi-host URLs (as docker-compose)."""
    hosts, replica = f"127.0.0.1:{port},127.0.0.1:{port + 1}", f"127.0.0.1:{port + 1},127.0.0.1:{port}"
    return {
        "CITYGRID_ENV": "development",
        "CITYGRID_DATA_DIR": str(data_dir),
        "CITYGRID_PG_PORT": str(port),
        "CITYGRID_ADMIN_DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres",
        "CITYGRID_OWNER_DATABASE_URL": f"postgresql+psycopg://citygrid@127.0.0.1:{port}/citygrid",
        "CITYGRID_DATABASE_URL": f"postgresql+psycopg://citygrid_app@{hosts}/citygrid?target_session_attrs=read-write",
        "CITYGRID_REPLICA_DATABASE_URL": (
            f"postgresql+psycopg://citygrid_app@{replica}/citygrid?target_session_attrs=prefer-standby"
        ),
    }


def settings_of(env: dict[str, str]) -> Settings:
    return Settings(**{k.removeprefix("CITYGRID_").lower(): v for k, v in env.items()})  # type: ignore[arg-type]


def citygrid(env: dict[str, str], *args: str) -> None:
    subprocess.run([CITYGRID, *args], check=True, env={**os.environ, **env}, cwd=REPO_ROOT)


def ensure_demo_pair(env: dict[str, str]) -> None:
    # Set-up names the primary alone (the roles are created from these URLs).
    single = {
        **env,
        "CITYGRID_DATABASE_URL": env["CITYGRID_OWNER_DATABASE_URL"].replace("citygrid@", "citygrid_app@"),
    }
    citygrid(single, "db", "up", "--replicas", "1")
    citygrid(single, "migrate")
    citygrid(single, "demo", "load")  # recognises a loaded demo by its fingerprint


def ensure_haproxy() -> str:
    found = shutil.which("haproxy")
    if found:
        return found
    if os.geteuid() != 0:
        raise SystemExit("haproxy is missing: sudo apt-get install -y haproxy")
    apt_env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive", "RUNLEVEL": "1"}  # RUNLEVEL=1: start no service
    subprocess.run(["apt-get", "update", "-q"], check=True, env=apt_env)
    subprocess.run(["apt-get", "install", "-y", "-q", "haproxy"], check=True, env=apt_env)
    return shutil.which("haproxy") or "/usr/sbin/haproxy"


def wait_healthy(base: str, proc: subprocess.Popen, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
        try:
            if httpx.get(base + "/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{base} did not become healthy")


@contextmanager
def api_processes(env: dict[str, str], count: int) -> Iterator[list[str]]:
    """count uvicorn processes (one worker each) on free ports; stopped on exit."""
    procs, bases = [], []
    try:
        for _ in range(count):
            port = free_port()
            cmd = [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1", "--port", str(port)]
            cmd += ["--log-level", "warning", "--no-access-log"]
            procs.append(subprocess.Popen(cmd, cwd=REPO_ROOT, env={**os.environ, **env}))
            bases.append(f"http://127.0.0.1:{port}")
        for base, proc in zip(bases, procs, strict=True):
            wait_healthy(base, proc)
        yield bases
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)


@contextmanager
def haproxy(backends: list[str]) -> Iterator[str]:
    """HAProxy round robin over backends, checking /health every 2 s (as docker/haproxy.cfg does)."""
    port = free_port()
    servers = "\n".join(
        f"    server api{i} {b.removeprefix('http://')} check inter 2s fall 3 rise 1"
        for i, b in enumerate(backends)
    )
    cfg = (
        "global\n    maxconn 4096\ndefaults\n    mode http\n    timeout connect 2s\n    timeout client 60s\n"
        "    timeout server 60s\n    timeout check 5s\n    option redispatch\n    retries 2\n    option http-keep-alive\n"
        f"frontend http\n    bind 127.0.0.1:{port}\n    default_backend api\n"
        f"backend api\n    balance roundrobin\n    option httpchk GET /health\n{servers}\n"
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "haproxy.cfg"
        path.write_text(cfg)
        proc = subprocess.Popen([ensure_haproxy(), "-f", str(path), "-db"], stdout=subprocess.DEVNULL)
        try:
            wait_healthy(f"http://127.0.0.1:{port}", proc, 30)
            yield f"http://127.0.0.1:{port}"
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def read_mix(env: dict[str, str], seed: int = 7) -> list[str]:
    """2,000 read paths from the demo's own points and counties, in a fixed order (same load for each run)."""
    owner = env["CITYGRID_OWNER_DATABASE_URL"].replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(owner) as conn:
        conn.execute("SELECT setseed(0.5)")
        points = conn.execute(
            "SELECT ST_X(geom), ST_Y(geom) FROM incidents ORDER BY random() LIMIT 400"
        ).fetchall()
        counties = [
            r[0] for r in conn.execute("SELECT code FROM admin_units WHERE level = 'county' ORDER BY code")
        ]
    rng = random.Random(seed)
    paths = []
    for _ in range(2000):
        lon, lat = rng.choice(points)
        kind = rng.random()
        if kind < 0.4:
            z = rng.choice((13, 14, 15))
            x, _, y, _ = tile_range((lon, lat, lon, lat), z, margin=0)
            paths.append(f"/tiles/incidents/{z}/{x}/{y}.mvt")
        elif kind < 0.7:
            box = f"{lon - 0.006:.5f},{lat - 0.0045:.5f},{lon + 0.006:.5f},{lat + 0.0045:.5f}"
            paths.append(f"/ogc/collections/incidents/items?bbox={box}&limit=50")
        elif kind < 0.9:
            year = rng.choice((2019, 2020))
            code = rng.choice(counties)
            paths.append(f"/api/v1/stats/counts?admin_code={code}&start={year}-01-01&end={year + 1}-01-01")
        else:
            box = f"{lon - 0.01:.5f},{lat - 0.01:.5f},{lon + 0.01:.5f},{lat + 0.01:.5f}"
            paths.append(f"/ogc/collections/grids/items?bbox={box}&limit=20")
    return paths


async def read_load(base: str, paths: list[str], seconds: float, clients: int) -> dict:
    """clients concurrent loops over paths for seconds; counts 200s, errors and latencies."""
    latencies: list[float] = []
    errors = 0
    stop = time.monotonic() + seconds
    where: dict[str, int] = {}

    async def loop(offset: int) -> None:
        nonlocal errors
        async with httpx.AsyncClient(base_url=base, headers=TOKEN, timeout=30) as client:
            i = offset
            while time.monotonic() < stop:
                t0 = time.perf_counter()
                try:
                    r = await client.get(paths[i % len(paths)])
                    if r.status_code == 200:
                        latencies.append(time.perf_counter() - t0)
                        src = r.headers.get("x-citygrid-read", "tile-cache")
                        where[src] = where.get(src, 0) + 1
                    else:
                        errors += 1
                except httpx.HTTPError:
                    errors += 1
                i += clients

    started = time.monotonic()
    await asyncio.gather(*(loop(k) for k in range(clients)))
    elapsed = time.monotonic() - started
    return {
        "rps": len(latencies) / elapsed,
        "median_ms": statistics.median(latencies) * 1000 if latencies else float("nan"),
        "errors": errors,
        "served_by": where,
    }


def throughput(env: dict[str, str], seconds: float, clients: int) -> None:
    paths = read_mix(env)
    results = {}
    for label, count in (("1 API process", 1), ("3 API processes + HAProxy", 3)):
        with ExitStack() as stack:
            bases = stack.enter_context(api_processes(env, count))
            base = bases[0] if count == 1 else stack.enter_context(haproxy(bases))
            asyncio.run(read_load(base, paths, 3.0, clients))  # warm-up: imports, pools, tile caches
            results[label] = asyncio.run(read_load(base, paths, seconds, clients))
        r = results[label]
        print(
            f"  {label:<27} {r['rps']:7.1f} req/s   median {r['median_ms']:6.1f} ms   errors {r['errors']}"
            f"   served by {json.dumps(r['served_by'])}",
            flush=True,
        )
    one, three = results["1 API process"]["rps"], results["3 API processes + HAProxy"]["rps"]
    # Other work on the machine changes both figures: say how busy it was.
    print(f"  load average during the runs: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    print(f"  ratio (3 behind proxy / 1): {three / one:.2f}x", flush=True)


def main() -> None:
    from bench.cluster_failover import failover  # the second half, in its own module (it uses the helpers above)

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data-dir", type=Path, default=REPO_ROOT / ".data" / "bench-cluster")
    parser.add_argument(
        "--port", type=int, default=55460, help="primary; the standby takes +1, failover +2 and +3"
    )
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument(
        "--detect-s", type=float, default=1.0, help="from the kill to `promote` (a failover manager's delay)"
    )
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args()
    env = cluster_env(args.data_dir.resolve(), args.port)
    print(f"cluster: primary 127.0.0.1:{args.port}, standby :{args.port + 1}, data {args.data_dir}", flush=True)
    ensure_demo_pair(env)
    ensure_haproxy()
    if not args.skip_throughput:
        print(
            f"mixed read load, {args.clients} clients, {args.seconds:.0f} s each (after 3 s warm-up):", flush=True
        )
        throughput(env, args.seconds, args.clients)
    failover(env, args.data_dir.resolve() / "failover", args.port + 2, args.detect_s)


if __name__ == "__main__":
    main()
