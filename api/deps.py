"""Request dependencies: settings, a database session, the caller's principal and role checks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session

from geo import auth, vocab
from geo.auth import Principal
from geo.settings import Settings


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_session(request: Request) -> Iterator[Session]:
    """One session per request; writers commit explicitly, anything unfinished is rolled back."""
    session = request.app.state.sessionmaker()
    try:
        yield session
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_principal(
    session: SessionDep, settings: SettingsDep, authorization: Annotated[str | None, Header()] = None
) -> Principal:
    token = None
    if authorization and authorization.lower().startswith("bearer "):
        token = authorization[7:].strip()
    bootstrap = settings.bootstrap_admin_token if settings.env != "production" else None
    return auth.authenticate(session, token, bootstrap)


def requires(*roles: str):
    """A dependency admitting the given roles (and admin); each route declares its own."""

    def check(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        return auth.authorize(principal, roles)

    check.roles = roles  # type: ignore[attr-defined]  # read by the route-authorisation test
    return check


ANY_ROLE = tuple(vocab.ROLES)
Reader = Annotated[Principal, Depends(requires(*ANY_ROLE))]
GisEditor = Annotated[Principal, Depends(requires("gis_editor"))]
Police = Annotated[Principal, Depends(requires("police", "gis_editor"))]
Admin = Annotated[Principal, Depends(requires("admin"))]
