"""Overload: a request that finds every pooled connection busy gets a 503 JSON with Retry-After within
pool_timeout_s (not a plain-text 500 after 30 s), and /health still answers 200 from its own connection."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from api.app import create_app


def test_exhausted_pool_is_503_with_retry_after_and_health_still_answers(settings, auth):
    # pool_size 1 with max_overflow = pool_size: two connections in all, both held below.
    app = create_app(settings.model_copy(update={"pool_size": 1, "pool_timeout_s": 0.5}))
    engine = app.state.engine
    with TestClient(app, raise_server_exceptions=False) as client:
        held = [engine.connect(), engine.connect()]
        try:
            for conn in held:
                conn.exec_driver_sql("SELECT 1")  # really checked out, not lazily
            start = time.perf_counter()
            r = client.get("/api/v1/grids", headers=auth)
            waited = time.perf_counter() - start
            assert r.status_code == 503, r.text
            assert r.headers["retry-after"] == "2"
            assert r.headers["content-type"].startswith("application/json")
            body = r.json()
            assert body["code"] == "overloaded"
            assert body["detail_zh"].startswith("服务繁忙")
            assert "0.5 s" in body["detail"]
            assert 0.4 < waited < 5  # waited about pool_timeout_s (0.5 s), not SQLAlchemy's default 30 s

            start = time.perf_counter()
            h = client.get("/health")
            took = time.perf_counter() - start
            assert h.status_code == 200, h.text  # before: the app's pool, so a 503 after the pool timeout
            assert h.json()["database"] == "reachable" and h.json()["status"] == "ok"
            assert took < 0.4  # below the pool timeout: it never waited for the pool (typically a few ms)
        finally:
            for conn in held:
                conn.close()
        # Once connections come free the same request succeeds again.
        assert client.get("/api/v1/grids", headers=auth).status_code == 200
    engine.dispose()
