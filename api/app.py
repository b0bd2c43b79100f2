"""The app factory: settings in, a FastAPI app out (no settings are read at import time)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from api import errors
from api.routers import grids, health, stats
from geo.db import make_engine, make_sessionmaker
from geo.settings import REPO_ROOT, Settings

ROUTERS = [health.router, grids.router, stats.router]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    app = FastAPI(
        title="citygrid 市域社会治理网格 API",
        version="0.1.0",
        description="Grids, incidents, compounds and patrols of Baoji's city-level social governance.",
    )
    app.state.settings = settings
    app.state.engine = make_engine(settings)
    app.state.sessionmaker = make_sessionmaker(app.state.engine)
    errors.install(app)

    @app.middleware("http")
    async def limit_body(request: Request, call_next):
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > settings.max_body_bytes:
            body = errors.error_body(
                "too_large", f"request body of {length} bytes exceeds the limit of {settings.max_body_bytes}"
            )
            return JSONResponse(body, 413)
        return await call_next(request)

    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=REPO_ROOT / "static"), name="static")
    return app
