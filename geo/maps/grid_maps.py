"""Per-grid maps: choropleth of counts or rates (natural breaks), Gi* hot and cold spots, year-over-year change."""

from __future__ import annotations

import folium
import numpy as np
from numpy.typing import NDArray
from sqlalchemy.orm import Session

from geo.analysis.hitrate import polygon_hit_rate
from geo.analysis.hotspots import GI_CLASSES, PERMUTATIONS, gi_star_frame
from geo.errors import InvalidInput
from geo.maps import data, layers
from geo.maps.classify import classes
from geo.maps.common import Page, finish_page, num, start_page
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


def hotspot_map(session: Session, settings: Settings, q: MapQuery, permutations: int = PERMUTATIONS) -> folium.Map:
    """Getis-Ord Gi* hot and cold spots of grid counts (permutations, Benjamini–Hochberg FDR)."""
    page = start_page(session, settings, q)
    counts, later = counts_and_later(session, page)
    gi = gi_star_frame(page.grids, counts, permutations)
    keys = list(GI_CLASSES)
    rows = [
        [int(n), num(z), num(p, 3), num(pf, 3), " ".join(GI_CLASSES[k][:2])]
        for n, z, p, pf, k in zip(gi["count"], gi["z"], gi["p"], gi["p_fdr"], gi["class"], strict=True)
    ]
    layers.grid_layer(
        page.grids,
        ["事件数 Incidents", "Gi* z", "p（置换 permutation）", "p（FDR）", "类别 Class"],
        rows,
        [keys.index(k) for k in gi["class"]],
        [colour for _, _, colour in GI_CLASSES.values()],
        "热点分析 Gi* hot spots",
        page.gcj02,
    ).add_to(page.map)
    tally = gi["class"].value_counts()
    entries = [(colour, f"{zh}（{int(tally.get(key, 0))}）", en) for key, (zh, en, colour) in GI_CLASSES.items()]
    layers.legend(page.map, ("Gi* 冷热点", "Gi* hot and cold spots"), entries)
    page.lines.append(
        (
            f"事件 {int(counts.sum()):,} 起，网格 {len(page.grids):,} 个",
            f"{int(counts.sum()):,} incidents in {len(page.grids):,} grids",
        )
    )
    page.lines.append(
        (
            f"Getis-Ord Gi*：邻接（含自身）权重，{permutations} 次条件置换（p 最小 {1 / (permutations + 1):.4f}），"
            "Benjamini–Hochberg 错误发现率校正",
            f"Getis-Ord Gi*: contiguity weights with self, {permutations} conditional permutations "
            f"(smallest p {1 / (permutations + 1):.4f}), Benjamini–Hochberg false-discovery-rate correction",
        )
    )
    page.lines.append(_hit_rate_line(page, gi["z"].to_numpy(), later))
    return finish_page(session, page, ("冷热点分析", "Hot and cold spots"))
