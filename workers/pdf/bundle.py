"""What a finished job is downloaded as, built once when it ends and then served from
storage: the archive (a ZIP of every succeeded document, UTF-8 names) and, for a PDF job, the
merged volume (every succeeded document in request order, one bookmark per document titled
with its name). Built here rather than per request, so a hundred downloads of a large job
cost one build, not a hundred.

The volume takes a document's pages from the combined conversion it was cut from, when the
render task kept it (workers/tasks.py): the same pages, drawing the same, but sharing that
conversion's fonts, which each cut document carries a copy of its own (workers/pdf/separation.py).
A document converted alone, or whose conversion is gone, comes from its own file."""

from __future__ import annotations

import contextlib
import io
import zipfile

import pikepdf

from docrender.jobs.formats import FORMATS
from docrender.jobs.store import DocumentState, DocumentStatus, Job
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


def _succeeded(job: Job) -> list[tuple[str, DocumentState]]:
    """(storage key of its file, state) of each succeeded document, in request order."""
    return [
        (job_document_key(job.id, doc.index, job.format), doc)
        for doc in job.documents
        if doc.status is DocumentStatus.SUCCEEDED
    ]


def _store_archive(job: Job, storage: Storage) -> None:
    extension = FORMATS[job.format].extension
    # Written into storage as it is made: a large job's archive is never whole in memory.
    # Python's zipfile sets the UTF-8 flag on non-ASCII names; names are unique within a job
    # and fit an extracting file system (api/naming.py). Stored, not deflated: PDFs and DOCX
    # files are compressed already (deflating a sample report's PDF saved 3 % for 10 ms of
    # CPU, in the worker that runs beside the next job's conversion).
    with (
        storage.writer(job_archive_key(job.id)) as archive,
        zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zipped,
    ):
        for key, doc in _succeeded(job):
            with storage.open(key) as src, zipped.open(f"{doc.name}.{extension}", "w") as dst:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)


def _store_merged(job: Job, storage: Storage) -> None:
    """Each document's pages, from the combined conversion they were cut from where it is kept
    (its fonts shared by the documents converted with it: the 100 sample reports' volume weighs
    6 MB instead of the 34 MB of their own files), else from the document's own file."""
    with pikepdf.new() as merged, contextlib.ExitStack() as sources:
        opened: dict[str, tuple[pikepdf.Pdf, Outline] | None] = {}

        def source(key: str) -> tuple[pikepdf.Pdf, Outline] | None:
            """The PDF stored at ``key`` and its outline, opened once; None if there is none."""
            if key not in opened:
                try:
                    # Read whole: qpdf seeks, and an object store's stream does not. Each
                    # source stays open until the save, which reads the pages' streams from it.
                    data = storage.read(key)
                except FileNotFoundError:
                    opened[key] = None
                else:
                    pdf = sources.enter_context(pikepdf.open(io.BytesIO(data)))
                    opened[key] = pdf, Outline(pdf)
            return opened[key]

        def pages_of(key: str, doc: DocumentState) -> tuple[pikepdf.Pdf, Outline, range]:
            """Where the document's pages are taken from: its conversion, if kept and holding
            them, else its own file."""
            kept = doc.pages_in
            conversion = source(kept.key) if kept is not None else None
            if kept is not None and conversion is not None:
                pdf, headings = conversion
                if kept.stop <= len(pdf.pages):
                    return pdf, headings, range(kept.start, kept.stop)
            own = source(key)
            if own is None:
                raise FileNotFoundError(key)
            return own[0], own[1], range(len(own[0].pages))

        with merged.open_outline() as outline:
            for key, doc in _succeeded(job):
                pdf, headings, pages = pages_of(key, doc)
                start = len(merged.pages)
                merged.pages.extend(pdf.pages[pages.start : pages.stop])
                # One item per document, its own headings nested under it.
                item = pikepdf.OutlineItem(doc.name, start)
                item.children.extend(headings.copied(pages, merged, start))
                outline.root.append(item)
        versions = [found[0].pdf_version for found in opened.values() if found is not None]
        with storage.writer(job_merged_key(job.id)) as out:
            # As LibreOffice and the cut wrote them (workers/convert/batching.py): the streams
            # are deflated already, but the Type 1 programs cut for a document, which deflate
            # would hardly shrink; the small objects in object streams; the version the
            # sources say.
            merged.save(
                out,
                compress_streams=False,
                object_stream_mode=pikepdf.ObjectStreamMode.generate,
                min_version=max(versions, key=lambda v: tuple(map(int, v.split(".")))),
            )
