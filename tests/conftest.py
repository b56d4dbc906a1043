"""Fixtures for the real stack: a private Redis, a Celery worker with its LibreOffice
instances, and the Flask app. Everything started here is stopped at the end of the session,
and the session fails if any LibreOffice or unoserver process it started is left behind."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psutil
import pytest
import redis
from flask.testing import FlaskClient

from api import create_app
from cli.processes import start_callback_worker, start_redis, start_worker
from docrender.heartbeats import ConverterHeartbeats
from docrender.processes import free_port
from docrender.settings import PROJECT_ROOT, Settings

SAMPLE_TEMPLATE = PROJECT_ROOT / "templates" / "report.docx"
SAMPLE_JOB = PROJECT_ROOT / "templates" / "report-job.json"


def processes_using(path: Path) -> list[psutil.Process]:
    """Processes whose command line mentions ``path`` (our LibreOffice profiles live there)."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if any(str(path) in part for part in process.info["cmdline"] or []):
            found.append(process)
    return found


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("docrender-data")


@pytest.fixture(scope="session")
def redis_url(data_dir: Path) -> Iterator[str]:
    process, url = start_redis(data_dir, free_port())
    yield url
    process.stop(grace_seconds=10)


@pytest.fixture(scope="session")
def base_env(data_dir: Path, redis_url: str) -> dict[str, str]:
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
    )
    return env


@pytest.fixture(scope="session")
def settings(base_env: dict[str, str]) -> Settings:
    return Settings.from_env(base_env)


@pytest.fixture(scope="session")
def redis_client(redis_url: str) -> redis.Redis:
    return redis.Redis.from_url(redis_url, decode_responses=True)


def worker_log(data_dir: Path) -> Path:
    """Where the session's worker writes its log (tests read what it did there)."""
    return data_dir / "logs" / "worker.log"


@pytest.fixture(scope="session")
def worker(base_env: dict[str, str], redis_client: redis.Redis, data_dir: Path) -> Iterator[None]:
    """A real Celery worker, ready once each of its LibreOffice instances converted a
    document (the same signal /readyz uses)."""
    process = start_worker(base_env, worker_log(data_dir))
    callbacks = start_callback_worker(base_env, data_dir / "logs" / "callbacks.log")
    heartbeats = ConverterHeartbeats(redis_client)
    deadline = time.monotonic() + 180
    try:
        while len(heartbeats.recent(60)) < 2:
            assert process.running(), "the worker exited during start-up"
            assert time.monotonic() < deadline, "the worker's converters did not become ready"
            time.sleep(0.2)
        yield
    finally:  # also when start-up failed: nothing the session started may outlive it
        callbacks.stop(grace_seconds=20)
        process.stop(grace_seconds=60)
    leftovers = processes_using(data_dir)
    assert not leftovers, f"left running after the worker stopped: {leftovers}"


@dataclass
class Tenant:
    """A test client authenticated as one tenant."""

    client: FlaskClient
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    @property
    def name(self) -> str:
        """The tenant this client's key belongs to."""
        return self.client.application.extensions["docrender"].settings.api_keys[self.key]  # type: ignore[no-any-return]

    def get(self, url: str, headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
        return self.client.get(url, headers={**self.headers, **(headers or {})}, **kwargs)

    def post(self, url: str, headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
        return self.client.post(url, headers={**self.headers, **(headers or {})}, **kwargs)

    def delete(self, url: str, headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
        return self.client.delete(url, headers={**self.headers, **(headers or {})}, **kwargs)

    def upload(self, data: bytes, filename: str = "template.docx") -> Any:
        return self.post("/v1/templates", data={"file": (io.BytesIO(data), filename)})

    def submit(self, template_id: str, documents: list[dict[str, Any]], **options: Any) -> Any:
        return self.post(
            "/v1/jobs", json={"template": template_id, "documents": documents, **options}
        )

    def merged(self, job_id: str, timeout: float = 60) -> Any:
        """The merged volume, once the merge task that follows the job's end has built it."""
        deadline = time.monotonic() + timeout
        while (response := self.get(f"/v1/jobs/{job_id}/merged")).status_code == 409:
            assert time.monotonic() < deadline, "the merged volume was never built"
            time.sleep(0.2)
        return response

    def wait_for(self, job_id: str, timeout: float = 180) -> dict[str, Any]:
        """Poll the job until it finishes, as a client would."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.get(f"/v1/jobs/{job_id}").get_json()
            if job["finished_at"] is not None:
                return job  # type: ignore[no-any-return]
            assert time.monotonic() < deadline, f"job did not finish: {job}"
            time.sleep(0.2)


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
    return json.loads(SAMPLE_JOB.read_text())["documents"]  # type: ignore[no-any-return]


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """An HTTP endpoint on loopback that answers with ``statuses`` in turn (then 200)."""

    statuses: list[int] = field(default_factory=list)
    calls: list[Received] = field(default_factory=list)
    url: str = ""


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
