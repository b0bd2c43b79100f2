"""The briefing's two maps, drawn server-side with matplotlib (no browser, no tiles): a choropleth of incidents
per grid and the Gi* hot and cold spots, both with the area's outlines, labels and a legend, legible in print."""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from geo.maps.data import GridFrame, Outline

CJK_FONT = "WenQuanYi Zen Hei"  # Debian fonts-wqy-zenhei
CHORO_COLOURS = ["#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"]
WIDTH_IN, HEIGHT_IN, DPI = 6.6, 5.0, 170


def _pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend with the CJK font (imported on first use: it costs a second)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["font.family"] = [CJK_FONT, "DejaVu Sans"]
    plt.rcParams["axes.unicode_minus"] = False
    return plt


def _draw_grids(ax: Any, grids: GridFrame, colours: list[str]) -> None:
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Polygon as Patch

    patches, faces = [], []
    for geom, colour in zip(grids.display, colours, strict=True):
        for part in getattr(geom, "geoms", [geom]):
            patches.append(Patch(np.asarray(part.exterior.coords), closed=True))
            faces.append(colour)
    ax.add_collection(PatchCollection(patches, facecolors=faces, edgecolors="#8c8c8c", linewidths=0.12))


def _draw_outlines(ax: Any, outlines: list[Outline], label_level: str | None) -> None:
    for o in outlines:
        width = 1.1 if o.level == label_level else 0.5
        for part in getattr(o.display, "geoms", [o.display]):
            x, y = part.exterior.xy
            ax.plot(x, y, color="#222222", linewidth=width)
        if o.level == label_level:
            p = o.display.representative_point()
            ax.annotate(o.name, (p.x, p.y), ha="center", va="center", fontsize=7.5, color="#111111",
                        bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.7})  # fmt: skip


def _frame(ax: Any, grids: GridFrame) -> None:
    x0, y0, x1, y1 = np.asarray([g.bounds for g in grids.display]).T
    minx, miny, maxx, maxy = x0.min(), y0.min(), x1.max(), y1.max()
    pad = 0.03 * max(maxx - minx, maxy - miny)
    ax.set_xlim(minx - pad, maxx + pad)
    ax.set_ylim(miny - pad, maxy + pad)
    ax.set_aspect(1 / math.cos(math.radians((miny + maxy) / 2)))  # metres equal east and north
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ax.spines.values():
        side.set_linewidth(0.4)


def _png(fig: Any) -> bytes:
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=DPI, bbox_inches="tight")
    _pyplot().close(fig)
    return out.getvalue()


def choropleth_png(
    grids: GridFrame,
    counts: NDArray[np.float64],
    classed: tuple[NDArray[np.int64], list[float]],
    outlines: list[Outline],
    label_level: str | None,
) -> bytes:
    """Grids by incident count in natural-breaks classes (geo.maps.classify.classes: index, upper bounds)."""
    plt = _pyplot()
    from matplotlib.patches import Patch

    cls, breaks = classed
    fig, ax = plt.subplots(figsize=(WIDTH_IN, HEIGHT_IN))
    _draw_grids(ax, grids, [CHORO_COLOURS[min(max(int(c), 0), len(CHORO_COLOURS) - 1)] for c in cls])
    _draw_outlines(ax, outlines, label_level)
    _frame(ax, grids)
    lows = [float(np.nanmin(counts))] + [b + 1 for b in breaks[:-1]] if breaks else []
    handles = [
        Patch(facecolor=CHORO_COLOURS[i], edgecolor="#666666", label=f"{lo:.0f} – {hi:.0f}")
        for i, (lo, hi) in enumerate(zip(lows, breaks, strict=True))
    ]
    ax.legend(
        handles=handles, title="网格事件数 Incidents per grid", loc="lower left", fontsize=7, title_fontsize=7.5
    )
    return _png(fig)


def hotspot_png(
    grids: GridFrame, classes: list[str], legend: dict[str, tuple[str, str, str]], outlines: list[Outline],
    label_level: str | None,
) -> bytes:  # fmt: skip
    """Grids coloured by their Gi* class (legend: key → (中文, English, colour)), with the count of each class."""
    plt = _pyplot()
    from matplotlib.patches import Patch

    fig, ax = plt.subplots(figsize=(WIDTH_IN, HEIGHT_IN))
    _draw_grids(ax, grids, [legend[k][2] for k in classes])
    _draw_outlines(ax, outlines, label_level)
    _frame(ax, grids)
    tally = {k: classes.count(k) for k in legend}
    handles = [
        Patch(facecolor=colour, edgecolor="#666666", label=f"{zh}（{tally[key]}）")
        for key, (zh, _, colour) in legend.items()
    ]
    ax.legend(handles=handles, title="Gi* 冷热点 Hot/cold spots", loc="lower left", fontsize=7, title_fontsize=7.5)
    return _png(fig)
