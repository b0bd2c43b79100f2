"""`citygrid map … -o FILE` writes a page that works when moved or mailed: opened from another folder in
Chromium, it makes no request at all besides the file itself."""

from __future__ import annotations

import shutil

import pytest
from typer.testing import CliRunner

from api.cli import app as cli_app
from tests.browser.harness import ARTIFACTS, WEIBIN

pytestmark = [pytest.mark.browser, pytest.mark.db]


def test_a_written_map_opens_from_another_folder_with_no_request(browser, settings, demo_db, tmp_path):
    written = tmp_path / "written" / "热点.html"
    env = {"CITYGRID_DATABASE_URL": settings.database_url, "COLUMNS": "200"}
    args = [
        "map",
        "hotspots",
        "-o",
        str(written),
        "--admin-code",
        WEIBIN,
        "--start",
        "2019-01-01",
        "--end",
        "2020-01-01",
    ]
    result = CliRunner().invoke(cli_app, args, env=env)
    assert result.exit_code == 0, result.output
    mailed = tmp_path / "mailed" / "received.html"
    mailed.parent.mkdir()
    shutil.move(written, mailed)  # nothing else travels with it

    context = browser.new_context(viewport={"width": 1200, "height": 800})
    routed: list[str] = []

    def guard(route) -> None:  # anything off the file is refused (and listed)
        routed.append(route.request.url)
        route.abort()

    context.route("http*://**/*", guard)
    page = context.new_page()
    requests: list[str] = []  # every request the page makes, file:// ones included
    page.on("request", lambda r: r.url.startswith("data:") or requests.append(r.url))
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    try:
        page.goto(mailed.as_uri())
        page.wait_for_selector(".leaflet-overlay-pane path, .leaflet-overlay-pane canvas", timeout=60_000)
        assert page.locator(".leaflet-control-layers").count() == 1
        page.wait_for_timeout(500)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "map_file_hotspots.png"))
        assert requests == [mailed.as_uri()] and routed == [], (requests, routed)
        assert errors == []
    finally:
        context.close()
