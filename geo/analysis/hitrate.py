"""Hit rate and PAI of a map on the period after it: of exactly the area it highlights, or of a fixed area share.

Hit rate = share of the following window's incidents inside the selected area; area share = selected area ÷
study area; PAI (predictive accuracy index, Chainey, Tompson & Uhlig 2008) = hit rate ÷ area share = (n/N)/(a/A).
A map no better than chance has PAI ≈ 1. The following window has the map's calendar length (a year after a year,
its last day included: geo.stats.windows.following_window). A hot-spot map is measured on the hot-spot grids
it draws; density and choropleth maps, which highlight no set area, on their top TOP_AREA_SHARE of area,
labelled as such.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

import numpy as np
import shapely
from numpy.typing import NDArray

from geo.analysis.density import DensityRaster
from geo.maps.query import LaterWindow

TOP_AREA_SHARE = 0.05


@dataclass(frozen=True)
class HitRate:
    """The measured usefulness of a hot-spot map on the period after it."""

    later: LaterWindow
    incidents: int  # later-period incidents in the study area
    hits: int  # of which inside the selected area
    area_share: float  # selected area / study area (≈ the target share)
    target_share: float = TOP_AREA_SHARE
    # (zh, en) naming the highlighted area when the selection is what the map draws, not a fixed share
    highlighted: tuple[str, str] | None = None

    @property
    def hit_rate(self) -> float | None:
        return self.hits / self.incidents if self.incidents else None

    @property
    def pai(self) -> float | None:
        rate = self.hit_rate
        return rate / self.area_share if rate is not None and self.area_share > 0 else None

    def statement(self) -> tuple[str, str]:
        """(Chinese, English) sentences stating the hit rate for the map's page."""
        w = self.later.window
        span = f"{w.start.isoformat()} – {(w.end - dt.timedelta(days=1)).isoformat()}"
        partial_zh = "" if self.later.complete else f"（数据截至 {self.later.data_end.isoformat()}，时段不完整）"
        partial_en = "" if self.later.complete else f" (partial: data end {self.later.data_end.isoformat()})"
        pct = f"{100 * self.target_share:.0f}%"
        if self.hit_rate is None or self.pai is None:
            return (
                f"命中率：下一时段 {span}{partial_zh} 无事件，无法评估。",
                f"Hit rate: no incidents in the next period {span}{partial_en}; not measurable.",
            )
        if self.highlighted is not None:
            zh, en = self.highlighted
            return (
                f"命中率：下一时段 {span}{partial_zh} 的 {self.incidents:,} 起事件中，{100 * self.hit_rate:.1f}% "
                f"落在本图所示的{zh}内（面积占比 {100 * self.area_share:.2f}%，PAI = {self.pai:.2f}）。",
                f"Hit rate: of the {self.incidents:,} incidents in the next period {span}{partial_en}, "
                f"{100 * self.hit_rate:.1f}% fell in {en} (area share {100 * self.area_share:.2f}%; "
                f"PAI = {self.pai:.2f}).",
            )
        return (
            f"命中率：下一时段 {span}{partial_zh} 的 {self.incidents:,} 起事件中，{100 * self.hit_rate:.1f}% "
            f"落在本图排名最高的 {pct} 面积内（实际面积占比 {100 * self.area_share:.1f}%，PAI = {self.pai:.2f}）。",
            f"Hit rate: of the {self.incidents:,} incidents in the next period {span}{partial_en}, "
            f"{100 * self.hit_rate:.1f}% fell in the top {pct} of area ranked by this map "
            f"(actual area share {100 * self.area_share:.1f}%; PAI = {self.pai:.2f}).",
        )


def top_polygons(scores: NDArray[np.float64], areas: NDArray[np.float64], share: float) -> NDArray[np.bool_]:
    """Polygons taken in descending score until their area reaches share of the total (the crossing one included)."""
    n = len(scores)
    picked = np.zeros(n, dtype=bool)
    if n == 0 or areas.sum() <= 0:
        return picked
    order = np.argsort(-np.asarray(scores, float), kind="stable")  # ties keep code order
    cumulative = np.cumsum(areas[order])
    k = int(np.searchsorted(cumulative, share * cumulative[-1])) + 1
    picked[order[: min(k, n)]] = True
    return picked


def selected_hit_rate(
    later: LaterWindow,
    picked: NDArray[np.bool_],
    areas: NDArray[np.float64],
    later_counts: NDArray[np.float64],
    highlighted: tuple[str, str],
) -> HitRate:
    """Hit rate of exactly the picked grids (what the map highlights), later incidents counted per grid."""
    total_area = float(areas.sum())
    share = float(areas[picked].sum() / total_area) if total_area else 0.0
    return HitRate(later, int(later_counts.sum()), int(later_counts[picked].sum()), share, share, highlighted)


def polygon_hit_rate(
    later: LaterWindow,
    scores: NDArray[np.float64],
    areas: NDArray[np.float64],
    later_counts: NDArray[np.float64],
    share: float = TOP_AREA_SHARE,
) -> HitRate:
    """Hit rate of a per-grid map: grids ranked by scores, later incidents counted per grid."""
    picked = top_polygons(scores, areas, share)
    return replace(
        selected_hit_rate(later, picked, areas, later_counts, ("", "")), target_share=share, highlighted=None
    )


def raster_hit_rate(
    later: LaterWindow,
    raster: DensityRaster,
    study_area: shapely.Geometry,
    later_xy: NDArray[np.float64],
    share: float = TOP_AREA_SHARE,
) -> HitRate:
    """Hit rate of a density surface: its highest cells inside the study area (metric polygon) up to share."""
    values = raster.values.ravel()
    study_m2 = float(shapely.area(study_area))
    target_cells = share * study_m2 / raster.cell**2
    shapely.prepare(study_area)
    # Only the top of the ranking matters: sort a generous top slice (argpartition), the rest only if needed.
    head = min(values.size, int(3 * target_cells) + 1000)
    top = np.argpartition(-values, head - 1)[:head] if head < values.size else np.arange(values.size)
    order = top[np.argsort(-values[top], kind="stable")]
    selected: list[NDArray[np.int64]] = []
    seen = np.zeros(values.size, dtype=bool)
    taken, start, full = 0, 0, head >= values.size
    while taken < target_cells:
        if start >= len(order):
            if full:
                break
            # The study area holds few of the top cells: rank the rest too (ties may order differently).
            rest = np.flatnonzero(~seen)
            order, start, full = rest[np.argsort(-values[rest], kind="stable")], 0, True
            continue
        idx = order[start : start + 20_000]
        seen[idx] = True
        cx, cy = raster.cell_centres(idx)
        inside = idx[shapely.contains_xy(study_area, cx, cy)]
        need = int(np.ceil(target_cells)) - taken
        selected.append(inside[:need])
        taken += min(len(inside), need)
        start += 20_000
    mask = np.zeros(values.size, dtype=bool)
    if selected:
        mask[np.concatenate(selected)] = True
    cells = raster.cell_of(later_xy)
    hits = int(mask[cells[cells >= 0]].sum())
    return HitRate(later, len(later_xy), hits, taken * raster.cell**2 / study_m2, share)
