"""A compact vector layer for folium pages: polyline-encoded geometry, columnar popups, one style per class.

A folium GeoJson layer of the 1,537 grids writes each coordinate as "[107.123456, 34.123456], " (25 bytes)
and each feature's property names again. Here rings are encoded with the (Google) polyline algorithm at
1e-6° (the same 6-decimal precision, ~7 bytes per coordinate as deltas), popup values are rows under one
list of labels, and each feature carries only the index of its style: the page is ~3× smaller and the
browser decodes it in a few milliseconds. Popup values are HTML-escaped here (they are set as innerHTML).
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import shapely
from branca.element import Element, Figure
from folium.map import Layer
from numpy.typing import NDArray

PRECISION = 1e6
_MAX_CHUNKS = 8  # 5 bits each: deltas up to 2^39 units, far beyond any coordinate

DECODER_JS = """<script>
var citygridCompact = (function () {
  function decode(s) {
    var pts = [], i = 0, lat = 0, lng = 0;
    while (i < s.length) {
      var v = [0, 0];
      for (var k = 0; k < 2; k++) {
        var b, shift = 0, r = 0;
        do {
          b = s.charCodeAt(i++);
          b = (b === 33 ? 92 : b) - 63; // '!' stands for '\\' (see encode_rings)
          r += (b & 31) * Math.pow(2, shift); shift += 5;
        } while (b >= 32);
        v[k] = (r % 2) ? -(r + 1) / 2 : r / 2;
      }
      lat += v[0]; lng += v[1];
      pts.push([lat / 1e6, lng / 1e6]);
    }
    return pts;
  }
  function popup(d, row) {
    var html = '<table>';
    for (var j = 0; j < d.labels.length; j++) {
      var v = row[j];
      html += '<tr><th>' + d.labels[j] + '</th><td>' + (v === null ? '' : v) + '</td></tr>';
    }
    return html + '</table>';
  }
  function layer(d) {
    var group = L.featureGroup();
    d.geoms.forEach(function (g, i) {
      var style = d.styles[d.style[i]];
      var shape = d.kind === 'line'
        ? L.polyline(g.map(decode), style)
        : L.polygon(g.map(function (poly) { return poly.map(decode); }), style);
      if (d.rows) { shape.bindPopup(popup(d, d.rows[i]), {maxWidth: 420}); }
      if (d.tips) { shape.bindTooltip(d.tips[i], {sticky: true}); }
      if (d.highlight) {
        shape.on('mouseover', function () { shape.setStyle(d.highlight); });
        shape.on('mouseout', function () { shape.setStyle(style); });
      }
      group.addLayer(shape);
    });
    return group;
  }
  return {decode: decode, layer: layer};
})();
</script>"""


def _encode_values(values: NDArray[np.int64]) -> tuple[bytes, NDArray[np.int64]]:
    """Polyline-encode integers: the bytes and the number of characters of each value."""
    z = (values << 1) ^ (values >> 63)  # zig-zag: the sign into the lowest bit
    shifts = 5 * np.arange(_MAX_CHUNKS)
    parts = (z[:, None] >> shifts) & 31
    nchunks = 1 + ((z[:, None] >> shifts[1:]) > 0).sum(axis=1)
    k = np.arange(_MAX_CHUNKS)[None, :]
    more = k < (nchunks[:, None] - 1)
    chars = (parts | np.where(more, 0x20, 0)) + 63
    return chars[k < nchunks[:, None]].astype(np.uint8).tobytes(), nchunks


def encode_rings(coords: NDArray[np.float64], ring_starts: NDArray[np.int64]) -> list[str]:
    """Polyline strings of consecutive rings/lines in coords (lon, lat), each starting at ring_starts."""
    if len(coords) == 0:
        return []
    q = np.round(coords[:, ::-1] * PRECISION).astype(np.int64)  # the algorithm's order is lat, lng
    delta = q.copy()
    delta[1:] -= q[:-1]
    delta[ring_starts] = q[ring_starts]  # each ring starts from zero
    text, nchunks = _encode_values(delta.ravel())
    per_coord = nchunks.reshape(-1, 2).sum(axis=1)
    offsets = np.concatenate([[0], np.cumsum(per_coord)])
    bounds = np.append(ring_starts, len(coords))
    # '\\' is a legal polyline character; '!' (never produced: the alphabet starts at '?') stands in for it,
    # so the page's data block has no backslash escapes and the offline check can pass it over quickly.
    decoded = text.decode("ascii").replace("\\", "!")
    return [decoded[offsets[a] : offsets[b]] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def encode_geometries(geoms: NDArray[np.object_]) -> list[list[Any]]:
    """Per geometry: polygons as [[ring, ...], ...] (a MultiPolygon's parts), lines as [line, ...]."""
    parts = shapely.get_parts(geoms, return_index=True)
    pieces, owner = parts
    rings_of: list[Any] = []
    ring_geoms: list[Any] = []
    for piece in pieces:
        if isinstance(piece, shapely.Polygon):
            rings = [piece.exterior, *piece.interiors]
            rings_of.append(len(rings))
            ring_geoms.extend(rings)
        else:
            rings_of.append(1)
            ring_geoms.append(piece)
    coords, ring_index = shapely.get_coordinates(np.asarray(ring_geoms, dtype=object), return_index=True)
    starts = np.searchsorted(ring_index, np.arange(len(ring_geoms)))
    strings = encode_rings(coords, starts)
    out: list[list[Any]] = [[] for _ in range(len(geoms))]
    pos = 0
    for piece, n, g in zip(pieces, rings_of, owner, strict=True):
        chunk = strings[pos : pos + n]
        out[g].append(chunk if isinstance(piece, shapely.Polygon) else chunk[0])
        pos += n
    return out


def cell(value: Any) -> Any:
    """A popup value: numbers as they are, text HTML-escaped, None blank."""
    if value is None or isinstance(value, int | float):
        return value
    return html.escape(str(value))


class RawElement(Element):
    """Text that goes into the page as it is.

    branca's MacroElement wraps every rendered script in a new Element, i.e. compiles it as a Jinja
    template: for a megabyte of embedded data that costs seconds, and data containing "{{" or "{#" (both
    possible in polyline text) break the page. Layers here render through this instead.
    """

    def __init__(self, text: str):
        super().__init__()
        self.text = text

    def render(self, **kwargs: Any) -> str:
        return self.text


def script_json(value: Any) -> str:
    """JSON safe inside a <script> element (no "</" that could close it)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")


class RawLayer(Layer):
    """A toggleable layer whose script is produced by create_js() and added to the page verbatim."""

    def create_js(self) -> str:
        raise NotImplementedError

    def render(self, **kwargs: Any) -> str:
        figure = self.get_root()
        assert isinstance(figure, Figure), "a layer renders inside a folium page"
        name, parent = self.get_name(), self._parent
        figure.script.add_child(RawElement(f"var {name} = {self.create_js()};"), name=name)
        if self.show and parent is not None:
            figure.script.add_child(RawElement(f"{name}.addTo({parent.get_name()});"), name=name + "_add")
        return ""


class ImageLayer(RawLayer):
    """An image (e.g. a data: URL PNG) stretched over [[south, west], [north, east]]."""

    def __init__(self, url: str, bounds: list[list[float]], name: str, opacity: float = 1.0, show: bool = True):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "ImageLayer"
        self.url, self.bounds, self.opacity = url, bounds, opacity

    def create_js(self) -> str:
        options = {"opacity": self.opacity, "interactive": False}
        return f"L.imageOverlay({script_json(self.url)}, {script_json(self.bounds)}, {script_json(options)})"


class CompactLayer(RawLayer):
    """A toggleable layer of polygons or lines with per-class styles, popups and optional tooltips."""

    def __init__(
        self,
        geoms: NDArray[np.object_] | list[list[Any]],
        name: str,
        style_index: Sequence[int],
        styles: Sequence[dict[str, Any]],
        labels: Sequence[str] | None = None,
        rows: Sequence[Sequence[Any]] | None = None,
        tips: Sequence[str] | None = None,
        highlight: dict[str, Any] | None = None,
        kind: str = "polygon",
        show: bool = True,
    ):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "CompactLayer"
        self.payload: dict[str, Any] = {
            "kind": kind,
            # Already-encoded geometry (a list of lists, e.g. cached with the grids) is taken as it is.
            "geoms": geoms if isinstance(geoms, list) else encode_geometries(np.asarray(geoms, dtype=object)),
            "style": [int(i) for i in style_index],
            "styles": list(styles),
        }
        if rows is not None and labels is not None:
            self.payload["labels"] = [html.escape(label) for label in labels]
            self.payload["rows"] = [[cell(v) for v in row] for row in rows]
        if tips is not None:
            self.payload["tips"] = [html.escape(t) for t in tips]
        if highlight:
            self.payload["highlight"] = highlight

    def render(self, **kwargs: Any) -> str:
        figure = self.get_root()
        if isinstance(figure, Figure):  # the decoder goes in once per page, before any layer uses it
            figure.header.add_child(RawElement(DECODER_JS), name="citygrid_compact_decoder")
            data = (
                f'<script type="application/json" id="{self.get_name()}_data">{script_json(self.payload)}</script>'
            )
            figure.html.add_child(RawElement(data), name=self.get_name() + "_data")
        return super().render(**kwargs)

    def create_js(self) -> str:
        # The data sit in their own JSON block (see render): the map script only parses them.
        return f'citygridCompact.layer(JSON.parse(document.getElementById("{self.get_name()}_data").textContent))'
