"""Counts per day, week or month (date_trunc in Asia/Shanghai), with empty buckets filled in."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.errors import InvalidInput
from geo.localtime import LOCAL_TZ_NAME
from geo.scope import Scope, resolve_scope
from geo.stats import rollup
from geo.stats.coverage import Span, WindowStatus, data_coverage, scope_county
from geo.stats.filters import Window, category_filter, category_keys, make_window, parse_categories
from geo.stats.periods import WindowOut

BUCKETS = ("day", "week", "month")
MAX_BUCKETS = 5000  # ~13 years of days: a chart needs no more, and the response stays small


@dataclass
class Bucket:
    start: dt.date  # the bucket's first local day (weeks start on Monday, as date_trunc does)
    count: int
    by_category: dict[str, int]
    coverage: WindowStatus = "covered"  # the bucket's days in range against the data's span: a 0 may be no data


@dataclass
class Trend:
    scope: Scope
    window: WindowOut
    bucket: str
    categories: list[str]
    total: int
    series: list[Bucket]
    data_span: Span | None = None


def truncate(d: dt.date, bucket: str) -> dt.date:
    """The start of the bucket holding d, as PostgreSQL's date_trunc computes it."""
    if bucket == "day":
        return d
    if bucket == "week":
        return d - dt.timedelta(days=d.weekday())
    return d.replace(day=1)


def _next(d: dt.date, bucket: str) -> dt.date:
    if bucket == "day":
        return d + dt.timedelta(days=1)
    if bucket == "week":
        return d + dt.timedelta(days=7)
    return (d.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def bucket_count(start: dt.date, end: dt.date, bucket: str) -> int:
    """How many buckets [start, end) spans, computed without listing them."""
    first = truncate(start, bucket)
    if bucket == "day":
        return (end - first).days
    if bucket == "week":
        return -(-(end - first).days // 7)
    last = truncate(end - dt.timedelta(days=1), bucket)
    return (last.year - first.year) * 12 + last.month - first.month + 1


def bucket_starts(start: dt.date, end: dt.date, bucket: str) -> list[dt.date]:
    """Every bucket start from the one holding start up to (not including) end."""
    out, d = [], truncate(start, bucket)
    while d < end:
        out.append(d)
        d = _next(d, bucket)
    return out


def trend(
    session: Session,
    admin_code: str,
    start: dt.date,
    end: dt.date,
    bucket: str = "month",
    categories: list[str] | str | None = None,
) -> Trend:
    """Counts per bucket in [start, end); the first and last buckets may be partial (only days in range)."""
    if bucket not in BUCKETS:
        raise InvalidInput(f"bucket must be one of {', '.join(BUCKETS)}; got '{bucket}'", field="bucket")
    scope = resolve_scope(session, admin_code)
    window = make_window(start, end)
    cats = parse_categories(categories)
    n = bucket_count(window.start, window.end, bucket)
    if n > MAX_BUCKETS:
        raise InvalidInput(
            f"{n} {bucket} buckets exceed the limit of {MAX_BUCKETS}; use a longer bucket or a shorter range",
            field="bucket",
        )
    starts = bucket_starts(window.start, window.end, bucket)
    params: dict[str, Any] = {**scope.params, "unit": bucket}
    if cats:
        params["cats"] = cats
    if scope.level in rollup.LEVELS:
        # Whole local days: the daily roll-up answers exactly, without touching incidents.
        params.update(s=window.start, e=window.end)
        scoped = "TRUE" if scope.level == "city" else "d.county_code = :scope_code"
        sql = f"""
            SELECT date_trunc(:unit, d.day::timestamp)::date AS b, d.category, sum(d.n)
            FROM incident_daily_counts d
            WHERE {scoped} AND {category_filter(cats, "d")} AND d.day >= :s AND d.day < :e
            GROUP BY 1, 2
        """
    else:
        params.update(s=window.start_at, e=window.end_at)
        sql = f"""
            SELECT date_trunc(:unit, i.occurred_at AT TIME ZONE '{LOCAL_TZ_NAME}')::date AS b, i.category, count(*)
            FROM incidents i
            WHERE {scope.incident_filter()} AND {category_filter(cats)}
              AND i.occurred_at >= :s AND i.occurred_at < :e
            GROUP BY 1, 2
        """
    keys = category_keys(cats)
    table: dict[dt.date, dict[str, int]] = {d: dict.fromkeys(keys, 0) for d in starts}
    for b, cat, n in session.execute(text(sql), params):
        table[b][cat] = int(n)
    span = data_coverage(session).span(scope_county(session, scope))
    series = []
    for d in starts:
        days = Window(max(d, window.start), min(_next(d, bucket), window.end))
        status: WindowStatus = "no_data" if span is None else span.status(days)
        series.append(Bucket(d, sum(table[d].values()), table[d], status))
    total = sum(b.count for b in series)
    return Trend(scope, WindowOut(window.start, window.end), bucket, keys, total, series, span)
