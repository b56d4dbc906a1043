"""The Celery side both halves share: broker configuration and the name of the render task.

The API only *sends* tasks by name, so it never imports worker (LibreOffice) code; the workers
register the task under the same name.
"""

from __future__ import annotations

from collections.abc import Iterable

from celery import Celery

from docrender.settings import Settings

RENDER_TASK = "docrender.render_document"
RENDER_QUEUE = "docrender"


def make_celery(settings: Settings) -> Celery:
    broker = settings.require_redis_url()
    app = Celery("docrender", broker=broker, set_as_current=False)
    app.conf.update(
        task_default_queue=RENDER_QUEUE,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        # Nothing accepted is lost: a message is acknowledged only after its task finished,
        # and goes back to the queue if the worker process dies while holding it.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_soft_time_limit=settings.task_soft_time_limit,
        task_time_limit=settings.task_time_limit,
        # Redis re-delivers an unacknowledged message after this long: it must outlast the
        # hard time limit, or a slow task would run twice at once (Settings checks the ladder).
        broker_transport_options={"visibility_timeout": settings.broker_visibility_timeout},
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
    )
    return app


class DocumentQueue:
    """Sends one render task per document."""

    def __init__(self, celery: Celery) -> None:
        self.celery = celery

    def enqueue(self, job_id: str, indexes: Iterable[int]) -> None:
        with self.celery.producer_or_acquire() as producer:
            for index in indexes:
                self.celery.send_task(RENDER_TASK, args=(job_id, index), producer=producer)
