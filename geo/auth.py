"""API tokens and roles: only a token's SHA-256 is stored; admin may do everything."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
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
    if bootstrap_token and secrets.compare_digest(token, bootstrap_token):
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
    session: Session, username: str, role: str, officer_id: int | None = None, token: str | None = None
) -> str:
    """Create a user and return its token (shown once; only its hash is kept)."""
    if role not in vocab.ROLES:
        raise InvalidInput(f"unknown role '{role}'; one of {', '.join(vocab.ROLES)}", field="role")
    token = token or secrets.token_urlsafe(32)
    session.add(
        models.User(
            username=username,
            display_name=username,
            role=role,
            officer_id=officer_id,
            token_sha256=token_hash(token),
        )
    )
    session.flush()
    return token
