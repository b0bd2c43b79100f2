"""The workbench (工作台) in real headless Chromium on the Baoji demo: a case from report to close, buttons only.

A grid worker reports a case in their grid (a real click on the map), the community centre files and escalates
it, the town centre dispatches it back to the grid, the grid worker takes it up and reports back, and the town
verifies and closes it — each signing in with their own token on one page, at desktop width and at 390 px.
A second browser context shows the wall screen (#wall) as the city's admin: each step must appear on it within
2 s of the step's response, with no reload. No console error, no request off 127.0.0.1.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy.orm import Session

from tests.browser.harness import ARTIFACTS, Outside
from tests.conftest import ADMIN_TOKEN
from tests.live_server import demo_as_found, demo_grid_point

pytestmark = [pytest.mark.browser, pytest.mark.db]
WALL_WITHIN_S = 2.0


def _open(browser, server: str, width: int, height: int, path: str):
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    guard = Outside()
    context.route("**/*", guard.handle)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(server + path)
    page.wait_for_selector("#wb-status.error")  # env=test: no token yet
    return context, page, guard, errors


def sign_in(page, token: str) -> None:
    page.evaluate("document.body.dataset.ready = ''")
    page.fill("#wb-token", token)
    page.click("#wb-token-form button")
    page.wait_for_function("document.body.dataset.ready === 'true' && document.body.dataset.live === 'open'")


@pytest.fixture(scope="module")
def staff(engine, owner_engine, demo_db):
    """A grid worker, their community's operator and their town's operator, on a demo grid (tokens); the
    users and cases the module commits on the demo are removed after it."""
    from geo.auth import create_user

    with demo_as_found(owner_engine):
        with Session(engine) as session:
            grid, lon, lat = demo_grid_point(session, "610302")
            tokens = {
                "worker": create_user(session, "wb-worker", ["grid_worker"], area_code=grid),
                "community": create_user(session, "wb-community", ["centre_operator"], area_code=grid[:12]),
                "town": create_user(session, "wb-town", ["centre_operator"], area_code=grid[:9]),
            }
            session.commit()
        yield {"grid": grid, "point": (lon, lat), **tokens}


def click_place(page, lon: float, lat: float) -> None:
    """A real mouse click on the map at (lon, lat)."""
    x, y = page.evaluate(
        """([lon, lat]) => { const map = window.citygridWorkbench.map();
            const p = map.latLngToContainerPoint([lat, lon]);
            const box = map.getContainer().getBoundingClientRect(); return [p.x + box.left, p.y + box.top]; }""",
        [lon, lat],
    )
    page.mouse.click(x, y)


def take(page, wall, case_id: int, step: str, state: str, timings: list[float]) -> None:
    """Click the step's button (and its form's confirm, if it has one); the wall must show the new version."""
    page.click(f"#wb-queue li[data-case='{case_id}']")
    page.wait_for_selector(f"#wb-detail [data-case='{case_id}']")
    with page.expect_response(lambda r: r.url.endswith(f"/api/v1/cases/{case_id}/steps")) as answer:
        page.click(f"#wb-detail .steps button[data-step='{step}']")
        confirm = page.locator(f"#wb-detail form.step-form[data-step='{step}'] button")
        if step in ("dispatch",):
            confirm.click()
    assert answer.value.status == 200, answer.value.text()
    done = time.monotonic()
    version = answer.value.json()["version"]
    shown = f"#wb-ticker li[data-case='{case_id}'][data-version='{version}'][data-state='{state}']"
    wall.wait_for_selector(shown, timeout=10_000)
    timings.append(time.monotonic() - done)


@pytest.mark.parametrize("width,height", [(1440, 900), (390, 844)], ids=["desktop", "phone390"])
def test_a_case_from_report_to_close_through_the_buttons(browser, server, staff, width, height):
    wall_ctx, wall, wall_guard, wall_errors = _open(browser, server, 1920, 1080, "/workbench#wall")
    desk_ctx, desk, guard, errors = _open(browser, server, width, height, "/workbench")
    timings: list[float] = []
    try:
        sign_in(wall, ADMIN_TOKEN)
        sign_in(desk, staff["worker"])
        desk.click("#wb-report-open")
        desk.fill("#wb-report-text", "楼道堆放杂物 corridor blocked")
        desk.select_option("#wb-report-category", "hazard")
        click_place(desk, *staff["point"])
        with desk.expect_response(
            lambda r: r.url.endswith("/api/v1/cases") and r.request.method == "POST"
        ) as made:
            desk.click("#wb-report-send")
        assert made.value.status == 201, made.value.text()
        case_id = made.value.json()["id"]
        sent = time.monotonic()
        wall.wait_for_selector(f"#wb-ticker li[data-case='{case_id}'][data-state='reported']", timeout=10_000)
        timings.append(time.monotonic() - sent)

        sign_in(desk, staff["community"])
        take(desk, wall, case_id, "file", "filed", timings)
        take(desk, wall, case_id, "escalate", "filed", timings)
        sign_in(desk, staff["town"])
        take(desk, wall, case_id, "dispatch", "dispatched", timings)
        sign_in(desk, staff["worker"])
        take(desk, wall, case_id, "accept", "handling", timings)
        take(desk, wall, case_id, "report_back", "reported_back", timings)
        sign_in(desk, staff["town"])
        take(desk, wall, case_id, "verify_close", "closed", timings)

        assert max(timings) < WALL_WITHIN_S, timings
        assert len(timings) == 7
        assert wall.evaluate("performance.getEntriesByType('navigation').length") == 1  # never reloaded
        overflow = desk.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{overflow} px wider than the {width} px screen"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        desk.screenshot(path=str(ARTIFACTS / f"workbench_{width}.png"))
        wall.screenshot(path=str(ARTIFACTS / "workbench_wall.png"))
        assert errors == [] and wall_errors == [], errors + wall_errors
        assert guard.outside == [] and wall_guard.outside == []
    finally:
        desk_ctx.close()
        wall_ctx.close()
