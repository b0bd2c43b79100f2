"""What every `citygrid` subcommand shares: who the CLI acts as, and one transaction per command."""

from __future__ import annotations

import getpass
from collections.abc import Callable
from typing import Any

import typer
from rich.console import Console

from geo.errors import CitygridError
from geo.settings import Settings

console = Console()


def cli_actor() -> str:
    """The audit-log name of whoever runs the CLI."""
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no login name in some containers
        return "cli"


def cli_principal():
    """Whoever runs the CLI (with the owner's database rights): a city-level admin."""
    from geo.auth import Principal
    from geo.scope import CITY_CODE

    return Principal(cli_actor(), frozenset({"admin"}), CITY_CODE)


def run_in_transaction(work: Callable[[Any, Settings], Any]) -> Any:
    """Run work(session, settings) in one transaction as the app role; domain errors exit 1 with their problems."""
    from geo.pg import make_engine, make_sessionmaker, transaction

    settings = Settings()
    try:
        with transaction(make_sessionmaker(make_engine(settings))) as session:
            return work(session, settings)
    except CitygridError as exc:
        console.print(f"[red]{exc.code}[/red]: {exc.detail}")
        for p in exc.context.get("problems", []):
            where = ", ".join(
                f"{k}={p[k]}" for k in ("feature", "grid_code", "other_grid", "area_m2", "location") if k in p
            )
            console.print(f"  • [bold]{p.get('rule', '')}[/bold] {p.get('detail', '')}  ({where})")
        raise typer.Exit(1) from exc
