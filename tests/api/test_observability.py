"""The request log (JSON lines) and /metrics, read back with their own parsers: json and prometheus_client's."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from api.deps import get_session
from tests.api.test_incidents_api import INSIDE, post_json, tree
from tests.db.test_assign import collection, point


def _lines(text: str) -> list[dict]:
    out = []
    for line in text.splitlines():
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if isinstance(doc, dict) and doc.get("event") == "request":
            out.append(doc)
    return out


def _samples(client, auth) -> dict[tuple[str, tuple], float]:
    r = client.get("/metrics", headers=auth)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def test_a_request_logs_one_json_line_and_echoes_its_request_id(client, auth, capsys):
    capsys.readouterr()
    r = client.get("/api/v1/grids?limit=1", headers={**auth, "X-Request-ID": "req-42"})
    assert r.status_code == 200 and r.headers["x-request-id"] == "req-42"
    (line,) = [d for d in _lines(capsys.readouterr().err) if d["request_id"] == "req-42"]
    assert (line["method"], line["route"], line["status"], line["user"]) == (
        "GET",
        "/api/v1/grids",
        200,
        "bootstrap-admin",
    )
    assert line["duration_ms"] >= 0 and line["level"] == "info"
    # No id, or one that is not a sane token: a fresh one is made and echoed.
    bad = [(b"Authorization", auth["Authorization"].encode()), (b"X-Request-ID", "bad id\u00e9".encode("latin-1"))]
    made = client.get("/api/v1/grids?limit=1", headers=bad).headers["x-request-id"]
    assert made != "bad id\u00e9" and len(made) == 32


def test_a_500_leaves_its_traceback_and_request_id_in_the_log(settings, db, capsys):
    app = create_app(settings)
    app.dependency_overrides[get_session] = lambda: db

    @app.get("/boom/{n}")
    def boom(n: int) -> dict:
        raise RuntimeError(f"kaboom {n}")

    capsys.readouterr()
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/boom/7", headers={"X-Request-ID": "trace-me"}).status_code == 500
    (line,) = [d for d in _lines(capsys.readouterr().err) if d["request_id"] == "trace-me"]
    assert (line["status"], line["route"], line["level"]) == (500, "/boom/{n}", "error")
    assert "Traceback" in line["exception"] and "RuntimeError: kaboom 7" in line["exception"]
    app.state.engine.dispose()


def test_metrics_parse_and_their_counters_move(client, auth):
    key = ("citygrid_http_requests_total", (("method", "GET"), ("route", "/api/v1/grids"), ("status", "200")))
    hist = ("citygrid_http_request_duration_seconds_count", (("method", "GET"), ("route", "/api/v1/grids")))
    before = _samples(client, auth)
    for _ in range(3):
        assert client.get("/api/v1/grids?limit=1", headers=auth).status_code == 200
    after = _samples(client, auth)
    assert after[key] - before.get(key, 0) == 3
    assert after[hist] - before.get(hist, 0) == 3
    assert ("citygrid_db_pool_in_use", ()) in after
    # The database roles (api/db_metrics.py) are in the same registry: the primary answered the probe.
    assert [v for (name, _), v in after.items() if name == "citygrid_db_up"] == [1.0]
    assert {"citygrid_tile_cache_hits_total", "citygrid_tile_cache_misses_total"} <= {name for name, _ in after}


def test_tile_cache_and_import_counters_move(client, auth, db):
    tree(db)
    before = _samples(client, auth)
    for _ in range(2):  # a miss, then a hit
        assert client.get("/tiles/grids/14/13260/6450.mvt", headers=auth).status_code == 200
    features = [point(*INSIDE, external_id=f"m-{i}") for i in range(3)] + [point(*INSIDE, category="nonsense")]
    r = post_json(client, auth, "/api/v1/incidents/bulk", collection(*features), partial="true")
    assert (r.json()["inserted"], r.json()["rejected"]) == (3, 1)
    after = _samples(client, auth)

    def moved(name: str, labels: tuple = ()) -> float:
        return after[(name, labels)] - before.get((name, labels), 0)

    assert moved("citygrid_tile_cache_misses_total") == 1 and moved("citygrid_tile_cache_hits_total") == 1
    assert moved("citygrid_import_rows_total", (("outcome", "inserted"),)) == 3
    assert moved("citygrid_import_rows_total", (("outcome", "rejected"),)) == 1


def test_metrics_can_be_admins_only(settings, db, auth):
    from geo.auth import create_user

    token = create_user(db, "metrics-viewer", ["viewer"])
    viewer = {"Authorization": f"Bearer {token}"}
    for admin_only, expected in ((False, 200), (True, 403)):
        app = create_app(settings.model_copy(update={"metrics_admin_only": admin_only}))
        app.dependency_overrides[get_session] = lambda: db
        with TestClient(app) as client:
            assert client.get("/metrics", headers=viewer).status_code == expected
            assert client.get("/metrics", headers=auth).status_code == 200
        app.state.engine.dispose()
