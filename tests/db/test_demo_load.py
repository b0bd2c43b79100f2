"""Loading the demo: idempotent by fingerprint, refuses to wipe other data, and `demo check` can fail."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from geo.demo import load, targets

pytestmark = pytest.mark.db


def test_second_load_with_the_same_fingerprint_does_nothing(demo_db, settings):
    assert demo_db.counts["grids"] == 1537 and demo_db.counts["incidents"] > 150_000
    start = time.perf_counter()
    again = load.load_demo(settings)
    assert not again.loaded and again.fingerprint == demo_db.fingerprint
    assert time.perf_counter() - start < 5


def test_fingerprint_depends_on_seed_and_versions():
    a, parts = load.fingerprint(1)
    assert a == load.fingerprint(1)[0] != load.fingerprint(2)[0]
    assert {"seed", "generator", "numpy", "shapely", "divisions"} <= set(parts)


def test_database_without_the_demo_fingerprint_is_not_wiped(demo_db, owner_engine):
    with owner_engine.connect() as conn:  # the app role may not delete audit rows
        assert load.current_fingerprint(conn) == demo_db.fingerprint
        conn.execute(text("DELETE FROM audit_log WHERE action = :a"), {"a": load.ACTION})
        # Grids and admin units are there but no demo record: this is somebody's data.
        assert load.current_fingerprint(conn) is None
        assert load._has_data(conn)
        conn.rollback()


def test_check_misses_when_the_database_disagrees(demo_db, engine):
    with engine.connect() as conn:
        assert all(r.ok for r in targets.run_checks(conn))
        conn.execute(
            text(
                "UPDATE incidents SET resolved_at = NULL, status = 'mediated' WHERE id = ("
                "SELECT min(id) FROM incidents WHERE category = 'dispute' AND county_code = '610330' "
                f"AND {targets.YEAR_2020} AND resolved_at IS NOT NULL)"
            )
        )
        missed = {r.check.key for r in targets.run_checks(conn) if not r.ok}
        assert missed == {"feng_disputes_resolved", "city_disputes_resolved"}
        conn.rollback()


def test_cli_check_prints_every_figure_and_exits_zero(demo_db, settings, monkeypatch):
    from api.cli_demo import demo_app

    monkeypatch.setenv("CITYGRID_DATABASE_URL", settings.database_url)
    result = CliRunner().invoke(demo_app, ["check"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert (
        "2920" in result.output
        and "-52.7" in result.output
        and f"all {len(targets.CHECKS)} figures match" in result.output
    )
