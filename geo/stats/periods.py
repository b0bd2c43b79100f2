"""Counts in date windows and the period comparison (difference, percent change, exact two-Poisson test)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import vocab
from geo.scope import Scope, resolve_scope
from geo.stats import rollup
from geo.stats.coverage import Coverage, Span, WindowOut, data_coverage, scope_county
from geo.stats.filters import Window, category_filter, category_keys, make_window, parse_categories
from geo.stats.significance import ALPHA, BH_METHOD, METHOD, bh_adjust, poisson_rate_test
from geo.stats.windows import previous_window

# Columns counts may be grouped by: fixed SQL expressions, never user input.
GROUP_COLUMNS = {
    "category": "i.category",
    "status": "i.status",
    "county": "i.county_code",
    "town": "i.town_code",
    "community": "i.community_code",
    "grid": "i.grid_code",
}


@dataclass
class Change:
    """A current-versus-previous count: difference, percent change and the exact test of the two counts.

    status (geo.stats.coverage): 'ok' when the data cover both windows; 'partial' when they cover only part of
    one (figures shown, nothing flagged); 'no_data' when a window lies wholly outside them (counts only: no
    difference, percent, z or p, since there is no change to speak of).
    """

    current: int
    previous: int
    difference: int | None  # C − P
    percent_change: float | None  # (C − P) / P × 100; None when P = 0
    z_score: float | None  # 2(√C − √P): descriptive only, never the test
    p_value: float | None  # conditional binomial test, two-sided, exposure = days
    p_adjusted: float | None = None  # Benjamini–Hochberg across the changes listed with it (None: one test)
    significant: bool = False  # status ok and (adjusted) p < ALPHA
    status: str = "ok"  # ok, partial or no_data
    method: str = METHOD


def change(
    current: int, previous: int, current_days: int = 1, previous_days: int = 1, status: str = "ok"
) -> Change:
    """The comparison of two counts over current_days and previous_days (equal lengths by default)."""
    if status == "no_data":
        return Change(current, previous, None, None, None, None, status=status)
    pct = None if previous == 0 else round((current - previous) / previous * 100.0, 2)
    z = 2.0 * (math.sqrt(current) - math.sqrt(previous))
    p = poisson_rate_test(current, current_days, previous, previous_days)
    flagged = status == "ok" and p < ALPHA
    return Change(current, previous, current - previous, pct, round(z, 3), p, None, flagged, status)


def flag_together(changes: list[Change]) -> None:
    """Adjust the p-values of changes reported together (BH) and flag on the adjusted p (covered ones only)."""
    tested = [c for c in changes if c.p_value is not None]
    if len(tested) < 2:
        return
    for c, q in zip(tested, bh_adjust(np.array([c.p_value for c in tested])), strict=True):
        c.p_adjusted = float(q)
        c.significant = c.status == "ok" and bool(q < ALPHA)
        c.method = f"{METHOD}; {BH_METHOD} across {len(tested)}"


@dataclass
class LabelledCount:
    key: str
    label_zh: str
    label_en: str
    count: int


@dataclass
class CategoryChange(Change):
    category: str = ""
    label_zh: str = ""
    label_en: str = ""


@dataclass
class Counts:
    scope: Scope
    window: WindowOut
    categories: list[str]
    total: int
    by_category: list[LabelledCount]
    by_status: list[LabelledCount]


@dataclass
class Comparison:
    scope: Scope
    current: WindowOut
    previous: WindowOut
    categories: list[str]
    total: Change
    by_category: list[CategoryChange] = field(default_factory=list)
    data_span: Span | None = None  # the days the scope's source (county, or all) has data
    alpha: float = ALPHA


def range_condition(windows: list[Window], params: dict[str, Any]) -> str:
    """OR of the windows' time ranges, adjacent or overlapping ones merged (one index range each)."""
    spans: list[list[dt.datetime]] = []
    for w in sorted(windows, key=lambda w: w.start_at):
        if spans and w.start_at <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], w.end_at)
        else:
            spans.append([w.start_at, w.end_at])
    parts = []
    for k, (lo, hi) in enumerate(spans):
        params[f"lo{k}"], params[f"hi{k}"] = lo, hi
        parts.append(f"(i.occurred_at >= :lo{k} AND i.occurred_at < :hi{k})")
    return "(" + " OR ".join(parts) + ")"


def windowed_counts(
    session: Session,
    scope: Scope,
    windows: list[Window],
    categories: list[str] | None,
    group_by: tuple[str, ...] = ("category",),
    extra_where: str = "TRUE",
    use_rollup: bool = True,
) -> dict[tuple, list[int]]:
    """{group values: [count in window 0, window 1, ...]} for the scope's incidents, in one pass.

    City and county questions by category/county read the daily roll-up; the rest scan incidents through
    their indexes, every window counted by a FILTER clause in the same scan.
    """
    if use_rollup and rollup.answers(scope, group_by, extra_where):
        return rollup.rollup_counts(session, scope, windows, categories, group_by)
    if categories is None and scope.level == "county":
        # Naming every category lets ix_incidents_county_cat_time bound the time range (not only the county).
        categories = list(vocab.INCIDENT_CATEGORIES)
    params: dict[str, Any] = dict(scope.params)
    if categories:
        params["cats"] = categories
    cols = [GROUP_COLUMNS[g] for g in group_by]
    filters = []
    for k, w in enumerate(windows):
        params[f"s{k}"], params[f"e{k}"] = w.start_at, w.end_at
        filters.append(f"count(*) FILTER (WHERE i.occurred_at >= :s{k} AND i.occurred_at < :e{k})")
    where = " AND ".join(
        [scope.incident_filter(), category_filter(categories), range_condition(windows, params), extra_where]
    )
    group = f" GROUP BY {', '.join(cols)}" if cols else ""
    select = ", ".join(cols + filters)
    rows = session.execute(text(f"SELECT {select} FROM incidents i WHERE {where}{group}"), params).all()
    n = len(cols)
    return {tuple(r[:n]): [int(v) for v in r[n:]] for r in rows}


def _labelled(vocabulary: dict, keys: list[str], totals: dict[str, int]) -> list[LabelledCount]:
    return [LabelledCount(k, vocabulary[k][0], vocabulary[k][1], totals.get(k, 0)) for k in keys]


def counts(
    session: Session,
    admin_code: str,
    start: dt.date,
    end: dt.date,
    categories: list[str] | str | None = None,
) -> Counts:
    """Incidents in [start, end) under admin_code, by category and by status (every key listed, zeros too)."""
    scope = resolve_scope(session, admin_code)
    window = make_window(start, end)
    cats = parse_categories(categories)
    rows = windowed_counts(session, scope, [window], cats, ("category", "status"))
    by_cat: dict[str, int] = {}
    by_status: dict[str, int] = {}
    for (cat, status), (n,) in rows.items():
        by_cat[cat] = by_cat.get(cat, 0) + n
        by_status[status] = by_status.get(status, 0) + n
    return Counts(
        scope,
        WindowOut(window.start, window.end),
        category_keys(cats),
        sum(by_cat.values()),
        _labelled(vocab.INCIDENT_CATEGORIES, category_keys(cats), by_cat),
        _labelled(vocab.INCIDENT_STATUSES, list(vocab.INCIDENT_STATUSES), by_status),
    )


def compare_windows(
    session: Session,
    scope: Scope,
    current: Window,
    previous: Window,
    cats: list[str] | None,
    coverage: Coverage | None = None,
) -> tuple[Change, list[CategoryChange]]:
    """Total and per-category changes between two windows of the scope (categories BH-adjusted together)."""
    coverage = coverage or data_coverage(session)
    status = coverage.comparison_status(current, previous, scope_county(session, scope))
    rows = windowed_counts(session, scope, [current, previous], cats, ("category",))
    per_cat = []
    for key in category_keys(cats):
        c, p = rows.get((key,), [0, 0])
        zh, en = vocab.INCIDENT_CATEGORIES[key]
        tested = change(c, p, current.days, previous.days, status)
        per_cat.append(CategoryChange(**vars(tested), category=key, label_zh=zh, label_en=en))
    flag_together(list(per_cat))
    total = change(
        sum(x.current for x in per_cat),
        sum(x.previous for x in per_cat),
        current.days,
        previous.days,
        status,
    )
    return total, per_cat


def compare_periods(
    session: Session,
    admin_code: str,
    start: dt.date,
    end: dt.date,
    categories: list[str] | str | None = None,
    previous: str = "prior",
) -> Comparison:
    """[start, end) against the previous window ('prior': same length just before; 'yoy': a year earlier)."""
    scope = resolve_scope(session, admin_code)
    current = make_window(start, end)
    prev = previous_window(current, previous)
    cats = parse_categories(categories)
    coverage = data_coverage(session)
    county = scope_county(session, scope)
    total, per_cat = compare_windows(session, scope, current, prev, cats, coverage)
    return Comparison(
        scope,
        WindowOut(current.start, current.end, coverage=coverage.status(current, county)),
        WindowOut(prev.start, prev.end, previous, coverage.status(prev, county)),
        category_keys(cats),
        total,
        per_cat,
        coverage.span(county),
    )
