"""Request bodies, validated with pydantic. Unknown fields are refused so a typo such as
``"stirct"`` cannot silently change behaviour."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError

from docrender.errors import MalformedRequest, ValidationFailed
from docrender.strict_json import parse_strict_json
from docrender.webhooks import MAX_URL_LENGTH


class DocumentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data: dict[str, Any]
    # The output file's stem, or a pattern over the data: "{{ unit }}-匯報材料".
    name: str | None = Field(default=None, max_length=500)


class JobIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    template: str = Field(min_length=1, max_length=100)
    format: Literal["pdf", "docx"] = "pdf"
    strict: StrictBool = True
    # A name pattern for every document without a name of its own.
    name: str | None = Field(default=None, max_length=500)
    documents: list[DocumentIn] = Field(min_length=1)
    # POSTed the finished job, signed (docrender/webhooks.py).
    callback_url: str | None = Field(default=None, min_length=1, max_length=MAX_URL_LENGTH)


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
