"""The overdue sweep: supervision (督办) of every overdue case, and escalation after a grace by itself.

Replayable with as_of (events are stamped with it). Idempotent: each firing is keyed by (case, step, the
deadline that fired it) in a unique index, so a re-run, a restart half-way (the transaction is lost whole) or
a second server process adds nothing twice. Two processes do not even overlap: the sweep takes a
transaction-level advisory lock and the other returns at once; candidate rows are claimed FOR UPDATE SKIP
LOCKED, so an operator's step in progress is left for the next round.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from geo.cases import clock
from geo.cases.plan import plan_step
from geo.cases.steps import STEPS, SYSTEM_ACTOR
from geo.cases.store import record

SWEEP_LOCK = 0x0C17_5EE9  # pg advisory lock key: one sweep at a time across processes
ESCALATE_FROM = tuple(s for s in STEPS["escalate"].from_states)
LOG = logging.getLogger("citygrid.cases.sweep")

_SUPERVISE = """
WITH due AS (
    SELECT c.id, c.unit_kind, c.unit_code, c.unit_department, c.deadline_at
    FROM cases c
    WHERE c.state NOT IN ('declined', 'closed') AND c.deadline_at < :as_of
      AND NOT EXISTS (SELECT 1 FROM case_events e
                      WHERE e.case_id = c.id AND e.step = 'supervise' AND e.due_key = c.deadline_at)
    FOR UPDATE OF c SKIP LOCKED
)
INSERT INTO case_events (case_id, step, at, actor, from_unit_kind, from_unit_code, from_unit_department,
                         note, deadline_at, due_key, late)
SELECT id, 'supervise', :as_of, :actor, unit_kind, unit_code, unit_department,
       '超期督办 overdue: in the supervision list of the level above', deadline_at, deadline_at, false
FROM due
ON CONFLICT (case_id, step, due_key) WHERE due_key IS NOT NULL DO NOTHING
"""


def escalation_cutoff(as_of: dt.datetime, grace_days: int) -> dt.datetime:
    """The latest deadline that has been overdue for grace_days working days at as_of.

    Deadlines end a local day (clock.deadline), so it is the end of the latest day L whose grace_days-th
    working day after it has ended by as_of.
    """
    day = as_of.astimezone(clock.LOCAL_TZ).date()
    while clock.deadline(clock.end_of_day(day) - dt.timedelta(microseconds=1), grace_days) > as_of:
        day -= dt.timedelta(days=1)
    return clock.end_of_day(day)


def sweep(session: Session, as_of: dt.datetime, grace_days: int, batch: int = 5000) -> dict[str, Any]:
    """One sweep in the caller's transaction: {supervised, escalated} (or skipped when another runs)."""
    if not session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": SWEEP_LOCK}).scalar_one():
        return {"skipped": True, "supervised": 0, "escalated": 0, "as_of": as_of.isoformat()}
    supervised = session.execute(text(_SUPERVISE), {"as_of": as_of, "actor": SYSTEM_ACTOR}).rowcount  # type: ignore[attr-defined]
    cutoff = escalation_cutoff(as_of, grace_days)
    rows = session.execute(
        text(
            """SELECT * FROM cases
               WHERE state = ANY(:states) AND deadline_at <= :cutoff AND unit_code IS DISTINCT FROM :city
               ORDER BY deadline_at LIMIT :batch FOR UPDATE SKIP LOCKED"""
        ),
        {"states": list(ESCALATE_FROM), "cutoff": cutoff, "city": _city(), "batch": batch},
    ).fetchall()
    escalated = 0
    for row in rows:
        plan = plan_step(session, row, "escalate", {}, as_of)
        if plan.to_unit is None:
            continue
        keyed = type(plan)(plan.to_unit, plan.deadline_at, due_key=row.deadline_at)
        note = {
            "note": f"超期 {grace_days} 个工作日自动上报 overdue {grace_days} working day(s): escalated by itself"
        }
        record(session, row, SYSTEM_ACTOR, "escalate", keyed, as_of, note)
        escalated += 1
    return {"skipped": False, "supervised": supervised, "escalated": escalated, "as_of": as_of.isoformat()}


def _city() -> str:
    from geo.scope import CITY_CODE

    return CITY_CODE


def run_once(make_session: sessionmaker, as_of: dt.datetime | None, grace_days: int) -> dict[str, Any]:
    """One sweep in its own transaction, committed."""
    with make_session() as session:
        result = sweep(session, as_of or dt.datetime.now(dt.UTC), grace_days)
        session.commit()
        return result


class BackgroundSweep:
    """The sweep every `seconds` in a daemon thread of the API process (started and stopped by the lifespan)."""

    def __init__(self, make_session: sessionmaker, seconds: float, grace_days: int) -> None:
        self._make_session, self._seconds, self._grace = make_session, seconds, grace_days
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="case-sweep", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.wait(self._seconds):
            try:
                result = run_once(self._make_session, None, self._grace)
                if result["supervised"] or result["escalated"]:
                    LOG.info("case sweep: %s", result)
            except Exception:  # a failed round (database restarting…) is retried next period
                LOG.exception("case sweep failed; retrying in %.0f s", self._seconds)
