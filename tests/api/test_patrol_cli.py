"""`citygrid roads import` and `citygrid patrols …` on committed data (the CLI opens its own connection)."""

from __future__ import annotations

import json

import geopandas as gpd
import gpxpy
import pytest
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from api.cli import app
from tests.fixtures import load_tiny_tree
from tests.patrol_data import NOW, WEST, add_compound, add_incident, add_officer

TABLES = [
    "patrol_routes",
    "roads",
    "incidents",
    "compounds",
    "users",
    "officers",
    "grid_versions",
    "grids",
    "audit_log",
]


@pytest.fixture
def cli(settings, owner_engine):
    with Session(owner_engine) as session:
        load_tiny_tree(session)
        officer = add_officer(session, "CLI001", WEST, "命令行警官")
        for k in range(6):
            add_incident(session, 107.103 + 0.001 * k, 34.365, days_ago=0.5)
        add_compound(session, 107.105, 34.355, households=400)
        session.commit()
    runner = CliRunner()
    env = {"CITYGRID_DATABASE_URL": settings.database_url, "COLUMNS": "200"}

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, list(args), env=env)
        assert result.exit_code == code, result.output
        return result.output

    try:
        yield run, officer
    finally:
        with owner_engine.begin() as conn:
            for table in TABLES:
                conn.execute(text(f"DELETE FROM {table}"))
            conn.execute(text("DELETE FROM admin_units WHERE parent_code IS NOT NULL"))
            conn.execute(text("DELETE FROM admin_units"))


def test_cli_roads_suggest_export_map(cli, owner_engine, tmp_path):
    run, officer = cli
    streets = tmp_path / "streets.gpkg"
    gpd.GeoDataFrame(
        {"name": ["一路", "二路"], "highway": ["primary", "residential"], "oneway": ["no", "yes"]},
        geometry=[
            shapely.LineString([(107.101, 34.364), (107.119, 34.364)]),
            shapely.LineString([(107.104, 34.351), (107.104, 34.369)]),
        ],
        crs=4326,
    ).to_file(streets, driver="GPKG")
    assert "2 road lines" in run("roads", "import", str(streets))
    with owner_engine.connect() as conn:
        assert conn.execute(text("SELECT name, highway, oneway FROM roads ORDER BY name")).all() == [
            ("一路", "primary", False),
            ("二路", "residential", True),
        ]
    out_json = tmp_path / "plan.geojson"
    out = run(
        "patrols",
        "suggest",
        "--officer-id",
        str(officer),
        "--minutes",
        "120",
        "--start",
        "107.102,34.364",
        "--as-of",
        NOW.isoformat(),
        "--save",
        "--out",
        str(out_json),
    )
    assert "saved as patrol route" in out and "greedy baseline" in out
    plan = json.loads(out_json.read_text())
    assert plan["properties"]["stops"] and plan["properties"]["solver"]["legs"] == "roads"
    with owner_engine.connect() as conn:
        rid = conn.execute(text("SELECT id FROM patrol_routes")).scalar_one()
    gpx_file = tmp_path / "route.gpx"
    run("patrols", "export", str(rid), "--format", "gpx", "--out", str(gpx_file))
    parsed = gpxpy.parse(gpx_file.read_text())
    assert len(parsed.waypoints) == len(plan["properties"]["stops"])
    assert json.loads(run("patrols", "export", str(rid), "--format", "geojson"))["id"] == rid
    cover = json.loads(run("patrols", "coverage", "--route-id", str(rid), "--as-of", NOW.isoformat()))
    assert cover["incidents"]["area_total"] == 6
    page = tmp_path / "maps" / "route.html"
    page.parent.mkdir()
    run("patrols", "map", str(rid), "--out", str(page))
    html = page.read_text(encoding="utf-8")  # self-contained: no asset linked, so none can be off the file
    assert "<script src=" not in html and "static/vendor" not in html and "L.map(" in html
    assert "patrol_route_not_found" in run("patrols", "export", "999999", code=1)
