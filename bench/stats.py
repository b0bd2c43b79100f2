"""Bench: the city-wide period comparison (2020 vs the prior window) over 1M incidents; peer: pandas groupby.

    .venv/bin/python -m bench.stats [--rows 1000000] [--runs 20] [--db citygrid_stats_bench] [--rebuild]

Creates (once) a bench database with the city, its 12 counties and N synthetic incidents spread uniformly over
2019–2020 local time (generate_series in SQL), then prints the median of --runs calls of
geo.stats.compare_periods(…, '610300', 2020-01-01, 2021-01-01) as the API role, the plan of its count query,
and the peer figure: the same comparison by a pandas groupby on the same rows already pulled into memory.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import statistics
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
from rich.console import Console
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from api.ops import pgcluster
from geo import stats
from geo.pg import migrate
from geo.settings import Settings

COUNTIES = [
    "610302", "610303", "610304", "610305", "610323", "610324",
    "610326", "610327", "610328", "610329", "610330", "610331",
]  # fmt: skip
START, END = dt.date(2020, 1, 1), dt.date(2021, 1, 1)
console = Console()


def bench_settings(dbname: str) -> Settings:
    base = Settings()

    def swap(url: str) -> str:
        return make_url(url).set(database=dbname).render_as_string(hide_password=False)

    return base.model_copy(
        update={"database_url": swap(base.database_url), "owner_database_url": swap(base.owner_database_url)}
    )


def box(x1: float, y1: float, x2: float, y2: float) -> str:
    return f"SRID=4326;MULTIPOLYGON((({x1} {y1},{x2} {y1},{x2} {y2},{x1} {y2},{x1} {y1})))"


GENERATE = """
    INSERT INTO incidents (category, status, occurred_at, grid_code, community_code, town_code, county_code,
                           outside_jurisdiction, synthetic, geom)
    SELECT cat, st, ts, k || t || c || g, k || t || c, k || t, k, k IS NULL, true,
           ST_SetSRID(ST_MakePoint(106.2 + random() * 1.6, 33.6 + random() * 1.3), 4326)
    FROM (
        SELECT CASE WHEN r < 0.20 THEN 'preventable' WHEN r < 0.45 THEN 'property' WHEN r < 0.65 THEN 'dispute'
                    WHEN r < 0.75 THEN 'hazard' WHEN r < 0.95 THEN 'service' ELSE 'other' END AS cat,
               (ARRAY['reported','assigned','in_progress','mediated','resolved','closed'])[1 + (n % 6)] AS st,
               timestamptz '2019-01-01 00:00+08' + random() * interval '731 days' AS ts,
               CASE WHEN random() < 0.015 THEN NULL
                    ELSE (CAST(:counties AS text[]))[1 + floor(random() * 12)::int] END AS k,
               lpad((1 + floor(random() * 10))::int::text, 3, '0') AS t,
               lpad((1 + floor(random() * 10))::int::text, 3, '0') AS c,
               lpad((1 + floor(random() * 10))::int::text, 3, '0') AS g
        FROM (SELECT n, random() AS r FROM generate_series(1, CAST(:rows AS int)) n) s
    ) x
"""


def ensure_data(settings: Settings, rows: int, rebuild: bool) -> None:
    """The bench database, migrated, holding exactly `rows` synthetic incidents (made once)."""
    dbname = make_url(settings.owner_database_url).database
    pgcluster.bootstrap_database(settings, dbname)
    migrate(settings.owner_database_url)
    owner = create_engine(settings.owner_database_url)
    with owner.begin() as conn:
        have = conn.execute(text("SELECT count(*) FROM incidents")).scalar_one()
    if have == rows and not rebuild:
        console.print(f"bench database {dbname}: {have:,} incidents already loaded")
        owner.dispose()
        return
    t0 = time.perf_counter()
    with owner.begin() as conn:
        conn.execute(text("TRUNCATE incidents, admin_units CASCADE"))
        conn.execute(
            text("INSERT INTO admin_units (code, name, level, geom) VALUES ('610300', '宝鸡市', 'city', :g)"),
            {"g": box(106.2, 33.6, 107.8, 34.9)},
        )
        for k, code in enumerate(COUNTIES):
            x = 106.2 + k * 1.6 / 12
            conn.execute(
                text(
                    "INSERT INTO admin_units (code, name, level, parent_code, synthetic, geom) "
                    "VALUES (:c, :n, 'county', '610300', true, ST_GeomFromEWKT(:g))"
                ),
                {"c": code, "n": code, "g": box(x, 33.6, x + 1.6 / 12, 34.9)},
            )
        with console.status(f"generating {rows:,} incidents with generate_series"):
            conn.execute(text(GENERATE), {"rows": rows, "counties": COUNTIES})
    with owner.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # Index-only scans need the visibility map; autovacuum would set it too, a little later.
        conn.execute(text("VACUUM ANALYZE incidents"))
    owner.dispose()
    console.print(f"loaded {rows:,} incidents in {time.perf_counter() - t0:.1f} s")


def median_ms(fn: Callable[[], object], runs: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def pandas_comparison(df: pd.DataFrame) -> pd.DataFrame:
    """The same comparison in pandas (vectorised): city rows, current vs prior window, per category."""
    cur = stats.make_window(START, END)
    prev = stats.previous_window(cur, "prior")
    city = df[df["county_code"].notna()]
    ts = city["occurred_at"]
    period = np.where(
        (ts >= cur.start_at) & (ts < cur.end_at), 0, np.where((ts >= prev.start_at) & (ts < prev.end_at), 1, -1)
    ).astype(np.int8)
    counts = city.groupby([city["category"], period], observed=True).size().unstack(fill_value=0)
    return counts.rename(columns={0: "current", 1: "previous"})


def trigger_cost(settings: Settings, rows: int) -> tuple[float, float]:
    """Seconds to insert `rows` incidents with and without the roll-up triggers (both rolled back)."""
    owner = create_engine(settings.owner_database_url)
    out = []
    for enabled in (True, False):
        with owner.connect() as conn:
            tx = conn.begin()
            if not enabled:
                conn.execute(text("ALTER TABLE incidents DISABLE TRIGGER USER"))
            t0 = time.perf_counter()
            conn.execute(text(GENERATE), {"rows": rows, "counties": COUNTIES})
            out.append(time.perf_counter() - t0)
            tx.rollback()
    owner.dispose()
    return out[0], out[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--db", default="citygrid_stats_bench")
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--trigger-rows", type=int, default=0, help="also time inserting this many rows ± triggers")
    args = ap.parse_args()
    settings = bench_settings(args.db)
    ensure_data(settings, args.rows, args.rebuild)

    engine = create_engine(settings.database_url)  # the API's least-privilege role
    seen: list[tuple[str, object]] = []
    event.listen(
        engine, "before_cursor_execute", lambda c, cur, stmt, params, ctx, many: seen.append((stmt, params))
    )
    cur, prev = stats.make_window(START, END), stats.previous_window(stats.make_window(START, END))
    with Session(engine) as session:
        scope = stats.resolve_scope(session, "610300")

        def ours() -> stats.Comparison:
            try:
                return stats.compare_periods(session, "610300", START, END)
            finally:
                session.rollback()

        def scan() -> dict:
            try:
                return stats.windowed_counts(session, scope, [cur, prev], None, ("category",), use_rollup=False)
            finally:
                session.rollback()

        plans = {}
        result = ours()
        ours_ms = median_ms(ours, args.runs)
        plans["roll-up"] = seen[-1]
        scanned = scan()
        scan_ms = median_ms(scan, args.runs)
        plans["scan of incidents"] = seen[-1]
        assert {k[0]: v for k, v in scanned.items()} == {
            c.category: [c.current, c.previous] for c in result.by_category
        }
        for name, (sql, params) in plans.items():
            rows = session.connection().exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            plans[name] = [r[0] for r in rows]
            session.rollback()

        t0 = time.perf_counter()
        buf = io.BytesIO()
        raw = session.connection().connection.driver_connection
        pull = (
            "COPY (SELECT category, occurred_at, county_code FROM incidents "
            "WHERE occurred_at >= %s AND occurred_at < %s) TO STDOUT (FORMAT CSV, HEADER)"
        )
        with raw.cursor() as cursor, cursor.copy(pull, (prev.start_at, cur.end_at)) as copy:
            for block in copy:
                buf.write(block)
        buf.seek(0)
        df = pd.read_csv(buf, dtype={"category": "category", "county_code": "string"})
        df["occurred_at"] = pd.to_datetime(df["occurred_at"], utc=True, format="ISO8601")
        pull_s = time.perf_counter() - t0
    engine.dispose()
    peer = pandas_comparison(df)
    for c in result.by_category:  # same figures, or the timing compares different work
        assert (peer.loc[c.category, "current"], peer.loc[c.category, "previous"]) == (c.current, c.previous)
    peer_ms = median_ms(lambda: pandas_comparison(df), args.runs)

    for name, lines in plans.items():
        console.print(f"\n[bold]plan: {name}[/bold]")
        for line in lines:
            console.print("  " + line, markup=False, highlight=False, soft_wrap=True)
    t = result.total
    console.print(
        f"\ncity 2020 vs prior window: current {t.current:,}, previous {t.previous:,}, "
        f"change {t.percent_change}%, exact two-Poisson p {t.p_value} ({t.status})   (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
    )
    console.print(
        f"ours  compare_periods via the daily roll-up (app role)  median {ours_ms:8.1f} ms of {args.runs}"
    )
    console.print(
        f"      same counts by one FILTER scan of incidents       median {scan_ms:8.1f} ms of {args.runs}"
    )
    console.print(
        f"peer  pandas groupby on {len(df):,} rows in memory     median {peer_ms:8.1f} ms of {args.runs}"
    )
    console.print(f"      (pulling those rows into pandas first took {pull_s * 1000:,.0f} ms, not counted)")
    console.print(f"ratio peer / ours = {peer_ms / ours_ms:.1f}×   (scan / roll-up = {scan_ms / ours_ms:.1f}×)")
    console.print(f"target ours < 200 ms: {'met' if ours_ms < 200 else 'NOT met'}")
    if args.trigger_rows:
        with_t, without_t = trigger_cost(settings, args.trigger_rows)
        console.print(
            f"insert {args.trigger_rows:,} incidents: {with_t:.2f} s with the roll-up triggers, "
            f"{without_t:.2f} s without ({(with_t / without_t - 1) * 100:+.0f}%)"
        )


if __name__ == "__main__":
    main()
