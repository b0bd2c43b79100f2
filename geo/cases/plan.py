"""What a step does to a case: where it goes and its new deadline, from the body (checked here, named by field)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import vocab
from geo.cases import clock
from geo.cases.limits import limit_for
from geo.cases.steps import HANDLED, STEPS
from geo.cases.units import Unit, escalation_target
from geo.errors import InvalidInput
from geo.scope import contains, level_of
from geo.timebounds import QUERY_YEARS

LEVEL_RANK = {"city": 0, "county": 1, "town": 2, "community": 3, "grid": 4}


@dataclass(frozen=True)
class Plan:
    to_unit: Unit | None
    deadline_at: dt.datetime | None
    due_key: dt.datetime | None = None


def _need(body: dict[str, Any], step: str) -> None:
    for name in STEPS[step].needs:
        value = body.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise InvalidInput(f"步骤 {step} 需要 {name} the step {step} needs '{name}'", field=name)


def plan_step(session: Session, row: Any, step: str, body: dict[str, Any], now: dt.datetime) -> Plan:
    """Where the case goes and its deadline after step (raises InvalidInput for a bad body)."""
    _need(body, step)
    holder = Unit(row.unit_kind, row.unit_code, row.unit_department)
    dispatcher = Unit("centre", row.dispatch_code) if row.dispatch_code else None
    to: Unit | None = None
    if step == "dispatch":
        to = check_target(session, holder, body["to"])
    elif step == "report_back" or step in ("return", "approve_return"):
        to = dispatcher
    elif step == "rework":
        to = Unit(row.handler_kind, row.handler_code, row.handler_department)
    elif step == "escalate":
        to = escalation_target(holder)
    elif step == "park":
        to = dispatcher if row.state in HANDLED and dispatcher else holder
    return Plan(None if to == holder else to, _deadline(session, row, step, body, now))


def _deadline(session: Session, row: Any, step: str, body: dict[str, Any], now: dt.datetime) -> dt.datetime | None:
    spec = STEPS[step]
    if spec.to_state in ("closed", "declined"):
        return None
    if step == "park":
        review_on = body["review_on"]
        if review_on <= now.astimezone(clock.LOCAL_TZ).date():
            raise InvalidInput("复查日期须在今天之后 review_on must be after today", field="review_on")
        if review_on.year > QUERY_YEARS[1]:  # 9999-12-31 has no end of day to be the deadline
            raise InvalidInput(
                f"复查日期超出范围 review_on must be in {QUERY_YEARS[1]} or before", field="review_on"
            )
        return clock.end_of_day(review_on)
    if step == "approve_extension":
        return clock.deadline(row.deadline_at - dt.timedelta(microseconds=1), _requested_days(session, row.id))
    if spec.clock is None:
        return row.deadline_at
    # Read with the locked case (geo.cases.store.lock_case); looked up only to name a missing row.
    if row.limit_days is not None:
        days, most = row.limit_days, row.limit_most
    else:
        days, most = limit_for(session, row.category, row.priority, spec.clock)
    if step == "dispatch" and body.get("days") is not None:
        if not 0 <= int(body["days"]) <= (most or days):
            raise InvalidInput(f"时限 days must be 0–{most or days} working days", field="days")
        days = int(body["days"])
    return clock.deadline(now, days)


def _requested_days(session: Session, case_id: int) -> int:
    days = session.execute(
        text(
            "SELECT days FROM case_events WHERE case_id = :id AND step = 'request_extension' ORDER BY id DESC LIMIT 1"
        ),
        {"id": case_id},
    ).scalar_one()
    return int(days)


def check_target(session: Session, holder: Unit, to: Any) -> Unit:
    """A dispatch target: a grid, a centre below the holder, or a department at a level, inside the holder's area."""
    if not isinstance(to, dict):
        raise InvalidInput("to: {kind, code, department} 派遣对象", field="to")
    kind, code, dept = to.get("kind"), str(to.get("code") or ""), to.get("department")
    if kind not in ("grid", "centre", "department"):
        raise InvalidInput("to.kind must be grid, centre or department", field="to.kind")
    if not contains(holder.code, code):
        raise InvalidInput(f"{code} 不在 {holder.code} 辖区内 is not inside {holder.code}", field="to.code")
    level = level_of(code)
    if kind == "grid":
        found = session.execute(text("SELECT 1 FROM grids WHERE code = :c AND status = 'active'"), {"c": code})
    else:
        found = session.execute(text("SELECT 1 FROM admin_units WHERE code = :c"), {"c": code})
    if level is None or found.first() is None or (kind == "grid") != (level == "grid"):
        raise InvalidInput(f"没有这个单位 no {kind} with code {code}", field="to.code")
    if kind == "centre" and LEVEL_RANK[level] <= LEVEL_RANK[holder.level]:
        raise InvalidInput(
            "只能派遣给下级中心 a centre target must be below the dispatching centre", field="to.code"
        )
    if kind == "department" and dept not in vocab.DEPARTMENTS:
        raise InvalidInput(f"department must be one of {', '.join(vocab.DEPARTMENTS)}", field="to.department")
    return Unit(kind, code, dept if kind == "department" else None)
