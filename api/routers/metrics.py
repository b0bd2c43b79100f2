"""GET /metrics: the Prometheus text format, read like any other read (or by admins only, a setting)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.deps import ANY_ROLE, get_principal
from geo import auth
from geo.auth import Principal

router = APIRouter(tags=["operations 运维"])


def metrics_reader(request: Request, principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    """Any authenticated user; only admins when CITYGRID_METRICS_ADMIN_ONLY is set."""
    roles = ("admin",) if request.app.state.settings.metrics_admin_only else ANY_ROLE
    return auth.authorize(principal, roles)


metrics_reader.roles = ANY_ROLE  # type: ignore[attr-defined]  # read by the route-authorisation test


@router.get("/metrics", summary="运行指标 Prometheus metrics", response_class=Response)
def metrics(request: Request, _: Annotated[Principal, Depends(metrics_reader)]) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
