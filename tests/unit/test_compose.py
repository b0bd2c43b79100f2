"""docker-compose.yml cannot run here (no Docker engine), so its shape and settings names are checked."""

from __future__ import annotations

import re
import shutil
import subprocess

import yaml

from geo.settings import REPO_ROOT, Settings

COMPOSE = REPO_ROOT / "docker-compose.yml"


def test_compose_services_and_order():
    doc = yaml.safe_load(COMPOSE.read_text())
    services = doc["services"]
    assert set(services) == {"db", "migrate", "api"}
    assert re.fullmatch(r"postgis/postgis:\d+-\d+\.\d+", services["db"]["image"]), "pin the PostGIS image"
    assert "pg_isready" in " ".join(services["db"]["healthcheck"]["test"])
    assert any(v.endswith(":/var/lib/postgresql/data") for v in services["db"]["volumes"])
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert "citygrid migrate" in " ".join(services["migrate"]["command"])
    assert services["api"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "pgdata" in doc["volumes"]


def test_compose_uses_the_same_settings_names():
    doc = yaml.safe_load(COMPOSE.read_text())
    fields = {f"CITYGRID_{name.upper()}" for name in Settings.model_fields}
    for service in ("migrate", "api"):
        env = doc["services"][service]["environment"]
        unknown = {k for k in env if k.startswith("CITYGRID_")} - fields
        assert not unknown, f"{service} sets names that Settings does not read: {unknown}"


def test_compose_config_when_the_client_can():
    docker = shutil.which("docker")
    if not docker or subprocess.run([docker, "compose", "version"], capture_output=True).returncode != 0:
        return  # the plain parse above is the check on machines without the compose plugin
    env = {
        "POSTGRES_PASSWORD": "x",
        "CITYGRID_APP_PASSWORD": "x",
        "CITYGRID_OWNER_PASSWORD": "x",
        "CITYGRID_BOOTSTRAP_ADMIN_TOKEN": "x",
        "PATH": "/usr/bin:/bin",
    }
    subprocess.run([docker, "compose", "-f", str(COMPOSE), "config", "-q"], check=True, env=env)
