"""Users and their jurisdictions: who a principal is, and the audited user administration.

An admin manages the users whose area lies inside the admin's own area: a city admin (610300) manages everyone,
a county admin the users of that county (and below), and so on. A user outside the admin's area is "not found"
(404: its existence is not revealed); putting a user in an area outside the admin's own is forbidden (403).
Tokens are shown once, when made; only their SHA-256 is stored.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import vocab
from geo.auth import BOOTSTRAP_USERNAME, Principal, check_roles, new_token, token_hash, write_user
from geo.errors import Conflict, Forbidden, InvalidInput, NotFound
from geo.scope import CITY_CODE, contains, level_of, resolve_scope

CITY_NAME = "宝鸡市"
USERNAME = re.compile(r"^[\w.@-]{1,64}$")
CHANGEABLE = ("roles", "area", "department", "officer_id", "display_name", "active")
_COLUMNS = "username, display_name, roles, area_code, department, officer_id, active, created_at"


def describe_area(session: Session, code: str) -> dict[str, Any]:
    """{code, level, name} of an admin unit or grid; the city answers even before its polygon is loaded."""
    try:
        scope = resolve_scope(session, code)
    except NotFound:
        if code != CITY_CODE:
            raise
        return {"code": code, "level": "city", "name": CITY_NAME}
    return {"code": scope.code, "level": scope.level, "name": scope.name}


def describe_me(session: Session, principal: Principal) -> dict[str, Any]:
    """What /api/v1/me shows: the username, roles (with labels), area and, where set, officer and department."""
    return {
        "username": principal.username,
        "roles": sorted(principal.roles),
        "role_labels": {r: "/".join(vocab.ROLES[r]) for r in sorted(principal.roles) if r in vocab.ROLES},
        "area": describe_area(session, principal.area_code),
        "officer_id": principal.officer_id,
        "department": principal.department,
    }


def _row(session: Session, username: str, lock: bool = False) -> dict[str, Any] | None:
    found = (
        session.execute(
            # No FOR UPDATE (it needs UPDATE rights, which the app role lacks since migration 0005):
            # citygrid_user_write locks the row itself when it writes.
            text(f"SELECT {_COLUMNS} FROM users WHERE username = :u"),
            {"u": username},
        )
        .mappings()
        .first()
    )
    return None if found is None else dict(found)


def _public(session: Session, row: dict[str, Any]) -> dict[str, Any]:
    """A user as the API shows it (never its token hash)."""
    out = {k: row[k] for k in ("username", "display_name", "roles", "department", "officer_id", "active")}
    out["roles"] = sorted(out["roles"])
    out["area"] = describe_area(session, row["area_code"])
    out["created_at"] = row["created_at"].isoformat()
    return out


def _audited(row: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if row is None else {k: (v.isoformat() if k == "created_at" else v) for k, v in row.items()}


def _check_area(session: Session, actor: Principal, code: Any) -> str:
    """An area code the actor may give a user: an existing unit or grid inside the actor's own area."""
    if not isinstance(code, str) or level_of(code) is None:
        raise InvalidInput(f"区域代码无效 area {code!r} is not an admin-unit or grid code", field="area")
    if not contains(actor.area_code, code):
        raise Forbidden(
            f"区域 {code} 不在您的辖区 {actor.area_code} 内 area {code} is outside your area {actor.area_code}",
            field="area",
        )
    try:
        describe_area(session, code)
    except NotFound as exc:
        raise InvalidInput(f"区域不存在 no admin unit or grid {code}", field="area") from exc
    return code


def _check_officer(session: Session, officer_id: Any) -> int | None:
    if officer_id is None:
        return None
    if isinstance(officer_id, bool) or not isinstance(officer_id, int):
        raise InvalidInput(f"officer_id must be an integer, got {officer_id!r}", field="officer_id")
    if session.execute(text("SELECT 1 FROM officers WHERE id = :i"), {"i": officer_id}).first() is None:
        raise InvalidInput(f"民警不存在 officer {officer_id} does not exist", field="officer_id")
    return officer_id


def _managed(session: Session, actor: Principal, username: str, lock: bool = False) -> dict[str, Any]:
    """The user, if it lies inside the actor's area; otherwise NotFound (its existence is not revealed)."""
    if not actor.has("admin"):
        raise Forbidden("只有管理员可以管理用户 only an admin manages users")
    row = _row(session, username, lock)
    if row is None or not contains(actor.area_code, row["area_code"]):
        raise NotFound(f"用户不存在 no user {username!r} in your area", field="username")
    return row


def _write(session: Session, actor: Principal, action: str, username: str, fields: dict[str, Any]) -> None:
    """Insert or update one user row; the database function citygrid_user_write (migration 0005) does it and
    writes the audit row (without the token hash): the app role may not write the users table itself."""
    write_user(session, actor.username, username, fields, action)


def create_user(
    session: Session,
    actor: Principal,
    username: str,
    roles: Any,
    area: Any,
    department: str | None = None,
    officer_id: int | None = None,
    display_name: str | None = None,
) -> tuple[dict[str, Any], str]:
    """Create a user in the actor's area; (the user, its token: shown this once)."""
    if not actor.has("admin"):
        raise Forbidden("只有管理员可以管理用户 only an admin manages users")
    if not isinstance(username, str) or not USERNAME.match(username) or username == BOOTSTRAP_USERNAME:
        raise InvalidInput(
            f"用户名无效 username {username!r}: 1–64 letters, digits, '.', '_', '@' or '-'", field="username"
        )
    role_set = check_roles(roles, department)
    fields = {
        "roles": sorted(role_set),
        "area_code": _check_area(session, actor, area),
        "department": department,
        "officer_id": _check_officer(session, officer_id),
        "display_name": display_name or username,
    }
    if _row(session, username) is not None:
        raise Conflict(f"用户名已存在 username {username!r} is taken", field="username")
    token = new_token()
    _write(session, actor, "create", username, {**fields, "token_sha256": token_hash(token)})
    return show_user(session, actor, username), token


def show_user(session: Session, actor: Principal, username: str) -> dict[str, Any]:
    return _public(session, _managed(session, actor, username))


def list_users(session: Session, actor: Principal, limit: int = 100, offset: int = 0) -> dict[str, Any]:
    """The users inside the actor's area, by username."""
    if not actor.has("admin"):
        raise Forbidden("只有管理员可以管理用户 only an admin manages users")
    rows = session.execute(text(f"SELECT {_COLUMNS} FROM users ORDER BY username")).mappings()
    mine = [dict(r) for r in rows if contains(actor.area_code, r["area_code"])]
    return {"numberMatched": len(mine), "users": [_public(session, r) for r in mine[offset : offset + limit]]}


def update_user(session: Session, actor: Principal, username: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Change roles, area, department, officer, display name or active (False deactivates at once)."""
    unknown = sorted(set(changes) - set(CHANGEABLE))
    if unknown:
        raise InvalidInput(
            f"{unknown[0]} cannot be changed; changeable: {', '.join(CHANGEABLE)}", field=unknown[0]
        )
    row = _managed(session, actor, username, lock=True)
    fields: dict[str, Any] = {}
    department = changes.get("department", row["department"])
    if "roles" in changes or "department" in changes:
        fields["roles"] = sorted(check_roles(changes.get("roles", row["roles"]), department))
        fields["department"] = department
    if "area" in changes:
        fields["area_code"] = _check_area(session, actor, changes["area"])
    if "officer_id" in changes:
        fields["officer_id"] = _check_officer(session, changes["officer_id"])
    if "display_name" in changes:
        fields["display_name"] = None if changes["display_name"] is None else str(changes["display_name"])[:200]
    if "active" in changes:
        if not isinstance(changes["active"], bool):
            raise InvalidInput(f"active must be true or false, got {changes['active']!r}", field="active")
        fields["active"] = changes["active"]
    if fields:
        action = "deactivate" if fields.get("active") is False and row["active"] else "update"
        _write(session, actor, action, username, fields)
    return show_user(session, actor, username)


def rotate_token(session: Session, actor: Principal, username: str) -> tuple[dict[str, Any], str]:
    """A fresh token for the user (the old one stops working at once); shown this once."""
    _managed(session, actor, username, lock=True)
    token = new_token()
    _write(session, actor, "rotate_token", username, {"token_sha256": token_hash(token)})
    return show_user(session, actor, username), token
