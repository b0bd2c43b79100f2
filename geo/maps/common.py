"""What every map page shares: its start (filters, grids, base map) and its finish (outlines, layers, notes)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import folium
import numpy as np
import shapely
from sqlalchemy.orm import Session

from geo.maps import data, layers
from geo.maps.data import GridFrame
from geo.maps.geometry import to_metric
from geo.maps.query import MapQuery
from geo.settings import Settings
from geo.stats.coverage import period_coverage


@dataclass
class Page:
    """A map page being built: its filters, grids, folium map and the facts its info box will list."""

    query: MapQuery
    settings: Settings
    grids: GridFrame
    map: folium.Map
    gcj02: bool
    lines: list[tuple[str, str]] = field(default_factory=list)

    def scope_metric(self, session: Session) -> shapely.Geometry:
        """The scope's polygon in metres (the study area of a density surface)."""
        return to_metric(data.scope_geometry(session, self.query.scope))


def start_page(session: Session, settings: Settings, q: MapQuery) -> Page:
    """Grids of the scope and a base map fitted to them (or to the scope when it has no grid)."""
    grids = data.grid_frame(session, q.scope)
    if len(grids):
        bounds = tuple(shapely.total_bounds(grids.display))
    else:
        bounds = tuple(shapely.bounds(data.scope_geometry(session, q.scope)))
    m = layers.base_map(settings, bounds)  # type: ignore[arg-type]
    page = Page(q, settings, grids, m, layers.uses_gcj02(settings))
    scope_label = f"{q.scope.name}（{q.scope.code}）"
    page.lines.append((f"范围：{scope_label}", f"Area: {q.scope.code}, {q.scope.level}"))
    page.lines.append((f"时段：{q.window_label()}", f"Period: {q.window_label()}"))
    covered = period_coverage(session, q.scope, q.window)
    if not covered.comparable:  # say so before any figure: zeros here are missing data, not a quiet period
        zh, en = covered.statement()
        page.lines.append((f"注意：{zh}", f"Note: {en}"))
    page.lines.append((f"类别：{q.categories_zh()}", f"Categories: {q.categories_en()}"))
    return page


def finish_page(session: Session, page: Page, title: tuple[str, str]) -> folium.Map:
    """Add admin outlines, compounds, patrol routes, the layer control and the info box."""
    m, scope, gcj = page.map, page.query.scope, page.gcj02
    for layer in (
        layers.outline_layer(data.admin_outlines(session, scope), gcj),
        layers.compound_layer(data.compounds(session, scope), gcj),
        layers.patrol_layer(data.patrol_routes(session, scope), gcj),
    ):
        if layer is not None:
            layer.add_to(m)
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    if gcj:
        page.lines.append(layers.GCJ_NOTE)
    elif not page.settings.tile_url:
        page.lines.append(layers.NO_BASE_NOTE)
    layers.info_box(m, title, page.lines)
    return m


def num(value: float | None, digits: int = 2) -> float | None:
    """A rounded number for a popup (None for NaN, which the popup shows blank)."""
    return None if value is None or not np.isfinite(value) else round(float(value), digits)


def classed_grids(
    page: Page,
    labels: list[str],
    rows: list[list[Any]],
    grid_classes: Sequence[str],
    classes: dict[str, tuple[str, str, str]],
    titles: tuple[str, tuple[str, str]],
) -> None:
    """Grids filled by class (classes: key → (zh, en, colour)), and a legend counting each class.

    titles = (the layer's name, the legend's (zh, en) title). A class no grid has is left out of the legend
    only when it is the 'no_data' class.
    """
    keys = list(classes)
    layers.grid_layer(
        page.grids,
        labels,
        rows,
        [keys.index(k) for k in grid_classes],
        [colour for _, _, colour in classes.values()],
        titles[0],
        page.gcj02,
    ).add_to(page.map)
    tally = Counter(grid_classes)
    entries = [
        (colour, f"{zh}（{tally.get(key, 0)}）", en)
        for key, (zh, en, colour) in classes.items()
        if key != "no_data" or tally.get(key, 0)
    ]
    layers.legend(page.map, titles[1], entries)
