"""The render task: a thin function over injected services, so tests can call it directly.

A task makes a few documents of one job (the queue hands out small groups of indexes).
Each document is still its own unit: started, filled and recorded on its own, failing alone.
Only the PDF conversion is shared: documents whose filled DOCX can sit side by side go through
LibreOffice as one combined document and are cut apart again (workers/convert/batching.py), which
saves most of LibreOffice's fixed cost per document.

Two roles: ``decide`` fills and converts, and says per document what came of it (``Made`` or
``Failed``); ``record`` stores the file and writes the final state. Permanent errors (template
or data, a document LibreOffice cannot convert) fail their document at once; transient ones
(the converter is restarting) propagate so the Celery wiring retries the task with backoff,
until the last attempt, which records the failure. A delivery that finds one of its documents
left "running" by a delivery that died makes its documents one at a time, so that the crash
counts (and the quarantine) land on the document that causes them.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from typing import Any

from docx.document import Document

from docrender.data.values import printed_text, subdocument_files, typeset_values
from docrender.errors import (
    ConversionFailed,
    ConversionTimedOut,
    ConverterUnavailable,
    DocrenderError,
    DocumentQuarantined,
    StorageQuotaExceeded,
)
from docrender.fonts.substitutes import word_language
from docrender.i18n import Message, StoredMessage, StoredWarning, _
from docrender.jobs.formats import FORMATS, export_options, plain_pdf
from docrender.jobs.store import DocumentStatus, Finish, JobKind, JobStore, PagesIn, WorkItem
from docrender.monitoring import logs, metrics
from docrender.storage import Storage, job_conversion_key, job_document_key, job_file_key
from workers.convert import batching
from workers.convert.converter import Converter
from workers.fill import grid
from workers.fill.images import ImageLimits
from workers.fill.pictures import replace_pictures
from workers.fill.render import (
    conversion_bytes,
    docx_bytes,
    fill_template,
    prepare_for_readers,
    settle_language,
)
from workers.pdf import glyphs

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RenderServices:
    jobs: JobStore
    storage: Storage
    converter: Converter
    # Called once when a document's outcome ended its job: sends what follows (workers/ending.py).
    on_job_ended: Callable[[str], object] = lambda job_id: None
    render_timeout: float = 30
    # Deliveries that may die mid-document before it is quarantined.
    max_crashes: int = 3
    # Conversions of a document that may time out before it fails.
    max_timeouts: int = 2
    image_limits: ImageLimits = field(default_factory=ImageLimits)


@dataclass(frozen=True)
class Made:
    """A document produced: its file, and what to check in it."""

    output: bytes
    format: str  # the job's output format, which names the stored file
    language: str  # the Chinese forms it prints with: "zh-Hans" or "zh-Hant"
    warnings: list[StoredWarning] = field(default_factory=list)
    # Its pages in a combined conversion, from which the job's merged volume takes them.
    volume: tuple[KeptConversion, range] | None = None


@dataclass
class KeptConversion:
    """A batch's combined conversion, kept for the job's merged volume (workers/pdf/bundle.py):
    one tenant's job, whose volume holds all its documents anyway, so there their pages may
    share the conversion's fonts. Stored as the last of its documents is recorded, after their
    own files, which get the tenant's storage quota first; past the quota it is not kept (the
    volume takes the documents' own files). Until then a document recorded points at a key
    not stored yet, and its job cannot end."""

    key: str
    pdf: bytes
    unrecorded: int  # its documents not recorded yet

    def one_recorded(self, storage: Storage) -> None:
        self.unrecorded -= 1
        if self.unrecorded:
            return
        try:
            storage.put(self.key, self.pdf)
        except StorageQuotaExceeded:
            log.info("combined conversion %s not kept for the volume: past the quota", self.key)
        except Exception:  # the volume takes these documents' own files instead
            log.warning("combined conversion %s not kept for the volume", self.key, exc_info=True)


@dataclass(frozen=True)
class Failed:
    code: str
    text: Message  # rendered in each reader's language when the job is read
    # What a reader may act on beyond the sentence (a data value's column; the template's tag).
    details: dict[str, Any] | None = None

    @classmethod
    def of(cls, error: DocrenderError) -> Failed:
        details = error.details if isinstance(error.details, dict) else None
        return cls(error.code, error.text, details)


@dataclass(frozen=True)
class Filled:
    """A check's document filled as its batch would be (docrender/jobs/store.py): nothing
    converted, nothing stored."""

    language: str


Outcome = Made | Filled | Failed


def render_documents(
    job_id: str, indexes: list[int], services: RenderServices, *, last_attempt: bool = True
) -> list[DocumentStatus | None]:
    """Produce documents ``indexes`` of job ``job_id``; return each one's final state, or None
    where there was nothing to do (job expired, or the document already finished)."""
    with logs.bind(job_id=job_id):
        if len(indexes) > 1 and not services.jobs.interrupted(job_id, indexes):
            return _render(job_id, indexes, services, last_attempt)
        return [_render(job_id, [index], services, last_attempt)[0] for index in indexes]


def _render(
    job_id: str, indexes: list[int], services: RenderServices, last_attempt: bool
) -> list[DocumentStatus | None]:
    """Start the documents, then record each one's outcome as soon as ``decide`` reaches it.
    A transient error before the last attempt hands the undecided ones back to the queue and
    propagates, for the task's retry; otherwise it is their outcome."""
    states: dict[int, DocumentStatus | None] = {}
    works: list[WorkItem] = []
    for index in indexes:
        try:
            work = services.jobs.start_document(job_id, index, services.max_crashes)
        except DocumentQuarantined as exc:
            states[index] = record(services, job_id, index, Failed.of(exc))
            continue
        if work is None:
            states[index] = None
        else:
            works.append(work)
    if not works:
        return [states[index] for index in indexes]
    with logs.bind(
        tenant=works[0].tenant,
        request_id=works[0].request_id,
        documents=[work.index for work in works],
    ):
        try:
            for work, outcome in decide(services, works):
                states[work.index] = record(services, job_id, work.index, outcome)
        except DocrenderError as exc:
            undecided = [work.index for work in works if work.index not in states]
            if isinstance(exc, ConversionTimedOut):
                states |= _fail_hanging(services, job_id, undecided)
                undecided = [index for index in undecided if index not in states]
                if not undecided:
                    return [states[index] for index in indexes]
            if exc.transient and not last_attempt:
                for index in undecided:
                    # Queued again until the retry starts it: "running" would mean it crashed.
                    services.jobs.return_to_queue(job_id, index)
                raise
            states |= {
                index: record(services, job_id, index, Failed.of(exc)) for index in undecided
            }
    return [states[index] for index in indexes]


def _fail_hanging(
    services: RenderServices, job_id: str, indexes: list[int]
) -> dict[int, DocumentStatus]:
    """Count a timed-out conversion on ``indexes``; fail those that have now timed out
    ``max_timeouts`` times, rather than hold a worker for every retry of them."""
    limit = services.max_timeouts
    failed = Failed(
        ConversionTimedOut.code,
        _(
            "LibreOffice hung converting this document %(limit)s times, so it is set aside "
            "instead of tried again; look for what makes it so heavy to lay out (a table or "
            "picture of enormous size, thousands of pages).",
            limit=limit,
        ),
    )
    reached = services.jobs.note_timeout(job_id, indexes, limit)
    return {index: record(services, job_id, index, failed) for index in reached}


def decide(services: RenderServices, works: list[WorkItem]) -> Iterator[tuple[WorkItem, Outcome]]:
    """Fill and convert ``works`` (documents of one job), yielding each one's outcome as it
    is reached. Raises only errors that concern all the documents not yet yielded (the
    converter is unavailable, the template cannot be read)."""
    template = services.storage.read(works[0].template_key)
    filled: list[tuple[WorkItem, Document]] = []
    languages: dict[int, str] = {}
    for work in works:
        try:
            document, languages[work.index] = _fill(services, template, work)
        except DocrenderError as exc:
            yield work, Failed.of(exc)
        except Exception:  # a bug met by this document's data: it fails alone
            error_id = uuid.uuid4().hex[:12]
            log.exception(
                "job %s document %s: unexpected error (error id %s)",
                work.job_id,
                work.index,
                error_id,
            )
            yield work, internal_failure(error_id)
        else:
            filled.append((work, document))
    if works[0].kind is JobKind.CHECK:  # filled is all a check asks
        for work, _ in filled:
            yield work, Filled(languages[work.index])
        return
    options = works[0].options  # the same for every document of a job
    if not FORMATS[options.format].converted:
        for work, document in filled:
            yield work, Made(docx_bytes(document), options.format, languages[work.index])
        return
    # One document has nothing to share a conversion with: skip the checks.
    shared = len(filled) > 1 and plain_pdf(options.format, options.pdf_options)
    groups, alone = _group_for_conversion(filled) if shared else ([], filled)
    for together in groups:
        try:
            combined, cuts = _convert_combined(
                [document for _, document in together], services.converter
            )
        except ConverterUnavailable:
            raise  # transient: the whole task is retried
        except Exception as exc:
            # Combining is an optimisation, and one document may be what LibreOffice rejects:
            # convert each alone, the reference path, so that only that one fails.
            log.warning("combined conversion failed (%r); converting one by one", exc)
            alone += [(work, _fill(services, template, work)[0]) for work, _ in together]
        else:
            made = [
                (work, cut.pdf, cut.pages)
                for (work, _), cut in zip(together, cuts, strict=True)
                if cut.pdf is not None
            ]
            log.info(
                "job %s: documents %s converted in one LibreOffice load",
                works[0].job_id,
                [work.index for work, _, _ in made],
            )
            metrics.CONVERTED_TOGETHER.inc(len(made))
            kept = (
                KeptConversion(
                    job_conversion_key(works[0].job_id, uuid.uuid4().hex), combined, len(made)
                )
                if works[0].kind is JobKind.BATCH  # a preview gets no volume
                else None
            )
            for work, pdf, pages in made:
                volume = (kept, pages) if kept else None
                yield work, _pdf_made(work, pdf, languages[work.index], volume)
            if unseparated := [
                work for (work, _), cut in zip(together, cuts, strict=True) if cut.pdf is None
            ]:
                # Cut out, they could carry their neighbours' text: they convert alone.
                log.info(
                    "job %s: documents %s convert alone: their fonts could not be separated",
                    works[0].job_id,
                    [work.index for work in unseparated],
                )
                alone += [(work, _fill(services, template, work)[0]) for work in unseparated]
    filter_options = export_options(options.format, options.pdf_options)
    for work, document in alone:
        try:
            with metrics.CONVERSION_SECONDS.time():
                pdf = services.converter.convert(
                    conversion_bytes(document),
                    "pdf",
                    filter_options,
                    isolated=batching.carries_fonts(document),
                )
        except ConversionFailed as exc:
            yield work, Failed.of(exc)
        else:
            yield work, _pdf_made(work, pdf, languages[work.index])


def internal_failure(error_id: str) -> Failed:
    """A document stopped by a bug in docrender, not the caller's fault: the traceback stays
    in the worker log under ``error_id``, which the message gives (what is logged stays apart
    from what is shown)."""
    return Failed(
        "internal_error",
        _(
            "An unexpected error in docrender stopped this document (error id "
            "%(error_id)s: the worker log has the details under it).",
            error_id=error_id,
        ),
    )


def record(services: RenderServices, job_id: str, index: int, outcome: Outcome) -> DocumentStatus:
    """Store a made document's file and record its final state (once: a document already
    final keeps its state); the job's end, when this was its last document, is announced."""
    pages_in = None
    if isinstance(outcome, Made):
        volume = outcome.volume
        try:
            # Deterministic key: a re-delivered task overwrites its own output.
            services.storage.put(job_document_key(job_id, index, outcome.format), outcome.output)
        except StorageQuotaExceeded as exc:  # this one does not fit: it fails alone
            outcome = Failed.of(exc)
        if volume is not None:
            kept, pages = volume
            kept.one_recorded(services.storage)
            pages_in = PagesIn(kept.key, pages.start, pages.stop)
    if isinstance(outcome, Made | Filled):
        finish = services.jobs.finish_document(
            job_id,
            index,
            DocumentStatus.SUCCEEDED,
            warnings=outcome.warnings if isinstance(outcome, Made) else [],
            language=outcome.language,
            pages_in=pages_in,
        )
        status = DocumentStatus.SUCCEEDED
    else:
        error: StoredMessage = {
            "code": outcome.code,
            "message": str(outcome.text),
            "text": outcome.text.to_json(),
        }
        if outcome.details:
            error["details"] = outcome.details
        status = DocumentStatus.FAILED
        finish = services.jobs.finish_document(job_id, index, status, error)
    if finish is not Finish.UNCHANGED:
        metrics.DOCUMENTS.labels(status).inc()
    if finish is not Finish.UNCHANGED and isinstance(outcome, Failed):
        log.warning("job %s document %s failed: %s: %s", job_id, index, outcome.code, outcome.text)
    if finish is Finish.JOB_ENDED:
        try:
            services.on_job_ended(job_id)
        except Exception:  # the broker, for a moment: the end is recorded, the sweeper sends it
            log.warning(
                "job %s ended, but its end task was not sent; the sweeper will send it",
                job_id,
                exc_info=True,
            )
    return status


def record_failures(
    services: RenderServices, job_id: str, indexes: list[int], failure: Failed
) -> list[DocumentStatus]:
    """Fail those of ``indexes`` not finished yet (a finished one keeps its state)."""
    return [record(services, job_id, index, failure) for index in indexes]


def _fill(services: RenderServices, template: bytes, work: WorkItem) -> tuple[Document, str]:
    """The filled document, and the Chinese forms it prints with."""

    def read_file(name: str) -> bytes | None:
        key = job_file_key(work.job_id, name)
        return services.storage.read(key) if services.storage.exists(key) else None

    language = word_language(work.options.language)
    data = typeset_values(work.data) if work.options.typography == "zh" else work.data
    with metrics.RENDER_SECONDS.time():
        document = fill_template(
            template,
            data,
            services.render_timeout,
            language or "",
            read_file,
            services.image_limits,
        )
    if work.pictures:
        replace_pictures(document, work.pictures, read_file, services.image_limits)
    language = settle_language(document, work.options.language)
    if work.options.pdf_options is not None and work.options.pdf_options.accessible:
        prepare_for_readers(document, work.name, language)
    if FORMATS[work.options.format].converted:
        grid.fit_character_grid(document)  # a DOCX keeps Word's grid: Word prints it right
    return document, language


def _group_for_conversion(
    filled: list[tuple[WorkItem, Document]],
) -> tuple[list[list[tuple[WorkItem, Document]]], list[tuple[WorkItem, Document]]]:
    """Groups of two or more documents that can share one conversion (batchable, and
    compatible with their group's first: a job of Simplified and Traditional reports makes a
    group of each), and the documents that convert alone."""
    groups: dict[Hashable, list[tuple[WorkItem, Document]]] = {}
    alone: list[tuple[WorkItem, Document]] = []
    for work, document in filled:
        # An annex brings styles and numbering of its own into its document's styles part,
        # which a combined conversion would not keep apart: such a document converts alone.
        if any(subdocument_files(work.data)) or not batching.batchable(document):
            alone.append((work, document))
            continue
        groups.setdefault(batching.conversion_key(document), []).append((work, document))
    alone += [group[0] for group in groups.values() if len(group) == 1]
    return [group for group in groups.values() if len(group) > 1], alone


def _convert_combined(
    documents: list[Document], converter: Converter
) -> tuple[bytes, list[batching.Cut]]:
    """The combined conversion of ``documents``, and each one's share of it."""
    combined = conversion_bytes(batching.combine(documents))
    with metrics.CONVERSION_SECONDS.time():
        pdf = converter.convert(combined, "pdf", batching.SPLIT_FILTER_OPTIONS)
    return pdf, batching.split(pdf, documents)


def _pdf_made(
    work: WorkItem, pdf: bytes, language: str, volume: tuple[KeptConversion, range] | None = None
) -> Made:
    """A PDF, with a warning when characters of its data print as tofu (no installed font
    has them)."""
    warnings: list[StoredWarning] = []
    text = "".join(printed_text(work.data))
    if uncovered := glyphs.uncovered(text):
        # Of this document's own characters: a PDF cut from a combined conversion carries
        # font subsets it shares with the other documents of its group.
        drawn_as_boxes = [c for c in glyphs.missing_glyphs(pdf) if c in text]
        missing = list(dict.fromkeys(uncovered + drawn_as_boxes))
        if missing:
            log.warning(
                "job %s document %s: no glyph for %s",
                work.job_id,
                work.index,
                " ".join(f"U+{ord(c):04X}" for c in missing[:20]),
            )
            warnings.append(glyphs.missing_glyph_warning(missing))
    return Made(pdf, work.options.format, language, warnings, volume)
