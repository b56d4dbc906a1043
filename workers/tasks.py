"""The render task: a thin function over injected services, so tests can call it directly.

A task makes a few documents of one job (the queue hands out small groups of indexes).
Each document is still its own unit: started, filled and recorded on its own, failing alone.
Only the PDF conversion is shared: documents whose filled DOCX can sit side by side go through
LibreOffice as one combined document and are cut apart again (workers/batching.py), which
saves most of LibreOffice's fixed cost per document.

Permanent errors (template or data, a document LibreOffice cannot convert) fail the document at
once; transient ones (the converter is restarting) propagate so the Celery wiring retries the
task with backoff, until the last attempt, which records the failure. A delivery that finds one
of its documents left "running" by a delivery that died makes its documents one at a time, so
that the crash counts (and the quarantine) land on the document that causes them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from docx.document import Document

from docrender import logs
from docrender.data_values import printed_text
from docrender.errors import (
    ConversionFailed,
    ConverterUnavailable,
    DocrenderError,
    DocumentQuarantined,
)
from docrender.fonts import word_language
from docrender.formats import FORMATS, export_options, plain_pdf
from docrender.jobstore import DocumentStatus, Finish, JobStore, WorkItem
from docrender.storage import Storage, job_document_key, job_file_key
from workers import batching, glyphs
from workers.converter import Converter
from workers.images import ImageLimits
from workers.render import docx_bytes, fill_template

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
    image_limits: ImageLimits = field(default_factory=ImageLimits)


def render_documents(
    job_id: str, indexes: list[int], services: RenderServices, *, last_attempt: bool = True
) -> list[str | None]:
    """Produce documents ``indexes`` of job ``job_id``; return each one's final state, or None
    where there was nothing to do (job expired, or the document already finished)."""
    with logs.bind(job_id=job_id):
        if len(indexes) == 1 or services.jobs.interrupted(job_id, indexes):
            return [
                render_document(job_id, i, services, last_attempt=last_attempt) for i in indexes
            ]
        return _render_together(job_id, indexes, services, last_attempt)


def render_document(
    job_id: str, index: int, services: RenderServices, *, last_attempt: bool = True
) -> str | None:
    """Produce one document on its own."""
    try:
        work = services.jobs.start_document(job_id, index, services.max_crashes)
    except DocumentQuarantined as exc:
        return fail_document(services, job_id, index, exc.code, exc.message)
    if work is None:
        return None
    outcomes: dict[int, str | None] = {}
    with logs.bind(job_id=job_id, document=index, tenant=work.tenant, request_id=work.request_id):
        _make(services, [work], outcomes, last_attempt)
    return outcomes[index]


def _render_together(
    job_id: str, indexes: list[int], services: RenderServices, last_attempt: bool
) -> list[str | None]:
    outcomes: dict[int, str | None] = {}
    works: list[WorkItem] = []
    for index in indexes:
        try:
            work = services.jobs.start_document(job_id, index, services.max_crashes)
        except DocumentQuarantined as exc:
            outcomes[index] = fail_document(services, job_id, index, exc.code, exc.message)
            continue
        if work is None:
            outcomes[index] = None
        else:
            works.append(work)
    if works:
        with logs.bind(tenant=works[0].tenant, request_id=works[0].request_id,
                       documents=[work.index for work in works]):  # fmt: skip
            _make(services, works, outcomes, last_attempt)
    return [outcomes[index] for index in indexes]


def _make(
    services: RenderServices,
    works: list[WorkItem],
    outcomes: dict[int, str | None],
    last_attempt: bool,
) -> None:
    """Record each of ``works``' final state in ``outcomes`` as it is reached."""
    unfinished = list(works)
    try:
        template = services.storage.read(works[0].template_key)
        for work, status in _produce(services, template, works):
            outcomes[work.index] = status
            unfinished.remove(work)
    except DocrenderError as exc:
        statuses = _failed(services, unfinished, exc, last_attempt)
        outcomes.update(
            (work.index, status) for work, status in zip(unfinished, statuses, strict=True)
        )


def _produce(
    services: RenderServices, template: bytes, works: list[WorkItem]
) -> Iterator[tuple[WorkItem, str]]:
    """Fill, convert and store ``works``, yielding (work, final state) as each finishes.
    Raises only transient errors; the documents not yet yielded are then unfinished."""
    filled: list[tuple[WorkItem, Document]] = []
    for work in works:
        try:
            filled.append((work, _fill(services, template, work)))
        except DocrenderError as exc:
            yield work, fail_document(services, work.job_id, work.index, exc.code, exc.message)
    output_format = works[0].options.format  # the same for a job
    pdf_options = works[0].options.pdf_options
    if not FORMATS[output_format].converted:
        for work, document in filled:
            _store(services, work, docx_bytes(document))
            yield work, _succeeded(services, work)
        return
    # One document has nothing to share a conversion with: skip the checks.
    shared = len(filled) > 1 and plain_pdf(output_format, pdf_options)
    together, alone = _group_for_conversion(filled) if shared else ([], filled)
    if len(together) > 1:
        try:
            pdfs = _convert_combined([document for _, document in together], services.converter)
        except ConverterUnavailable:
            raise  # transient: the whole task is retried
        except Exception as exc:
            # Combining is an optimisation, and one document may be what LibreOffice rejects:
            # convert each alone, the reference path, so that only that one fails.
            log.warning("combined conversion failed (%r); converting one by one", exc)
            alone += [(work, _fill(services, template, work))
                      for work, _ in together]  # fmt: skip
        else:
            log.info("job %s: documents %s converted in one LibreOffice load",
                     works[0].job_id, [work.index for work, _ in together])  # fmt: skip
            for (work, _), pdf in zip(together, pdfs, strict=True):
                yield work, _finish_pdf(services, work, pdf)
    else:
        alone += together
    options = export_options(output_format, pdf_options)
    for work, document in alone:
        try:
            pdf = services.converter.convert(docx_bytes(document), "pdf", options)
        except ConversionFailed as exc:
            yield work, fail_document(services, work.job_id, work.index, exc.code, exc.message)
        else:
            yield work, _finish_pdf(services, work, pdf)


def _fill(services: RenderServices, template: bytes, work: WorkItem) -> Document:
    def read_file(name: str) -> bytes | None:
        key = job_file_key(work.job_id, name)
        return services.storage.read(key) if services.storage.exists(key) else None

    return fill_template(template, work.data, services.render_timeout, word_language(work.options.language),
                         read_file, services.image_limits)  # fmt: skip


def _group_for_conversion(
    filled: list[tuple[WorkItem, Document]],
) -> tuple[list[tuple[WorkItem, Document]], list[tuple[WorkItem, Document]]]:
    """The documents that can share one conversion (batchable, and compatible with the first
    such), and the rest."""
    together: list[tuple[WorkItem, Document]] = []
    alone: list[tuple[WorkItem, Document]] = []
    for work, document in filled:
        fits = batching.batchable(document) and (
            not together or batching.compatible(together[0][1], document)
        )
        (together if fits else alone).append((work, document))
    return together, alone


def _convert_combined(documents: list[Document], converter: Converter) -> list[bytes]:
    combined = docx_bytes(batching.combine(documents))
    pdf = converter.convert(combined, "pdf", batching.SPLIT_FILTER_OPTIONS)
    return batching.split(pdf, documents)


def _store(services: RenderServices, work: WorkItem, output: bytes) -> None:
    # Deterministic key: a re-delivered task overwrites its own output.
    services.storage.put(job_document_key(work.job_id, work.index, work.options.format), output)


def _finish_pdf(services: RenderServices, work: WorkItem, pdf: bytes) -> str:
    """Store a PDF and record it succeeded, with a warning when characters of its data print
    as tofu (no installed font has them)."""
    _store(services, work, pdf)
    warnings = []
    text = "".join(printed_text(work.data))
    if glyphs.could_be_missing(text):
        # Of this document's own characters: a PDF cut from a combined conversion carries
        # font subsets it shares with the other documents of its group.
        missing = [character for character in glyphs.missing_glyphs(pdf) if character in text]
        if missing:
            log.warning("job %s document %s: no glyph for %s", work.job_id, work.index,
                        " ".join(f"U+{ord(c):04X}" for c in missing[:20]))  # fmt: skip
            warnings.append(glyphs.missing_glyph_warning(missing))
    return _succeeded(services, work, warnings)


def _succeeded(
    services: RenderServices, work: WorkItem, warnings: list[dict[str, object]] | None = None
) -> str:
    _finish(services, work.job_id, work.index, DocumentStatus.SUCCEEDED, None, warnings)
    return DocumentStatus.SUCCEEDED


def _failed(
    services: RenderServices, works: list[WorkItem], exc: DocrenderError, last_attempt: bool
) -> list[str]:
    """Record ``exc`` on unfinished ``works``; a transient error before the last attempt
    hands them back to the queue and propagates, for the retry."""
    if exc.transient and not last_attempt:
        for work in works:
            # Queued again until the retry starts it: "running" now would mean it crashed.
            services.jobs.return_to_queue(work.job_id, work.index)
        raise exc
    return [fail_document(services, w.job_id, w.index, exc.code, exc.message) for w in works]


def fail_documents(
    services: RenderServices, job_id: str, indexes: list[int], code: str, message: str
) -> list[str | None]:
    """Fail those of ``indexes`` not finished yet; their final states."""
    return [fail_document(services, job_id, index, code, message) for index in indexes]


def fail_document(
    services: RenderServices, job_id: str, index: int, code: str, message: str
) -> str:
    if _finish(services, job_id, index, DocumentStatus.FAILED, {"code": code, "message": message}):
        log.warning("job %s document %s failed: %s: %s", job_id, index, code, message)
    return DocumentStatus.FAILED


def _finish(
    services: RenderServices,
    job_id: str,
    index: int,
    status: DocumentStatus,
    error: dict[str, str] | None,
    warnings: list[dict[str, object]] | None = None,
) -> Finish:
    outcome = services.jobs.finish_document(job_id, index, status, error, warnings)
    if outcome is Finish.JOB_FINISHED:
        services.on_job_finished(job_id)
    return outcome
