"""New incidents COPYed straight into `incidents`, with the assignment geo.assignment.memory_rule computed.

COPY writes rows in batches, without a staging table or ON CONFLICT's per-row speculative insert; the
columns are built from numpy arrays (geo.pg.pgcopy) exactly as geo.assignment.sql_rule.assigned_columns builds them in
SQL, which a test checks against the single-row path column by column.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pandas as pd
import psycopg
from numpy.typing import NDArray
from psycopg.copy import QueuedLibpqWriter
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.assignment.memory_rule import Assigned
from geo.assignment.sql_rule import ASSIGNED
from geo.incidents.checks import TEXTS, TIMES, IncidentRows
from geo.incidents.model import Progress
from geo.pg import pgcopy
from geo.vocab import CATEGORY_KEYS, STATUS_KEYS

COPY_PART = 100_000  # rows encoded and sent at a time
GAP_LEVELS = ("community", "town", "county")
PG_TYPES = {"status": "int2", **{t: "text" for t in TEXTS}, **{t: "timestamptz" for t in TIMES}}


@contextmanager
def _copy_into(session: Session, table: str, names: list[str], queued: bool = False) -> Iterator[psycopg.Copy]:
    """A binary COPY into `table` on the session's own connection, so in its transaction.

    queued: a writer thread sends the data, and the caller can encode the next part meanwhile.
    """
    raw = session.connection().connection.driver_connection  # psycopg's own: same transaction
    assert raw is not None
    with raw.cursor() as cur:
        sql = f"COPY {table} ({', '.join(names)}) FROM STDIN (FORMAT BINARY)"
        with cur.copy(sql, writer=QueuedLibpqWriter(cur) if queued else None) as copy:
            yield copy


def copy_payload(
    session: Session, table: str, names: list[str], payload: bytes | memoryview, progress: Progress | None
) -> None:
    """Binary COPY of a built payload into `table`, in the session's transaction, with progress."""
    chunk = 1 << 20
    with _copy_into(session, table, names) as copy:
        view = memoryview(payload)
        for start in range(0, len(payload), chunk):
            copy.write(view[start : start + chunk])
            if progress:
                progress("copy", min(start + chunk, len(payload)), len(payload))


def optional_column(values: NDArray, kind: str) -> pgcopy.Column:
    """An optional input column of PG type `kind` (None and NaT are NULL)."""
    if kind == "text":
        return pgcopy.text(values)
    if kind == "timestamptz":
        return pgcopy.fixed(values, kind, np.isnat(values))
    return pgcopy.fixed(values, kind)


def copy_new(
    session: Session,
    rows: IncidentRows,
    optional: list[str],
    hits: Assigned,
    order: NDArray[np.int64],
    synthetic: bool,
    progress: Progress | None,
) -> dict | None:
    """COPY the rows straight into incidents, assignment included; None if an external_id is stored already.

    New rows are the common case of a bulk import, and COPY writes them in batches without the staging
    table or ON CONFLICT's per-row speculative insert. The rows go in parts of COPY_PART: a writer thread
    sends one part while the next is encoded, so the database works while Python encodes. The unique
    index on external_id finds a re-imported id, also one committed meanwhile by another writer; the
    savepoint then undoes the partial COPY and the caller takes the upsert path.
    """
    n = len(rows)
    names = ["category", "occurred_at", "source_crs", "synthetic", "geom", *ASSIGNED, *optional]
    parts = np.array_split(order, max(1, -(-n // COPY_PART)))
    if progress:
        progress("encode", 0, n)
    session.execute(text("SAVEPOINT incident_copy"))
    try:
        with _copy_into(session, "incidents", names, queued=True) as copy:
            done = 0
            for k, part in enumerate(parts):
                columns = incident_columns(rows, optional, hits, part, synthetic)
                copy.write(pgcopy.build(columns, header=k == 0, trailer=k == len(parts) - 1))
                done += len(part)
                if progress:
                    progress("encode", done, n)  # encoded and handed to the COPY
            if progress:
                progress("insert", 0, n)  # the rest is the database finishing the rows, indexes and roll-up
    except psycopg.errors.UniqueViolation as exc:
        if exc.diag.constraint_name != "incidents_external_id_key":
            raise
        session.execute(text("ROLLBACK TO SAVEPOINT incident_copy"))
        return None
    session.execute(text("RELEASE SAVEPOINT incident_copy"))
    outside = int((hits.grid < 0).sum())
    return {"inserted": n, "updated": 0, "outside_jurisdiction": outside, "ids": []}


def incident_columns(
    rows: IncidentRows, optional: list[str], hits: Assigned, order: NDArray[np.int64], synthetic: bool
) -> list[pgcopy.Column]:
    """incidents' own columns for COPY, the assignment resolved in memory as assigned_columns does in SQL."""
    grid = hits.grid[order]
    inside = grid >= 0
    compound = hits.compound_id[order]
    n = len(order)
    columns = [
        pgcopy.coded(rows.category[order], CATEGORY_KEYS),
        pgcopy.fixed(rows.occurred_at[order], "timestamptz"),
        pgcopy.coded(np.zeros(n, dtype=np.int64), [rows.source_crs]),
        pgcopy.fixed(np.full(n, synthetic), "bool"),
        pgcopy.point_ewkb(rows.lon[order], rows.lat[order]),
        tree_column(hits, 0, grid, None),
        *(tree_column(hits, i + 1, grid, hits.gap[level][order]) for i, level in enumerate(GAP_LEVELS)),
        pgcopy.fixed(compound, "int4", compound < 0),
        pgcopy.fixed(~inside, "bool"),
    ]
    for name in optional:
        values = rows.optional[name][order]
        # status travels as its vocabulary index; the table stores the word
        columns.append(
            pgcopy.coded(values, STATUS_KEYS) if name == "status" else optional_column(values, PG_TYPES[name])
        )
    return columns


def tree_column(
    hits: Assigned, level: int, grid: NDArray[np.int64], gap: NDArray[np.object_] | None
) -> pgcopy.Column:
    """Column `level` of the grid's (code, community, town, county), or the gap code for a point in no grid."""
    words: list[str | None] = [g[level] for g in hits.grids] + [None]
    codes = np.where(grid >= 0, grid, len(words) - 1)
    if gap is not None:
        out = grid < 0
        found, uniques = pd.factorize(gap[out])  # None → −1
        codes[out] = np.where(found >= 0, len(words) + found, len(words) - 1)
        words += list(uniques)
    return pgcopy.coded(codes, words)
