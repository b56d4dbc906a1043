"""Output file names: from a pattern over each document's data, safe on every file system,
unique within the job (so downloads and the ZIP agree on them)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from docrender.data_values import shown_values
from docrender.errors import InvalidNamePattern

# File systems limit a name to 255 bytes (ext4, and ZIP extractors that write to them): a stem
# of at most 240 UTF-8 bytes leaves room for "-12" and ".docx". 240 bytes hold 80 Chinese
# characters.
MAX_NAME_BYTES = 240
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]+")  # separators, controls, Windows' reserved
# Names Windows gives to devices, whatever follows a dot: "CON", "aux.pdf" cannot be files.
_DEVICE = re.compile(r"^(CON|PRN|AUX|NUL|COM[0-9¹²³]|LPT[0-9¹²³])(\.|$)", re.IGNORECASE)
# Names are plain text, not XML: no autoescape. Sandboxed like templates; missing values empty.
_ENV = SandboxedEnvironment(autoescape=False, undefined=jinja2.ChainableUndefined)


def document_names(
    job_pattern: str | None, documents: Sequence[tuple[str | None, dict[str, Any]]]
) -> list[str]:
    """One safe, unique stem per (name or pattern, data); the job's pattern applies where a
    document has no name of its own; ``document-<index>`` where neither gives anything."""
    names = []
    for index, (own, data) in enumerate(documents):
        pattern = own if own is not None else job_pattern
        names.append(safe_name(render_pattern(pattern, data, index)) if pattern else "")
    return unique([name or f"document-{index}" for index, name in enumerate(names)])


def render_pattern(pattern: str, data: dict[str, Any], index: int) -> str:
    try:
        return _ENV.from_string(pattern).render({**shown_values(data), "index": index})
    except jinja2.TemplateError as exc:
        raise InvalidNamePattern(
            f"The name pattern {pattern!r} could not be used for document {index}: {exc}",
            {"pattern": pattern, "document": index},
            zh=f"文件名模式 {pattern!r} 无法用于第 {index} 份文件：{exc}",
        ) from None


def safe_name(name: str) -> str:
    cleaned = _UNSAFE.sub("_", name).strip(" .")
    encoded = cleaned.encode()[:MAX_NAME_BYTES]
    cleaned = encoded.decode(errors="ignore").rstrip(" .")  # never half a character
    return f"_{cleaned}" if _DEVICE.match(cleaned) else cleaned


def unique(names: Sequence[str]) -> list[str]:
    """Repeated names get -2, -3... (compared case-insensitively, as some file systems do)."""
    taken: set[str] = set()
    out = []
    for name in names:
        candidate, count = name, 1
        while candidate.casefold() in taken:
            count += 1
            candidate = f"{name}-{count}"
        taken.add(candidate.casefold())
        out.append(candidate)
    return out
