"""Ingest benchmark: 1,000,000 clustered points, file → incidents rows with grid ids, vs geopandas sjoin.

    .venv/bin/python -m bench.assign [--points 1000000] [--runs 3] [--no-post]

Uses the configured database if it holds the demo's grids (SELECT count(*) FROM grids), otherwise a
database <name>_assign_bench with 1,537 synthetic grids (bench/synthetic_grids.py). Each timed import runs
in a transaction that is rolled back (and the table vacuumed) so runs start alike and the demo data is left
as it was. Printed: medians of the runs for our end-to-end import, our assignment alone (dry run: file →
checked rows with grid ids, their external ids looked up, nothing written), geopandas (CSV → points → sjoin within), the ratios, the time to re-assign
after merging a ~10,000-incident grid into its neighbour, and single-POST latency over real HTTP.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from api.ops import pgcluster
from bench import post_latency, synthetic_grids
from geo.assignment import sql_rule as assign
from geo.incidents import import_incidents, read_csv
from geo.pg import migrate
from geo.settings import Settings

DEMO_TABLES = {  # copied in foreign-key order; parents before children
    "admin_units": "ORDER BY length(code), code",
    "grids": "ORDER BY code",
    "compounds": "ORDER BY id",
    "incidents": "ORDER BY id",
}


def database(settings: Settings) -> tuple[Settings, str]:
    """Settings for <db>_assign_bench, holding the demo's tree, grids, compounds and incidents if the demo is
    loaded in the configured database (copied once), else 1,537 synthetic grids. The demo itself is never
    written to: a 1M-row transaction there would hold its daily roll-up rows against every other writer."""
    name = f"{make_url(settings.owner_database_url).database}_assign_bench"
    bench = settings.model_copy(
        update={
            k: make_url(getattr(settings, k)).set(database=name).render_as_string(hide_password=False)
            for k in ("database_url", "owner_database_url")
        }
    )
    pgcluster.bootstrap_database(bench, name)
    migrate(bench.owner_database_url)
    demo = create_engine(settings.owner_database_url)
    try:
        with demo.connect() as conn:
            demo_codes = conn.execute(
                text(
                    "SELECT count(*), md5(string_agg(code, ',' ORDER BY code)) FROM grids WHERE status = 'active'"
                )
            ).one()
    except Exception:  # no demo database or schema: the self-contained grids will do
        demo_codes = (0, None)
    target = create_engine(bench.owner_database_url)
    with target.begin() as conn:
        have = conn.execute(
            text("SELECT count(*), md5(string_agg(code, ',' ORDER BY code)) FROM grids WHERE status = 'active'")
        ).one()
        if demo_codes[0] >= 1000:
            if tuple(have) != tuple(demo_codes):
                _copy_demo(demo, conn)
            return bench, "the demo's grids, compounds and incidents"
        if have[0] == 0:
            synthetic_grids.load(conn)
    return bench, "synthetic grids"


def _copy_demo(demo, conn) -> None:
    """Replace the bench database's content with the demo's tables (binary COPY, stream to stream)."""
    conn.execute(text("TRUNCATE " + ", ".join(reversed(list(DEMO_TABLES))) + ", grid_versions, audit_log CASCADE"))
    target = conn.connection.driver_connection
    with demo.connect() as src_conn:
        source = src_conn.connection.driver_connection
        for table, order in DEMO_TABLES.items():
            with (
                source.cursor().copy(f"COPY (SELECT * FROM {table} {order}) TO STDOUT (FORMAT BINARY)") as out,
                target.cursor().copy(f"COPY {table} FROM STDIN (FORMAT BINARY)") as into,
            ):
                for block in out:
                    into.write(block)
    for table in ("compounds", "incidents"):
        conn.execute(
            text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), coalesce(max(id), 1)) FROM {table}")
        )
    conn.execute(text("ANALYZE"))


def make_points(engine, n: int, seed: int, path: Path) -> None:
    """n points: 75% in hot spots around random grids, 23% spread over the grids, 2% just outside."""
    with engine.connect() as conn:
        centres = np.array(
            conn.execute(
                text(
                    "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_PointOnSurface(geom) c FROM grids WHERE status = 'active') g"
                )
            ).all()
        )
        x0, y0, x1, y1 = conn.execute(
            text(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) e FROM grids) g"
            )
        ).one()
    rng = np.random.default_rng(seed)
    hot = centres[rng.choice(len(centres), 300, replace=False)]
    n_hot, n_out = int(n * 0.75), int(n * 0.02)
    pick = rng.integers(0, len(hot), n_hot)
    lon = np.concatenate([hot[pick, 0] + rng.normal(0, 0.003, n_hot), rng.uniform(x0, x1, n - n_hot - n_out)])
    lat = np.concatenate([hot[pick, 1] + rng.normal(0, 0.002, n_hot), rng.uniform(y0, y1, n - n_hot - n_out)])
    side = rng.choice([-1, 1], n_out)
    lon = np.concatenate([lon, np.where(side > 0, x1, x0) + side * rng.uniform(0.001, 0.05, n_out)])
    lat = np.concatenate([lat, rng.uniform(y0, y1, n_out)])
    perm = rng.permutation(n)
    seconds = rng.integers(0, 730 * 86400, n)
    occurred = np.datetime64("2023-01-01T00:00:00", "s") + seconds.astype("timedelta64[s]")
    cats = np.array(["preventable", "property", "dispute", "hazard", "service", "other"])
    frame = pd.DataFrame(
        {
            "external_id": np.char.add(f"B{seed}-", np.arange(n).astype(str)),
            "lon": np.round(lon[perm], 7),
            "lat": np.round(lat[perm], 7),
            "category": cats[rng.choice(6, n, p=[0.2, 0.25, 0.25, 0.15, 0.1, 0.05])],
            "occurred_at": np.char.add(np.datetime_as_string(occurred), "+08:00"),
        }
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)


def points_file(engine, settings: Settings, n: int, seed: int) -> Path:
    """The benchmark's CSV of n points for these grids, made once (make_points) and reused."""
    with engine.connect() as conn:
        grids_key = conn.execute(
            text("SELECT left(md5(string_agg(code, ',' ORDER BY code)), 8) FROM grids")
        ).scalar()
    path = settings.data_dir / "bench" / f"incidents_{n}_{seed}_{grids_key}.csv"
    if not path.exists():
        make_points(engine, n, seed, path)
    return path


def ours(factory, settings: Settings, path: Path, prefix: str, dry_run: bool, reassign: bool) -> dict[str, float]:
    """One timed import (file → rows with grid ids), rolled back afterwards."""
    stamps: dict[str, float] = {}

    def progress(stage: str, done: int, total: int) -> None:
        stamps.setdefault(stage, time.perf_counter())

    out: dict[str, float] = {}
    with factory() as session:
        start = time.perf_counter()
        raw = read_csv(path)
        stamps["check"] = time.perf_counter()
        summary = import_incidents(session, settings, raw, progress=progress, dry_run=dry_run, actor="bench")
        end = time.perf_counter()
        out.update(total=end - start, read=stamps["check"] - start, check=stamps["assign"] - stamps["check"])
        out.update(assign=stamps["encode"] - stamps["assign"], stage=stamps["insert"] - stamps["encode"])
        out["insert"] = end - stamps["insert"]
        if not dry_run:
            stored = session.execute(
                text("SELECT count(*), count(grid_code) FROM incidents WHERE external_id LIKE :p"),
                {"p": prefix + "%"},
            ).one()
            assert stored[0] == len(raw) and stored[1] == len(raw) - summary["outside_jurisdiction"], stored
            out["outside"] = summary["outside_jurisdiction"]
            if reassign:
                out.update(merge_and_reassign(session))
        session.rollback()
    return out


def merge_and_reassign(session: Session, target: int = 10_000) -> dict[str, float]:
    """Merge the grids nearest the busiest one into it until ~target incidents move; time reassign_area."""
    counts = dict(
        session.execute(
            text("SELECT grid_code, count(*) FROM incidents WHERE grid_code IS NOT NULL GROUP BY 1")
        ).all()
    )
    busiest = max(counts, key=lambda c: counts[c])
    nearest = (
        session.execute(
            text(
                """SELECT n.code FROM grids n, grids b WHERE b.code = :b AND n.code <> :b AND n.status = 'active'
               ORDER BY ST_Centroid(n.geom) <-> ST_Centroid(b.geom) LIMIT 200"""
            ),
            {"b": busiest},
        )
        .scalars()
        .all()
    )
    absorbed, moved = [], 0
    for code in nearest:
        if moved >= target:
            break
        absorbed.append(code)
        moved += counts.get(code, 0)
    area = session.execute(
        text("SELECT ST_AsEWKB(ST_Union(geom)) FROM grids WHERE code = ANY(:a)"), {"a": absorbed}
    ).scalar_one()
    session.execute(
        text("UPDATE grids SET geom = ST_Multi(ST_Union(geom, ST_GeomFromEWKB(:a))) WHERE code = :b"),
        {"a": bytes(area), "b": busiest},
    )
    session.execute(text("UPDATE grids SET status = 'retired' WHERE code = ANY(:a)"), {"a": absorbed})
    t = time.perf_counter()
    result = assign.reassign_area(session, bytes(area))
    return {"reassign_s": time.perf_counter() - t, "reassigned": result["incidents_changed"]}


def peer(grids, path: Path) -> tuple[float, float]:
    """geopandas: the same CSV's lon/lat → point GeoDataFrame → sjoin(points within grids); (total, sjoin alone)."""
    import geopandas as gpd

    start = time.perf_counter()
    frame = pd.read_csv(path, usecols=["lon", "lat"])
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs=4326)
    joined_at = time.perf_counter()
    joined = gpd.sjoin(points, grids, predicate="within", how="left")
    end = time.perf_counter()
    assert len(joined) >= len(frame)
    return end - start, end - joined_at


def compare(args, settings: Settings, engine, owner, grids, path: Path) -> None:
    """The timed ingest runs, ours and geopandas, and the printed medians."""
    prefix = f"B{args.seed}-"

    def factory() -> Session:
        return Session(engine)

    runs: dict[str, list] = {"ours": [], "dry": [], "peer": []}
    for i in range(args.runs):
        runs["ours"].append(ours(factory, settings, path, prefix, dry_run=False, reassign=True))
        with owner.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM incidents"))
        runs["dry"].append(ours(factory, settings, path, prefix, dry_run=True, reassign=False))
        runs["peer"].append(peer(grids, path))
        print(
            f"  run {i + 1}: ours {runs['ours'][-1]['total']:.2f} s, dry run {runs['dry'][-1]['total']:.2f} s, "
            f"geopandas {runs['peer'][-1][0]:.2f} s (sjoin {runs['peer'][-1][1]:.2f} s)",
            flush=True,
        )

    def med(kind: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[kind])

    ours_t, dry_t = med("ours", "total"), med("dry", "total")
    peer_t, sjoin_t = (statistics.median(r[k] for r in runs["peer"]) for k in (0, 1))
    n = args.points
    print(f"ours, end to end (CSV → incidents rows with grid ids): {ours_t:6.2f} s  {n / ours_t:>10,.0f} points/s")
    parts = ", ".join(f"{k} {med('ours', k):.2f} s" for k in ("read", "check", "assign", "stage", "insert"))
    print(
        f"    of which {parts} (assign: in memory; stage: encode and send by COPY, in parts, while the database "
        "inserts; insert: the database finishing the rows, their indexes and the daily roll-up)"
    )
    print(
        f"ours, assignment only (dry run: CSV → checked rows with grid ids, nothing written): {dry_t:6.2f} s  "
        f"{n / dry_t:>10,.0f} points/s"
    )
    parts = ", ".join(f"{k} {med('dry', k):.2f} s" for k in ("read", "check", "assign", "stage", "insert"))
    print(f"    of which {parts.replace('insert', 'count')} (stage: COPY the external ids; count: those stored)")
    print(f"geopandas (CSV lon/lat → points → sjoin within):  {peer_t:6.2f} s  {n / peer_t:>10,.0f} points/s")
    print(f"    of which sjoin alone (points in memory): {sjoin_t:.2f} s  {n / sjoin_t:,.0f} points/s")
    assign_t = med("ours", "assign")
    print(
        f"point in polygon alone, same points: ours {assign_t:.2f} s (grid, compound and gap tree) against sjoin "
        f"{sjoin_t:.2f} s (grid): {sjoin_t / assign_t:.1f}x"
    )
    print(
        f"ratio geopandas/ours: end to end {peer_t / ours_t:.2f}x, assignment only {peer_t / dry_t:.2f}x (>1: ours faster)"
    )
    print(
        f"reassign_area after merging a grid: {med('ours', 'reassigned'):,.0f} incidents re-assigned in "
        f"{med('ours', 'reassign_s') * 1000:.0f} ms"
    )
    print("load average now: " + " ".join(f"{x:.1f}" for x in os.getloadavg()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--no-post", action="store_true", help="skip the HTTP latency part")
    parser.add_argument("--post-only", action="store_true", help="only the HTTP latency part")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes for the POST part")
    args = parser.parse_args()
    import geopandas as gpd

    settings, source = database(Settings())
    settings = settings.model_copy(update={"max_bulk_features": max(args.points, settings.max_bulk_features)})
    engine, owner = create_engine(settings.database_url), create_engine(settings.owner_database_url)
    path = points_file(engine, settings, args.points, args.seed)
    with engine.connect() as conn:
        n_grids = conn.execute(text("SELECT count(*) FROM grids WHERE status = 'active'")).scalar_one()
        grids = gpd.read_postgis("SELECT code, geom FROM grids WHERE status = 'active'", conn, geom_col="geom")
    print(f"{args.points:,} points ({path.name}), {n_grids} grids ({source}), {args.runs} runs, medians")
    print(
        "load average at start (2 cores shared with other work): " + " ".join(f"{x:.1f}" for x in os.getloadavg())
    )

    if not args.post_only:
        compare(args, settings, engine, owner, grids, path)
    if not args.no_post:
        lon, lat = (pd.read_csv(path, usecols=["lon", "lat"], nrows=5000)[c].to_numpy() for c in ("lon", "lat"))
        post = post_latency.measure(
            settings.database_url, settings.owner_database_url, owner, lon, lat, workers=args.workers
        )
        print(
            f"single POST /api/v1/incidents, 1,000 requests, 10 clients, uvicorn ({args.workers} worker(s)) on 127.0.0.1: "
            f"p50 {post['p50_ms']:.1f} ms, p99 {post['p99_ms']:.1f} ms, {post['req_per_s']:.0f} req/s"
        )
        one = post["single"]
        print(
            f"    the same from one client ({one['count']:.0f} requests in sequence): "
            f"p50 {one['p50_ms']:.1f} ms, p99 {one['p99_ms']:.1f} ms, {one['req_per_s']:.0f} req/s"
        )


if __name__ == "__main__":
    main()
