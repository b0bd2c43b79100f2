"""What a map shows: the scope (admin unit or grid), the date window, the categories, and the later window."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import vocab
from geo.errors import InvalidInput
from geo.localtime import LOCAL_TZ_NAME
from geo.scope import CITY_CODE, Scope, resolve_scope
from geo.stats.filters import Window, make_window, parse_categories
from geo.stats.windows import following_window

# Dates a map may ask about: later and earlier windows are derived from them, so keep them far from date.min/max.
FIRST_DAY, LAST_DAY = dt.date(1970, 1, 1), dt.date(2100, 1, 1)


@dataclass(frozen=True)
class MapQuery:
    """A map's filters, resolved: scope, [start, end) in local days, categories (None = all)."""

    scope: Scope
    window: Window
    categories: list[str] | None

    def categories_zh(self) -> str:
        if not self.categories:
            return "全部类别"
        return "、".join(vocab.INCIDENT_CATEGORIES[c][0] for c in self.categories)

    def categories_en(self) -> str:
        if not self.categories:
            return "All categories"
        return ", ".join(vocab.INCIDENT_CATEGORIES[c][1] for c in self.categories)

    def window_label(self) -> str:
        last = self.window.end - dt.timedelta(days=1)
        return f"{self.window.start.isoformat()} – {last.isoformat()}"


@dataclass(frozen=True)
class LaterWindow:
    """The window of the same length right after the map's, and whether the data covers all of it."""

    window: Window
    complete: bool
    data_end: dt.date


def data_end(session: Session) -> dt.date | None:
    """The local day after the latest incident in the database (None when there is none)."""
    latest = session.execute(
        text("SELECT (max(occurred_at) AT TIME ZONE :tz)::date FROM incidents"), {"tz": LOCAL_TZ_NAME}
    ).scalar_one()
    return None if latest is None else latest + dt.timedelta(days=1)


def _year_before(d: dt.date) -> dt.date:
    return d.replace(year=d.year - 1, day=28) if (d.month, d.day) == (2, 29) else d.replace(year=d.year - 1)


def map_query(
    session: Session,
    admin_code: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    categories: list[str] | str | None = None,
) -> MapQuery:
    """Resolve a map's filters; with no dates, the year that ends with the latest incident."""
    scope = resolve_scope(session, admin_code or CITY_CODE)
    if end is None:
        end = (data_end(session) or dt.date.today()) if start is None else _add_year(start)
    if start is None:
        start = _year_before(end)
    for name, day in (("start", start), ("end", end)):
        if not FIRST_DAY <= day <= LAST_DAY:
            raise InvalidInput(
                f"{name} {day.isoformat()} is outside {FIRST_DAY.isoformat()} – {LAST_DAY.isoformat()}", field=name
            )
    return MapQuery(scope, make_window(start, end), parse_categories(categories))


def _add_year(d: dt.date) -> dt.date:
    return d.replace(year=d.year + 1, day=28) if (d.month, d.day) == (2, 29) else d.replace(year=d.year + 1)


def later_window(session: Session, q: MapQuery) -> LaterWindow | None:
    """The next window of the same calendar length (a year after a year), if any incident lies in it.

    complete when the data reach its end (its last day included; was: the same number of days, which cut the
    last day of a leap year).
    """
    end = data_end(session)
    if end is None or end <= q.window.end:
        return None
    later = following_window(q.window)
    return LaterWindow(later, end >= later.end, end)
