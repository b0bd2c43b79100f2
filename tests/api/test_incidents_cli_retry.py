"""`citygrid incidents import` retries a deadlock like the API does (geo.pg.retry), on a real deadlock.

Another transaction (the test's) holds a new external id the import needs, the import waits on it holding the
one before it, and then the test's transaction asks for that one: PostgreSQL's deadlock detector aborts the
import, the first to wait (its deadlock_timeout runs out first). Before: the CLI died with the driver's
traceback. Now it says (Chinese first) that it collided and retries, and the retry stores every row; past the
attempts it says it gave up and that nothing was written.
"""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from api.cli import app
from geo.pg import retry
from tests.committed_tree import commit_tree, remove_tree
from tests.fixtures import X0, Y1

PREFIX = "cli-retry-"
CSV = (
    "external_id,lon,lat,category,occurred_at\n"
    f"{PREFIX}0,{X0 + 0.002},{Y1 + 0.002},dispute,2024-05-01T08:00:00+08:00\n"
    f"{PREFIX}1,{X0 + 0.004},{Y1 + 0.004},hazard,2024-05-02T09:00:00+08:00\n"
)
INSERT = text(
    "INSERT INTO incidents (external_id, category, occurred_at, geom) "
    "VALUES (:e, 'other', now(), ST_SetSRID(ST_MakePoint(107.105, 34.365), 4326))"
)


@pytest.fixture
def csv_file(owner_engine, tmp_path):
    commit_tree(owner_engine)
    path = tmp_path / "incidents.csv"
    path.write_text(CSV)
    yield path
    with owner_engine.begin() as conn:  # the app role may not delete audit rows
        conn.execute(text("DELETE FROM incidents WHERE external_id LIKE :p"), {"p": PREFIX + "%"})
        conn.execute(text("DELETE FROM audit_log WHERE actor LIKE 'cli:%' AND entity_type = 'incident'"))
    remove_tree(owner_engine)


def _deadlocked_import(settings, engine, owner_engine, path):
    """Run the CLI import into a deadlock with the test's transaction; the CLI's result once it ends."""
    env = {"CITYGRID_DATABASE_URL": settings.database_url, "COLUMNS": "200"}
    outcome: list = []
    with engine.connect() as other, owner_engine.connect() as watcher:
        other.execute(INSERT, {"e": f"{PREFIX}1"})  # uncommitted: the import's insert of it will wait
        other_pid = other.execute(text("SELECT pg_backend_pid()")).scalar_one()
        cli = threading.Thread(
            target=lambda: outcome.append(CliRunner().invoke(app, ["incidents", "import", str(path)], env=env))
        )
        cli.start()
        deadline = time.monotonic() + 20
        while not watcher.execute(
            text("SELECT count(*) FROM pg_stat_activity WHERE :o = ANY(pg_blocking_pids(pid))"), {"o": other_pid}
        ).scalar_one():
            assert time.monotonic() < deadline, "the import never waited on the test's row"
            watcher.rollback()
            time.sleep(0.02)
        # The import holds …-0 and waits for …-1; asking for …-0 now closes the cycle. The import, waiting
        # first, is the one aborted, so this insert goes through once its transaction is rolled back.
        other.execute(INSERT, {"e": f"{PREFIX}0"})
        other.rollback()  # frees both: the import's retry (if any) goes through
        cli.join(timeout=60)
    (result,) = outcome
    return result


def _stored(engine) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                text("SELECT external_id FROM incidents WHERE external_id LIKE :p ORDER BY 1"), {"p": PREFIX + "%"}
            ).scalars()
        )


def test_a_deadlocked_import_is_retried_and_stores_every_row(settings, engine, owner_engine, csv_file):
    result = _deadlocked_import(settings, engine, owner_engine, csv_file)
    assert result.exit_code == 0, (result.output, result.exception)  # before: DeadlockDetected, exit 1
    assert "与其他写入冲突" in result.output and "40P01" in result.output, result.output
    assert "retrying (attempt 2 of 3)" in result.output, result.output
    assert _stored(engine) == [f"{PREFIX}0", f"{PREFIX}1"]


def test_an_import_that_keeps_colliding_gives_up_with_a_clear_message(
    settings, engine, owner_engine, csv_file, monkeypatch
):
    monkeypatch.setattr(retry, "ATTEMPTS", 1)  # one attempt: the first deadlock is the last
    result = _deadlocked_import(settings, engine, owner_engine, csv_file)
    assert result.exit_code == 1, result.output
    assert "放弃" in result.output and "nothing was written" in result.output, result.output
    assert "Traceback" not in result.output
    assert _stored(engine) == []
