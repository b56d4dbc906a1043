"""`make run`: the whole stack in the foreground, and the process helpers tests reuse.

Starts, in order: Redis (a private one under the data dir unless DOCRENDER_REDIS_URL is set),
the Celery worker (which starts one LibreOffice per pool process), the webhook worker, and the
API under gunicorn. Ctrl-C or SIGTERM stops them all, in reverse order, and leaves nothing running.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path

import redis

from docrender.settings import PROJECT_ROOT, Settings, SettingsError
from docrender.storage import storage_from_settings
from docrender.template_registry import TemplateRegistry

SAMPLE_TEMPLATE = PROJECT_ROOT / "templates" / "report.docx"
# Under the data dir: the private Redis of the running `make run`, for `docrender keys`.
REDIS_URL_FILE = "redis-url"
BIN = Path(sys.executable).parent


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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_redis(data_dir: Path, port: int) -> tuple[ManagedProcess, str]:
    """A private redis-server with the append-only file on: accepted jobs survive a restart."""
    directory = data_dir / "redis"
    directory.mkdir(parents=True, exist_ok=True)
    command = [
        "redis-server",
        "--bind", "127.0.0.1",
        "--port", str(port),
        "--dir", str(directory),
        "--appendonly", "yes",
        "--save", "",
        "--daemonize", "no",
    ]  # fmt: skip
    process = ManagedProcess("redis", command, os.environ, data_dir / "logs" / "redis.log")
    url = f"redis://127.0.0.1:{port}/0"
    wait_until(lambda: _redis_answers(url), 20, "redis-server did not start", process)
    return process, url


def start_worker(env: Mapping[str, str], log: Path | None = None) -> ManagedProcess:
    return ManagedProcess("worker", [str(BIN / "python"), "-m", "workers"], env, log)


def start_callback_worker(env: Mapping[str, str], log: Path | None = None) -> ManagedProcess:
    command = [str(BIN / "python"), "-m", "workers.callback_worker"]
    return ManagedProcess("callbacks", command, env, log)


def start_api(
    env: Mapping[str, str], bind: str, processes: int, log: Path | None = None
) -> ManagedProcess:
    command = [
        str(BIN / "gunicorn"),
        "--bind", bind,
        "--workers", str(processes),
        # Threads, so that long polls (?wait=) do not hold a whole process each.
        "--worker-class", "gthread",
        "--threads", "16",
        "--access-logfile", "-",
        "--graceful-timeout", "20",
        "--no-control-socket",
        "api:create_app_from_env()",
    ]  # fmt: skip
    process = ManagedProcess("api", command, env, log)
    wait_until(lambda: _http_ok(f"http://{bind}/healthz"), 30, "the API did not start", process)
    return process


def wait_until(check, seconds: float, failure: str, process: ManagedProcess) -> None:  # type: ignore[no-untyped-def]
    """Poll a real round trip until it succeeds; fail early if the process died."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        if not process.running():
            raise RuntimeError(f"{failure}: it exited with {process.process.returncode}")
        time.sleep(0.1)
    raise RuntimeError(f"{failure} within {seconds}s")


def _redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def development_key(data_dir: Path) -> str:
    """The development key, kept under the data dir so it survives restarts."""
    path = data_dir / "dev-api-key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"dev:{secrets.token_urlsafe(24)}\n")
        path.chmod(0o600)
    return path.read_text().strip()


def register_sample_template(settings: Settings) -> dict[str, str]:
    """Register templates/report.docx for every tenant; returns tenant -> template id."""
    client = redis.Redis.from_url(settings.require_redis_url(), decode_responses=True)
    registry = TemplateRegistry(client, storage_from_settings(settings))
    data = SAMPLE_TEMPLATE.read_bytes()
    return {
        tenant: registry.add(tenant, data, "匯報材料 (sample)")[0].id
        for tenant in sorted(set(settings.api_keys.values()))
    }


def main() -> int:
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"docrender: configuration error: {exc}", file=sys.stderr)
        return 2
    env = dict(os.environ)
    env["DOCRENDER_DATA_DIR"] = str(settings.data_dir)
    stopping: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, _: stopping.append(signum))
    signal.signal(signal.SIGINT, lambda signum, _: stopping.append(signum))

    started: list[ManagedProcess] = []
    try:
        if not settings.redis_url:
            redis_process, env["DOCRENDER_REDIS_URL"] = start_redis(settings.data_dir, free_port())
            started.append(redis_process)
            (settings.data_dir / REDIS_URL_FILE).write_text(env["DOCRENDER_REDIS_URL"] + "\n")
        if not settings.api_keys:
            env["DOCRENDER_API_KEYS"] = development_key(settings.data_dir)
        settings = Settings.from_env(env)
        samples = register_sample_template(settings)
        started.append(start_worker(env))
        started.append(start_callback_worker(env))
        started.append(start_api(env, settings.bind, settings.api_processes))
        _print_banner(settings, env, samples)
        while not stopping and all(p.running() for p in started):
            time.sleep(0.5)
        for process in started:
            if not process.running():
                print(f"docrender: {process.name} exited; stopping", file=sys.stderr)
    finally:
        print("docrender: stopping...", file=sys.stderr)
        for process in reversed(started):
            # The worker finishes the documents it is converting before it exits.
            process.stop(grace_seconds=60 if process.name == "worker" else 20)
    return 0


def _print_banner(settings: Settings, env: Mapping[str, str], samples: dict[str, str]) -> None:
    lines = [
        f"docrender is serving on http://{settings.bind}",
        f"  redis:  {env['DOCRENDER_REDIS_URL']}",
        f"  data:   {settings.data_dir}",
    ]
    if "DOCRENDER_API_KEYS" not in os.environ:
        key = env["DOCRENDER_API_KEYS"].split(":", 1)[1]
        lines.append(f"  development API key (tenant 'dev'): {key}")
    lines += [f"  sample template for tenant {t}: {tid}" for t, tid in samples.items()]
    lines.append("Ctrl-C stops everything.")
    print("\n".join(lines), file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
