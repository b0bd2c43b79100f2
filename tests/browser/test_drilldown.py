"""Drill-down as a user does it: city → county → town → community → grid by clicking, then back up through the
breadcrumbs. At every level the panels must show the API's figures for the area shown (never the area just
left), nothing may go wrong (harness: #status.error, a panel error, console.error, a response >= 400, a request
off 127.0.0.1), a grid's popup names who to call, and a popup closes when the area changes."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text

from tests.browser.harness import ARTIFACTS, WEIBIN, open_dashboard, wait_for_scope
from tests.conftest import ADMIN_TOKEN

pytestmark = [pytest.mark.browser, pytest.mark.db]


def api(server: str, path: str, **params) -> dict:
    r = httpx.get(server + path, params=params, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=120)
    assert r.status_code == 200, r.text
    return r.json()


def number(text_: str) -> int:
    return int(text_.replace(",", "").strip())


def click_point(page, lon: float, lat: float) -> None:
    x, y = page.evaluate(
        """([lon, lat]) => { const d = window.citygridDashboard;
            const p = d.map.latLngToContainerPoint([lat, lon]); const box = d.map.getContainer().getBoundingClientRect();
            return [p.x + box.left, p.y + box.top]; }""",
        [lon, lat],
    )
    page.mouse.click(x, y)


def interior(engine, table: str, code: str) -> tuple[float, float]:
    with engine.connect() as conn:
        row = conn.execute(
            text(
                f"SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM {table} WHERE code = :c) s"
            ),
            {"c": code},
        ).one()
    return float(row[0]), float(row[1])


def check_panels(page, server: str, code: str, level: str) -> None:
    """The panels against the API for the area and period the page shows."""
    state = page.evaluate("({...window.citygridDashboard.state})")
    window = {"admin_code": code, "start": state["start"], "end": state["end"]}
    assert page.inner_text("#p-scope .big") == api(server, "/api/v1/stats/counts", **window)["scope"]["name"]
    assert number(page.inner_text("#total-count")) == api(server, "/api/v1/stats/counts", **window)["total"]
    top = api(server, "/api/v1/stats/top-grids", n=10, **window)["grids"]
    shown = page.eval_on_selector_all("#p-top a[data-code]", "as => as.map(a => a.dataset.code)")
    assert shown == [g["grid_code"] for g in top]
    overview = api(server, "/api/v1/stats", **window)
    assert number(page.inner_text("#grid-total")) == overview["holdings"]["grids"]
    assert number(page.inner_text("#renovated-total")) == overview["holdings"]["renovated_compounds"]
    if level == "grid":
        assert "网格级不适用" in page.inner_text("#p-disputes")
        return
    logged = api(server, "/api/v1/stats/disputes", **window)["total"]["logged"]
    assert number(page.inner_text("#p-disputes tr:first-child td:nth-child(2)")) == logged


def test_drill_down_to_a_grid_and_back(browser, server, engine):
    context, page, guard, _ = open_dashboard(browser, server, 1600, 1000)
    try:
        check_panels(page, server, "610300", "city")
        assert number(page.inner_text("#grid-total")) == 1537  # the seed's headline figures on the dashboard
        assert number(page.inner_text("#renovated-total")) == 656
        chain = ["610300"]
        for level, table in (("county", "admin_units"), ("town", "admin_units"), ("community", "admin_units")):
            code = WEIBIN if level == "county" else page.evaluate(
                "() => { let c = null; window.citygridDashboard.childLayer.eachLayer(l => { c = c || l.feature.properties.code; }); return c; }"
            )  # fmt: skip
            click_point(page, *interior(engine, table, code))
            wait_for_scope(page, code)
            check_panels(page, server, code, level)
            chain.append(code)
        assert "民警" in page.inner_text("#p-contacts")  # the community's police officer
        grid = page.evaluate(
            "() => { let c = null; window.citygridDashboard.childLayer.eachLayer(l => { c = c || l.feature.properties.code; }); return c; }"
        )
        click_point(page, *interior(engine, "grids", grid))
        wait_for_scope(page, grid)
        check_panels(page, server, grid, "grid")
        contacts = api(server, f"/api/v1/dashboard/contacts/{grid}")
        assert contacts["grid_worker"]["name"] in page.inner_text("#p-contacts")

        # The grid's popup names its community, its grid worker and the community police.
        click_point(page, *interior(engine, "grids", grid))
        page.wait_for_function(
            "name => { const p = document.querySelector('.grid-popup'); return p && p.textContent.includes(name); }",
            arg=contacts["grid_worker"]["name"],
        )
        popup = page.inner_text(".grid-popup")
        assert contacts["community"]["name"] in popup and contacts["police"][0]["name"] in popup
        page.wait_for_timeout(500)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "dashboard_grid.png"))

        # Back up through the breadcrumbs: the popup goes with the grid, each level's panels are its own.
        for code, level in zip(chain[::-1], ("community", "town", "county", "city"), strict=True):
            page.locator(f"#crumbs a[data-code='{code}']").click()
            wait_for_scope(page, code)
            # Closed by the area change; Leaflet keeps a closed popup's element for its 200 ms fade-out, and a
            # level whose panels answer sooner than that found it still there (CI, once), so allow the fade.
            page.wait_for_function("() => document.querySelectorAll('.leaflet-popup').length === 0", timeout=2000)
            check_panels(page, server, code, level)
        guard.assert_clean()
    finally:
        context.close()


def test_county_and_town_labels_show_where_they_fit(browser, server):
    context, page, guard, _ = open_dashboard(browser, server, 1600, 1000)
    try:
        visible = "() => [...document.querySelectorAll('.area-label')].filter(e => e.style.display !== 'none').map(e => e.textContent)"
        labels = page.evaluate(visible)
        assert "渭滨区" in labels and len(labels) >= 10  # the city's counties fit at the city's zoom
        # Leaflet ignores a setZoom while a zoom animation (the area's fitBounds) is still running, which failed
        # this test about once in twenty runs: ask again until the map is at zoom 6.
        page.wait_for_function(
            "() => { const m = window.citygridDashboard.map; if (m.getZoom() !== 6) m.setZoom(6, {animate: false});"
            " return m.getZoom() === 6; }"
        )
        page.wait_for_timeout(300)
        assert len(page.evaluate(visible)) < len(labels)  # zoomed far out, most do not fit and are hidden
        guard.assert_clean()
    finally:
        context.close()
