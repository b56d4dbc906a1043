"""The error bodies a route answers, one schema per code, so that clients generated from
/openapi.json get typed ``details``. Each is the contract's ``{"error": {code, message,
details}}`` with ``code`` fixed and ``details`` in the shape that code always has; a route's
error response lists the ones it can answer (anyOf), the generic ErrorBody last.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, create_model

from docrender.responses import DocumentError


class ShapeProblem(BaseModel):
    variable: str = Field(description="Where in the data: honours, sections[1].points")
    expected: str
    got: str


class DocumentProblems(BaseModel):
    document: int = Field(description="The document's index in the job")
    missing: list[str] = Field(description="Variables the template reads that its data lacks")
    wrong_shape: list[ShapeProblem] = Field(default_factory=list)
    row: int | None = Field(default=None, description="Its sheet row, for a data file")
    name: str | None = Field(default=None, description="The row's first text (the unit)")


class FieldProblem(BaseModel):
    field: str = Field(description="Dotted path of the request field")
    message: str


class RateLimit(BaseModel):
    limit: str = Field(description="The rate, such as 100/second")


class InspectionLimit(BaseModel):
    limit: str = Field(
        description="The limit the inspection ran past: 15 seconds, 1024 MiB "
        "of memory, nesting depth"
    )


class QueuedLimit(BaseModel):
    limit: int = Field(description="Unfinished documents a tenant may have")
    documents: int = Field(description="Documents the refused job holds")


class SizeLimit(BaseModel):
    limit: int
    documents: int | None = None
    rows: int | None = None


class TemplateProblem(BaseModel):
    part: str = Field(description="body, header, footer, footnotes or a property")
    tags: list[str]
    paragraph: str
    error: str | None
    filter: str | None = None
    test: str | None = None


class UnsafePart(BaseModel):
    part: str
    problem: str


class CallbackRefusal(BaseModel):
    callback_url: str
    reason: str


class TemplateRef(BaseModel):
    template: str


def _error(code: str, details: Any, name: str) -> type[BaseModel]:
    detail = create_model(
        f"{name}Detail",
        code=(Literal[code], ...),  # type: ignore[arg-type]
        message=(str, ...),
        details=(details, ...),
    )
    return create_model(f"{name}Error", error=(detail, ...))


MISSING_VARIABLES = _error("missing_variables", list[DocumentProblems], "MissingVariables")
WRONG_SHAPE = _error("wrong_shape", list[DocumentProblems], "WrongShape")
VALIDATION_FAILED = _error("validation_failed", list[FieldProblem], "ValidationFailed")
UNKNOWN_TEMPLATE = _error("unknown_template", TemplateRef, "UnknownTemplate")
CALLBACK_REFUSED = _error("callback_url_refused", CallbackRefusal, "CallbackUrlRefused")
RATE_LIMITED = _error("rate_limited", RateLimit, "RateLimited")
TOO_MANY_QUEUED = _error("too_many_queued_documents", QueuedLimit, "TooManyQueuedDocuments")
PAYLOAD_TOO_LARGE = _error("payload_too_large", SizeLimit | None, "PayloadTooLarge")
TEMPLATE_SYNTAX = _error("template_syntax_error", TemplateProblem, "TemplateSyntax")
UNSAFE_TEMPLATE = _error("unsafe_template", list[UnsafePart], "UnsafeTemplate")
TOO_COMPLEX = _error("template_too_complex", InspectionLimit, "TemplateTooComplex")
DOCUMENT_FAILED = _error("document_failed", DocumentError, "DocumentFailed")

# The typed bodies each status may carry, by route kind; every route also answers ErrorBody.
JOB_SUBMISSION = {
    413: (PAYLOAD_TOO_LARGE,),
    422: (MISSING_VARIABLES, WRONG_SHAPE, VALIDATION_FAILED, UNKNOWN_TEMPLATE, CALLBACK_REFUSED),
    429: (TOO_MANY_QUEUED, RATE_LIMITED),
}
TEMPLATE_UPLOAD = {
    413: (PAYLOAD_TOO_LARGE,),
    422: (TEMPLATE_SYNTAX, UNSAFE_TEMPLATE, TOO_COMPLEX),
}
DOCUMENT_DOWNLOAD = {404: (DOCUMENT_FAILED,)}
EVERY_ROUTE = {429: (RATE_LIMITED,)}
