"""API tokens and roles: only a token's SHA-256 is stored; admin may do everything."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from geo import models, vocab
from geo.errors import Forbidden, InvalidInput, Unauthorized


@dataclass(frozen=True)
class Principal:
    username: str
    role: str
    officer_id: int | None = None

    def allowed(self, roles: tuple[str, ...]) -> bool:
        return self.role == "admin" or self.role in roles


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def authenticate(session: Session, token: str | None, bootstrap_token: str | None = None) -> Principal:
    """The principal for a bearer token, or Unauthorized."""
    if not token:
        raise Unauthorized("an API token is required: send 'Authorization: Bearer <token>'")
    if bootstrap_token and secrets.compare_digest(token.encode(), bootstrap_token.encode()):
        return Principal("bootstrap-admin", "admin")
    user = session.execute(
        select(models.User).where(models.User.token_sha256 == token_hash(token), models.User.active)
    ).scalar_one_or_none()
    if user is None:
        raise Unauthorized("the API token is not known or the user is inactive")
    return Principal(user.username, user.role, user.officer_id)


def authorize(principal: Principal, roles: tuple[str, ...]) -> Principal:
    if not principal.allowed(roles):
        raise Forbidden(f"role '{principal.role}' may not do this; needs one of {', '.join(roles)} or admin")
    return principal


def create_user(
    session: Session,
    username: str,
    role: str,
    officer_id: int | None = None,
    token: str | None = None,
    actor: str = "system",
) -> str:
    """Create a user and return its token (shown once; only its hash is kept).

    Users are written only through the database function citygrid_user_write (migration 0005): the app role
    cannot write the users table itself, and the function writes the audit row.
    """
    if role not in vocab.ROLES:
        raise InvalidInput(f"unknown role '{role}'; one of {', '.join(vocab.ROLES)}", field="role")
    token = token or secrets.token_urlsafe(32)
    fields = {"display_name": username, "role": role, "officer_id": officer_id, "token_sha256": token_hash(token)}
    write_user(session, actor, username, fields)
    return token


def write_user(session: Session, actor: str, username: str, fields: dict[str, Any]) -> int:
    """Create or change a user (any users column but id, username, created_at); audited by the database."""
    return int(
        session.execute(
            text("SELECT citygrid_user_write(:actor, :username, CAST(:fields AS jsonb))"),
            {"actor": actor, "username": username, "fields": json.dumps(fields)},
        ).scalar_one()
    )
