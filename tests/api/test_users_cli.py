"""`citygrid users …` on committed data (the CLI opens its own connection, as the app role)."""

from __future__ import annotations

import hashlib
import re

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from api.cli import app
from tests.fixtures import load_tiny_tree

TOKEN = re.compile(r"token \(shown once 仅显示一次\): (\S+)")


@pytest.fixture
def cli(settings, owner_engine):
    with Session(owner_engine) as session:
        load_tiny_tree(session)
        session.commit()
    runner = CliRunner()
    env = {"CITYGRID_DATABASE_URL": settings.database_url, "COLUMNS": "200"}

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, list(args), env=env)
        assert result.exit_code == code, result.output
        return result.output

    try:
        yield run
    finally:
        with owner_engine.begin() as conn:
            for table in ("users", "audit_log", "grid_versions", "grids"):
                conn.execute(text(f"DELETE FROM {table}"))
            conn.execute(text("DELETE FROM admin_units WHERE level IN ('community', 'town')"))
            conn.execute(text("DELETE FROM admin_units"))


def stored_hash(owner_engine, username: str) -> tuple[str, bool]:
    with owner_engine.connect() as conn:
        row = conn.execute(text("SELECT token_sha256, active FROM users WHERE username = :u"), {"u": username})
        return tuple(row.one())  # type: ignore[return-value]


def test_cli_user_lifecycle(cli, owner_engine):
    out = cli("users", "create", "gw1", "--roles", "grid_worker", "--area", "610302001001001")
    first = TOKEN.search(out).group(1)  # type: ignore[union-attr]
    assert stored_hash(owner_engine, "gw1") == (hashlib.sha256(first.encode()).hexdigest(), True)
    assert '"level": "grid"' in cli("users", "show", "gw1") and first not in cli("users", "show", "gw1")
    cli("users", "update", "gw1", "--roles", "grid_worker,viewer", "--area", "610302001001")
    assert '"code": "610302001001"' in cli("users", "show", "gw1")
    second = TOKEN.search(cli("users", "token", "gw1")).group(1)  # type: ignore[union-attr]
    assert second != first and stored_hash(owner_engine, "gw1")[0] == hashlib.sha256(second.encode()).hexdigest()
    cli("users", "deactivate", "gw1")
    assert stored_hash(owner_engine, "gw1")[1] is False
    assert "gw1" in cli("users", "list")
    cli("users", "create", "bad", "--roles", "viewer", "--area", "610399", code=1)
    with owner_engine.connect() as conn:
        actions = conn.execute(
            text("SELECT action FROM audit_log WHERE entity_type = 'user' AND entity_id = 'gw1' ORDER BY id")
        ).scalars()
        assert list(actions) == ["create", "update", "rotate_token", "deactivate"]
