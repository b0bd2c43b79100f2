"""PostgreSQL plumbing: engine and migrations (`db`), connection URLs (`urls`, one host or libpq multi-host),
primary/replica read routing (`routing`), binary COPY encoding (`pgcopy`, `textcols`), geometry-change events
after commit (`events`) and the LISTEN relay from other processes (`listener`)."""

from geo.pg.db import (
    alembic_config,
    code_head,
    libpq_url,
    make_engine,
    make_sessionmaker,
    migrate,
    migration_heads,
    postgis_version,
    transaction,
)

__all__ = [
    "alembic_config",
    "code_head",
    "libpq_url",
    "make_engine",
    "make_sessionmaker",
    "migrate",
    "migration_heads",
    "postgis_version",
    "transaction",
]
