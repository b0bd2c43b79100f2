"""/maps/… pages, /api/v1/dashboard/scope, /api/v1/meta and / over HTTP; `citygrid map …` on committed data."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from api.cli import app as cli_app
from geo.auth import create_user
from geo.maps.external_urls import find_external_urls
from tests.committed_tree import commit_tree, remove_tree
from tests.stats_fixtures import E1, E2, load_stats_data

YEAR = {"admin_code": "610302001", "start": "2020-01-01", "end": "2021-01-01"}
KINDS = ("density", "choropleth", "hotspots", "change")


@pytest.fixture
def viewer(db):
    load_stats_data(db)
    token = create_user(db, "map-viewer", "viewer")
    db.commit()  # to the test's savepoint: a failed request rolls back only itself
    return {"Authorization": f"Bearer {token}"}


def test_map_pages_need_a_token(client):
    for kind in KINDS:
        assert client.get(f"/maps/{kind}", params=YEAR).status_code == 401
    assert client.get("/api/v1/dashboard/scope", params=YEAR).status_code == 401
    # The token is not taken from the query string: pages are fetched with a header and shown via srcdoc.
    assert client.get("/maps/hotspots", params={**YEAR, "token": "test-admin-token"}).status_code == 401


@pytest.mark.parametrize("kind", KINDS)
def test_each_map_page_is_html_that_loads_only_from_here(client, viewer, kind):
    r = client.get(f"/maps/{kind}", params={**YEAR, "category": "property,dispute"}, headers=viewer)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["cache-control"] == "no-store"
    assert find_external_urls(r.text) == []
    assert "侵财类案件、矛盾纠纷" in r.text and "Property crime, Dispute" in r.text


def test_map_pages_are_gzipped_when_asked(client, viewer):
    r = client.get("/maps/choropleth", params=YEAR, headers={**viewer, "Accept-Encoding": "gzip"})
    assert r.status_code == 200 and r.headers.get("content-encoding") == "gzip"


def test_bad_map_filters_get_4xx_naming_the_field(client, viewer):
    cases = [
        ({"category": "arson"}, 400, "categories"),
        ({"start": "2021-01-01", "end": "2020-01-01"}, 400, "end"),
        ({"admin_code": "61030"}, 422, "admin_code"),
        ({"admin_code": "6103020010"}, 400, "admin_code"),
        ({"admin_code": "610399"}, 404, "admin_code"),
        ({"start": "1066-10-14"}, 400, "start"),
    ]
    for params, status, field in cases:
        r = client.get("/maps/hotspots", params={**YEAR, **params}, headers=viewer)
        assert r.status_code == status, (params, r.text)
        assert field in r.text
    r = client.get("/maps/density", params={**YEAR, "bandwidth_m": 1}, headers=viewer)
    assert r.status_code == 422
    r = client.get("/maps/choropleth", params={**YEAR, "measure": "ratio"}, headers=viewer)
    assert r.status_code == 422


def test_dashboard_scope_gives_children_and_grids_with_counts(client, viewer):
    r = client.get("/api/v1/dashboard/scope", params={**YEAR, "admin_code": "610302001002"}, headers=viewer)
    assert r.status_code == 200
    body = r.json()
    assert body["scope"]["code"] == "610302001002" and body["child_level"] == "grid"
    counts = {f["properties"]["code"]: f["properties"]["count"] for f in body["grids"]["features"]}
    assert counts == {E1: 21, E2: 2}
    assert body["window"] == {"start": "2020-01-01", "end": "2021-01-01"}
    assert body["grids"]["features"][0]["geometry"]["type"] == "MultiPolygon"


def test_meta_is_public_and_holds_no_secret(client, settings):
    r = client.get("/api/v1/meta")
    assert r.status_code == 200
    body = r.json()
    assert body["env"] == "test" and body["tile_url"] is None
    assert settings.bootstrap_admin_token not in r.text
    assert [m["kind"] for m in body["maps"]] == list(KINDS)


def test_dashboard_page_is_served_at_root(client):
    r = client.get("/")
    assert r.status_code == 200 and "指挥中心" in r.text
    assert find_external_urls(r.text) == []
    for asset in (
        "/static/dashboard/app.js",
        "/static/dashboard/dashboard.css",
        "/static/vendor/leaflet/leaflet.js",
    ):
        assert client.get(asset).status_code == 200


@pytest.fixture
def committed(settings, engine, owner_engine):
    commit_tree(owner_engine)
    yield settings
    remove_tree(owner_engine)


def test_cli_writes_each_map(committed, tmp_path):
    runner = CliRunner()
    env = {"CITYGRID_DATABASE_URL": committed.database_url, "COLUMNS": "200"}
    for kind in KINDS:
        out = tmp_path / f"{kind}.html"
        result = runner.invoke(cli_app, ["map", kind, "-o", str(out), "--admin-code", "610302001"], env=env)
        assert result.exit_code == 0, result.output
        page = out.read_text(encoding="utf-8")  # self-contained by default: nothing linked at all
        assert "<script src=" not in page and "static/vendor" not in page and "L.map(" in page
    out = tmp_path / "folder" / "hotspots.html"
    result = runner.invoke(cli_app, ["map", "hotspots", "-o", str(out), "--assets", "folder"], env=env)
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert find_external_urls(page) == [] and 'src="hotspots_files/leaflet/leaflet.js"' in page
    assert (out.parent / "hotspots_files" / "leaflet" / "leaflet.js").is_file()
    result = runner.invoke(
        cli_app, ["map", "hotspots", "-o", str(tmp_path / "x.html"), "--admin-code", "610399"], env=env
    )
    assert result.exit_code == 1 and "610399" in result.output
