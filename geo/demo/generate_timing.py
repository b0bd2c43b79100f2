"""When demo incidents happen and how they are handled: seasons, weekdays, hours, near-repeats, statuses."""

from __future__ import annotations

import datetime as dt

import numpy as np
from numpy.typing import NDArray

from geo.localtime import CST_NP

SPRING_FESTIVAL = {2019: dt.date(2019, 2, 5), 2020: dt.date(2020, 1, 25)}
# 2020's lockdown in Shaanxi: from the Spring Festival to the end of February, easing through March 20.
LOCKDOWN = (dt.date(2020, 1, 24), dt.date(2020, 3, 1), dt.date(2020, 3, 21))

_MONTH = {
    "crime": [1.15, 1.0, 0.9, 0.9, 0.95, 1.0, 1.05, 1.05, 1.0, 1.0, 1.05, 1.2],
    "dispute": [1.2, 1.3, 1.0, 1.05, 1.0, 0.95, 0.95, 0.95, 1.0, 1.0, 0.95, 1.1],
    "hazard": [1.2, 1.1, 0.9, 0.8, 0.9, 1.1, 1.3, 1.3, 1.1, 0.9, 0.9, 1.2],  # heating season, flood season
    "service": [0.9, 0.8, 1.0, 1.0, 1.05, 1.1, 1.1, 1.1, 1.05, 1.0, 1.0, 1.0],
    "other": [1.0] * 12,
}
_WEEKDAY = {  # Monday first
    "crime": [1.0] * 7,
    "dispute": [0.95, 0.95, 0.95, 0.95, 1.0, 1.1, 1.15],
    "hazard": [1.15, 1.1, 1.1, 1.1, 1.05, 0.75, 0.7],  # found on inspections, mostly on working days
    "service": [1.15, 1.1, 1.1, 1.1, 1.05, 0.75, 0.7],
    "other": [1.05, 1.05, 1.05, 1.05, 1.0, 0.9, 0.9],
}
_HOUR = {  # property crime peaks at night, disputes in the evening, services in office hours
    "crime": [5, 5, 5, 4, 3, 2, 1.5, 1.5, 2, 2.5, 2.5, 2.5, 2.5, 2.5, 2.5, 2.5, 3, 3.5, 4, 4.5, 5, 5.5, 6, 5.5],
    "dispute": [0.5, 0.3, 0.2, 0.2, 0.2, 0.4, 1, 2, 3, 4, 4, 4, 3.5, 3, 3.5, 4, 4, 4.5, 5, 5.5, 5, 3.5, 2, 1],
    "hazard": [0.2] * 7 + [1, 3, 5, 5, 5, 3, 3, 5, 5, 4, 2, 1] + [0.5] * 5,
    "service": [0.3] * 7 + [1.5, 4, 5, 5, 5, 3, 3.5, 5, 5, 4.5, 3, 2, 1.5, 1, 0.8, 0.6, 0.4],
    "other": [0.5] * 7 + [2, 3, 3.5, 3.5, 3.5, 2.5, 2.5, 3.5, 3.5, 3, 2.5, 2, 1.5, 1.2, 1, 0.8, 0.6],
}
_LOCKDOWN_FACTOR = {
    "crime": (0.35, 0.7),
    "dispute": (0.6, 0.85),
    "hazard": (0.5, 0.8),
    "service": (0.5, 0.8),
    "other": (0.5, 0.8),
}
_REPORT_DELAY_MIN = {"crime": 30, "dispute": 120, "hazard": 10, "service": 15, "other": 30}  # medians


def profile(category: str) -> str:
    return "crime" if category in ("preventable", "property") else category


def day_weights(category: str, year: int) -> NDArray[np.float64]:
    """Relative weight of each day of the year for a category (season, weekday, festival, lockdown)."""
    kind = profile(category)
    days = np.arange(np.datetime64(f"{year}-01-01"), np.datetime64(f"{year + 1}-01-01"))
    month = days.astype("datetime64[M]").astype(int) % 12
    weekday = (days.astype(int) + 3) % 7  # 1970-01-01 was a Thursday
    w = np.array(_MONTH[kind])[month] * np.array(_WEEKDAY[kind])[weekday]
    festival = np.datetime64(SPRING_FESTIVAL[year])
    to_festival = (festival - days).astype(int)
    if kind == "crime":  # thefts rise in the weeks before the Spring Festival
        w *= np.where((to_festival > 0) & (to_festival <= 21), 1.3, 1.0)
    if kind == "dispute":  # family and wage disputes around the festival
        w *= np.where(np.abs(to_festival) <= 10, 1.4, 1.0)
    if year == 2020:
        strict, easing = _LOCKDOWN_FACTOR[kind]
        start, ease, end = (np.datetime64(d) for d in LOCKDOWN)
        w *= np.where(
            (days >= start) & (days < ease), strict, np.where((days >= ease) & (days < end), easing, 1.0)
        )
    return w / w.sum()


def occurrence_times(
    category: str, year: int, address: NDArray[np.int64], rng: np.random.Generator
) -> NDArray[np.datetime64]:
    """UTC instants for incidents at the given address ids: seasonal days, hour profile, near-repeats.

    Crimes repeat near in time at the same address (near-repeat victimisation): a third of the later
    incidents at an address follow its first one within days.
    """
    n = len(address)
    weights = day_weights(category, year)
    day = rng.choice(len(weights), n, p=weights)
    if profile(category) == "crime" and n:
        order = np.argsort(address, kind="stable")
        sorted_addr = address[order]
        first = np.r_[True, sorted_addr[1:] != sorted_addr[:-1]]
        lead = np.maximum.accumulate(np.where(first, np.arange(n), 0))  # index (in order) of each group's first
        repeat = ~first & (rng.random(n) < 0.35)
        follow = day[order][lead] + np.ceil(rng.exponential(5.0, n)).astype(int)
        new = np.where(repeat & (follow < len(weights)), follow, day[order])
        day[order] = new
    hours = np.array(_HOUR[profile(category)], dtype=float)
    hour = rng.choice(24, n, p=hours / hours.sum())
    seconds = hour * 3600 + rng.integers(0, 3600, n)
    local = (
        np.datetime64(f"{year}-01-01T00:00:00") + day.astype("timedelta64[D]") + seconds.astype("timedelta64[s]")
    )
    return local - CST_NP


def lifecycle(
    category: str,
    occurred: NDArray[np.datetime64],
    rng: np.random.Generator,
    resolved: NDArray[np.bool_] | None = None,
) -> dict[str, NDArray]:
    """status, reported_at, mediated_at, resolved_at (NaT = NULL); resolved given or drawn by category.

    Invariant: resolved_at is set exactly when the status is resolved or closed, and a dispute that is
    resolved was mediated first.
    """
    n = len(occurred)
    kind = profile(category)
    delay = rng.lognormal(np.log(_REPORT_DELAY_MIN[kind]), 0.9, n)
    reported = occurred + (delay * 60).astype("timedelta64[s]")
    nat = np.full(n, np.datetime64("NaT"), dtype="datetime64[s]")
    mediated = nat.copy()
    if resolved is None:
        share = {"crime": 0.62, "dispute": 0.9, "hazard": 0.9, "service": 0.95, "other": 0.85}[kind]
        resolved = rng.random(n) < share
    days = {"crime": 25.0, "dispute": 4.0, "hazard": 8.0, "service": 1.5, "other": 3.0}[kind]
    handling = (rng.exponential(days, n) * 86_400 + 3_600).astype("timedelta64[s]")
    status = np.where(resolved, "closed", "in_progress").astype(object)
    if kind == "dispute":
        was_mediated = resolved | (rng.random(n) < 0.6)
        mediated = np.where(was_mediated, reported + (rng.uniform(1, 72, n) * 3600).astype("timedelta64[s]"), nat)
        resolved_at = np.where(resolved, mediated + handling, nat)
        status = np.where(
            resolved,
            np.where(rng.random(n) < 0.7, "resolved", "closed"),
            np.where(was_mediated, "mediated", "assigned"),
        ).astype(object)
    else:
        resolved_at = np.where(resolved, reported + handling, nat)
        if kind in ("crime", "hazard"):
            open_status = rng.choice(["reported", "assigned", "in_progress"], n, p=[0.15, 0.3, 0.55])
            status = np.where(resolved, "resolved" if kind == "hazard" else "closed", open_status).astype(object)
    return {"status": status, "reported_at": reported, "mediated_at": mediated, "resolved_at": resolved_at}
