"""Incident times, checked once for every path (imports, single writes, status changes).

A time may not lie in the future (beyond FUTURE_SLACK, for reporting devices whose clocks run a little
ahead) nor before EARLIEST_INCIDENT (both stated in geo/timebounds.py), and mediated_at / resolved_at may not come before occurred_at. Times are UTC datetime64[us] here;
NaT (not given) passes every rule.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray

from geo.errors import InvalidInput
from geo.timebounds import EARLIEST_INCIDENT, FUTURE_SLACK

AFTER_OCCURRED = ("mediated_at", "resolved_at")
IN_THE_FUTURE = "in the future"
TOO_EARLY = f"before {EARLIEST_INCIDENT.isoformat()} 早于允许的最早日期"
BEFORE_OCCURRED = "earlier than occurred_at"

Problem = tuple[NDArray[np.int64], str, str]  # (row indexes, field, reason)


def utc64(t: dt.datetime) -> np.datetime64:
    """An aware datetime as numpy's naive UTC datetime64[us]."""
    return np.datetime64(t.astimezone(dt.UTC).replace(tzinfo=None), "us")


def future_rows(values: NDArray[np.datetime64], now: dt.datetime) -> NDArray[np.int64]:
    """Rows whose time lies in the future, beyond FUTURE_SLACK."""
    return np.flatnonzero(values > utc64(now) + np.timedelta64(FUTURE_SLACK))


def early_rows(values: NDArray[np.datetime64]) -> NDArray[np.int64]:
    """Rows whose time comes before EARLIEST_INCIDENT."""
    return np.flatnonzero(values < utc64(EARLIEST_INCIDENT))


def before_occurred_rows(values: NDArray[np.datetime64], occurred: NDArray[np.datetime64]) -> NDArray[np.int64]:
    """Rows whose mediation or resolution comes before the incident occurred."""
    return np.flatnonzero(values < occurred)


def order_problems(times: Mapping[str, NDArray[np.datetime64]], now: dt.datetime) -> list[Problem]:
    """The rows breaking a time rule, per field: a time in the future, a mediation/resolution before occurred_at."""
    problems: list[Problem] = [(future_rows(values, now), name, IN_THE_FUTURE) for name, values in times.items()]
    problems += [(early_rows(values), name, TOO_EARLY) for name, values in times.items()]
    if "occurred_at" in times:
        problems += [
            (before_occurred_rows(times[name], times["occurred_at"]), name, BEFORE_OCCURRED)
            for name in AFTER_OCCURRED
            if name in times
        ]
    return [p for p in problems if len(p[0])]


def check_one(times: Mapping[str, dt.datetime | None], now: dt.datetime) -> None:
    """The same rules for one incident's (aware) times: InvalidInput naming the first field that breaks one."""
    arrays = {
        name: np.array([utc64(t) if t is not None else np.datetime64("NaT")], dtype="datetime64[us]")
        for name, t in times.items()
    }
    for _, name, reason in order_problems(arrays, now):
        occurred = times.get("occurred_at")
        detail = f" ({occurred.isoformat()})" if reason == BEFORE_OCCURRED and occurred else ""
        raise InvalidInput(f"{name} is {reason}{detail}", field=name, reason=reason)
