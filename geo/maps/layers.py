"""Folium building blocks shared by every map: base, grid layer, outlines, compounds, patrols, info box, legend."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import folium
import numpy as np
import shapely
from branca.element import Figure

from geo import vocab
from geo.maps.compact import CompactLayer, RawElement, encode_geometries
from geo.maps.data import GridFrame, Outlines
from geo.maps.geometry import for_display
from geo.maps.offline import offline_map
from geo.settings import Settings

GCJ_NOTE = (
    "底图为GCJ-02坐标，叠加图层已偏移以对齐",
    "The base map is in GCJ-02: overlays are shifted to match it",
)
NO_BASE_NOTE = ("无底图：以行政区划边界为底图", "No base map configured: admin boundaries serve as the base")


def figure(m: folium.Map) -> Figure:
    """The page (branca Figure) a map renders into."""
    root = m.get_root()
    assert isinstance(root, Figure), "offline_map() puts every map in a Figure"
    return root


def uses_gcj02(settings: Settings) -> bool:
    return bool(settings.tile_url) and settings.tile_crs == "GCJ-02"


def tile_allowances(settings: Settings) -> tuple[str, ...]:
    """URLs a page may load from another host: only the configured tile template."""
    return (settings.tile_url,) if settings.tile_url else ()


def base_map(settings: Settings, bounds: tuple[float, float, float, float]) -> folium.Map:
    """A map on vendored assets, with the configured base tiles (or none), a scale bar, fitted to bounds."""
    m = offline_map(
        tiles=settings.tile_url,
        attr=(settings.tile_attribution or "底图 Base map") if settings.tile_url else None,
        control_scale=True,
        prefer_canvas=True,  # 1,500+ polygons draw and pan far faster on canvas than as SVG nodes
        max_zoom=19,
    )
    west, south, east, north = bounds
    if gcj := uses_gcj02(settings):
        corners = for_display(shapely.box(west, south, east, north), gcj)
        west, south, east, north = shapely.bounds(corners)
    m.fit_bounds([[south, west], [north, east]])
    return m


def encoded_once(derived: dict[str, Any], geoms: Any, gcj02: bool) -> list[list[Any]]:
    """The display geometry polyline-encoded, kept in a cached frame's derived dict (per GCJ-02 choice)."""
    key = f"encoded:{gcj02}"
    if key not in derived:
        derived[key] = encode_geometries(np.asarray(for_display(geoms, gcj02), dtype=object))
    return derived[key]


GRID_LABELS = ["网格编码 Grid", "名称 Name", "社区 Community", "网格员 Grid worker"]


def grid_layer(
    grids: GridFrame,
    labels: Sequence[str],
    rows: Sequence[Sequence[Any]],
    style_index: Sequence[int],
    fills: Sequence[str],
    name: str,
    gcj02: bool,
    fill_opacity: float = 0.75,
    show: bool = True,
    line_colour: str = "#555555",
) -> CompactLayer:
    """The grids as one layer: each filled with fills[style_index[i]], a popup of its attributes and rows[i]."""
    popup_rows = [
        [code, name_, community, worker, *extra]
        for code, name_, community, worker, extra in zip(
            grids.codes, grids.names, grids.community_names, grids.workers, rows, strict=True
        )
    ]
    styles = [
        {"fillColor": f, "color": line_colour, "weight": 0.6, "fillOpacity": fill_opacity, "fill": True}
        for f in fills
    ]
    return CompactLayer(
        encoded_once(grids.derived, grids.display, gcj02),
        name,
        style_index,
        styles,
        labels=[*GRID_LABELS, *labels],
        rows=popup_rows,
        highlight={"weight": 2.5, "color": "#000000"},
        show=show,
    )


_OUTLINE_LEVELS = ("county", "town", "community")
_OUTLINE_STYLES = [
    {"color": "#222222", "weight": 2.4, "fill": False},
    {"color": "#555555", "weight": 1.4, "dashArray": "6 3", "fill": False},
    {"color": "#888888", "weight": 0.8, "dashArray": "2 3", "fill": False},
]


def outline_layer(outlines: Outlines, gcj02: bool) -> CompactLayer | None:
    """Admin boundaries (county solid, town dashed, community dotted), unfilled, named on hover."""
    if not outlines:
        return None
    geoms = np.array([o.display for o in outlines], dtype=object)
    return CompactLayer(
        encoded_once(outlines.derived, geoms, gcj02),
        "行政区划 Admin boundaries",
        [_OUTLINE_LEVELS.index(o.level) for o in outlines],
        _OUTLINE_STYLES,
        tips=[f"{vocab.ADMIN_LEVELS[o.level][0]} {o.name} {o.code}" for o in outlines],
    )


_RENOVATION = list(vocab.RENOVATION_STATUSES)
_RENOVATION_COLOURS = {"renovated": "#1a9850", "in_progress": "#fdae61", "not_renovated": "#762a83"}


def compound_layer(rows: list[Any], gcj02: bool, show: bool = False) -> CompactLayer | None:
    """Old compounds coloured by renovation status (已整治 green, 整治中 orange, 未整治 purple)."""
    if not rows:
        return None
    geoms = shapely.from_wkb([bytes(r.wkb) for r in rows])
    styles = [
        {"color": _RENOVATION_COLOURS[k], "fillColor": _RENOVATION_COLOURS[k], "weight": 1, "fillOpacity": 0.5}
        for k in _RENOVATION
    ]
    return CompactLayer(
        for_display(geoms, gcj02),
        "老旧小区 Old compounds (绿 已整治 renovated / 紫 未整治 not)",
        [_RENOVATION.index(r.renovation_status) for r in rows],
        styles,
        labels=["小区 Compound", "整治 Renovation", "类别 Kind", "户数 Households", "整治年份 Year", "网格 Grid"],
        rows=[
            [
                r.name,
                " ".join(vocab.RENOVATION_STATUSES[r.renovation_status]),
                " ".join(vocab.COMPOUND_CATEGORIES[r.category]),
                r.households,
                r.renovated_year,
                r.grid_code,
            ]
            for r in rows
        ],
        show=show,
    )


def patrol_layer(rows: list[Any], gcj02: bool, show: bool = False) -> CompactLayer | None:
    """Planned patrol routes as dashed lines with their officer, shift and mode."""
    if not rows:
        return None
    geoms = shapely.from_wkb([bytes(r.wkb) for r in rows])
    return CompactLayer(
        for_display(geoms, gcj02),
        "巡逻路线 Patrol routes",
        [0] * len(rows),
        [{"color": "#1f78b4", "weight": 2.5, "dashArray": "8 4", "opacity": 0.9}],
        labels=["路线 Route", "民警 Officer", "班次 Shift", "方式 Mode", "社区 Community"],
        rows=[
            [
                r.name,
                r.officer,
                " ".join(vocab.SHIFTS.get(r.shift, (r.shift, ""))),
                " ".join(vocab.PATROL_MODES.get(r.mode, (r.mode, ""))),
                r.community_code,
            ]
            for r in rows
        ],
        kind="line",
        show=show,
    )


BOX_CSS = (
    "position:fixed;z-index:900;background:rgba(255,255,255,0.93);padding:8px 10px;border-radius:6px;"
    "box-shadow:0 1px 5px rgba(0,0,0,0.35);font:12px/1.45 'WenQuanYi Zen Hei','Noto Sans CJK SC',sans-serif;"
)


def info_box(m: folium.Map, title: tuple[str, str], lines: list[tuple[str, str]]) -> None:
    """A fixed panel (top left, beside the zoom buttons) with the map's title and facts, Chinese first."""
    # Bootstrap (linked by folium) enlarges the layer control's labels; keep the map's panels small.
    figure(m).header.add_child(
        RawElement("<style>.leaflet-control-layers{font-size:12px;line-height:1.35}</style>"), name="cg_css"
    )
    body = "".join(
        f"<div>{html.escape(zh)}<br><span style='color:#555'>{html.escape(en)}</span></div>" for zh, en in lines
    )
    figure(m).html.add_child(
        RawElement(
            f"<div id='cg-info' style=\"{BOX_CSS}top:10px;left:56px;max-width:430px;\">"
            f"<b style='font-size:14px'>{html.escape(title[0])}</b> "
            f"<span style='color:#555'>{html.escape(title[1])}</span>{body}</div>"
        )
    )


def legend(m: folium.Map, title: tuple[str, str], entries: list[tuple[str, str, str]]) -> None:
    """A fixed legend (bottom left): (colour, Chinese label, English label) per class."""
    rows = "".join(
        f"<div><span style='display:inline-block;width:14px;height:12px;background:{colour};"
        f"border:1px solid #777;margin-right:6px;vertical-align:middle'></span>"
        f"{html.escape(zh)} <span style='color:#555'>{html.escape(en)}</span></div>"
        for colour, zh, en in entries
    )
    figure(m).html.add_child(
        RawElement(
            f"<div id='cg-legend' style=\"{BOX_CSS}bottom:56px;left:10px;\">"
            f"<b>{html.escape(title[0])}</b> <span style='color:#555'>{html.escape(title[1])}</span>{rows}</div>"
        )
    )
