"""Writing a case: one step = one case_events row + the cases row moved by the same transition, version-checked.

The cases row is changed only here (and in set-based SQL by the sweep and the demo loader, which tests fold
back). A step is checked against the step table (geo.cases.steps) in one place: check_and_plan.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from geo import audit
from geo.cases import fold
from geo.cases.limits import limit_sql
from geo.cases.plan import Plan, plan_step
from geo.cases.steps import STEPS, CaseView, allowed_steps
from geo.cases.units import Actor, Unit
from geo.cases.visibility import visible
from geo.errors import NotFound, StepNotAllowed, VersionConflict
from geo.live import announce_case
from geo.pg import direct

EVENT_COLUMNS = (
    "case_id", "step", "at", "actor", "from_unit_kind", "from_unit_code", "from_unit_department",
    "to_unit_kind", "to_unit_code", "to_unit_department", "note", "days", "review_on", "deadline_at",
    "due_key", "elapsed_s", "late",
)  # fmt: skip
INSERT_EVENT_INTO = f"INSERT INTO case_events ({', '.join(EVENT_COLUMNS)}, geom)"


def event_values(case_id: str = ":case_id", prefix: str = "") -> str:
    """The VALUES row of an event whose parameters are event_params(…, prefix); case_id: its SQL."""
    p = prefix
    values = [case_id, *(f":{p}{c}" for c in EVENT_COLUMNS[1:])]
    geom = f"CASE WHEN CAST(:{p}lon AS float8) IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint(:{p}lon, :{p}lat), 4326) END"
    return f"({', '.join(values)}, {geom})"


def event_params(event: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    params = {c: event.get(c) for c in EVENT_COLUMNS}
    params["late"] = bool(event.get("late"))
    params["lon"], params["lat"] = event.get("lon"), event.get("lat")
    return {prefix + k: v for k, v in params.items()} if prefix else params


_INSERT_EVENT = direct.SQL(f"{INSERT_EVENT_INTO} VALUES {event_values()} RETURNING id")
_UPDATE_CASE = direct.SQL(
    "UPDATE cases SET "
    + ", ".join(f"{c} = :{c}" for c in fold.COLUMNS)
    + " WHERE id = :case_id AND version = :expected"
)


# The case, locked, with the time limit of the clock the step starts (steps.Step.clock): one statement fewer
# per step than looking the limit up after (limit_days is NULL for a step without a clock or without a row).
_LOCK_CASE = direct.SQL(
    f"""SELECT c.*, l.working_days AS limit_days, l.max_working_days AS limit_most FROM cases c
        LEFT JOIN LATERAL ({limit_sql("c.category", "c.priority", "CAST(:clock AS text)")}) l ON true
        WHERE c.id = :id FOR UPDATE OF c"""
)


def insert_event(session: Session, event: dict[str, Any]) -> int:
    """Append one event (the only way a step is recorded; a report's first, with its case: geo.cases.report)."""
    return int(direct.scalar(session, _INSERT_EVENT, event_params(event)))


def derived_of(row: Any) -> fold.Derived:
    return fold.Derived(**{c: getattr(row, c) for c in fold.COLUMNS})


def view_of(row: Any) -> CaseView:
    return CaseView(row.state, Unit(row.unit_kind, row.unit_code, row.unit_department), row.dispatch_code)


def lock_case(session: Session, actor: Actor, case_id: int, clock: str | None = None) -> Any:
    """The case row, locked for this transaction, with the time limit of `clock` (limit_days, limit_most);
    NotFound when it does not exist or lies outside the actor's reach."""
    row = direct.first(session, _LOCK_CASE, {"id": case_id, "clock": clock})
    if row is None or not visible(actor, row):
        raise NotFound(f"案件 {case_id} 不存在 case {case_id} does not exist", field="id")
    return row


def current_state(row: Any, actor: Actor) -> dict[str, Any]:
    """What a refused writer is told: the case's state, version and the steps it may take."""
    return {
        "state": row.state,
        "version": row.version,
        "unit": Unit(row.unit_kind, row.unit_code, row.unit_department).as_json(),
        "allowed_steps": allowed_steps(view_of(row), actor),
    }


def take_step(
    session: Session,
    actor: Actor,
    case_id: int,
    step: str,
    expected_version: int,
    body: dict[str, Any],
    now: dt.datetime | None = None,
) -> int:
    """Take one step on a case as actor (If-Match = expected_version); returns the new version."""
    now = now or dt.datetime.now(dt.UTC)
    row = lock_case(session, actor, case_id, STEPS[step].clock if step in STEPS else None)
    if row.version != expected_version:
        raise VersionConflict(
            f"案件已被他人更新 case {case_id} is at version {row.version}, not {expected_version}: read it again",
            current_version=row.version,
            current=current_state(row, actor),
        )
    allowed = allowed_steps(view_of(row), actor)
    if step not in allowed:
        what = f"步骤 {step}" if step in STEPS else f"未知步骤 unknown step {step!r}"
        raise StepNotAllowed(
            f"{what} 当前不可执行 not allowed in state {row.state} for you; allowed: {', '.join(allowed) or 'none'}",
            field="step",
            allowed_steps=allowed,
            current=current_state(row, actor),
        )
    plan = plan_step(session, row, step, body, now)
    return record(session, row, actor.username, step, plan, now, body)


def record(
    session: Session, row: Any, who: str, step: str, plan: Plan, now: dt.datetime, body: dict[str, Any]
) -> int:
    """Append the step's event and move the cases row by the same transition (fold.apply)."""
    before = derived_of(row)
    event = {
        "case_id": row.id,
        "step": step,
        "at": now,
        "actor": who,
        "from_unit_kind": row.unit_kind,
        "from_unit_code": row.unit_code,
        "from_unit_department": row.unit_department,
        **_unit_columns("to_unit", plan.to_unit),
        "note": body.get("note"),
        "days": body.get("days"),
        "review_on": body.get("review_on"),
        "deadline_at": plan.deadline_at,
        "due_key": plan.due_key,
        "elapsed_s": max(0, int((now - row.updated_at).total_seconds())),
        "late": row.deadline_at is not None and now > row.deadline_at,
        "lon": body.get("lon"),
        "lat": body.get("lat"),
    }
    after = fold.apply(before, event)
    insert_event(session, event)
    if after != before:
        done = direct.execute(
            session, _UPDATE_CASE, {**after.as_dict(), "case_id": row.id, "expected": row.version}
        )
        if done.rowcount != 1:  # cannot happen under the row lock; never write an event the row does not show
            raise VersionConflict(f"case {row.id} changed during the step", current_version=row.version)
    place = row.grid_code or row.community_code or row.town_code or row.county_code
    units = [after.unit_code, row.unit_code, place, after.handler_code]
    announce_case(session, row.id, after.state, after.version, step, units, now)  # live screens, on commit
    # The step is audited like every other write (case_events is the case's own history, outside the chain):
    # action = the step, the case as it was and is, the note as the reason.
    audit.record(session, who, step, "case", str(row.id), _audited(before), _audited(after), body.get("note"))
    return after.version


def _audited(d: fold.Derived) -> dict[str, Any]:
    unit = {"kind": d.unit_kind, "code": d.unit_code, "department": d.unit_department}
    deadline = d.deadline_at.isoformat() if d.deadline_at else None
    return {"state": d.state, "unit": unit, "deadline_at": deadline, "version": d.version}


def _unit_columns(prefix: str, unit: Unit | None) -> dict[str, Any]:
    return {
        f"{prefix}_kind": unit.kind if unit else None,
        f"{prefix}_code": unit.code if unit else None,
        f"{prefix}_department": unit.department if unit else None,
    }
