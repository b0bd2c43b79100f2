"""What a statistics question covers besides its scope: the local-date window and the categories."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from geo import vocab
from geo.errors import InvalidInput
from geo.localtime import LOCAL_TZ
from geo.timebounds import EARLIEST_INCIDENT

PREVIOUS_MODES = ("prior", "yoy")
# Dates outside this span are typing errors, and would let a previous window fall off the calendar. It starts
# on the first day an incident may hold (geo.timebounds): from 1950 the last quarter of 1949 was stored but
# no window could count it.
EARLIEST, LATEST = EARLIEST_INCIDENT.date(), dt.date(2150, 1, 1)


@dataclass(frozen=True)
class Window:
    """A half-open local-date range [start, end) and its instants in Asia/Shanghai."""

    start: dt.date
    end: dt.date

    @property
    def start_at(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time(0), LOCAL_TZ)

    @property
    def end_at(self) -> dt.datetime:
        return dt.datetime.combine(self.end, dt.time(0), LOCAL_TZ)

    @property
    def days(self) -> int:
        return (self.end - self.start).days


def make_window(start: dt.date, end: dt.date) -> Window:
    """[start, end) as a Window; end must be after start, both within EARLIEST..LATEST."""
    for name, day in (("start", start), ("end", end)):
        if not EARLIEST <= day <= LATEST:
            raise InvalidInput(
                f"{name} {day.isoformat()} is outside {EARLIEST.isoformat()}..{LATEST.isoformat()}", field=name
            )
    if end <= start:
        raise InvalidInput(
            f"end {end.isoformat()} must be after start {start.isoformat()} (the range is [start, end))",
            field="end",
        )
    return Window(start, end)


def parse_categories(raw: list[str] | str | None, default: tuple[str, ...] | None = None) -> list[str] | None:
    """Category keys from 'a,b' or ['a', 'b'] (validated against vocab); None means every category."""
    keys = vocab.parse_words(raw, vocab.INCIDENT_CATEGORIES, "categories", what="category")
    return keys or (list(default) if default else None)


def category_filter(categories: list[str] | None, alias: str = "i") -> str:
    """SQL condition for the categories (binds :cats), or TRUE for all."""
    return f"{alias}.category = ANY(:cats)" if categories else "TRUE"


def category_keys(categories: list[str] | None) -> list[str]:
    """The categories a result lists: the chosen ones, or every category in vocabulary order."""
    return list(categories) if categories else list(vocab.INCIDENT_CATEGORIES)
