"""The incident density map: a metric kernel density as an image, grid outlines with counts, its hit rate."""

from __future__ import annotations

import html

import branca.colormap
import folium
import numpy as np
import shapely
from sqlalchemy.orm import Session

from geo.analysis.density import colourise, display_grid, kde, lonlat_to_metric, png_data_url
from geo.analysis.hitrate import raster_hit_rate
from geo.maps import data, layers
from geo.maps.common import finish_page, start_page
from geo.maps.compact import ImageLayer, RawElement
from geo.maps.query import MapQuery, later_window
from geo.settings import Settings

# YlOrRd as 256 RGBA entries (branca's 9-class scheme, interpolated).
_SCHEME = getattr(branca.colormap.linear, "YlOrRd_09")  # noqa: B009  (attributes made at import)
LUT = np.array(
    [
        [round(255 * c) for c in _SCHEME.rgba_floats_tuple(_SCHEME.vmin + (_SCHEME.vmax - _SCHEME.vmin) * t)]
        for t in np.linspace(0, 1, 256)
    ],
    dtype=np.uint8,
)
FLOOR_SHARE = 0.002  # below 0.2% of the peak stays transparent, so the admin base shows through


def _gradient_legend(m: folium.Map, vmax: float, bandwidth_m: float) -> None:
    stops = ", ".join(f"rgb({r},{g},{b})" for r, g, b, _ in LUT[::32])
    ticks = "".join(
        f"<span style='position:absolute;left:{p}%;transform:translateX(-50%)'>{v:.1f}</span>"
        for p, v in ((0, 0.0), (25, vmax / 16), (50, vmax / 4), (100, vmax))  # square-root scale
    )
    layers.figure(m).html.add_child(
        RawElement(
            f"<div id='cg-legend' style=\"{layers.BOX_CSS}bottom:56px;left:10px;width:260px;\">"
            f"<b>事件密度（起/平方公里）</b> <span style='color:#555'>Incident density per km²</span>"
            f"<div style='height:12px;margin:6px 8px 2px;background:linear-gradient(to right, {stops})'></div>"
            f"<div style='position:relative;height:14px;margin:0 8px'>{ticks}</div>"
            f"<div style='color:#555'>{html.escape(f'高斯核 σ = {bandwidth_m:.0f} m，平方根色阶')}<br>"
            f"{html.escape(f'Gaussian kernel σ = {bandwidth_m:.0f} m; square-root colour scale')}</div></div>"
        )
    )


def density_map(session: Session, settings: Settings, q: MapQuery, bandwidth_m: float | None = None) -> folium.Map:
    """Kernel density (bandwidth in metres, on UTM 48N) of the scope's incidents, with grids and hit rate."""
    bandwidth = float(bandwidth_m or settings.kde_bandwidth_m)
    page = start_page(session, settings, q)
    study = page.scope_metric(session)
    later = later_window(session, q)
    windows = [q.window] + ([later.window] if later else [])
    lonlat, *after = data.incident_lonlat_windows(session, q.scope, windows, q.categories)
    raster = kde(lonlat_to_metric(lonlat), tuple(shapely.bounds(study)), bandwidth)
    image, bounds = display_grid(raster, page.gcj02)
    vmax = float(raster.values.max())
    rgba = colourise(image, vmax, LUT, max(vmax * FLOOR_SHARE, 1e-9))
    ImageLayer(png_data_url(rgba), bounds, "事件密度 Incident density").add_to(page.map)
    counts = data.grid_count_matrix(session, q.scope, page.grids, [q.window], q.categories)[0]
    layers.grid_layer(
        page.grids,
        ["事件数 Incidents"],
        [[int(c)] for c in counts],
        [0] * len(page.grids),
        ["#ffffff"],
        "网格 Grids",
        page.gcj02,
        fill_opacity=0.0,
        line_colour="#9a9a9a",
    ).add_to(page.map)
    _gradient_legend(page.map, vmax, bandwidth)
    page.lines.append((f"事件 {len(lonlat):,} 起", f"{len(lonlat):,} incidents"))
    page.lines.append(
        (
            f"核密度：高斯核，带宽 {bandwidth:.0f} 米，在 UTM 48N 上以 {raster.cell:.0f} 米栅格计算",
            f"Kernel density: Gaussian, bandwidth {bandwidth:.0f} m, on a {raster.cell:.0f} m UTM 48N raster",
        )
    )
    if later is not None:
        page.lines.append(raster_hit_rate(later, raster, study, lonlat_to_metric(after[0])).statement())
    else:
        page.lines.append(("命中率：尚无下一时段数据", "Hit rate: no later period in the data yet"))
    return finish_page(session, page, ("事件密度图", "Incident density"))
