"""Measures of the case cycle for any admin unit or grid and period (cases reported in [start, end)).

received, filed, declined, closed, on-time closure rate (按期结案率: closed with no step past its deadline),
overdue now, median working time per step, rework rate (返工率), where cases closed (网格内化解率 and the
community/town/county/city shares that 矛盾不上交 is about), and the dispute funnel.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.area import Area
from geo.cases.units import Actor
from geo.cases.vocab import CLOSE_LEVELS
from geo.errors import InvalidInput
from geo.localtime import LOCAL_TZ, day_start


def _scope(actor: Actor, admin_code: str) -> tuple[str, dict[str, Any]]:
    """The cases that happened in admin_code, which must lie inside the caller's area (else 403)."""
    return Area.of(actor.area_code).narrowed(admin_code).where("cases", "c", "scope")


def measures(
    session: Session, actor: Actor, admin_code: str, start: dt.date, end: dt.date, as_of: dt.datetime | None = None
) -> dict[str, Any]:
    """The cycle's measures for the cases reported at places inside admin_code from start to end (exclusive)."""
    if end <= start:
        raise InvalidInput("end must be after start", field="end")
    as_of = as_of or dt.datetime.now(dt.UTC)
    where, params = _scope(actor, admin_code)
    params |= {
        "t0": day_start(start),
        "t1": day_start(end),
        "now": as_of,
    }
    cohort = f"{where} AND c.reported_at >= :t0 AND c.reported_at < :t1"
    totals = session.execute(
        text(
            f"""SELECT count(*) AS received,
                   count(*) FILTER (WHERE c.state NOT IN ('reported', 'declined')) AS filed,
                   count(*) FILTER (WHERE c.state = 'declined') AS declined,
                   count(*) FILTER (WHERE c.state = 'closed') AS closed,
                   count(*) FILTER (WHERE c.state = 'closed' AND c.late_steps = 0) AS closed_on_time,
                   count(*) FILTER (WHERE c.state = 'closed' AND c.rework_count > 0) AS reworked,
                   count(*) FILTER (WHERE c.state = 'parked') AS parked,
                   count(*) FILTER (WHERE c.category = 'dispute') AS d_received,
                   count(*) FILTER (WHERE c.category = 'dispute' AND c.state NOT IN ('reported', 'declined')) AS d_filed,
                   count(*) FILTER (WHERE c.category = 'dispute' AND c.handler_code IS NOT NULL) AS d_handled,
                   count(*) FILTER (WHERE c.category = 'dispute' AND c.state = 'closed') AS d_closed,
                   {", ".join(f"count(*) FILTER (WHERE c.closed_level = '{lv}') AS at_{lv}" for lv in CLOSE_LEVELS)}
                FROM cases c WHERE {cohort}"""
        ),
        params,
    ).one()
    overdue = session.execute(
        text(
            f"SELECT count(*) FROM cases c WHERE {where} AND c.state NOT IN ('declined', 'closed') AND c.deadline_at < :now"
        ),
        params,
    ).scalar_one()
    steps = session.execute(
        text(
            f"""SELECT e.step, count(*) AS n, percentile_cont(0.5) WITHIN GROUP (ORDER BY e.elapsed_s) AS median_s
                FROM case_events e JOIN cases c ON c.id = e.case_id
                WHERE {cohort} AND e.elapsed_s IS NOT NULL GROUP BY e.step ORDER BY e.step"""
        ),
        params,
    ).all()
    closed = totals.closed
    return {
        "admin_code": admin_code,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "received": totals.received,
        "filed": totals.filed,
        "declined": totals.declined,
        "closed": closed,
        "parked": totals.parked,
        "on_time_closure_rate": _rate(totals.closed_on_time, closed),
        "rework_rate": _rate(totals.reworked, closed),
        "overdue_now": overdue,
        "as_of": as_of.astimezone(LOCAL_TZ).isoformat(),
        "closed_at_level": {lv: getattr(totals, f"at_{lv}") for lv in CLOSE_LEVELS},
        "closed_at_level_share": {lv: _rate(getattr(totals, f"at_{lv}"), closed) for lv in CLOSE_LEVELS},
        "median_hours_before_step": {s.step: round(s.median_s / 3600, 2) for s in steps},
        "dispute_funnel": {
            "received": totals.d_received,
            "filed": totals.d_filed,
            "dispatched_or_handled": totals.d_handled,
            "closed": totals.d_closed,
        },
    }


def _rate(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 4)
