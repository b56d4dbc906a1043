"""`python -m workers`: a Celery worker with one LibreOffice instance per pool process."""

from __future__ import annotations

from docrender import logs
from docrender.queue import QUEUES_BY_PRIORITY
from docrender.settings import Settings
from workers.celery_app import make_worker_celery


def main() -> None:
    logs.configure("worker")
    settings = Settings.from_env()
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
