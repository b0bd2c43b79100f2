"""`citygrid incidents import` and `citygrid compounds assign`: the API's code path, on committed data."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from api.cli import app
from tests.committed_tree import commit_tree, remove_tree
from tests.fixtures import X0, X1, Y1

CSV = (
    "external_id,lon,lat,category,occurred_at\n"
    f"cli-1,{X0 + 0.002},{Y1 + 0.002},dispute,2024-05-01T08:00:00+08:00\n"
    f"cli-2,{X1},{Y1 + 0.005},hazard,2024-05-02 09:00\n"
)


@pytest.fixture
def cli(settings, engine, owner_engine):
    commit_tree(owner_engine)
    runner = CliRunner()
    env = {"CITYGRID_DATABASE_URL": settings.database_url, "COLUMNS": "200"}

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, list(args), env=env)
        assert result.exit_code == code, result.output
        return result.output

    yield run
    with owner_engine.begin() as conn:  # the app role may not delete audit rows
        conn.execute(text("DELETE FROM incidents WHERE external_id LIKE 'cli-%'"))
        conn.execute(
            text("DELETE FROM audit_log WHERE actor LIKE 'cli:%' AND entity_type IN ('incident', 'compound')")
        )
    remove_tree(owner_engine)


def stored(engine) -> list:
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT external_id, grid_code, category FROM incidents WHERE external_id LIKE 'cli-%' ORDER BY 1"
            )
        ).all()


def test_import_dry_run_then_import_then_reimport(cli, engine, tmp_path):
    path = tmp_path / "incidents.csv"
    path.write_text(CSV)
    out = cli("incidents", "import", str(path), "--dry-run")
    assert "would be inserted" in out
    assert stored(engine) == []
    out = cli("incidents", "import", str(path))
    assert "would be" not in out
    # The point on the shared edge X1 goes to the lower code, as over HTTP.
    assert stored(engine) == [("cli-1", "610302001001001", "dispute"), ("cli-2", "610302001001001", "hazard")]
    path.write_text(CSV.replace("hazard", "service"))
    cli("incidents", "import", str(path))
    assert [r[2] for r in stored(engine)] == ["dispute", "service"]
    with engine.connect() as conn:
        actions = conn.execute(text("SELECT count(*) FROM audit_log WHERE actor LIKE 'cli:%'")).scalar_one()
    assert actions == 2


def test_bad_rows_fail_with_reasons_and_write_nothing(cli, engine, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(CSV + "cli-3,107.1,34.36,theft,2024-05-01\ncli-4,34.36,107.11,dispute,2024-05-01\n")
    out = cli("incidents", "import", str(path), code=1)
    assert "#2 category" in out and "#3 lon/lat" in out and "swapped" in out
    assert stored(engine) == []
    out = cli("incidents", "import", str(path), "--partial")
    assert "rejected" in out and len(stored(engine)) == 2
    assert "compounds: 0 changed" in cli("compounds", "assign")
