"""The dashboard and the four maps in real headless Chromium, served by a real uvicorn, on the Baoji demo.

The harness (harness.py) fails a test on any request leaving 127.0.0.1, page error, console.error or response
>= 400, and on an area that finishes loading with an error shown. Screenshots go to tests/artifacts/: dashboard_1920.png, dashboard_laptop.png, map_<kind>.png.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.browser.harness import ARTIFACTS, KINDS, WEIBIN, open_dashboard, wait_for_scope

pytestmark = [pytest.mark.browser, pytest.mark.db]


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
