"""What span of days the data cover, from the data themselves; periods outside it are "no data".

The incidents carry no source column; each county's centre feeds its own incidents, so a county is the
source: its span runs from its first to its last local day with any incident (read from the daily roll-up
incident_daily_counts, a few thousand rows). The city's span joins its counties' (earliest first day, latest
last day); a town, community or grid has its county's span. Spans are per source, not per category: a category
that falls to zero (零发案) is a real change, not missing data. The per-category spans are reported alongside.

A window against a span is
- covered: every day inside; only then is a change tested and flagged;
- partial: some days inside (the data start or end within it): counts and p are shown, nothing is flagged;
- no_data: no day inside: no change at all, only "no data" (无数据).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.errors import InvalidInput
from geo.scope import Scope, resolve_scope
from geo.stats.filters import Window, category_keys, make_window, parse_categories

WindowStatus = Literal["covered", "partial", "no_data"]

STATUS_LABELS: dict[str, tuple[str, str]] = {
    "covered": ("数据完整", "covered by the data"),
    "partial": ("数据不完整", "only partly covered by the data"),
    "no_data": ("无数据", "no data"),
}


@dataclass(frozen=True)
class Span:
    """Days [first_day, last_day], both inclusive, that hold data."""

    first_day: dt.date
    last_day: dt.date

    @property
    def end(self) -> dt.date:
        """The day after the last one (the exclusive end, as windows are written)."""
        return self.last_day + dt.timedelta(days=1)

    def status(self, window: Window) -> WindowStatus:
        if window.start >= self.first_day and window.end <= self.end:
            return "covered"
        if window.end <= self.first_day or window.start >= self.end:
            return "no_data"
        return "partial"

    def label(self) -> str:
        return f"{self.first_day.isoformat()} – {self.last_day.isoformat()}"


def _join(spans: list[Span]) -> Span | None:
    return Span(min(s.first_day for s in spans), max(s.last_day for s in spans)) if spans else None


@dataclass(frozen=True)
class Coverage:
    """The data's span per county (source) and per category (for information)."""

    by_county: dict[str, Span] = field(default_factory=dict)
    by_category: dict[str, Span] = field(default_factory=dict)

    def span(self, county: str | None = None) -> Span | None:
        """The county's span, or (None) the city's: all counties' joined."""
        if county is not None:
            return self.by_county.get(county)
        return _join(list(self.by_county.values()))

    def status(self, window: Window, county: str | None = None) -> WindowStatus:
        span = self.span(county)
        return "no_data" if span is None else span.status(window)

    def comparison_status(self, current: Window, previous: Window, county: str | None = None) -> str:
        """ok (both covered), partial (either partly), or no_data (either wholly outside the data)."""
        both = {self.status(current, county), self.status(previous, county)}
        return "no_data" if "no_data" in both else "partial" if "partial" in both else "ok"


def data_coverage(session: Session) -> Coverage:
    """Each county's and each category's first and last local day with an incident (from the daily roll-up)."""
    rows = session.execute(
        text("""
            SELECT county_code, category, grouping(county_code) AS by_category, min(day), max(day)
            FROM incident_daily_counts WHERE n > 0
            GROUP BY GROUPING SETS ((county_code), (category))
        """)
    ).all()
    counties = {r[0]: Span(r[3], r[4]) for r in rows if not r.by_category}
    categories = {r[1]: Span(r[3], r[4]) for r in rows if r.by_category}
    return Coverage(counties, categories)


def scope_county(session: Session, scope: Scope) -> str | None:
    """The county (source) a scope's data come from; None for the city (all counties)."""
    if scope.level == "city":
        return None
    if scope.level == "county":
        return scope.code
    start = "SELECT community_code FROM grids WHERE code = :c" if scope.level == "grid" else "SELECT :c"
    row = session.execute(
        text(f"""
            WITH RECURSIVE up AS (
                SELECT code, level, parent_code, 0 AS depth FROM admin_units WHERE code = ({start})
                UNION ALL
                SELECT a.code, a.level, a.parent_code, up.depth + 1
                FROM admin_units a JOIN up ON a.code = up.parent_code WHERE up.depth < 4
            )
            SELECT code FROM up WHERE level IN ('county', 'zone') ORDER BY depth LIMIT 1
        """),
        {"c": scope.code},
    ).first()
    return None if row is None else row[0]


@dataclass(frozen=True)
class PeriodCoverage:
    """Whether a period of a scope can be reported on: its status against the data's span, and what to say."""

    window: Window
    status: WindowStatus
    span: Span | None  # the scope's source span (None: no data at all)

    @property
    def comparable(self) -> bool:
        return self.status == "covered"

    def statement(self) -> tuple[str, str]:
        """(Chinese, English): e.g. '2021-01-01 – 2021-12-31 无数据（数据覆盖 2019-01-01 – 2020-12-31）'."""
        last = (self.window.end - dt.timedelta(days=1)).isoformat()
        shown = f"{self.window.start.isoformat()} – {last}"
        zh, en = STATUS_LABELS[self.status]
        if self.span is None:
            return f"{shown} {zh}（尚无数据）", f"{shown}: {en} (no data at all yet)"
        return (
            f"{shown} {zh}（数据覆盖 {self.span.label()}）",
            f"{shown}: {en} (the data cover {self.span.label()})",
        )


def period_coverage(
    session: Session, scope: Scope, window: Window, coverage: Coverage | None = None
) -> PeriodCoverage:
    """The one call for panels, maps and briefings: is this period of this scope inside its data?"""
    span = (coverage or data_coverage(session)).span(scope_county(session, scope))
    return PeriodCoverage(window, "no_data" if span is None else span.status(window), span)


@dataclass(frozen=True)
class CategorySpan(Span):
    category: str = ""


@dataclass(frozen=True)
class CoverageReport:
    """A scope's data span, each category's (for information), and (when asked) one window's status."""

    scope: Scope
    data_span: Span | None
    by_category: list[CategorySpan]
    window: Any = None  # geo.stats.periods.WindowOut with coverage set, or None


@dataclass
class WindowOut:
    """A window as statistics answer it, with how much of it the data covers."""

    start: dt.date
    end: dt.date
    mode: str | None = None
    coverage: WindowStatus | None = None  # covered, partial or no_data (comparisons only)

    @property
    def days(self) -> int:
        return (self.end - self.start).days


def coverage_report(
    session: Session,
    admin_code: str,
    categories: list[str] | str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> CoverageReport:
    """What GET /api/v1/stats/coverage answers: the spans, and the window [start, end) against them."""
    scope = resolve_scope(session, admin_code)
    coverage = data_coverage(session)
    span = coverage.span(scope_county(session, scope))
    spans = [
        CategorySpan(s.first_day, s.last_day, key)
        for key in category_keys(parse_categories(categories))
        if (s := coverage.by_category.get(key)) is not None
    ]
    window = None
    if start is not None or end is not None:
        if start is None or end is None:
            raise InvalidInput("give both start and end, or neither", field="start" if start is None else "end")
        w = make_window(start, end)
        window = WindowOut(w.start, w.end, coverage="no_data" if span is None else span.status(w))
    return CoverageReport(scope, span, spans, window)
