"""What writing 10⁶ incidents costs in PostgreSQL, index by index: the floor under bench/assign.py's import.

    .venv/bin/python -m bench.insert_floor [--points 1000000] [--runs 2]

The same rows bench/assign.py imports (its CSV, read, checked and assigned by our code) are encoded once
as the binary COPY the import sends, then COPYed into `incidents` of the bench database (a copy of the
demo, see bench/assign.py) under each variant below, each in a transaction that is rolled back, the table
vacuumed and (with the admin URL) a CHECKPOINT taken before the next, in interleaved order:

    as imported         every index and the daily roll-up trigger
    no roll-up          the trigger disabled
    no GiST             … and the GiST index on geom dropped
    no external_id      … and, instead, the unique index on external_id dropped
    heap + pkey         no secondary index and no trigger: the floor any durable, keyed table pays

Printed: the Python side (read, check, assign: what no database work can hide), then per variant the
median seconds, rows/s, WAL written and the ratio to the floor (heap + pkey), the peer in this run.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from bench.assign import database, points_file
from geo.assignment import memory_rule as assign_points
from geo.assignment.sql_rule import ASSIGNED
from geo.incidents import write_copy as incident_copy
from geo.incidents.checks import check, city_region
from geo.incidents.read_files import read_csv
from geo.pg import pgcopy
from geo.settings import Settings

OFF = "ALTER TABLE incidents DISABLE TRIGGER incidents_daily_counts_insert"
VARIANTS = {
    "as imported": [],
    "no roll-up": [OFF],
    "no GiST": [OFF, "DROP INDEX idx_incidents_geom"],
    "no external_id": [OFF, "ALTER TABLE incidents DROP CONSTRAINT incidents_external_id_key"],
    "heap + pkey": [
        OFF,
        "DROP INDEX idx_incidents_geom",
        "DROP INDEX ix_incidents_occurred_at",
        "ALTER TABLE incidents DROP CONSTRAINT incidents_external_id_key",
    ],
}


def payload(settings: Settings, engine, path: Path) -> tuple[memoryview | bytes, list[str], dict[str, float], int]:
    """The import's own COPY stream for the CSV, and how long our Python side took to get there."""
    times: dict[str, float] = {}
    with Session(engine) as session:
        start = time.perf_counter()
        raw = read_csv(path)
        times["read"] = time.perf_counter() - start
        start = time.perf_counter()
        rows = check(raw, city_region(session, settings.city_margin_km), settings.city_margin_km).rows
        times["check"] = time.perf_counter() - start
        assign_points.assign_points(session, rows.lon[:10], rows.lat[:10])  # build the indexes first
        start = time.perf_counter()
        hits = assign_points.assign_points(session, rows.lon, rows.lat)
        times["assign"] = time.perf_counter() - start
    order = np.argsort(rows.occurred_at, kind="stable")
    optional = list(rows.optional)
    data = pgcopy.build(incident_copy.incident_columns(rows, optional, hits, order, False))
    names = ["category", "occurred_at", "source_crs", "synthetic", "geom", *ASSIGNED, *optional]
    return data, names, times, len(rows)


def copy_once(owner, admin, data, names: list[str], setup: list[str]) -> tuple[float, float]:
    """(seconds, WAL MB) for one COPY of the payload under `setup`, rolled back."""
    with owner.connect() as conn:
        tx = conn.begin()
        conn.execute(text("SET LOCAL work_mem = '512MB'"))
        for sql in setup:
            conn.execute(text(sql))
        lsn = conn.execute(text("SELECT pg_current_wal_insert_lsn()")).scalar()
        raw = conn.connection.driver_connection
        start = time.perf_counter()
        with (
            raw.cursor() as cur,
            cur.copy(f"COPY incidents ({', '.join(names)}) FROM STDIN (FORMAT BINARY)") as cp,
        ):
            view = memoryview(data)
            for at in range(0, len(view), 1 << 20):
                cp.write(view[at : at + (1 << 20)])
        seconds = time.perf_counter() - start
        wal = conn.execute(text("SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), :l)"), {"l": lsn}).scalar()
        tx.rollback()
    with owner.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM incidents"))
    if admin is not None:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("CHECKPOINT"))
    return seconds, float(wal) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=20240601)
    args = parser.parse_args()
    settings, source = database(Settings())
    engine, owner = create_engine(settings.database_url), create_engine(settings.owner_database_url)
    try:
        admin = create_engine(make_url(settings.admin_database_url).set(database=owner.url.database))
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:  # no superuser here: runs go on without a CHECKPOINT between them
        admin = None
    path = points_file(engine, settings, args.points, args.seed)
    data, names, python, n = payload(settings, engine, path)
    side = sum(python.values())
    print(f"{n:,} rows ({path.name}) into incidents ({source}), {args.runs} runs each, medians")
    print(
        "our Python side: "
        + ", ".join(f"{k} {v:.2f} s" for k, v in python.items())
        + f" = {side:.2f} s, a ceiling of {n / side:,.0f} rows/s with a database that cost nothing"
    )
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in VARIANTS}
    for run in range(args.runs):
        names_in_order = list(VARIANTS) if run % 2 == 0 else list(reversed(VARIANTS))
        for name in names_in_order:
            results[name].append(copy_once(owner, admin, data, names, VARIANTS[name]))
            print(f"  run {run + 1}: {name:15s} {results[name][-1][0]:6.2f} s", flush=True)
    floor = statistics.median(r[0] for r in results["heap + pkey"])
    for name, runs in results.items():
        seconds = statistics.median(r[0] for r in runs)
        wal = statistics.median(r[1] for r in runs)
        print(
            f"{name:15s} {seconds:6.2f} s {n / seconds:>10,.0f} rows/s  WAL {wal:5.0f} MB  "
            f"{seconds / floor:4.1f}x the heap + pkey floor"
        )


if __name__ == "__main__":
    main()
