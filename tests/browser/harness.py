"""The browser harness: a real uvicorn on the test database with the demo, Debian's Chromium via Playwright, and a
watch on each page that records what a user would see go wrong.

Every request the browser makes is recorded; any to a host other than 127.0.0.1 fails the test (and is not
sent). The watch also records page errors, console.error messages and every response with status >= 400.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import ADMIN_TOKEN
from tests.live_server import serving

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
KINDS = ("density", "choropleth", "hotspots", "change")
WEIBIN = "610302"  # 渭滨区


@pytest.fixture(scope="module")
def server(settings, demo_db) -> Iterator[str]:
    """uvicorn serving the app on 127.0.0.1:<free port> against the test database holding the demo."""
    with serving(settings) as (base, _app):
        yield base


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.skip("Debian chromium is not installed (make test-deps)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Outside:
    """Records every request (those to another host are aborted and listed), page errors, console errors and
    responses >= 400."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.outside: list[str] = []
        self.errors: list[str] = []

    def watch(self, page) -> None:
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        page.on("console", lambda m: m.type == "error" and self.errors.append(f"console.error: {m.text}"))
        page.on("response", lambda r: r.status >= 400 and self.errors.append(f"HTTP {r.status} {r.url}"))

    def assert_clean(self) -> None:
        assert self.outside == [], f"requests left 127.0.0.1: {self.outside}"
        assert self.errors == [], self.errors

    def handle(self, route) -> None:
        url = route.request.url
        self.seen.append(url)
        if urlsplit(url).hostname != "127.0.0.1":
            self.outside.append(url)
            route.abort()
        else:
            route.continue_()


def open_dashboard(browser, server: str, width: int, height: int):
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    guard = Outside()
    context.route("**/*", guard.handle)
    page = context.new_page()
    page.goto(server + "/")
    # env=test: the token box starts empty; the user types the token and saves it.
    page.wait_for_selector("#status.error")
    assert page.input_value("#token") == ""
    guard.watch(page)  # from here on nothing may go wrong
    page.fill("#token", ADMIN_TOKEN)
    page.click("#token-form button")
    wait_for_scope(page, "610300")
    return context, page, guard, guard.errors


def wait_for_scope(page, code: str) -> None:
    """Wait until the area is drawn with every panel answered, then fail on any error the user would see."""
    page.wait_for_function(
        "code => document.body.dataset.scope === code && ['ready', 'error'].includes(document.body.dataset.state)",
        arg=code,
        timeout=180_000,
    )
    shown = page.evaluate(
        """() => ({state: document.body.dataset.state,
                   status: document.getElementById('status').className === 'error'
                           ? document.getElementById('status').textContent : null,
                   panels: [...document.querySelectorAll('.panel .error')].map(e => e.closest('.panel').id + ': '
                           + e.textContent)})"""
    )
    assert shown == {"state": "ready", "status": None, "panels": []}, shown
