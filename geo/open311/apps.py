"""Registered Open311 client apps: an api_key is shown once at registration, only its SHA-256 is kept."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from geo import audit, models
from geo.errors import Forbidden, InvalidInput


def _key_hash(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def register_app(session: Session, name: str, actor: str, contact: str | None = None) -> str:
    """Register a client app and return its api_key (shown this once; audited without the key)."""
    name = name.strip()
    if not name:
        raise InvalidInput("an app needs a name 应用名称不能为空", field="name")
    api_key = secrets.token_urlsafe(32)
    app = models.Open311App(name=name, contact=contact, key_sha256=_key_hash(api_key), created_by=actor)
    try:
        with session.begin_nested():
            session.add(app)
            session.flush()
    except IntegrityError as exc:
        raise InvalidInput(f"an app named '{name}' is already registered 应用已存在", field="name") from exc
    audit.record(session, actor, "open311_app.register", "open311_app", str(app.id), after={"name": name})
    return api_key


def app_for_key(session: Session, api_key: str | None) -> models.Open311App:
    """The active app holding api_key; Forbidden (Open311: 403) when missing or unknown."""
    if not api_key:
        raise Forbidden("api_key is required to submit a request 提交需要 api_key", field="api_key")
    app = session.execute(
        select(models.Open311App).where(
            models.Open311App.key_sha256 == _key_hash(api_key), models.Open311App.active
        )
    ).scalar_one_or_none()
    if app is None:
        raise Forbidden("api_key is not valid 无效的 api_key", field="api_key")
    return app


def list_apps(session: Session) -> list[dict]:
    """Every registered app, without keys."""
    rows = session.execute(select(models.Open311App).order_by(models.Open311App.id)).scalars()
    return [
        {"id": a.id, "name": a.name, "contact": a.contact, "active": a.active, "created_at": a.created_at}
        for a in rows
    ]
