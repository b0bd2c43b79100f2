"""NOTIFYs a transaction queues, sent by the write's audit row or else together just before it commits.

PostgreSQL delivers a NOTIFY only when its transaction commits, so sending it later in the transaction than
the change tells listeners the same thing. A case report used to spend two statements on its two notices (the
tile caches' and the live feed's) and a step one, each a round trip and a parse on both sides; now the audit
row that ends nearly every write sends what is queued (geo.audit.record, `take`), and whatever is left goes
in one statement at the commit. A rolled-back transaction sends nothing; a rolled-back savepoint does not
take back its notices (one listener refreshing too much is harmless; one refreshing too little serves a
stale map).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, text
from sqlalchemy.orm import Session

_QUEUED = "citygrid_notify_queue"
_SEND = text(
    "SELECT count(pg_notify(q.channel, q.payload)) "
    "FROM unnest(CAST(:channels AS text[]), CAST(:payloads AS text[])) AS q(channel, payload)"
)


def queue(session: Session, channel: str, payload: str) -> None:
    """Send pg_notify(channel, payload) when session's transaction commits (in the order queued)."""
    session.info.setdefault(_QUEUED, []).append((channel, payload))


def take(session: Session) -> list[tuple[str, str]]:
    """The queued (channel, payload) pairs, for a statement of the transaction that sends them itself
    (geo.audit.record: a write's audit row carries its notices)."""
    return session.info.pop(_QUEUED, None) or []


@event.listens_for(Session, "before_commit")
def _send(session: Session) -> None:
    queued = session.info.pop(_QUEUED, None)
    if queued:
        session.execute(_SEND, {"channels": [c for c, _ in queued], "payloads": [p for _, p in queued]})


@event.listens_for(Session, "after_soft_rollback")
def _drop(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.parent is None:  # the outermost rollback only (see the module's note)
        session.info.pop(_QUEUED, None)
