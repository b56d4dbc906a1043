"""The typed values a document's data may hold beside plain ones, as both halves see them:
the API checks the files images name, the workers make the values into pictures and
formatted text (workers/values.py).

    {"type": "image", "data": "<base64>" | "file": "<name>", "width": "30mm", ...}
    {"type": "rich", "runs": [...]}
    {"type": "docx", "file": "<name>"}     a sub-document (an annex), printed with {{p x }}
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def is_image(value: Any) -> bool:
    return isinstance(value, dict) and value.get("type") == "image"


def is_rich(value: Any) -> bool:
    return isinstance(value, dict) and value.get("type") == "rich"


def is_subdocument(value: Any) -> bool:
    return isinstance(value, dict) and value.get("type") == "docx"


def named_files(data: Any) -> Iterator[str]:
    """The uploaded files the images and sub-documents in ``data`` name, at any depth."""
    for value in _values(data):
        if (is_image(value) or is_subdocument(value)) and isinstance(value.get("file"), str):
            yield value["file"]


def printed_text(data: Any) -> Iterator[str]:
    """The strings of ``data`` that can print as text: images' bytes and settings are not."""
    return (value for value in _values(data) if isinstance(value, str))


def _values(data: Any) -> Iterator[Any]:
    """Every plain value, image and sub-document in ``data``, at any depth (an image or a
    sub-document is one value)."""
    if isinstance(data, dict) and not is_image(data) and not is_subdocument(data):
        for value in data.values():
            yield from _values(value)
    elif isinstance(data, list):
        for item in data:
            yield from _values(item)
    else:
        yield data
