"""The models and the migrations agree, and the migrations go down to base and up again."""

from __future__ import annotations

import psycopg
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from geoalchemy2 import alembic_helpers
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url

from api.ops import pgcluster
from geo.models import Base
from geo.pg import alembic_config


def test_models_match_migrations(owner_engine):
    with owner_engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn,
            opts={"include_object": alembic_helpers.include_object, "compare_type": True},
        )
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == [], f"models and migrations differ: {diff}"


def test_downgrade_to_base_and_up_again(settings):
    dbname = make_url(settings.owner_database_url).database + "_updown"
    with psycopg.connect(pgcluster.libpq_url(settings.admin_database_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
    pgcluster.bootstrap_database(settings, dbname)
    url = make_url(settings.owner_database_url).set(database=dbname).render_as_string(hide_password=False)
    cfg = alembic_config(url)
    command.upgrade(cfg, "head")
    command.downgrade(cfg, "base")
    eng = create_engine(url)
    assert set(inspect(eng).get_table_names()) <= {"alembic_version", "spatial_ref_sys"}
    command.upgrade(cfg, "head")
    assert {"grids", "incidents", "grid_versions", "patrol_routes"} <= set(inspect(eng).get_table_names())
    eng.dispose()
    with psycopg.connect(pgcluster.libpq_url(settings.admin_database_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


def test_every_geometry_has_a_gist_index(owner_engine):
    with owner_engine.connect() as conn:
        rows = conn.exec_driver_sql(
            """SELECT f.f_table_name, f.f_geometry_column, f.srid,
                      EXISTS (SELECT 1 FROM pg_indexes i WHERE i.tablename = f.f_table_name
                              AND i.indexdef ILIKE '%%gist%%' || f.f_geometry_column || '%%') AS indexed
               FROM geometry_columns f WHERE f.f_table_schema = 'public'"""
        ).fetchall()
    assert len(rows) >= 8
    assert all(r.srid == 4326 for r in rows), rows
    assert all(r.indexed for r in rows), [r for r in rows if not r.indexed]


def test_app_role_is_least_privileged(engine):
    with engine.connect() as conn:
        role = conn.exec_driver_sql(
            "SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = current_user"
        ).one()
        assert tuple(role) == (False, False, False)
        can_create = conn.exec_driver_sql("SELECT has_schema_privilege('public', 'CREATE')").scalar_one()
        assert can_create is False
        can_write = conn.exec_driver_sql("SELECT has_table_privilege('incidents', 'INSERT')").scalar_one()
        assert can_write is True


def test_app_role_cannot_run_programs_or_create_objects(engine):
    import pytest
    from sqlalchemy.exc import ProgrammingError

    with engine.connect() as conn:
        for statement in (
            "COPY (SELECT 1) TO PROGRAM 'id'",
            "CREATE TABLE app_may_not_create (id int)",
            "CREATE EXTENSION IF NOT EXISTS hstore",
            "ALTER TABLE grids ADD COLUMN x int",
            "DROP TABLE incidents",
        ):
            with pytest.raises(ProgrammingError, match="permission denied|must be|must have|owner"):
                conn.exec_driver_sql(statement)
            conn.rollback()
