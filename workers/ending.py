"""What follows a job's end, as a plain function over injected services, like the render task:
its archive and merged volume stored, then the job finished (its finish time, final status and
long polls answered), then its webhook. A job is "finished" only when every file it promises can
be downloaded (docrender/jobs/store.py).

Safe to run again for the same end: the task's own retries, a redelivery, or the sweeper
(``claim_endings``) that sends again an end left unhandled past DOCRENDER_END_GRACE. The bundle's
keys are deterministic; the job finishes once; the webhook goes to the delivery that takes the
job off the endings to handle.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from docrender.jobs.store import JobKind, JobStore
from docrender.monitoring import metrics
from docrender.storage import Storage
from workers.pdf.bundle import store_bundle

log = logging.getLogger(__name__)


def handle_end(
    job_id: str, jobs: JobStore, storage: Storage, schedule_webhook: Callable[[str], object]
) -> bool:
    """Bundle, finish and announce an ended job; False when there is nothing (left) to do
    here: the job is gone, or was re-opened by a retry (its next end comes with its own task)."""
    job = jobs.get(job_id, tenant=None)
    if job is None or not all(doc.status.final for doc in job.documents):
        return False
    if job.finished_at is None:
        if job.kind is JobKind.BATCH:  # previews and checks are read, not downloaded
            store_bundle(job, storage)
        if not jobs.finish(job_id):
            log.info("job %s was retried or finished elsewhere while it was bundled", job_id)
            return False
        if (finished := jobs.get(job_id, tenant=None)) is not None:
            metrics.JOBS.labels(finished.status).inc()
    if jobs.end_handled(job_id):
        schedule_webhook(job_id)
    return True
