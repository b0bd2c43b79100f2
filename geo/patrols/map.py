"""A Folium map of a patrol route over the hot-spot layer: grids by recent count, reach band, numbered stops."""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Sequence
from typing import Any

import folium
import numpy as np
import shapely
from branca.element import Element
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import vocab
from geo.area import CITY, Area
from geo.crs import METRIC_EPSG, wgs84_to_gcj02
from geo.maps.offline import DEFAULT_STATIC_PREFIX, offline_map, render_html
from geo.patrols import routes
from geo.patrols.coverage import route_coverage
from geo.patrols.hotspots import resolve_as_of, window
from geo.patrols.params import STOP_KINDS
from geo.settings import Settings

# Grids of the route's community and any grid within ~1 km of the line, with their recent counts.
GRIDS_SQL = """
    SELECT g.code, g.name, ST_AsBinary(g.geom) AS wkb,
           (SELECT count(*) FROM incidents i
             WHERE i.grid_code = g.code AND i.geom && g.geom AND i.occurred_at > :since AND i.occurred_at <= :as_of) AS n
    FROM grids g, patrol_routes r
    WHERE r.id = :id AND g.status = 'active' AND {inside}
      AND (g.community_code = r.community_code OR g.geom && ST_Expand(r.geom, 0.01))
    ORDER BY g.code
"""
REACH_SQL = f"""
    SELECT ST_AsBinary(ST_Transform(ST_Buffer(ST_Transform(geom, {METRIC_EPSG}), :reach, 'quad_segs=8'), 4326))
    FROM patrol_routes WHERE id = :id
"""
COLOURS = ["#f7f7f7", "#fee5d9", "#fcae91", "#fb6a4a", "#de2d26", "#a50f15"]  # 0, then 5 classes
KIND_COLOURS = {
    "station": "#d7301f",
    "market": "#d7301f",
    "hotspot": "#d7301f",
    "compound": "#6a51a3",
    "hazard": "#ec7014",
    "start": "#238b45",
    "other": "#2171b5",
}


_BOX = (
    "position:fixed;z-index:900;background:rgba(255,255,255,.93);padding:8px 10px;border-radius:6px;"
    "box-shadow:0 1px 5px rgba(0,0,0,.35);font:12px/1.45 'WenQuanYi Zen Hei','Noto Sans CJK SC',sans-serif;"
)


def _gcj02(settings: Settings) -> bool:
    """Overlays are shifted to GCJ-02 only when a GCJ-02 base layer is configured."""
    return bool(settings.tile_url) and settings.tile_crs == "GCJ-02"


def _display(geoms: Any, gcj: bool) -> Any:
    """Geometries as drawn: shifted to GCJ-02 when the base map is in it, rounded to ~0.1 m."""

    def fn(c: np.ndarray) -> np.ndarray:
        if gcj:
            c = np.column_stack(wgs84_to_gcj02(c[:, 0], c[:, 1]))
        return np.round(c, 6)

    return shapely.transform(geoms, fn)


def _collection(geoms: Any, props: list[dict[str, Any]]) -> dict[str, Any]:
    """A FeatureCollection whose feature ids are list positions (the style function looks colours up by id)."""
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "id": i, "geometry": json.loads(g), "properties": p}
            for i, (g, p) in enumerate(zip(shapely.to_geojson(geoms), props, strict=True))
        ],
    }


def _panel(m: folium.Map, where: str, title: tuple[str, str], rows: list[str]) -> None:
    """A fixed HTML panel (info box or legend) with a Chinese-first title."""
    head = f"<b>{html.escape(title[0])}</b> <span style='color:#555'>{html.escape(title[1])}</span>"
    root: Any = m.get_root()  # a branca Figure, whose html element holds page-level markup
    root.html.add_child(Element(f'<div style="{_BOX}{where}">{head}{"".join(rows)}</div>'))


def _base(settings: Settings, bounds: tuple[float, float, float, float], gcj: bool) -> folium.Map:
    """An offline map (vendored assets; the configured base tiles or none) fitted to bounds."""
    attr = (settings.tile_attribution or "底图 Base map") if settings.tile_url else None
    m = offline_map(tiles=settings.tile_url, attr=attr, control_scale=True, max_zoom=19)
    west, south, east, north = shapely.bounds(_display(shapely.box(*bounds), gcj))
    m.fit_bounds([[south, west], [north, east]])
    return m


def _classes(counts: np.ndarray) -> tuple[np.ndarray, list[tuple[str, str, str]]]:
    """Colour per grid: grey for none, then up to five equal steps to the busiest grid (always the darkest)."""
    top = int(counts.max()) if len(counts) else 0
    edges = np.unique(np.ceil(np.linspace(0, top, 6)[1:]).astype(int)) if top else np.array([], dtype=int)
    palette = [COLOURS[0], *COLOURS[len(COLOURS) - len(edges) :]]  # few classes take the darker end
    idx = np.where(counts > 0, np.searchsorted(edges, counts) + 1, 0)
    entries = [(palette[0], "0 起", "none")]
    lo = 1
    for i, hi in enumerate(edges):
        entries.append((palette[i + 1], f"{lo}–{hi} 起", f"{lo}–{hi} incidents"))
        lo = int(hi) + 1
    return np.array(palette)[idx], entries


def _stop_icon(number: int, kind: str) -> folium.DivIcon:
    colour = KIND_COLOURS.get(kind, KIND_COLOURS["other"])
    return folium.DivIcon(
        icon_size=(24, 24),
        icon_anchor=(12, 12),
        html=(
            f"<div style='width:24px;height:24px;border-radius:12px;background:{colour};color:#fff;"
            f"font:bold 12px/24px sans-serif;text-align:center;border:2px solid #fff;"
            f"box-shadow:0 0 3px rgba(0,0,0,.6)'>{number}</div>"
        ),
    )


def route_map(
    session: Session,
    settings: Settings,
    route_id: int,
    days: int = 28,
    as_of: dt.datetime | None = None,
    area: Area = CITY,
) -> folium.Map:
    """The folium map of one route: grids coloured by incidents in the last `days`, reach band, stops."""
    feature = routes.get_route(session, route_id, area)
    props = feature["properties"]
    since, end = window(days, resolve_as_of(session, as_of))
    gcj = _gcj02(settings)
    line = shapely.geometry.shape(feature["geometry"])
    inside, bound = area.where("grids", "g")  # the neighbouring grids drawn: only the caller's
    rows = session.execute(
        text(GRIDS_SQL.replace("{inside}", inside)), {"id": route_id, "since": since, "as_of": end, **bound}
    ).all()
    grids = shapely.from_wkb([bytes(r.wkb) for r in rows]) if rows else np.array([], dtype=object)
    counts = np.array([int(r.n) for r in rows])
    west, south, east, north = shapely.total_bounds([*grids, line])
    m = _base(settings, (float(west), float(south), float(east), float(north)), gcj)
    if rows:
        _grid_layer(m, rows, grids, counts, gcj, days)
    reach = session.execute(text(REACH_SQL), {"id": route_id, "reach": settings.patrol_reach_m}).scalar_one()
    folium.GeoJson(
        _collection(_display(np.array([shapely.from_wkb(bytes(reach))]), gcj), [{}]),
        name=f"巡逻覆盖 {settings.patrol_reach_m:g} 米 Reach",
        style_function=lambda f: {"fillColor": "#2171b5", "color": "#2171b5", "weight": 0, "fillOpacity": 0.12},
    ).add_to(m)
    shown = _display(line, gcj)
    folium.PolyLine(
        [[y, x] for x, y in shapely.get_coordinates(shown)],
        color="#08519c",
        weight=4,
        opacity=0.9,
        tooltip=html.escape(props["name"]),
    ).add_to(m)
    _stop_markers(m, props.get("planned_stops") or [], gcj)
    _facts(session, settings, m, feature, days, end)
    folium.LayerControl(collapsed=True).add_to(m)
    return m


def _grid_layer(m: folium.Map, rows: Sequence[Any], grids: Any, counts: Any, gcj: bool, days: int) -> None:
    """The grids around the route, coloured by their incidents in the window, with a legend."""
    fill, entries = _classes(counts)
    data = _collection(
        _display(grids, gcj),
        [{"code": r.code, "name": html.escape(r.name or ""), "n": int(r.n)} for r in rows],
    )
    folium.GeoJson(
        data,
        name=f"近{days}天事件 Incidents, last {days} days",
        style_function=lambda f: {
            "fillColor": fill[f["id"]],
            "color": "#666",
            "weight": 0.7,
            "fillOpacity": 0.7,
        },
        popup=folium.GeoJsonPopup(
            fields=["code", "name", "n"], aliases=["网格 Grid", "名称 Name", "事件 Incidents"]
        ),
    ).add_to(m)
    swatches = [
        f"<div><span style='display:inline-block;width:14px;height:12px;background:{c};border:1px solid #777;"
        f"margin-right:6px;vertical-align:middle'></span>{zh} <span style='color:#555'>{en}</span></div>"
        for c, zh, en in entries
    ]
    _panel(m, "bottom:34px;left:10px;", (f"近{days}天事件数", f"Incidents, last {days} days"), swatches)


def _stop_markers(m: folium.Map, stops: list[dict[str, Any]], gcj: bool) -> None:
    """One numbered marker per planned stop, with its kind, dwell and ETA."""
    points = _display(shapely.points([[s["lon"], s["lat"]] for s in stops]), gcj) if stops else []
    for n, (stop, pt) in enumerate(zip(stops, points, strict=True), start=1):
        kind = STOP_KINDS.get(stop["kind"], STOP_KINDS["other"])
        eta = f"<br>预计到达 ETA +{stop['eta_minutes']:g} 分钟 min" if stop.get("eta_minutes") is not None else ""
        folium.Marker(
            [pt.y, pt.x],
            icon=_stop_icon(n, stop["kind"]),
            popup=folium.Popup(
                f"<b>{n}. {html.escape(stop['name'])}</b><br>{kind[0]} {kind[1]}<br>"
                f"停留 Dwell {stop['dwell_minutes']:g} 分钟 min{eta}",
                max_width=260,
            ),
        ).add_to(m)


def _facts(
    session: Session, settings: Settings, m: folium.Map, feature: dict[str, Any], days: int, as_of: dt.datetime
) -> None:
    """The info box: officer, shift, mode, length and time, and what the route covers."""
    props = feature["properties"]
    cov = route_coverage(session, feature["id"], reach_m=settings.patrol_reach_m, days=days, as_of=as_of)
    share = cov["incidents"]["share_within_reach"]
    missed = cov["hot_spots"]["not_covered"]
    shift, mode = vocab.SHIFTS[props["shift"]], vocab.PATROL_MODES[props["mode"]]
    facts = [
        (f"民警 {props['officer_name']} · {shift[0]} · {mode[0]}", f"Officer · {shift[1]} · {mode[1]}"),
        (
            f"全长 {cov['length_m']:.0f} 米，约 {cov['total_minutes']:.0f} 分钟（含停留 {cov['dwell_minutes']:g} 分钟）",
            f"{cov['length_m']:.0f} m, about {cov['total_minutes']:.0f} min incl. {cov['dwell_minutes']:g} min of visits",
        ),
        (
            f"{settings.patrol_reach_m:g} 米内覆盖近{days}天事件 {_pct(share)}，未覆盖热点网格 {len(missed)} 个",
            f"Incidents within reach: {_pct(share)}; hot-spot grids missed: {len(missed)}",
        ),
    ]
    rows = [
        f"<div>{html.escape(zh)}<br><span style='color:#555'>{html.escape(en)}</span></div>" for zh, en in facts
    ]
    _panel(m, "top:10px;left:56px;max-width:430px;", (f"巡逻路线：{props['name']}", "Patrol route"), rows)


def _pct(share: float | None) -> str:
    return "—" if share is None else f"{share:.0%}"


def route_map_html(
    session: Session,
    settings: Settings,
    route_id: int,
    days: int = 28,
    as_of: dt.datetime | None = None,
    static_prefix: str = DEFAULT_STATIC_PREFIX,
    area: Area = CITY,
) -> str:
    """The route's map page on vendored assets (refused if anything would load from another host)."""
    m = route_map(session, settings, route_id, days, as_of, area)
    return render_html(m, static_prefix, allowed=(settings.tile_url,) if settings.tile_url else ())
