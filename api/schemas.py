"""Request bodies, validated with pydantic. Unknown fields are refused so a typo such as
``"stirct"`` cannot silently change behaviour."""

from __future__ import annotations

import json
import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError

from docrender.errors import MalformedRequest, ValidationFailed


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


MAX_NESTING = 32


def parse_json(raw: bytes) -> Any:
    """Standard JSON only: UTF-8, finite numbers, nested at most MAX_NESTING deep."""
    try:
        body = json.loads(
            raw.decode("utf-8"), parse_constant=_refuse_constant, parse_float=_finite_float
        )
    except UnicodeDecodeError:
        raise MalformedRequest("The body is not UTF-8 text.") from None
    except RecursionError:
        raise MalformedRequest(f"The JSON is nested deeper than {MAX_NESTING} levels.") from None
    except ValueError as exc:  # JSONDecodeError, or an integer with thousands of digits
        raise MalformedRequest(f"The body is not valid JSON: {exc}.") from None
    if _depth(body) > MAX_NESTING:
        raise MalformedRequest(f"The JSON is nested deeper than {MAX_NESTING} levels.")
    return body


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:20]} is too large a number")
    return value


def _depth(value: Any) -> int:
    # Iterative, so that the check itself cannot overflow the stack.
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, depth)
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)
    return deepest


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
