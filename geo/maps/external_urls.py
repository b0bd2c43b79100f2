"""Finding what a browser would fetch from another host: the off-host URLs a rendered page would load.

geo.maps.offline renders maps with these checks; tests and bench/maps.py scan pages with them.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Iterator
from html.parser import HTMLParser
from urllib.parse import unquote, urlsplit

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
