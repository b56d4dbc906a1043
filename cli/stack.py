"""`make run`: the whole stack in the foreground.

Starts, in order: Redis (a private one under the data dir unless DOCRENDER_REDIS_URL is set),
the Celery worker (which starts one LibreOffice per pool process), the webhook worker, and the
API under gunicorn. Ctrl-C or SIGTERM stops them all, in reverse order, and leaves nothing running;
so does SIGINT or SIGTERM sent to `make run`'s make alone, as a supervisor sends it (_Parent).
"""

from __future__ import annotations

import functools
import os
import secrets
import shutil
import signal
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import redis

from cli.processes import (
    ManagedProcess,
    start_api,
    start_callback_worker,
    start_redis,
    start_worker,
)
from docrender.processes import free_port
from docrender.settings import PROJECT_ROOT, Settings, SettingsError
from docrender.storage import storage_from_settings
from docrender.templates.inspection import inspect_here
from docrender.templates.registry import TemplateRegistry
from docrender.tenants.usage import Usage

SAMPLE_TEMPLATE = PROJECT_ROOT / "templates" / "report.docx"
# Under the data dir: the private Redis of the running `make run` (for `docrender keys`) and
# the development key (for `docrender submit`).
REDIS_URL_FILE = "redis-url"
DEVELOPMENT_KEY_FILE = "dev-api-key"


def development_key(data_dir: Path) -> str:
    """The development key, kept under the data dir so it survives restarts."""
    path = data_dir / DEVELOPMENT_KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"dev:{secrets.token_urlsafe(24)}\n")
        path.chmod(0o600)
    return path.read_text().strip()


def _fresh_directory(path: Path) -> None:
    """An empty directory: metrics files of an earlier run would be added to this one's."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)


def register_sample_template(settings: Settings) -> dict[str, str]:
    """Register templates/report.docx for every tenant; returns tenant -> template id."""
    client = redis.Redis.from_url(settings.require_redis_url(), decode_responses=True)
    storage = storage_from_settings(settings, Usage(client, settings.tenant_storage_bytes))
    registry = TemplateRegistry(
        client, storage, inspect=functools.partial(inspect_here, fonts_dir=settings.fonts_dir)
    )
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
    # The children's environment: this one, with what make run decides filled in.
    env = dict(os.environ)
    env["DOCRENDER_DATA_DIR"] = str(settings.data_dir)
    if not env.get("PROMETHEUS_MULTIPROC_DIR"):  # where every process writes its metrics
        env["PROMETHEUS_MULTIPROC_DIR"] = str(settings.data_dir / "metrics")
    _fresh_directory(Path(env["PROMETHEUS_MULTIPROC_DIR"]))
    given_keys = bool(settings.api_keys)
    stopping: list[int] = []
    parent = _Parent()
    signal.signal(signal.SIGTERM, lambda signum, _: stopping.append(signum))
    signal.signal(signal.SIGINT, lambda signum, _: stopping.append(signum))

    started: list[ManagedProcess] = []
    try:
        if not settings.redis_url:
            redis_process, env["DOCRENDER_REDIS_URL"] = start_redis(
                settings.data_dir, free_port(), settings.redis_max_memory
            )
            started.append(redis_process)
            (settings.data_dir / REDIS_URL_FILE).write_text(env["DOCRENDER_REDIS_URL"] + "\n")
        if not settings.api_keys:
            env["DOCRENDER_API_KEYS"] = development_key(settings.data_dir)
        settings = Settings.from_env(env)  # validated again with what was filled in
        samples = register_sample_template(settings)
        started.append(start_worker(env))
        started.append(start_callback_worker(env))
        started.append(start_api(env, settings.bind))
        _print_banner(settings, env, samples, show_key=not given_keys)
        while not stopping and all(p.running() for p in started) and not parent.gave_up():
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


class _Parent:
    """The process that started the stack, watched so that signalling it alone stops the stack.

    Under `make run` that is GNU make, which passes SIGTERM on to the stack but not SIGINT: it
    expects the terminal to have sent Ctrl-C to its whole process group, and waits for its
    children. A supervisor signals make alone. So the stack also stops when make stops catching
    SIGINT (its handler resets SIGINT to the default before it waits: /proc shows it), and when
    make is gone (killed outright: the stack is reparented). Started otherwise, only its own
    signals stop it."""

    def __init__(self) -> None:
        self.pid = os.getppid()
        name, caught = _status(self.pid)
        self.is_make = name == "make" and caught & _SIGINT_BIT != 0

    def gave_up(self) -> bool:
        if not self.is_make:
            return False
        return os.getppid() != self.pid or _status(self.pid)[1] & _SIGINT_BIT == 0


_SIGINT_BIT = 1 << (signal.SIGINT - 1)


def _status(pid: int) -> tuple[str, int]:
    """A process's name and the signals it catches (Linux /proc), or ("", 0)."""
    name, caught = "", 0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("Name:"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("SigCgt:"):
                caught = int(line.split(":", 1)[1], 16)
    except OSError:
        pass
    return name, caught


def _print_banner(
    settings: Settings, env: Mapping[str, str], samples: dict[str, str], show_key: bool
) -> None:
    lines = [
        f"docrender is serving on http://{settings.bind}",
        f"  redis:  {env['DOCRENDER_REDIS_URL']}",
        f"  data:   {settings.data_dir}",
    ]
    if show_key:
        key = env["DOCRENDER_API_KEYS"].split(":", 1)[1]
        lines.append(f"  development API key (tenant 'dev'): {key}")
    lines += [f"  sample template for tenant {t}: {tid}" for t, tid in samples.items()]
    lines.append("Ctrl-C stops everything.")
    print("\n".join(lines), file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
