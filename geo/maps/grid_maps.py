"""Per-grid maps: choropleth of counts or rates (natural breaks), Gi* hot and cold spots."""

from __future__ import annotations

import folium
import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sqlalchemy.orm import Session

from geo.analysis.hitrate import polygon_hit_rate, selected_hit_rate
from geo.analysis.hotspots import (
    AREA_RATIO_FOR_RATES,
    GI_CLASSES,
    GI_MEASURES,
    HOT_CLASSES,
    PERMUTATIONS,
    SEED,
    gi_star_frame,
)
from geo.errors import InvalidInput
from geo.maps import data, layers
from geo.maps.classify import classes
from geo.maps.common import Page, classed_grids, finish_page, num, start_page
from geo.maps.query import LaterWindow, MapQuery, later_window
from geo.settings import Settings

CHORO_COLOURS = ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"]
NO_DATA = "#d9d9d9"
MEASURES = {"count": ("事件数", "Incidents"), "rate": ("每千户事件数", "Incidents per 1,000 households")}


Later = tuple[LaterWindow, NDArray[np.float64]] | None


def counts_and_later(session: Session, page: Page) -> tuple[NDArray[np.float64], Later]:
    """Grid counts in the map's window and, when the data have one, the next window with its counts (one scan)."""
    q = page.query
    later = later_window(session, q)
    windows = [q.window] + ([later.window] if later else [])
    matrix = data.grid_count_matrix(session, q.scope, page.grids, windows, q.categories)
    return matrix[0], ((later, matrix[1]) if later else None)


def _hit_rate_line(page: Page, scores: NDArray[np.float64], later: Later) -> tuple[str, str]:
    """The map's hit rate on the next period, grids ranked by scores (NaN ranks last)."""
    if later is None:
        return ("命中率：尚无下一时段数据", "Hit rate: no later period in the data yet")
    ranked = np.where(np.isfinite(scores), scores, -np.inf)
    return polygon_hit_rate(later[0], ranked, page.grids.area_m2, later[1]).statement()


def _range_label(lo: float, hi: float, integer: bool) -> str:
    return f"{lo:.0f} – {hi:.0f}" if integer else f"{lo:.1f} – {hi:.1f}"


def choropleth_map(session: Session, settings: Settings, q: MapQuery, measure: str = "count") -> folium.Map:
    """Grids coloured by natural-breaks classes of their count or rate per 1,000 households."""
    if measure not in MEASURES:
        raise InvalidInput(f"measure must be one of {', '.join(MEASURES)}; got '{measure}'", field="measure")
    page = start_page(session, settings, q)
    counts, later = counts_and_later(session, page)
    hh = page.grids.households
    with np.errstate(divide="ignore", invalid="ignore"):
        rates = np.where(hh > 0, counts / hh * 1000.0, np.nan)
    values = counts if measure == "count" else rates
    cls, breaks = classes(values)
    rows = [
        [int(c), None if np.isnan(h) else int(h), num(r, 1)] for c, h, r in zip(counts, hh, rates, strict=True)
    ]
    zh, en = MEASURES[measure]
    layers.grid_layer(
        page.grids,
        ["事件数 Incidents", "户数 Households", "每千户 Per 1,000 households"],
        rows,
        [c if c >= 0 else len(CHORO_COLOURS) for c in cls],
        [*CHORO_COLOURS, NO_DATA],
        f"网格{zh} Grids: {en}",
        page.gcj02,
    ).add_to(page.map)
    finite = values[np.isfinite(values)]
    lows = [float(finite.min())] + breaks[:-1] if len(finite) else []
    entries = []
    for i, (lo, hi) in enumerate(zip(lows, breaks, strict=True)):
        lo_shown = lo if i == 0 else (lo + 1 if measure == "count" else lo)
        entries.append((CHORO_COLOURS[i], _range_label(lo_shown, hi, measure == "count"), ""))
    if np.isnan(values).any():
        entries.append((NO_DATA, "无户数数据", "No household data"))
    layers.legend(page.map, (f"{zh}（自然断点）", f"{en} (natural breaks)"), entries)
    page.lines.append(
        (
            f"事件 {int(counts.sum()):,} 起，网格 {len(page.grids):,} 个",
            f"{int(counts.sum()):,} incidents in {len(page.grids):,} grids",
        )
    )
    page.lines.append(_hit_rate_line(page, values, later))
    return finish_page(session, page, (f"网格{zh}分级图", f"Grid choropleth: {en}"))


def _hot_spot_hit_rate_line(page: Page, gi: pd.DataFrame, later: Later) -> tuple[str, str]:
    """The hit rate of exactly the hot-spot grids the map draws (any hot class), on the next period."""
    if later is None:
        return ("命中率：尚无下一时段数据", "Hit rate: no later period in the data yet")
    picked = gi["class"].isin(HOT_CLASSES).to_numpy()
    n = int(picked.sum())
    if n == 0:
        return ("命中率：本图无热点网格，无从评估", "Hit rate: this map draws no hot-spot grid")
    named = (f" {n} 个热点网格", f"the {n} hot-spot grids drawn")
    return selected_hit_rate(later[0], picked, page.grids.area_m2, later[1], named).statement()


def hotspot_map(
    session: Session,
    settings: Settings,
    q: MapQuery,
    permutations: int = PERMUTATIONS,
    measure: str | None = "auto",
    seed: int = SEED,
) -> folium.Map:
    """Getis-Ord Gi* hot and cold spots (two-sided permutation p, Benjamini–Hochberg FDR) of counts or rates."""
    page = start_page(session, settings, q)
    counts, later = counts_and_later(session, page)
    gi = gi_star_frame(page.grids, counts, permutations, seed, measure)
    tested_zh, tested_en = GI_MEASURES[gi.attrs["measure"]]
    rows = [
        [int(n), num(v, 2), num(z), num(p, 3), num(pf, 3), " ".join(GI_CLASSES[k][:2])]
        for n, v, z, p, pf, k in zip(
            gi["count"], gi["value"], gi["z"], gi["p"], gi["p_fdr"], gi["class"], strict=True
        )
    ]
    labels = [
        "事件数 Incidents",
        f"{tested_zh} {tested_en}",
        "Gi* z",
        "p（双侧置换 two-sided）",
        "p（FDR）",
        "类别 Class",
    ]
    titles = (f"Gi* 冷热点（{tested_zh}）", f"Gi* hot and cold spots ({tested_en})")
    classed_grids(page, labels, rows, list(gi["class"]), GI_CLASSES, ("热点分析 Gi* hot spots", titles))
    areas_km2 = page.grids.area_m2 / 1e6
    page.lines.append(
        (
            f"事件 {int(counts.sum()):,} 起，网格 {len(page.grids):,} 个",
            f"{int(counts.sum()):,} incidents in {len(page.grids):,} grids",
        )
    )
    page.lines.append(
        (
            f"检验对象：{tested_zh}（网格面积 {areas_km2.min():.2f}–{areas_km2.max():.2f} km²；"
            f"面积相差超过 {AREA_RATIO_FOR_RATES:.0f} 倍时默认按每千户）",
            f"Tested on {tested_en} (grid areas {areas_km2.min():.2f}–{areas_km2.max():.2f} km²; per 1,000 "
            f"households by default where sizes differ more than {AREA_RATIO_FOR_RATES:.0f}×)",
        )
    )
    page.lines.append(
        (
            f"Getis-Ord Gi*（Getis & Ord 1992）：邻接（含自身）权重，{permutations} 次条件置换（随机种子 {seed}，"
            f"p 最小 {1 / (permutations + 1):.4f}），双侧 p，Benjamini–Hochberg 错误发现率校正",
            f"Getis-Ord Gi* (Getis & Ord 1992): contiguity weights with self, {permutations} conditional "
            f"permutations (seed {seed}; smallest p {1 / (permutations + 1):.4f}), two-sided p, "
            "Benjamini–Hochberg false-discovery-rate correction",
        )
    )
    page.lines.append(_hot_spot_hit_rate_line(page, gi, later))
    fixed = _hit_rate_line(page, gi["z"].to_numpy(), later)
    if later is not None:  # the fixed-share figure, labelled so that it is not read as the hot spots'
        fixed = (f"（固定面积口径，按 z 排序）{fixed[0]}", f"(Fixed area share, grids ranked by z) {fixed[1]}")
    page.lines.append(fixed)
    return finish_page(session, page, ("冷热点分析", "Hot and cold spots"))
