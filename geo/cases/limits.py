"""Time limits per category, priority and step (case_time_limits), read by the clock and edited by admins."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import audit, vocab
from geo.cases.vocab import PRIORITIES
from geo.errors import InvalidInput
from geo.pg import direct

LIMIT_STEPS = ("file", "dispatch", "handle", "verify", "spot")


def limit_sql(category: str, priority: str, step: str) -> str:
    """SQL for (working_days, max_working_days) of a step: the category's own row, else the '*' row; the
    arguments are SQL expressions (binds, or a locked case's columns: geo.cases.store.lock_case)."""
    return f"""SELECT working_days, max_working_days FROM case_time_limits
               WHERE category IN ({category}, '*') AND priority = {priority} AND step = {step}
               ORDER BY category = '*' LIMIT 1"""


_LIMIT = direct.SQL(limit_sql(":c", ":p", ":s"))


def limit_for(session: Session, category: str, priority: str, step: str) -> tuple[int, int | None]:
    """(working days, most working days allowed) for a step: the category's own row, else the '*' row."""
    row = direct.first(session, _LIMIT, {"c": category, "p": priority, "s": step})
    if row is None:
        raise InvalidInput(f"没有时限 no time limit for step {step} ({category}, {priority})", field="step")
    return int(row[0]), None if row[1] is None else int(row[1])


def list_limits(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(
        text(
            """SELECT category, priority, step, working_days, max_working_days, updated_by, updated_at
               FROM case_time_limits ORDER BY category, priority, step"""
        )
    )
    return [dict(r._mapping) for r in rows]


def _check(row: dict[str, Any], i: int) -> None:
    if row["category"] != "*" and row["category"] not in vocab.INCIDENT_CATEGORIES:
        raise InvalidInput(f"未知类别 unknown category {row['category']!r}", index=i, field="category")
    if row["priority"] not in PRIORITIES:
        raise InvalidInput(f"未知优先级 unknown priority {row['priority']!r}", index=i, field="priority")
    if row["step"] not in LIMIT_STEPS:
        raise InvalidInput(f"step must be one of {', '.join(LIMIT_STEPS)}", index=i, field="step")
    days, most = row["working_days"], row.get("max_working_days")
    if not 0 <= days <= 60 or (most is not None and not days <= most <= 60):
        raise InvalidInput("0 ≤ working_days ≤ max_working_days ≤ 60", index=i, field="working_days")


def set_limits(session: Session, actor: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Insert or change limits (by category, priority, step), audited; returns the whole table."""
    for i, row in enumerate(rows):
        _check(row, i)
    before = list_limits(session)
    for row in rows:
        session.execute(
            text(
                """INSERT INTO case_time_limits (category, priority, step, working_days, max_working_days,
                                                 updated_by, updated_at)
                   VALUES (:category, :priority, :step, :working_days, :max_working_days, :actor, now())
                   ON CONFLICT (category, priority, step) DO UPDATE SET working_days = EXCLUDED.working_days,
                     max_working_days = EXCLUDED.max_working_days, updated_by = :actor, updated_at = now()"""
            ),
            {"max_working_days": None, **row, "actor": actor},
        )
    after = list_limits(session)
    audit.record(
        session, actor, "update", "case_time_limits", None, {"rows": _plain(before)}, {"rows": _plain(after)}
    )
    return after


def _plain(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != "updated_at"} for r in rows]
