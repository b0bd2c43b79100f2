"""Liveness and readiness: database reachable, PostGIS version, migration head; each database's role and lag."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from geo.pg import migration_heads, postgis_version

router = APIRouter(tags=["health"])


@router.get("/health", summary="服务状态 Service health")
def health(request: Request) -> JSONResponse:
    engine = request.app.state.engine
    try:
        current, head = migration_heads(engine)
        body = {
            "status": "ok" if current == head else "migration_pending",
            "database": "reachable",
            "postgis": postgis_version(engine),
            "migration": {"current": current, "head": head},
            # Primary and replica: role (primary/standby), WAL position, lag; a replica down is reported but
            # does not fail the check (lagging reads then go to the primary).
            "databases": request.app.state.db_router.report(),
        }
        return JSONResponse(body, 200 if current == head else 503)
    except SQLAlchemyError as exc:
        msg = str(getattr(exc, "orig", exc)).splitlines()[0]
        return JSONResponse({"status": "unavailable", "database": "unreachable", "detail": msg}, 503)
