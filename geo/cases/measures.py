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
from geo.cases import rollup
from geo.cases.units import Actor
from geo.cases.vocab import CLOSE_LEVELS
from geo.errors import InvalidInput
from geo.localtime import LOCAL_TZ, day_start


def measures(
    session: Session, actor: Actor, admin_code: str, start: dt.date, end: dt.date, as_of: dt.datetime | None = None
) -> dict[str, Any]:
    """The cycle's measures for the cases reported at places inside admin_code from start to end (exclusive).

    The city and a county read the roll-ups (geo.cases.rollup); a town, community or grid counts its cases.
    Both give the same figures (tests/db/test_case_measures.py).
    """
    if end <= start:
        raise InvalidInput("end must be after start", field="end")
    as_of = as_of or dt.datetime.now(dt.UTC)
    area = Area.of(actor.area_code).narrowed(admin_code)
    if area.has_rows_in(rollup.TABLE):
        totals, medians = rollup.totals(session, area, start, end), rollup.step_medians(session, area, start, end)
    else:
        totals, medians = direct_totals(session, area, start, end), direct_medians(session, area, start, end)
    where, params = area.where("cases", "c", "scope")
    overdue = session.execute(
        text(
            f"SELECT count(*) FROM cases c WHERE {where} AND c.state NOT IN ('declined', 'closed') AND c.deadline_at < :now"
        ),
        params | {"now": as_of},
    ).scalar_one()
    return _figures(admin_code, start, end, as_of, totals, overdue, medians)


def _cohort(area: Area, start: dt.date, end: dt.date) -> tuple[str, dict[str, Any]]:
    where, params = area.where("cases", "c", "scope")
    return f"{where} AND c.reported_at >= :t0 AND c.reported_at < :t1", params | {
        "t0": day_start(start),
        "t1": day_start(end),
    }


def direct_totals(session: Session, area: Area, start: dt.date, end: dt.date) -> dict[str, int]:
    """The cohort's counts from the cases themselves (rollup.TOTALS, on the case's own columns)."""
    cohort, params = _cohort(area, start, end)
    cols = ", ".join(
        f"count(*) FILTER (WHERE {c.format(**rollup.ON_CASES)}) AS {name}" for name, c in rollup.TOTALS.items()
    )
    row = session.execute(text(f"SELECT {cols} FROM cases c WHERE {cohort}"), params).one()
    return {name: int(v) for name, v in row._mapping.items()}


def direct_medians(session: Session, area: Area, start: dt.date, end: dt.date) -> dict[str, float]:
    """percentile_cont(0.5) of the cohort's step times, per step, over its events."""
    cohort, params = _cohort(area, start, end)
    rows = session.execute(
        text(
            f"""SELECT e.step, percentile_cont(0.5) WITHIN GROUP (ORDER BY e.elapsed_s) AS median_s
                FROM case_events e JOIN cases c ON c.id = e.case_id
                WHERE {cohort} AND e.elapsed_s IS NOT NULL GROUP BY e.step ORDER BY e.step"""
        ),
        params,
    ).all()
    return {step: float(m) for step, m in rows}


def _figures(
    admin_code: str,
    start: dt.date,
    end: dt.date,
    as_of: dt.datetime,
    totals: dict[str, int],
    overdue: int,
    medians: dict[str, float],
) -> dict[str, Any]:
    closed = totals["closed"]
    return {
        "admin_code": admin_code,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "received": totals["received"],
        "filed": totals["filed"],
        "declined": totals["declined"],
        "closed": closed,
        "parked": totals["parked"],
        "on_time_closure_rate": _rate(totals["closed_on_time"], closed),
        "rework_rate": _rate(totals["reworked"], closed),
        "overdue_now": overdue,
        "as_of": as_of.astimezone(LOCAL_TZ).isoformat(),
        "closed_at_level": {lv: totals[f"at_{lv}"] for lv in CLOSE_LEVELS},
        "closed_at_level_share": {lv: _rate(totals[f"at_{lv}"], closed) for lv in CLOSE_LEVELS},
        "median_hours_before_step": {step: round(m / 3600, 2) for step, m in sorted(medians.items())},
        "dispute_funnel": {
            "received": totals["d_received"],
            "filed": totals["d_filed"],
            "dispatched_or_handled": totals["d_handled"],
            "closed": totals["d_closed"],
        },
    }


def _rate(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 4)
