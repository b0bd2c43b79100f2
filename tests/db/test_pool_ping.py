"""The pool's pre-ping asks the server only when an idle connection's socket has something to read
(geo/pg/db.py quiet_ping): a connection the server dropped is still found and replaced."""

from __future__ import annotations

import time

import psycopg
from sqlalchemy import text

from geo.pg.db import libpq_url, make_engine, quiet_ping


def _terminate(settings, pid: int) -> None:
    """End a backend from another connection of the same role (allowed to signal its own backends)."""
    with psycopg.connect(libpq_url(settings.database_url), autocommit=True) as other:
        assert other.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)
        for _ in range(100):
            if other.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone() == (0,):
                return
            time.sleep(0.05)
    raise AssertionError(f"backend {pid} did not end")


def test_a_quiet_connection_is_not_pinged_and_a_dropped_one_is(settings):
    asked: list[object] = []

    def server_ping(conn: object) -> bool:
        asked.append(conn)
        return True

    ping = quiet_ping(server_ping)
    with psycopg.connect(libpq_url(settings.database_url)) as conn:
        conn.execute("SELECT 1")
        conn.commit()
        assert ping(conn) is True and asked == []  # idle and nothing waiting: no round trip
        conn.execute("SELECT 1")  # a transaction left open: not plainly idle, so the server is asked
        assert ping(conn) is True and asked == [conn]
        conn.rollback()
        _terminate(settings, conn.info.backend_pid)
        assert ping(conn) is True and asked == [conn, conn]  # the server's goodbye is waiting: asked again


def test_the_pool_replaces_a_connection_whose_backend_was_terminated(settings):
    engine = make_engine(settings)
    try:
        with engine.connect() as c:
            first = c.execute(text("SELECT pg_backend_pid()")).scalar_one()
        _terminate(settings, first)
        with engine.connect() as c:  # the same pooled connection is checked out, found dead, and replaced
            second = c.execute(text("SELECT pg_backend_pid()")).scalar_one()
        assert second != first
        assert engine.pool.checkedin() == 1
    finally:
        engine.dispose()
