"""The dashboard and the four maps in real headless Chromium, served by a real uvicorn, on the Baoji demo.

Every request the browser makes is recorded; any to a host other than 127.0.0.1 fails the test (and is not
sent). Screenshots go to tests/artifacts/: dashboard_1920.png, dashboard_laptop.png, map_<kind>.png.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import uvicorn
from sqlalchemy import text

from api.app import create_app
from tests.conftest import ADMIN_TOKEN

pytestmark = [pytest.mark.browser, pytest.mark.db]

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
KINDS = ("density", "choropleth", "hotspots", "change")
WEIBIN = "610302"  # 渭滨区


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(settings, demo_db) -> Iterator[str]:
    """uvicorn serving the app on 127.0.0.1:<free port> against the test database holding the demo."""
    port = _free_port()
    app = create_app(settings)
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not srv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)
    app.state.engine.dispose()


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
    """Records every request; those to another host are aborted and listed."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.outside: list[str] = []

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
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server + "/")
    # env=test: the token box starts empty; the user types the token and saves it.
    page.wait_for_selector("#status.error")
    assert page.input_value("#token") == ""
    page.fill("#token", ADMIN_TOKEN)
    page.click("#token-form button")
    wait_for_scope(page, "610300")
    return context, page, guard, errors


def wait_for_scope(page, code: str) -> None:
    page.wait_for_function(
        f"document.body.dataset.scope === '{code}' && document.body.dataset.loading === 'false'", timeout=180_000
    )


def drawn_grids(page) -> int:
    """Distinct grid codes VectorGrid has drawn (it keys each tile's features by getFeatureId: the code)."""
    page.wait_for_function("window.citygridDashboard && window.citygridDashboard.tiled === true")
    page.wait_for_function(
        "() => { const l = window.citygridDashboard.gridLayer;"
        " return Object.keys(l._vectorTiles).length > 0 && !l._loading; }",
        timeout=120_000,
    )
    page.wait_for_timeout(300)
    return page.evaluate(
        """() => { const codes = new Set();
            for (const tile of Object.values(window.citygridDashboard.gridLayer._vectorTiles))
                for (const id of Object.keys(tile._features)) codes.add(id);
            return codes.size; }"""
    )


def click_child(page, code: str) -> None:
    """A real mouse click inside the child unit's polygon (at a point Leaflet says is inside it)."""
    x, y = page.evaluate(
        """code => {
            const d = window.citygridDashboard; let hit = null;
            d.childLayer.eachLayer(l => { if (l.feature.properties.code === code) hit = l; });
            const p = d.map.latLngToContainerPoint(hit.getCenter());
            const box = d.map.getContainer().getBoundingClientRect();
            return [p.x + box.left, p.y + box.top];
        }""",
        code,
    )
    page.mouse.click(x, y)


def test_dashboard_draws_the_grids_and_drills_down(browser, server):
    context, page, guard, errors = open_dashboard(browser, server, 1920, 1080)
    try:
        assert drawn_grids(page) == 1537  # every demo grid drawn, from the MVT tiles
        assert page.locator(".leaflet-tile path").count() >= 1537
        assert page.locator("path[data-code]").count() == 12  # the 12 county-level divisions to click
        city_total = page.inner_text("#total-count")
        assert page.inner_text("#p-scope .big") == "宝鸡市"
        assert "632" in page.inner_text("#p-zero")  # 零发案 in the demo's second year
        page.wait_for_timeout(500)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "dashboard_1920.png"))

        click_child(page, WEIBIN)
        wait_for_scope(page, WEIBIN)
        assert page.inner_text("#p-scope .big") == "渭滨区"
        assert page.inner_text("#total-count") != city_total
        assert page.locator("#crumbs a").first.inner_text() == "宝鸡市"
        page.screenshot(path=str(ARTIFACTS / "dashboard_1920_weibin.png"))

        page.locator("#crumbs a").first.click()  # back up through the breadcrumb
        wait_for_scope(page, "610300")
        assert page.inner_text("#total-count") == city_total

        with page.expect_response(lambda r: "/tiles/incidents/" in r.url and r.status == 200):
            page.get_by_label("事件（矢量瓦片）").check()  # the incident tiles of the period, as an overlay

        page.click("#lang")
        wait_for_scope(page, "610300")
        assert "Command Centre" in page.inner_text("header h1")
        page.click("#lang")
        wait_for_scope(page, "610300")
        assert errors == []
        assert guard.outside == [], f"requests left 127.0.0.1: {guard.outside}"
        assert any("/api/v1/stats/compare" in u for u in guard.seen)
    finally:
        context.close()


def test_dashboard_fits_a_laptop_screen(browser, server):
    context, page, guard, errors = open_dashboard(browser, server, 1366, 768)
    try:
        assert drawn_grids(page) == 1537
        overflow = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
        assert overflow <= 0
        map_box, panel_box = page.locator("#map").bounding_box(), page.locator("#panels").bounding_box()
        assert map_box["width"] > 700 and panel_box["x"] >= map_box["x"] + map_box["width"] - 1
        page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / "dashboard_laptop.png"))
        assert errors == [] and guard.outside == []
    finally:
        context.close()


def test_each_map_tab_loads_with_no_outside_request(browser, server):
    context, page, guard, errors = open_dashboard(browser, server, 1600, 1000)
    try:
        for kind in KINDS:
            page.click(f"#tabs button[data-kind={kind}]")
            page.wait_for_function(
                "kind => { const f = document.getElementById('map-frame');"
                " return !f.hidden && f.dataset.loaded === kind && f.contentDocument.getElementById('cg-info')"
                " && f.contentDocument.querySelector('.leaflet-overlay-pane canvas'); }",
                arg=kind,
                timeout=180_000,
            )
            frame = page.frame_locator("#map-frame")
            assert frame.locator(".leaflet-control-layers").count() == 1
            assert frame.locator(".leaflet-control-scale").count() == 1
            if kind == "density":
                assert frame.locator("img.leaflet-image-layer").count() == 1
            page.wait_for_timeout(800)
            page.screenshot(path=str(ARTIFACTS / f"map_{kind}.png"))
        page.click("#tabs button[data-kind=live]")
        assert page.locator("#map-frame").is_hidden()
        assert errors == []
        assert guard.outside == [], f"requests left 127.0.0.1: {guard.outside}"
        assert any(u.endswith("/static/vendor/leaflet/leaflet.js") for u in guard.seen)
    finally:
        context.close()


def test_patrol_panel_opens_a_route_map(browser, server, engine):
    with engine.connect() as conn:
        community = conn.execute(text("SELECT community_code FROM patrol_routes ORDER BY id LIMIT 1")).scalar_one()
    context, page, guard, errors = open_dashboard(browser, server, 1920, 1080)
    try:
        assert "村/社区" in page.inner_text("#p-patrol")  # at city level: drill down first
        page.evaluate("code => window.citygridDashboard.load(code)", community)
        wait_for_scope(page, community)
        page.wait_for_function("document.querySelectorAll('#p-patrol a').length > 0", timeout=120_000)
        assert "km" in page.inner_text("#p-patrol")
        page.locator("#p-patrol a").first.click()
        page.wait_for_function(
            "() => { const f = document.getElementById('map-frame');"
            " return (f.dataset.loaded || '').startsWith('patrol-') && f.contentDocument.querySelector('.leaflet-container'); }",
            timeout=120_000,
        )
        page.wait_for_timeout(800)
        page.screenshot(path=str(ARTIFACTS / "dashboard_patrol.png"))
        assert errors == [] and guard.outside == [], guard.outside
    finally:
        context.close()
