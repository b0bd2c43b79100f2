"""Engines and sessions: sync SQLAlchemy 2 on psycopg 3, pre-ping, a statement timeout."""

from __future__ import annotations

import functools
import select
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from psycopg import pq
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from geo.pg.urls import conninfo, normalise
from geo.settings import REPO_ROOT, Settings


def make_engine(settings: Settings, url: str | None = None) -> Engine:
    """An engine for url (default: the app role's), with pre-ping and a per-statement timeout."""
    engine = create_engine(
        normalise(url or settings.database_url),
        pool_pre_ping=True,
        pool_size=settings.pool_size,
        max_overflow=settings.pool_size,
        pool_timeout=settings.pool_timeout_s,  # then sqlalchemy.exc.TimeoutError: a 503 (api/errors.py)
        connect_args={"options": f"-c statement_timeout={settings.statement_timeout_ms}", "connect_timeout": 5},
    )
    engine.dialect.do_ping = quiet_ping(engine.dialect.do_ping)  # type: ignore[method-assign,assignment]
    return engine


def quiet_ping(ping: Callable[[Any], bool]) -> Callable[[Any], bool]:
    """Pre-ping that asks the server only when an idle connection's socket has something to read.

    The dialect's ping is a round trip (an empty query) on every pool checkout: one of a report's ~16, with its
    CPU on both sides. An idle connection that the server has dropped (a restart, a terminated backend, a crash)
    has its last message or the end of the stream waiting on the socket, so a zero-timeout poll finds it; only
    then, or when the connection is not plainly idle, is the real ping sent, and SQLAlchemy's pre-ping handling
    (invalidate, reconnect) is unchanged. A silent network partition is not seen here, nor would the ping see
    it any sooner than the request's first statement does.
    """

    def ping_if_suspect(dbapi_connection: Any) -> bool:
        pgconn = getattr(dbapi_connection, "pgconn", None)
        if (
            pgconn is not None
            and not dbapi_connection.closed
            and pgconn.status == pq.ConnStatus.OK
            and pgconn.transaction_status == pq.TransactionStatus.IDLE
        ):
            poller = select.poll()
            poller.register(pgconn.socket, select.POLLIN | select.POLLERR | select.POLLHUP)
            if not poller.poll(0):
                return True
        return ping(dbapi_connection)

    return ping_if_suspect


def make_health_engine(settings: Settings, url: str | None = None) -> Engine:
    """/health's own engine: one pooled connection (two more at most), never the app's pool, so a health check
    never queues behind requests; short connect and statement timeouts bound it when the server is swamped."""
    return create_engine(
        normalise(url or settings.database_url),
        pool_size=1,  # no pre-ping: a dropped connection is retried once instead (api/routers/health.py)
        max_overflow=2,
        pool_timeout=settings.health_connect_timeout_s,
        connect_args={
            "options": f"-c statement_timeout={settings.health_statement_timeout_ms}",
            "connect_timeout": settings.health_connect_timeout_s,
            "application_name": "citygrid-health",
        },
    )


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One session, one transaction: committed on success, rolled back on any error."""
    with factory() as session, session.begin():
        yield session


def alembic_config(url: str) -> Config:
    cfg = Config(str(REPO_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(REPO_ROOT / "migrations"))
    cfg.attributes["url"] = url
    return cfg


def migrate(url: str, revision: str = "head") -> None:
    """alembic upgrade to revision, as the role in url (the owner)."""
    command.upgrade(alembic_config(url), revision)


@functools.cache
def code_head() -> str | None:
    """The head revision of the migrations shipped with this code (read once: parsing them costs ~15 ms)."""
    return ScriptDirectory.from_config(alembic_config("postgresql://")).get_current_head()


def migration_heads(engine: Engine) -> tuple[str | None, str | None]:
    """(revision the database is at, head revision of the code)."""
    head = code_head()
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    return current, head


def postgis_version(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(conn.execute(text("SELECT postgis_lib_version()")).scalar_one())


def libpq_url(sqlalchemy_url: str, dbname: str | None = None) -> str:
    """A psycopg/libpq conninfo from a SQLAlchemy URL of one host or several (libpq's multi-host form kept)."""
    return conninfo(sqlalchemy_url, dbname)
