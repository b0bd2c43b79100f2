"""Request dependencies: settings, a database session, the caller's principal and role checks."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, cast

from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.bearer import bearer_token
from geo import auth, vocab
from geo.auth import Principal
from geo.pg.routing import parse_lsn
from geo.settings import Settings

LSN_COOKIE = "citygrid_lsn"
LSN_HEADER = "x-citygrid-lsn"


# Dependencies that touch no database are `async def`: FastAPI runs a plain `def` dependency in a worker
# thread, a hand-off each way that cost more than the work on every request.
async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One session per request; writers commit explicitly, anything unfinished is rolled back.

    `async` because making a session and closing one that holds no connection touch no database (a writer
    that committed has already given its connection back): as a plain generator FastAPI entered and left it in
    worker threads, two hand-offs per request. Ending a transaction still open is a round trip, sent from a
    worker thread so the event loop never waits on the server.
    """
    session = request.app.state.sessionmaker()
    try:
        yield session
    except Exception:
        await run_in_threadpool(_close, session)
        raise
    if session.in_transaction():
        await run_in_threadpool(_close, session)
    else:
        session.close()


def _close(session: Session) -> None:
    try:
        session.rollback()
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session)]


def client_lsn(request: Request) -> int | None:
    """The WAL position of this client's last write (cookie or header set by api/read_your_writes.py)."""
    raw = request.headers.get(LSN_HEADER) or request.cookies.get(LSN_COOKIE)
    return parse_lsn(raw)


@contextmanager
def request_session(request: Request) -> Iterator[Session]:
    """A session as the app's get_session dependency (or the test suite's override of it) would give one."""
    override = request.app.dependency_overrides.get(get_session)
    if override is None:
        session = request.app.state.sessionmaker()
        try:
            yield session
        finally:
            _close(session)
        return
    made: Any = override()
    if not inspect.isgenerator(made):
        yield made
        return
    try:
        yield cast(Session, next(made))
    finally:
        made.close()


@contextmanager
def request_read_session(request: Request, min_lsn: int | None = None) -> Iterator[Session]:
    """A session for reads that may lag (as api.deps.get_read_session), for routes that open theirs in a thread.

    min_lsn adds a position the replica must have replayed besides the client's own last write.
    """
    router = request.app.state.db_router
    replica = None
    if router.has_replica:
        wanted = [v for v in (client_lsn(request), min_lsn) if v is not None]
        replica = router.replica_session(max(wanted) if wanted else None)
    request.state.read_from = "replica" if replica is not None else "primary"
    if replica is None:
        with request_session(request) as session:
            yield session
        return
    try:
        yield replica
    finally:
        replica.close()


def get_read_session(request: Request) -> Iterator[Session]:
    """A session for reads that may be a moment old: a replica that has replayed this client's last write and
    is within the lag bound, else the primary."""
    with request_read_session(request) as session:
        yield session


ReadSessionDep = Annotated[Session, Depends(get_read_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_principal(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    authorization: Annotated[str | None, Header()] = None,
) -> Principal:
    token = bearer_token(authorization)
    bootstrap = settings.bootstrap_admin_token if settings.env != "production" else None
    principal = auth.authenticate(session, token, bootstrap)
    request.state.user = principal.username  # for the request's log line
    return principal


def requires(*roles: str):
    """A dependency admitting the given roles (and admin); each route declares its own."""

    async def check(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        return auth.authorize(principal, roles)

    check.roles = roles  # type: ignore[attr-defined]  # read by the route-authorisation test
    return check


ANY_ROLE = tuple(vocab.ROLES)
Reader = Annotated[Principal, Depends(requires(*ANY_ROLE))]
GisEditor = Annotated[Principal, Depends(requires("gis_editor"))]
Police = Annotated[Principal, Depends(requires("police", "gis_editor"))]
# Reports and status changes: police, editors, grid workers (inside their grid) and centre operators.
Reporter = Annotated[Principal, Depends(requires("police", "gis_editor", "grid_worker", "centre_operator"))]
Admin = Annotated[Principal, Depends(requires("admin"))]
