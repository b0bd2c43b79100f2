"""The year-over-year change map: each grid's exact two-Poisson test, BH across the map, no data outside the data."""

from __future__ import annotations

import datetime as dt

import folium
from sqlalchemy.orm import Session

from geo.analysis.change import CHANGE_CLASSES, change_frame
from geo.maps.common import classed_grids, finish_page, num, start_page
from geo.maps.query import MapQuery
from geo.settings import Settings
from geo.stats.coverage import STATUS_LABELS
from geo.stats.periods import change as total_change
from geo.stats.significance import ALPHA, METHOD, METHOD_ZH


def change_map(session: Session, settings: Settings, q: MapQuery) -> folium.Map:
    """Per-grid change against the same dates a year earlier: significant rises and falls after BH."""
    page = start_page(session, settings, q)
    change, before, status = change_frame(session, q, page.grids)
    columns = [change[k] for k in ("current", "previous", "difference", "z", "p", "p_adjusted", "class")]
    rows = [
        [int(c), int(p), int(d), num(z), num(pv, 4), num(qv, 4), " ".join(CHANGE_CLASSES[k][:2])]
        for c, p, d, z, pv, qv, k in zip(*columns, strict=True)
    ]
    labels = [
        "本期 Current",
        "去年同期 A year earlier",
        "增减 Change",
        "z = 2(√C − √P)（描述性 descriptive）",
        "p（精确检验 exact test）",
        "p（BH 校正 adjusted）",
        "类别 Class",
    ]
    titles = ("同比变化（精确检验）", "Year-over-year change (exact test)")
    classed_grids(
        page, labels, rows, list(change["class"]), CHANGE_CLASSES, ("同比变化 Year-over-year change", titles)
    )
    c, p = int(change["current"].sum()), int(change["previous"].sum())
    last = (before.end - dt.timedelta(days=1)).isoformat()
    span = f"{before.start.isoformat()} – {last}"
    if status == "ok":
        total = total_change(c, p, q.window.days, before.days)
        verdict = (
            "显著" if total.significant else "不显著",
            "significant" if total.significant else "not significant",
        )
        page.lines.append(
            (
                f"对比 {span}：{p:,} → {c:,} 起，精确检验 p = {total.p_value:.3g}（{verdict[0]}）",
                f"Against {span}: {p:,} → {c:,} incidents, exact test p = {total.p_value:.3g} ({verdict[1]})",
            )
        )
        page.lines.append(
            (
                f"检验：{METHOD_ZH}；{len(change):,} 个网格经 Benjamini–Hochberg 校正，q < {ALPHA} 才标为显著",
                f"Test: {METHOD}; Benjamini–Hochberg across {len(change):,} grids, flagged at q < {ALPHA}",
            )
        )
    else:
        zh, en = STATUS_LABELS["partial" if status == "partial" else "no_data"]
        page.lines.append(
            (
                f"对比 {span}：{p:,} → {c:,} 起。时段{zh}，不作变化判断",
                f"Against {span}: {p:,} → {c:,} incidents. A period is {en}: no change is judged",
            )
        )
    return finish_page(session, page, ("同比变化图", "Year-over-year change"))
