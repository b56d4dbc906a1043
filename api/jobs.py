"""/v1/jobs: submit, status, download one document, download all as a ZIP."""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import quote

from flask import Blueprint, Response, g, jsonify, redirect, request, send_file
from pydantic import ValidationError
from werkzeug.wrappers import Response as BaseResponse

from api import actions, error_schemas, tracing
from api.actions import MAX_WAIT_SECONDS
from api.auth import require_tenant
from api.dry_run import dry_run, dry_run_view
from api.errors import request_language
from api.naming import batch_name
from api.openapi import documented
from api.schemas import (
    JobHeaders,
    JobIn,
    JobList,
    JobListQuery,
    JobOut,
    JobUpload,
    RetryIn,
    WaitQuery,
    parse_json,
    parse_retry,
)
from api.services import job_view, services
from api.submission import job_body_from_form, submit_job, uploaded_files
from docrender.data.files import DataFile
from docrender.data.strict_json import JSONValue
from docrender.errors import (
    DocumentFailed,
    MalformedRequest,
    NotFound,
    NotReady,
    UnsupportedFileType,
)
from docrender.i18n import Language, _, kept
from docrender.jobs.formats import FORMATS
from docrender.jobs.idempotency import MAX_KEY_LENGTH
from docrender.jobs.store import DocumentStatus, Job
from docrender.responses import DryRunOut, JobSummary
from docrender.storage import job_archive_key, job_document_key, job_merged_key

bp = Blueprint("jobs", __name__)
bp.before_request(require_tenant)


@bp.post("/jobs")
@documented(
    operation_id="createJob",
    tags=("jobs",),
    ok={200: JobOut, 202: JobOut},
    errors=(409, 413, 415, 422),
    json=JobIn,
    form=JobUpload,
    headers=JobHeaders,
    typed_errors=error_schemas.JOB_SUBMISSION,
    response_headers={200: ("Location", "Idempotent-Replayed"), 202: ("Location",)},
)
def create_job() -> tuple[Response, int, dict[str, str]]:
    """Submit a job.

    A JSON body, or multipart form data with a data file (.xlsx, .csv, .json): one document
    per row. 202 with the job and its Location; 200 with the earlier job when an
    Idempotency-Key repeats an earlier request. With ``strict`` (the default), data missing a
    variable the template reads is refused (422 ``missing_variables``, every document and
    name listed). A ``callback_url`` is POSTed the finished job, signed
    (``X-Docrender-Signature``)."""
    body, uploads, sheet = _job_request()
    job, replayed = submit_job(
        services(), g.tenant, body, _idempotency_key(), tracing.request_id(), uploads, sheet
    )
    headers = {"Location": f"/v1/jobs/{job.id}"}
    if replayed:  # the job an earlier request with this key made, as it is now
        return _job_body(job), 200, headers | {"Idempotent-Replayed": "true"}
    return _job_body(job), 202, headers


@bp.post("/jobs/dry-run")
@documented(
    operation_id="dryRunJob",
    tags=("jobs",),
    ok={200: DryRunOut},
    errors=(413, 415, 422, 429, 503),
    json=JobIn,
    form=JobUpload,
)
def dry_run_job() -> Response:
    """Check a job without making it: the same body as POST /v1/jobs; every document filled
    as its render would fill it (by the workers, nothing converted, nothing kept), each
    listed with what would stop it printing: a missing or wrongly shaped value (with
    ``strict``), a value the template cannot use (its column and what to type), any other
    render failure. 200 whatever the documents' verdict; a body that is no job is refused as
    POST /v1/jobs refuses it."""
    body, uploads, sheet = _job_request()
    checked = dry_run(services(), g.tenant, body, uploads, sheet, tracing.request_id())
    messages = body.get("messages") if isinstance(body, dict) else None
    language = request_language(cast("Language | None", messages))
    return jsonify(dry_run_view(checked, language).model_dump(mode="json"))


def _job_request() -> tuple[JSONValue, dict[str, bytes], DataFile | None]:
    """A job as a request sends it: its body, its files by name, and its data file's sheet."""
    uploads: dict[str, bytes] = {}
    sheet: DataFile | None = None
    body: JSONValue
    if request.mimetype == "multipart/form-data":
        body, sheet = job_body_from_form(request.form, request.files, services().settings, g.tenant)
        uploads = uploaded_files(request.files)
    elif request.mimetype == "application/json":
        body = parse_json(request.get_data(cache=False))
    else:
        raise UnsupportedFileType(
            _(
                "Send the job as JSON (Content-Type: application/json), or as multipart form data "
                "with a 'data' file."
            ),
        )
    return body, uploads, sheet


def _idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable() or not key.isascii():
        raise MalformedRequest(
            _(
                "Idempotency-Key must be 1 to %(limit)s printable ASCII characters (a "
                "UUID is a good choice).",
                limit=MAX_KEY_LENGTH,
            ),
        )
    return key


@bp.get("/jobs")
@documented(operation_id="listJobs", tags=("jobs",), ok={200: JobList}, query=JobListQuery)
def list_jobs() -> Response:
    """This tenant's jobs, newest first, a page at a time (``cursor``), of one ``status`` if
    asked: each with its state and counts."""
    query = _list_query(request.args)
    before = actions.job_cursor(query.cursor)
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
            _(
                "%(where)s: %(msg)s (status: one of queued, running, succeeded, partial, failed, "
                "cancelled; limit: 1 to 100).",
                where=where,
                msg=first["msg"],
            ),
        ) from None


@bp.get("/jobs/<job_id>")
@documented(operation_id="getJob", tags=("jobs",), ok={200: JobOut}, errors=(404,), query=WaitQuery)
def get_job(job_id: str) -> Response:
    """The job; with ``?wait=N``, answered as soon as it finishes or after N seconds at most."""
    wait = _wait_seconds(request.args.get("wait"))
    job = _find_job(job_id)
    if wait and job.finished_at is None:
        with actions.long_poll_slot(services(), g.tenant):
            job = actions.wait_for_finish(services(), g.tenant, job, wait)
    return _job_body(job)


@bp.post("/jobs/<job_id>/retry")
@documented(
    operation_id="retryJob",
    tags=("jobs",),
    ok={200: JobOut},
    errors=(404, 413, 422, 429),
    json=RetryIn,
)
def retry_job(job_id: str) -> Response:
    """Re-queue the failed documents, except those set aside as quarantined (they killed their
    worker again and again). With a body, only the documents it lists, each with its
    corrected data (a row fixed after its failure joins its batch again), checked as a
    submission is. Counts against the tenant's cap on unfinished documents."""
    fixed = None
    if request.get_data(cache=True):
        if request.mimetype != "application/json":
            raise UnsupportedFileType(_("Send the corrected documents as JSON."))
        corrected = parse_retry(parse_json(request.get_data(cache=False)))
        fixed = {document.index: document.data for document in corrected.documents}
    return _job_body(actions.retry_failed(services(), g.tenant, job_id, fixed).job)


@bp.post("/jobs/<job_id>/cancel")
@documented(operation_id="cancelJob", tags=("jobs",), ok={200: JobOut}, errors=(404,))
def cancel_job(job_id: str) -> Response:
    """Cancel the queued documents; running ones finish."""
    return _job_body(actions.cancel_queued(services(), g.tenant, job_id).job)


@bp.get("/jobs/<job_id>/merged")
@documented(
    operation_id="downloadMerged",
    tags=("files",),
    ok={200: None, 302: None},
    errors=(404, 409),
    files=("application/pdf",),
    response_headers={200: ("Content-Disposition",), 302: ("Location",)},
)
def download_merged(job_id: str) -> BaseResponse:
    """One PDF of every succeeded document, in request order, a bookmark per document."""
    job = _find_job(job_id)
    if job.format != "pdf":
        raise NotFound(
            _(
                "Job %(job_id)s made %(format)s files; only pdf jobs have a merged volume (a "
                "merged PDF/A would no longer be one).",
                job_id=job_id,
                format=job.format,
            ),
        )
    _check_finished(job)
    fallback = f"{job.id}-merged.pdf"
    stem = batch_name(job.options.title, job.template_name)
    name = f"{stem}.pdf" if stem else fallback
    return _file(job_merged_key(job.id), "application/pdf", attachment(name, fallback=fallback))


@bp.get("/jobs/<job_id>/documents/<int:index>")
@documented(
    operation_id="downloadDocument",
    tags=("files",),
    ok={200: None, 302: None},
    errors=(404, 409),
    files=tuple(sorted({f.mime_type for f in FORMATS.values()})),
    response_headers={200: ("Content-Disposition",), 302: ("Location",)},
    typed_errors=error_schemas.DOCUMENT_DOWNLOAD,
)
def download_document(job_id: str, index: int) -> BaseResponse:
    """One document: application/pdf or the DOCX type, its UTF-8 name in
    Content-Disposition. 409 while it is not finished, 404 when it failed."""
    options, document = actions.find_document(services(), g.tenant, job_id, index)
    if document.status is DocumentStatus.FAILED:
        raise DocumentFailed(
            _(
                "Document %(index)s failed: %(reason)s",
                index=index,
                reason=kept(document.error or {}),
            ),
            {key: value for key, value in (document.error or {}).items() if key != "text"},
        )
    if document.status is DocumentStatus.CANCELLED:
        raise NotFound(
            _("Document %(index)s was cancelled before it was made.", index=index),
        )
    if document.status is not DocumentStatus.SUCCEEDED:
        raise NotReady(
            _(
                "Document %(index)s is %(status)s; poll the job until it finishes.",
                index=index,
                status=document.status,
            ),
        )
    output = FORMATS[options.format]
    disposition = attachment(
        f"{document.name}.{output.extension}", fallback=f"document-{index}.{output.extension}"
    )
    return _file(job_document_key(job_id, index, options.format), output.mime_type, disposition)


@bp.get("/jobs/<job_id>/archive")
@documented(
    operation_id="downloadArchive",
    tags=("files",),
    ok={200: None, 302: None},
    errors=(404, 409),
    files=("application/zip",),
    response_headers={200: ("Content-Disposition",), 302: ("Location",)},
)
def download_archive(job_id: str) -> BaseResponse:
    """A ZIP of every succeeded document, with UTF-8 file names."""
    job = _find_job(job_id)
    _check_finished(job)
    fallback = f"{job.id}.zip"
    stem = batch_name(job.options.title, job.template_name)
    name = f"{stem}.zip" if stem else fallback
    return _file(job_archive_key(job.id), "application/zip", attachment(name, fallback=fallback))


def _file(key: str, mimetype: str, disposition: str) -> BaseResponse:
    """A stored file: streamed from storage, or (object storage with DOCRENDER_S3_PRESIGN=1)
    a 302 to a presigned URL that serves it with the same Content-Disposition."""
    url = services().storage.download_url(key, disposition)
    if url is not None:
        return redirect(url, 302)
    response = send_file(services().storage.open(key), mimetype=mimetype)
    response.headers["Content-Disposition"] = disposition
    return response


def _check_finished(job: Job) -> None:
    """The archive and merged volume exist once the job has finished (a job finishes only
    after they are stored: workers/ending.py): 409 with Retry-After until then."""
    if job.finished_at is None:
        raise NotReady(
            _("Job %(id)s is %(status)s; poll it until it finishes.", id=job.id, status=job.status),
        )
    if job.succeeded == 0:
        raise NotFound(
            _("No document of job %(id)s succeeded, so there is nothing to download.", id=job.id),
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
            _("wait=%(raw)s is not a number of seconds.", raw=repr(raw))
        ) from None
    if not 0 <= seconds < float("inf"):
        raise MalformedRequest(
            _(
                "wait=%(raw)s must be a number of seconds from 0; more than 60 counts as 60.",
                raw=repr(raw),
            ),
        )
    return min(seconds, MAX_WAIT_SECONDS)


def _job_body(job: Job) -> Response:
    language = request_language(job.options.messages)
    return jsonify(job_view(services(), job, language).body())


def _find_job(job_id: str) -> Job:
    return actions.find_job(services(), g.tenant, job_id)
