"""The render task: a thin function over injected services, so tests can call it directly.

One document: read its work item -> fill the template -> convert -> store -> record the
outcome. Permanent errors (template or data, a document LibreOffice cannot convert) fail the
document at once; transient ones (the converter is restarting) propagate so the Celery wiring
retries them with backoff, until the last attempt, which records the failure.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from docrender.errors import DocrenderError
from docrender.jobstore import FAILED, SUCCEEDED, JobStore
from docrender.storage import Storage, job_document_key
from workers.converter import Converter
from workers.render import render_docx

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RenderServices:
    jobs: JobStore
    storage: Storage
    converter: Converter


def render_document(
    job_id: str, index: int, services: RenderServices, *, last_attempt: bool = True
) -> str | None:
    """Produce document ``index`` of job ``job_id``; return its final state, or None when
    there was nothing to do (job expired, or a re-delivered task for a finished document)."""
    work = services.jobs.start_document(job_id, index)
    if work is None:
        return None
    try:
        filled = render_docx(services.storage.read(work.template_key), work.data)
        output = (
            filled if work.format == "docx" else services.converter.convert(filled, work.format)
        )
        # Deterministic key: a re-delivered task overwrites its own output.
        services.storage.put(job_document_key(job_id, index, work.format), output)
    except DocrenderError as exc:
        if exc.transient and not last_attempt:
            raise
        return fail_document(services.jobs, job_id, index, exc.code, exc.message)
    services.jobs.finish_document(job_id, index, SUCCEEDED)
    return SUCCEEDED


def fail_document(jobs: JobStore, job_id: str, index: int, code: str, message: str) -> str:
    log.warning("job %s document %s failed: %s: %s", job_id, index, code, message)
    jobs.finish_document(job_id, index, FAILED, {"code": code, "message": message})
    return FAILED
