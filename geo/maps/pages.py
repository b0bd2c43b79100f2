"""The four command-centre maps by name, rendered to HTML for the API or written to a file for the CLI."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import folium
from sqlalchemy.orm import Session

from geo.errors import InvalidInput
from geo.maps.change_map import change_map
from geo.maps.density_map import density_map
from geo.maps.grid_maps import choropleth_map, hotspot_map
from geo.maps.layers import tile_allowances
from geo.maps.offline import DEFAULT_STATIC_PREFIX, render_html
from geo.maps.query import map_query
from geo.maps.standalone import save_html
from geo.settings import Settings

MAP_KINDS = {
    "density": ("事件密度图", "Incident density (kernel, metres)"),
    "choropleth": ("网格分级图", "Grid choropleth (counts or rates)"),
    "hotspots": ("冷热点分析", "Gi* hot and cold spots"),
    "change": ("同比变化图", "Year-over-year change"),
}


def build_map(
    kind: str,
    session: Session,
    settings: Settings,
    admin_code: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    categories: list[str] | str | None = None,
    measure: str | None = None,
    bandwidth_m: float | None = None,
) -> folium.Map:
    """The folium map of a kind for an admin unit (default the city), [start, end) and categories."""
    if kind not in MAP_KINDS:
        raise InvalidInput(f"unknown map '{kind}'; one of {', '.join(MAP_KINDS)}", field="kind")
    if bandwidth_m is not None and not 10 <= bandwidth_m <= 5000:
        raise InvalidInput("bandwidth_m must be between 10 and 5000 metres", field="bandwidth_m")
    q = map_query(session, admin_code, start, end, categories)
    if kind == "density":
        return density_map(session, settings, q, bandwidth_m)
    if kind == "choropleth":
        return choropleth_map(session, settings, q, measure or "count")
    if kind == "hotspots":
        return hotspot_map(session, settings, q, measure=measure or "auto")
    return change_map(session, settings, q)


def render_map(
    kind: str, session: Session, settings: Settings, static_prefix: str = DEFAULT_STATIC_PREFIX, **filters
) -> str:
    """The map's page as HTML on our /static/vendor assets (refused if it would load anything from outside)."""
    m = build_map(kind, session, settings, **filters)
    return render_html(m, static_prefix, allowed=tile_allowances(settings))


def save_map(
    kind: str,
    session: Session,
    settings: Settings,
    path: str | os.PathLike[str],
    assets: str = "inline",
    **filters,
) -> Path:
    """Write the map's page to path, self-contained (assets inline) or with a folder of its assets."""
    m = build_map(kind, session, settings, **filters)
    return save_html(m, path, allowed=tile_allowances(settings), assets=assets)
