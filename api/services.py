"""What the routes may use: a narrow set of services, built once per process."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import redis
from flask import current_app

from api.rate_limit import FailedSignIns, TenantRateLimit, limits_storage
from docrender.i18n import Language
from docrender.jobs.idempotency import IdempotencyKeys
from docrender.jobs.queue import DocumentQueue, JobQueue, make_celery
from docrender.jobs.store import Job, JobStore
from docrender.monitoring.heartbeats import ConverterHeartbeats
from docrender.responses import JobOut
from docrender.settings import Settings
from docrender.storage import Storage, storage_from_settings
from docrender.templates.inspection import inspect_upload
from docrender.templates.registry import TemplateRegistry
from docrender.tenants.keys import KeyStore
from docrender.tenants.sessions import PageSessions
from docrender.tenants.usage import Usage
from docrender.webhooks.rules import WebhookSecrets
from docrender.webhooks.store import CallbackStore


@dataclass(frozen=True)
class ApiServices:
    settings: Settings
    redis: redis.Redis
    storage: Storage
    usage: Usage
    templates: TemplateRegistry
    jobs: JobStore
    callbacks: CallbackStore
    idempotency: IdempotencyKeys
    queue: JobQueue
    heartbeats: ConverterHeartbeats
    rate_limit: TenantRateLimit
    sign_ins: FailedSignIns
    keys: KeyStore
    page_sessions: PageSessions
    webhook_secrets: WebhookSecrets

    @classmethod
    def from_settings(cls, settings: Settings) -> ApiServices:
        client = redis.Redis.from_url(
            settings.require_redis_url(),
            decode_responses=True,
            socket_timeout=5,
            socket_connect_timeout=2,
        )
        usage = Usage(client, settings.tenant_storage_bytes)
        storage = storage_from_settings(settings, usage)
        keys = KeyStore(client)
        limits = limits_storage(settings.require_redis_url())
        return cls(
            settings=settings,
            redis=client,
            storage=storage,
            usage=usage,
            templates=TemplateRegistry(
                client,
                storage,
                usage=usage,
                inspect=functools.partial(inspect_upload, fonts_dir=settings.fonts_dir),
            ),
            jobs=JobStore(client, settings.retention_seconds),
            callbacks=CallbackStore(client),
            idempotency=IdempotencyKeys(client, settings.retention_seconds),
            queue=DocumentQueue(make_celery(settings), settings),
            heartbeats=ConverterHeartbeats(client),
            rate_limit=TenantRateLimit(limits, settings.rate_limit, settings.read_rate_limit),
            sign_ins=FailedSignIns(limits, settings.sign_in_rate_limit),
            keys=keys,
            page_sessions=PageSessions(client),
            webhook_secrets=WebhookSecrets(settings.webhook_secrets, keys),
        )


def services() -> ApiServices:
    found: ApiServices = current_app.extensions["docrender"]
    return found


def job_view(services: ApiServices, job: Job, language: Language = "en") -> JobOut:
    """The job as the API shows it, its messages in ``language``; its webhook's state is read
    only when it has one."""
    url = job.options.callback_url
    callback = None if url is None else services.callbacks.state(job.id, url)
    return JobOut.of(job, callback, language)
