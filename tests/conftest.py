"""Fixtures for the real stack: a private Redis, a Celery worker with its LibreOffice
instances, and the Flask app. Everything started here is stopped at the end of the session,
and the session fails if any LibreOffice or unoserver process it started is left behind."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys
import tempfile
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import redis

from api import create_app
from cli.processes import ManagedProcess, start_callback_worker, start_redis, start_worker
from docrender.monitoring.heartbeats import ConverterHeartbeats
from docrender.processes import free_port
from docrender.settings import Settings
from tests.helpers.clients import Received, Receiver, Tenant
from tests.helpers.fonts import renamed_font
from tests.helpers.processes import ObjectStore, processes_using, worker_log
from tests.helpers.samples import SAMPLE_JOB, SAMPLE_TEMPLATE

# What a test needs, read from the fixtures it uses (and a module's own ``pytestmark`` for
# tests that start a stack of their own), so that `make test-unit` can leave both out.
_NEEDS = {
    "redis": {"redis_url"},
    "libreoffice": {"worker", "converter"},
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for mark, fixtures in _NEEDS.items():
            if fixtures & set(getattr(item, "fixturenames", ())):
                item.add_marker(mark)


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("docrender-data")


@pytest.fixture(scope="session")
def redis_url(data_dir: Path) -> Iterator[str]:
    process, url = start_redis(data_dir, free_port())
    yield url
    process.stop(grace_seconds=10)


@pytest.fixture(scope="session")
def fonts_dir() -> Iterator[Path]:
    """The deployment's own fonts (DOCRENDER_FONTS_DIR): one face named Georgia (Caladea
    renamed; docrender would otherwise draw Georgia with DejaVu Serif), in a directory the
    user LibreOffice runs as can read."""
    directory = Path(tempfile.mkdtemp(prefix="docrender-test-fonts-"))
    directory.chmod(0o755)
    (directory / "georgia.ttf").write_bytes(renamed_font("Georgia"))
    (directory / "georgia.ttf").chmod(0o644)
    yield directory
    shutil.rmtree(directory)


@pytest.fixture(scope="session")
def base_env(data_dir: Path, redis_url: str, fonts_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCRENDER_")}
    env.update(
        DOCRENDER_REDIS_URL=redis_url,
        DOCRENDER_DATA_DIR=str(data_dir),
        DOCRENDER_WORKERS="2",
        DOCRENDER_API_KEYS="tenant1:key1,tenant2:key2",
        DOCRENDER_RENDER_TIMEOUT="5",  # so a runaway template is cut off within a test
        # Webhook receivers in tests listen on loopback; retries come quickly.
        DOCRENDER_WEBHOOK_ALLOW_PRIVATE="1",
        DOCRENDER_WEBHOOK_RETRY_DELAY="1",
        # A job's end left unhandled is sent again after seconds, not minutes
        # (tests/e2e/test_job_end.py); handling one twice is harmless.
        DOCRENDER_END_GRACE="3",
        DOCRENDER_FONTS_DIR=str(fonts_dir),
    )
    return env


@pytest.fixture(scope="session")
def settings(base_env: dict[str, str]) -> Settings:
    return Settings.from_env(base_env)


@pytest.fixture(scope="session")
def redis_client(redis_url: str) -> redis.Redis:
    return redis.Redis.from_url(redis_url, decode_responses=True)


@pytest.fixture(scope="session")
def worker(base_env: dict[str, str], redis_client: redis.Redis, data_dir: Path) -> Iterator[None]:
    """A real Celery worker, ready once each of its LibreOffice instances converted a
    document (the same signal /readyz uses)."""
    process = start_worker(base_env, worker_log(data_dir))
    callbacks = start_callback_worker(base_env, data_dir / "logs" / "callbacks.log")
    heartbeats = ConverterHeartbeats(redis_client)
    try:
        process.wait_until(
            lambda: len(heartbeats.recent(60)) >= 2, 180, "the worker's converters did not start"
        )
        yield
    finally:  # also when start-up failed: nothing the session started may outlive it
        callbacks.stop(grace_seconds=20)
        process.stop(grace_seconds=60)
    leftovers = processes_using(data_dir)
    assert not leftovers, f"left running after the worker stopped: {leftovers}"


@pytest.fixture
def tenants(settings: Settings) -> tuple[Tenant, Tenant]:
    """Two fresh tenants (unique per test, so templates never collide between tests)."""
    one, two = f"t{uuid.uuid4().hex[:8]}", f"t{uuid.uuid4().hex[:8]}"
    keys = {f"key-{one}": one, f"key-{two}": two}
    app = create_app(dataclasses.replace(settings, api_keys=keys))
    client = app.test_client()
    return Tenant(client, f"key-{one}"), Tenant(client, f"key-{two}")


@pytest.fixture
def tenant(tenants: tuple[Tenant, Tenant]) -> Tenant:
    return tenants[0]


@pytest.fixture(scope="session")
def sample_template() -> bytes:
    return SAMPLE_TEMPLATE.read_bytes()


@pytest.fixture(scope="session")
def sample_documents() -> list[dict[str, Any]]:
    return json.loads(SAMPLE_JOB.read_text())["documents"]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.calls.append(Received(dict(self.headers.items()), body))
            self.send_response(state.statuses.pop(0) if state.statuses else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/docrender"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def object_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ObjectStore]:
    port = free_port()
    command = [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DOCRENDER_"))}
    server = ManagedProcess("moto", command, env, tmp_path_factory.mktemp("moto") / "moto.log")
    endpoint = f"http://127.0.0.1:{port}"
    try:
        server.wait_until(lambda: _answers(endpoint), 60, "moto's S3 server did not start")
        yield ObjectStore(
            endpoint,
            {
                "AWS_ACCESS_KEY_ID": "test",
                "AWS_SECRET_ACCESS_KEY": "test",
                "AWS_DEFAULT_REGION": "us-east-1",
            },
        )
    finally:
        server.stop(grace_seconds=10)


def _answers(url: str) -> bool:
    import httpx

    try:
        return httpx.get(url, timeout=1).status_code < 500
    except httpx.TransportError:
        return False
