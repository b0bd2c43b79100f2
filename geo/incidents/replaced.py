"""What a bulk import replaces: the stored values of the incidents its external_ids name, for the audit row.

Read in the import's transaction just before the upsert, rows locked, so the audit holds exactly what the
import overwrote. Compact, column by column (`{"id": [...], "category": [...], ...}`), the columns the import
writes: a re-sent file of n known ids adds n values per column to its one audit row, not n audit rows.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.localtime import LOCAL_TZ_NAME

# Always written by an import; the optional columns it provides are added.
_CORE = ("category", "occurred_at", "grid_code")
_TIMES = {"occurred_at", "reported_at", "resolved_at", "mediated_at"}


def _select(optional: list[str]) -> str:
    cols = [c for c in (*_CORE, *optional) if c != "external_id"]
    exprs = [
        f"to_char(i.{c} AT TIME ZONE '{LOCAL_TZ_NAME}', 'YYYY-MM-DD\"T\"HH24:MI:SS') AS {c}"
        if c in _TIMES
        else f"i.{c}"
        for c in cols
    ]
    return ", ".join(["i.id", "i.external_id", *exprs, "round(ST_X(i.geom)::numeric, 7)::float8 AS lon",
                      "round(ST_Y(i.geom)::numeric, 7)::float8 AS lat"])  # fmt: skip


def _columns(rows: list[Any]) -> dict[str, list[Any]] | None:
    if not rows:
        return None
    names = list(rows[0]._mapping)
    return {n: [r._mapping[n] for r in rows] for n in names}


def replaced_by_keys(session: Session, keys: list[str], optional: list[str]) -> dict[str, list[Any]] | None:
    """The stored rows whose external_id is among keys (a small batch), locked, as columns; None if none."""
    rows = session.execute(
        text(
            f"SELECT {_select(optional)} FROM incidents i WHERE i.external_id = ANY(CAST(:k AS text[])) "
            "ORDER BY i.id FOR UPDATE"
        ),
        {"k": keys},
    ).all()
    return _columns(list(rows))


def replaced_by_staging(session: Session, optional: list[str]) -> dict[str, list[Any]] | None:
    """The stored rows whose external_id the staging table (geo.incidents.write_staged) holds, locked."""
    rows = session.execute(
        text(
            f"SELECT {_select(optional)} FROM incidents i JOIN incident_staging s ON s.external_id = i.external_id "
            "ORDER BY i.id FOR UPDATE OF i"
        )
    ).all()
    return _columns(list(rows))
