"""Data for bench/serve.py: the loaded Baoji demo when present, else a synthetic bench database.

The synthetic set is bench/synthetic_grids.py's 1,537-cell jittered tessellation of the urban strip
(107.05–107.30E, 34.33–34.41N; a plain segmentised square lattice if that module is absent) and N incidents
made by generate_series: 60% around 25 seeded hot spots, 40% uniform, over three years.
"""

from __future__ import annotations

import psycopg
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from api.ops import pgcluster
from geo.auth import create_user
from geo.pg import migrate
from geo.settings import Settings

URBAN = (107.05, 34.33, 107.30, 34.41)
BENCH_USER = "bench-serve-viewer"

SQUARES = """
    CREATE TEMP TABLE bench_cells AS
    SELECT community || lpad((1 + (i % 4) + 4 * (3 - j % 4))::text, 3, '0') AS code, community, geom
    FROM (
        SELECT i, j, '610302' || lpad((1 + i / 16)::text, 3, '0') || lpad((1 + (i % 16) / 4 * 10 + j / 4)::text, 3, '0')
                   AS community,
               ST_Segmentize(ST_MakeEnvelope(107.05 + i * 0.25 / 53, 34.33 + j * 0.08 / 29,
                                             107.05 + (i + 1) * 0.25 / 53, 34.33 + (j + 1) * 0.08 / 29, 4326),
                             0.0006) AS geom
        FROM generate_series(0, 52) i, generate_series(0, 28) j
    ) cells;
    INSERT INTO admin_units (code, name, level, parent_code, urban, synthetic, geom)
    SELECT '610300', '宝鸡市（合成）', 'city', NULL, true, true, ST_Multi(ST_Union(geom)) FROM bench_cells
    UNION ALL SELECT '610302', '渭滨区（合成）', 'county', '610300', true, true, ST_Multi(ST_Union(geom)) FROM bench_cells;
    INSERT INTO admin_units (code, name, level, parent_code, urban, synthetic, geom)
    SELECT left(community, 9), '街道' || left(community, 9), 'town', '610302', true, true, ST_Multi(ST_Union(geom))
    FROM bench_cells GROUP BY 1;
    INSERT INTO admin_units (code, name, level, parent_code, urban, synthetic, geom)
    SELECT community, '社区' || community, 'community', left(community, 9), true, true, ST_Multi(ST_Union(geom))
    FROM bench_cells GROUP BY community;
    INSERT INTO grids (code, name, community_code, synthetic, geom)
    SELECT code, '网格' || code, community, true, ST_Multi(geom) FROM bench_cells
"""

INCIDENTS = """
    SELECT setseed(0.42);
    CREATE TEMP TABLE hot AS
    SELECT k, 107.07 + random() * 0.21 AS x, 34.34 + random() * 0.06 AS y FROM generate_series(0, 24) k;
    INSERT INTO incidents (category, status, occurred_at, synthetic, geom)
    SELECT (ARRAY['preventable','property','dispute','hazard','service','other'])[1 + floor(random() * 6)::int],
           (ARRAY['reported','assigned','in_progress','mediated','resolved','closed'])[1 + floor(random() * 6)::int],
           timestamptz '2022-01-01' + random() * interval '1095 days', true,
           CASE WHEN n % 5 < 3 THEN
               ST_SetSRID(ST_MakePoint(h.x + (random() + random() + random() - 1.5) * 0.006,
                                       h.y + (random() + random() + random() - 1.5) * 0.005), 4326)
           ELSE ST_SetSRID(ST_MakePoint(107.05 + random() * 0.25, 34.33 + random() * 0.08), 4326) END
    FROM generate_series(1, :n) n JOIN hot h ON h.k = n % 25;
"""


def settings_for(dbname: str) -> Settings:
    base = Settings()

    def swap(url: str) -> str:
        return make_url(url).set(database=dbname).render_as_string(hide_password=False)

    return base.model_copy(
        update={"database_url": swap(base.database_url), "owner_database_url": swap(base.owner_database_url)}
    )


def _count(url: str, table: str) -> int:
    eng = create_engine(url)
    try:
        with eng.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
    except Exception:
        return -1
    finally:
        eng.dispose()


def prepare(bench_db: str, incidents: int, log=print) -> tuple[Settings, str]:
    """(settings of the database to serve, a description); builds the synthetic database when needed."""
    demo = Settings()
    if _count(demo.owner_database_url, "grids") == 1537:
        return demo, f"demo database {make_url(demo.owner_database_url).database} (1,537 grids)"
    s = settings_for(bench_db)
    if _count(s.owner_database_url, "grids") != 1537 or _count(s.owner_database_url, "incidents") < incidents:
        log(f"building the synthetic bench database {bench_db} (1,537 grids, {incidents:,} incidents) …")
        with psycopg.connect(pgcluster.libpq_url(s.admin_database_url), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{bench_db}" WITH (FORCE)')
        pgcluster.bootstrap_database(s, bench_db)
        migrate(s.owner_database_url)
        eng = create_engine(s.owner_database_url)
        with eng.begin() as conn:
            try:
                from bench import synthetic_grids

                synthetic_grids.load(conn)
                how = "jittered tessellation"
            except ImportError:
                for stmt in SQUARES.split(";"):
                    conn.execute(text(stmt))
                how = "segmentised square lattice"
            for stmt in INCIDENTS.split(";"):
                if stmt.strip():
                    conn.execute(text(stmt), {"n": incidents} if ":n" in stmt else {})
        with eng.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
        eng.dispose()
        log(f"  grids: {how}")
    n = _count(s.owner_database_url, "incidents")
    return s, f"synthetic database {bench_db} (1,537 grids, {n:,} incidents)"


def viewer_token(settings: Settings) -> str:
    """A fresh token of a viewer-role user (the least role that may read), replacing an earlier bench user."""
    from sqlalchemy.orm import Session

    eng = create_engine(settings.owner_database_url)
    with Session(eng) as session:
        session.execute(text("DELETE FROM users WHERE username = :u"), {"u": BENCH_USER})
        token = create_user(session, BENCH_USER, "viewer")
        session.commit()
    eng.dispose()
    return token


def warm_postgres(settings: Settings) -> None:
    """Read every table once so both servers meet the same warm PostgreSQL buffer cache."""
    eng = create_engine(settings.database_url)
    with eng.connect() as conn:
        for table in ("grids", "incidents", "admin_units", "users"):
            conn.execute(text(f"SELECT count(*), sum(ST_NPoints(geom)) FROM {table}" if table != "users"
                              else "SELECT count(*) FROM users"))  # fmt: skip
    eng.dispose()


def drop_viewer(settings: Settings) -> None:
    """Remove the bench's viewer user again (it may sit in the demo database)."""
    eng = create_engine(settings.owner_database_url)
    with eng.begin() as conn:
        conn.execute(text("DELETE FROM users WHERE username = :u"), {"u": BENCH_USER})
    eng.dispose()
