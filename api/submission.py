"""Accepting a job: validate everything first, record it, and only then queue its tasks.

Nothing invalid gets past here, and nothing is queued for a request that is refused.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from werkzeug.datastructures import FileStorage, MultiDict

from api.naming import document_names
from api.schemas import DocumentIn, parse_job, parse_json
from api.services import ApiServices
from docrender.data.files import DataFile, read_uploaded_data_file
from docrender.data.rich import check_rich
from docrender.data.strict_json import JSONValue
from docrender.data.validation import check_documents, problems_of, unused_columns
from docrender.data.values import is_image, named_files, subdocument_files
from docrender.errors import (
    DocrenderError,
    IdempotencyKeyReused,
    MalformedRequest,
    MissingVariables,
    PayloadTooLarge,
    RenderFailed,
    ServiceUnavailable,
    TooManyQueuedDocuments,
    TooManyUploads,
    UnknownTemplate,
    ValidationFailed,
    WebhookSecretMissing,
    WrongShape,
)
from docrender.i18n import StoredMessage, StoredWarning, _, listing, ngettext
from docrender.jobs.idempotency import Claim, fingerprint
from docrender.jobs.options import JobOptions
from docrender.jobs.store import Job, JobKind, NewDocument, NewJob
from docrender.processes import poll_until
from docrender.settings import BOOLEAN_WORDS, Settings
from docrender.storage import job_data_key, job_file_key, job_template_key
from docrender.templates.inspection import check_subdocument
from docrender.templates.registry import Template, template_key
from docrender.webhooks.rules import check_callback_url

log = logging.getLogger(__name__)


def job_body_from_form(
    form: Mapping[str, str], files: Mapping[str, FileStorage], settings: Settings, tenant: str
) -> tuple[dict[str, JSONValue], DataFile]:
    """The JSON body a multipart job stands for (one document per row of its data file), and
    the data file read, which says where each row is."""
    upload = files.get("data")
    if upload is None:
        raise MalformedRequest(
            _("Send the documents' data as a multipart file field named 'data'."),
        )
    sheet = read_uploaded_data_file(
        tenant, upload.filename or "", upload.read(), settings.max_documents_per_job
    )
    body: dict[str, JSONValue] = {"template": form.get("template", ""), "documents": []}
    body["documents"] = [{"data": data} for data in sheet.documents]
    for option in JobOptions.model_fields:
        if form.get(option):
            body[option] = _form_option(option, form[option])
    return body, sheet


_YES_OR_NO = ("strict", "fail_alone")


def _form_option(option: str, raw: str) -> JSONValue:
    """A job option as a form field writes it: text, a yes/no word, or JSON for an object."""
    if option in _YES_OR_NO:
        said = BOOLEAN_WORDS.get(raw.strip().lower())
        if said is None:
            raise MalformedRequest(
                _("%(option)s=%(raw)s: use true or false.", option=option, raw=repr(raw))
            )
        return said
    if option == "pdf_options":
        return parse_json(raw.encode())
    return raw


_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def uploaded_files(files: MultiDict[str, FileStorage]) -> dict[str, bytes]:
    """The files sent with a multipart job in fields named 'files' (images its data names
    with ``"file": "<name>"``), by name."""
    uploads: dict[str, bytes] = {}
    for upload in files.getlist("files"):
        name = (upload.filename or "").rsplit("/", 1)[-1]
        if not _FILE_NAME.fullmatch(name):
            raise MalformedRequest(
                _(
                    "File name %(name)s: use 1 to 100 letters, digits, '.', '_' or '-' (the data "
                    "names the file by it).",
                    name=repr(name),
                ),
            )
        if name in uploads:
            raise MalformedRequest(
                _("Two files are named %(name)s; each needs its own name.", name=repr(name)),
            )
        uploads[name] = upload.read()
    return uploads


def submit_job(
    services: ApiServices,
    tenant: str,
    body: JSONValue,
    idempotency_key: str | None = None,
    request_id: str = "",
    uploads: Mapping[str, bytes] | None = None,
    sheet: DataFile | None = None,
    kind: JobKind = JobKind.BATCH,
) -> tuple[Job, bool]:
    """Validate, record and queue a job; return it and whether it is an earlier request's
    (same ``idempotency_key`` and body) rather than a new one. ``uploads``: files sent with
    it, by name; ``sheet``: the data file its documents came from, if any; ``kind``: a
    batch, or a preview or check (docrender/jobs/store.py)."""
    uploads = uploads or {}
    # The cheap refusals first, before the documents are validated one by one.
    documents = body.get("documents") if isinstance(body, dict) else None
    limit = services.settings.max_documents_per_job
    if isinstance(documents, list) and len(documents) > limit:
        raise PayloadTooLarge(
            _(
                "A job may hold at most %(limit)s documents; split it into several jobs.",
                limit=limit,
            ),
            {"limit": limit, "documents": len(documents)},
        )
    template = find_template(services, tenant, body)
    request = parse_job(body)
    check_document_sizes(services, [doc.data for doc in request.documents])
    check_rich_values([doc.data for doc in request.documents], template.styles)
    places = sheet.places() if sheet is not None else None
    misfits: dict[int, StoredMessage] = {}
    if request.strict:
        try:
            check_documents(template.inspection, [d.data for d in request.documents], places)
        except (MissingVariables, WrongShape) as error:
            if not request.fail_alone:
                raise
            misfits = {found["document"]: _misfit(found) for found in error.details}
    warnings: list[StoredWarning] = []
    if sheet is not None and (unused := unused_columns(template.inspection, sheet.columns)):
        warnings.append(unused)
    if request.callback_url is not None:
        _check_callback(services, tenant, request.callback_url)
    _check_pictures(template, request.documents)
    _check_file_references(
        tenant, [{"data": doc.data, "pictures": doc.pictures} for doc in request.documents], uploads
    )

    names = document_names(
        request.name,
        [(doc.name, doc.data) for doc in request.documents],
        sheet.rows if sheet is not None else None,
    )
    job_id = uuid.uuid4().hex
    new = NewJob(
        id=job_id,
        tenant=tenant,
        template=template.id,
        template_key=job_template_key(job_id),  # the job's own copy (see job_template_key)
        options=request.options(),
        documents=[
            NewDocument(name, doc.data, misfits.get(index), doc.pictures)
            for index, (name, doc) in enumerate(zip(names, request.documents, strict=True))
        ],
        request_id=request_id,
        warnings=warnings,
        template_name=template.name,
        kind=kind,
    )
    if idempotency_key is not None:
        request_print = fingerprint(
            {"body": body, "files": {n: hashlib.sha256(c).hexdigest() for n, c in uploads.items()}}
            if uploads
            else body
        )
        claim = services.idempotency.claim(tenant, idempotency_key, request_print, job_id)
        if not claim.owner:
            earlier = _earlier_job(
                services, tenant, body, idempotency_key, claim, request_id, uploads, sheet
            )
            return earlier, True
        try:
            return _create(services, new, uploads), False
        except BaseException:
            services.idempotency.release(tenant, idempotency_key, job_id)
            raise
    return _create(services, new, uploads), False


def _check_pictures(template: Template, documents: Sequence[DocumentIn]) -> None:
    """Every picture a document replaces is one of the template's, given an image value
    (a template uploaded before its pictures were kept is checked when it is filled)."""
    for index, document in enumerate(documents):
        for name, value in document.pictures.items():
            if template.pictures is not None and name not in template.pictures:
                raise ValidationFailed(
                    _(
                        "Document %(index)s replaces the picture %(name)s, which the template "
                        "has not; its pictures are: %(names)s.",
                        index=index,
                        name=repr(name),
                        names=", ".join(template.pictures) or _("none"),
                    ),
                    [{"document": index, "picture": name, "pictures": template.pictures}],
                )
            if not is_image(value):
                raise ValidationFailed(
                    _(
                        "Document %(index)s: the picture %(name)s needs an image value, such as "
                        '{"type": "image", "file": "seal.png"}.',
                        index=index,
                        name=repr(name),
                    ),
                    [{"document": index, "picture": name}],
                )


def check_rich_values(
    documents: list[dict[str, Any]], styles: Mapping[str, Sequence[str]] | None = None
) -> None:
    """Every rich value of every document well formed and naming only the template's
    ``styles`` (docrender/data/rich.py), or a 422 naming each bad one by its document and
    path, in words a person acts on."""
    problems = []
    for index, data in enumerate(documents):
        try:
            check_rich(data, styles)
        except RenderFailed as error:
            problems.append((index, error))
    if problems:
        index, first = problems[0]
        raise ValidationFailed(
            _("Document %(index)s: %(reason)s", index=index, reason=first.text),
            [{"document": at, "message": error.message, **error.details} for at, error in problems],
        )


def _misfit(found: dict[str, Any]) -> StoredMessage:
    """The error a document whose data does not fit fails with at once (``fail_alone``):
    its problems, each naming its column."""
    problems = problems_of(found)
    text = listing(problem.text for problem in problems)
    return {
        "code": problems[0].code,
        "message": str(text),
        "text": text.to_json(),
        "details": {"columns": [problem.details["column"] for problem in problems]},
    }


def _earlier_job(
    services: ApiServices,
    tenant: str,
    body: JSONValue,
    key: str,
    claim: Claim,
    request_id: str,
    uploads: Mapping[str, bytes],
    sheet: DataFile | None,
) -> Job:
    if not claim.same_request:
        raise IdempotencyKeyReused(
            _(
                "This Idempotency-Key was already used for a different job request; send a new key"
                " for a new job, or the same body to get the earlier job back."
            ),
        )
    # The first request may still be writing its job: wait for it, briefly.
    job = poll_until(lambda: services.jobs.get(claim.job_id, tenant), seconds=10, interval=0.05)
    if job is not None:
        return job
    if not services.idempotency.still_claimed(tenant, key, claim.job_id):
        # It failed and let the key go: this request makes the job itself, with its files.
        return submit_job(services, tenant, body, key, request_id, uploads, sheet)[0]
    raise ServiceUnavailable(
        _("An earlier request with this Idempotency-Key is still creating its job; retry shortly."),
    )


def _check_file_references(tenant: str, documents: list[Any], uploads: Mapping[str, bytes]) -> None:
    """Every image or sub-document that names an uploaded file must name one that came with
    the job; a sub-document must be a Word document as safe as a template (checked in a
    bounded child, as templates are)."""
    unknown = [
        {"document": index, "file": name}
        for index, data in enumerate(documents)
        for name in named_files(data)
        if name not in uploads
    ]
    if unknown:
        sent = ", ".join(sorted(uploads)) or "none"
        raise ValidationFailed(
            ngettext(
                "%(count)s image or sub-document names a file not uploaded with the job (sent: "
                "%(sent)s); upload each in a multipart field named 'files'.",
                "%(count)s images or sub-documents name a file not uploaded with the job (sent: "
                "%(sent)s); upload each in a multipart field named 'files'.",
                len(unknown),
                sent=sent,
            ),
            unknown,
        )
    for name in sorted({name for data in documents for name in subdocument_files(data)}):
        try:
            check_subdocument(uploads[name], tenant)
        except TooManyUploads:
            raise
        except DocrenderError as exc:
            raise type(exc)(
                _("The sub-document %(name)s: %(reason)s", name=name, reason=exc.text), exc.details
            ) from None


def find_template(services: ApiServices, tenant: str, body: JSONValue) -> Template:
    """The job's template, looked up before its documents are read; a body that names none
    is left to the job's validation to describe."""
    name = body.get("template") if isinstance(body, dict) else None
    if not isinstance(name, str) or not name:
        name = parse_job(body).template  # raises ValidationFailed saying what is wrong
    template = services.templates.get(tenant, name)
    if template is None:
        raise UnknownTemplate(
            _("There is no template %(name)s; upload it to /v1/templates first.", name=repr(name)),
            {"template": name},
        )
    return template


def check_document_sizes(services: ApiServices, documents: list[dict[str, Any]]) -> None:
    limit = services.settings.max_document_bytes
    for index, data in enumerate(documents):
        size = len(json.dumps(data, ensure_ascii=False).encode())
        if size > limit:
            raise PayloadTooLarge(
                _(
                    "Document %(index)s's data is %(size)s bytes as JSON, more than the %(limit)s "
                    "one document may hold; send large images as files with the job, or split it.",
                    index=index,
                    size=size,
                    limit=limit,
                ),
                {"limit": limit, "document": index, "bytes": size},
            )


def _check_callback(services: ApiServices, tenant: str, url: str) -> None:
    check_callback_url(url, services.settings.webhook_allow_private)
    if services.webhook_secrets.for_tenant(tenant) is None:
        raise WebhookSecretMissing(
            _(
                "Tenant %(tenant)s has no webhook secret to sign callbacks with; ask the operator "
                "to run 'docrender keys create' for it or to set DOCRENDER_WEBHOOK_SECRETS.",
                tenant=repr(tenant),
            ),
        )


def _reserve_room(services: ApiServices, tenant: str, count: int) -> None:
    cap = services.settings.max_queued_documents
    if not services.jobs.reserve_unfinished(tenant, count, cap):
        raise queued_cap_reached(cap, count)


def queued_cap_reached(cap: int, count: int) -> TooManyQueuedDocuments:
    """The 429 for ``count`` more documents than a tenant's cap on unfinished ones allows."""
    return TooManyQueuedDocuments(
        _(
            "Your jobs already hold nearly %(cap)s unfinished documents, the most a tenant may "
            "queue; wait for some to finish before adding %(count)s more.",
            cap=cap,
            count=count,
        ),
        {"limit": cap, "documents": count},
        retry_after=30,
    )


def _create(services: ApiServices, new: NewJob, uploads: Mapping[str, bytes]) -> Job:
    queued = [index for index, document in enumerate(new.documents) if document.error is None]
    count = len(queued)
    template = services.storage.read(template_key(new.tenant, new.template))
    data_size = len(json.dumps([doc.data for doc in new.documents], ensure_ascii=False).encode())
    services.usage.check(new.tenant, len(template) + data_size + sum(map(len, uploads.values())))
    _reserve_room(services, new.tenant, count)
    try:
        services.usage.start_job(new.id, new.tenant)
        # Its data, which Redis keeps as long as the job, counts as a file would.
        services.usage.claim(job_data_key(new.id), data_size)
        services.storage.put(new.template_key, template)
        for name, content in uploads.items():  # before the job exists: workers read them
            services.storage.put(job_file_key(new.id, name), content)
        job = services.jobs.create(new)
    except BaseException:
        _remove_files(services, new, uploads)  # the quota ran out midway, or storage failed
        services.jobs.release_unfinished(new.tenant, count)
        raise
    try:
        if queued:
            services.queue.enqueue(new.id, queued, urgent=new.kind is not JobKind.BATCH)
        else:  # every document failed as it was made: what follows its end
            services.queue.job_ended(new.id)
    except BaseException:
        # The broker refused the tasks: take the job back, so that the error the client gets
        # (503) means nothing was accepted, and its retry makes a job that does run; its files
        # go too, and their bytes come off the tenant's quota.
        services.jobs.delete(new.id)
        _remove_files(services, new, uploads)
        services.jobs.release_unfinished(new.tenant, count)
        raise
    return job


def _remove_files(services: ApiServices, new: NewJob, uploads: Mapping[str, bytes]) -> None:
    """What a job that was not accepted stored: its template copy and uploads, and the count
    of them and of its data."""
    for key in [new.template_key, *(job_file_key(new.id, name) for name in uploads)]:
        try:
            services.storage.delete(key)
        except Exception:  # storage down: the retention purge removes them later
            log.warning(
                "job %s was not accepted; %s stays until the purge", new.id, key, exc_info=True
            )
    services.usage.forget_job(new.id)
