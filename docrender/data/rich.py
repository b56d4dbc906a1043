"""Rich values of a document's data, as JSON gives them: rich text (``{"type": "rich",
"runs": [...]}``, docxtpl's RichText) and paragraphs of it (``{"type": "paragraphs", ...}``,
docxtpl's RichTextParagraph). Their shape is checked here, once, with words a person acts on:
at submission, so that a bad colour or a ``javascript:`` link is a 422 before anything is
accepted, and again where the worker builds them (workers/fill/rich_text.py), since docxtpl
writes every property into the document's XML as it is.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Discriminator, Field, StrictBool, Tag, ValidationError

from docrender.data.values import is_image, is_paragraphs, is_rich, is_subdocument
from docrender.errors import RenderFailed
from docrender.i18n import Message, _

Colour = Annotated[str, Field(pattern=r"^#?[0-9A-Fa-f]{6}$")]
# Word's underline kinds that docxtpl writes.
Underline = Literal["single", "double", "thick", "dotted", "dash", "dotDash", "dotDotDash", "wave"]


class Run(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=100_000)
    bold: StrictBool = False
    italic: StrictBool = False
    underline: StrictBool | Underline = False
    strike: StrictBool = False
    superscript: StrictBool = False
    subscript: StrictBool = False
    color: Colour | None = None
    highlight: Colour | None = None
    size: float | None = Field(default=None, gt=0, le=400, description="points")
    # A face name, or docxtpl's "eastAsia:楷体" (the Chinese text's face alone).
    font: str | None = Field(
        default=None, pattern=r"^(?:(?:eastAsia|ascii|hAnsi|cs):)?[^\"'<>&:]{1,64}$"
    )
    # A character style of the template, by its name or id ("Strong", "Emphasis"...).
    style: str | None = Field(default=None, pattern=r"^[^\"'<>&]{1,100}$")
    url: str | None = Field(default=None, pattern=r"^(https?://|mailto:)[^\s\"'<>]{1,2000}$")


# A run is plain text or an object; told apart first, so that an error in an object says what
# is wrong with it, not that it is no string.
Runs = Annotated[
    list[
        Annotated[
            Annotated[str, Tag("plain")] | Annotated[Run, Tag("run")],
            Discriminator(lambda run: "plain" if isinstance(run, str) else "run"),
        ]
    ],
    Field(min_length=1, max_length=10_000),
]


class RichSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["rich"]
    runs: Runs


class Paragraph(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # A paragraph style of the template, by its name or id ("Heading 1", "Title"...).
    style: str | None = Field(default=None, pattern=r"^[^\"'<>&]{1,100}$")
    runs: Runs


class ParagraphsSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["paragraphs"]
    paragraphs: list[Paragraph] = Field(min_length=1, max_length=10_000)


Spec = TypeVar("Spec", RichSpec, ParagraphsSpec)


def parsed(model: type[Spec], value: dict[str, Any], path: str) -> Spec:
    """``value`` as ``model``, or RenderFailed saying at ``path`` what is wrong and what to
    write instead."""
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = "".join(
            f"[{part}]" if isinstance(part, int) else f".{part}"
            for part in first["loc"]
            if part not in ("plain", "run")
        ).lstrip(".")
        raise RenderFailed(
            _(
                "The rich text at %(path)s is not valid: %(where)s: %(msg)s.",
                path=path,
                where=where,
                msg=_readable(first),
            ),
            {"path": path, "field": where},
        ) from None


def _readable(error: Any) -> Message | str:
    """pydantic's message, or for a property whose rule is a pattern, what it must be (a raw
    regular expression helps no one)."""
    field = next((part for part in reversed(error["loc"]) if isinstance(part, str)), "")
    if error["type"] == "string_pattern_mismatch" and field in _PATTERN_WORDS:
        return _PATTERN_WORDS[field]
    if error["type"] == "extra_forbidden":
        return _("%(name)s is no property of rich text", name=repr(field))
    return str(error["msg"])


_PATTERN_WORDS = {
    "url": _("a link starts with http://, https:// or mailto: and holds no spaces or quotes"),
    "color": _("a colour is six hexadecimal digits, such as C00000"),
    "highlight": _("a colour is six hexadecimal digits, such as C00000"),
    "font": _("a font is a face's name (up to 64 characters, no quotes), or eastAsia:楷体"),
    "style": _("a style is the name of one of the template's styles (no quotes)"),
}


def rich_values(data: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every rich value in ``data`` with its path (``remark``, ``staff[2].note``)."""
    if is_rich(data) or is_paragraphs(data):
        yield path or "data", data
    elif isinstance(data, dict) and not is_image(data) and not is_subdocument(data):
        for key, value in data.items():
            yield from rich_values(value, f"{path}.{key}" if path else str(key))
    elif isinstance(data, list):
        for index, item in enumerate(data):
            yield from rich_values(item, f"{path}[{index}]")


def check_rich(data: Any, styles: Mapping[str, Sequence[str]] | None = None) -> None:
    """Raise RenderFailed for the first rich value of ``data`` that is not valid, or that
    names a style the template has not (``styles``: its style names by kind and their
    "ids", as the template registry keeps them; not checked without)."""
    for path, value in rich_values(data):
        if is_rich(value):
            runs = [(path, parsed(RichSpec, value, path).runs)]
        else:
            spec = parsed(ParagraphsSpec, value, path)
            runs = []
            for number, paragraph in enumerate(spec.paragraphs):
                where = f"{path}.paragraphs[{number}]"
                _check_style(paragraph.style, "paragraph", styles, where)
                runs.append((where, paragraph.runs))
        for where, items in runs:
            for number, run in enumerate(items):
                if isinstance(run, Run):
                    _check_style(run.style, "character", styles, f"{where}.runs[{number}]")


def _check_style(
    name: str | None, kind: str, styles: Mapping[str, Sequence[str]] | None, path: str
) -> None:
    if name is None or not styles or name in styles.get(kind, ()) or name in styles.get("ids", ()):
        return
    raise RenderFailed(
        _(
            "The rich text at %(path)s names the style %(style)s, which the template has no "
            "%(kind)s of; it has: %(known)s.",
            path=path,
            style=repr(name),
            kind=_("character style") if kind == "character" else _("paragraph style"),
            known=", ".join(styles.get(kind, ())) or _("none"),
        ),
        {"path": path, "style": name},
    )
