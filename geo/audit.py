"""The audit log: every write records who, what, when, before/after and why, in the write's transaction."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from geo.pg import direct, notify

# The rows, sending the transaction's queued NOTIFYs (geo.pg.notify; none: an empty list) in the same statement:
# nearly every write queues a notice and ends in its audit rows, so the notice rides along instead of costing a
# statement at the commit. A write that audits two things (a case report: its incident and its case) sends both
# rows at once. Rows and notices travel as two JSON texts: psycopg quotes a text array element by element, which
# cost more client CPU than the statement's other work. before/after are JSON as json.dumps writes it, as a JSONB
# column type would (None is JSON null, not SQL NULL).
_INSERT = direct.SQL(
    """WITH notices AS (SELECT count(pg_notify(q.channel, q.payload)) AS sent
                        FROM jsonb_to_recordset(CAST(:notices AS jsonb)) AS q(channel text, payload text))
       INSERT INTO audit_log (actor, action, entity_type, entity_id, before, after, reason)
       SELECT r.actor, r.action, r.entity_type, r.entity_id, CAST(r.before AS jsonb), CAST(r.after AS jsonb), r.reason
       FROM notices, ROWS FROM (jsonb_to_recordset(CAST(:rows AS jsonb)) AS (actor text, action text,
                                entity_type text, entity_id text, before text, after text, reason text))
                     WITH ORDINALITY AS r(actor, action, entity_type, entity_id, before, after, reason, n)
       ORDER BY r.n"""
)


_TEXTS = ("actor", "action", "entity_type", "entity_id", "reason")


@dataclass(frozen=True)
class Entry:
    """One audit row: who did what to which entity, the entity before and after, and why."""

    actor: str
    action: str
    entity_type: str
    entity_id: str | None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    reason: str | None = None


def record(
    session: Session,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
) -> None:
    record_all(session, [Entry(actor, action, entity_type, entity_id, before, after, reason)])


def record_all(session: Session, entries: list[Entry]) -> None:
    """Write the entries (in order) and the transaction's queued notices in one statement."""
    # A plain INSERT, not session.add nor insert(models.AuditLog): the ORM's unit of work and its bulk-insert
    # path cost about as much again per audited write, and nothing reads the row back as an object.
    rows = [
        {**{f: getattr(e, f) for f in _TEXTS}, "before": json.dumps(e.before), "after": json.dumps(e.after)}
        for e in entries
    ]
    notices = [{"channel": c, "payload": p} for c, p in notify.take(session)]
    direct.execute(session, _INSERT, {"rows": json.dumps(rows), "notices": json.dumps(notices)})


@dataclass(frozen=True)
class ChainReport:
    rows: int
    tip_seq: int
    problems: list[str]


_LINKS = text(
    """
    SELECT a.id, a.chain_seq, a.prev_hash = lag(a.row_hash) OVER w AS linked,
           lag(a.chain_seq) OVER w AS previous_seq, a.row_hash = audit_row_hash(a, a.prev_hash) AS intact,
           a.prev_hash, a.row_hash
    FROM audit_log a WHERE a.chain_seq >= :from_seq WINDOW w AS (ORDER BY a.chain_seq) ORDER BY a.chain_seq
    """
)
GENESIS = hashlib.sha256(b"").digest()


def verify(session: Session | Connection, from_seq: int = 0) -> ChainReport:
    """Recompute the hash chain after position from_seq: every row altered, missing or unchained is named.

    Each committed row holds sha256(previous row's hash || its own canonical text) (migration 0005); the
    chain's tip (audit_chain_tip) holds the last position and hash, so rows removed at the end show too.
    """
    problems: list[str] = []
    unchained = session.execute(text("SELECT id FROM audit_log WHERE chain_seq IS NULL ORDER BY id")).scalars()
    problems += [f"row id {i} is not in the chain 未入链" for i in unchained]
    rows = session.execute(_LINKS, {"from_seq": from_seq}).all()
    for row in rows:
        if row.chain_seq <= from_seq:
            continue
        if not row.intact:
            problems.append(f"row id {row.id} (position {row.chain_seq}) was altered 被改动")
        expected_previous = row.chain_seq - 1
        if (row.previous_seq or 0) != expected_previous and not (from_seq and row.previous_seq is None):
            first = (row.previous_seq or 0) + 1
            problems.append(f"positions {first}–{expected_previous} are missing 缺失")
        elif row.previous_seq is None and row.chain_seq == 1 and row.prev_hash != GENESIS:
            problems.append(f"row id {row.id} (position 1) does not start the chain 链首不符")
        elif row.previous_seq is not None and not row.linked:
            problems.append(f"row id {row.id} (position {row.chain_seq}) does not follow its predecessor 断链")
    tip_seq, tip_hash = session.execute(text("SELECT seq, hash FROM audit_chain_tip")).one()
    last_seq, last_hash = (rows[-1].chain_seq, rows[-1].row_hash) if rows else (from_seq, None)
    if last_seq != tip_seq or (last_hash is not None and bytes(last_hash) != bytes(tip_hash)):
        problems.append(f"positions after {last_seq} up to {tip_seq} are missing or changed 末尾缺失")
    return ChainReport(rows=len(rows), tip_seq=tip_seq, problems=problems)
