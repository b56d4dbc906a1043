"""One volume: every succeeded document of a finished PDF job, in request order, with one
bookmark per document titled with its name. Built once, then served from storage."""

from __future__ import annotations

import io
import logging

from pypdf import PdfWriter

from docrender.jobstore import DocumentStatus, JobStore
from docrender.storage import Storage, job_document_key, job_merged_key

log = logging.getLogger(__name__)


def build_merged_pdf(job_id: str, jobs: JobStore, storage: Storage) -> bool:
    """Build and store the merged volume; False when there is nothing to build."""
    job = jobs.get(job_id, tenant=None)
    if job is None or job.format != "pdf" or job.finished_at is None or job.merged:
        return False
    done = [doc for doc in job.documents if doc.status is DocumentStatus.SUCCEEDED]
    if not done:
        return False
    writer = PdfWriter()
    for doc in done:
        with storage.open(job_document_key(job_id, doc.index, "pdf")) as pdf:
            writer.append(pdf, outline_item=doc.name)
    out = io.BytesIO()
    writer.write(out)
    storage.put(job_merged_key(job_id), out.getvalue())
    if not jobs.mark_merged(job_id):
        log.info("job %s was retried while its volume was built; a new one follows", job_id)
    return True
