"""What the service answers with: a job and a template as the API shows them and as a job's
webhook sends it. These pydantic models are the one source of both the bodies and the OpenAPI
document (api/openapi.py), so the two cannot drift apart."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, WithJsonSchema

from docrender.i18n import Language, kept
from docrender.jobs.formats import FormatName
from docrender.jobs.store import DocumentStatus, Job, JobStatus
from docrender.templates.registry import Template
from docrender.webhooks.store import CallbackState, CallbackStatus

# An ISO 8601 UTC time as the service writes it: 2026-11-30T03:00:00.123Z.
Timestamp = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]


class ErrorDetail(BaseModel):
    code: str = Field(description="snake_case, stable: what went wrong")
    message: str = Field(description="One sentence a person can act on")
    details: Any = None


class ErrorBody(BaseModel):
    error: ErrorDetail


class FontOut(BaseModel):
    requested: str = Field(description="A font the template names")
    used: str | None = Field(description="The face it is rendered with (null: unknown)")
    exact: bool = Field(description="The requested font itself is installed")
    different_style: bool = Field(
        description="Rendered in another style than asked for (a fallback to check)"
    )
    embedded: bool = Field(
        False,
        description="The template carries the font itself: it prints as asked, in the "
        "documents made from this template alone",
    )


class TemplateOut(BaseModel):
    id: str
    name: str
    sha256: str
    size: int
    variables: list[str] = Field(description="The top-level names the template reads, sorted")
    created_at: Timestamp
    loops: list[str] = Field(description="The values the template loops over")
    optional: list[str] = Field(
        default_factory=list,
        description="Variables the template guards itself (|default, is defined): documents "
        "may leave them out",
    )
    fonts: list[FontOut] = Field(description="The fonts it names, and what renders each")
    pictures: list[str] | None = Field(
        default=None,
        description="The names its pictures answer to (file in the package, name, alt text), "
        'which a document\'s "pictures" may replace; null for a template uploaded before '
        "they were kept",
    )

    @classmethod
    def of(cls, template: Template) -> TemplateOut:
        return cls.model_validate(asdict(template))  # its internal "kinds" are left out


class TemplateList(BaseModel):
    templates: list[TemplateOut]


class Progress(BaseModel):
    total: int
    succeeded: int
    failed: int


class DocumentError(BaseModel):
    code: str
    message: str
    details: dict[str, Any] | None = Field(
        default=None,
        description="For a value of the data the template could not use: its column (a sheet's "
        "header, or the value's path: facts.2.value) and value; where the template read it: "
        "tag, part, paragraph",
    )


class DocumentWarning(BaseModel):
    code: str = Field(description="missing_glyphs: characters that print as empty boxes")
    message: str
    characters: list[str] = Field(default_factory=list)


class DocumentOut(BaseModel):
    index: int
    name: str
    status: DocumentStatus
    error: DocumentError | None
    warnings: list[DocumentWarning] = Field(
        default_factory=list, description="What to check in a document that succeeded"
    )
    language: Literal["zh-Hans", "zh-Hant"] | None = Field(
        default=None,
        description="The Chinese forms a made document printed with: the job's language, "
        "else the one its text is written in, else the template's default",
    )
    url: str | None


class CallbackOut(BaseModel):
    url: str
    status: CallbackStatus
    attempts: int
    last_error: str | None


class JobWarning(BaseModel):
    code: str = Field(description="unused_columns: data-file columns no tag reads")
    message: str
    columns: list[str] = Field(default_factory=list)


class JobSummary(BaseModel):
    """A job in a list: its state and counts, not its documents."""

    id: str
    title: str | None = Field(description="The batch's title, as submitted")
    status: JobStatus
    template: str
    template_name: str = Field(description="The template's name when the job was submitted")
    format: FormatName
    created_at: Timestamp
    finished_at: Timestamp | None
    progress: Progress

    @classmethod
    def of(cls, job: Job) -> JobSummary:
        return cls(**cls._summary(job))

    @staticmethod
    def _summary(job: Job) -> dict[str, Any]:
        return {
            "id": job.id,
            "title": job.options.title,
            "status": job.status,
            "template": job.template,
            "template_name": job.template_name,
            "format": job.options.format,
            "created_at": job.created_at,
            "finished_at": job.finished_at,
            "progress": Progress(total=job.total, succeeded=job.succeeded, failed=job.failed),
        }


class JobOut(JobSummary):
    """A job with its documents, as GET /v1/jobs/{id} shows it and its webhook sends it."""

    documents: list[DocumentOut]
    callback: CallbackOut | None
    warnings: list[JobWarning] = Field(
        default_factory=list, description="What to check in the job's data"
    )

    @classmethod
    def of(  # type: ignore[override]  # a job's whole view needs its webhook and language
        cls, job: Job, callback: CallbackState | None, language: Language = "en"
    ) -> JobOut:
        """``callback``: its webhook's delivery state, when the job has a callback_url;
        ``language``: of the messages of its documents' errors and warnings."""
        return cls(
            **cls._summary(job),
            documents=[
                DocumentOut(
                    index=doc.index,
                    name=doc.name,
                    status=doc.status,
                    error=DocumentError.model_validate(said(doc.error, language))
                    if doc.error
                    else None,
                    warnings=[
                        DocumentWarning.model_validate(said(w, language)) for w in doc.warnings
                    ],
                    language=doc.language,  # type: ignore[arg-type]
                    url=f"/v1/jobs/{job.id}/documents/{doc.index}"
                    if doc.status is DocumentStatus.SUCCEEDED
                    else None,
                )
                for doc in job.documents
            ],
            callback=None if callback is None else CallbackOut.model_validate(asdict(callback)),
            warnings=[JobWarning.model_validate(said(w, language)) for w in job.warnings],
        )

    def body(self) -> dict[str, Any]:
        """As JSON: the API's answer and the webhook's payload."""
        return self.model_dump(mode="json")


def said(item: Mapping[str, Any], language: Language) -> dict[str, Any]:
    """A stored error or warning with its message in ``language`` (its kept text used up)."""
    shown = {key: value for key, value in item.items() if key != "text"}
    shown["message"] = kept(item).render(language)
    return shown


class JobList(BaseModel):
    jobs: list[JobSummary] = Field(description="Newest first")
    next_cursor: str | None = Field(
        description="Pass as ?cursor= for the next page; null on the last page"
    )


class Problem(BaseModel):
    code: str = Field(
        description="missing_variables, wrong_shape, or the code the document would fail with "
        "(render_failed...)"
    )
    message: str
    details: dict[str, Any] = Field(
        default_factory=dict,
        description="column (a sheet's header, or the value's path) and value of the cell to "
        "fix; tag, part and paragraph where the template read it",
    )


class CheckedDocument(BaseModel):
    index: int
    name: str
    row: int | None = Field(description="The data file's sheet row; null for JSON documents")
    problems: list[Problem] = Field(description="Empty when the document would print")


class DryRunOut(BaseModel):
    """A dry run of a job: every document filled as its render would fill it, none made."""

    documents: list[CheckedDocument]
    fit: int = Field(description="How many documents would print")
    warnings: list[JobWarning] = Field(
        default_factory=list, description="What to check in the job's data, as a job says"
    )
