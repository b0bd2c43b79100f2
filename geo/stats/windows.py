"""Period arithmetic: the window before a window (to compare with) and the window after it (to test a map on).

Windows are half-open [start, end) in local days. A window of whole calendar months (start and end on the same
day of the month, at most the 28th) moves by whole months, so that the year 2020 (366 days) is compared with
the year 2019 (365 days), not with [2018-12-31, 2020-01-01), and a 2019 map is tested on all of 2020, its last
day included. Any other window moves by its length in days. Windows of unequal length are compared by rates:
the two-Poisson test takes each window's length in days as its exposure (geo.stats.significance).
"""

from __future__ import annotations

import datetime as dt

from geo.errors import InvalidInput
from geo.stats.filters import PREVIOUS_MODES, Window


def _add_months(d: dt.date, months: int) -> dt.date:
    """d moved by whole months (d.day ≤ 28, so the day exists in every month)."""
    index = d.year * 12 + d.month - 1 + months
    return d.replace(year=index // 12, month=index % 12 + 1)


def whole_months(window: Window) -> int | None:
    """How many calendar months the window spans, when it is whole months; None otherwise."""
    start, end = window.start, window.end
    if start.day != end.day or start.day > 28:
        return None
    return (end.year - start.year) * 12 + end.month - start.month


def _year_earlier(d: dt.date) -> dt.date:
    # 29 February has no twin a year earlier: use 28 February.
    return d.replace(year=d.year - 1, day=28) if (d.month, d.day) == (2, 29) else d.replace(year=d.year - 1)


def previous_window(current: Window, mode: str = "prior") -> Window:
    """The comparison window: 'prior' = the same calendar length just before; 'yoy' = the same dates a year earlier."""
    if mode == "prior":
        months = whole_months(current)
        if months is not None:
            return Window(_add_months(current.start, -months), current.start)
        return Window(current.start - dt.timedelta(days=current.days), current.start)
    if mode == "yoy":
        return Window(_year_earlier(current.start), _year_earlier(current.end))
    raise InvalidInput(f"previous must be one of {', '.join(PREVIOUS_MODES)}; got '{mode}'", field="previous")


def following_window(current: Window) -> Window:
    """The window of the same calendar length right after current (a year after a year, last day included)."""
    months = whole_months(current)
    if months is not None:
        return Window(current.end, _add_months(current.end, months))
    return Window(current.end, current.end + dt.timedelta(days=current.days))
