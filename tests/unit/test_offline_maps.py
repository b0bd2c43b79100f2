"""Folium pages must load every asset from our own static/vendor, never from a CDN or OSM."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from urllib.parse import unquote

import folium
import pandas as pd
import pytest
from folium import plugins

from geo.maps.external_urls import find_external_urls
from geo.maps.offline import (
    CDN_TO_VENDOR,
    VENDOR_DIR,
    ExternalAssetError,
    make_offline,
    offline_map,
    render_html,
)
from geo.maps.standalone import save_html

GRIDS = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "id": code,
            "properties": {"name": name},
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[x, y], [x + 0.1, y], [x + 0.1, y + 0.08], [x, y + 0.08], [x, y]]],
            },
        }
        for code, name, x, y in [
            ("610302001001", "渭滨区网格", 107.1, 34.3),
            ("610303001001", "金台区网格", 107.2, 34.35),
        ]
    ],
}
LINK_ATTR = re.compile(r"""<(?:script|link)\b[^>]*?\b(?:src|href)="([^"]+)\"""")


def full_map(**kwargs) -> folium.Map:
    """A map with every kind of layer the dashboard uses."""
    m = offline_map(location=[34.36, 107.24], zoom_start=11, control_scale=True, **kwargs)
    folium.GeoJson(GRIDS, name="网格", tooltip=folium.GeoJsonTooltip(["name"])).add_to(m)
    counts = pd.DataFrame({"code": ["610302001001", "610303001001"], "incidents": [3, 9]})
    folium.Choropleth(GRIDS, data=counts, columns=["code", "incidents"], key_on="feature.id").add_to(m)
    plugins.HeatMap([[34.33 + i * 0.003, 107.15 + i * 0.004, 1.0] for i in range(20)], name="热力").add_to(m)
    cluster = plugins.MarkerCluster(name="聚合").add_to(m)
    for i in range(3):
        folium.Marker([34.37 + i * 0.001, 107.25], icon=folium.Icon(icon="info-sign")).add_to(cluster)
    folium.Marker([34.39, 107.28], icon=folium.Icon(icon="shield", prefix="fa", color="red", angle=30)).add_to(m)
    plugins.Fullscreen().add_to(m)
    folium.LayerControl().add_to(m)
    return m


def linked_assets(html: str) -> list[str]:
    return LINK_ATTR.findall(html)


def test_full_map_loads_only_vendored_files_that_exist():
    html = render_html(full_map())

    assert find_external_urls(html) == []
    links = linked_assets(html)
    assert links and all(link.startswith("/static/vendor/") for link in links), links
    missing = [link for link in links if not (VENDOR_DIR / link.removeprefix("/static/vendor/")).is_file()]
    assert missing == []
    for needed in (
        "leaflet/leaflet.js",
        "d3/d3.min.js",
        "leaflet-heat/leaflet-heat.min.js",
        "leaflet.markercluster/leaflet.markercluster.js",
        "bootstrap3-glyphicons/glyphicons.css",
    ):
        assert f"/static/vendor/{needed}" in links
    assert "tileLayer" not in html  # no base layer unless one is configured


def test_plain_folium_map_is_caught_loading_from_outside():
    html = folium.Map(location=[34.36, 107.24]).get_root().render()

    external = find_external_urls(html)
    assert "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js" in external
    assert "https://tile.openstreetmap.org/{z}/{x}/{y}.png" in external
    assert not any("openstreetmap.org/copyright" in url for url in external)  # attribution: a link
    with pytest.raises(ExternalAssetError, match="tile.openstreetmap.org"):
        render_html(folium.Map())


def test_offline_does_not_leak_into_other_maps():
    render_html(full_map())
    assert folium.Map.default_js[0][1].startswith("https://")
    assert "cdn.jsdelivr.net" in folium.Map().get_root().render()


def test_configured_tile_server_is_allowed_only_when_named():
    template = "https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&TILEMATRIX={z}&tk=KEY"
    m = full_map(tiles=template, attr="天地图", tile_options={"subdomains": "01234567"})
    with pytest.raises(ExternalAssetError) as caught:
        render_html(m)
    assert caught.value.urls == [template]
    assert "tianditu" in render_html(m, allowed=[template])
    assert render_html(offline_map(tiles="/tiles/{z}/{x}/{y}.png", attr="本地瓦片"))


def test_map_without_tiles_keeps_a_zoom_range_for_markercluster():
    html = render_html(offline_map(max_zoom=17))
    assert '"maxZoom": 17' in html


def test_saved_file_with_a_folder_links_its_own_copy_of_the_assets(tmp_path: Path):
    m = full_map()
    render_html(m)  # served first, then written to disk: the prefix must follow
    out = save_html(m, tmp_path / "导出 maps" / "map.html", assets="folder")

    html = out.read_text(encoding="utf-8")
    assert find_external_urls(html) == []
    links = linked_assets(html)
    assert links and all(unquote(link).startswith("map_files/") for link in links), links
    assert all((out.parent / unquote(link)).resolve().is_file() for link in links), links
    fonts = list((out.parent / "map_files" / "fontawesome-free" / "webfonts").glob("*.woff2"))
    assert fonts  # what the stylesheets point at travels with them


def test_saved_file_is_self_contained_by_default(tmp_path: Path):
    out = save_html(full_map(), tmp_path / "map.html")
    html = out.read_text(encoding="utf-8")
    assert linked_assets(html) == [] and "static/vendor" not in html
    # What the URL scanner still sees are strings inside the libraries' own code (XML namespaces, comments):
    # the same as in the vendored files, none of the page's (the browser test opens it with no request).
    library = "".join(p.read_text(encoding="utf-8", errors="replace") for p in VENDOR_DIR.rglob("*.js"))
    assert all(url.rstrip(")") in library for url in find_external_urls(html))
    assert "L.map(" in html and "data:font/woff2;base64," in html


def test_every_cdn_mapping_points_at_a_vendored_file():
    assert [rel for rel in CDN_TO_VENDOR.values() if not (VENDOR_DIR / rel).is_file()] == []


def test_vendored_css_references_exist():
    missing = []
    for css in VENDOR_DIR.rglob("*.css"):
        for ref in re.findall(r"""url\(\s*["']?([^"')]+?)["']?\s*\)""", css.read_text(encoding="utf-8")):
            if ref.startswith(("data:", "#")):
                continue
            assert "//" not in ref, f"{css}: {ref}"
            if not (css.parent / ref.split("?")[0].split("#")[0]).is_file():
                missing.append(f"{css.relative_to(VENDOR_DIR)}: {ref}")
    assert missing == []


def test_every_vendored_package_keeps_its_licence():
    packages = [d for d in VENDOR_DIR.iterdir() if d.is_dir() and d.name != "citygrid"]
    assert len(packages) >= 10
    assert [d.name for d in packages if not list(d.glob("LICEN[CS]E*")) and not list(d.glob("MIT-LICEN*"))] == []


def test_no_source_maps_or_unused_font_formats_are_vendored():
    extra = [p.name for p in VENDOR_DIR.rglob("*") if p.suffix in {".map", ".eot", ".woff", ".otf"}]
    assert extra == []


IFRAME_PAGE = base64.b64encode(b'<script src="https://evil.example/x.js"></script>').decode()


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ('<script src="https://cdn.example/a.js"></script>', ["https://cdn.example/a.js"]),
        ('<link rel="stylesheet" href="//cdn.example/a.css">', ["//cdn.example/a.css"]),
        ('<img srcset="/a.png 1x, https://img.example/b.png 2x">', ["https://img.example/b.png"]),
        ("<div style=\"background: url('https://img.example/bg.png')\"></div>", ["https://img.example/bg.png"]),
        (
            '<style>@import "https://fonts.example/f.css"; .a{b:url(/ok.png)}</style>',
            ["https://fonts.example/f.css"],
        ),
        (
            '<script>L.tileLayer("https:\\/\\/{s}.tiles.example\\/{z}\\/{x}\\/{y}.png").addTo(m);</script>',
            ["https://{s}.tiles.example/{z}/{x}/{y}.png"],
        ),
        ('<script>var p = `<img src="http://img.example/p.jpg">`;</script>', ["http://img.example/p.jpg"]),
        (
            f'<iframe src="data:text/html;charset=utf-8;base64,{IFRAME_PAGE}"></iframe>',
            ["https://evil.example/x.js"],
        ),
        # Not fetched by the browser: links, namespaces, comments, loopback, data and relative URLs.
        ('<a href="https://www.example.gov/">link</a>', []),
        ('<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"></svg>', []),
        (
            '<script>L.tileLayer(t, {"attribution": "\\u003ca href=\\"https://osm.example/c\\"\\u003eOSM\\u003c/a\\u003e"});'
            "</script>",
            [],
        ),
        ("<script>// see https://docs.example/why, don't\nvar a = 1; /* http://x.example */</script>", []),
        (
            '<script src="http://127.0.0.1:8000/static/vendor/a.js"></script><img src="data:image/png;base64,AA">',
            [],
        ),
        ('<script src="/static/vendor/leaflet/leaflet.js"></script><p>visit https://text.example</p>', []),
    ],
)
def test_find_external_urls_lists_only_what_the_browser_fetches(html: str, expected: list[str]):
    assert find_external_urls(html) == expected


def test_find_external_urls_accepts_allowed_prefixes_and_lists_each_url_once():
    html = '<script src="https://a.example/x.js"></script>' * 2 + '<img src="https://tiles.example/1.png">'
    assert find_external_urls(html) == ["https://a.example/x.js", "https://tiles.example/1.png"]
    assert find_external_urls(html, allowed=["https://tiles.example/"]) == ["https://a.example/x.js"]


def test_make_offline_covers_elements_added_afterwards():
    m = folium.Map(tiles=None)
    make_offline(m)
    plugins.HeatMap([[34.3, 107.2]]).add_to(m)
    folium.LinearColormap(["white", "red"], vmin=0, vmax=5).add_to(m)  # branca: hard-coded d3 URL
    html = m.get_root().render()
    assert find_external_urls(html) == []
    assert "/static/vendor/d3/d3.min.js" in html
