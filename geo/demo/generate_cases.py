"""Case histories for the demo: every 2020 dispute and safety hazard becomes a case that moved through the
cycle, closed when its incident was resolved (Feng county: 2,920 of 2,980 disputes), mostly inside its grid.

Each history is a list of events; the cases row is the fold of those events (geo.cases.fold), exactly as a
write through the API makes it, so `citygrid demo check` can recompute the seed figures from the events.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from geo.cases import clock, fold
from geo.cases.units import Unit, escalation_target, home_centre

YEAR_START = pd.Timestamp("2019-12-31 16:00")  # 2020 in UTC+8, as naive UTC like the incidents frame
YEAR_END = pd.Timestamp("2020-12-31 16:00")
# Where a resolved case closed: inside the grid (half of those on the spot), the community, town or county.
CLOSE_SHARES = {"spot": 0.42, "grid": 0.30, "community": 0.17, "town": 0.08, "county": 0.03}
DEPARTMENT = {"dispute": "justice", "hazard": "emergency"}
HANDLE_DAYS = 3
LIMIT_DAYS = {"file": 1, "dispatch": 1, "handle": HANDLE_DAYS, "verify": 1, "spot": 0}  # the seeded limits


def _utc(t: Any) -> dt.datetime:
    return pd.Timestamp(t).to_pydatetime().replace(tzinfo=dt.UTC)


class _History:
    """Builds one case's events, keeping the derived row up to date with fold.apply."""

    def __init__(self, case_id: int) -> None:
        self.case_id = case_id
        self.events: list[dict[str, Any]] = []
        self.row: fold.Derived | None = None

    def add(
        self, step: str, at: dt.datetime, actor: str, to: Unit | None, clock_step: str | None, **extra: Any
    ) -> None:
        row = self.row
        if clock_step is not None:
            deadline = clock.deadline(at, LIMIT_DAYS[clock_step])
        elif step in ("verify_close", "decline"):
            deadline = None
        else:
            deadline = row.deadline_at if row else None
        event = {
            "case_id": self.case_id,
            "step": step,
            "at": at,
            "actor": actor,
            "from_unit_kind": row.unit_kind if row else extra.pop("from_kind", None),
            "from_unit_code": row.unit_code if row else extra.pop("from_code", None),
            "from_unit_department": row.unit_department if row else None,
            "to_unit_kind": to.kind if to else None,
            "to_unit_code": to.code if to else None,
            "to_unit_department": to.department if to else None,
            "deadline_at": deadline,
            "elapsed_s": int((at - row.updated_at).total_seconds()) if row else None,
            "late": bool(row and row.deadline_at and at > row.deadline_at),
            **extra,
        }
        self.row = fold.apply(row, event)
        self.events.append(event)


def _end(inc: Any, t0: dt.datetime, rng: np.random.Generator) -> dt.datetime | None:
    """When the case closed: its incident's resolution (the seed's definition); most hazards within days."""
    if inc.status in ("resolved", "closed") and pd.notna(inc.resolved_at):
        return max(_utc(inc.resolved_at), t0 + dt.timedelta(hours=1))
    if inc.category == "hazard" and rng.random() < 0.9:
        return t0 + dt.timedelta(hours=float(rng.uniform(4, 96)))
    return None


def _history(case_id: int, inc: Any, path: str, rng: np.random.Generator) -> _History:
    t0 = _utc(inc.reported_at if pd.notna(inc.reported_at) else inc.occurred_at)
    end = _end(inc, t0, rng)
    span = max((end - t0) if end else dt.timedelta(days=3), dt.timedelta(hours=2))
    times = iter(t0 + span * f for f in np.linspace(0, 0.95, 12)[1:])  # at most 10 steps between
    grid = Unit("grid", inc.grid_code) if isinstance(inc.grid_code, str) else None
    centre = home_centre(inc.grid_code if grid else None, inc.community_code, inc.county_code)
    gw, op = f"demo:gw-{inc.grid_code}", f"demo:op-{centre.code}"
    h = _History(case_id)
    if path == "spot" and grid is not None and end is not None:
        h.add("resolve_on_spot", t0, gw, centre, "spot", from_kind="grid", from_code=grid.code)
        h.add("verify_close", end, op, None, None)
        return h
    h.add("report", t0, gw, centre, "file")
    holder = centre
    for _ in range({"town": 1, "county": 2}.get(path, 0)):
        up = escalation_target(holder)
        assert up is not None
        h.add("escalate", next(times), f"demo:op-{holder.code}", up, "dispatch")
        holder = up
    if path in ("grid", "community", "spot"):
        h.add("file", next(times), op, None, "dispatch")
    handler = {"grid": grid, "spot": grid, "community": centre}.get(path) or Unit(
        "department", holder.code, DEPARTMENT[inc.category]
    )
    if handler is None:
        handler = centre
    h.add("dispatch", next(times), f"demo:op-{holder.code}", handler, "handle")
    worker = f"demo:{handler.kind}-{handler.code}"
    h.add("accept", next(times), worker, None, None)
    if end is None:
        if rng.random() < 0.25:
            h.add("park", next(times), f"demo:op-{holder.code}", holder, None, review_on=dt.date(2021, 3, 1))
        return h
    h.add("report_back", next(times), worker, holder, "verify")
    if rng.random() < 0.06:
        h.add("rework", next(times), f"demo:op-{holder.code}", handler, "handle", note="返工 demo rework")
        h.add("accept", next(times), worker, None, None)
        h.add("report_back", next(times), worker, holder, "verify")
    h.add("verify_close", end, f"demo:op-{holder.code}", None, None)
    return h


def build_cases(incidents: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(cases, case_events) frames for the 2020 disputes and hazards inside the jurisdiction."""
    rng = np.random.default_rng(seed)
    chosen = incidents[
        incidents["category"].isin(list(DEPARTMENT))
        & incidents["county_code"].notna()
        & (incidents["occurred_at"] >= YEAR_START)
        & (incidents["occurred_at"] < YEAR_END)
    ]
    paths = rng.choice(list(CLOSE_SHARES), size=len(chosen), p=list(CLOSE_SHARES.values()))
    cases: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for inc, path in zip(chosen.itertuples(index=False), paths, strict=True):
        h = _history(int(inc.id), inc, str(path), rng)  # type: ignore[arg-type]
        assert h.row is not None
        cases.append(
            {
                "id": h.case_id,
                "incident_id": h.case_id,
                "reporter": h.events[0]["actor"],
                "channel": "grid_worker",
                "category": inc.category,
                "priority": "normal",
                **{k: getattr(inc, k) for k in ("grid_code", "community_code", "town_code", "county_code")},
                **h.row.as_dict(),
            }
        )
        events.extend(h.events)
    return _for_copy(pd.DataFrame(cases)), _for_copy(pd.DataFrame(events))


def _for_copy(frame: pd.DataFrame) -> pd.DataFrame:
    """Aware times → naive UTC datetime64, dates → ISO text, optional integers → Int64 (the demo COPY's types)."""
    for name in frame.columns:
        sample = frame[name].dropna()
        first = sample.iloc[0] if len(sample) else None
        if isinstance(first, dt.datetime):
            frame[name] = pd.to_datetime(frame[name], utc=True).dt.tz_localize(None)
        elif isinstance(first, dt.date):
            frame[name] = frame[name].map(lambda d: d.isoformat() if isinstance(d, dt.date) else None)
        elif name in ("elapsed_s", "days"):
            frame[name] = frame[name].astype("Int64")
    return frame
