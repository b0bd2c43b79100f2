"""City- and county-wide measures from the roll-ups of migration 0009, with the same (exact) figures.

The totals are sums over case_daily_counts (cases per local report day and area by the keys the measures
count on). The median time per step is exact, as percentile_cont(0.5): case_step_counts gives, per step,
how many of the cohort's step times fall in each value bucket, hence the bucket holding the middle rank and
how many lie below it; the one or two values at that rank are then read in order from the index on
case_events (step, elapsed_s), which carries each event's case report day and county. So a year of 10⁶
cases costs a few thousand roll-up rows and a short index walk per step, not a sort of every step time.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.area import Area
from geo.cases.vocab import CLOSE_LEVELS

TABLE = "case_rollups"  # the scope rule of both roll-ups (geo.area)

# The totals, as conditions on a case's columns ({a}: alias) or on the roll-up's keys derived from them.
TOTALS = {
    "received": "TRUE",
    "filed": "{a}.state NOT IN ('reported', 'declined')",
    "declined": "{a}.state = 'declined'",
    "closed": "{a}.state = 'closed'",
    "closed_on_time": "{a}.state = 'closed' AND NOT ({late})",
    "reworked": "{a}.state = 'closed' AND {reworked}",
    "parked": "{a}.state = 'parked'",
    "d_received": "{a}.category = 'dispute'",
    "d_filed": "{a}.category = 'dispute' AND {a}.state NOT IN ('reported', 'declined')",
    "d_handled": "{a}.category = 'dispute' AND {handled}",
    "d_closed": "{a}.category = 'dispute' AND {a}.state = 'closed'",
    **{f"at_{lv}": f"{{a}}.closed_level = '{lv}'" for lv in CLOSE_LEVELS},
}
ON_ROLLUP = {"a": "r", "late": "r.late", "reworked": "r.reworked", "handled": "r.handled"}
ON_CASES = {
    "a": "c",
    "late": "c.late_steps > 0",
    "reworked": "c.rework_count > 0",
    "handled": "c.handler_code IS NOT NULL",
}


def totals(session: Session, area: Area, start: dt.date, end: dt.date) -> dict[str, int]:
    """The cohort's counts (cases reported at places in area, local days start to end exclusive)."""
    where, params = area.where(TABLE, "r", "scope")
    cols = ", ".join(
        f"coalesce(sum(r.n) FILTER (WHERE {cond.format(**ON_ROLLUP)}), 0) AS {name}"
        for name, cond in TOTALS.items()
    )
    row = session.execute(
        text(f"SELECT {cols} FROM case_daily_counts r WHERE {where} AND r.day >= :d0 AND r.day < :d1"),
        params | {"d0": start, "d1": end},
    ).one()
    return {name: int(v) for name, v in row._mapping.items()}


_HISTOGRAM = """SELECT r.step, r.bucket, sum(r.n) AS n FROM case_step_counts r
WHERE {where} AND r.day >= :d0 AND r.day < :d1 GROUP BY r.step, r.bucket HAVING sum(r.n) <> 0
ORDER BY r.step, r.bucket"""
# Per step: skip `skip` of the cohort's step times from the bucket's floor on, in order, and take `take`.
_AT_RANK = """SELECT q.step, ARRAY(
    SELECT e.elapsed_s FROM case_events e
    WHERE e.step = q.step AND e.elapsed_s IS NOT NULL AND e.elapsed_s >= coalesce(case_bucket_floor(q.bucket), -2147483648)
      AND e.reported_on >= :d0 AND e.reported_on < :d1 AND {where}
    ORDER BY e.elapsed_s OFFSET q.skip LIMIT q.take) AS vals
FROM unnest(CAST(:steps AS text[]), CAST(:buckets AS int[]), CAST(:skips AS int[]), CAST(:takes AS int[]))
     AS q(step, bucket, skip, take)"""


def middle_rank(buckets: list[tuple[int, int]]) -> tuple[int, int, int]:
    """(the bucket holding rank (n-1)//2 counted from 0, that rank less the values in lower buckets, how many
    values to take) for the step times counted by bucket: (bucket, count) in bucket order.

    percentile_cont(0.5) is the value at that rank when n is odd, else the mean of it and the next one (which
    may lie in a later bucket: the index walk from the bucket's floor does not stop at its ceiling).
    """
    n = sum(c for _, c in buckets)
    rank, below = (n - 1) // 2, 0
    for bucket, count in buckets:
        if below + count > rank:
            return bucket, rank - below, 1 if n % 2 else 2
        below += count
    raise ValueError("no step times")


def step_medians(session: Session, area: Area, start: dt.date, end: dt.date) -> dict[str, float]:
    """Median seconds per step of the cohort's step times (exactly percentile_cont(0.5))."""
    where, params = area.where(TABLE, "r", "scope")
    params |= {"d0": start, "d1": end}
    hist: dict[str, list[tuple[int, int]]] = {}
    for step, bucket, n in session.execute(text(_HISTOGRAM.format(where=where)), params):
        hist.setdefault(step, []).append((bucket, int(n)))
    if not hist:
        return {}
    ranks = {step: middle_rank(b) for step, b in hist.items()}
    events_where, events_params = area.where("cases", "e", "scope")
    rows = session.execute(
        text(_AT_RANK.format(where=events_where)),
        events_params
        | {"d0": start, "d1": end}
        | {
            "steps": list(ranks),
            "buckets": [r[0] for r in ranks.values()],
            "skips": [r[1] for r in ranks.values()],
            "takes": [r[2] for r in ranks.values()],
        },
    ).all()
    out: dict[str, float] = {}
    for step, vals in rows:
        if len(vals) != ranks[step][2]:
            raise RuntimeError(f"case_step_counts disagrees with case_events for step {step}")
        out[step] = float(vals[0]) if len(vals) == 1 else vals[0] + (vals[1] - vals[0]) * 0.5
    return out


def measures_rolled_up(session: Session, area: Area, start: dt.date, end: dt.date) -> dict[str, Any]:
    """The totals and the per-step medians, for an area the roll-ups keep (the city or a county)."""
    return {"totals": totals(session, area, start, end), "medians": step_medians(session, area, start, end)}
