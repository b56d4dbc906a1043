"""The stack's processes, started and stopped as a group: a private Redis, the render worker,
the webhook worker and the API. The stack runner, the tests and the benchmark all start them
through here, so every one of them runs the same commands."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path

import redis

from docrender.processes import poll_until
from docrender.settings import PROJECT_ROOT

BIN = Path(sys.executable).parent
GUNICORN_CONFIG = PROJECT_ROOT / "deploy" / "gunicorn.conf.py"


class ManagedProcess:
    """A child in its own process group, so stopping it also stops whatever it started."""

    def __init__(
        self, name: str, command: list[str], env: Mapping[str, str], log: Path | None = None
    ) -> None:
        """Output goes to ``log`` when given, else to this terminal."""
        self.name = name
        with contextlib.ExitStack() as stack:
            out = None
            if log is not None:
                log.parent.mkdir(parents=True, exist_ok=True)
                out = stack.enter_context(log.open("ab"))
            self.process = subprocess.Popen(
                command,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                start_new_session=True,
            )

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, grace_seconds: float) -> None:
        """SIGTERM to the process itself (Celery's and gunicorn's main processes then stop
        their children gracefully), wait for a clean exit, then SIGKILL the whole group."""
        with contextlib.suppress(ProcessLookupError):
            self.process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=grace_seconds)
        # Stragglers of the group (a LibreOffice that ignored SIGTERM) go now.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)

    def wait_until(self, check: Callable[[], object], seconds: float, failure: str) -> None:
        """Poll a real round trip until it succeeds; fail early if the process died."""

        def died() -> str | None:
            code = self.process.poll()
            return None if code is None else f"{failure}: it exited with {code}"

        if not poll_until(check, seconds, give_up=died):
            raise RuntimeError(f"{failure} within {seconds}s")


def start_redis(data_dir: Path, port: int, max_memory: int = 1024**3) -> tuple[ManagedProcess, str]:
    """A private redis-server with the append-only file on: accepted jobs survive a restart.
    Past ``max_memory`` it refuses writes (noeviction: an accepted job is never dropped to make
    room), which the API answers with 503."""
    directory = data_dir / "redis"
    directory.mkdir(parents=True, exist_ok=True)
    command = [
        "redis-server",
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--dir",
        str(directory),
        "--appendonly",
        "yes",
        "--save",
        "",
        "--maxmemory",
        str(max_memory),
        "--maxmemory-policy",
        "noeviction",
        "--daemonize",
        "no",
    ]
    process = ManagedProcess("redis", command, os.environ, data_dir / "logs" / "redis.log")
    url = f"redis://127.0.0.1:{port}/0"
    process.wait_until(lambda: _redis_answers(url), 20, "redis-server did not start")
    return process, url


def start_worker(env: Mapping[str, str], log: Path | None = None) -> ManagedProcess:
    return ManagedProcess("worker", [str(BIN / "python"), "-m", "workers"], env, log)


def start_callback_worker(env: Mapping[str, str], log: Path | None = None) -> ManagedProcess:
    command = [str(BIN / "python"), "-m", "workers.callback_worker"]
    return ManagedProcess("callbacks", command, env, log)


def start_api(env: Mapping[str, str], bind: str, log: Path | None = None) -> ManagedProcess:
    """gunicorn with deploy/gunicorn.conf.py, which reads its bind address and process count
    from the settings in ``env``; ``bind`` is where to check that it answers."""
    command = [str(BIN / "gunicorn"), "--config", str(GUNICORN_CONFIG)]
    process = ManagedProcess("api", command, env, log)
    process.wait_until(lambda: _http_ok(f"http://{bind}/healthz"), 30, "the API did not start")
    return process


def _redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False
