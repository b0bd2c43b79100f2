"""Folium maps that load nothing from the internet: every JS/CSS asset from our own /static/vendor.

Folium (and branca's colormap legend, which hard-codes d3) link CDN copies of Leaflet and friends, and
default to OpenStreetMap tiles; on the intranet that is a blank page. Here:

* ``make_offline(m)`` points every link at the vendored copy (static/vendor/, see its README.md);
* ``offline_map(...)`` builds a map with no base layer unless a tile URL template is configured;
* ``find_external_urls(html)`` lists what a browser would still fetch from another host;
* ``render_html(m)`` renders and refuses a page that still has such a URL (geo.maps.standalone writes files).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import folium
from branca.element import CssLink, Element, Figure, JavascriptLink

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


# ---------------------------------------------------------------------------------------------------
# Finding what a browser would fetch from elsewhere

_LOOPBACK = re.compile(r"^(localhost|127(\.\d{1,3}){3}|\[?::1\]?)$")
_HTTP_IN_TEXT = re.compile(r"https?://[^\s\"'<>`\\]+", re.IGNORECASE)
_CSS_URL = re.compile(r"""url\(\s*(["']?)(.*?)\1\s*\)|@import\s+(["'])(.*?)\3""", re.IGNORECASE | re.DOTALL)
_JS_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|.)", re.DOTALL)
_LOOKS_LIKE_HTML = re.compile(r"<[a-zA-Z!/]")
# Where _js_pieces must look next (a comment or a string opening), and the body of a string per quote:
# regex jumps instead of a Python step per character keep a 2 MB map page to tens of milliseconds.
_JS_SPECIAL = re.compile(r"//|/\*|[\"'`]")
# Every match of _CSS_URL or _HTTP_IN_TEXT contains one of these: text without any cannot hold a URL.
_URL_HINT = re.compile(r"url\(|@import|https?://", re.IGNORECASE)
# Without a backslash (no escapes: pieces are raw substrings), '<', '//', url( or @import, no piece of a
# script can be HTML, a protocol-relative or http(s) URL, or CSS: _js has nothing to find.
_JS_MAY_FETCH = re.compile(r"[\\<]|//|url\(|@import", re.IGNORECASE)
_JS_STRING_BODY = {q: re.compile(rf"[^{q}\\]*(?:\\.[^{q}\\]*)*\\?", re.DOTALL) for q in "\"'`"}
# (tag, attribute) pairs whose URL the browser loads by itself; <a href> is only followed on a click.
_FETCHING_ATTRS = {
    "script": ("src",),
    "link": ("href",),
    "img": ("src", "srcset"),
    "source": ("src", "srcset"),
    "iframe": ("src",),
    "frame": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "video": ("src", "poster"),
    "audio": ("src",),
    "track": ("src",),
    "input": ("src",),
    "image": ("href", "xlink:href"),
    "use": ("href", "xlink:href"),
    "feimage": ("href", "xlink:href"),
}


def is_external(url: str) -> bool:
    """Tell whether a URL points at another host (http(s) or protocol-relative, not loopback)."""
    url = url.strip()
    if not (url.startswith("//") or re.match(r"https?:", url, re.IGNORECASE)):
        return False
    try:
        host = urlsplit(url if not url.startswith("//") else "http:" + url).hostname or ""
    except ValueError:  # e.g. a malformed [IPv6] host: still not ours
        return True
    return not _LOOPBACK.match(host)


def _decode_js_string(body: str) -> str:
    if "\\" not in body:  # nothing escaped: the common case for data strings
        return body
    simple = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}

    def one(match: re.Match[str]) -> str:
        esc = match.group(1)
        if esc[0] in "ux" and len(esc) > 1:
            return chr(int(esc[1:], 16))
        return simple.get(esc, esc)

    return _JS_ESCAPE.sub(one, body)


def _js_pieces(code: str) -> Iterator[tuple[str, str]]:
    """Split JS into ("code", text) and ("string", decoded literal) pieces; comments are dropped."""
    i, start, n = 0, 0, len(code)
    while i < n:
        if code.startswith("//", i) or code.startswith("/*", i):
            yield "code", code[start:i]
            end = code.find("\n" if code[i + 1] == "/" else "*/", i + 2)
            i = start = n if end < 0 else end + (1 if code[i + 1] == "/" else 2)
        elif code[i] in "\"'`":
            yield "code", code[start:i]
            body = _JS_STRING_BODY[code[i]].match(code, i + 1)
            j = body.end() if body else n
            yield "string", _decode_js_string(code[i + 1 : j])
            i = start = j + 1
        else:
            special = _JS_SPECIAL.search(code, i)
            i = special.start() if special else n
    yield "code", code[start:]


class _FetchScanner(HTMLParser):
    """Collect the URLs in an HTML document that a browser fetches without a click."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []
        self._raw_tag: str | None = None
        self._raw_text: list[str] = []

    def _nested_html(self, text: str) -> None:
        inner = _FetchScanner()
        inner.feed(text)
        inner.close()
        self.urls.extend(inner.urls)

    def _css(self, text: str) -> None:
        for match in _CSS_URL.finditer(text):
            self.urls.append((match.group(2) or match.group(4) or "").strip())

    def _js(self, code: str) -> None:
        if not _JS_MAY_FETCH.search(code):  # e.g. a JSON data block: no piece of it could hold a URL
            return
        for kind, text in _js_pieces(code):
            if kind == "string" and _LOOKS_LIKE_HTML.search(text):
                self._nested_html(text)  # popup/tooltip/attribution markup: judge it as HTML
            elif kind == "string" and text.strip().startswith("//"):
                self.urls.append(text.strip())
            elif _URL_HINT.search(text):  # most pieces (data, punctuation) hold neither pattern
                self._css(text)
                self.urls.extend(_HTTP_IN_TEXT.findall(text))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        for name in _FETCHING_ATTRS.get(tag, ()):
            value = values.get(name, "")
            if name == "srcset":
                self.urls.extend(part.split()[0] for part in value.split(",") if part.strip())
            elif value:
                self.urls.append(value)
        if "style" in values:
            self._css(values["style"])
        if tag in ("iframe", "frame") and "srcdoc" in values:
            self._nested_html(values["srcdoc"])
        src = values.get("src", "")
        if tag in ("iframe", "frame") and src.lower().startswith("data:text/html"):
            meta, _, payload = src.partition(",")
            self._nested_html(
                base64.b64decode(payload).decode("utf-8", "replace")
                if meta.endswith(";base64")
                else unquote(payload)
            )
        if tag in ("script", "style"):
            self._raw_tag, self._raw_text = tag, []

    def handle_endtag(self, tag: str) -> None:
        if tag == self._raw_tag:
            text = "".join(self._raw_text)
            self._js(text) if tag == "script" else self._css(text)
            self._raw_tag = None

    def handle_data(self, data: str) -> None:
        if self._raw_tag:
            self._raw_text.append(data)

    def close(self) -> None:
        super().close()
        if self._raw_tag:  # unterminated <script>/<style>
            self.handle_endtag(self._raw_tag)


def find_external_urls(html: str, allowed: Iterable[str] = ()) -> list[str]:
    """List, once each in document order, the off-host URLs the browser would fetch for this page.

    Looks at script/link/img/iframe/... sources, CSS url()/@import in <style> and style="", and string
    literals in inline scripts (tile templates, data URLs, markup in popups). Navigation links
    (<a href>, such as tile attributions) and XML namespace URIs are not fetches and are not listed.
    URLs starting with one of ``allowed`` (a configured tile server) are accepted.
    """
    scanner = _FetchScanner()
    scanner.feed(html)
    scanner.close()
    allowed = tuple(allowed)
    found: dict[str, None] = {}
    for url in scanner.urls:
        url = url.strip()
        if is_external(url) and not url.startswith(allowed):
            found.setdefault(url, None)
    return list(found)


def render_html(m: folium.Map, static_prefix: str = DEFAULT_STATIC_PREFIX, allowed: Iterable[str] = ()) -> str:
    """Render the map's page on vendored assets; raise ExternalAssetError if it still loads from outside."""
    make_offline(m, static_prefix)
    page = m.get_root().render()
    allowed = (*allowed, static_prefix) if is_external(static_prefix) else tuple(allowed)
    external = find_external_urls(page, allowed)
    if external:
        raise ExternalAssetError(external)
    return page
