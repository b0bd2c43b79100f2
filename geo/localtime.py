"""Local time, defined once: Baoji keeps China Standard Time, UTC+8.

A time written without an offset (an import, a query parameter, an `as_of`) is China Standard Time, and local
calendar days (statistics, maps, tiles) are Asia/Shanghai days. The two agree since 1991, the last year with
daylight saving time; PostgreSQL is given the zone's name, Python and numpy the fixed offset.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np

LOCAL_TZ_NAME = "Asia/Shanghai"  # the name PostgreSQL's AT TIME ZONE takes
LOCAL_TZ = ZoneInfo(LOCAL_TZ_NAME)
UTC_OFFSET = dt.timedelta(hours=8)
CST = dt.timezone(UTC_OFFSET)  # China Standard Time
CST_NP = np.timedelta64(8, "h")  # the same offset for numpy's datetime64 arithmetic


def as_aware(t: dt.datetime | None) -> dt.datetime | None:
    """A time without an offset is China Standard Time; an aware time is kept as it is."""
    return t.replace(tzinfo=CST) if t is not None and t.tzinfo is None else t


def day_start(day: dt.date) -> dt.datetime:
    """The instant a local calendar day begins."""
    return dt.datetime.combine(day, dt.time(), CST)
