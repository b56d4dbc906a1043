"""Request bodies, validated with pydantic (unknown fields are refused, so a typo such as
``"stirct"`` cannot silently change behaviour), and the shapes of the responses. The OpenAPI
document (api/openapi.py) is generated from these same models."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, WithJsonSchema

from docrender.errors import MalformedRequest, ValidationFailed
from docrender.fonts import LanguageTag
from docrender.formats import FormatName
from docrender.idempotency import MAX_KEY_LENGTH
from docrender.strict_json import parse_strict_json
from docrender.webhooks import MAX_URL_LENGTH


class DocumentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data: dict[str, Any]
    # The output file's stem, or a pattern over the data: "{{ unit }}-匯報材料".
    name: str | None = Field(default=None, max_length=500)


class PdfOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tagged: StrictBool = Field(default=False, description="A tagged (accessible) PDF")
    bookmarks: StrictBool = Field(default=True, description="An outline from the headings")


class JobIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    template: str = Field(min_length=1, max_length=100)
    # pdfa: PDF/A-2b (docrender/formats.py).
    format: FormatName = "pdf"
    pdf_options: PdfOptions | None = None
    strict: StrictBool = True
    # A name pattern for every document without a name of its own.
    name: str | None = Field(default=None, max_length=500)
    documents: list[DocumentIn] = Field(min_length=1)
    # The East Asian language of the documents' text where the template does not say it on
    # the run: it picks Simplified or Traditional glyph forms (docrender/fonts.py).
    language: LanguageTag | None = None
    # POSTed the finished job, signed (docrender/webhooks.py).
    callback_url: str | None = Field(default=None, min_length=1, max_length=MAX_URL_LENGTH)


# --- the other ways in: form uploads, query strings, headers ---------------------------------

UploadedFile = Annotated[Any, WithJsonSchema({"type": "string", "format": "binary"})]


class TemplateUpload(BaseModel):
    file: UploadedFile = Field(description="The .docx template")
    name: str | None = Field(default=None, max_length=200)


class JobUpload(BaseModel):
    """A job as form data: one document per row of a data file."""

    template: str
    data: UploadedFile = Field(description="The documents' data: .xlsx, .csv or .json")
    format: FormatName = "pdf"
    strict: Literal["true", "false", "1", "0", "yes", "no"] = "true"
    name: str | None = None
    language: LanguageTag | None = None
    callback_url: str | None = None
    files: list[UploadedFile] = Field(
        default_factory=list, description="Images the data names with {\"type\": \"image\", "
        "\"file\": \"<name>\"}",
    )  # fmt: skip


class JobHeaders(BaseModel):
    idempotency_key: str | None = Field(
        default=None,
        alias="Idempotency-Key",
        pattern=rf"^[\x20-\x7e]{{1,{MAX_KEY_LENGTH}}}$",  # what api/jobs.py accepts
        description="The same key and body within the retention period return the same job",
    )


class WaitQuery(BaseModel):
    wait: float | None = Field(
        default=None, ge=0, description="Answer once the job finishes or after this many "
        "seconds (at most 60)",
    )  # fmt: skip


# --- responses --------------------------------------------------------------------------


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


class TemplateOut(BaseModel):
    id: str
    name: str
    sha256: str
    size: int
    variables: list[str] = Field(description="The top-level names the template reads, sorted")
    created_at: str
    loops: list[str] = Field(description="The values the template loops over")
    fonts: list[FontOut] = Field(description="The fonts it names, and what renders each")


class TemplateList(BaseModel):
    templates: list[TemplateOut]


class Progress(BaseModel):
    total: int
    succeeded: int
    failed: int


class DocumentError(BaseModel):
    code: str
    message: str


DocumentStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]


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
    url: str | None


class CallbackOut(BaseModel):
    url: str
    status: Literal["pending", "retrying", "succeeded", "failed"]
    attempts: int
    last_error: str | None


class JobOut(BaseModel):
    id: str
    status: Literal["queued", "running", "succeeded", "partial", "failed", "cancelled"]
    template: str
    format: FormatName
    created_at: str
    finished_at: str | None
    progress: Progress
    documents: list[DocumentOut]
    callback: CallbackOut | None


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready"]
    converters: int


def parse_json(raw: bytes) -> Any:
    try:
        return parse_strict_json(raw)
    except ValueError as exc:
        raise MalformedRequest(str(exc)) from None


def parse_job(body: Any) -> JobIn:
    try:
        return JobIn.model_validate(body)
    except ValidationError as exc:
        problems = [
            {"field": ".".join(str(part) for part in error["loc"]), "message": error["msg"]}
            for error in exc.errors(include_url=False)
        ]
        first = problems[0]
        raise ValidationFailed(
            f"The job is not valid: {first['field'] or 'body'}: {first['message']}"
            + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""),
            problems,
        ) from None
