"""Bench: suggest a 4-hour walking patrol over 50 candidate stops; peer: the greedy baseline in the same run.

    .venv/bin/python -m bench.patrol [--runs 7] [--time-limit-ms 1000] [--roads] [--db citygrid_patrol_bench]

Builds (once) a bench database with one synthetic urban community of 2 × 2 km in 16 grids, 250 incidents
of the last 28 days clustered around 6 hot centres, 30 unrenovated compounds and 20 recent hazards; a
suggestion then sees 50 candidate stops (10 hot-spot grids + the 40 heaviest others). Prints the median
wall time of geo.patrols.suggest.suggest_patrol (candidates, legs, greedy + OR-Tools, schedule, coverage)
over --runs calls as the API role, and the weighted risk our plan covers against the greedy baseline
(best-ratio insertion) computed in the same call, with their ratio. --roads adds a street lattice every
100 m so that legs follow streets (scipy Dijkstra) and runs the bench again.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time

import numpy as np
import shapely
from rich.console import Console
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from api.ops import pgcluster
from bench.stats import bench_settings, box
from geo.patrols import roads
from geo.patrols.suggest import parse_request, suggest_patrol
from geo.pg import migrate
from geo.settings import Settings

console = Console()
AS_OF = dt.datetime(2024, 6, 1, 12, 0, tzinfo=dt.UTC)
X0, Y0 = 107.140, 34.360
DX, DY = 0.0218, 0.0180  # ≈ 2 km × 2 km at 34.37°N
COMMUNITY = "610303001001"
SEED = 7


def _tree(conn) -> None:
    rows = [
        ("610300", "宝鸡市", "city", None, box(X0, Y0, X0 + DX, Y0 + DY)),
        ("610303", "金台区", "county", "610300", box(X0, Y0, X0 + DX, Y0 + DY)),
        ("610303001", "基准街道", "town", "610303", box(X0, Y0, X0 + DX, Y0 + DY)),
        (COMMUNITY, "基准社区", "community", "610303001", box(X0, Y0, X0 + DX, Y0 + DY)),
    ]
    for code, name, level, parent, geom in rows:
        conn.execute(
            text(
                "INSERT INTO admin_units (code, name, level, parent_code, urban, synthetic, geom) "
                "VALUES (:c, :n, :l, :p, true, true, ST_GeomFromEWKT(:g))"
            ),
            dict(c=code, n=name, l=level, p=parent, g=geom),
        )
    for i in range(4):
        for j in range(4):
            x, y = X0 + i * DX / 4, Y0 + (3 - j) * DY / 4
            conn.execute(
                text(
                    "INSERT INTO grids (code, name, community_code, synthetic, geom) "
                    "VALUES (:c, :n, :m, true, ST_GeomFromEWKT(:g))"
                ),
                dict(
                    c=f"{COMMUNITY}{j * 4 + i + 1:03d}",
                    n=f"网格{j * 4 + i + 1}",
                    m=COMMUNITY,
                    g=box(x, y, x + DX / 4, y + DY / 4),
                ),
            )


def _points(rng: np.random.Generator, n: int, centres: np.ndarray, spread: float) -> np.ndarray:
    """n points around the centres (Gaussian, `spread` of the extent), clipped inside the community."""
    pick = centres[rng.integers(len(centres), size=n)]
    pts = pick + rng.normal(0, spread, (n, 2)) * [DX, DY]
    return np.clip(pts, [X0 + 1e-5, Y0 + 1e-5], [X0 + DX - 1e-5, Y0 + DY - 1e-5])


ASSIGNED_INSERT = """
    INSERT INTO incidents (category, occurred_at, grid_code, community_code, synthetic, geom)
    SELECT c, t, g.code, g.community_code, true, p.geom
    FROM unnest(CAST(:cats AS text[]), CAST(:ts AS timestamptz[]), CAST(:xs AS float8[]), CAST(:ys AS float8[]))
         AS u(c, t, x, y)
    CROSS JOIN LATERAL (SELECT ST_SetSRID(ST_MakePoint(u.x, u.y), 4326) AS geom) p
    JOIN grids g ON ST_Intersects(g.geom, p.geom)
"""


def ensure_data(settings: Settings, rebuild: bool) -> None:
    """The bench database with the synthetic community (made once; --rebuild remakes it)."""
    dbname = make_url(settings.owner_database_url).database
    pgcluster.bootstrap_database(settings, dbname)
    migrate(settings.owner_database_url)
    owner = create_engine(settings.owner_database_url)
    with owner.begin() as conn:
        have = conn.execute(text("SELECT count(*) FROM grids")).scalar_one()
        if have and not rebuild:
            return
        for table in ("roads", "patrol_routes", "officers", "incidents", "compounds", "grids", "admin_units"):
            conn.execute(text(f"DELETE FROM {table}"))
        _tree(conn)
        rng = np.random.default_rng(SEED)
        centres = np.array([[X0, Y0]]) + rng.uniform(0.1, 0.9, (6, 2)) * [DX, DY]
        pts = _points(rng, 250, centres, 0.1)
        ages = rng.uniform(0, 27.9, len(pts))
        cats = rng.choice(["preventable", "property", "dispute", "service"], len(pts))
        hz = _points(rng, 20, np.array([[X0 + DX / 2, Y0 + DY / 2]]), 0.3)
        conn.execute(
            text(ASSIGNED_INSERT),
            {
                "cats": [*cats.tolist(), *["hazard"] * len(hz)],
                "ts": [AS_OF - dt.timedelta(days=float(a)) for a in [*ages, *rng.uniform(0, 27.9, len(hz))]],
                "xs": [*pts[:, 0].tolist(), *hz[:, 0].tolist()],
                "ys": [*pts[:, 1].tolist(), *hz[:, 1].tolist()],
            },
        )
        cp = _points(rng, 30, np.array([[X0 + DX / 2, Y0 + DY / 2]]), 0.3)
        for k, (x, y) in enumerate(cp):
            conn.execute(
                text(
                    """INSERT INTO compounds (name, households, renovation_status, synthetic, geom, grid_code,
                                              community_code)
                       SELECT :n, :h, 'not_renovated', true, p.g, g.code, g.community_code
                       FROM (SELECT ST_Buffer(ST_SetSRID(ST_MakePoint(:x, :y), 4326), 0.0002, 'quad_segs=2') AS g) p
                       JOIN grids g ON ST_Intersects(g.geom, ST_PointOnSurface(p.g)) LIMIT 1"""
                ),
                {"n": f"老旧小区{k + 1}", "h": int(rng.integers(80, 900)), "x": float(x), "y": float(y)},
            )
        conn.execute(
            text(
                "INSERT INTO officers (badge, name, community_code, synthetic) VALUES ('BENCH', '基准警官', :c, true)"
            ),
            {"c": COMMUNITY},
        )
        conn.execute(text("ANALYZE"))


def street_lattice(step_deg_x: float = DX / 20, step_deg_y: float = DY / 20):
    """Streets every ~100 m both ways, sharing a vertex at every crossing."""
    import geopandas as gpd

    xs = X0 + step_deg_x * np.arange(21)
    ys = Y0 + step_deg_y * np.arange(21)
    lines = [shapely.LineString([(x, y) for y in ys]) for x in xs] + [
        shapely.LineString([(x, y) for x in xs]) for y in ys
    ]
    n = len(lines)
    frame = gpd.GeoDataFrame(
        {"name": [None] * n, "highway": ["residential"] * n, "oneway": [False] * n}, geometry=lines, crs=4326
    )
    frame["length_m"] = frame.geometry.to_crs(32648).length
    return frame


def run(settings: Settings, runs: int, time_limit_ms: int, label: str) -> None:
    first = 0.0
    engine = create_engine(settings.database_url)
    with Session(engine) as session:
        officer = session.execute(text("SELECT id FROM officers WHERE badge = 'BENCH'")).scalar_one()
        payload = {
            "officer_id": officer,
            "start": [X0 + DX / 2, Y0 + 0.0005],
            "shift_minutes": 240,
            "mode": "walk",
            "as_of": AS_OF.isoformat(),
            "top_n": 10,
            "max_candidates": 50,
            "time_limit_ms": time_limit_ms,
        }
        warm = time.perf_counter()
        suggest_patrol(session, parse_request(payload), settings.patrol_reach_m)  # imports, first plans
        first = time.perf_counter() - warm
        times, results = [], []
        for _ in range(runs):
            started = time.perf_counter()
            props = suggest_patrol(session, parse_request(payload), settings.patrol_reach_m)["properties"]
            times.append(time.perf_counter() - started)
            results.append(props)
    ours = [p["risk"]["covered"] for p in results]
    greedy = [p["risk"]["greedy"] for p in results]
    p = results[len(results) // 2]
    console.print(
        f"[bold]{label}[/bold]: {p['solver']['candidates']} candidates, legs {p['solver']['legs']}, "
        f"OR-Tools time limit {time_limit_ms} ms; first (warm-up) call {first:.3f} s, not counted"
    )
    console.print(
        f"  suggest 4-hour patrol: median {statistics.median(times):.3f} s over {runs} runs "
        f"(min {min(times):.3f}, max {max(times):.3f}); solver median "
        f"{statistics.median(r['solver']['solve_ms'] for r in results):.0f} ms"
    )
    console.print(
        f"  weighted risk covered: ours median {statistics.median(ours):.2f} (min {min(ours):.2f}, max {max(ours):.2f}) "
        f"vs greedy {statistics.median(greedy):.2f} → ratio {statistics.median(ours) / statistics.median(greedy):.3f}; "
        f"{len(p['stops'])} stops, {p['total_minutes']:.0f} of 240 min, available risk {p['risk']['available']:.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--time-limit-ms", type=int, default=1000)
    parser.add_argument("--roads", action="store_true", help="also bench with a street lattice")
    parser.add_argument("--db", default="citygrid_patrol_bench")
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    settings = bench_settings(args.db)
    ensure_data(settings, args.rebuild)
    owner = create_engine(settings.owner_database_url)
    with Session(owner) as session:
        session.execute(text("DELETE FROM roads"))
        session.commit()
    run(settings, args.runs, args.time_limit_ms, "straight legs")
    if args.roads:
        with Session(owner) as session:
            roads.copy_roads(session, street_lattice(), "bench-lattice", replace=True)
            session.commit()
        run(settings, args.runs, args.time_limit_ms, "legs along a 100 m street lattice")


if __name__ == "__main__":
    main()
