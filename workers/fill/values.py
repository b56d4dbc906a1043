"""The typed values of a document's data, made into what docxtpl prints: images
(workers/fill/images.py), rich text (workers/fill/rich_text.py), sub-documents
(workers/fill/subdocuments.py) and spreadsheet cells as the sheet shows them
(docrender/data/values.py). Everything else stays as it is."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from docxtpl import DocxTemplate

from docrender.data.values import is_cell, is_image, is_paragraphs, is_rich, is_subdocument, shown
from workers.fill.images import ImageLimits, inline_image
from workers.fill.rich_text import rich_paragraphs, rich_text
from workers.fill.subdocuments import subdocument


def prepare_values(
    template: DocxTemplate,
    data: Any,
    read_file: Callable[[str], bytes | None],
    limits: ImageLimits,
    svgs: dict[bytes, bytes],
    path: str = "",
) -> Any:
    """``data`` with every image object replaced by the picture docxtpl inserts, and every
    rich-text object by its formatted runs. ``path`` names the value in error messages;
    ``svgs`` collects the SVGs to swap in after rendering (workers/fill/images.py)."""
    if is_image(data):
        return inline_image(template, data, read_file, limits, path or "data", svgs)
    if is_rich(data):
        return rich_text(data, path or "data", template)
    if is_paragraphs(data):
        return rich_paragraphs(data, path or "data", template)
    if is_cell(data):
        return shown(data)
    if is_subdocument(data):
        return subdocument(template, data, read_file, path or "data")
    if isinstance(data, dict):
        return {
            key: prepare_values(template, value, read_file, limits, svgs, _join(path, key))
            for key, value in data.items()
        }
    if isinstance(data, list):
        return [
            prepare_values(template, item, read_file, limits, svgs, f"{path}[{i}]")
            for i, item in enumerate(data)
        ]
    return data


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
