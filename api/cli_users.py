"""`citygrid users create|list|show|update|deactivate|token`: the API's user administration, as a city admin."""

from __future__ import annotations

import json
from typing import Any

import typer

from api.cli_common import cli_principal, console, run_in_transaction

users_app = typer.Typer(help="用户 Users: create, show, change roles or area, deactivate, issue a fresh token")


def _roles(raw: str | None) -> list[str] | None:
    return None if raw is None else [r.strip() for r in raw.split(",") if r.strip()]


def _show(user: dict[str, Any], token: str | None = None) -> None:
    console.print_json(json.dumps(user, ensure_ascii=False))
    if token:
        # Printed once; only its SHA-256 is stored.
        console.print(f"token (shown once 仅显示一次): {token}", soft_wrap=True)


@users_app.command("create")
def create(
    username: str,
    roles: str = typer.Option(..., help="comma-separated, e.g. centre_operator,viewer"),
    area: str = typer.Option(..., help="admin-unit or grid code: the user's jurisdiction"),
    department: str | None = typer.Option(None, help="one of the 11 departments (department_handler)"),
    officer_id: int | None = typer.Option(None, help="the officer a police user is"),
) -> None:
    """Create a user and print its token once."""
    from geo import users

    user, token = run_in_transaction(
        lambda s, _: users.create_user(s, cli_principal(), username, _roles(roles), area, department, officer_id)
    )
    _show(user, token)


@users_app.command("list")
def list_all(limit: int = 100, offset: int = 0) -> None:
    """Users by name."""
    from geo import users

    page = run_in_transaction(lambda s, _: users.list_users(s, cli_principal(), limit, offset))
    console.print(f"{page['numberMatched']} users")
    for u in page["users"]:
        state = "" if u["active"] else "  (inactive 已停用)"
        console.print(f"{u['username']}\t{','.join(u['roles'])}\t{u['area']['code']} {u['area']['name']}{state}")


@users_app.command("show")
def show(username: str) -> None:
    """One user (never its token)."""
    from geo import users

    _show(run_in_transaction(lambda s, _: users.show_user(s, cli_principal(), username)))


@users_app.command("update")
def update(
    username: str,
    roles: str | None = typer.Option(None, help="comma-separated: replaces the user's roles"),
    area: str | None = typer.Option(None, help="a new admin-unit or grid code"),
    department: str | None = typer.Option(None),
    officer_id: int | None = typer.Option(None),
    active: bool | None = typer.Option(None, "--active/--inactive"),
) -> None:
    """Change roles, area, department, officer or active."""
    from geo import users

    given = {"roles": _roles(roles), "area": area, "department": department, "officer_id": officer_id}
    changes: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    if active is not None:
        changes["active"] = active
    _show(run_in_transaction(lambda s, _: users.update_user(s, cli_principal(), username, changes)))


@users_app.command("deactivate")
def deactivate(username: str) -> None:
    """Deactivate a user: its token stops working at once for writes (cached reads: within 10 s)."""
    from geo import users

    _show(run_in_transaction(lambda s, _: users.update_user(s, cli_principal(), username, {"active": False})))


@users_app.command("token")
def token(username: str) -> None:
    """Issue a fresh token for a user and print it once (the old one stops working)."""
    from geo import users

    _show(*run_in_transaction(lambda s, _: users.rotate_token(s, cli_principal(), username)))
