"""Load with a fault: readers and writers for 60 s with PostgreSQL restarted in the middle; then overload.

Readers fetch grid tiles and city-wide statistics; writers post incidents (each with a unique external id)
and edit one grid with If-Match. At --restart-at seconds the local cluster is restarted. Afterwards every
write that got a 2xx must be in the database exactly once. Loopback only; every loop is bounded.

Then (phase overload, bench/overload.py) 200 concurrent readers: no 5xx but 503 with Retry-After, /health
p99 < 100 ms throughout, recovery within 5 s.

    .venv/bin/python bench/load.py [--seconds 60] [--restart-at 20] [--phase restart|overload|all]

Restarts the shared local cluster (phases restart and all): run those when nothing else uses the database.
`--phase overload` does not restart it.
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.ops import pgcluster  # noqa: E402
from bench import overload  # noqa: E402
from bench._server import bench_settings, serve  # noqa: E402
from geo.settings import DEV_TOKEN  # noqa: E402

AUTH = {"Authorization": f"Bearer {DEV_TOKEN}"}
RETRYABLE = {502, 503, 504}


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.samples: dict[str, list[tuple[float, float, int]]] = defaultdict(list)  # op → (t, seconds, status)
        self.accepted_ids: list[str] = []
        self.grid_edits_ok = 0

    def add(self, op: str, t: float, seconds: float, status: int) -> None:
        with self.lock:
            self.samples[op].append((t, seconds, status))


def _call(
    client: httpx.Client, rec: Recorder, op: str, t0: float, method: str, url: str, **kw
) -> httpx.Response | None:
    start = time.perf_counter()
    try:
        r = client.request(method, url, **kw)
        status = r.status_code
    except httpx.HTTPError:
        r, status = None, 599
    rec.add(op, start - t0, time.perf_counter() - start, status)
    return r


def _with_retries(fn, attempts: int = 20):
    """Retry a safe request on 5xx/connection errors with a short backoff (idempotent operations only)."""
    for i in range(attempts):
        r = fn()
        if r is not None and r.status_code not in RETRYABLE:
            return r
        time.sleep(min(0.1 * (i + 1), 1.0))
    return r


def reader(base, rec, t0, stop, tiles, seed):
    rnd = random.Random(seed)
    with httpx.Client(base_url=base, headers=AUTH, timeout=10) as c:
        while not stop.is_set():
            if rnd.random() < 0.6:
                z, x, y = rnd.choice(tiles)
                _call(c, rec, "tile", t0, "GET", f"/tiles/grids/{z}/{x}/{y}.mvt")
            else:
                _call(
                    c,
                    rec,
                    "stats",
                    t0,
                    "GET",
                    "/api/v1/stats/compare",
                    params={"admin_code": "610300", "start": "2020-01-01", "end": "2021-01-01"},
                )


def incident_writer(base, rec, t0, stop, points, seed):
    rnd = random.Random(seed)
    with httpx.Client(base_url=base, headers=AUTH, timeout=10) as c:
        while not stop.is_set():
            lon, lat = rnd.choice(points)
            ext = f"load-{uuid.uuid4()}"
            doc = {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": {
                    "external_id": ext,
                    "category": "service",
                    "occurred_at": "2020-12-01T10:00:00+08:00",
                },
            }
            # Safe to retry: the external id makes a repeated post an update, never a duplicate.
            r = _with_retries(
                lambda doc=doc: _call(c, rec, "incident_post", t0, "POST", "/api/v1/incidents", json=doc)
            )
            if r is not None and r.status_code in (200, 201):
                with rec.lock:
                    rec.accepted_ids.append(ext)


def grid_editor(base, rec, t0, stop, code):
    with httpx.Client(base_url=base, headers=AUTH, timeout=10) as c:
        n = 0
        while not stop.is_set():
            got = _with_retries(lambda: _call(c, rec, "grid_get", t0, "GET", f"/api/v1/grids/{code}"))
            if got is None or got.status_code != 200:
                continue
            n += 1
            r = _call(
                c,
                rec,
                "grid_patch",
                t0,
                "PATCH",
                f"/api/v1/grids/{code}",
                headers={"If-Match": got.headers["etag"]},
                params={"reason": "load test"},
                json={"properties": {"grid_worker": f"压测{n}"}},
            )
            if r is not None and r.status_code == 200:
                with rec.lock:
                    rec.grid_edits_ok += 1


def restart_postgres(settings) -> float:
    start = time.perf_counter()
    pgcluster._run_as_postgres(
        [
            pgcluster.PG_BIN / "pg_ctl",
            "-D",
            settings.pg_dir,
            "-m",
            "fast",
            "-w",
            "restart",
            "-l",
            settings.data_dir / "postgres.log",
        ]
    )
    return time.perf_counter() - start


def _sample_inputs(settings):
    with psycopg.connect(pgcluster.libpq_url(settings.owner_database_url)) as conn:
        code, version = conn.execute(
            "SELECT code, version FROM grids WHERE status = 'active' ORDER BY code LIMIT 1"
        ).fetchone()
        pts = conn.execute(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM grids ORDER BY code LIMIT 300) s"
        ).fetchall()
        ext = conn.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
            "(SELECT ST_Extent(geom)::geometry e FROM grids) s"
        ).fetchone()
    return code, version, [tuple(p) for p in pts], ext


def _tiles_for(ext, zooms=(12, 13, 14)) -> list[tuple[int, int, int]]:
    import math

    def tile(lon, lat, z):
        n = 2**z
        x = int((lon + 180) / 360 * n)
        y = int((1 - math.log(math.tan(math.radians(lat)) + 1 / math.cos(math.radians(lat))) / math.pi) / 2 * n)
        return x, y

    out = []
    for z in zooms:
        x1, y1 = tile(ext[0], ext[3], z)
        x2, y2 = tile(ext[2], ext[1], z)
        out += [(z, x, y) for x in range(x1, min(x2, x1 + 6) + 1) for y in range(y1, min(y2, y1 + 6) + 1)]
    return out


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--restart-at", type=float, default=20)
    ap.add_argument("--db", default="citygrid_loadbench")
    ap.add_argument("--readers", type=int, default=4)
    ap.add_argument("--writers", type=int, default=2)
    ap.add_argument("--phase", choices=["restart", "overload", "all"], default="all")
    ap.add_argument("--overload-readers", type=int, default=200)
    ap.add_argument("--overload-seconds", type=float, default=30)
    args = ap.parse_args()

    settings = bench_settings(args.db)
    with psycopg.connect(pgcluster.libpq_url(settings.owner_database_url)) as conn:
        has_grids = conn.execute("SELECT count(*) FROM grids").fetchone()[0]
    if not has_grids:
        from geo.demo.load import load_demo

        print("loading the Baoji demo into", args.db, flush=True)
        load_demo(settings)
    code, _, points, ext = _sample_inputs(settings)
    tiles = _tiles_for(ext)
    if args.phase == "overload":  # no restart: safe beside other users of the cluster
        with serve(settings) as base:
            return 0 if overload.run(base, AUTH, tiles, args.overload_seconds, args.overload_readers) else 1
    rec = Recorder()
    stop = threading.Event()
    with serve(settings) as base:
        t0 = time.perf_counter()
        threads = [
            threading.Thread(target=reader, args=(base, rec, t0, stop, tiles, i)) for i in range(args.readers)
        ]
        threads += [
            threading.Thread(target=incident_writer, args=(base, rec, t0, stop, points, 100 + i))
            for i in range(args.writers)
        ]
        threads.append(threading.Thread(target=grid_editor, args=(base, rec, t0, stop, code)))
        for t in threads:
            t.start()
        time.sleep(args.restart_at)
        restart_at = time.perf_counter() - t0
        took = restart_postgres(settings)
        print(f"PostgreSQL restarted at t={restart_at:.1f}s (pg_ctl restart took {took:.2f}s)", flush=True)
        time.sleep(max(0.0, args.seconds - args.restart_at - took))
        stop.set()
        for t in threads:
            t.join(30)
        elapsed = time.perf_counter() - t0

    window = (restart_at - 0.5, restart_at + took + 5)
    print(
        f"\n{'operation':<14}{'requests':>9}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'in restart window':>19}"
    )
    for op, rows in sorted(rec.samples.items()):
        ok = [s for (_, s, st) in rows if st < 500]
        errors = [t for (t, _, st) in rows if st >= 500]
        in_window = sum(window[0] <= t <= window[1] for t in errors)
        print(
            f"{op:<14}{len(rows):>9}{len(rows) / elapsed:>8.1f}{_pct(ok, 0.5) * 1e3:>9.1f}{_pct(ok, 0.99) * 1e3:>9.1f}"
            f"{len(errors):>8}{in_window:>19}"
        )

    with psycopg.connect(pgcluster.libpq_url(settings.owner_database_url)) as conn:
        found = dict(
            conn.execute(
                "SELECT external_id, count(*) FROM incidents WHERE external_id = ANY(%s) GROUP BY external_id",
                (rec.accepted_ids,),
            ).fetchall()
        )
        version = conn.execute("SELECT version FROM grids WHERE code = %s", (code,)).fetchone()[0]
        versions = conn.execute("SELECT count(*) FROM grid_versions WHERE grid_code = %s", (code,)).fetchone()[0]
    missing = [e for e in rec.accepted_ids if e not in found]
    duplicated = [e for e, n in found.items() if n > 1]
    print(
        f"\naccepted incident posts: {len(rec.accepted_ids)}; in the database: {len(found)}; "
        f"missing: {len(missing)}; duplicated: {len(duplicated)}"
    )
    print(f"grid {code}: {rec.grid_edits_ok} edits acknowledged; version now {version}; {versions} versions kept")
    lost_edits = version - 1 < rec.grid_edits_ok
    healthy_after = any(t > window[1] and st < 500 for rows in rec.samples.values() for (t, _, st) in rows)
    print(f"recovered after the restart by itself: {'yes' if healthy_after else 'NO'}")
    ok = not missing and not duplicated and not lost_edits and healthy_after
    print("RESULT:", "every acknowledged write is in the database exactly once" if ok else "FAILED")
    if args.phase == "all":
        with serve(settings) as base:
            ok = overload.run(base, AUTH, tiles, args.overload_seconds, args.overload_readers) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
