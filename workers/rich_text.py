"""Formatted text from the data: runs with bold, italic, underline, colour, size or font,
printed by docxtpl's RichText where the template says ``{{r remark }}``.

    {"type": "rich", "runs": ["普通文字，", {"text": "重点内容", "bold": true, "color": "C00000"}]}

A run's text may hold line breaks (\\n) and page breaks (\\f). Every property is checked here,
since docxtpl writes them into the document's XML as they are.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from docxtpl import RichText
from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError

from docrender.errors import RenderFailed

Colour = Annotated[str, Field(pattern=r"^#?[0-9A-Fa-f]{6}$")]


class Run(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=100_000)
    bold: StrictBool = False
    italic: StrictBool = False
    underline: StrictBool = False
    strike: StrictBool = False
    superscript: StrictBool = False
    subscript: StrictBool = False
    color: Colour | None = None
    highlight: Colour | None = None
    size: float | None = Field(default=None, gt=0, le=400, description="points")
    font: str | None = Field(default=None, pattern=r"^[^\"'<>&:]{1,64}$")


class RichSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["rich"]
    runs: list[str | Run] = Field(min_length=1, max_length=10_000)


def rich_text(value: dict[str, Any], path: str) -> RichText:
    try:
        spec = RichSpec.model_validate(value)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        raise RenderFailed(
            f"The rich text at {path} is not valid: {where}: {first['msg']}."
        ) from None
    text = RichText()
    for run in spec.runs:
        if isinstance(run, str):
            text.add(run)
            continue
        text.add(
            run.text, bold=run.bold, italic=run.italic, underline=run.underline,
            strike=run.strike, superscript=run.superscript, subscript=run.subscript,
            color=run.color, highlight=run.highlight, font=run.font,
            size=round(run.size * 2) if run.size else None,  # half-points
        )  # fmt: skip
    return text
