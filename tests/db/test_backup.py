"""`citygrid db backup` and `db restore`: a round trip gives identical row counts and geometry checksums."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import psycopg
import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from api.ops import pgcluster
from geo.pg import migrate
from tests.fixtures import load_tiny_tree

TABLES = ["admin_units", "grids", "grid_versions", "incidents", "compounds", "roles"]


def _fingerprint(url: str) -> dict[str, tuple]:
    out = {}
    with psycopg.connect(pgcluster.libpq_url(url)) as conn:
        for table in TABLES:
            has_geom = conn.execute("SELECT 1 FROM geometry_columns WHERE f_table_name = %s", (table,)).fetchone()
            checksum = (
                "md5(string_agg(ST_AsEWKB(geom)::text, ',' ORDER BY ST_AsEWKB(geom)::text))"
                if has_geom
                else "NULL"
            )
            out[table] = conn.execute(f"SELECT count(*), {checksum} FROM {table}").fetchone()
    return out


def _db_url(settings, name: str) -> str:
    return make_url(settings.owner_database_url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture
def source_db(settings):
    base = make_url(settings.owner_database_url).database
    names = [f"{base}_bk_src", f"{base}_bk_dst"]
    with psycopg.connect(pgcluster.libpq_url(settings.admin_database_url), autocommit=True) as conn:
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    pgcluster.bootstrap_database(settings, names[0])
    migrate(_db_url(settings, names[0]))
    eng = create_engine(_db_url(settings, names[0]))
    with Session(eng) as session, session.begin():
        load_tiny_tree(session)
    eng.dispose()
    yield names
    with psycopg.connect(pgcluster.libpq_url(settings.admin_database_url), autocommit=True) as conn:
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_backup_restore_round_trip(settings, source_db, tmp_path):
    src, dst = source_db
    dump = tmp_path / "citygrid.dump"
    env = {**os.environ, "CITYGRID_OWNER_DATABASE_URL": _db_url(settings, src)}
    cli = [sys.executable, "-m", "api.cli"]
    subprocess.run([*cli, "db", "backup", str(dump)], check=True, env=env, capture_output=True)
    assert dump.stat().st_size > 0
    assert stat.S_IMODE(dump.stat().st_mode) == 0o600  # its owner's only, whatever the umask
    subprocess.run([*cli, "db", "restore", str(dump), "--dbname", dst], check=True, env=env, capture_output=True)
    before, after = _fingerprint(_db_url(settings, src)), _fingerprint(_db_url(settings, dst))
    assert before["grids"][0] == 4
    assert before == after
