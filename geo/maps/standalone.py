"""Map pages as files that keep working when moved or mailed.

A served page links its assets under /static/vendor. Written to disk it is either
* ``inline`` (the default): one self-contained HTML file, every vendored script and stylesheet copied into
  the page and every file a stylesheet points at (fonts, marker images) made a data: URL; or
* ``folder``: the page plus a ``<name>_files/`` folder beside it holding the vendored packages it uses,
  linked by a relative path (move or zip the two together).
"""

from __future__ import annotations

import base64
import mimetypes
import os
import re
import shutil
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import quote

import folium

from geo.maps.offline import DEFAULT_STATIC_PREFIX, VENDOR_DIR, render_html

ASSET_MODES = ("inline", "folder")
_CSS_URL = re.compile(r"""url\(\s*(["']?)([^"')]+)\1\s*\)""")
# Folium/branca and our templates write exactly these two tag shapes for their links.
_SCRIPT = re.compile(r"""<script\s+src=(["'])(?P<url>[^"']+)\1\s*>\s*</script>""")
_LINK = re.compile(r"""<link\s+[^>]*?href=(["'])(?P<url>[^"']+)\1[^>]*?/?>""")

mimetypes.add_type("font/woff2", ".woff2")
mimetypes.add_type("font/woff", ".woff")
mimetypes.add_type("font/ttf", ".ttf")


def _vendored(url: str, prefix: str, vendor_dir: Path) -> Path | None:
    """The vendored file a link points at, or None when it is not one of ours."""
    head = prefix.rstrip("/") + "/"
    if not url.startswith(head):
        return None
    path = (vendor_dir / url[len(head) :].split("?")[0].split("#")[0]).resolve()
    return path if path.is_file() and path.is_relative_to(vendor_dir.resolve()) else None


def _data_url(path: Path) -> str:
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{kind};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def inline_css(css_file: Path) -> str:
    """The stylesheet with every relative url(...) it names replaced by a data: URL of that file."""

    def one(match: re.Match[str]) -> str:
        ref = match.group(2).strip()
        if ref.startswith(("data:", "#")) or "//" in ref:
            return match.group(0)
        target = (css_file.parent / ref.split("?")[0].split("#")[0]).resolve()
        return f'url("{_data_url(target)}")' if target.is_file() else match.group(0)

    return _CSS_URL.sub(one, css_file.read_text(encoding="utf-8"))


def inline_assets(html: str, prefix: str = DEFAULT_STATIC_PREFIX, vendor_dir: Path = VENDOR_DIR) -> str:
    """The page with each vendored <script src> and stylesheet <link> replaced by the file's own text."""

    def script(match: re.Match[str]) -> str:
        path = _vendored(match.group("url"), prefix, vendor_dir)
        if path is None:
            return match.group(0)
        code = path.read_text(encoding="utf-8").replace("</script", "<\\/script")
        return f"<script>\n{code}\n</script>"

    def link(match: re.Match[str]) -> str:
        path = _vendored(match.group("url"), prefix, vendor_dir)
        if path is None or "stylesheet" not in match.group(0):
            return match.group(0)
        return f"<style>\n{inline_css(path)}\n</style>"

    return _LINK.sub(link, _SCRIPT.sub(script, html))


def write_folder(html: str, out: Path, prefix: str = DEFAULT_STATIC_PREFIX, vendor_dir: Path = VENDOR_DIR) -> Path:
    """Write out and ``<stem>_files/`` beside it with every vendored package the page links (fonts included)."""
    assets = out.parent / f"{out.stem}_files"
    head = prefix.rstrip("/") + "/"
    packages = {
        match.group("url")[len(head) :].split("/")[0]
        for pattern in (_SCRIPT, _LINK)
        for match in pattern.finditer(html)
        if _vendored(match.group("url"), prefix, vendor_dir) is not None
    }
    for package in sorted(packages):
        shutil.copytree(vendor_dir / package, assets / package, dirs_exist_ok=True)
    relative = quote(os.path.relpath(assets, out.parent), safe="/")
    out.write_text(
        html.replace(f'"{head}', f'"{relative}/').replace(f"'{head}", f"'{relative}/"), encoding="utf-8"
    )
    return out


def write_page(html: str, path: str | os.PathLike[str], assets: str = "inline") -> Path:
    """Write a page rendered with /static/vendor links as a file that works anywhere (see the module doc)."""
    if assets not in ASSET_MODES:
        raise ValueError(f"assets must be one of {', '.join(ASSET_MODES)}, not {assets!r}")
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    if assets == "folder":
        return write_folder(html, out)
    out.write_text(inline_assets(html), encoding="utf-8")
    return out


def save_html(
    m: folium.Map, path: str | os.PathLike[str], allowed: Iterable[str] = (), assets: str = "inline"
) -> Path:
    """Write the folium map to ``path`` as a page that works when moved or mailed (see write_page)."""
    return write_page(render_html(m, DEFAULT_STATIC_PREFIX, allowed), path, assets)
