"""Open311: the service list, registering an app (key shown once, only its hash kept), errors, rate limit."""

from __future__ import annotations

import hashlib

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from api.public_reads import TokenBuckets
from geo import models
from geo.errors import TooManyRequests
from tests.conftest import ADMIN_TOKEN

pytestmark = pytest.mark.db
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def test_services_are_the_public_categories_chinese_first(client):
    services = client.get("/open311/v2/services.json").json()
    assert [s["service_code"] for s in services] == ["dispute", "hazard", "service", "other"]
    hazard = services[1]
    assert hazard["service_name"] == "安全隐患 Safety hazard"
    assert hazard["metadata"] is False and hazard["type"] == "realtime"


def test_an_app_key_is_shown_once_and_only_its_hash_is_kept(client, db):
    answer = client.post("/api/v1/open311/apps", json={"name": "随手拍 Snap", "contact": "ops"}, headers=ADMIN)
    assert answer.status_code == 201
    key = answer.json()["api_key"]
    stored = db.execute(select(models.Open311App).where(models.Open311App.name == "随手拍 Snap")).scalar_one()
    assert stored.key_sha256 == hashlib.sha256(key.encode()).hexdigest()
    listed = client.get("/api/v1/open311/apps", headers=ADMIN).json()
    assert [a["name"] for a in listed] == ["随手拍 Snap"] and key not in str(listed)
    again = client.post("/api/v1/open311/apps", json={"name": "随手拍 Snap"}, headers=ADMIN)
    assert again.status_code == 400 and again.json()["field"] == "name"
    audit = db.execute(
        select(models.AuditLog).where(models.AuditLog.action == "open311_app.register")
    ).scalar_one()
    assert key not in str(audit.after)


def test_only_an_admin_registers_apps(client):
    assert client.post("/api/v1/open311/apps", json={"name": "x"}).status_code == 401


def test_open311_errors_are_lists_of_code_and_description(client):
    answer = client.get("/open311/v2/services.xml")
    assert answer.status_code == 404
    assert answer.json() == [{"code": 404, "description": "不存在 Not Found"}]


def test_a_client_past_its_bucket_waits_and_others_do_not():
    # 2 tokens per second, burst 3: the 4th request at once is refused for ceil((1 - 0) / 2) = 1 s.
    buckets = TokenBuckets(rate=2.0, burst=3)
    for _ in range(3):
        buckets.spend("10.0.0.1", now=100.0)
    with pytest.raises(TooManyRequests) as refused:
        buckets.spend("10.0.0.1", now=100.0)
    assert refused.value.context["retry_after"] == 1
    buckets.spend("10.0.0.2", now=100.0)  # another client has its own bucket
    buckets.spend("10.0.0.1", now=100.5)  # half a second later one token is back


def test_the_api_answers_429_with_retry_after(settings, db):
    from fastapi.testclient import TestClient

    from api.app import create_app

    app = create_app(settings.model_copy(update={"open311_burst": 2, "open311_rate_per_s": 0.5}))
    with TestClient(app) as c:
        assert [c.get("/open311/v2/services.json").status_code for _ in range(2)] == [200, 200]
        refused = c.get("/open311/v2/services.json")
    app.state.engine.dispose()
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "2"
    assert refused.json()[0]["code"] == 429


def test_refusals_before_routing_keep_the_open311_shape(settings):
    # The input-hygiene and body-size middlewares answer before any route: still GeoReport v2's list shape.
    with TestClient(create_app(settings.model_copy(update={"max_body_bytes": 1000}))) as client:
        answer = client.get("/open311/v2/requests.json", params={"service_code": "a\x00b"})
        too_big = client.post("/open311/v2/requests.json", content=b"x" * 5000)
    [error] = answer.json()
    assert answer.status_code == 400 and error["code"] == 400 and "NUL" in error["description"]
    assert error["description"].startswith("输入有误")  # Chinese first
    assert too_big.status_code == 413 and too_big.json()[0]["code"] == 413
