"""Request bodies, validated with pydantic (unknown fields are refused, so a typo such as
``"stirct"`` cannot silently change behaviour), and the shapes of the responses. The OpenAPI
document (api/openapi.py) is generated from these same models."""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, WithJsonSchema, create_model

from docrender.data.strict_json import MAX_VALUES, JSONValue, TooManyValues, parse_strict_json
from docrender.errors import MalformedRequest, PayloadTooLarge, ValidationFailed
from docrender.i18n import _, ngettext
from docrender.jobs.idempotency import MAX_KEY_LENGTH
from docrender.jobs.options import JobOptions
from docrender.jobs.store import JobStatus
from docrender.responses import ErrorBody, JobList, JobOut, TemplateList, TemplateOut

# The response models live in docrender/responses.py (the webhook sends a JobOut too).
__all__ = ["ErrorBody", "JobIn", "JobList", "JobOut", "TemplateList", "TemplateOut"]


class DocumentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data: dict[str, Any]
    # The output file's stem, or a pattern over the data: "{{ unit }}-匯報材料".
    name: str | None = Field(default=None, max_length=500)
    # The template's pictures to replace, by a name Word gives them (its file in the package,
    # its name or alt text), each with an image value: {"公章": {"type": "image", ...}}
    # (docrender/templates/pictures.py, workers/fill/pictures.py).
    pictures: dict[str, dict[str, Any]] = Field(default_factory=dict, max_length=50)


class JobIn(JobOptions):
    """A job: its options, the template, and one entry per document."""

    template: str = Field(min_length=1, max_length=100)
    documents: list[DocumentIn] = Field(min_length=1)

    def options(self) -> JobOptions:
        return JobOptions(**{name: getattr(self, name) for name in JobOptions.model_fields})


class FixedDocumentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    index: int = Field(ge=0, description="A failed document of the job")
    data: dict[str, Any] = Field(description="Its corrected data, in place of what it had")


class RetryIn(BaseModel):
    """Optional: corrected data for some failed documents; only those are made again."""

    model_config = ConfigDict(extra="forbid")

    documents: list[FixedDocumentIn] = Field(min_length=1)


# --- the other ways in: form uploads, query strings, headers ---------------------------------

UploadedFile = Annotated[Any, WithJsonSchema({"type": "string", "format": "binary"})]


class TemplateUpload(BaseModel):
    file: UploadedFile = Field(description="The .docx template")
    name: str | None = Field(default=None, max_length=200)


# How a form writes the options that are not plain text (api/submission.py reads them so).
_FORM_WRITTEN: dict[str, Any] = {
    "strict": (Literal["true", "false", "1", "0", "yes", "no"], "true"),
    "pdf_options": (
        str | None,
        Field(default=None, description='JSON, as in a JSON job: {"tagged": true}'),
    ),
}

# A job as form data: one document per row of a data file, the options as fields. Made from
# JobOptions, so that a new option is a form field too without being listed again.
JobUpload = create_model(
    "JobUpload",
    __doc__="A job as form data: one document per row of a data file.",
    template=(str, ...),
    data=(UploadedFile, Field(description="The documents' data: .xlsx, .csv or .json")),
    **{
        name: _FORM_WRITTEN.get(name, (option.annotation, option))
        for name, option in JobOptions.model_fields.items()
    },
    files=(
        list[UploadedFile],
        Field(
            default_factory=list,
            description='Images and sub-documents the data names with "file": "<name>"',
        ),
    ),
)


class JobHeaders(BaseModel):
    idempotency_key: str | None = Field(
        default=None,
        alias="Idempotency-Key",
        pattern=rf"^[\x20-\x7e]{{1,{MAX_KEY_LENGTH}}}$",  # what api/jobs.py accepts
        description="The same key and body within the retention period return the same job",
    )


class JobListQuery(BaseModel):
    status: JobStatus | None = Field(default=None, description="Only jobs in this state")
    limit: int = Field(default=20, ge=1, le=100, description="Jobs per page")
    cursor: str | None = Field(default=None, description="next_cursor of the previous page")


class WaitQuery(BaseModel):
    wait: float | None = Field(
        default=None,
        ge=0,
        description="Answer once the job finishes or after this many seconds (at most 60)",
    )


# --- responses --------------------------------------------------------------------------


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready"]
    converters: int
    libreoffice: list[str] = Field(description="The LibreOffice versions they convert with")


def parse_json(raw: bytes) -> JSONValue:
    try:
        return parse_strict_json(raw)
    except TooManyValues:
        raise PayloadTooLarge(
            _(
                "The JSON holds more than %(limit)s values. Split the job into several.",
                limit=MAX_VALUES,
            ),
            {"limit": MAX_VALUES},
        ) from None
    except ValueError as exc:
        raise MalformedRequest(
            _("The request body is not valid JSON: %(error)s", error=str(exc))
        ) from None


Parsed = TypeVar("Parsed", bound=BaseModel)


def parse_job(body: JSONValue) -> JobIn:
    return _parse(JobIn, body)


def parse_retry(body: JSONValue) -> RetryIn:
    return _parse(RetryIn, body)


def _parse(model: type[Parsed], body: JSONValue) -> Parsed:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        problems = [
            {"field": ".".join(str(part) for part in error["loc"]), "message": error["msg"]}
            for error in exc.errors(include_url=False)
        ]
        first = problems[0]
        where = first["field"] or _("request body")
        if len(problems) == 1:
            text = _(
                "The job is not valid: %(field)s: %(problem)s",
                field=where,
                problem=first["message"],
            )
        else:
            text = ngettext(
                "The job is not valid: %(field)s: %(problem)s (and %(count)s more)",
                "The job is not valid: %(field)s: %(problem)s (and %(count)s more)",
                len(problems) - 1,
                field=where,
                problem=first["message"],
            )
        raise ValidationFailed(text, problems) from None
