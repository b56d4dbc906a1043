"""The render task: a thin function over injected services, so tests can call it directly.

One document: read its work item -> fill the template -> convert -> store -> record the
outcome. Permanent errors (template or data, a document LibreOffice cannot convert) fail the
document at once; transient ones (the converter is restarting) propagate so the Celery wiring
retries them with backoff, until the last attempt, which records the failure.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from docrender.errors import DocrenderError, DocumentQuarantined
from docrender.jobstore import FAILED, SUCCEEDED, Finish, JobStore
from docrender.storage import Storage, job_document_key
from workers.converter import Converter
from workers.render import render_docx

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RenderServices:
    jobs: JobStore
    storage: Storage
    converter: Converter
    # Called once when a document's outcome finished its job (the merged volume is built then).
    on_job_finished: Callable[[str], None] = lambda job_id: None
    render_timeout: float = 30
    # Deliveries that may die mid-document before it is quarantined.
    max_crashes: int = 3


def render_document(
    job_id: str, index: int, services: RenderServices, *, last_attempt: bool = True
) -> str | None:
    """Produce document ``index`` of job ``job_id``; return its final state, or None when
    there was nothing to do (job expired, or a re-delivered task for a finished document)."""
    try:
        work = services.jobs.start_document(job_id, index, services.max_crashes)
    except DocumentQuarantined as exc:
        return fail_document(services, job_id, index, exc.code, exc.message)
    if work is None:
        return None
    try:
        template = services.storage.read(work.template_key)
        filled = render_docx(template, work.data, services.render_timeout)
        output = (
            filled if work.format == "docx" else services.converter.convert(filled, work.format)
        )
        # Deterministic key: a re-delivered task overwrites its own output.
        services.storage.put(job_document_key(job_id, index, work.format), output)
    except DocrenderError as exc:
        if exc.transient and not last_attempt:
            # Queued again until the retry starts it: "running" now would mean it crashed.
            services.jobs.return_to_queue(job_id, index)
            raise
        return fail_document(services, job_id, index, exc.code, exc.message)
    _finish(services, job_id, index, SUCCEEDED, None)
    return SUCCEEDED


def fail_document(
    services: RenderServices, job_id: str, index: int, code: str, message: str
) -> str:
    log.warning("job %s document %s failed: %s: %s", job_id, index, code, message)
    _finish(services, job_id, index, FAILED, {"code": code, "message": message})
    return FAILED


def _finish(
    services: RenderServices, job_id: str, index: int, status: str, error: dict[str, str] | None
) -> None:
    if services.jobs.finish_document(job_id, index, status, error) is Finish.JOB_FINISHED:
        services.on_job_finished(job_id)
