"""API tokens, roles and jurisdictions: only a token's SHA-256 is stored; admin holds every role.

A principal is who is calling: a username, one or more roles (geo.vocab.ROLES) held in one area (an admin-unit
or grid code: the user's jurisdiction) and, for police, an officer, for a department handler, a department.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import vocab
from geo.area import Area
from geo.errors import Forbidden, InvalidInput, Unauthorized
from geo.pg import direct
from geo.scope import CITY_CODE

BOOTSTRAP_USERNAME = "bootstrap-admin"


@dataclass(frozen=True)
class Principal:
    username: str
    roles: frozenset[str]
    area_code: str
    officer_id: int | None = None
    department: str | None = None

    @property
    def area(self) -> Area:
        """The principal's jurisdiction (from the code alone: no query)."""
        return Area.of(self.area_code)

    def has(self, *roles: str) -> bool:
        """True when the principal holds one of the roles (admin holds them all)."""
        return "admin" in self.roles or not self.roles.isdisjoint(roles)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def bootstrap_principal() -> Principal:
    """The development/bootstrap token's principal: an admin of the whole city."""
    return Principal(BOOTSTRAP_USERNAME, frozenset({"admin"}), CITY_CODE)


def principal_of(user: Any) -> Principal:
    """A user (a models.User or a row with its columns) as a principal."""
    return Principal(user.username, frozenset(user.roles), user.area_code, user.officer_id, user.department)


# Every request runs it: on psycopg directly (geo/pg/direct.py), not as an ORM entity nor through Core.
_BY_TOKEN = direct.SQL(
    "SELECT username, roles, area_code, officer_id, department FROM users WHERE token_sha256 = :h AND active"
)


def authenticate(session: Session, token: str | None, bootstrap_token: str | None = None) -> Principal:
    """The principal for a bearer token, or Unauthorized."""
    if not token:
        raise Unauthorized("an API token is required: send 'Authorization: Bearer <token>'")
    if bootstrap_token and secrets.compare_digest(token.encode(), bootstrap_token.encode()):
        return bootstrap_principal()
    user = direct.first(session, _BY_TOKEN, {"h": token_hash(token)})
    if user is None:
        raise Unauthorized("the API token is not known or the user is inactive")
    return principal_of(user)


def authorize(principal: Principal, roles: tuple[str, ...]) -> Principal:
    if not principal.has(*roles):
        held = ", ".join(sorted(principal.roles))
        raise Forbidden(
            f"角色 {held} 无权执行此操作 roles {held} may not do this; needs one of {', '.join(roles)} or admin"
        )
    return principal


def check_roles(roles: str | Iterable[str], department: str | None) -> frozenset[str]:
    """The role set (a name or names), each known, at least one; a department handler names its department."""
    items = [roles] if isinstance(roles, str) else roles
    if not isinstance(items, list | tuple | set | frozenset) or not all(isinstance(r, str) for r in items):
        raise InvalidInput(f"roles must be a list of role names, got {roles!r:.80}", field="roles")
    wanted = frozenset(items)
    unknown = sorted(wanted - set(vocab.ROLES))
    if unknown or not wanted:
        raise InvalidInput(
            f"未知角色 unknown role(s) {', '.join(unknown) or '(none given)'}; one or more of {', '.join(vocab.ROLES)}",
            field="roles",
        )
    if department is not None and department not in vocab.DEPARTMENTS:
        raise InvalidInput(
            f"未知部门 unknown department '{department}'; one of {', '.join(vocab.DEPARTMENTS)}",
            field="department",
        )
    if "department_handler" in wanted and department is None:
        raise InvalidInput("部门承办人须指定部门 a department_handler needs a department", field="department")
    return wanted


def create_user(
    session: Session,
    username: str,
    roles: str | Iterable[str],
    officer_id: int | None = None,
    token: str | None = None,
    *,
    area_code: str = CITY_CODE,
    department: str | None = None,
    actor: str = "system",
) -> str:
    """Create (or, for a known username, reset) a user and return its token (shown once; only its hash is kept).

    Audited by the database: users are written only through citygrid_user_write (see write_user).
    """
    role_set = check_roles(roles, department)
    token = token or new_token()
    fields = {
        "display_name": username,
        "roles": sorted(role_set),
        "area_code": area_code,
        "department": department,
        "officer_id": officer_id,
        "token_sha256": token_hash(token),
    }
    write_user(session, actor, username, fields)
    return token


def write_user(
    session: Session, actor: str, username: str, fields: dict[str, Any], action: str | None = None
) -> int:
    """Create or change a user: any users column but id, username, created_at (e.g. {"active": False}).

    The app role may not write the users table (migration 0005): the SECURITY DEFINER function
    citygrid_user_write does, and writes the audit row itself (callers must not add another).
    """
    return int(
        session.execute(
            text("SELECT citygrid_user_write(:actor, :username, CAST(:fields AS jsonb), :action)"),
            {"actor": actor, "username": username, "fields": json.dumps(fields), "action": action},
        ).scalar_one()
    )
