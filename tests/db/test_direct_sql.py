"""geo/pg/direct.py against SQLAlchemy itself: the same SQL text sent, the same rows, the same exceptions."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import exc, text
from sqlalchemy.dialects.postgresql import psycopg as pg_psycopg
from sqlalchemy.orm import Session

from geo.audit import _INSERT as AUDIT_INSERT
from geo.auth import _BY_TOKEN
from geo.cases.queries import _ONE_CASE
from geo.cases.report import _INSERT_CASE
from geo.cases.store import _LOCK_CASE, _UPDATE_CASE
from geo.incidents.write_probe import _statement
from geo.pg import direct
from geo.pg.db import libpq_url, make_engine, make_sessionmaker

TRICKY = [
    "SELECT :a::text, CAST(:b AS int), x::int[] FROM t WHERE y = :c",
    "SELECT 'HH24:MI', to_char(now(), 'YYYY-MM-DD HH24:MI:SS'), 50 % 7, :p",
    r"SELECT '\:literal', :x",
    "SELECT :a, :a, :a_b, :_c1",
]
HOT = [
    _BY_TOKEN,
    AUDIT_INSERT,
    _ONE_CASE,
    _INSERT_CASE,
    _LOCK_CASE,
    _UPDATE_CASE,
    _statement(("external_id",), True),
]


@pytest.mark.parametrize("sql", [*TRICKY, *(s.text for s in HOT)], ids=range(len(TRICKY) + len(HOT)))
def test_the_statement_sent_is_the_one_sqlalchemy_would_send(sql: str):
    compiled = str(text(sql).compile(dialect=pg_psycopg.dialect()))  # SQLAlchemy's own reading, the oracle
    assert direct.SQL(sql).query == compiled


def test_rows_are_the_same_as_sqlalchemys(db: Session):
    sql = "SELECT CAST(:a AS int) AS n, CAST(:b AS text) AS t, ARRAY['x','y'] AS arr, CAST(NULL AS date) AS d"
    params = {"a": 7, "b": "七"}
    ours = direct.first(db, direct.SQL(sql), params)
    theirs = db.execute(text(sql), params).first()
    assert tuple(ours) == tuple(theirs) and ours.n == theirs.n == 7 and ours.arr == ["x", "y"]


@pytest.mark.parametrize(
    ("sql", "raised", "orig"),
    [
        ("SELECT 1/0", exc.DataError, psycopg.errors.DivisionByZero),
        ("SELECT * FROM no_such_table", exc.ProgrammingError, psycopg.errors.UndefinedTable),
        ("SELECT pg_sleep(1)", exc.OperationalError, psycopg.errors.QueryCanceled),
    ],
)
def test_errors_are_sqlalchemys(settings, sql, raised, orig):
    sessions = make_sessionmaker(make_engine(settings))
    for run in (lambda s: s.execute(text(sql)), lambda s: direct.execute(s, direct.SQL(sql))):
        with sessions() as s:
            s.execute(text("SET LOCAL statement_timeout = 100"))
            with pytest.raises(raised) as caught:
                run(s)
            assert isinstance(caught.value.orig, orig)


def test_a_dropped_connection_is_invalidated(settings):
    engine = make_engine(settings)
    try:
        with Session(engine) as s:
            pid = direct.scalar(s, direct.SQL("SELECT pg_backend_pid()"))
            with psycopg.connect(libpq_url(settings.database_url), autocommit=True) as other:
                other.execute("SELECT pg_terminate_backend(%s)", (pid,))
            with pytest.raises(exc.DBAPIError) as caught:
                for _ in range(50):  # the termination lands between two statements
                    direct.execute(s, direct.SQL("SELECT pg_sleep(0.01)"))
            assert caught.value.connection_invalidated
        with Session(engine) as s:
            assert direct.scalar(s, direct.SQL("SELECT pg_backend_pid()")) != pid
    finally:
        engine.dispose()
