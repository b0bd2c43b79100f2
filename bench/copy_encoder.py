"""Why the binary COPY encoder is our own: geo.pg.pgcopy against psycopg's own COPY (write_row), same rows.

    .venv/bin/python -m bench.copy_encoder [--rows 1000000] [--db citygrid_bench_copy] [--runs 3]

Both write the same incident-like rows (a point, a category, an occurred_at, a grid code from 1,537 words, an
external id) into a temporary table in one transaction, rolled back: psycopg's binary COPY with `write_row`
(it adapts each Python value) and ours (geo.pg.pgcopy.build from numpy columns, one write). Prints the median of
--runs for each, split into Python encoding and the whole COPY, and the ratio. A database to write into is made
if missing (no demo needed).
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time

import numpy as np
import psycopg

from bench._server import bench_settings
from geo.pg import pgcopy
from geo.pg.db import libpq_url

DDL = (
    "CREATE TEMP TABLE copy_bench (geom geometry(Point, 4326), category int2, occurred_at timestamptz, "
    "grid_code text, external_id text) ON COMMIT DROP"
)
COLUMNS = "geom, category, occurred_at, grid_code, external_id"


def rows_of(n: int, seed: int = 20201220) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    grids = np.array([f"610302{i:09d}" for i in range(1537)], dtype=object)
    return {
        "lon": rng.uniform(106.2, 108.0, n),
        "lat": rng.uniform(33.6, 35.1, n),
        "category": rng.integers(0, 6, n).astype(np.int16),
        "occurred_at": np.datetime64("2019-01-01T00:00:00", "us")
        + rng.integers(0, 2 * 365 * 86_400, n).astype("timedelta64[s]"),
        "grid": rng.integers(0, len(grids), n),
        "grids": grids,
        "external_id": np.array([f"JQ{i:010d}" for i in range(n)], dtype=object),
    }


def ours(conn: psycopg.Connection, r: dict[str, np.ndarray]) -> tuple[float, float]:
    t0 = time.perf_counter()
    payload = pgcopy.build(
        [
            pgcopy.point_ewkb(r["lon"], r["lat"]),
            pgcopy.fixed(r["category"], "int2"),
            pgcopy.fixed(r["occurred_at"], "timestamptz"),
            pgcopy.coded(r["grid"], list(r["grids"])),
            pgcopy.text(r["external_id"]),
        ]
    )
    t1 = time.perf_counter()
    with conn.cursor().copy(f"COPY copy_bench ({COLUMNS}) FROM STDIN (FORMAT binary)") as copy:
        copy.write(payload)
    return t1 - t0, time.perf_counter() - t0


def theirs(conn: psycopg.Connection, r: dict[str, np.ndarray]) -> tuple[float, float]:
    # What psycopg offers: Python values per row, adapted by its binary dumpers (EWKB bytes for the point,
    # as PostGIS's geometry_recv reads them, which is also what ours sends).
    t0 = time.perf_counter()
    ewkb = pgcopy.point_ewkb(r["lon"], r["lat"]).data
    points = [bytes(b) for b in ewkb]
    cats = r["category"].tolist()
    times = [dt.datetime(2000, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=int(us)) for us in
             (r["occurred_at"].astype(np.int64) - 946_684_800_000_000)]  # fmt: skip
    grids = r["grids"][r["grid"]].tolist()
    ids = r["external_id"].tolist()
    t1 = time.perf_counter()
    with conn.cursor().copy(f"COPY copy_bench ({COLUMNS}) FROM STDIN (FORMAT binary)") as copy:
        copy.set_types(["bytea", "int2", "timestamptz", "text", "text"])
        for row in zip(points, cats, times, grids, ids, strict=True):
            copy.write_row(row)
    return t1 - t0, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--db", default="citygrid_bench_copy")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    settings = bench_settings(args.db)
    r = rows_of(args.rows)
    results: dict[str, list[tuple[float, float]]] = {"ours": [], "psycopg": []}
    with psycopg.connect(libpq_url(settings.owner_database_url)) as conn:
        for _ in range(args.runs):
            for name, fn in (("ours", ours), ("psycopg", theirs)):
                conn.execute(DDL)
                results[name].append(fn(conn, r))
                stored = conn.execute("SELECT count(*), count(DISTINCT external_id) FROM copy_bench").fetchone()
                assert stored == (args.rows, args.rows), stored
                conn.rollback()
    print(f"binary COPY of {args.rows:,} incident-like rows, median of {args.runs} (s)")
    print(f"{'':<10}{'prepare/encode':>16}{'whole COPY':>12}")
    med = {k: (statistics.median(a for a, _ in v), statistics.median(b for _, b in v)) for k, v in results.items()}
    for name, (enc, whole) in med.items():
        print(f"{name:<10}{enc:>16.2f}{whole:>12.2f}")
    print(f"ratio ours/psycopg (whole COPY): {med['ours'][1] / med['psycopg'][1]:.2f}")


if __name__ == "__main__":
    main()
