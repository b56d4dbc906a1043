"""The processes a test starts, and what it checks is left of them."""

from __future__ import annotations

import dataclasses
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from docrender.processes import poll_until
from docrender.settings import Settings
from workers.convert.libreoffice import UnoserverConfig

# Short rungs of the timeout ladder, so that recovery (a hung LibreOffice replaced, a dead
# worker's tasks handed to another) happens within a test. The task's limit leaves room for a
# LibreOffice started afresh before the conversion it then times out: on a loaded two-core
# machine the start alone has taken 6 s, and a 25 s limit cut the second timeout short.
SHORT_TIMEOUTS = {
    "DOCRENDER_RENDER_TIMEOUT": "5",
    "DOCRENDER_CONVERSION_TIMEOUT": "10",
    "DOCRENDER_CONVERTER_CLIENT_TIMEOUT": "15",
    "DOCRENDER_TASK_SOFT_TIME_LIMIT": "40",
    "DOCRENDER_TASK_TIME_LIMIT": "45",
    "DOCRENDER_BROKER_VISIBILITY_TIMEOUT": "60",
}


def processes_using(path: Path) -> list[psutil.Process]:
    """Processes whose command line mentions ``path`` (our LibreOffice profiles live there)."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if any(str(path) in part for part in process.info["cmdline"] or []):
            found.append(process)
    return found


def worker_log(data_dir: Path) -> Path:
    """Where the session's worker writes its log (tests read what it did there)."""
    return data_dir / "logs" / "worker.log"


def unoserver_config(work: Path, conversion_timeout: int) -> UnoserverConfig:
    """A converter instance of the tests' own, with its profile and log under ``work``."""
    settings = Settings.from_env({})
    return UnoserverConfig(
        unoserver_python=settings.unoserver_python,
        soffice_executable=settings.soffice_executable,
        conversion_timeout=conversion_timeout,
        start_timeout=90,
        work_dir=work / "run",
        log_file=work / "unoserver.log",
        memory_limit=settings.libreoffice_memory,
        run_as=settings.libreoffice_account(),
    )


def wait_until(condition: Callable[[], bool], timeout: float = 10) -> None:
    """Poll ``condition`` until it holds; fail the test after ``timeout`` seconds."""
    assert poll_until(condition, timeout, interval=0.05), f"not true within {timeout}s"


def wait_ready(base: str, process: subprocess.Popen[bytes], seconds: float = 180) -> None:
    """Wait until a stack started as ``process`` answers /readyz at ``base``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "the stack exited during start-up"
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    pytest.fail("the stack did not become ready")


@dataclasses.dataclass(frozen=True)
class ObjectStore:
    """moto's standalone S3 server: a real S3 wire protocol on loopback."""

    endpoint: str
    env: dict[str, str]  # the AWS_* variables a client of it needs

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )

    def new_bucket(self) -> str:
        name = f"docrender-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name


def peak_memory_growth(action: Callable[[], Any]) -> tuple[Any, float]:
    """``action()``'s result, and how far this process's resident memory rose above where it
    started while ``action`` ran (MiB, sampled every 5 ms): what a request costs the API
    process a test client runs in."""
    import threading

    process = psutil.Process()
    start = peak = process.memory_info().rss
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(0.005):
            peak = max(peak, process.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        result = action()
    finally:
        done.set()
        sampler.join()
    return result, (max(peak, process.memory_info().rss) - start) / (1 << 20)


def no_webhook_pending(client: Any, job_id: str) -> bool:
    """Whether no webhook delivery of ``job_id`` is waiting in the broker: none queued, none
    held by a worker (a retry's countdown is held unacknowledged). Then no further POST can
    come, without sleeping to see."""
    from docrender.jobs.queue import CALLBACK_QUEUE, CALLBACK_TASK

    queued = client.lrange(CALLBACK_QUEUE, 0, -1)
    held = client.hvals("unacked")
    return not any(CALLBACK_TASK in message and job_id in message for message in queued + held)
