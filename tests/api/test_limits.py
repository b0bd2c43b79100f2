"""Limits are settings and refuse clearly: body size 413 (declared or streamed), statement timeout 503."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import text

from api.app import create_app


def test_declared_body_over_the_limit_is_413(settings, auth):
    app = create_app(settings.model_copy(update={"max_body_bytes": 1000}))
    with TestClient(app) as client:
        r = client.post("/api/v1/grids", content=b"x" * 5000, headers={**auth, "Content-Type": "application/json"})
    assert r.status_code == 413
    assert r.json()["code"] == "too_large" and "1000" in r.json()["detail"]


def test_streamed_body_over_the_limit_is_413(settings, auth):
    app = create_app(settings.model_copy(update={"max_body_bytes": 1000}))

    def chunks():
        for _ in range(10):
            yield b"x" * 500

    with TestClient(app) as client:
        r = client.post("/api/v1/grids", content=chunks(), headers={**auth, "Content-Type": "application/json"})
    assert r.status_code == 413
    assert r.json()["code"] == "too_large"


def test_statement_timeout_is_503_with_retry_after(settings):
    app = create_app(settings.model_copy(update={"statement_timeout_ms": 50}))

    @app.get("/_slow")
    def slow() -> dict:
        # A real query on the app's own engine, so the timeout is PostgreSQL's, not a mock's.
        with app.state.sessionmaker() as session:
            session.execute(text("SELECT pg_sleep(1)"))
        return {}

    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get("/_slow")
    assert r.status_code == 503
    assert r.json()["code"] == "statement_timeout"
    assert r.headers["retry-after"]
