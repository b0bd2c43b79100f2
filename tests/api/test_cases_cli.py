"""`citygrid cases …` on committed data: a case's life through the CLI (report, queue, show, step, sweep), as real
users of the tiny tree, and the CLI's refusals.

Expected states and holders follow the cycle as the issue defines it and the tiny tree's hand-made shape
(grid NW lies in community WEST of TOWN), not the code under test.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from api.cli import app
from geo.auth import create_user
from tests.case_helpers import GRID_NE, GRID_NW, TOWN, WEST, feature, remove_cases
from tests.committed_tree import commit_tree, remove_tree

USERS = {"cli-case-gw": ("grid_worker", GRID_NW), "cli-case-west": ("centre_operator", WEST)}


@pytest.fixture
def cli(settings, owner_engine):
    remove_cases(owner_engine)
    commit_tree(owner_engine)
    with Session(owner_engine) as session:
        for name, (role, area) in USERS.items():
            create_user(session, name, role, area_code=area)
        session.commit()
    runner = CliRunner()
    env = {"CITYGRID_DATABASE_URL": settings.database_url, "COLUMNS": "250"}

    def run(*args: str, code: int = 0, stdin: str | None = None) -> str:
        result = runner.invoke(app, list(args), env=env, input=stdin)
        assert result.exit_code == code, result.output
        return result.output

    try:
        yield run
    finally:
        remove_cases(owner_engine)
        with owner_engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_log WHERE entity_type = 'user' AND entity_id LIKE 'cli-case-%'"))
            conn.execute(text("DELETE FROM users WHERE username LIKE 'cli-case-%'"))
        remove_tree(owner_engine)


def cases_in_db(owner_engine) -> list:
    with owner_engine.connect() as conn:
        return conn.execute(text("SELECT id, state, unit_code FROM cases ORDER BY id")).all()


def steps_of(owner_engine, case_id: int) -> list[str]:
    with owner_engine.connect() as conn:
        return list(
            conn.execute(
                text("SELECT step FROM case_events WHERE case_id = :c ORDER BY id"), {"c": case_id}
            ).scalars()
        )


def listed(out: str) -> list[int]:
    return [int(line.split()[0]) for line in out.splitlines() if line.strip()]


def test_a_case_lives_through_the_cli(cli, owner_engine, tmp_path):
    path = tmp_path / "report.geojson"
    path.write_text(json.dumps(feature(GRID_NW), ensure_ascii=False), encoding="utf-8")
    out = cli("cases", "report", str(path), "--as", "cli-case-gw", "--key", "phone-1", "--note", "楼道堆物")
    # A grid worker's report goes to the grid's community centre, to be filed there.
    assert (
        f"reported → centre {WEST} (version 1)" in out and "next: -" in out
    )  # the centre files it, not the worker
    [(case_id, state, holder)] = cases_in_db(owner_engine)
    assert (state, holder) == ("reported", WEST) and f"案件 {case_id}:" in out
    with owner_engine.connect() as conn:  # audited by the report itself, under the user it acted as
        audited = conn.execute(
            text("SELECT entity_type, action FROM audit_log WHERE actor = 'cli-case-gw' ORDER BY id")
        ).all()
    assert audited == [("incident", "create"), ("case", "create")]
    # A retry with the same key (a phone on a poor network) returns the same case and writes nothing.
    again = cli("cases", "report", str(path), "--as", "cli-case-gw", "--key", "phone-1", "--note", "楼道堆物")
    assert f"案件 {case_id}:" in again and "already reported" in again
    assert len(cases_in_db(owner_engine)) == 1

    queue = ("cases", "list", "--as", "cli-case-west")
    assert listed(cli(*queue)) == [case_id]
    assert listed(cli(*queue, "--category", "dispute", "--unit", WEST, "--state", "reported")) == [case_id]
    assert listed(cli(*queue, "--category", "hazard")) == listed(cli(*queue, "--overdue")) == []
    shown = json.loads(cli("cases", "show", str(case_id), "--as", "cli-case-west"))
    assert shown["state"] == "reported" and "file" in shown["allowed_steps"]
    assert [e["note"] for e in shown["timeline"]] == ["楼道堆物"]

    assert "filed (version 2)" in cli(
        "cases", "step", str(case_id), "file", "--version", "1", "--as", "cli-case-west"
    )
    # A step on a stale version is refused, naming the version that stands; nothing is written.
    stale = cli("cases", "step", str(case_id), "file", "--version", "1", "--as", "cli-case-west", code=1)
    assert "is at version 2, not 1" in stale and steps_of(owner_engine, case_id) == ["report", "file"]

    # Far past every deadline and the grace: the sweep supervises the case, then escalates it to the town.
    as_of = (dt.datetime.now(dt.UTC) + dt.timedelta(days=60)).strftime("%Y-%m-%dT%H:%M:%S")
    cli("cases", "sweep", "--as-of", as_of)
    assert steps_of(owner_engine, case_id)[:4] == ["report", "file", "supervise", "escalate"]
    assert cases_in_db(owner_engine)[0][2] == TOWN
    before = steps_of(owner_engine, case_id)
    cli("cases", "sweep", "--as-of", as_of)  # replayed at the same time: nothing fires twice
    assert steps_of(owner_engine, case_id) == before


def test_the_cli_reports_on_the_spot_and_from_standard_input(cli, owner_engine):
    out = cli("cases", "report", "-", "--as", "cli-case-gw", "--on-the-spot", stdin=json.dumps(feature(GRID_NW)))
    assert "spot_resolved" in out
    [(_, state, _)] = cases_in_db(owner_engine)
    assert state == "spot_resolved"


def test_the_cli_refuses_what_the_api_refuses(cli, owner_engine, tmp_path):
    outside = tmp_path / "outside.geojson"
    outside.write_text(json.dumps(feature(GRID_NE)))
    # A point outside the worker's grid: refused, with both grids named.
    out = cli("cases", "report", str(outside), "--as", "cli-case-gw", code=1)
    assert GRID_NW in out and GRID_NE in out
    # A field given twice, differently, in the file and as a flag: refused rather than one dropped.
    doc = {**feature(GRID_NW), "case": {"priority": "key"}}
    both = tmp_path / "both.geojson"
    both.write_text(json.dumps(doc))
    assert "priority" in cli("cases", "report", str(both), "--as", "cli-case-gw", "--priority", "normal", code=2)
    assert "cannot read" in cli("cases", "report", str(tmp_path / "missing.geojson"), code=2)
    deep = tmp_path / "deep.geojson"
    deep.write_text("[" * 100_000 + "]" * 100_000)  # parsed as the API parses a body: a usage error, not a crash
    assert "too deeply" in cli("cases", "report", str(deep), code=2)
    assert "1000" in cli("cases", "list", "--limit", str(2**64), code=2)  # bounded as the API's queue
    assert "year 9999" in cli("cases", "sweep", "--as-of", "9999-12-31T23:59:59", code=1)
    key = "k" * 201  # the API's Idempotency-Key bound, now the report's own
    assert "at most 200" in cli("cases", "report", str(outside), "--as", "cli-case-gw", "--key", key, code=1)
    unknown = tmp_path / "unknown.geojson"
    unknown.write_text(json.dumps({**feature(GRID_NW), "case": {"urgency": "high"}}))
    assert "unknown case field urgency" in cli("cases", "report", str(unknown), "--as", "cli-case-gw", code=1)
    assert cases_in_db(owner_engine) == []


def test_a_step_through_the_cli_is_checked_as_the_api_checks_it(cli, owner_engine):
    cli("cases", "report", "-", "--as", "cli-case-gw", stdin=json.dumps(feature(GRID_NW)))
    [(case_id, _, _)] = cases_in_db(owner_engine)
    cli("cases", "step", str(case_id), "file", "--version", "1", "--as", "cli-case-west")
    dispatch = ("cases", "step", str(case_id), "dispatch", "--version", "2", "--as", "cli-case-west")
    to_grid = ("--to-kind", "grid", "--to-code", GRID_NW)
    # The API allows at most 60 working days (StepRequest); the CLI refuses the same body before any write.
    assert "days" in cli(*dispatch, *to_grid, "--days", "99", code=2)
    assert "lat" in cli(*dispatch, *to_grid, "--lon", "107.105", "--lat", "95", code=2)
    assert steps_of(owner_engine, case_id) == ["report", "file"]
    out = cli(*dispatch, *to_grid, "--lon", "107.105", "--lat", "34.365", "--note", "请核实")
    assert "dispatched (version 3)" in out
    with owner_engine.connect() as conn:
        event = conn.execute(
            text(
                "SELECT to_unit_kind, to_unit_code, note, ST_X(geom), ST_Y(geom) FROM case_events "
                "WHERE step = 'dispatch'"
            )
        ).one()
    assert tuple(event) == ("grid", GRID_NW, "请核实", 107.105, 34.365)
