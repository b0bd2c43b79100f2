"""The request hot path's statements, run on the session's own psycopg connection without SQLAlchemy's
execution layer.

Why: a report runs 8 statements and a step 6, and on this path SQLAlchemy's per-statement work cost more client
CPU than psycopg's own. For a textual statement it rebuilds the result's metadata from the cursor description on
every execution. Measured in one process, one connection (`python bench/statement_cost.py`): a two-column
lookup costs 0.22 ms of client CPU through `session.execute(text(…))` against 0.15 ms here, and a cases row
(30 columns) 0.37 ms against 0.15 ms.

Nothing else changes:
* the same transaction and connection: `session.connection()` (which begins the session's transaction and
  checks the connection out as `session.execute` would, pool events and all);
* the same hooks: the engine's `before_cursor_execute` listeners run (api/disconnect.py refuses a statement
  of a request whose client has gone);
* the same errors: a psycopg error goes through SQLAlchemy's own handler, so callers see the same
  `sqlalchemy.exc.DBAPIError` subclasses (api/errors.py maps them) and a lost connection is invalidated.

Statements are written as for `text()`, with `:name` parameters, and rows are named tuples (attribute access,
as SQLAlchemy's rows). Everything off the hot path keeps `session.execute`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import psycopg
from psycopg.rows import namedtuple_row, tuple_row
from sqlalchemy.orm import Session

# A bind as sqlalchemy.sql.elements.TextClause reads one: `:name`, not `::cast`, not `\:`.
_BIND = re.compile(r"(?<![:\w\\]):(\w+)(?!:)")


class SQL:
    """A statement with `:name` parameters, turned once into psycopg's `%(name)s` form; its rows are named
    tuples, or plain tuples when `positional` (a statement returning two columns of one name)."""

    __slots__ = ("positional", "query", "text")

    def __init__(self, text: str, positional: bool = False) -> None:
        self.text, self.positional = text, positional
        self.query = _BIND.sub(r"%(\1)s", text.replace("%", "%%")).replace("\\:", ":")

    def __repr__(self) -> str:
        return f"SQL({self.text!r})"


def execute(session: Session, sql: SQL, params: Mapping[str, Any] | None = None) -> psycopg.Cursor[Any]:
    """Run sql in the session's transaction; the cursor, its rows named tuples."""
    conn = session.connection()
    rows_as = tuple_row if sql.positional else namedtuple_row
    cursor = conn.connection.driver_connection.cursor(row_factory=rows_as)  # type: ignore[union-attr]
    query: Any = sql.query
    if conn._has_events or conn.engine._has_events:  # as Connection._exec_single_context calls them
        for listener in conn.dispatch.before_cursor_execute:
            query, params = listener(conn, cursor, query, params, None, False)
    try:
        cursor.execute(query, params)
    except psycopg.Error as exc:
        conn._handle_dbapi_exception(exc, query, params, cursor, None)  # raises the wrapped error
    return cursor


def rows(session: Session, sql: SQL, params: Mapping[str, Any] | None = None) -> list[Any]:
    return execute(session, sql, params).fetchall()


def first(session: Session, sql: SQL, params: Mapping[str, Any] | None = None) -> Any | None:
    return execute(session, sql, params).fetchone()


def one(session: Session, sql: SQL, params: Mapping[str, Any] | None = None) -> Any:
    found = execute(session, sql, params).fetchall()
    if len(found) != 1:
        raise LookupError(f"expected one row, got {len(found)}: {sql.text[:80]}")
    return found[0]


def scalar(session: Session, sql: SQL, params: Mapping[str, Any] | None = None) -> Any:
    """The first column of the only row."""
    return one(session, sql, params)[0]
