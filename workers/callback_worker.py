"""`python -m workers.callback_worker`: the Celery worker that delivers webhooks.

It serves only the callbacks queue, with a pool of threads (delivering is waiting on the
network), and starts no LibreOffice. Render workers never wait on a receiver.
"""

from __future__ import annotations

import logging

import redis
from celery import Celery

from docrender.jobs.queue import CALLBACK_QUEUE, CALLBACK_TASK, make_celery
from docrender.jobs.store import JobStore
from docrender.monitoring import logs, metrics
from docrender.settings import Settings
from docrender.tenants.keys import KeyStore
from docrender.webhooks.rules import WebhookSecrets
from docrender.webhooks.store import CallbackStore
from workers.callbacks import Attempt, CallbackServices, deliver_callback

log = logging.getLogger(__name__)

DELIVERY_THREADS = 8


class RetryDelivery(Exception):
    """An attempt failed in a way worth another (the task's retry policy schedules it)."""


def make_callback_celery(settings: Settings) -> Celery:
    app = make_celery(settings)
    client = redis.Redis.from_url(
        settings.require_redis_url(), decode_responses=True, socket_timeout=10
    )
    services = CallbackServices(
        jobs=JobStore(client, settings.retention_seconds),
        callbacks=CallbackStore(client),
        secrets=WebhookSecrets(settings.webhook_secrets, KeyStore(client)),
        allow_private=settings.webhook_allow_private,
        max_attempts=settings.webhook_attempts,
        timeout=settings.webhook_timeout,
    )

    # Each failed attempt that may be retried comes back after DOCRENDER_WEBHOOK_RETRY_DELAY,
    # then twice that, and so on, with full jitter, so receivers coming back from an outage are
    # not hit by every sender at once. (deliver_callback counts the attempts and gives up.)
    # Redis hands a message its worker held longer than the visibility timeout to another
    # worker, and a retry waits in its worker until due: so no wait may come near that.
    @app.task(
        name=CALLBACK_TASK,
        autoretry_for=(RetryDelivery,),
        max_retries=None,
        retry_backoff=settings.webhook_retry_delay,
        retry_backoff_max=settings.broker_visibility_timeout // 2,
        retry_jitter=True,
    )  # type: ignore[untyped-decorator]
    def deliver_callback_task(job_id: str, delivery_id: str) -> str:
        attempt = deliver_callback(job_id, delivery_id, services)
        metrics.WEBHOOK_DELIVERIES.labels(attempt.value).inc()
        if attempt is Attempt.RETRY:
            raise RetryDelivery(f"job {job_id}: delivery {delivery_id} is due again")
        return str(attempt.value)

    return app


def main() -> None:
    logs.configure("callbacks")
    settings = Settings.from_env()
    make_callback_celery(settings).worker_main(
        [
            "worker",
            "--loglevel=INFO",
            "--pool=threads",
            f"--concurrency={DELIVERY_THREADS}",
            f"--queues={CALLBACK_QUEUE}",
            "--without-gossip",
            "--without-mingle",
            "--hostname=docrender-callbacks@%h",
        ]
    )


if __name__ == "__main__":
    main()
