"""/v1/jobs: submit, status, download one document, download all as a ZIP."""

from __future__ import annotations

import tempfile
import zipfile
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, g, jsonify, request, send_file

from api.auth import require_tenant
from api.services import services
from api.submission import submit_job
from docrender.errors import DocumentFailed, MalformedRequest, NotFound, NotReady
from docrender.jobstore import FAILED, SUCCEEDED, Job
from docrender.storage import job_document_key

bp = Blueprint("jobs", __name__)
bp.before_request(require_tenant)

MIME_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


@bp.post("/jobs")
def create_job() -> tuple[Response, int, dict[str, str]]:
    body = request.get_json(silent=True)
    if body is None:
        raise MalformedRequest("The body must be a JSON object (Content-Type: application/json).")
    job = submit_job(services(), g.tenant, body)
    return jsonify(job_json(job)), 202, {"Location": f"/v1/jobs/{job.id}"}


@bp.get("/jobs/<job_id>")
def get_job(job_id: str) -> Response:
    return jsonify(job_json(_find_job(job_id)))


@bp.get("/jobs/<job_id>/documents/<int:index>")
def download_document(job_id: str, index: int) -> Response:
    job = _find_job(job_id)
    if index >= len(job.documents):
        raise NotFound(f"Job {job_id} has no document {index}.")
    document = job.documents[index]
    if document.status == FAILED:
        raise DocumentFailed(
            f"Document {index} failed: {(document.error or {}).get('message', 'no reason')}",
            document.error,
        )
    if document.status != SUCCEEDED:
        raise NotReady(f"Document {index} is {document.status}; poll the job until it finishes.")
    response = send_file(
        services().storage.open(job_document_key(job.id, index, job.format)),
        mimetype=MIME_TYPES[job.format],
    )
    response.headers["Content-Disposition"] = attachment(
        f"{document.name}.{job.format}", fallback=f"document-{index}.{job.format}"
    )
    return response


@bp.get("/jobs/<job_id>/archive")
def download_archive(job_id: str) -> Response:
    job = _find_job(job_id)
    if job.finished_at is None:
        raise NotReady(f"Job {job_id} is {job.status}; poll it until it finishes.")
    if job.succeeded == 0:
        raise NotFound(f"No document of job {job_id} succeeded, so there is nothing to archive.")
    # send_file closes it once the response is sent.
    archive = tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024)  # noqa: SIM115
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        # Python's zipfile sets the UTF-8 flag on non-ASCII names.
        for document, filename in zip_entries(job):
            with services().storage.open(job_document_key(job.id, document, job.format)) as src:
                zipped.writestr(filename, src.read())
    archive.seek(0)
    return send_file(
        archive, mimetype="application/zip", as_attachment=True, download_name=f"{job.id}.zip"
    )


def attachment(filename: str, fallback: str) -> str:
    """Content-Disposition with the UTF-8 name (RFC 6266 ``filename*``) and, for clients
    that only read ``filename``, a readable ASCII name instead of a name stripped to "-"."""
    if filename.isascii() and '"' not in filename:
        return f'attachment; filename="{filename}"'
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def zip_entries(job: Job) -> list[tuple[int, str]]:
    """(index, file name) of each succeeded document; repeated names get -2, -3..."""
    seen: dict[str, int] = {}
    entries = []
    for document in job.documents:
        if document.status != SUCCEEDED:
            continue
        count = seen[document.name] = seen.get(document.name, 0) + 1
        stem = document.name if count == 1 else f"{document.name}-{count}"
        entries.append((document.index, f"{stem}.{job.format}"))
    return entries


def job_json(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "status": job.status,
        "template": job.template,
        "format": job.format,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
        "progress": {
            "total": len(job.documents),
            "succeeded": job.succeeded,
            "failed": job.failed,
        },
        "documents": [
            {
                "index": doc.index,
                "name": doc.name,
                "status": doc.status,
                "error": doc.error,
                "url": f"/v1/jobs/{job.id}/documents/{doc.index}"
                if doc.status == SUCCEEDED
                else None,
            }
            for doc in job.documents
        ],
    }


def _find_job(job_id: str) -> Job:
    job = services().jobs.get(job_id, g.tenant)
    if job is None:  # unknown, expired, or another tenant's: indistinguishable on purpose
        raise NotFound(f"There is no job {job_id!r}.")
    return job
