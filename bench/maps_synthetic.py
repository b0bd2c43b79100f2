"""A synthetic stand-in for the Baoji demo, for bench/maps.py when no demo database is available.

The 1,537 jittered grids of bench/synthetic_grids.py (one county, towns, communities), households and grid
workers, a few hundred compounds, patrol routes, and two years of incidents clustered around hot spots
(with a drift between the years, so hit rates and changes mean something). Every row is flagged synthetic.
Run: `python -m bench.maps_synthetic DBNAME [--per-year 110000]` (creates and migrates DBNAME).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io

import numpy as np
import psycopg
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from api.ops import pgcluster
from bench import synthetic_grids
from geo import vocab
from geo.pg import migrate
from geo.settings import Settings

CATEGORIES = list(vocab.INCIDENT_CATEGORIES)
CAT_WEIGHTS = np.array([0.18, 0.22, 0.2, 0.1, 0.25, 0.05])
CST = dt.timezone(dt.timedelta(hours=8))


def settings_for(dbname: str) -> Settings:
    """Settings whose app and owner URLs point at dbname."""
    base = Settings()

    def swap(url: str) -> str:
        return make_url(url).set(database=dbname).render_as_string(hide_password=False)

    return base.model_copy(
        update={"database_url": swap(base.database_url), "owner_database_url": swap(base.owner_database_url)}
    )


def _points(rng: np.random.Generator, n: int, centres: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """n lon/lat points: 80% around weighted hot-spot centres (Gaussian, 150–600 m), 20% uniform."""
    k = rng.choice(len(centres), size=int(n * 0.8), p=weights / weights.sum())
    spread = rng.uniform(0.0015, 0.006, len(centres))[k]
    clustered = centres[k] + rng.normal(size=(len(k), 2)) * spread[:, None] * np.array([1.2, 1.0])
    uniform = np.column_stack(
        [
            rng.uniform(synthetic_grids.X0, synthetic_grids.X1, n - len(k)),
            rng.uniform(synthetic_grids.Y0, synthetic_grids.Y1, n - len(k)),
        ]
    )
    pts = np.vstack([clustered, uniform])
    inside = (
        (pts[:, 0] > synthetic_grids.X0)
        & (pts[:, 0] < synthetic_grids.X1)
        & (pts[:, 1] > synthetic_grids.Y0)
        & (pts[:, 1] < synthetic_grids.Y1)
    )
    return pts[inside]


def _copy_incidents(conn: psycopg.Connection, rows: io.StringIO) -> None:
    with conn.cursor() as cur:
        cur.execute(
            "CREATE TEMP TABLE stage (category text, status text, occurred_at timestamptz, x float8, y float8)"
        )
        with cur.copy("COPY stage FROM STDIN") as copy:
            copy.write(rows.getvalue())
        # Grids outer (LATERAL … OFFSET 0) so each prepared polygon is reused: see design.md.
        cur.execute("""
            INSERT INTO incidents (category, status, occurred_at, grid_code, community_code, town_code,
                                   county_code, synthetic, geom)
            SELECT s.category, s.status, s.occurred_at, g.code, g.community_code, left(g.community_code, 9),
                   left(g.community_code, 6), true, ST_SetSRID(ST_MakePoint(s.x, s.y), 4326)
            FROM stage s
            JOIN LATERAL (SELECT code, community_code FROM grids
                          WHERE ST_Covers(geom, ST_SetSRID(ST_MakePoint(s.x, s.y), 4326))
                          ORDER BY code LIMIT 1) g ON true
        """)


def load(dbname: str, per_year: int = 110_000, seed: int = 5) -> None:
    """Create dbname, migrate it and fill it with the synthetic city (two years: 2019 and 2020)."""
    s = settings_for(dbname)
    pgcluster.bootstrap_database(s, dbname)
    migrate(s.owner_database_url)
    rng = np.random.default_rng(seed)
    engine = create_engine(s.owner_database_url)
    with engine.begin() as conn:
        if conn.execute(text("SELECT count(*) FROM grids")).scalar_one():
            print(f"{dbname} already holds grids; nothing done")
            return
        synthetic_grids.load(conn, seed=1537)
        conn.execute(text("UPDATE admin_units SET synthetic = true, households = NULL"))
        conn.execute(
            text("""UPDATE grids SET households = 150 + (abs(hashtext(code)) % 600),
                    grid_worker = '网格员' || right(code, 4), population = 0""")
        )
        conn.execute(text("UPDATE grids SET population = households * 3"))
        # Compounds: small squares (~1 ha) around random points, 60% renovated.
        for k in range(400):
            x = rng.uniform(synthetic_grids.X0 + 0.01, synthetic_grids.X1 - 0.01)
            y = rng.uniform(synthetic_grids.Y0 + 0.005, synthetic_grids.Y1 - 0.005)
            status = "renovated" if rng.random() < 0.6 else "not_renovated"
            conn.execute(
                text("""INSERT INTO compounds (name, category, renovation_status, households, synthetic, geom)
                        VALUES (:n, 'three_no', :s, 120, true,
                                ST_MakeEnvelope(:x - 0.0006, :y - 0.0004, :x + 0.0006, :y + 0.0004, 4326))"""),
                {"n": f"合成小区{k + 1:03d}", "s": status, "x": x, "y": y},
            )
        conn.execute(
            text("""UPDATE compounds c SET grid_code = g.code, community_code = g.community_code
                             FROM grids g WHERE ST_Covers(g.geom, ST_Centroid(c.geom))""")
        )
        communities = [r[0] for r in conn.execute(text("SELECT code FROM admin_units WHERE level = 'community'"))]
        for k, community in enumerate(communities[:60]):
            conn.execute(
                text("INSERT INTO officers (badge, name, community_code, synthetic) VALUES (:b, :n, :c, true)"),
                {"b": f"S{k:04d}", "n": f"民警{k + 1}", "c": community},
            )
            conn.execute(
                text("""INSERT INTO patrol_routes (name, officer_id, community_code, shift, mode, synthetic, geom)
                        SELECT :n, o.id, CAST(:c AS varchar), 'evening', 'walk', true,
                               ST_MakeLine(ARRAY(SELECT ST_Centroid(geom) FROM grids
                                                 WHERE community_code = :c ORDER BY code))
                        FROM officers o WHERE o.badge = :b
                          AND (SELECT count(*) FROM grids WHERE community_code = :c) > 1"""),
                {"n": f"巡逻路线{k + 1}", "c": community, "b": f"S{k:04d}"},
            )
    n_centres = 60
    centres = np.column_stack(
        [
            rng.uniform(synthetic_grids.X0 + 0.01, synthetic_grids.X1 - 0.01, n_centres),
            rng.uniform(synthetic_grids.Y0 + 0.005, synthetic_grids.Y1 - 0.005, n_centres),
        ]
    )
    weights = rng.pareto(1.5, n_centres) + 0.2
    rows = io.StringIO()
    for year in (2019, 2020):
        if year == 2020:  # hot spots persist but drift in strength: next-year hit rates are real
            weights = weights * rng.uniform(0.6, 1.4, n_centres)
        pts = _points(rng, per_year, centres, weights)
        start = dt.datetime(year, 1, 1, tzinfo=CST).timestamp()
        seconds = rng.uniform(0, 365 * 86400, len(pts))
        cats = rng.choice(CATEGORIES, size=len(pts), p=CAT_WEIGHTS / CAT_WEIGHTS.sum())
        statuses = rng.choice(["reported", "mediated", "resolved", "closed"], size=len(pts))
        for (x, y), sec, cat, st in zip(pts, seconds, cats, statuses, strict=True):
            when = dt.datetime.fromtimestamp(start + sec, CST).isoformat()
            rows.write(f"{cat}\t{st}\t{when}\t{x:.7f}\t{y:.7f}\n")
    with psycopg.connect(pgcluster.libpq_url(s.owner_database_url)) as conn:
        _copy_incidents(conn, rows)
        conn.execute("ANALYZE")
    with engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM incidents")).scalar_one()
    print(f"{dbname}: 1,537 grids, {n:,} incidents (2019–2020), compounds and patrol routes (synthetic)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("dbname")
    ap.add_argument("--per-year", type=int, default=110_000)
    args = ap.parse_args()
    load(args.dbname, args.per_year)
