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
from sqlalchemy.exc import SQLAlchemyError

from geo.cases.clock import calendar_status
from geo.pg import migration_heads, postgis_version
from geo.pg.db import make_health_engine, make_sessionmaker
from geo.pg.routing import DatabaseRouter

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


def _check(app: FastAPI) -> JSONResponse:
    probes = _health_router(app)
    engine = probes.primary.kw["bind"]
    try:
        current, head = migration_heads(engine)
        body = {
            "status": "ok" if current == head else "migration_pending",
            "database": "reachable",
            "postgis": postgis_version(engine),
            "migration": {"current": current, "head": head},
            "case_calendar": calendar_status(),  # past the published years the case clock skips weekends only
            # Primary and replica: role (primary/standby), WAL position, lag; a replica down is reported but
            # does not fail the check (lagging reads then go to the primary).
            "databases": probes.report(),
        }
        return JSONResponse(body, 200 if current == head else 503)
    except SQLAlchemyError as exc:
        msg = str(getattr(exc, "orig", exc)).splitlines()[0]
        return JSONResponse({"status": "unavailable", "database": "unreachable", "detail": msg}, 503)


@router.get("/health", summary="服务状态 Service health")
async def health(request: Request) -> JSONResponse:
    return await asyncio.get_running_loop().run_in_executor(_THREADS, _check, request.app)
