"""What a finished job is downloaded as, built once when it ends and then served from
storage: the archive (a ZIP of every succeeded document, UTF-8 names) and, for a PDF job, the
merged volume (every succeeded document in request order, one bookmark per document titled
with its name). Built here rather than per request, so a hundred downloads of a large job
cost one build, not a hundred."""

from __future__ import annotations

import contextlib
import io
import tempfile
import zipfile

import pikepdf

from docrender.jobs.formats import FORMATS
from docrender.jobs.store import DocumentStatus, Job
from docrender.storage import Storage, job_archive_key, job_document_key, job_merged_key
from workers.pdf.outlines import Outline


def store_bundle(job: Job, storage: Storage) -> None:
    """Build and store the archive and, for a PDF job, the merged volume of an ended job
    (nothing when no document succeeded). Deterministic keys: building again overwrites."""
    if not any(doc.status is DocumentStatus.SUCCEEDED for doc in job.documents):
        return
    _store_archive(job, storage)
    if job.format == "pdf":
        _store_merged(job, storage)


def _succeeded(job: Job) -> list[tuple[str, str]]:
    """(storage key, name) of each succeeded document, in request order."""
    return [
        (job_document_key(job.id, doc.index, job.format), doc.name)
        for doc in job.documents
        if doc.status is DocumentStatus.SUCCEEDED
    ]


def _store_archive(job: Job, storage: Storage) -> None:
    extension = FORMATS[job.format].extension
    with tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024) as archive:
        # Python's zipfile sets the UTF-8 flag on non-ASCII names; names are unique within a
        # job and fit an extracting file system (api/naming.py). Stored, not deflated: PDFs
        # and DOCX files are compressed already (deflating a sample report's PDF saved 3 % for
        # 10 ms of CPU, in the worker that runs beside the next job's conversion).
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zipped:
            for key, name in _succeeded(job):
                with storage.open(key) as src, zipped.open(f"{name}.{extension}", "w") as dst:
                    while chunk := src.read(1 << 20):
                        dst.write(chunk)
        archive.seek(0)
        storage.put_file(job_archive_key(job.id), archive)  # streamed: a spilled ZIP stays on disk


def _store_merged(job: Job, storage: Storage) -> None:
    with pikepdf.new() as merged, contextlib.ExitStack() as sources:
        with merged.open_outline() as outline:
            for key, name in _succeeded(job):
                # Read whole: qpdf seeks, and an object store's stream does not. Each source
                # stays open until the save, which reads the pages' streams from it.
                source = sources.enter_context(pikepdf.open(io.BytesIO(storage.read(key))))
                start = len(merged.pages)
                merged.pages.extend(source.pages)
                # One item per document, its own headings nested under it.
                item = pikepdf.OutlineItem(name, start)
                item.children.extend(
                    Outline(source).copied(range(len(source.pages)), merged, start)
                )
                outline.root.append(item)
        out = io.BytesIO()
        # As each document was saved (workers/convert/batching.py): its streams are deflated
        # already, but the Type 1 programs, which deflate would hardly shrink.
        merged.save(out, compress_streams=False)
    storage.put(job_merged_key(job.id), out.getvalue())
