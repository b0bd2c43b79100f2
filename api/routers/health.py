"""Liveness and readiness: database reachable, PostGIS version, migration head; each database's role and lag.

/health never waits behind the app: it is `async` (not queued behind the request thread pool, which 200
readers fill), runs its few queries in its own two threads, on its own engines (geo/pg/db.make_health_engine:
one connection each for the primary and the replica, not the app's pool), with short connect and statement
timeouts. Under overload it answers in milliseconds; with the database gone it answers 503 within seconds.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, ProgrammingError, SQLAlchemyError

from geo.cases.clock import calendar_status
from geo.pg import code_head, migration_heads, postgis_version
from geo.pg.db import make_health_engine, make_sessionmaker
from geo.pg.routing import _STATE_SQL, DatabaseRouter, ServerState, parse_lsn

router = APIRouter(tags=["health"])

# Two threads for every app of the process: one check at a time each, however busy the request pool is.
_THREADS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="citygrid-health")
_LOCK = threading.Lock()


def _health_router(app: FastAPI) -> DatabaseRouter:
    """The app's health engines, made on the first check (an app never checked holds no extra connection)."""
    with _LOCK:
        found: DatabaseRouter | None = getattr(app.state, "health_router", None)
        if found is None:
            settings = app.state.settings
            replica = None
            if settings.replica_database_url:
                replica = make_sessionmaker(make_health_engine(settings, settings.replica_database_url))
            found = DatabaseRouter(make_sessionmaker(make_health_engine(settings)), replica)
            app.state.health_router = found
        return found


# Everything /health reports of the primary in one round trip: each round trip of a check under overload
# waits for the GIL and a CPU again, so one statement, on a connection used without a pre-ping.
_PRIMARY_SQL = text(
    "SELECT (SELECT min(version_num) FROM alembic_version), (SELECT count(*) FROM alembic_version), "
    "postgis_lib_version(), s.* FROM (" + str(_STATE_SQL) + ") s"
)


def _primary(engine: Engine) -> tuple[str | None, str, dict]:
    """(migration the database is at, PostGIS version, its databases entry)."""
    for attempt in (1, 2):
        try:
            with engine.connect() as conn:
                current, heads, postgis, in_recovery, lsn, lag = conn.execute(_PRIMARY_SQL).one()
            break
        except ProgrammingError:  # no alembic_version yet: the slower path, which reports "none"
            current, _ = migration_heads(engine)
            probe = DatabaseRouter(make_sessionmaker(engine))._probe("primary", make_sessionmaker(engine))
            return current, postgis_version(engine), probe
        except DBAPIError as exc:  # a connection the server dropped (a restart): reconnect once
            if attempt == 2 or not exc.connection_invalidated:
                raise
    if heads > 1:
        raise RuntimeError("alembic_version holds several revisions")
    state = ServerState("standby" if in_recovery else "primary", parse_lsn(lsn) or 0, lag)
    where = engine.url.render_as_string(hide_password=True)
    return current, str(postgis), {"name": "primary", "url": where, "reachable": True, **state.as_dict()}


def _check(app: FastAPI) -> JSONResponse:
    probes = _health_router(app)
    try:
        current, postgis, primary = _primary(probes.primary.kw["bind"])
        head = code_head()
        # Primary and replica: role (primary/standby), WAL position, lag; a replica down is reported but
        # does not fail the check (lagging reads then go to the primary).
        databases = [primary] + ([probes._probe("replica", probes.replica)] if probes.replica else [])
        body = {
            "status": "ok" if current == head else "migration_pending",
            "database": "reachable",
            "postgis": postgis,
            "migration": {"current": current, "head": head},
            "case_calendar": calendar_status(),  # past the published years the case clock skips weekends only
            "databases": databases,
        }
        return JSONResponse(body, 200 if current == head else 503)
    except SQLAlchemyError as exc:
        msg = str(getattr(exc, "orig", exc)).splitlines()[0]
        return JSONResponse({"status": "unavailable", "database": "unreachable", "detail": msg}, 503)


@router.get("/health", summary="服务状态 Service health")
async def health(request: Request) -> JSONResponse:
    return await asyncio.get_running_loop().run_in_executor(_THREADS, _check, request.app)
