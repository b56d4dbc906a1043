"""docker-compose.yml: what it promises, read from the file, and `docker compose config`'s
own check where the compose tool is installed (this machine runs no Docker engine)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import yaml

from docrender.settings import PROJECT_ROOT

COMPOSE = PROJECT_ROOT / "docker-compose.yml"


def services() -> dict[str, dict]:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def test_every_long_running_service_restarts_and_waits_for_what_it_needs() -> None:
    found = services()
    for name in ("redis", "minio", "api", "worker", "callbacks"):
        assert found[name]["restart"] == "unless-stopped", name
    for name in ("api", "worker", "callbacks"):
        assert found[name]["init"] is True, name  # PID 1 reaps LibreOffice's children
        assert found[name]["depends_on"]["redis"]["condition"] == "service_healthy", name
    for name in ("api", "worker"):
        assert found[name]["depends_on"]["bucket"]["condition"] == "service_completed_successfully"
    assert "readyz" in " ".join(found["api"]["healthcheck"]["test"])
    assert found["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    assert found["sample"]["depends_on"]["api"]["condition"] == "service_healthy"
    assert found["api"]["ports"] == ["${DOCRENDER_PORT:-8000}:8000"]


def test_api_and_workers_share_an_object_store_not_a_volume() -> None:
    """Files go through the object store; the one volume they mount is the deployment's fonts,
    read-only."""
    found = services()
    fonts = f"fonts:{found['worker']['environment']['DOCRENDER_FONTS_DIR']}:ro"
    for name in ("api", "worker", "callbacks"):
        env = found[name]["environment"]
        assert env["DOCRENDER_STORAGE"] == "s3" and env["DOCRENDER_S3_ENDPOINT_URL"]
        assert found[name].get("volumes", []) in ([], [fonts]), name
    assert found["api"]["volumes"] == found["worker"]["volumes"] == [fonts]
    assert "mc mb --ignore-existing local/docrender" in " ".join(found["bucket"]["command"])


@pytest.mark.skipif(
    shutil.which("docker") is None
    or subprocess.run(["docker", "compose", "version"], capture_output=True).returncode != 0,
    reason="the docker compose tool is not installed here",
)
def test_docker_compose_accepts_the_file() -> None:
    checked = subprocess.run(
        ["docker", "compose", "-f", str(COMPOSE), "config", "--quiet"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "DOCRENDER_API_KEYS": "county:a-key-for-the-check"},
    )
    assert checked.returncode == 0, checked.stderr
