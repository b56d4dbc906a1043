"""Accepting a job: validate everything first, record it, and only then queue its tasks.

Nothing invalid gets past here, and nothing is queued for a request that is refused.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from werkzeug.datastructures import FileStorage

from api.naming import document_names
from api.schemas import parse_job
from api.services import ApiServices
from docrender.datafile import read_documents
from docrender.errors import MalformedRequest, PayloadTooLarge, UnknownTemplate
from docrender.jobstore import Job, NewDocument
from docrender.settings import Settings
from docrender.storage import job_template_key
from docrender.template_registry import template_key
from docrender.validation import check_documents

_BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def job_body_from_form(
    form: Mapping[str, str], files: Mapping[str, FileStorage], settings: Settings
) -> dict[str, Any]:
    """The JSON body a multipart job stands for: one document per row of its data file."""
    upload = files.get("data")
    if upload is None:
        raise MalformedRequest("Send the documents' data as a multipart file field named 'data'.")
    documents = read_documents(upload.filename or "", upload.read(), settings.max_documents_per_job)
    body: dict[str, Any] = {"template": form.get("template", ""), "documents": []}
    body["documents"] = [{"data": data} for data in documents]
    for field in ("format", "name"):
        if form.get(field):
            body[field] = form[field]
    if "strict" in form:
        strict = _BOOLEANS.get(form["strict"].strip().lower())
        if strict is None:
            raise MalformedRequest(f"strict={form['strict']!r}: use true or false.")
        body["strict"] = strict
    return body


def submit_job(services: ApiServices, tenant: str, body: Any) -> Job:
    request = parse_job(body)
    limit = services.settings.max_documents_per_job
    if len(request.documents) > limit:
        raise PayloadTooLarge(
            f"A job may hold at most {limit} documents; split it into several jobs.",
            {"limit": limit, "documents": len(request.documents)},
        )
    template = services.templates.get(tenant, request.template)
    if template is None:
        raise UnknownTemplate(
            f"There is no template {request.template!r}; upload it to /v1/templates first.",
            {"template": request.template},
        )
    if request.strict:
        check_documents(template.variables, template.loops, [d.data for d in request.documents])

    names = document_names(request.name, [(doc.name, doc.data) for doc in request.documents])
    job_id = uuid.uuid4().hex
    # The job keeps its own copy of the template (see job_template_key).
    services.storage.put(
        job_template_key(job_id), services.storage.read(template_key(tenant, template.id))
    )
    job = services.jobs.create(
        job_id=job_id,
        tenant=tenant,
        template=template.id,
        template_key=job_template_key(job_id),
        output_format=request.format,
        documents=[
            NewDocument(name, doc.data) for name, doc in zip(names, request.documents, strict=True)
        ],
    )
    services.queue.enqueue(job_id, list(range(len(request.documents))))
    return job
