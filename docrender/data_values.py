"""The typed values a document's data may hold beside plain ones, as both halves see them:
the API checks the files images name, the workers make the values into pictures and
formatted text (workers/values.py).

    {"type": "image", "data": "<base64>" | "file": "<name>", "width": "30mm", ...}
    {"type": "rich", "runs": [...]}
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def is_image(value: Any) -> bool:
    return isinstance(value, dict) and value.get("type") == "image"


def is_rich(value: Any) -> bool:
    return isinstance(value, dict) and value.get("type") == "rich"


def named_files(data: Any) -> Iterator[str]:
    """The uploaded files the images in ``data`` name, at any depth."""
    if is_image(data):
        if isinstance(data.get("file"), str):
            yield data["file"]
    elif isinstance(data, dict):
        for value in data.values():
            yield from named_files(value)
    elif isinstance(data, list):
        for item in data:
            yield from named_files(item)


def printed_text(data: Any) -> Iterator[str]:
    """The strings of ``data`` that can print as text: images' bytes and settings are not."""
    if isinstance(data, str):
        yield data
    elif is_image(data):
        return
    elif isinstance(data, dict):
        for value in data.values():
            yield from printed_text(value)
    elif isinstance(data, list):
        for item in data:
            yield from printed_text(item)
