"""/v1/jobs: submit, status, download one document, download all as a ZIP."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, g, jsonify, redirect, request, send_file
from pydantic import ValidationError

from api import error_schemas, tracing
from api.auth import require_tenant
from api.errors import request_language
from api.openapi import documented
from api.schemas import (
    JobHeaders,
    JobIn,
    JobList,
    JobListQuery,
    JobOut,
    JobUpload,
    WaitQuery,
    parse_json,
)
from api.services import job_view, services
from api.submission import job_body_from_form, queued_cap_reached, submit_job, uploaded_files
from docrender.errors import (
    DocumentFailed,
    MalformedRequest,
    NotFound,
    NotReady,
    TooManyLongPolls,
    UnsupportedFileType,
)
from docrender.jobs.formats import FORMATS
from docrender.jobs.idempotency import MAX_KEY_LENGTH
from docrender.jobs.store import DocumentStatus, Job
from docrender.monitoring import metrics
from docrender.responses import JobSummary
from docrender.storage import job_archive_key, job_document_key, job_merged_key

bp = Blueprint("jobs", __name__)
bp.before_request(require_tenant)


@bp.post("/jobs")
@documented(operation_id="createJob", tags=("jobs",), ok={200: JobOut, 202: JobOut},
            errors=(409, 413, 415, 422), json=JobIn, form=JobUpload, headers=JobHeaders,
            typed_errors=error_schemas.JOB_SUBMISSION,
            response_headers={200: ("Location", "Idempotent-Replayed"), 202: ("Location",)})  # fmt: skip
def create_job() -> tuple[Response, int, dict[str, str]]:
    """Submit a job.

    A JSON body, or multipart form data with a data file (.xlsx, .csv, .json): one document
    per row. 202 with the job and its Location; 200 with the earlier job when an
    Idempotency-Key repeats an earlier request. With ``strict`` (the default), data missing a
    variable the template reads is refused (422 ``missing_variables``, every document and
    name listed). A ``callback_url`` is POSTed the finished job, signed
    (``X-Docrender-Signature``)."""
    uploads: dict[str, bytes] = {}
    sheet = None
    if request.mimetype == "multipart/form-data":
        body, sheet = job_body_from_form(request.form, request.files, services().settings)
        uploads = uploaded_files(request.files)
    elif request.mimetype == "application/json":
        body = parse_json(request.get_data(cache=False))
    else:
        raise UnsupportedFileType(
            "Send the job as JSON (Content-Type: application/json), or as multipart form data "
            "with a 'data' file.",
            zh="请以 JSON（Content-Type: application/json）或带 data 文件的 multipart 表单发送任务。",
        )
    job, replayed = submit_job(
        services(), g.tenant, body, _idempotency_key(), tracing.request_id(), uploads, sheet
    )
    headers = {"Location": f"/v1/jobs/{job.id}"}
    if replayed:  # the job an earlier request with this key made, as it is now
        return _job_body(job), 200, headers | {"Idempotent-Replayed": "true"}
    return _job_body(job), 202, headers


def _idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable() or not key.isascii():
        raise MalformedRequest(
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable ASCII characters "
            "(a UUID is a good choice).",
            zh=f"Idempotency-Key 必须是 1 到 {MAX_KEY_LENGTH} 个可打印的 ASCII 字符（UUID 就很好）。",
        )
    return key


@bp.get("/jobs")
@documented(operation_id="listJobs", tags=("jobs",), ok={200: JobList}, query=JobListQuery)
def list_jobs() -> Response:
    """This tenant's jobs, newest first, a page at a time (``cursor``), of one ``status`` if
    asked: each with its state and counts."""
    query = _list_query(request.args)
    before = None
    if query.cursor is not None:
        try:
            before = float(query.cursor)
        except ValueError:
            raise MalformedRequest(
                f"cursor={query.cursor!r} is not a next_cursor this API gave.",
                zh=f"cursor={query.cursor!r} 不是本 API 给出的 next_cursor。",
            ) from None
    jobs, last = services().jobs.list(g.tenant, query.limit, before, query.status)
    page = JobList(
        jobs=[JobSummary.of(job) for job in jobs],
        next_cursor=None if last is None else f"{last:.0f}",
    )
    return jsonify(page.model_dump(mode="json"))


def _list_query(args: Any) -> JobListQuery:
    try:
        return JobListQuery.model_validate(args.to_dict())
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        raise MalformedRequest(
            f"{where}: {first['msg']} (status: one of queued, running, succeeded, partial, "
            "failed, cancelled; limit: 1 to 100).",
            zh=f"{where}：{first['msg']}（status：queued、running、succeeded、partial、failed、"
            "cancelled 之一；limit：1 到 100）。",
        ) from None


MAX_WAIT_SECONDS = 60


@bp.get("/jobs/<job_id>")
@documented(operation_id="getJob", tags=("jobs",), ok={200: JobOut}, errors=(404,), query=WaitQuery)
def get_job(job_id: str) -> Response:
    """The job; with ``?wait=N``, answered as soon as it finishes or after N seconds at most."""
    wait = _wait_seconds(request.args.get("wait"))
    job = _find_job(job_id)
    if wait and job.finished_at is None:
        with long_poll_slot():
            job = _wait_for_finish(job, wait)
    return _job_body(job)


@contextlib.contextmanager
def long_poll_slot() -> Iterator[None]:
    """One of the tenant's DOCRENDER_MAX_LONG_POLLS open long polls, counted in Redis across
    API processes; 429 when they are all taken (a plain poll still answers at once). Anything
    that holds an API thread waiting for a job takes one (the pages' preview too)."""
    key = f"docrender:tenant:{g.tenant}:long_polls"
    client = services().redis
    cap = services().settings.max_long_polls
    open_polls = client.incr(key)
    client.expire(key, MAX_WAIT_SECONDS * 2)  # a process killed mid-wait cannot leak its slot
    try:
        if open_polls > cap:
            raise TooManyLongPolls(
                f"This key already holds {cap} long polls (?wait=) open; poll without wait, or "
                "wait for one of them to answer.",
                {"limit": cap},
                retry_after=5,
                zh=f"此密钥已有 {cap} 个长轮询（?wait=）未结束；请不带 wait 轮询，或等其中一个返回。",
            )
        yield
    finally:
        client.decr(key)


@bp.post("/jobs/<job_id>/retry")
@documented(operation_id="retryJob", tags=("jobs",), ok={200: JobOut}, errors=(404, 429))
def retry_job(job_id: str) -> Response:
    """Re-queue the failed documents, except those set aside as quarantined (they killed their
    worker again and again). Counts against the tenant's cap on unfinished documents."""
    job = _find_job(job_id)
    retried = services().jobs.requeue_failed(job.id, services().settings.max_queued_documents)
    if retried.over_cap:
        raise queued_cap_reached(services().settings.max_queued_documents, retried.over_cap)
    if retried.again:
        try:
            services().queue.enqueue(job.id, retried.again)
        except BaseException:
            # The broker refused the tasks: the documents go back to failed, so the error the
            # client gets (503) means nothing changed, and its retry can try again.
            services().jobs.undo_retry(retried)
            raise
    return _job_body(_find_job(job_id))


@bp.post("/jobs/<job_id>/cancel")
@documented(operation_id="cancelJob", tags=("jobs",), ok={200: JobOut}, errors=(404,))
def cancel_job(job_id: str) -> Response:
    """Cancel the queued documents; running ones finish."""
    job = _find_job(job_id)
    if cancelled := services().jobs.cancel_queued(job.id):
        metrics.DOCUMENTS.labels(DocumentStatus.CANCELLED).inc(cancelled)
        job = _find_job(job_id)
        if job.finished_at is not None:
            metrics.JOBS.labels(job.status).inc()
            services().queue.job_finished(job.id)
    return _job_body(job)


@bp.get("/jobs/<job_id>/merged")
@documented(operation_id="downloadMerged", tags=("files",), ok={200: None, 302: None},
            errors=(404, 409), files=("application/pdf",),
            response_headers={200: ("Content-Disposition",), 302: ("Location",)})  # fmt: skip
def download_merged(job_id: str) -> Response:
    """One PDF of every succeeded document, in request order, a bookmark per document."""
    job = _find_job(job_id)
    if job.format != "pdf":
        raise NotFound(
            f"Job {job_id} made {job.format} files; only pdf jobs have a merged volume (a "
            "merged PDF/A would no longer be one).",
            zh=f"任务 {job_id} 生成的是 {job.format} 文件；只有 pdf 任务才有合并文件（合并后的 PDF/A 就不再是 PDF/A）。",
        )
    _check_bundled(job)
    name = f"{job.id}-merged.pdf"
    return _file(job_merged_key(job.id), "application/pdf", attachment(name, fallback=name))


@bp.get("/jobs/<job_id>/documents/<int:index>")
@documented(operation_id="downloadDocument", tags=("files",), ok={200: None, 302: None},
            errors=(404, 409), files=tuple(sorted({f.mime_type for f in FORMATS.values()})),
            response_headers={200: ("Content-Disposition",), 302: ("Location",)},
            typed_errors=error_schemas.DOCUMENT_DOWNLOAD)  # fmt: skip
def download_document(job_id: str, index: int) -> Response:
    """One document: application/pdf or the DOCX type, its UTF-8 name in
    Content-Disposition. 409 while it is not finished, 404 when it failed."""
    job = _find_job(job_id)
    if index >= len(job.documents):
        raise NotFound(
            f"Job {job_id} has no document {index}.", zh=f"任务 {job_id} 没有第 {index} 份文件。"
        )
    document = job.documents[index]
    if document.status is DocumentStatus.FAILED:
        raise DocumentFailed(
            f"Document {index} failed: {(document.error or {}).get('message', 'no reason')}",
            document.error,
            zh=f"第 {index} 份文件生成失败：{(document.error or {}).get('zh') or (document.error or {}).get('message', '没有原因')}",
        )
    if document.status is DocumentStatus.CANCELLED:
        raise NotFound(
            f"Document {index} was cancelled before it was made.",
            zh=f"第 {index} 份文件在生成前已取消。",
        )
    if document.status is not DocumentStatus.SUCCEEDED:
        raise NotReady(
            f"Document {index} is {document.status}; poll the job until it finishes.",
            zh=f"第 {index} 份文件状态为 {document.status}；请轮询任务直到完成。",
        )
    output = FORMATS[job.format]
    disposition = attachment(
        f"{document.name}.{output.extension}", fallback=f"document-{index}.{output.extension}"
    )
    return _file(job_document_key(job.id, index, job.format), output.mime_type, disposition)


@bp.get("/jobs/<job_id>/archive")
@documented(operation_id="downloadArchive", tags=("files",), ok={200: None, 302: None},
            errors=(404, 409), files=("application/zip",),
            response_headers={200: ("Content-Disposition",), 302: ("Location",)})  # fmt: skip
def download_archive(job_id: str) -> Response:
    """A ZIP of every succeeded document, with UTF-8 file names."""
    job = _find_job(job_id)
    _check_bundled(job)
    name = f"{job.id}.zip"
    return _file(job_archive_key(job.id), "application/zip", attachment(name, fallback=name))


def _file(key: str, mimetype: str, disposition: str) -> Response:
    """A stored file: streamed from storage, or (object storage with DOCRENDER_S3_PRESIGN=1)
    a 302 to a presigned URL that serves it with the same Content-Disposition."""
    url = services().storage.download_url(key, disposition)
    if url is not None:
        return redirect(url, 302)
    response = send_file(services().storage.open(key), mimetype=mimetype)
    response.headers["Content-Disposition"] = disposition
    return response


def _check_bundled(job: Job) -> None:
    """Refuse a download of the finished job's archive or merged volume until the task that
    follows the job's end has stored them (workers/pdf/bundle.py): 409 until then."""
    if job.finished_at is None:
        raise NotReady(
            f"Job {job.id} is {job.status}; poll it until it finishes.",
            zh=f"任务 {job.id} 状态为 {job.status}；请轮询直到完成。",
        )
    if job.succeeded == 0:
        raise NotFound(
            f"No document of job {job.id} succeeded, so there is nothing to download.",
            zh=f"任务 {job.id} 没有成功生成的文件，无可下载。",
        )
    if not job.bundled:
        raise NotReady(
            f"The files of job {job.id} are being bundled, right after it finished; try again "
            "in a second.",
            zh=f"任务 {job.id} 刚刚完成，其文件正在打包；请一秒后再试。",
        )


def attachment(filename: str, fallback: str) -> str:
    """Content-Disposition with the UTF-8 name (RFC 6266 ``filename*``) and, for clients
    that only read ``filename``, a readable ASCII name instead of a name stripped to "-"."""
    if filename.isascii() and '"' not in filename:
        return f'attachment; filename="{filename}"'
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _wait_seconds(raw: str | None) -> float:
    if raw is None:
        return 0
    try:
        seconds = float(raw)
    except ValueError:
        raise MalformedRequest(
            f"wait={raw!r} is not a number of seconds.", zh=f"wait={raw!r} 不是秒数。"
        ) from None
    if not 0 <= seconds < float("inf"):
        raise MalformedRequest(
            f"wait={raw!r} must be a number of seconds from 0; more than 60 counts as 60.",
            zh=f"wait={raw!r} 必须是从 0 起的秒数；超过 60 按 60 计。",
        )
    return min(seconds, MAX_WAIT_SECONDS)


def _wait_for_finish(job: Job, seconds: float) -> Job:
    """Block until the job's finished message or the deadline. Subscribing *before* reading
    the job again closes the gap in which it could finish unseen."""
    deadline = time.monotonic() + seconds
    with services().redis.pubsub(ignore_subscribe_messages=True) as pubsub:
        pubsub.subscribe(services().jobs.finished_channel(job.id))
        job = _find_job(job.id)
        while job.finished_at is None and (left := deadline - time.monotonic()) > 0:
            if pubsub.get_message(timeout=min(left, 5)) is not None:
                job = _find_job(job.id)
    # Unfinished at the deadline: answer with its progress as it is now.
    return job if job.finished_at is not None else _find_job(job.id)


def _job_body(job: Job) -> Response:
    language = request_language(job.options.messages)
    return jsonify(job_view(services(), job, language).body())


def _find_job(job_id: str) -> Job:
    job = services().jobs.get(job_id, g.tenant)
    if job is None:  # unknown, expired, or another tenant's: indistinguishable on purpose
        raise NotFound(f"There is no job {job_id!r}.", zh=f"没有任务 {job_id!r}。")
    return job
