"""Celery wiring, kept at the edge: the task, its retry policy, and the per-process services.

Each prefork child process owns one LibreOffice instance (through unoserver). It is started
when the child starts, by a keeper thread that then probes it whenever the process has been
idle for a while, so /readyz always reflects a real round trip.
"""

from __future__ import annotations

import logging
import os
import resource
import socket
import threading
import time
import uuid
from typing import Any

import redis
from celery import Celery
from celery.exceptions import Reject, SoftTimeLimitExceeded
from celery.signals import worker_process_init, worker_process_shutdown

from docrender.errors import ConverterUnavailable
from docrender.i18n import _
from docrender.jobs.queue import JOB_ENDED_TASK, RENDER_TASK, DocumentQueue, make_celery
from docrender.jobs.store import JobStore
from docrender.monitoring import metrics
from docrender.monitoring.heartbeats import ConverterHeartbeats
from docrender.settings import Settings
from docrender.storage import storage_from_settings
from docrender.tenants.usage import Usage
from docrender.webhooks.store import CallbackStore
from workers.callbacks import schedule_callback
from workers.convert.converter import UnoserverConverter
from workers.convert.libreoffice import UnoserverConfig, UnoserverProcess, libreoffice_version
from workers.convert.supervisor import Supervisor
from workers.ending import handle_end
from workers.fill.images import ImageLimits
from workers.tasks import (
    Failed,
    RenderServices,
    internal_failure,
    record_failures,
    render_documents,
)

log = logging.getLogger(__name__)

PROBE_INTERVAL_SECONDS = 20.0
PURGE_INTERVAL_SECONDS = 3600.0


class WorkerRuntime:
    """The services of one worker process, built after the fork (sockets and LibreOffice
    instances must not be shared between processes)."""

    def __init__(self, settings: Settings, queue: DocumentQueue) -> None:
        self.settings = settings
        self.queue = queue
        self.services: RenderServices | None = None
        self.callbacks: CallbackStore | None = None
        self._converter: UnoserverConverter | None = None
        self._heartbeats: ConverterHeartbeats | None = None
        self._name = ""  # host:pid of the child process, set in start()
        self._stopping = threading.Event()

    def start(self, **_: Any) -> None:
        settings = self.settings
        # The soft limit only: this process's LibreOffice gets its own
        # (workers/convert/libreoffice.py).
        _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        soft = (
            settings.worker_memory
            if hard == resource.RLIM_INFINITY
            else min(settings.worker_memory, hard)
        )
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        client = redis.Redis.from_url(settings.require_redis_url(), decode_responses=True)
        self._name = f"{socket.gethostname()}:{os.getpid()}"
        heartbeats = self._heartbeats = ConverterHeartbeats(client)
        version = libreoffice_version(settings.soffice_executable)
        log.info("converting with LibreOffice %s (%s)", version, settings.soffice_executable)
        heartbeats.announce(self._name, version)
        metrics.LIBREOFFICE_VERSION.labels(version).set(1)
        self.callbacks = CallbackStore(client)
        instance = UnoserverProcess(
            UnoserverConfig(
                unoserver_python=settings.unoserver_python,
                soffice_executable=settings.soffice_executable,
                conversion_timeout=settings.conversion_timeout,
                start_timeout=settings.converter_start_timeout,
                work_dir=settings.data_dir / "run",
                log_file=settings.data_dir / "logs" / "unoserver.log",
                memory_limit=settings.libreoffice_memory,
                run_as=settings.libreoffice_account(),
                fonts_dir=settings.fonts_dir,
            )
        )
        supervisor = Supervisor(
            instance,
            recycle_after=settings.converter_recycle_after,
            on_restart=lambda reason: metrics.LIBREOFFICE_RESTARTS.labels(reason).inc(),
            on_round_trip=lambda: heartbeats.beat(self._name),
        )
        self._converter = UnoserverConverter(
            supervisor, client_timeout=settings.converter_client_timeout
        )
        self.services = RenderServices(
            jobs=JobStore(client, settings.retention_seconds),
            storage=storage_from_settings(settings, Usage(client, settings.tenant_storage_bytes)),
            converter=self._converter,
            on_job_ended=self.queue.job_ended,
            render_timeout=settings.render_timeout,
            max_crashes=settings.max_crashes,
            max_timeouts=settings.max_timeouts,
            image_limits=ImageLimits(settings.max_image_bytes, settings.max_image_pixels),
        )
        # Celery kills a child whose init takes over 4 s; LibreOffice takes longer to start.
        threading.Thread(target=self._keep, name="unoserver-keeper", daemon=True).start()

    def _keep(self) -> None:
        """Start the instance, probe it when idle, send again the ends of jobs left unhandled
        (a lost or failed end task), and now and then purge expired files."""
        converter, services = self._converter, self.services
        assert converter is not None and services is not None
        next_purge = time.monotonic()
        while not self._stopping.is_set():
            try:
                for job_id in services.jobs.claim_endings(self.settings.end_grace_seconds):
                    log.warning("job %s: its end was not handled in time; sent again", job_id)
                    self.queue.job_ended(job_id)
            except Exception:
                log.exception("sweeping unhandled job ends failed")
            if converter.seconds_since_round_trip() >= PROBE_INTERVAL_SECONDS:
                try:
                    converter.probe()
                except Exception:
                    log.exception("converter probe failed")
            if time.monotonic() >= next_purge:
                # An hour's grace past the retention, so a job's record always expires first.
                removed = services.storage.delete_jobs_older_than(
                    self.settings.retention_seconds + PURGE_INTERVAL_SECONDS
                )
                if removed:
                    log.info("removed the files of %d expired jobs", len(removed))
                next_purge = time.monotonic() + PURGE_INTERVAL_SECONDS
            self._stopping.wait(PROBE_INTERVAL_SECONDS / 4)

    def stop(self, **_: Any) -> None:
        self._stopping.set()
        if self._converter is not None:
            self._converter.stop()
        if self._heartbeats is not None:
            self._heartbeats.forget(self._name)  # /readyz stops counting it at once


REDIS_OUTAGE_PAUSE_SECONDS = 2


def make_worker_celery(settings: Settings) -> Celery:
    app = make_celery(settings)
    runtime = WorkerRuntime(settings, DocumentQueue(app, settings))
    worker_process_init.connect(runtime.start, weak=False)
    worker_process_shutdown.connect(runtime.stop, weak=False)

    # Retries wait 2, 4, 8... seconds up to a minute, with full jitter.
    backoff = {
        "max_retries": settings.transient_retries,
        "retry_backoff": 2,
        "retry_backoff_max": 60,
        "retry_jitter": True,
    }

    # A converter that is restarting (ConverterUnavailable) retries the task; its last
    # attempt records the failure instead.
    # (Celery's decorators are untyped: each task says its own types.)
    @app.task(name=RENDER_TASK, bind=True, autoretry_for=(ConverterUnavailable,), **backoff)  # type: ignore[untyped-decorator]
    def render_documents_task(self: Any, job_id: str, indexes: list[int]) -> list[str | None]:
        services = runtime.services
        assert services is not None, "worker_process_init builds the services"
        try:
            return render_documents(  # type: ignore[return-value]
                job_id, indexes, services, last_attempt=self.request.retries >= self.max_retries
            )
        except ConverterUnavailable:
            raise  # retried (autoretry_for)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
            # The job store is out of reach, so no outcome can be recorded: give the message
            # back (if even that fails, Redis restores it after the visibility timeout) and
            # make these documents once Redis is back. The pause keeps an outage from
            # turning into a tight loop of deliveries.
            log.warning(
                "job %s documents %s: job store unreachable (%s); requeued", job_id, indexes, exc
            )
            time.sleep(REDIS_OUTAGE_PAUSE_SECONDS)
            raise Reject(exc, requeue=True) from None
        except SoftTimeLimitExceeded:
            # Documents already finished keep their outcome (a final state is never changed).
            return record_failures(  # type: ignore[return-value]
                services,
                job_id,
                indexes,
                Failed(
                    "time_limit_exceeded",
                    _(
                        "Rendering took longer than %(seconds)ss; simplify the template or "
                        "split the data.",
                        seconds=settings.task_soft_time_limit,
                    ),
                ),
            )
        except Exception:
            # A bug in docrender, not the caller's fault: record it so the documents do not
            # stay "running" forever, and keep the traceback in the worker log under an id
            # the message gives (what is logged stays apart from what is shown).
            error_id = uuid.uuid4().hex[:12]
            log.exception(
                "job %s documents %s: unexpected error (error id %s)", job_id, indexes, error_id
            )
            return record_failures(  # type: ignore[return-value]
                services, job_id, indexes, internal_failure(error_id)
            )

    # Storage or Redis failing for a moment retries the end. Past the last retry the job stays
    # an unhandled ending, which the sweeper sends again.
    @app.task(name=JOB_ENDED_TASK, autoretry_for=(Exception,), **backoff)  # type: ignore[untyped-decorator]
    def job_ended_task(job_id: str) -> bool:
        """The archive and merged volume, then the job finished, then its webhook."""
        services, callbacks = runtime.services, runtime.callbacks
        assert services and callbacks, "worker_process_init builds the services"
        return handle_end(
            job_id,
            services.jobs,
            services.storage,
            lambda ended: schedule_callback(
                ended, services.jobs, callbacks, runtime.queue.deliver_callback
            ),
        )

    return app
