"""`python -m workers`: a Celery worker with one LibreOffice instance per pool process."""

from __future__ import annotations

import sys

import redis

from docrender.jobs.queue import QUEUES_BY_PRIORITY
from docrender.monitoring import logs, metrics
from docrender.settings import Settings, SettingsError
from docrender.storage import storage_from_settings
from docrender.tenants.usage import Usage
from workers.celery_app import make_worker_celery


def main() -> None:
    logs.configure("worker")
    try:
        settings = Settings.from_env()
        # Checked once here, before any pool process starts: a missing bucket or bad
        # credentials end start-up with the variable to fix, not a pool that keeps dying.
        client = redis.Redis.from_url(settings.require_redis_url(), decode_responses=True)
        storage_from_settings(settings, Usage(client, settings.tenant_storage_bytes))
    except SettingsError as exc:
        sys.exit(f"docrender worker: configuration error: {exc}")
    if settings.metrics_bind and settings.metrics_token:  # a worker host without an API
        metrics.serve(settings.metrics_bind, settings.metrics_token, client)
    app = make_worker_celery(settings)
    app.worker_main(
        [
            "worker",
            "--loglevel=INFO",
            "--pool=prefork",
            f"--concurrency={settings.workers}",
            f"--queues={','.join(QUEUES_BY_PRIORITY)}",
            "--without-gossip",
            "--without-mingle",
            "--hostname=docrender@%h",
        ]
    )


if __name__ == "__main__":
    main()
