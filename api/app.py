"""The app factory: settings in, a FastAPI app out (no settings are read at import time)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from starlette.concurrency import run_in_threadpool

from api import db_metrics, disconnect, docs, errors
from api.admission import Admission, default_limit
from api.hygiene import InputHygiene
from api.limits import BodyLimit
from api.observability import Metrics, RequestLog, configure_logging
from api.principal_cache import PrincipalCache
from api.public_reads import TokenBuckets, TTLCache
from api.read_your_writes import ReadYourWrites
from api.routers import (
    cases,
    compounds,
    crosswalk,
    dashboard,
    grids,
    health,
    incidents,
    live,
    maps,
    metrics,
    ogc,
    open311,
    overview,
    patrols,
    stats,
    tiles,
    users,
    workbench,
)
from api.security_headers import SecurityHeaders
from api.tile_fastpath import TileFastPath
from geo.cases.sweep import BackgroundSweep
from geo.live import Hub
from geo.live.listener import listen
from geo.pg import events, routing
from geo.pg import listener as geometry_listener
from geo.pg.db import make_engine, make_sessionmaker
from geo.settings import REPO_ROOT, Settings
from geo.tiles import TileCache

ROUTERS = [
    health.router,
    dashboard.router,
    grids.router,
    crosswalk.router,
    incidents.router,
    cases.router,
    compounds.router,
    overview.router,
    stats.router,
    maps.router,
    patrols.router,
    ogc.router,
    tiles.router,
    users.router,
    metrics.router,
    live.router,
    open311.router,
    workbench.router,
]


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """App-lifetime objects: the case sweep in the background (not under tests: they pass as_of), and the
    live feed's one LISTEN connection for this process, feeding the hub made by create_app."""
    settings: Settings = app.state.settings
    sweeper = None
    if settings.case_sweep_seconds > 0 and settings.env != "test":
        sweeper = BackgroundSweep(
            app.state.sessionmaker, settings.case_sweep_seconds, settings.case_escalate_grace_days
        )
        sweeper.start()
    listener = asyncio.create_task(listen(settings.database_url, app.state.live_hub))
    # The tile cache hears other processes' edits (and the primary's WAL position) through one LISTEN thread per
    # process and database, shared by every app in it: it starts before the first tile is served and, being
    # shared, outlives this app (a daemon thread).
    await run_in_threadpool(
        geometry_listener.ensure_listener, settings.database_url, positions=app.state.db_router.has_replica
    )
    try:
        yield
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener
        if sweeper:
            sweeper.stop()
        health_router = getattr(app.state, "health_router", None)  # /health's own engines (routers/health.py)
        for factory in (health_router.primary, health_router.replica) if health_router else ():
            if factory is not None:
                factory.kw["bind"].dispose()


def tile_cache(settings: Settings) -> TileCache:
    """The app's tile cache, subscribed to geometry changes (weakly: it lives as long as the app)."""
    cache = TileCache(settings.tile_cache_bytes, settings.database_url)
    events.subscribe(cache.on_geometry_changed)
    events.subscribe_positions(cache.on_position)
    return cache


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    # /docs and /redoc from the Swagger UI and ReDoc copies inside the fastapi-offline wheel (no CDN, no Google
    # fonts, no online validator badge): they must work on an intranet like the dashboard.
    app: FastAPI = FastAPIOffline(
        lifespan=lifespan,
        static_url=docs.DOCS_ASSETS,
        redoc_url=None,  # api/docs.py serves it, with ReDoc's CDN logo made local
        swagger_ui_parameters={"validatorUrl": None},
        title="citygrid 市域社会治理网格 API",
        version="0.1.0",
        description="Grids, incidents, compounds and patrols of Baoji's city-level social governance.",
    )
    app.state.settings = settings
    app.state.engine = make_engine(settings)
    app.state.sessionmaker = make_sessionmaker(app.state.engine)
    app.state.db_router = routing.from_settings(settings, app.state.sessionmaker)  # replicas for lagging reads
    db_metrics.COLLECTOR.track(app.state.db_router)
    app.state.principal_cache = PrincipalCache()  # made once with the app; the fast path and routers read it
    app.state.tile_cache = tile_cache(settings)
    configure_logging(settings.log_level)
    app.state.metrics = Metrics(app.state, extra=[db_metrics.COLLECTOR])
    errors.install(app)
    docs.install(app)
    app.state.live_hub = Hub()
    app.state.open311_buckets = TokenBuckets(settings.open311_rate_per_s, settings.open311_burst)
    app.state.open311_cache = TTLCache(settings.open311_cache_s)
    app.state.live_hub.watchers.append(app.state.open311_cache.clear)

    disconnect.install(app)  # innermost: an admitted request whose client leaves has its statements cancelled
    # Cached tiles (the fast path) and refusals never take a slot.
    in_flight = settings.max_in_flight or default_limit(2 * settings.pool_size)
    app.add_middleware(Admission, max_in_flight=in_flight, wait_s=settings.pool_timeout_s)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(ReadYourWrites)  # a writer's WAL position travels with it (api/read_your_writes.py)
    app.add_middleware(TileFastPath)  # cached map tiles answered before routing (api/tile_fastpath.py)
    app.add_middleware(InputHygiene)  # NUL bytes and impossible dates never reach a route
    app.add_middleware(SecurityHeaders)  # every response, refusals included
    app.add_middleware(RequestLog)  # outermost: every request logged and counted, fast-path tiles and refusals too

    for router in ROUTERS:
        app.include_router(router, responses=errors.COMMON_RESPONSES)
    app.mount("/static", StaticFiles(directory=REPO_ROOT / "static"), name="static")
    return app
