"""The typed values a document's data may hold beside plain ones, as both halves see them:
the API checks the files images name, the workers make the values into pictures and
formatted text (workers/fill/values.py).

    {"type": "image", "data": "<base64>" | "file": "<name>", "width": "30mm", ...}
    {"type": "rich", "runs": [...]}
    {"type": "docx", "file": "<name>"}     a sub-document (an annex), printed with {{p x }}
    {"type": "cell", "value": 0.21, "text": "21%"}   prints as ``text``, computes as ``value``
                                            (a spreadsheet cell as the sheet shows it)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from markupsafe import Markup, escape

from docrender.fonts.chinese import typeset


def is_image(value: Any) -> bool:
    return isinstance(value, dict) and value.get("type") == "image"


def is_rich(value: Any) -> bool:
    return isinstance(value, dict) and value.get("type") == "rich"


def is_paragraphs(value: Any) -> bool:
    """Paragraphs of rich text, each with its own paragraph style (workers/fill/rich_text.py)."""
    return isinstance(value, dict) and value.get("type") == "paragraphs"


def is_cell(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and value.get("type") == "cell"
        and isinstance(value.get("text"), str)
        and isinstance(value.get("value"), int | float | str)
        and not isinstance(value.get("value"), bool)
    )


class _Shown:
    """A value that prints as a sheet shows it and otherwise is the value it is."""

    shown: str

    def __str__(self) -> str:
        return self.shown

    def __html__(self) -> Markup:  # what an autoescaping template prints
        return escape(self.shown)


class ShownInt(_Shown, int):
    pass


class ShownFloat(_Shown, float):
    pass


class ShownText(_Shown, str):
    """A date or time: its value the ISO text (the date filters read it), shown as formatted."""


def shown(cell: dict[str, Any]) -> Any:
    """A cell value (``is_cell``) as what templates and name patterns use."""
    value = cell["value"]
    kind = (
        ShownInt
        if isinstance(value, int)
        else ShownFloat
        if isinstance(value, float)
        else ShownText
    )
    made = kind(value)
    made.shown = cell["text"]
    return made


def shown_values(data: Any) -> Any:
    """``data`` with every cell value made ``shown``, at any depth."""
    if is_cell(data):
        return shown(data)
    if isinstance(data, dict):
        return {key: shown_values(value) for key, value in data.items()}
    if isinstance(data, list):
        return [shown_values(item) for item in data]
    return data


def is_subdocument(value: Any) -> bool:
    return isinstance(value, dict) and value.get("type") == "docx"


def named_files(data: Any) -> Iterator[str]:
    """The uploaded files the images and sub-documents in ``data`` name, at any depth."""
    for value in _values(data):
        if (is_image(value) or is_subdocument(value)) and isinstance(value.get("file"), str):
            yield value["file"]


def subdocument_files(data: Any) -> Iterator[str]:
    """The uploaded files the sub-documents in ``data`` name, at any depth."""
    for value in _values(data):
        if is_subdocument(value) and isinstance(value.get("file"), str):
            yield value["file"]


def printed_text(data: Any) -> Iterator[str]:
    """The strings of ``data`` that can print as text: images' bytes and settings are not."""
    return (value for value in _values(data) if isinstance(value, str))


def _values(data: Any) -> Iterator[Any]:
    """Every plain value, image and sub-document in ``data``, at any depth (an image or a
    sub-document is one value)."""
    if is_cell(data):
        yield data["text"]
    elif isinstance(data, dict) and not is_image(data) and not is_subdocument(data):
        for value in data.values():
            yield from _values(value)
    elif isinstance(data, list):
        for item in data:
            yield from _values(item)
    else:
        yield data


def typeset_values(value: Any) -> Any:
    """Every text of a document's data typeset (``typeset``); images are left as they are."""
    if isinstance(value, str):
        return typeset(value)
    if isinstance(value, dict):
        if is_image(value):
            return value
        return {key: typeset_values(item) for key, item in value.items()}
    if isinstance(value, list):
        return [typeset_values(item) for item in value]
    return value
