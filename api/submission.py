"""Accepting a job: validate everything first, record it, and only then queue its tasks.

Nothing invalid gets past here, and nothing is queued for a request that is refused.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from api.schemas import JobIn, parse_job
from api.services import ApiServices
from docrender.errors import MissingVariables, PayloadTooLarge, UnknownTemplate
from docrender.jobstore import Job, NewDocument
from docrender.storage import job_template_key
from docrender.template_registry import Template, template_key

_UNSAFE_IN_NAMES = re.compile(r"[\x00-\x1f\x7f/\\]+")
MAX_NAME_LENGTH = 150


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
        check_variables(template, request)

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
            NewDocument(name=document_name(doc.name, index), data=doc.data)
            for index, doc in enumerate(request.documents)
        ],
    )
    services.queue.enqueue(job_id, range(len(request.documents)))
    return job


def check_variables(template: Template, request: JobIn) -> None:
    """Refuse the whole job, listing every missing name of every document at once."""
    needed = set(template.variables)
    missing = [
        {"document": index, "missing": sorted(needed - doc.data.keys())}
        for index, doc in enumerate(request.documents)
        if needed - doc.data.keys()
    ]
    if missing:
        count = sum(len(entry["missing"]) for entry in missing)
        raise MissingVariables(
            f"{len(missing)} of {len(request.documents)} documents lack values the template "
            f'reads ({count} in all); add them, or send "strict": false to render them empty.',
            missing,
        )


def document_name(requested: str | None, index: int) -> str:
    """A file stem safe on every file system: no separators or control characters."""
    cleaned = _UNSAFE_IN_NAMES.sub("_", requested or "").strip(" .")
    return cleaned[:MAX_NAME_LENGTH] or f"document-{index}"
