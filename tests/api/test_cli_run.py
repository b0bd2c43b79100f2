"""`citygrid run` (what `make run` calls) chains its steps as plain function calls: each must get every argument.

Typer fills a parameter's default only on the command line; called from Python, an omitted typer.Option is an
OptionInfo object. `db up` gained `--replicas` and `run` broke with "OptionInfo + int" without a test noticing.
Here the chain runs for real against the test database; only the demo load (tested on its own) and serving are
replaced by recorders.
"""

from __future__ import annotations

from typer.testing import CliRunner

import api.cli
import api.cli_demo
from api.cli import app


def test_run_sets_up_the_database_then_serves(settings, monkeypatch):
    calls: list[tuple] = []
    monkeypatch.setattr(api.cli_demo, "load", lambda seed, force: calls.append(("demo", seed, force)))
    monkeypatch.setattr(api.cli, "serve", lambda host, port: calls.append(("serve", host, port)))
    env = {
        "CITYGRID_DATABASE_URL": settings.database_url,
        "CITYGRID_OWNER_DATABASE_URL": settings.owner_database_url,
    }
    result = CliRunner().invoke(app, ["run", "--port", "8765"], env=env)
    assert result.exit_code == 0, (result.output, result.exception)
    assert "PostGIS" in result.output and "migrated to head" in result.output
    assert calls == [("demo", None, False), ("serve", "127.0.0.1", 8765)]
