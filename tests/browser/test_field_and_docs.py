"""The dashboard on a phone (390 px) for police in the field, its print layout, and /docs and /redoc offline."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.browser.harness import ARTIFACTS, Outside, open_dashboard, wait_for_scope

pytestmark = [pytest.mark.browser, pytest.mark.db]


def test_phone_layout_and_a_suggested_patrol_saved(browser, server, engine, owner_engine):
    with engine.connect() as conn:
        community = conn.execute(
            text("SELECT community_code FROM officers WHERE community_code IS NOT NULL ORDER BY id LIMIT 1")
        ).scalar_one()
        routes_before = conn.execute(
            text("SELECT count(*) FROM patrol_routes WHERE community_code = :c"), {"c": community}
        ).scalar_one()
    context, page, guard, _ = open_dashboard(browser, server, 390, 844)
    try:
        assert (
            page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth") <= 0
        )  # no sideways scroll
        map_box, panels_box = page.locator("#map").bounding_box(), page.locator("#panels").bounding_box()
        assert map_box["width"] >= 370 and panels_box["y"] >= map_box["y"] + map_box["height"] - 1  # map first
        page.evaluate("code => window.citygridDashboard.load(code)", community)
        wait_for_scope(page, community)
        assert page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth") <= 0
        page.click("#suggest-patrol")
        page.wait_for_selector("#save-patrol", timeout=120_000)
        assert page.evaluate("window.citygridDashboard.map.hasLayer(window.citygridDashboard.suggestion)")
        assert page.locator("#suggestion li").count() >= 1
        page.wait_for_timeout(300)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "dashboard_phone.png"), full_page=True)
        page.click("#save-patrol")
        page.wait_for_function("document.body.dataset.saved === 'patrol'", timeout=60_000)
        wait_for_scope(page, community)
        with engine.connect() as conn:
            saved = conn.execute(
                text("SELECT count(*) FROM patrol_routes WHERE community_code = :c"), {"c": community}
            ).scalar_one()
        assert saved == routes_before + 1
        guard.assert_clean()
    finally:
        context.close()
        with owner_engine.begin() as conn:  # the demo stays as loaded for the other browser tests
            conn.execute(
                text(
                    "DELETE FROM patrol_routes WHERE community_code = :c AND id > "
                    "(SELECT max(id) FROM patrol_routes WHERE synthetic)"
                ),
                {"c": community},
            )


def test_print_keeps_the_whole_map_and_legend_and_hides_the_token(browser, server):
    context, page, guard, _ = open_dashboard(browser, server, 1600, 1000)
    try:
        page.emulate_media(media="print")
        page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
        page.wait_for_timeout(500)
        assert page.locator("#token").is_hidden() and page.locator("#tabs").is_hidden()
        assert page.locator(".legend").is_visible()
        inside = page.evaluate(
            """() => { const d = window.citygridDashboard; const b = d.childLayer.getBounds();
                return d.map.getBounds().pad(0.01).contains(b); }"""
        )
        assert inside  # the whole area is on the printed map, not cropped
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.pdf(path=str(ARTIFACTS / "dashboard_print.pdf"), landscape=True, print_background=True)
        guard.assert_clean()
    finally:
        context.close()


@pytest.mark.parametrize(("path", "ready"), [("/docs", ".swagger-ui .info .title"), ("/redoc", "h1")])
def test_api_docs_load_with_no_outside_request(browser, server, path, ready):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    guard = Outside()
    context.route("**/*", guard.handle)
    page = context.new_page()
    guard.watch(page)
    try:
        page.goto(server + path)
        page.wait_for_selector(ready, timeout=120_000)
        assert "citygrid" in page.inner_text(ready)
        assert any("/openapi.json" in u for u in guard.seen)
        page.screenshot(path=str(ARTIFACTS / f"docs{path.replace('/', '_')}.png"))
        guard.assert_clean()
    finally:
        context.close()
