"""Working time on the official Chinese calendar (chinese-calendar: public holidays and make-up working days).

A limit of N working days ends at the end (local midnight, UTC+8) of the N-th working day after the day the
clock starts; 0 days ends at the end of that day (or, started on a day off, of the next working day). Past the
years the library publishes, working days fall back to Monday–Friday, and calendar_status() says so.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any

import chinese_calendar

from geo.localtime import LOCAL_TZ

AMBER_AT = 0.8  # share of the limit used when a case turns amber (黄牌)
_PUBLISHED = sorted({d.year for d in chinese_calendar.holidays} | {d.year for d in chinese_calendar.workdays})
FIRST_YEAR, LAST_YEAR = _PUBLISHED[0], _PUBLISHED[-1]


@lru_cache(maxsize=8192)
def is_working_day(day: dt.date) -> bool:
    """A working day by the official calendar; outside the published years, Monday to Friday."""
    if FIRST_YEAR <= day.year <= LAST_YEAR:
        return bool(chinese_calendar.is_workday(day))
    return day.weekday() < 5


def calendar_status(today: dt.date | None = None) -> dict[str, Any]:
    """What /health reports: the published years, and whether today's clock runs on weekends only."""
    today = today or dt.datetime.now(LOCAL_TZ).date()
    fallback = not (FIRST_YEAR <= today.year <= LAST_YEAR)
    return {
        "library": "chinese-calendar",
        "published_years": [FIRST_YEAR, LAST_YEAR],
        "fallback_weekends_only": fallback,
        "detail": (
            f"{today.year} 年不在官方日历内，仅按周末计算 {today.year} is past the published calendar: weekends only"
            if fallback
            else f"官方节假日与调休 {FIRST_YEAR}–{LAST_YEAR} official holidays and make-up days"
        ),
    }


def _end_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), LOCAL_TZ)


def deadline(start: dt.datetime, working_days: int) -> dt.datetime:
    """The end of the working_days-th working day after start's local day (0: the end of that day)."""
    day = start.astimezone(LOCAL_TZ).date()
    if working_days == 0:
        while not is_working_day(day):
            day += dt.timedelta(days=1)
        return _end_of(day)
    left = working_days
    while left:
        day += dt.timedelta(days=1)
        left -= is_working_day(day)
    return _end_of(day)


def end_of_day(day: dt.date) -> dt.datetime:
    """A review date's deadline: the end of that local day."""
    return _end_of(day)


def working_seconds(start: dt.datetime, end: dt.datetime) -> float:
    """Seconds of [start, end) that fall on working days (local days)."""
    if end <= start:
        return 0.0
    total = 0.0
    day = start.astimezone(LOCAL_TZ).date()
    while True:
        day_start = dt.datetime.combine(day, dt.time(), LOCAL_TZ)
        if day_start >= end:
            return total
        if is_working_day(day):
            total += (min(_end_of(day), end) - max(day_start, start)).total_seconds()
        day += dt.timedelta(days=1)


def colour(started: dt.datetime, due: dt.datetime | None, now: dt.datetime) -> str | None:
    """green, amber (≥ 80% of the limit's working time used) or red (overdue); None without a deadline."""
    if due is None:
        return None
    if now >= due:
        return "red"
    allowed = working_seconds(started, due)
    if allowed <= 0 or working_seconds(started, now) >= AMBER_AT * allowed:
        return "amber"
    return "green"
