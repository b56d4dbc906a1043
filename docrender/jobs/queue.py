"""The Celery side both halves share: broker configuration and the name of the render task.

The API only *sends* tasks by name, so it never imports worker (LibreOffice) code; the workers
register the task under the same name.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Protocol

from celery import Celery

from docrender.settings import Settings

RENDER_TASK = "docrender.render_documents"
JOB_ENDED_TASK = "docrender.merge_job"  # its first duty; the name stays for queued tasks
CALLBACK_TASK = "docrender.deliver_callback"
# Webhooks have a worker of their own (workers/callback_worker.py), so a slow receiver never
# holds a process that could be converting.
CALLBACK_QUEUE = "docrender.callbacks"
# Small jobs (a person waiting for one report) go to their own queue, which workers always
# serve first, so they never wait behind a bureau's batch of hundreds.
INTERACTIVE_QUEUE = "docrender.interactive"
BULK_QUEUE = "docrender.bulk"
QUEUES_BY_PRIORITY = (INTERACTIVE_QUEUE, BULK_QUEUE)


def make_celery(settings: Settings) -> Celery:
    broker = settings.require_redis_url()
    app = Celery("docrender", broker=broker, set_as_current=False)
    app.conf.update(
        task_default_queue=BULK_QUEUE,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        # Nothing accepted is lost: a message is acknowledged only after its task finished,
        # and goes back to the queue if the worker process dies while holding it.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # A task killed by the hard time limit goes back to the queue too (Celery would ack it
        # as failed, leaving its documents "running" forever); the job store's crash count
        # quarantines a document that keeps running into the limit.
        task_acks_on_timeout=False,
        worker_prefetch_multiplier=1,
        task_soft_time_limit=settings.task_soft_time_limit,
        task_time_limit=settings.task_time_limit,
        # Redis re-delivers an unacknowledged message after this long: it must outlast the
        # hard time limit, or a slow task would run twice at once (Settings checks the ladder).
        broker_transport_options={
            "visibility_timeout": settings.broker_visibility_timeout,
            # Always take from the first queue that has work (see QUEUES_BY_PRIORITY).
            "queue_order_strategy": "priority",
        },
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        # Task events on, so that Flower (or `celery events`) watches the same broker.
        worker_send_task_events=True,
        task_send_sent_event=True,
    )
    return app


class JobQueue(Protocol):
    """What the API and the workers send through the broker: a job's render tasks, the task
    that follows its end, its webhook deliveries. ``DocumentQueue`` sends them with Celery;
    tests hold or refuse them."""

    def enqueue(self, job_id: str, indexes: Sequence[int], urgent: bool = False) -> None: ...

    def job_ended(self, job_id: str) -> None: ...

    def deliver_callback(self, job_id: str, delivery_id: str, countdown: float = 0) -> None: ...


class DocumentQueue:
    """Sends the render tasks of a job, the task that follows its end, and webhooks."""

    def __init__(self, celery: Celery, settings: Settings) -> None:
        self.celery = celery
        self.interactive_max_documents = settings.interactive_max_documents
        self.batch_size = settings.batch_size
        self.converters = settings.workers

    def enqueue(self, job_id: str, indexes: Sequence[int], urgent: bool = False) -> None:
        """Send the render tasks of documents ``indexes``: to the interactive queue when they
        are few, or ``urgent`` (someone waits for the answer: a check), else the bulk one."""
        few = len(indexes) <= self.interactive_max_documents
        queue = INTERACTIVE_QUEUE if urgent or few else BULK_QUEUE
        with self.celery.producer_or_acquire() as producer:
            for group in self.groups(indexes):
                self.celery.send_task(
                    RENDER_TASK, args=(job_id, group), queue=queue, producer=producer
                )

    def groups(self, indexes: Sequence[int]) -> list[list[int]]:
        """Consecutive groups of at most ``batch_size`` documents: whole rounds of
        ``batch_size`` for each converter, then what is left shared evenly by the converters
        (100 documents, 16 a group, 2 converters: six of 16, then 2 + 2; 5 documents: 3 + 2).
        A job's last group alone on one converter while the others wait would set its end:
        50 documents as 16, 16, 16 and 2 took the time of 32 on one converter, as 16, 16, 9
        and 9 that of 25."""
        round_size = self.batch_size * self.converters
        whole = len(indexes) // round_size * round_size
        sizes = [self.batch_size] * (whole // self.batch_size)
        rest = len(indexes) - whole
        if rest:
            shares = min(self.converters, rest)
            sizes += [rest // shares + (share < rest % shares) for share in range(shares)]
        starts = [0, *itertools.accumulate(sizes)]
        return [list(indexes[start:end]) for start, end in itertools.pairwise(starts)]

    def job_ended(self, job_id: str) -> None:
        """Send what follows a job's end (workers/ending.py): its files stored, then the job
        finished, then its webhook, so a receiver told "finished" can fetch every file."""
        self.celery.send_task(JOB_ENDED_TASK, args=(job_id,), queue=INTERACTIVE_QUEUE)

    def deliver_callback(self, job_id: str, delivery_id: str, countdown: float = 0) -> None:
        self.celery.send_task(
            CALLBACK_TASK, args=(job_id, delivery_id), queue=CALLBACK_QUEUE, countdown=countdown
        )
