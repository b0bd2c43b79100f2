"""Operability: one JSON log line per request (structlog) and Prometheus metrics (prometheus-client).

Each request gets a request id (the client's X-Request-ID when it sends a sane one, else a new one), echoed
in the response. The log line names the id, the user, the method, the route template, the status and the
duration; a 5xx carries its traceback. Metrics live in a registry per app (tests make many apps).
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from geo.tiles import TileCache

REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
UNMATCHED = "(unmatched)"  # requests no route took (404s): one label, not one per path
ROUTE_KEY = "citygrid.route"  # set by middleware that answers before routing (the tile fast path)
CLIENT_GONE = "client_gone"  # in scope["state"] when the client left mid-request (api/disconnect.py)
CLIENT_CLOSED = 499  # nginx's "client closed request": what the log says of a request nobody heard the end of


def configure_logging(level: str) -> None:
    """JSON lines on stderr, at or above `level` (a setting)."""
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        # Resolved at each call, so that whatever sys.stderr is then (a test's capture too) receives the line.
        logger_factory=lambda *_: structlog.WriteLogger(sys.stderr),
        cache_logger_on_first_use=False,
    )


class _StateCollector(Collector):
    """Gauges and counters read from live objects when scraped: the DB pool and the tile cache."""

    def __init__(self, app_state: Any) -> None:
        self.state = app_state

    def collect(self) -> Iterator[Any]:
        pool = self.state.engine.pool
        in_use = GaugeMetricFamily("citygrid_db_pool_in_use", "database connections checked out of the pool")
        in_use.add_metric([], pool.checkedout())
        yield in_use
        cache: TileCache | None = getattr(self.state, "tile_cache", None)  # made by create_app
        hits = CounterMetricFamily("citygrid_tile_cache_hits", "tiles served from this worker's cache")
        hits.add_metric([], cache.stats.hits if cache else 0)
        yield hits
        misses = CounterMetricFamily("citygrid_tile_cache_misses", "tiles rendered because the cache lacked them")
        misses.add_metric([], cache.stats.misses if cache else 0)
        yield misses


class Metrics:
    """The app's Prometheus registry and the instruments the middleware and routers move."""

    def __init__(self, app_state: Any, extra: Iterable[Collector] = ()) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "citygrid_http_requests",
            "HTTP requests answered",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "citygrid_http_request_duration_seconds",
            "time to answer an HTTP request",
            ["method", "route"],
            registry=self.registry,
        )
        self.cancelled = Counter(
            "citygrid_db_statements_cancelled",
            "requests whose client left while they held a database connection: their statements cancelled",
            ["method", "route"],
            registry=self.registry,
        )
        self.import_rows = Counter(
            "citygrid_import_rows", "incident rows written by bulk imports", ["outcome"], registry=self.registry
        )
        for collector in (_StateCollector(app_state), *extra):  # extra: the database roles (api/db_metrics.py)
            self.registry.register(collector)

    def count_import(self, summary: dict[str, Any]) -> None:
        for outcome in ("inserted", "updated", "rejected"):
            self.import_rows.labels(outcome).inc(summary.get(outcome, 0))


def request_route(scope: dict[str, Any]) -> str:
    route = scope.get("route")
    return getattr(route, "path", None) or scope.get(ROUTE_KEY) or UNMATCHED


class RequestLog:
    """ASGI middleware: the request id, the log line and the request metrics of every HTTP request."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.log = structlog.get_logger("citygrid.request")

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = sent if REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex
        started, status = time.perf_counter(), 500
        scope.setdefault("state", {})["request_id"] = request_id  # for other middleware's log lines

        async def send_with_id(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        failure: BaseException | None = None
        try:
            await self.app(scope, receive, send_with_id)
        except BaseException as exc:  # logged with its traceback, then left to Starlette's 500
            failure, status = exc, 500
            raise
        finally:
            self._done(scope, request_id, status, time.perf_counter() - started, failure)

    def _done(
        self, scope: dict, request_id: str, status: int, seconds: float, failure: BaseException | None
    ) -> None:
        route, method = request_route(scope), scope["method"]
        state = scope.get("state") or {}
        user = state.get("user")
        if state.get(CLIENT_GONE):  # whatever the app answered (the 503 of its cancelled statement) went nowhere
            status = CLIENT_CLOSED
        fields = {
            "request_id": request_id,
            "user": user,
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
        }
        if failure is not None:
            self.log.error("request", **fields, exc_info=failure)
        elif status >= 500:
            self.log.error("request", **fields)
        else:
            self.log.info("request", **fields)
        metrics: Metrics | None = getattr(scope.get("app") and scope["app"].state, "metrics", None)
        if metrics is not None:
            metrics.requests.labels(method, route, str(status)).inc()
            metrics.latency.labels(method, route).observe(seconds)
