"""Folium maps that load nothing from the internet: every JS/CSS asset from our own /static/vendor.

Folium (and branca's colormap legend, which hard-codes d3) link CDN copies of Leaflet and friends, and
default to OpenStreetMap tiles; on the intranet that is a blank page. Here:

* ``make_offline(m)`` points every link at the vendored copy (static/vendor/, see its README.md);
* ``offline_map(...)`` builds a map with no base layer unless a tile URL template is configured;
* ``find_external_urls(html)`` (geo.maps.external_urls) lists what a browser would still fetch from another host;
* ``render_html(m)`` renders and refuses a page that still has such a URL (geo.maps.standalone writes files).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import folium
from branca.element import CssLink, Element, Figure, JavascriptLink

from geo.maps.external_urls import find_external_urls, is_external

VENDOR_DIR = Path(__file__).resolve().parents[2] / "static" / "vendor"
DEFAULT_STATIC_PREFIX = "/static/vendor"

# Exact CDN URLs that folium 0.20 / branca 0.8 emit -> file under static/vendor. Matched exactly on
# purpose: a folium upgrade that moves to another version shows up as an external URL, not as a
# silent swap to a different version.
_CDN_COPIES = [
    ("https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js", "leaflet/leaflet.js"),
    ("https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css", "leaflet/leaflet.css"),
    ("https://code.jquery.com/jquery-3.7.1.min.js", "jquery/jquery.min.js"),
    ("https://cdnjs.cloudflare.com/ajax/libs/jquery/3.7.1/jquery.min.js", "jquery/jquery.min.js"),
    (
        "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/js/bootstrap.bundle.min.js",
        "bootstrap/js/bootstrap.bundle.min.js",
    ),
    (
        "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/css/bootstrap.min.css",
        "bootstrap/css/bootstrap.min.css",
    ),
    (
        "https://netdna.bootstrapcdn.com/bootstrap/3.0.0/css/bootstrap-glyphicons.css",
        "bootstrap3-glyphicons/glyphicons.css",
    ),
    (
        "https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@6.2.0/css/all.min.css",
        "fontawesome-free/css/all.min.css",
    ),
    (
        "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.js",
        "leaflet-awesome-markers/leaflet.awesome-markers.js",
    ),
    (
        "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.css",
        "leaflet-awesome-markers/leaflet.awesome-markers.css",
    ),
    (
        "https://cdn.jsdelivr.net/gh/python-visualization/folium/folium/templates/leaflet.awesome.rotate.min.css",
        "citygrid/awesome-rotate.css",
    ),
    ("https://cdnjs.cloudflare.com/ajax/libs/d3/3.5.5/d3.min.js", "d3/d3.min.js"),
    (
        "https://cdn.jsdelivr.net/gh/python-visualization/folium@main/folium/templates/leaflet_heat.min.js",
        "leaflet-heat/leaflet-heat.min.js",
    ),
    (
        "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/leaflet.markercluster.js",
        "leaflet.markercluster/leaflet.markercluster.js",
    ),
    (
        "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/MarkerCluster.css",
        "leaflet.markercluster/MarkerCluster.css",
    ),
    (
        "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/MarkerCluster.Default.css",
        "leaflet.markercluster/MarkerCluster.Default.css",
    ),
    (
        "https://cdn.jsdelivr.net/npm/leaflet.fullscreen@3.0.0/Control.FullScreen.min.js",
        "leaflet.fullscreen/Control.FullScreen.js",
    ),
    (
        "https://cdn.jsdelivr.net/npm/leaflet.fullscreen@3.0.0/Control.FullScreen.css",
        "leaflet.fullscreen/Control.FullScreen.css",
    ),
]
CDN_TO_VENDOR: dict[str, str] = dict(_CDN_COPIES)


class ExternalAssetError(RuntimeError):
    """A rendered map still makes the browser fetch something from another host."""

    def __init__(self, urls: list[str]):
        self.urls = urls
        super().__init__(
            "map HTML would load from outside our server (vendor it into static/vendor and map it in "
            "geo.maps.offline.CDN_TO_VENDOR, or pass a configured tile server in `allowed`): " + ", ".join(urls)
        )


def vendor_url(url: str, static_prefix: str = DEFAULT_STATIC_PREFIX) -> str:
    """Return the vendored URL for a known CDN URL, or the URL unchanged."""
    rel = CDN_TO_VENDOR.get(url)
    if rel is None or not static_prefix:
        return url if rel is None else rel
    return static_prefix.rstrip("/") + "/" + rel


class _VendorHeader(Element):
    """Figure header that points each JS/CSS link at our copy as it is added during rendering."""

    def __init__(self, static_prefix: str):
        super().__init__()
        self.static_prefix = static_prefix

    def add_child(self, child: Element, name: str | None = None, index: int | None = None) -> Element:
        if isinstance(child, JavascriptLink | CssLink):
            child.url = vendor_url(child.url, self.static_prefix)
        return super().add_child(child, name=name, index=index)


def make_offline(m: folium.Map, static_prefix: str = DEFAULT_STATIC_PREFIX) -> None:
    """Make the map's page link the vendored copy of every JS/CSS asset, under ``static_prefix``.

    Every folium element and plugin adds its ``default_js``/``default_css`` links to the figure's header
    while the page renders, and branca's colormap adds d3 from a hard-coded URL at the same moment. So
    rather than editing each element's lists (class-level lists shared by every map, and blind to
    elements added later and to d3), the header itself maps each link as it arrives. Calling it again
    with another prefix (a served page, then a file on disk) just changes the prefix.
    """
    figure = m.get_root()
    if not isinstance(figure, Figure):
        figure = Figure()
        figure.add_child(m)
    header = _VendorHeader(static_prefix)
    for name, child in figure.header._children.items():
        header.add_child(child, name=name)
    figure.header = header
    figure._children["header"] = header
    header._parent = figure


def offline_map(
    *,
    tiles: str | None = None,
    attr: str | None = None,
    tile_options: dict | None = None,
    min_zoom: int = 0,
    max_zoom: int = 18,
    static_prefix: str = DEFAULT_STATIC_PREFIX,
    **map_kwargs,
) -> folium.Map:
    """Make a folium Map on vendored assets, with a base layer only when a tile URL template is given.

    ``tiles`` is a Leaflet URL template (an intranet tile server, or Tianditu with its key) and ``attr``
    its attribution, both from settings; with None the map has no base layer, which works offline.
    The zoom range goes on the map itself: without a tile layer Leaflet has no maxZoom, and
    leaflet.markercluster then throws "Map has no maxZoom specified" and stops the page's script.
    """
    m = folium.Map(tiles=None, **map_kwargs)
    m.options.update(minZoom=min_zoom, maxZoom=max_zoom)
    if tiles:
        if not attr:
            raise ValueError("a tile URL template needs its attribution (attr)")
        layer_options = {"min_zoom": min_zoom, "max_zoom": max_zoom, **(tile_options or {})}
        folium.TileLayer(tiles=tiles, attr=attr, name="底图", **layer_options).add_to(m)
    make_offline(m, static_prefix)
    return m


def render_html(m: folium.Map, static_prefix: str = DEFAULT_STATIC_PREFIX, allowed: Iterable[str] = ()) -> str:
    """Render the map's page on vendored assets; raise ExternalAssetError if it still loads from outside."""
    make_offline(m, static_prefix)
    page = m.get_root().render()
    allowed = (*allowed, static_prefix) if is_external(static_prefix) else tuple(allowed)
    external = find_external_urls(page, allowed)
    if external:
        raise ExternalAssetError(external)
    return page
