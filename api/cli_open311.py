"""`citygrid open311 register|apps`: the Open311 client apps allowed to file public reports."""

from __future__ import annotations

import typer
from rich.console import Console

from api.cli_common import cli_actor, run_in_transaction

open311_app = typer.Typer(help="公众举报 Open311 apps: register one (its api_key is shown once), list them")
console = Console()


@open311_app.command("register")
def register(name: str, contact: str | None = typer.Option(None, help="联系人 who runs the app")) -> None:
    """Register an app and print its api_key once (only its SHA-256 is stored)."""
    from geo.open311 import register_app

    key = run_in_transaction(lambda session, _: register_app(session, name, cli_actor(), contact))
    console.print(f"app {name} api_key (shown once 只显示一次): {key}")


@open311_app.command("apps")
def apps() -> None:
    """The registered apps, without keys."""
    from geo.open311 import list_apps

    for app in run_in_transaction(lambda session, _: list_apps(session)):
        state = "active" if app["active"] else "inactive"
        console.print(
            f"{app['id']:>4}  {app['name']}  {app['contact'] or ''}  {state}  {app['created_at']:%Y-%m-%d}"
        )
