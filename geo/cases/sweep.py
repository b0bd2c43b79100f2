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

from geo import audit
from geo.cases import clock
from geo.cases.limits import limit_for
from geo.cases.steps import STEPS, SYSTEM_ACTOR
from geo.errors import InvalidInput
from geo.live.notice import NOTIFY_EACH_ROW, notify_params
from geo.scope import CITY_CODE, LEVEL_BY_LENGTH, parent_of
from geo.timebounds import QUERY_YEARS

SWEEP_LOCK = 0x0C17_5EE9  # pg advisory lock key: one sweep at a time across processes
ESCALATE_FROM = tuple(s for s in STEPS["escalate"].from_states)
LOG = logging.getLogger("citygrid.cases.sweep")

# Claim the open cases past a deadline not yet supervised (the partial index ix_cases_unsupervised, migration
# 0010, holds exactly those: none in steady state), oldest deadline first, at most :batch a round; append their
# events (unique by case and deadline), mark the rows (cases.supervised_due, the fold of that event) and send
# each recorded case's live notice.
_SUPERVISE = """
WITH due AS (
    SELECT c.id, c.unit_kind, c.unit_code, c.unit_department, c.deadline_at, c.state, c.version,
           coalesce(c.grid_code, c.community_code, c.town_code, c.county_code) AS place
    FROM cases c
    WHERE c.state NOT IN ('declined', 'closed') AND c.supervised_due IS DISTINCT FROM c.deadline_at
      AND c.deadline_at < :as_of
    ORDER BY c.deadline_at LIMIT :batch
    FOR UPDATE OF c SKIP LOCKED
), ev AS (
    INSERT INTO case_events (case_id, step, at, actor, from_unit_kind, from_unit_code, from_unit_department,
                             note, deadline_at, due_key, late)
    SELECT id, 'supervise', :as_of, :actor, unit_kind, unit_code, unit_department,
           '超期督办 overdue: in the supervision list of the level above', deadline_at, deadline_at, false
    FROM due
    ON CONFLICT (case_id, step, due_key) WHERE due_key IS NOT NULL DO NOTHING
    RETURNING case_id
), marked AS (  -- every claimed row, its event new or already there, so none is claimed again
    UPDATE cases c SET supervised_due = d.deadline_at FROM due d WHERE c.id = d.id
)
""" + NOTIFY_EACH_ROW.format(
    rows="SELECT d.id AS case_id, d.state, d.version, 'supervise' AS step, ARRAY[d.unit_code, d.place] AS units "
    "FROM ev JOIN due d ON d.id = ev.case_id"
)


def escalation_cutoff(as_of: dt.datetime, grace_days: int) -> dt.datetime:
    """The latest deadline that has been overdue for grace_days working days at as_of.

    Deadlines end a local day (clock.deadline), so it is the end of the latest day L whose grace_days-th
    working day after it has ended by as_of.
    """
    day = as_of.astimezone(clock.LOCAL_TZ).date()
    while clock.deadline(clock.end_of_day(day) - dt.timedelta(microseconds=1), grace_days) > as_of:
        day -= dt.timedelta(days=1)
    return clock.end_of_day(day)


# The cases to escalate this round, claimed (locked) oldest deadline first: held by a unit with one above it
# (the city and codes of no level have none: geo.scope.parent_of, here by the same rule on the code's length).
_CLAIM = """
SELECT c.id, c.unit_code, c.category, c.priority FROM cases c
WHERE c.state = ANY(:states) AND c.deadline_at <= :cutoff
  AND c.unit_code <> :city AND length(c.unit_code) = ANY(:lengths) AND c.unit_code ~ '^[0-9]+$'
ORDER BY c.deadline_at LIMIT :batch
FOR UPDATE OF c SKIP LOCKED
"""

# Escalation of the claimed cases in one statement (the same transition as fold.apply for 'escalate'): append
# their events (unique by case and the deadline that fired), move the rows whose event was written, and send
# each moved case's live notice (delivered on commit, as a step's).
_ESCALATE = """
WITH due AS (
    SELECT c.id, c.unit_kind, c.unit_code, c.unit_department, c.deadline_at, c.updated_at, c.category, c.priority
    FROM cases c WHERE c.id = ANY(:ids)
), moved AS (
    SELECT d.*, m.parent AS to_code, l.deadline AS new_deadline
    FROM due d
    JOIN unnest(CAST(:codes AS text[]), CAST(:parents AS text[])) AS m(code, parent) ON m.code = d.unit_code
    JOIN unnest(CAST(:cats AS text[]), CAST(:prios AS text[]), CAST(:deadlines AS timestamptz[]))
         AS l(category, priority, deadline) ON l.category = d.category AND l.priority = d.priority
), ev AS (
    INSERT INTO case_events (case_id, step, at, actor, from_unit_kind, from_unit_code, from_unit_department,
                             to_unit_kind, to_unit_code, note, deadline_at, due_key, elapsed_s, late)
    SELECT id, 'escalate', :as_of, :actor, unit_kind, unit_code, unit_department, 'centre', to_code, :note,
           new_deadline, deadline_at, GREATEST(0, floor(extract(epoch FROM CAST(:as_of AS timestamptz) - updated_at)))::int,
           CAST(:as_of AS timestamptz) > deadline_at
    FROM moved
    ON CONFLICT (case_id, step, due_key) WHERE due_key IS NOT NULL DO NOTHING
    RETURNING case_id, late
), up AS (
    UPDATE cases c SET state = 'filed', unit_kind = 'centre', unit_code = m.to_code, unit_department = NULL,
       step_started_at = CASE WHEN m.new_deadline IS DISTINCT FROM c.deadline_at THEN :as_of ELSE c.step_started_at END,
       deadline_at = m.new_deadline, parked_until = NULL, late_steps = c.late_steps + ev.late::int,
       version = c.version + 1, updated_at = :as_of
    FROM moved m JOIN ev ON ev.case_id = m.id WHERE m.id = c.id
    RETURNING c.id, c.state, c.version, m.unit_code AS from_code, m.to_code,
              coalesce(c.grid_code, c.community_code, c.town_code, c.county_code) AS place
)
""" + NOTIFY_EACH_ROW.format(
    rows="SELECT id AS case_id, state, version, 'escalate' AS step, ARRAY[to_code, from_code, place] AS units FROM up"
)


# Cases supervised (and as many escalated) at most per round: about a second on 2 cores. A backlog drains
# round by round, oldest deadline first, and an operator's step never waits long behind a round's row locks.
# 5,000 gave rounds of 1.1–1.5 s (median) and a slowest of 1.3–2.0 s over 10⁶ cases (bench/cases.py, on a
# noisy machine): too close to the 2 s a round may take. 3,000 gave a median of 1.12–1.28 s, and a slowest
# of 1.57 s in one run but 2.15 s in two others (issue 17's last round): 2,500.
BATCH = 2_500


def sweep(session: Session, as_of: dt.datetime, grace_days: int, batch: int = BATCH) -> dict[str, Any]:
    """One sweep round in the caller's transaction: {supervised, escalated, more} (or skipped when another runs).

    `more` is true when a limit of `batch` was reached, so another round at the same as_of has work left.
    """
    if not QUERY_YEARS[0] <= as_of.year <= QUERY_YEARS[1]:  # year 1 or 9999: no working day to count from
        raise InvalidInput(f"as_of: year {as_of.year} is outside {QUERY_YEARS[0]}–{QUERY_YEARS[1]}", field="as_of")
    if not session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": SWEEP_LOCK}).scalar_one():
        return {"skipped": True, "supervised": 0, "escalated": 0, "more": False, "as_of": as_of.isoformat()}
    # Plans for the values at hand: a connection that has run the escalation 10 times (psycopg prepares it after
    # 5, PostgreSQL then tries a generic plan) got one that blind to the arrays' sizes took 3.2 s, not 0.4 s, a
    # round of 5,000 (1M-case bench).
    session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    # Each statement sends one live notice per case it fired for (NOTIFY_EACH_ROW) and answers how many.
    supervised = session.execute(
        text(_SUPERVISE), {"as_of": as_of, "actor": SYSTEM_ACTOR, "batch": batch, **notify_params(as_of)}
    ).scalar_one()
    escalated, claimed = _escalate(session, as_of, grace_days, batch)
    result = {
        "skipped": False,
        "supervised": supervised,
        "escalated": escalated,
        "more": supervised >= batch or claimed >= batch,
        "as_of": as_of.isoformat(),
    }
    if supervised or escalated:  # one row a round that fired: its events are those of this actor at as_of
        audit.record(session, SYSTEM_ACTOR, "sweep", "case_sweep", as_of.isoformat(), after=result)
    return result


def _escalate(session: Session, as_of: dt.datetime, grace_days: int, batch: int) -> tuple[int, int]:
    """Escalate up to `batch` cases overdue for grace_days working days to the centre one level up;
    (escalated, claimed). Work is in proportion to the batch, not to the backlog."""
    claimed = session.execute(
        text(_CLAIM),
        {
            "states": list(ESCALATE_FROM),
            "cutoff": escalation_cutoff(as_of, grace_days),
            "city": CITY_CODE,
            "lengths": sorted(LEVEL_BY_LENGTH),
            "batch": batch,
        },
    ).all()
    if not claimed:
        return 0, 0
    codes = sorted({r.unit_code for r in claimed})
    pairs = sorted({(r.category, r.priority) for r in claimed})
    deadlines = [clock.deadline(as_of, limit_for(session, cat, prio, "dispatch")[0]) for cat, prio in pairs]
    note = f"超期 {grace_days} 个工作日自动上报 overdue {grace_days} working day(s): escalated by itself"
    params = {
        "ids": [r.id for r in claimed],
        "codes": codes,
        "parents": [parent_of(c) for c in codes],
        "cats": [c for c, _ in pairs],
        "prios": [p for _, p in pairs],
        "deadlines": deadlines,
        "as_of": as_of,
        "actor": SYSTEM_ACTOR,
        "note": note,
        **notify_params(as_of),
    }
    return int(session.execute(text(_ESCALATE), params).scalar_one()), len(claimed)


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
                more = True
                while more and not self._stop.is_set():  # a backlog: the next round at once, each one short
                    result = run_once(self._make_session, None, self._grace)
                    more = result["more"]
                    if result["supervised"] or result["escalated"]:
                        LOG.info("case sweep: %s", result)
            except Exception:  # a failed round (database restarting…) is retried next period
                LOG.exception("case sweep failed; retrying in %.0f s", self._seconds)
