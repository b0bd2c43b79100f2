"""`citygrid grids …` does each edit through the same geo functions, on committed data."""

from __future__ import annotations

import json

import pyogrio
import pytest
import shapely
from sqlalchemy import text
from typer.testing import CliRunner

from api.cli import app
from tests.committed_tree import commit_tree, remove_tree

W1, W2, E1, E2 = "610302001001001", "610302001001002", "610302001002001", "610302001002002"
MOVE = "LINESTRING(107.099 34.362, 107.111 34.362)"


@pytest.fixture
def cli(settings, engine, owner_engine):
    commit_tree(owner_engine)
    runner = CliRunner()
    env = {"CITYGRID_DATABASE_URL": settings.database_url, "COLUMNS": "200"}

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, ["grids", *args], env=env)
        assert result.exit_code == code, result.output
        return result.output

    yield run
    remove_tree(owner_engine)


def version(engine, code: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT version FROM grids WHERE code = :c"), {"c": code}).scalar_one()


def test_cli_edits(cli, engine, tmp_path):
    out = cli("move-boundary", W1, W2, "--line", MOVE, "--expect", f"{W1}=1", "--expect", f"{W2}=1", "--dry-run")
    assert "dry run" in out and version(engine, W1) == 1
    out = cli("move-boundary", W1, W2, "--line", MOVE, "--expect", f"{W1}=1", "--expect", f"{W2}=1", "-r", "调整")
    assert "1 → 2" in out and version(engine, W1) == 2 and version(engine, W2) == 2
    out = cli("move-boundary", W1, W2, "--line", MOVE, "--expect", f"{W1}=1", "--expect", f"{W2}=1", code=1)
    assert "version_conflict" in out
    out = cli("history", W1)
    assert "调整" in out and "cli:" in out
    out = cli("revert", W1, "1", "--expect", "2", code=1)
    assert "overlap" in out and W2 in out
    line = tmp_path / "cut.geojson"
    line.write_text(json.dumps({"type": "LineString", "coordinates": [[107.104, 34.349], [107.104, 34.363]]}))
    cli("split", W2, "--line", str(line), "--expect", "2")
    assert version(engine, "610302001001003") == 1
    cli("merge", W2, "610302001001003", "--expect", f"{W2}=3", "--expect", "610302001001003=1")
    assert "gap" in cli("retire", E2, code=1)
    cli("retire", E2, "--absorbed-by", E1, "--json")
    with engine.connect() as conn:
        actors = conn.execute(
            text("SELECT DISTINCT actor FROM audit_log WHERE entity_id = :c"), {"c": E2}
        ).scalars()
        assert [a.startswith("cli:") for a in actors] == [True]


def test_cli_export_import_and_crosswalk(cli, tmp_path):
    shp = tmp_path / "west.zip"
    cli("export", str(shp), "--admin-code", "610302001001")
    assert sorted(pyogrio.read_dataframe(shp)["code"]) == [W1, W2]
    assert "2 unchanged" in cli("import", str(shp))
    layer = tmp_path / "dept.geojson"
    layer.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"code": "MZ-1"},
                        "geometry": shapely.geometry.mapping(shapely.box(107.10, 34.35, 107.12, 34.36)),
                    },
                ],
            }
        )
    )
    out_csv = tmp_path / "cw.csv"
    out = cli("crosswalk", "civil_affairs", "--layer", str(layer), "--csv", str(out_csv))
    assert "2 of" in out
    rows = out_csv.read_text(encoding="utf-8-sig").splitlines()
    assert rows[0].startswith("grid_code,") and sum("MZ-1" in r for r in rows) == 2
