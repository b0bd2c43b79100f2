"""docker-compose.yml cannot run here (no Docker engine), so its shape and settings names are checked.

The shape is checked against the Compose Specification's JSON schema as docker-compose 1.29.2 shipped it
(tests/data/compose_spec.json, Apache-2.0, see compose_spec.LICENSE), not against our own idea of it; then
what this deployment needs: a streaming standby, a scalable API with a health check, a proxy checking /health.
Every assumption is an assertion: a missing service or key fails, nothing returns early or skips (the former
`docker compose config` check returned silently on machines without Docker, i.e. here and in CI).
"""

from __future__ import annotations

import json
import re

import jsonschema_rs
import pytest
import yaml

from geo.settings import REPO_ROOT, Settings

COMPOSE = REPO_ROOT / "docker-compose.yml"
SCHEMA = REPO_ROOT / "tests" / "data" / "compose_spec.json"
HAPROXY = REPO_ROOT / "docker" / "haproxy.cfg"


@pytest.fixture(scope="module")
def doc() -> dict:
    loaded = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(loaded, dict) and isinstance(loaded.get("services"), dict), "compose file without services"
    return loaded


def test_compose_file_follows_the_compose_specification(doc):
    # The top-level `name` came into the specification after the 2021 schema we keep; checked by hand here.
    assert isinstance(doc.get("name"), str)
    body = {k: v for k, v in doc.items() if k != "name"}
    errors = [
        f"{e.instance_path}: {e.message}"
        for e in jsonschema_rs.validator_for(json.loads(SCHEMA.read_text())).iter_errors(body)
    ]
    assert errors == []


def test_the_schema_check_itself_rejects_a_wrong_file(doc):
    validator = jsonschema_rs.validator_for(json.loads(SCHEMA.read_text()))
    broken = {k: v for k, v in doc.items() if k != "name"}
    broken["services"] = {**broken["services"], "api": {**broken["services"]["api"], "healthcheck": {"test": 5}}}
    assert not validator.is_valid(broken)


def test_compose_services_and_order(doc):
    services = doc["services"]
    assert set(services) == {"db", "db-replica", "migrate", "api", "proxy"}
    for name in ("db", "db-replica"):
        assert re.fullmatch(r"postgis/postgis:\d+-\d+\.\d+", services[name]["image"]), "pin the PostGIS image"
        assert "pg_isready" in " ".join(services[name]["healthcheck"]["test"])
    assert any(v.endswith(":/var/lib/postgresql/data") for v in services["db"]["volumes"])
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert "citygrid migrate" in " ".join(services["migrate"]["command"])
    assert services["api"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert {"pgdata", "replica-data"} <= set(doc["volumes"])


def test_replica_streams_from_the_primary(doc):
    replica = doc["services"]["db-replica"]
    script = " ".join(replica["command"])
    assert "pg_basebackup -h db " in script and " -R " in script and "-X stream" in script
    assert "hot_standby=on" in script
    assert replica["depends_on"]["db"]["condition"] == "service_healthy"
    assert any(v.startswith("replica-data:") for v in replica["volumes"])
    init = [v for v in doc["services"]["db"]["volumes"] if "/docker-entrypoint-initdb.d/" in v]
    assert len(init) == 1, "the primary needs its replication role and pg_hba entry"
    script_text = (REPO_ROOT / init[0].split(":")[0].removeprefix("./")).read_text()
    assert "REPLICATION LOGIN" in script_text and "host replication citygrid_replicator" in script_text


def test_api_scales_behind_a_proxy_that_checks_health(doc):
    api, proxy = doc["services"]["api"], doc["services"]["proxy"]
    # `--scale api=3` fails on a fixed host port or a container name.
    assert "ports" not in api and "container_name" not in api
    assert "/health" in " ".join(api["healthcheck"]["test"])
    assert proxy["depends_on"]["api"]["condition"] == "service_healthy"
    assert any(p.endswith(":8000") for p in proxy["ports"])
    assert any(v.split(":")[0] == "./docker/haproxy.cfg" for v in proxy["volumes"])
    cfg = HAPROXY.read_text()
    assert "option httpchk GET /health" in cfg
    assert re.search(r"server-template api \d+ api:8000 check .*resolvers docker", cfg)


def test_api_reads_from_the_replica_and_finds_a_promoted_primary(doc):
    env = doc["services"]["api"]["environment"]
    assert "db:5432,db-replica:5432" in env["CITYGRID_DATABASE_URL"]
    assert env["CITYGRID_DATABASE_URL"].endswith("target_session_attrs=read-write")
    assert env["CITYGRID_REPLICA_DATABASE_URL"].endswith("target_session_attrs=prefer-standby")


def test_compose_uses_the_same_settings_names(doc):
    fields = {f"CITYGRID_{name.upper()}" for name in Settings.model_fields}
    for service in ("migrate", "api"):
        env = doc["services"][service]["environment"]
        unknown = {k for k in env if k.startswith("CITYGRID_")} - fields
        assert not unknown, f"{service} sets names that Settings does not read: {unknown}"
