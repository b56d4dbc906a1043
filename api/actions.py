"""What the API's routes and the clerks' pages both do to a job, as plain functions over the
services and the tenant: find it, retry its failed documents, cancel its queued ones, hold a
long-poll slot and wait in it. The same caps and rules apply whichever door a request came in
by."""

from __future__ import annotations

import contextlib
import json
import logging
import math
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from api.services import ApiServices
from api.submission import check_document_sizes, queued_cap_reached
from docrender.data.validation import check_documents
from docrender.errors import (
    MalformedRequest,
    MissingVariables,
    NotFound,
    TooManyLongPolls,
    ValidationFailed,
    WrongShape,
)
from docrender.i18n import _
from docrender.jobs.options import JobOptions
from docrender.jobs.store import DocumentState, DocumentStatus, Job
from docrender.monitoring import metrics
from docrender.storage import job_data_key, job_document_key, job_file_key, job_template_key

log = logging.getLogger(__name__)

# How long a long poll may wait; a slot's counter outlives the longest wait, twice over.
MAX_WAIT_SECONDS = 60


def find_job(services: ApiServices, tenant: str, job_id: str) -> Job:
    job = services.jobs.get(job_id, tenant)
    if job is None:
        raise _no_job(job_id)
    return job


def find_document(
    services: ApiServices, tenant: str, job_id: str, index: int
) -> tuple[JobOptions, DocumentState]:
    """One document of a job and the job's options, read without the job's other documents."""
    found = services.jobs.document(job_id, index, tenant)
    if found is None:
        raise _no_job(job_id)
    options, document = found
    if document is None:
        raise NotFound(_("Job %(job_id)s has no document %(index)s.", job_id=job_id, index=index))
    return options, document


def _no_job(job_id: str) -> NotFound:
    # Unknown, expired, or another tenant's: indistinguishable on purpose.
    return NotFound(_("There is no job %(job_id)s.", job_id=repr(job_id)))


def wait_for_finish(services: ApiServices, tenant: str, job: Job, seconds: float) -> Job:
    """``job`` as it is when it finishes, or after ``seconds`` (unfinished then: as it is
    now). Waits on the job's finished message, in a long-poll slot of the tenant's (the
    caller holds it); subscribing *before* reading the job again closes the gap in which it
    could finish unseen."""
    deadline = time.monotonic() + seconds
    channel = services.jobs.finished_channel(job.id)
    with services.redis.pubsub(ignore_subscribe_messages=True) as pubsub:  # type: ignore[no-untyped-call]
        pubsub.subscribe(channel)
        job = find_job(services, tenant, job.id)
        while job.finished_at is None and (left := deadline - time.monotonic()) > 0:
            if pubsub.get_message(timeout=min(left, 5)) is not None:
                job = find_job(services, tenant, job.id)
    return job if job.finished_at is not None else find_job(services, tenant, job.id)


def discard(services: ApiServices, job: Job, uploads: Mapping[str, bytes]) -> None:
    """Remove a finished preview or check (``job``, sent with ``uploads``) and its files now,
    rather than at the retention purge: they are read once."""
    keys = [job_template_key(job.id), *(job_file_key(job.id, name) for name in uploads)]
    keys += [job_document_key(job.id, doc.index, job.format) for doc in job.documents]
    try:
        for key in keys:
            if services.storage.exists(key):
                services.storage.delete(key)
        services.usage.forget_job(job.id)
        services.jobs.delete(job.id)
    except Exception:  # storage down: the job expires, and the purge takes its files
        log.warning("check job %s stays until it expires", job.id, exc_info=True)


@dataclass(frozen=True)
class Acted:
    """A job after an action, and how many of its documents the action itself changed (read
    again, the job may already show them changed once more: a retried document can fail
    again before the page that pressed Retry is drawn)."""

    job: Job
    count: int


def retry_failed(
    services: ApiServices,
    tenant: str,
    job_id: str,
    fixed: Mapping[int, dict[str, Any]] | None = None,
) -> Acted:
    """Re-queue the failed documents but the quarantined; 429 past the tenant's queued cap.
    With ``fixed`` (index -> corrected data), only those, each with its new data, checked as
    a submission checks it (a 422 names the document; nothing changes)."""
    job = find_job(services, tenant, job_id)
    data_key, counted = job_data_key(job.id), 0
    growth: dict[int, int] = {}  # index -> bytes its corrected data adds to the job's
    if fixed:
        _check_fixed(services, job, fixed)
        # The corrected data replaces what Redis keeps of those documents: the job's data is
        # counted against the quota as it grows or shrinks (413 when it would not fit).
        counted = services.usage.counted(data_key)
        stored = services.jobs.data_sizes(job.id, fixed)
        growth = {
            index: len(json.dumps(data, ensure_ascii=False).encode()) - stored[index]
            for index, data in fixed.items()
        }
        services.usage.claim(data_key, max(0, counted + sum(growth.values())))
    retried = services.jobs.requeue_failed(job.id, services.settings.max_queued_documents, fixed)
    if growth:
        # What the retry did store: nothing past the cap, else the data of the documents it
        # re-queued (one set aside as quarantined keeps its data).
        grown = 0 if retried.over_cap else sum(growth[index] for index in retried.again)
        if grown != sum(growth.values()):
            services.usage.record(data_key, max(0, counted + grown))
    if retried.over_cap:
        raise queued_cap_reached(services.settings.max_queued_documents, retried.over_cap)
    if retried.again:
        try:
            services.queue.enqueue(job.id, retried.again)
        except BaseException:
            # The broker refused the tasks: the documents go back to failed, so the error the
            # client gets (503) means nothing changed, and its retry can try again.
            services.jobs.undo_retry(retried)
            raise
    return Acted(find_job(services, tenant, job_id), len(retried.again))


def _check_fixed(services: ApiServices, job: Job, fixed: Mapping[int, dict[str, Any]]) -> None:
    """Corrected data may only replace a failed document's, and must fit as a submission's."""
    failed = {doc.index for doc in job.documents if doc.status is DocumentStatus.FAILED}
    if strays := sorted(set(fixed) - failed):
        raise ValidationFailed(
            _(
                "Only a failed document's data can be corrected; job %(job_id)s has no failed "
                "document %(indexes)s.",
                job_id=job.id,
                indexes=", ".join(map(str, strays)),
            ),
            [{"document": index} for index in strays],
        )
    check_document_sizes(services, list(fixed.values()))
    template = services.templates.get(job.tenant, job.template)
    if template is None or not job.options.strict:
        return
    for index, data in sorted(fixed.items()):
        try:
            check_documents(template.inspection, [data])
        except (MissingVariables, WrongShape) as error:
            details = [found | {"document": index} for found in error.details]
            raise type(error)(
                _("Document %(index)s: %(reason)s", index=index, reason=error.text), details
            ) from None


def cancel_queued(services: ApiServices, tenant: str, job_id: str) -> Acted:
    """Cancel the queued documents (running ones finish); a job that ends so gets what follows
    its end (workers/ending.py), sent here or, failing that, by the workers' sweeper."""
    job = find_job(services, tenant, job_id)
    if cancelled := services.jobs.cancel_queued(job.id):
        metrics.DOCUMENTS.labels(DocumentStatus.CANCELLED).inc(cancelled)
        if services.jobs.ended(job.id):
            try:
                services.queue.job_ended(job.id)
            except Exception:  # the cancel is saved and the end recorded: the sweeper sends it
                log.warning(
                    "job %s ended by a cancel; its end task was not sent", job.id, exc_info=True
                )
        job = find_job(services, tenant, job_id)
    return Acted(job, cancelled)


@contextlib.contextmanager
def long_poll_slot(services: ApiServices, tenant: str) -> Iterator[None]:
    """One of the tenant's DOCRENDER_MAX_LONG_POLLS open long polls, counted in Redis across
    API processes; 429 when they are all taken (a plain poll still answers at once). Anything
    that holds an API thread waiting for a job takes one (the pages' preview too). Each slot
    is a member of a sorted set scored with the moment it lapses, so the slot of a process
    killed mid-wait lapses on its own, however often the tenant polls meanwhile."""
    key = f"docrender:tenant:{tenant}:long_poll_slots"
    slot = uuid.uuid4().hex
    now = time.time()
    with services.redis.pipeline() as pipe:  # MULTI/EXEC: one step for every API process
        pipe.zremrangebyscore(key, "-inf", now)
        pipe.zadd(key, {slot: now + MAX_WAIT_SECONDS * 2})
        pipe.zcard(key)
        pipe.expire(key, MAX_WAIT_SECONDS * 2)
        open_polls = pipe.execute()[2]
    try:
        cap = services.settings.max_long_polls
        if open_polls > cap:
            raise TooManyLongPolls(
                _(
                    "This key already holds %(cap)s long polls (?wait=) open; poll without wait, "
                    "or wait for one of them to answer.",
                    cap=cap,
                ),
                {"limit": cap},
                retry_after=5,
            )
        yield
    finally:
        services.redis.zrem(key, slot)


def job_cursor(raw: str | None) -> float | None:
    """The page cursor of a job list (the API's ``cursor``, the pages' ``before``): what a
    list page gave as its next one, a moment in milliseconds; None for the first page."""
    if raw is None or not raw.strip():
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise MalformedRequest(
            _("cursor=%(cursor)s is not a next_cursor this API gave.", cursor=repr(raw[:40])),
        )
    return value
